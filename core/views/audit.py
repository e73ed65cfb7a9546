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
from markupsafe import Markup, escape
from sqlalchemy import false
from sqlalchemy.orm import noload

from core.models import AuditLog
from core.services.audit import action_label
from core.services.export import ColumnSpec, send_xlsx, xlsx_response_iter
from core.views.i18n import with_detail

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
def _json_block(value: str | None) -> Markup:
    if not value:
        return Markup("—")
    try:
        pretty = json.dumps(json.loads(value), ensure_ascii=False, indent=2, sort_keys=True)
    except ValueError:
        pretty = value
    return Markup("<pre class='erp-audit-json'>") + escape(pretty) + Markup("</pre>")


def _action(value: str) -> str:
    label = action_label(value or "")
    return label if label == value else with_detail(label, value)


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
        ColumnSpec("before", str(LABELS["before"]), width=40),
        ColumnSpec("after", str(LABELS["after"]), width=40),
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
                    "object_id", "action", "before", "after", "reason"]
    search_columns = ["at", "actor", "action", "module", "object_type", "object_id", "region"]
    order_columns = ["at", "actor", "action", "module", "object_type"]
    label_columns = LABELS
    base_order = ("at", "desc")
    base_filters = SCOPE_FILTERS
    page_size = 50
    formatters_columns = {
        "at": fmt_cst,
        "action": _action,
        "before": _json_block,
        "after": _json_block,
    }

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

        def rows():
            for r in query.yield_per(1000):
                yield {
                    "id": r.id,
                    "at": utc_to_cst(r.at),
                    "actor": r.actor,
                    "region": names.get(r.region_id, "") if r.region_id else province,
                    "module": r.module,
                    "object_type": r.object_type,
                    "object_id": r.object_id,
                    "action": _action(r.action),
                    "before": r.before,
                    "after": r.after,
                    "reason": r.reason,
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
