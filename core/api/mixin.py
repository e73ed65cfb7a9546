"""The behaviour every platform API gets (``ErpApiMixin``): FAB's response helpers in the
envelope, id/body/page/filter checks before FAB uses them, range checks on the schemas."""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, ClassVar

from flask import Response, current_app, request
from flask_appbuilder.api import BaseApi
from flask_appbuilder.exceptions import DatabaseException
from marshmallow import ValidationError, fields, validate
from sqlalchemy import types as sa_types
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import BadRequest

from core.errors import ErpError
from core.tenancy import ScopeViolation

from .conformance import field_info
from .envelope import (
    ENVELOPE_SCHEMA,
    MAX_OFFSET,
    MSG_BAD_CHARS,
    MSG_INVALID_JSON,
    MSG_NOT_JSON,
    ApiError,
    _as_int,
    _bad_text,
    _int_range,
    _rollback,
    api_error_response,
    bad_strings,
    database_error_response,
    envelope,
    erp_error_response,
    json_object_body,
    request_id,
)

log = logging.getLogger(__name__)


# -- the behaviour every API gets ---------------------------------------------------------------
TEXT_OPS = {"sw", "ew", "ct", "nsw", "new", "nct"}
LIST_OPS = {"in", "not_in"}
SCALAR_OPS = {"eq", "neq", "gt", "lt"}
RELATION_OPS = {"rel_o_m", "nrel_o_m", "rel_m_m"}


#: FAB's OpenAPI response components, in the envelope (plus 403, 405, 409)
ENVELOPE_RESPONSES = {
    str(status): {
        "description": description,
        "content": {"application/json": {"schema": ENVELOPE_SCHEMA}},
    }
    for status, description in (
        (400, "Bad request: not JSON, invalid JSON or bad query arguments"),
        (401, "Not logged in, or the token is invalid or expired"),
        (403, "Forbidden"),
        (404, "Not found (unknown, malformed or out-of-scope id; module not enabled)"),
        (405, "Method not allowed"),
        (409, "Conflict: a duplicate unique value, or a record still referenced"),
        (422, "Validation failed: field messages"),
        (500, "Internal error (a bug): quote request_id"),
    )
}


def _active_exception() -> BaseException | None:
    return sys.exc_info()[1]


class ErpApiMixin:
    """The platform's API behaviour; first in the MRO of ``ErpModelRestApi`` and adopted views."""

    responses = ENVELOPE_RESPONSES

    # -- FAB's response helpers, in the envelope --------------------------------------------
    def response_400(self, message: Any = None) -> Response:
        exc = _active_exception()
        code = "bad_request"
        if isinstance(exc, BadRequest):
            desc = exc.description or ""
            cause = getattr(exc.__cause__, "description", "") or ""
            code = "invalid_json" if "JSON" in desc or "JSON" in cause else "bad_request"
            message = MSG_INVALID_JSON if code == "invalid_json" else (desc or message)
        elif isinstance(message, str):
            if message.startswith("Request") and "not JSON" in message:
                code, message = "not_json", MSG_NOT_JSON
            elif (message.startswith(("Not a valid rison", "查询参数 q"))
                  or "column" in message.lower()):
                code = "invalid_query"
        return envelope(400, message, code)

    def response_401(self) -> Response:
        return envelope(401)

    def response_403(self) -> Response:
        return envelope(403)

    def response_404(self) -> Response:
        return envelope(404)

    def response_422(self, message: Any = None) -> Response:
        exc = _active_exception()
        if isinstance(exc, (DatabaseException, SQLAlchemyError)):
            raise exc  # FAB's "Database exception occurred: <SQL>": answered centrally
        return envelope(422, message, "validation_error")

    def response_500(self, message: Any = None) -> Response:
        exc = _active_exception()
        if exc is not None:
            raise exc  # from FAB's @safe: the app-level handlers answer (409, 422, ... or 500)
        return envelope(500, None, "internal_error", request_id=request_id())

    # -- ids -------------------------------------------------------------------------------
    def _erp_pk(self, pk: Any) -> Any:
        """The id coerced to its column type; 404 if it cannot be one."""
        datamodel = getattr(self, "datamodel", None)
        if datamodel is None or datamodel.is_pk_composite():
            return pk
        col = datamodel.list_columns.get(datamodel.get_pk_name())
        col_type = getattr(col, "type", None)
        bounds = _int_range(col_type)
        if bounds is not None:  # digits only, as FAB's GET route ``/<int:pk>`` wants
            digits = isinstance(pk, int) or re.fullmatch(r"\d{1,30}", str(pk)) is not None
            value = _as_int(pk) if digits else None
            if value is None or not 0 <= value <= bounds[1]:
                raise ApiError(404)
            return value
        if isinstance(pk, str) and _bad_text(pk):
            raise ApiError(404)
        return pk

    def _erp_answer(self, call: Any, *args: Any, **kwargs: Any) -> Response:
        """Run FAB's handler; answer client errors here, before FAB's ``@safe`` logs them."""
        try:
            return call(*args, **kwargs)
        except ApiError as exc:
            return api_error_response(exc)
        except ErpError as exc:  # core.errors: RuleError, ConflictError, TransitionError, ...
            return erp_error_response(exc)
        except ValidationError as exc:  # raised by a module's pre_add / pre_update
            _rollback()
            return envelope(422, exc.messages, "validation_error")
        except ScopeViolation as exc:  # a write outside the user's regions
            _rollback()
            return envelope(403, {exc.field: [exc.message]}, "forbidden")
        except (SQLAlchemyError, DatabaseException) as exc:
            resp = database_error_response(exc)
            if resp is None:
                raise
            return resp

    def get_headless(self, pk: Any, **kwargs: Any) -> Response:
        parent = super().get_headless  # type: ignore[misc]
        return self._erp_answer(lambda: parent(self._erp_pk(pk), **kwargs))

    def get_list_headless(self, **kwargs: Any) -> Response:
        return self._erp_answer(super().get_list_headless, **kwargs)  # type: ignore[misc]

    def info_headless(self, **kwargs: Any) -> Response:
        return self._erp_answer(super().info_headless, **kwargs)  # type: ignore[misc]

    def _get_field_info(self, field: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """``_info``: a real description per field (core.api.conformance, issue 12 #15)."""
        return field_info(self, super()._get_field_info(field, *args, **kwargs), field)  # type: ignore[misc]

    def _erp_region_first(self) -> None:
        """For a region-scoped model, refuse a posted ``region`` outside the user's regions
        before the body is validated (403 wins over 422: validation messages must not tell
        about another region's data)."""
        from core.tenancy import RegionScoped, check_region_writable

        datamodel = getattr(self, "datamodel", None)
        model = getattr(datamodel, "obj", None)
        if model is None or not issubclass(model, RegionScoped):
            return
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or "region" not in data:
            return
        value = data["region"]
        if isinstance(value, dict):
            value = value.get("id")
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            check_region_writable(model, value)

    def put_headless(self, pk: Any) -> Response:
        parent = super().put_headless  # type: ignore[misc]

        def put() -> Response:
            checked = self._erp_pk(pk)
            json_object_body()
            if self.datamodel.get(checked, self._base_filters) is None:  # type: ignore[attr-defined]
                raise ApiError(404)
            self._erp_region_first()
            return parent(checked)

        return self._erp_answer(put)

    def delete_headless(self, pk: Any) -> Response:
        parent = super().delete_headless  # type: ignore[misc]
        return self._erp_answer(lambda: parent(self._erp_pk(pk)))

    def post_headless(self) -> Response:
        parent = super().post_headless  # type: ignore[misc]

        def post() -> Response:
            json_object_body()
            self._erp_region_first()
            return parent()

        return self._erp_answer(post)

    # -- list arguments ------------------------------------------------------------------
    def _sanitize_page_args(self, page: Any, page_size: Any) -> tuple[Any, Any]:
        max_size = getattr(self, "max_page_size", None) or current_app.config.get(
            "FAB_API_MAX_PAGE_SIZE"
        )
        page_ = 0 if page is None else _as_int(page)
        size_ = self.page_size if page_size is None else _as_int(page_size)  # type: ignore[attr-defined]
        if max_size == -1 and size_ == -1:
            return None, None
        errors: dict[str, list[str]] = {}
        if size_ is None or size_ < 1 or (max_size not in (None, -1) and size_ > max_size):
            limit = f"1 到 {max_size}" if max_size not in (None, -1) else "不小于 1"
            errors["page_size"] = [f"每页条数必须在 {limit} 之间"]
        if page_ is None or page_ < 0:
            errors["page"] = ["页码必须是不小于 0 的整数"]
        elif size_ and page_ * size_ > MAX_OFFSET:
            errors["page"] = ["页码超出范围"]
        if errors:
            raise ApiError(400, errors, "invalid_query")
        return page_, size_

    def _handle_filters_args(self, rison_args: dict[str, Any]) -> Any:
        errors = self._erp_check_filters(rison_args.get("filters") or [])
        if errors:
            raise ApiError(400, {"filters": errors}, "invalid_query")
        return super()._handle_filters_args(rison_args)  # type: ignore[misc]

    def _erp_check_filters(self, filters: Any) -> list[str]:
        """Check (and coerce in place) filter values against their columns' types."""
        errors: list[str] = []
        if not isinstance(filters, list):
            return ["filters 必须是数组"]
        datamodel = self.datamodel  # type: ignore[attr-defined]
        search = set(getattr(self, "search_columns", None) or ())
        for item in filters:
            if not isinstance(item, dict) or not {"col", "opr", "value"} <= item.keys():
                errors.append("每个过滤条件都需要 col、opr、value")
                continue
            col, opr, value = item["col"], item["opr"], item["value"]
            if not isinstance(col, str) or col not in search:
                errors.append(f"不能按字段 {col!r} 过滤")
                continue
            allowed_ops = {f.arg_name for f in self._filters.get_search_filters().get(col, ())}  # type: ignore[attr-defined]
            if opr not in allowed_ops:
                errors.append(f"{col}: 不支持的过滤操作 {opr!r}")
                continue
            if bad_strings(value):
                errors.append(f"{col}: {MSG_BAD_CHARS}")
                continue
            if opr in RELATION_OPS:
                rel = datamodel.get_related_interface(col)
                values = value if isinstance(value, list) and opr == "rel_m_m" else [value]
                if not all(_pk_value_ok(rel, v) for v in values):
                    errors.append(f"{col}: 关联记录编号无效")
                continue
            try:
                if opr in TEXT_OPS:
                    item["value"] = self._erp_filter_text(value)
                elif opr in LIST_OPS:
                    if not isinstance(value, list):
                        raise ValueError("取值必须是数组")
                    item["value"] = [self._erp_filter_scalar(col, v) for v in value]
                elif opr in SCALAR_OPS:
                    item["value"] = self._erp_filter_scalar(col, value)
            except ValueError as exc:
                errors.append(f"{col}: {exc}")
        return errors

    @staticmethod
    def _erp_filter_text(value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError("取值必须是字符串")
        return value if isinstance(value, str) else str(value)

    def _erp_filter_scalar(self, col: str, value: Any) -> Any:
        datamodel = self.datamodel  # type: ignore[attr-defined]
        column = datamodel.list_columns.get(col)
        col_type = getattr(column, "type", None)
        if isinstance(value, (list, dict)):
            raise ValueError("取值必须是单个值")
        if value is None:
            return None
        if datamodel.is_enum(col):
            allowed = list(getattr(col_type, "enums", ()) or ())
            if value not in allowed:
                raise ValueError(f"取值必须是 {', '.join(map(str, allowed))} 之一")
            return value
        if datamodel.is_boolean(col):
            truthy = {True: True, False: False, "y": True, "n": False,
                      "true": True, "false": False, "1": True, "0": False}
            key = value.lower() if isinstance(value, str) else value
            if key not in truthy:
                raise ValueError("取值必须是 true 或 false")
            return truthy[key]
        bounds = _int_range(col_type)
        if bounds is not None:
            number = _as_int(value)
            if number is None:
                raise ValueError("取值必须是整数")
            if not bounds[0] <= number <= bounds[1]:
                raise ValueError("整数超出范围")
            return number
        if datamodel.is_float(col) or datamodel.is_numeric(col):
            if isinstance(value, bool):
                raise ValueError("取值必须是数字")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError("取值必须是数字") from None
            if number != number or number in (float("inf"), float("-inf")):
                raise ValueError("取值必须是有限数字")
            return value
        if datamodel.is_string(col) or datamodel.is_text(col):
            return self._erp_filter_text(value)
        if datamodel.is_date(col) or datamodel.is_datetime(col):
            if not isinstance(value, str):
                raise ValueError("日期必须是字符串（如 2024-01-31）")
            return value
        return value

    # -- schemas: the ranges the databases enforce, checked first -------------------------------
    def _erp_harden_schemas(self) -> None:
        datamodel = getattr(self, "datamodel", None)
        if datamodel is None:
            return
        for attr in ("add_model_schema", "edit_model_schema"):
            schema = getattr(self, attr, None)
            if schema is None or getattr(schema, "_erp_hardened", False):
                continue
            for name, field in getattr(schema, "fields", {}).items():
                column = datamodel.list_columns.get(field.attribute or name)
                if column is not None:
                    _harden_field(field, getattr(column, "type", None))
            schema._erp_hardened = True

    def _init_model_schemas(self) -> None:
        super()._init_model_schemas()  # type: ignore[misc]
        self._erp_harden_schemas()
        for attr in ("list_model_schema", "show_model_schema", "add_model_schema",
                     "edit_model_schema"):
            declare_decimals(getattr(self, attr, None))


#: how a decimal travels in JSON here: a string (money "1234.50", rates "3.4500"), never a
#: binary float; apispec would declare ``type: number`` for a marshmallow Decimal field
DECIMAL_PROPERTY = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$",
                    "example": "1234.50"}


def declare_decimals(schema: Any) -> None:
    """Declare the schema's Decimal fields (money included) as the decimal strings they
    answer (apispec copies a field's ``metadata`` type/format/pattern into the spec). A JSON
    number is still accepted on input where the field accepts it."""
    for field in (getattr(schema, "fields", None) or {}).values():
        if isinstance(field, fields.Decimal) and "type" not in field.metadata:
            field.metadata.update(DECIMAL_PROPERTY)


def _pk_value_ok(datamodel: Any, value: Any) -> bool:
    """Whether ``value`` can be a primary key of ``datamodel``'s model."""
    if datamodel.is_pk_composite():
        return isinstance(value, list)
    col = datamodel.list_columns.get(datamodel.get_pk_name())
    bounds = _int_range(getattr(col, "type", None))
    if bounds is not None:
        number = _as_int(value)
        return number is not None and bounds[0] <= number <= bounds[1]
    return isinstance(value, (str, int)) and not isinstance(value, bool)


class _DigitsLimit(validate.Validator):
    """|value| < 10**digits: what NUMERIC(p, s) stores (p - s digits before the point).

    Not a ``Range``: apispec would write a Decimal bound into the spec as a string.
    """

    def __init__(self, digits: int) -> None:
        self.digits = digits
        self.limit = 10**digits

    def __call__(self, value: Any) -> Any:
        if value is not None and not -self.limit < value < self.limit:
            raise ValidationError(f"整数部分最多 {self.digits} 位")
        return value


def _harden_field(field: fields.Field, col_type: Any) -> None:
    extra: list[Any] = []
    bounds = _int_range(col_type)
    if bounds is not None and isinstance(field, fields.Integer):
        extra.append(validate.Range(min=bounds[0], max=bounds[1]))
    elif isinstance(col_type, sa_types.Numeric) and isinstance(field, fields.Number):
        precision, scale = getattr(col_type, "precision", None), getattr(col_type, "scale", None)
        if precision and not isinstance(col_type, sa_types.Float):
            extra.append(_DigitsLimit(precision - (scale or 0)))
    if extra:
        field.validators = [*field.validators, *extra]


class ErpBaseApi(ErpApiMixin, BaseApi):
    """Base class of APIs that are not model CRUD (instead of FAB's ``BaseApi``).

    ``record_actions``: :mod:`core.actions` endpoints on records of ``Actions(model=...)``
    (loaded under the user's scope), as on an ``ErpModelRestApi``.
    """

    record_actions: ClassVar[Any] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        from .actions import install_api_actions

        install_api_actions(cls)


