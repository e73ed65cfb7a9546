"""Admin UI and API of the audit log (平台管理 → 审计日志), read only.

* :class:`AuditLogView`: list with filters (time range in Beijing time, actor, action,
  module, object type and id, region), detail page, and an Excel export of the filtered
  list (:func:`core.services.export.xlsx_response_iter` + ``send_xlsx``).
* :class:`AuditLogApi`: ``GET /api/v1/audit_log/`` and ``/api/v1/audit_log/<id>`` for
  auditors (times in UTC).

Both show a region user only the records of their regions (``current_scope()``);
platform-wide records (no region) are for the platform admin.

:func:`register_audit_views` also registers the pages of the other shared services
(settings, holiday table), so ``register_core_views`` calls one function.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from dateutil import parser as dateparser
from flask_appbuilder import ModelRestApi, ModelView, expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import SQLAFilterConverter, get_field_setup_query
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import false
from sqlalchemy.orm import noload

from core.models import AuditLog
from core.services.audit import action_label
from core.services.export import ColumnSpec, send_xlsx, xlsx_response_iter

CST = dt.timezone(dt.timedelta(hours=8), "CST")
CROSS_REGION_OR_PUBLIC = frozenset({"supplier", "bank", "expert", "public"})


# -- time: stored in UTC, shown and filtered in Beijing time ------------------------------
def utc_to_cst(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC).astimezone(CST).replace(tzinfo=None)


def fmt_cst(value: dt.datetime | None) -> str:
    shown = utc_to_cst(value)
    return shown.strftime("%Y-%m-%d %H:%M:%S") if shown is not None else ""


def _cst_input_to_utc(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time())
    else:
        try:
            parsed = dateparser.parse(str(value).strip())
        except (ValueError, OverflowError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=CST)
    return parsed.astimezone(dt.UTC).replace(tzinfo=None)


class FilterFromCst(BaseFilter):
    """``at >= value``, the value in Beijing time."""

    name = _l("Not before (Beijing time)")
    arg_name = "erp_cst_ge"

    def apply(self, query, value):
        query, field = get_field_setup_query(query, self.model, self.column_name)
        at = _cst_input_to_utc(value)
        return query if at is None else query.filter(field >= at)


class FilterBeforeCst(BaseFilter):
    """``at < value``, the value in Beijing time."""

    name = _l("Before (Beijing time)")
    arg_name = "erp_cst_lt"

    def apply(self, query, value):
        query, field = get_field_setup_query(query, self.model, self.column_name)
        at = _cst_input_to_utc(value)
        return query if at is None else query.filter(field < at)


class _CstFilterConverter(SQLAFilterConverter):
    conversion_table = tuple(
        (kind, [FilterFromCst, FilterBeforeCst] if kind == "is_datetime" else filters)
        for kind, filters in SQLAFilterConverter.conversion_table
    )


class _AuditInterface(SQLAInterface):
    filter_converter_class = _CstFilterConverter


# -- scope -----------------------------------------------------------------------------
class AuditScopeFilter(BaseFilter):
    """Region users see the records of their regions; the platform admin sees all."""

    name = _l("Jurisdiction")
    arg_name = None

    def apply(self, query, value):
        from core.tenancy import current_scope

        scope = current_scope()
        if scope.unrestricted:
            return query
        if scope.actor in CROSS_REGION_OR_PUBLIC or not scope.region_ids:
            return query.filter(false())
        return query.filter(AuditLog.region_id.in_(sorted(scope.region_ids)))


SCOPE_FILTERS = [["region_id", AuditScopeFilter, None]]


# -- page ------------------------------------------------------------------------------
def _action(value: str) -> str:
    return labels().action(value or "")


# -- words instead of codes: modules, object types, transitions, fields, values --------------
CORE_OBJECTS = {
    "erp_module": "模块",
    "erp_region_module": "地区模块设置",
    "erp_setting_value": "参数设置",
    "erp_holiday": "节假日表",
    "erp_holiday_year": "节假日年度",
    "erp_organization": "单位",
    "erp_region": "行政区划",
    "ab_user": "用户",
}
CORE_FIELDS = {
    "state": "状态", "status": "状态", "module": "模块", "region": "地区", "region_id": "地区",
    "enabled": "启用", "installed_version": "已安装版本", "version": "版本", "key": "参数",
    "value": "值", "ctx": "附加信息", "reason": "理由", "name": "名称", "id": "编号",
    "day": "日期", "is_working_day": "工作日", "note": "备注", "demo": "演示数据",
    "inherited_from": "继承自", "amount": "金额", "cascade": "连带停用",
}
MODULE_STATES = {"installed": "已安装", "uninstalled": "未安装", "to_upgrade": "待升级"}


class AuditLabels:
    """Chinese words for what the audit log stores as program values (built once per app
    from the registry, the registered views and the state machines of the add-ons)."""

    def __init__(self, app: Any) -> None:
        import sys

        from core.services.statemachine import StateMachine

        state = app.extensions["erp"]
        self.modules = {n: state.registry[n].name for n in state.registry.order}
        self.objects: dict[str, str] = dict(CORE_OBJECTS)
        self.fields: dict[str, dict[str, str]] = {}
        for view in app.appbuilder.baseviews:
            model = getattr(getattr(view, "datamodel", None), "obj", None)
            table = getattr(model, "__tablename__", None)
            if not table:
                continue
            title = str(getattr(view, "list_title", "") or "")
            if title and not title.lower().startswith("list") and table not in self.objects:
                self.objects[table] = title
            cols = {k: str(v) for k, v in (getattr(view, "label_columns", None) or {}).items()}
            self.fields.setdefault(table, {}).update(cols)
        #: module -> state machines declared in its packages
        self.machines: dict[str, list[StateMachine]] = {}
        for name, mod in list(sys.modules.items()):
            if not name.startswith("addons.") or mod is None:
                continue
            owner = name.split(".")[1]
            for value in list(vars(mod).values()):
                if isinstance(value, StateMachine):
                    found = self.machines.setdefault(owner, [])
                    if all(value is not m for m in found):
                        found.append(value)

    def module(self, name: str | None) -> str:
        if not name:
            return "平台"
        return self.modules.get(name, name)

    def object_id(self, value: str | None) -> str:
        """``220000:emall`` (a region's module row) reads ``220000：电子卖场``."""
        if not value:
            return "—"
        parts = str(value).split(":")
        return "：".join(self.modules.get(p, p) for p in parts)

    def object_type(self, table: str | None) -> str:
        return self.objects.get(table or "", table or "—")

    def _machine(self, module: str | None, name: str, before: Any) -> Any:
        source = before.get("state") if isinstance(before, dict) else None
        best = None
        pool = self.machines.get(module, ()) if module else [
            m for ms in self.machines.values() for m in ms]
        for machine in pool:
            for t in machine.transitions:
                if t.name != name:
                    continue
                if source is None or source in t.sources or "*" in t.sources:
                    return machine
                best = best or machine
        return best

    def action(self, action: str, module: str | None = None, before: Any = None) -> str:
        if action.startswith("transition:"):
            name = action.split(":", 1)[1]
            machine = self._machine(module, name, before)
            if machine is not None:
                for t in machine.transitions:
                    if t.name == name:
                        return f"状态变更：{t.label}"
        return action_label(action)

    def field(self, table: str | None, key: str) -> str:
        return self.fields.get(table or "", {}).get(key) or CORE_FIELDS.get(key) or key

    def value(self, key: str, value: Any, machine: Any = None) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, bool):
            return "是" if value else "否"
        if key in ("state", "status") and machine is not None:
            return machine.label(value)
        if key in ("state",) and value in MODULE_STATES:
            return MODULE_STATES[value]
        if key == "module" and isinstance(value, str):
            return self.module(value)
        if isinstance(value, dict):
            return "；".join(f"{self.field(None, k)}：{self.value(k, v)}" for k, v in value.items()) \
                or "—"
        if isinstance(value, list):
            return "、".join(self.value(key, v) for v in value) or "—"
        return str(value)

    def changes(self, record: Any) -> list[tuple[str, str, str]]:
        """(field, before, after) of a record, in words; unchanged fields left out."""
        before, after = _loads(record.before), _loads(record.after)
        machine = None
        if (record.action or "").startswith("transition:"):
            machine = self._machine(record.module, record.action.split(":", 1)[1], before)
        if before is None and isinstance(after, dict):
            before = {}
        if after is None and isinstance(before, dict):
            after = {}
        if not isinstance(before, dict) or not isinstance(after, dict):
            if before is None and after is None:
                return []
            return [("内容", self.value("", before), self.value("", after))]
        out = []
        for key in list(dict.fromkeys([*before.keys(), *after.keys()])):
            b, a = before.get(key), after.get(key)
            if key in before and key in after and b == a:
                continue
            if key == "ctx" and isinstance(a, dict):
                for k, v in a.items():
                    out.append((self.field(record.object_type, k), "—", self.value(k, v, machine)))
                continue
            out.append((self.field(record.object_type, key), self.value(key, b, machine),
                        self.value(key, a, machine)))
        return out

    def changes_text(self, record: Any) -> str:
        return "\n".join(f"{f}：{b} → {a}" for f, b, a in self.changes(record)) or "—"


def _loads(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def labels() -> AuditLabels:
    from flask import current_app

    cached = current_app.extensions.get("erp_audit_labels")
    if cached is None:
        cached = current_app.extensions["erp_audit_labels"] = AuditLabels(current_app)
    return cached


LABELS = {
    "id": _l("ID"),
    "at": _l("Time (Beijing time)"),
    "actor": _l("Performed by"),
    "actor_id": _l("User ID"),
    "region": _l("Region"),
    "module": _l("Module"),
    "object_type": _l("Object type"),
    "object_id": _l("Object ID"),
    "action": _l("Action"),
    "before": _l("Before the change"),
    "after": _l("After the change"),
    "reason": _l("Reason"),
    "changes": "变更内容（字段：变更前 → 变更后）",
}


def export_columns() -> list[ColumnSpec]:
    """The columns of the Excel export, headed in the language of the request."""
    return [
        ColumnSpec("id", str(LABELS["id"]), "int", total=False),
        ColumnSpec("at", str(LABELS["at"]), "datetime"),
        ColumnSpec("actor", str(LABELS["actor"])),
        ColumnSpec("region", str(LABELS["region"])),
        ColumnSpec("module", str(LABELS["module"])),
        ColumnSpec("object_type", str(LABELS["object_type"])),
        ColumnSpec("object_id", str(LABELS["object_id"])),
        ColumnSpec("action", str(LABELS["action"])),
        ColumnSpec("changes", str(LABELS["changes"]), width=60),
        ColumnSpec("reason", str(LABELS["reason"]), width=30),
    ]


class AuditLogView(ModelView):
    datamodel = _AuditInterface(AuditLog)
    route_base = "/erp/audit"
    class_permission_name = "AuditLog"
    base_permissions = ["can_list", "can_show", "can_export"]
    list_template = "erp/audit_list.html"
    list_title = _l("Audit log")
    show_title = _l("Audit record")
    list_columns = ["at", "actor", "action", "module", "object_type", "object_id", "region",
                    "reason"]
    show_columns = ["id", "at", "actor", "actor_id", "region", "module", "object_type",
                    "object_id", "reason"]
    search_columns = ["at", "actor", "action", "module", "object_type", "object_id", "region"]
    order_columns = ["at", "actor", "action", "module", "object_type"]
    label_columns = LABELS
    base_order = ("at", "desc")
    base_filters = SCOPE_FILTERS
    page_size = 50
    show_template = "erp/audit_show.html"
    formatters_columns = {
        "at": fmt_cst,
        "action": _action,
        "module": lambda v: labels().module(v),
        "object_type": lambda v: labels().object_type(v),
        "object_id": lambda v: labels().object_id(v),
        "actor_id": lambda v: "—" if v is None else v,
        "reason": lambda v: v or "—",
        "region": lambda v: v if v is not None else _("Whole province (platform)"),
    }

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The record with its change as field / before / after rows in words."""
        from werkzeug.exceptions import NotFound

        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            raise NotFound()
        widgets = self._show(pk)
        lab = labels()
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self._related_views, changes=lab.changes(item),
            action_text=lab.action(item.action, item.module, _loads(item.before)),
        )

    @expose("/export/")
    @has_access
    def export(self):
        """The filtered list (same filters as the page) as an xlsx download."""
        get_filter_args(self._filters)
        filters = self._filters.get_joined_filters(self._base_filters)
        query = self.datamodel.session.query(AuditLog).options(noload(AuditLog.region))
        query = filters.apply_all(query).order_by(AuditLog.at.desc(), AuditLog.id.desc())
        from core.tenancy import snapshot

        names = snapshot().name_of
        province = _("Whole province (platform)")

        lab = labels()

        def rows():
            for r in query.yield_per(1000):
                yield {
                    "id": r.id,
                    "at": utc_to_cst(r.at),
                    "actor": r.actor,
                    "region": names.get(r.region_id, "") if r.region_id else province,
                    "module": lab.module(r.module),
                    "object_type": lab.object_type(r.object_type),
                    "object_id": lab.object_id(r.object_id) if r.object_id else "",
                    "action": lab.action(r.action, r.module, _loads(r.before)),
                    "changes": lab.changes_text(r),
                    "reason": r.reason or "",
                }

        stamp = dt.datetime.now(CST).strftime("%Y%m%d_%H%M%S")
        title = _("Audit log")
        body = xlsx_response_iter(rows(), export_columns(), sheet_name=title, title=title,
                                  totals=False)
        return send_xlsx(body, f"{title}_{stamp}.xlsx")


# -- API -------------------------------------------------------------------------------
class AuditLogApi(ModelRestApi):
    resource_name = "audit_log"
    datamodel = SQLAInterface(AuditLog)
    class_permission_name = "AuditLog"
    base_permissions = ["can_get", "can_info"]
    include_route_methods = {"get", "get_list", "info"}
    list_columns = ["id", "at", "actor", "actor_id", "region.code", "region.name", "module",
                    "object_type", "object_id", "action", "before", "after", "reason"]
    show_columns = list_columns
    search_columns = ["at", "actor", "action", "module", "object_type", "object_id", "region"]
    order_columns = ["id", "at", "actor", "action", "module", "object_type"]
    base_order = ("id", "desc")
    base_filters = SCOPE_FILTERS
    label_columns = LABELS


def register_audit_views(appbuilder) -> None:
    """The pages of the shared services (audit log, settings, holiday table) and the API."""
    from core.views.holidays import register_holiday_views
    from core.views.settings import SettingsView

    appbuilder.add_view(
        AuditLogView,
        "AuditLog",
        label=_l("Audit log"),
        icon="fa-history",
        category="Platform",
        category_label=_l("Platform"),
    )
    appbuilder.add_api(AuditLogApi)
    appbuilder.add_view(
        SettingsView,
        "Settings",
        label=_l("Settings"),
        icon="fa-sliders",
        category="Platform",
        category_label=_l("Platform"),
    )
    register_holiday_views(appbuilder)


__all__ = [
    "AuditLogApi",
    "AuditLogView",
    "AuditScopeFilter",
    "FilterBeforeCst",
    "FilterFromCst",
    "register_audit_views",
]
