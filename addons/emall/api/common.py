"""Shared by the e-mall's APIs: the base class, request helpers, the supplier filter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

from flask import current_app, request
from flask_appbuilder.models.sqla.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface

from addons.procurement_base.api import PbApi
from core.api import ApiError, json_object_body
from core.tenancy import current_scope

from .. import services

INVALID_DATE = "日期格式不正确，应为 YYYY-MM-DD"


class ListingInterface(SQLAInterface):
    """FAB's data model of ``emall_listing`` without its internal full-text column.

    ``search_vector`` (a ``tsvector``, :mod:`addons.emall.search_index`) is the search index,
    written by the index and never shown, edited, ordered nor filtered. FAB builds a filter
    for every column it knows of (``Filters._all_filters`` covers ``get_columns_list()``,
    whatever the view's ``search_columns``) and logs "Filter type not supported" for a
    tsvector, on every start and CLI command; here the column is not among FAB's columns.
    """

    INTERNAL_COLUMNS = ("search_vector",)

    def __init__(self, obj: Any, session: Any = None) -> None:
        super().__init__(obj, session)
        for name in self.INTERNAL_COLUMNS:
            self.list_properties.pop(name, None)
            self.list_columns.pop(name, None)


def image_folder() -> Path:
    """Product images live under the instance's var folder."""
    return Path(current_app.config.get("VAR_DIR") or "var") / "emall" / "images"


def _user_id() -> int | None:
    from core.security import current_erp_user

    user = current_erp_user()
    return user.id if user is not None else None


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    return json_object_body() if raw.strip() else {}


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise services.RuleError({field: [INVALID_DATE]}) from None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class OwnSupplierFilter(BaseFilter):
    """A supplier sees its own records (admissions, listings); other actors per role."""

    name = "本单位"
    arg_name = None

    def apply(self, query, value):
        scope = current_scope()
        if scope.actor == "supplier":
            return query.filter(self.model.supplier_id == scope.org_id)
        return query


class EmallApi(PbApi):
    """Base: service validation on writes; conflicts answered 409."""

    validator: ClassVar[Any] = None
    max_page_size = 100

    def pre_delete(self, item: Any) -> None:
        if type(self).rules is not None:  # the model's rules object decides (as on its page)
            super().pre_delete(item)
            return
        raise ApiError(409, {"id": ["该记录不能删除"]}, "conflict")

    def _get_or_404(self, pk: Any) -> Any:
        item = self.datamodel.get(self._erp_pk(pk), self._base_filters)
        if item is None:
            raise ApiError(404)
        return item
