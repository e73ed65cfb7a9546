"""Admin UI "Modules": platform install / upgrade / uninstall / purge with impact pages."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from core.addons.manifest import AddonError
from core.views.i18n import join_list

STATE_LABELS = {
    "installed": _l("Installed"),
    "uninstalled": _l("Not installed"),
    "to_upgrade": _l("Upgrade pending"),
}
ACTIONS = {
    "install": _l("Install"),
    "upgrade": _l("Upgrade"),
    "uninstall": _l("Uninstall (keep data)"),
    "purge": _l("Purge data"),
}


class ModulesView(BaseView):
    route_base = "/erp/modules"
    default_view = "list"
    class_permission_name = "Modules"
    method_permission_name = {
        "list": "read",
        "confirm": "write",
        "run": "write",
    }
    base_permissions = ["can_read", "can_write"]

    def _installer(self):
        from core.state import installer_for

        return installer_for()

    @expose("/")
    @has_access
    def list(self):
        installer = self._installer()
        try:
            modules = installer.list()
        except AddonError as exc:
            flash(str(exc), "danger")
            modules = []
        return self.render_template(
            "erp/modules.html", modules=modules, state_labels=STATE_LABELS, actions=ACTIONS
        )

    @expose("/<string:action>/<string:name>", methods=["GET"])
    @has_access
    def confirm(self, action: str, name: str):
        if action not in ACTIONS:
            abort(404)
        installer = self._installer()
        impact: dict = {"action": action, "name": name, "label": ACTIONS[action]}
        try:
            if name not in installer.registry and action != "purge":
                abort(404)
            if action == "install":
                impact["modules"] = installer.plan_install([name])
                impact["pulled_in"] = [m for m in impact["modules"] if m != name]
            elif action == "upgrade":
                impact["modules"] = [name]
            elif action == "uninstall":
                plan = installer.plan_uninstall(name)
                impact["modules"] = plan.remove
                impact["blockers"] = plan.blockers
            elif action == "purge":
                report = installer.purge_report(name)
                impact["tables"] = report.tables
                impact["records"] = report.records
                impact["blockers"] = report.blockers
        except AddonError as exc:
            flash(str(exc), "danger")
            return redirect(url_for("ModulesView.list"))
        return self.render_template("erp/module_confirm.html", impact=impact)

    @expose("/<string:action>/<string:name>", methods=["POST"])
    @has_access
    def run(self, action: str, name: str):
        if action not in ACTIONS:
            abort(404)
        installer = self._installer()
        try:
            if action == "install":
                done = installer.install([name], demo=request.form.get("demo") == "1")
                flash(_("Installed: %(modules)s", modules=join_list(done) or name), "success")
            elif action == "upgrade":
                done = installer.upgrade([name])
                flash(_("Upgraded: %(modules)s", modules=join_list(done)), "success")
            elif action == "uninstall":
                done = installer.uninstall(name)
                flash(_("Uninstalled (data kept): %(modules)s", modules=join_list(done)),
                      "success")
            elif action == "purge":
                report = installer.purge(name)
                tables = join_list(
                    ngettext("%(table)s (%(num)d row)", "%(table)s (%(num)d rows)", n, table=t)
                    for t, n in report.tables
                ) or _("none")
                flash(_("Purged the data of module %(module)s; tables dropped: %(tables)s",
                        module=name, tables=tables), "success")
        except AddonError as exc:
            flash(_("Operation failed, nothing was changed: %(error)s", error=exc), "danger")
        return redirect(url_for("ModulesView.list"))


def register_core_views(appbuilder) -> None:
    appbuilder.add_view(
        ModulesView,
        "Modules",
        label=_l("Modules"),
        icon="fa-cubes",
        category="Platform",
        category_label=_l("Platform"),
        category_icon="fa-cogs",
    )
    from core.views.tenant import register_tenant_views

    register_tenant_views(appbuilder)
    from core.views.audit import register_audit_views

    register_audit_views(appbuilder)
    from core.views.jobs import register_jobs_views

    register_jobs_views(appbuilder)
