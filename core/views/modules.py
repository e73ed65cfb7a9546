"""Admin UI "Modules": platform install / upgrade / uninstall / purge with impact pages."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l

from core.addons.manifest import AddonError

STATE_LABELS = {
    "installed": "已安装",
    "uninstalled": "未安装",
    "to_upgrade": "待升级",
}
ACTIONS = {
    "install": "安装",
    "upgrade": "升级",
    "uninstall": "卸载（保留数据）",
    "purge": "清除数据",
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
        from core.app import installer_for

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
                flash(f"已安装：{'、'.join(done) or name}", "success")
            elif action == "upgrade":
                done = installer.upgrade([name])
                flash(f"已升级：{'、'.join(done)}", "success")
            elif action == "uninstall":
                done = installer.uninstall(name)
                flash(f"已卸载（数据保留）：{'、'.join(done)}", "success")
            elif action == "purge":
                report = installer.purge(name)
                tables = "、".join(f"{t}（{n} 行）" for t, n in report.tables) or "无"
                flash(f"已清除模块 {name} 的数据，删除的表：{tables}", "success")
        except AddonError as exc:
            flash(f"操作失败，未做任何更改：{exc}", "danger")
        return redirect(url_for("ModulesView.list"))


def register_core_views(appbuilder) -> None:
    appbuilder.add_view(
        ModulesView,
        "Modules",
        label=_l("模块管理"),
        icon="fa-cubes",
        category="Platform",
        category_label=_l("平台管理"),
        category_icon="fa-cogs",
    )
    from core.views.tenant import register_tenant_views

    register_tenant_views(appbuilder)
    from core.views.audit import register_audit_views

    register_audit_views(appbuilder)
