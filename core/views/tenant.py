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


def module_names() -> dict[str, str]:
    """module code -> its Chinese name (the manifest's ``name``)."""
    from flask import current_app

    registry = current_app.extensions["erp"].registry
    return {n: registry[n].name for n in registry.order}


def disable_impact(code: str, modules: list[str], limit: int = 50) -> dict:
    """Who and what a disable touches in the region's subtree: the users whose roles reach
    the modules' pages or APIs, their units, and the menu entries that disappear."""
    from flask import current_app
    from flask_appbuilder.security.sqla.models import (
        PermissionView,
        ViewMenu,
        assoc_permissionview_role,
        assoc_user_role,
    )
    from sqlalchemy import func, select

    from core.db import db
    from core.models import Organization
    from core.security import ErpUser
    from core.tenancy import snapshot

    state = current_app.extensions["erp"]
    view_names = sorted({v for m in modules for _, v in state.pairs(m) if v})
    menus: list[str] = []
    if state.menu is not None:

        def walk(items, parent_label: str | None) -> None:
            for item in items:
                if item.childs:
                    walk(item.childs, str(item.label or item.name))
                elif getattr(item, "erp_module", None) in modules and item.name != "-":
                    label = str(item.label or item.name)
                    menus.append(f"{parent_label} → {label}" if parent_label else label)

        walk(state.menu.menu, None)
    snap = snapshot()
    rid = snap.id_of.get(code)
    if rid is None or not view_names:
        return {"users": [], "user_count": 0, "units": [], "unit_count": 0, "menus": menus}
    subtree = sorted(snap.subtree(rid))
    reaching = (
        select(assoc_user_role.c.user_id)
        .join(assoc_permissionview_role,
              assoc_permissionview_role.c.role_id == assoc_user_role.c.role_id)
        .join(PermissionView, PermissionView.id == assoc_permissionview_role.c.permission_view_id)
        .join(ViewMenu, ViewMenu.id == PermissionView.view_menu_id)
        .where(ViewMenu.name.in_(view_names))
    )
    region_of_user = func.coalesce(ErpUser.region_id, Organization.region_id)
    cond = [ErpUser.active.is_(True), ErpUser.id.in_(reaching), region_of_user.in_(subtree)]
    base = select(ErpUser.id).outerjoin(Organization, Organization.id == ErpUser.organization_id)
    user_count = db.session.scalar(
        select(func.count()).select_from(base.where(*cond).subquery())) or 0
    rows = db.session.execute(
        select(ErpUser.username, ErpUser.first_name, ErpUser.last_name, Organization.name)
        .outerjoin(Organization, Organization.id == ErpUser.organization_id)
        .where(*cond).order_by(Organization.name, ErpUser.username).limit(limit)
    ).all()
    units = db.session.execute(
        select(Organization.name, func.count(ErpUser.id))
        .join(ErpUser, ErpUser.organization_id == Organization.id)
        .where(*cond).group_by(Organization.name).order_by(Organization.name)
    ).all()
    users = [(f"{r.first_name or ''}{r.last_name or ''}" or r.username, r.username,
              r.name or "—") for r in rows]
    return {"users": users, "user_count": user_count, "units": [(n, c) for n, c in units[:limit]],
            "unit_count": len(units), "menus": menus}


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
            module_names=module_names(),
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
                touched = [module, *(m for _, m in change.blockers), *(m for _, m in change.disabled)]
                impact["affected"] = disable_impact(code, list(dict.fromkeys(touched)))
        except AddonError as exc:
            flash(str(exc), "danger")
            return redirect(url_for("RegionModulesView.region", code=code))
        from core.tenancy import snapshot

        snap = snapshot()
        name_of = {snap.code_of[r]: snap.name_of[r] for r in snap.code_of}
        return self.render_template(
            "erp/region_module_confirm.html", code=code, action=action, module=module,
            impact=impact, name_of=name_of, module_names=module_names(),
        )

    @expose("/<string:code>/<string:action>/<string:module>", methods=["POST"])
    @has_access
    def run(self, code: str, action: str, module: str):
        self._check(code)
        actor = getattr(g.user, "username", None)
        try:
            if action == "enable":
                done = _enablement(lambda en: en.enable(code, [module], actor=actor))
                names = module_names()
                flash(_("Enabled for this region: %(modules)s",
                        modules=join_list(names.get(m, m) for m in done) or names.get(module, module)),
                      "success")
            elif action == "disable":
                cascade = request.form.get("cascade") == "1"
                change = _enablement(
                    lambda en: en.disable(code, module, cascade=cascade, actor=actor)
                )
                names = module_names()
                flash(_("Disabled (data kept): %(modules)s",
                        modules=join_list(with_detail(names.get(m, m), c)
                                          for c, m in change.disabled)),
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
