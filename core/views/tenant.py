"""Admin UI "本地区模块" (Modules for <region>): per-region enable / disable with impact."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.addons.manifest import AddonError
from core.views.i18n import join_list, with_detail


def _installer():
    from core.state import installer_for

    return installer_for()


def _enablement(fn):
    from core.tenancy import Enablement

    inst = _installer()
    return inst.transaction(lambda conn: fn(Enablement(conn, inst.registry, inst.installed(conn))))


def _read(fn):
    from core.tenancy import Enablement

    inst = _installer()
    with inst.engine.connect() as conn:
        return fn(Enablement(conn, inst.registry, inst.installed(conn)))


class RegionModulesView(BaseView):
    route_base = "/erp/tenant"
    default_view = "home"
    class_permission_name = "RegionModules"
    method_permission_name = {"home": "read", "region": "read", "confirm": "write", "run": "write"}
    base_permissions = ["can_read", "can_write"]

    def _manageable(self) -> list[tuple[str, str, int]]:
        """(code, name, depth) of the regions the user manages, in tree order."""
        from core.tenancy import current_scope, snapshot

        snap, scope = snapshot(), current_scope()
        roots = [r for r, p in snap.parent.items() if p is None]
        if not scope.unrestricted:
            roots = [scope.region_id] if scope.region_id is not None else []
        out: list[tuple[str, str, int]] = []

        def walk(rid: int, depth: int) -> None:
            out.append((snap.code_of[rid], snap.name_of[rid], depth))
            for child in sorted(snap.children.get(rid, ()), key=lambda c: snap.code_of[c]):
                walk(child, depth + 1)

        for root in sorted(roots, key=lambda r: snap.code_of[r]):
            walk(root, 0)
        return out

    def _check(self, code: str) -> None:
        if code not in {c for c, _, _ in self._manageable()}:
            abort(404)

    @expose("/")
    @has_access
    def home(self):
        regions = self._manageable()
        if not regions:
            flash(_("Your account is not linked to a region, so you cannot manage region "
                    "modules."), "warning")
            return redirect(url_for("ModulesView.list") if g.user else "/")
        return redirect(url_for("RegionModulesView.region", code=regions[0][0]))

    @expose("/<string:code>/")
    @has_access
    def region(self, code: str):
        self._check(code)
        from core.tenancy import snapshot

        snap = snapshot()
        rows = _read(lambda en: en.modules(code))
        name_of = {snap.code_of[r]: snap.name_of[r] for r in snap.code_of}
        return self.render_template(
            "erp/region_modules.html",
            code=code,
            region_name=name_of.get(code, code),
            rows=rows,
            name_of=name_of,
            regions=self._manageable(),
        )

    @expose("/<string:code>/<string:action>/<string:module>", methods=["GET"])
    @has_access
    def confirm(self, code: str, action: str, module: str):
        self._check(code)
        if action not in ("enable", "disable"):
            abort(404)
        try:
            if action == "enable":
                impact = {"modules": _read(lambda en: en.plan_enable(code, [module]))}
            else:
                change = _read(lambda en: en.plan_disable(code, module))
                impact = {"blockers": change.blockers, "bridges": change.disabled}
        except AddonError as exc:
            flash(str(exc), "danger")
            return redirect(url_for("RegionModulesView.region", code=code))
        from core.tenancy import snapshot

        snap = snapshot()
        name_of = {snap.code_of[r]: snap.name_of[r] for r in snap.code_of}
        return self.render_template(
            "erp/region_module_confirm.html", code=code, action=action, module=module,
            impact=impact, name_of=name_of,
        )

    @expose("/<string:code>/<string:action>/<string:module>", methods=["POST"])
    @has_access
    def run(self, code: str, action: str, module: str):
        self._check(code)
        actor = getattr(g.user, "username", None)
        try:
            if action == "enable":
                done = _enablement(lambda en: en.enable(code, [module], actor=actor))
                flash(_("Enabled for this region: %(modules)s",
                        modules=join_list(done) or module), "success")
            elif action == "disable":
                cascade = request.form.get("cascade") == "1"
                change = _enablement(
                    lambda en: en.disable(code, module, cascade=cascade, actor=actor)
                )
                flash(_("Disabled (data kept): %(modules)s",
                        modules=join_list(with_detail(m, c) for c, m in change.disabled)),
                      "success")
            else:
                abort(404)
        except AddonError as exc:
            flash(_("Operation failed, nothing was changed: %(error)s", error=exc), "danger")
        return redirect(url_for("RegionModulesView.region", code=code))


def register_tenant_views(appbuilder) -> None:
    appbuilder.add_view(
        RegionModulesView,
        "Region Modules",
        label=_l("Region modules"),
        icon="fa-map-marker",
        category="Platform",
        category_label=_l("Platform"),
        category_icon="fa-cogs",
    )
