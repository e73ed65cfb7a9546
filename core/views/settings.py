"""Admin UI "参数设置": every declared setting, its default and source, the effective value
for a chosen region, and overriding / resetting it per region.

The platform admin edits the platform-wide value and every region; a region user (with
the ``can_write on Settings`` permission) only their own region and its descendants.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.db import db
from core.services import settings as svc
from core.views.i18n import with_detail

PLATFORM = "platform"
SOURCE_LABELS = {
    "region": _l("Set for this region"),
    "ancestor": _l("Inherited from a parent region"),
    "platform": _l("Province-wide value"),
    "default": _l("Statutory default"),
}


def _regions_for(scope, snap) -> list[tuple[int, str, str, int]]:
    """(id, code, label, depth) of the regions the user may pick, in tree order."""
    if scope.unrestricted:
        roots = [r for r, p in snap.parent.items() if p is None]
    elif scope.region_id is not None and scope.region_ids:
        roots = [scope.region_id]
    else:
        roots = []
    out: list[tuple[int, str, str, int]] = []

    def walk(rid: int, depth: int) -> None:
        code = snap.code_of[rid]
        out.append((rid, code, with_detail(snap.name_of[rid], code), depth))
        for child in sorted(snap.children.get(rid, ()), key=lambda c: snap.code_of[c]):
            walk(child, depth + 1)

    for root in sorted(roots, key=lambda r: snap.code_of[r]):
        walk(root, 0)
    return out


class SettingsView(BaseView):
    route_base = "/erp/settings"
    default_view = "list"
    class_permission_name = "Settings"
    method_permission_name = {"list": "read", "set_value": "write", "reset_value": "write"}
    base_permissions = ["can_read", "can_write"]

    # -- helpers -----------------------------------------------------------------------
    def _scope_and_snap(self):
        from core.tenancy import current_scope, snapshot

        return current_scope(), snapshot()

    def _region_arg(self, raw: str | None, scope, snap) -> int | None:
        """The region chosen (None: platform-wide); 404 for a region out of reach."""
        if raw in (None, ""):
            return None if scope.unrestricted else scope.region_id
        if raw == PLATFORM:
            if not scope.unrestricted:
                abort(404)
            return None
        rid = snap.id_of.get(raw)
        if rid is None:
            abort(404)
        if not scope.unrestricted and rid not in (scope.region_ids or frozenset()):
            abort(404)
        return rid

    def _visible(self, decls: list[svc.Declaration]) -> list[svc.Declaration]:
        """Settings of modules installed on the platform (and of the core and tests)."""
        from core.state import get_state

        state = get_state()
        return [d for d in decls if d.module not in state.registry or state.is_installed(d.module)]

    def _back(self, code: str | None):
        return redirect(url_for("SettingsView.list", region=code or PLATFORM))

    # -- pages -------------------------------------------------------------------------
    @expose("/")
    @has_access
    def list(self):
        scope, snap = self._scope_and_snap()
        region_id = self._region_arg(request.args.get("region"), scope, snap)
        if region_id is None and not scope.unrestricted:
            flash(_("Your account is not linked to a region, so you cannot view the settings."),
                  "warning")
            decls: list[svc.Declaration] = []
            resolved = {}
        else:
            decls = self._visible(svc.declared())
            resolved = svc.resolve_all(region_id, db.session)
        rows = []
        for d in decls:
            res = resolved[d.key]
            source = str(SOURCE_LABELS[res.source])
            if res.source_region_id is not None and res.source == "ancestor":
                source = _("Inherited from %(region)s",
                           region=snap.name_of.get(res.source_region_id, ""))
            rows.append({
                "decl": d,
                "default": svc.format_value(d.key, d.default),
                "effective": svc.format_value(d.key, res.value),
                "source": source,
                "own": None if res.own is None else svc.format_value(d.key, res.own),
            })
        return self.render_template(
            "erp/settings.html",
            rows=rows,
            regions=_regions_for(scope, snap),
            region_id=region_id,
            region_code=snap.code_of.get(region_id) if region_id is not None else PLATFORM,
            region_name=(snap.name_of.get(region_id, "") if region_id is not None
                         else _("Province-wide")),
            can_platform=scope.unrestricted,
        )

    @expose("/set", methods=["POST"])
    @has_access
    def set_value(self):
        scope, snap = self._scope_and_snap()
        code = request.form.get("region") or ""
        region_id = self._region_arg(code, scope, snap)
        key = request.form.get("key", "")
        value = request.form.get("value", "")
        reason = (request.form.get("reason") or "").strip() or None
        try:
            decl = svc.declaration(key)
            typed = svc.set(key, value, region_id, session=db.session, reason=reason)
            db.session.commit()
        except svc.SettingError as exc:
            db.session.rollback()
            flash(_("Not saved: %(error)s", error=exc.message), "danger")
            return self._back(code)
        flash(_("Saved: %(setting)s = %(value)s", setting=decl.label_zh,
                value=svc.format_value(key, typed)), "success")
        return self._back(code)

    @expose("/reset", methods=["POST"])
    @has_access
    def reset_value(self):
        scope, snap = self._scope_and_snap()
        code = request.form.get("region") or ""
        region_id = self._region_arg(code, scope, snap)
        key = request.form.get("key", "")
        try:
            decl = svc.declaration(key)
            done = svc.reset(key, region_id, session=db.session)
            db.session.commit()
        except svc.SettingError as exc:
            db.session.rollback()
            flash(_("Not reset: %(error)s", error=exc.message), "danger")
            return self._back(code)
        if done:
            flash(_("Reset: %(setting)s now inherits from the parent region or the default",
                    setting=decl.label_zh), "success")
        else:
            flash(_("%(setting)s has no value of its own at this level", setting=decl.label_zh),
                  "info")
        return self._back(code)
