"""The platform's REST conventions: one JSON error envelope for every API under ``/api/``.

Every error answered under ``/api/`` has the shape::

    {"status": 409, "message": {"code": ["该值已存在"]}, "code": "duplicate"}

* ``status`` -- the HTTP status, repeated in the body;
* ``message`` -- a sentence, or ``{field: [messages]}`` when fields are at fault
  (``_schema`` for the body as a whole, as marshmallow does);
* ``code`` -- a short machine code (see ``CODES`` and docs/api.md); clients branch on
  ``status`` and ``code``, never on the message text;
* a 500 also carries ``request_id`` (logged with the traceback, echoed as ``X-Request-ID``).

Rules: malformed requests (body not JSON or not valid JSON, bad ``?q=`` arguments, page
sizes out of range, unknown filter or order columns) are 400; a well-formed body with bad
field values is 422 with field messages (FAB's choice for marshmallow errors, kept); an
unknown, malformed or out-of-scope id is 404; a duplicate unique value is 409 naming the
field, and nothing is written; deleting a row still referenced is 409. A 500 is a bug.

How (FAB 5.3): ``ModelRestApi.post`` calls ``SQLAInterface.add``, which catches the
``IntegrityError``, rolls back and *re-raises it raw*; FAB's ``@safe`` turns that (and
anything else unexpected) into a 500 "Fatal error". ``edit``/``delete`` wrap it in
``DatabaseException``, which ``put``/``delete`` answer 422 with the SQL text. Here:

* ``ErpModelRestApi`` (modules subclass it) runs FAB's ``*_headless`` handlers inside
  ``_erp_answer``, which answers ``ApiError``, marshmallow ``ValidationError``,
  ``ScopeViolation`` and constraint/data errors itself (409 naming the field, 422, ...)
  before ``@safe`` sees them; checks ids, bodies, page arguments and filter values before
  FAB uses them; adds range checks for integer and numeric columns to the add/edit
  schemas; answers FAB's ``response_4xx`` helpers in the envelope; and, when FAB's
  ``@safe`` calls ``response_500`` (or ``except DatabaseException`` ``response_422``)
  while handling an exception, re-raises it to the app-level handlers;
* ``register_api_errors(app)`` (called by ``create_app``) is the safety net: it adopts
  every API view registered with FAB that does not derive from ``ErpModelRestApi``
  (FAB's own, a module's plain ``ModelRestApi``) by giving its instance the same
  behaviour; installs app-level handlers for ``/api/`` paths (``ApiError``,
  ``IntegrityError`` -> 409/422 naming the column, ``DataError`` -> 422, FAB's query
  exceptions -> 400, ``ValidationError`` -> 422, 405 with ``Allow``, anything else -> 500
  with a logged request id); sets the JWT error callbacks (401); and puts every other
  ``/api/`` error response (FAB's ``{"message": ...}``, flask-jwt-extended's
  ``{"msg": ...}``, werkzeug's) into the envelope in an ``after_request`` hook.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import Any

from flask import Flask, Response, current_app, g, has_request_context, request
from flask_appbuilder.api import BaseApi, ModelRestApi
from flask_appbuilder.exceptions import DatabaseException, FABException
from marshmallow import ValidationError, fields, validate
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import types as sa_types
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from werkzeug.exceptions import BadRequest, MethodNotAllowed

from core.errors import ErpError
from core.tenancy import ScopeViolation

log = logging.getLogger(__name__)

API_PREFIX = "/api/"

#: default machine code per status
CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

#: default message per status (the platform's UI language is Simplified Chinese)
MESSAGES: dict[int, str] = {
    400: "请求格式有误",
    401: "未登录或登录已失效，请先登录（Authorization: Bearer <令牌>）",
    403: "没有执行此操作的权限",
    404: "未找到请求的资源",
    405: "该资源不支持此请求方法",
    409: "与现有数据冲突",
    422: "数据校验未通过",
    429: "请求过于频繁，请稍后再试",
    500: "服务器内部错误，请将请求编号提供给管理员",
}

MSG_DUPLICATE = "该值已存在"
MSG_REQUIRED = "该字段为必填项"
MSG_BAD_REFERENCE = "引用的记录不存在"
MSG_IN_USE = "该记录正被其他数据引用，无法删除"
MSG_CHECK = "取值不符合约束条件"
MSG_BAD_VALUE = "数据格式有误或超出允许范围"
MSG_BAD_CHARS = "不能包含空字符（U+0000）或无效的 Unicode 字符"
MSG_NOT_JSON = "请求体必须是 JSON（Content-Type: application/json）"
MSG_INVALID_JSON = "请求体不是合法的 JSON"
MSG_NOT_OBJECT = "请求体必须是 JSON 对象"

INT64 = (-(2**63), 2**63 - 1)
INT_RANGES = {  # most restrictive of SQLite and PostgreSQL
    sa_types.SmallInteger: (-(2**15), 2**15 - 1),
    sa_types.BigInteger: INT64,
    sa_types.Integer: (-(2**31), 2**31 - 1),
}
#: the largest row offset a list query may ask for
MAX_OFFSET = 10**9


class ApiError(Exception):
    """Raise anywhere while serving an API request: answered in the envelope."""

    def __init__(self, status: int, message: Any = None, code: str | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.extra = extra


# -- the envelope --------------------------------------------------------------------------
def is_api_request() -> bool:
    return has_request_context() and request.path.startswith(API_PREFIX)


def envelope(status: int, message: Any = None, code: str | None = None,
             headers: Any = None, **extra: Any) -> Response:
    body = {
        "status": status,
        "message": message if message not in (None, "", {}) else MESSAGES.get(status, str(status)),
        "code": code or CODES.get(status, "error"),
        **extra,
    }
    resp = current_app.response_class(
        current_app.json.dumps(body) + "\n", status=status, mimetype="application/json"
    )
    if headers:
        resp.headers.extend(headers)
    return resp


_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id() -> str:
    """The request's id: the caller's ``X-Request-ID`` if sane, else a new one."""
    rid = getattr(g, "erp_request_id", None)
    if rid is None:
        given = request.headers.get("X-Request-ID", "")
        rid = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.erp_request_id = rid
    return rid


# -- database errors -------------------------------------------------------------------------
def _sqlstate(orig: Any) -> str | None:
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def _model_for_table(table: str | None) -> Any:
    if not table:
        return None
    from core.db import Model

    for mapper in Model.registry.mappers:
        local = getattr(mapper, "local_table", None)
        if local is not None and getattr(local, "name", None) == table:
            return mapper.class_
    return None


def _current_view() -> Any:
    """The API view serving this request (by blueprint), if any."""
    appbuilder = getattr(current_app, "appbuilder", None)
    for view in getattr(appbuilder, "baseviews", ()):
        bp = getattr(view, "blueprint", None)
        if bp is not None and bp.name == request.blueprint:
            return view
    return None


def _field_name(table: str | None, column: str) -> str:
    """The API field for a column: its attribute, or the relationship the API exposes for it."""
    view = _current_view()
    model = _model_for_table(table) or getattr(getattr(view, "datamodel", None), "obj", None)
    mapper = sa_inspect(model, raiseerr=False) if model is not None else None
    if mapper is None:
        return column
    key = next(
        (p.key for p in mapper.column_attrs
         if any(getattr(c, "name", None) == column for c in p.columns)),
        column,
    )
    exposed = set(getattr(view, "add_columns", None) or ()) | set(
        getattr(view, "edit_columns", None) or ()
    )
    if key not in exposed:
        for rel in mapper.relationships:
            if {c.name for c in rel.local_columns} == {column} and rel.key in exposed:
                return rel.key
    return key


def _unique_columns(table: str | None, constraint: str | None) -> list[str]:
    from core.db import metadata

    tbl = metadata.tables.get(table or "")
    if tbl is None or not constraint:
        return []
    for cons in tbl.constraints:
        if cons.name == constraint and hasattr(cons, "columns"):
            return [c.name for c in cons.columns]
    for idx in tbl.indexes:
        if idx.name == constraint:
            return [c.name for c in idx.columns]
    return []


_PG_KEY = re.compile(r"\(([^()]*(?:\([^()]*\)[^()]*)*)\)=\(")
_SQLITE = re.compile(
    r"^(UNIQUE|NOT NULL|FOREIGN KEY|CHECK) constraint failed(?::\s*(.*))?$", re.IGNORECASE
)


def describe_integrity_error(exc: IntegrityError) -> tuple[int, str, Any]:
    """(status, code, message) for a constraint violation, naming the fields at fault."""
    orig = exc.orig
    state = _sqlstate(orig)
    kind, table, cols, constraint = None, None, [], None
    if state:  # PostgreSQL
        diag = getattr(orig, "diag", None)
        table = getattr(diag, "table_name", None)
        constraint = getattr(diag, "constraint_name", None)
        detail = getattr(diag, "message_detail", None) or ""
        kind = {"23505": "unique", "23502": "not_null", "23503": "foreign_key",
                "23514": "check"}.get(state)
        if kind == "not_null":
            column = getattr(diag, "column_name", None)
            cols = [column] if column else []
        elif kind in ("unique", "foreign_key"):
            cols = _unique_columns(table, constraint) if kind == "unique" else []
            if not cols:
                m = _PG_KEY.search(detail)
                if m:
                    cols = [c.strip().strip('"') for c in m.group(1).split(",")]
    else:  # SQLite: "UNIQUE constraint failed: fx_item.code, fx_item.name"
        m = _SQLITE.match(str(orig).strip())
        if m:
            kind = m.group(1).upper().replace(" ", "_").lower()
            rest = m.group(2) or ""
            if kind in ("unique", "not_null"):
                for part in rest.split(","):
                    tbl, _, col = part.strip().rpartition(".")
                    if col:
                        table = table or tbl or None
                        cols.append(col)
            elif kind == "check":
                constraint = rest or None
    names = [_field_name(table, c) for c in cols if re.match(r"^\w+$", c)]
    if kind == "unique":
        return 409, "duplicate", ({n: [MSG_DUPLICATE] for n in names} or {"_schema": [MSG_DUPLICATE]})
    if kind == "not_null":
        return 422, "validation_error", ({n: [MSG_REQUIRED] for n in names}
                                         or {"_schema": [MSG_REQUIRED]})
    if kind == "foreign_key":
        if request.method == "DELETE":
            return 409, "in_use", MSG_IN_USE
        return 422, "invalid_reference", ({n: [MSG_BAD_REFERENCE] for n in names}
                                          or {"_schema": [MSG_BAD_REFERENCE]})
    if kind == "check":
        text = f"{MSG_CHECK}（{constraint}）" if constraint else MSG_CHECK
        return 422, "validation_error", {"_schema": [text]}
    return 409, "conflict", MESSAGES[409]


def api_error_response(exc: ApiError) -> Response:
    _rollback()
    return envelope(exc.status, exc.message, exc.code, **exc.extra)


def erp_error_response(exc: ErpError) -> Response:
    """The envelope for a :mod:`core.errors` error (rolled back, nothing written)."""
    _rollback()
    return envelope(exc.status, exc.messages, exc.code, **exc.extra)


def database_error_response(exc: Exception) -> Response | None:
    """The envelope for a database error a client caused (None: not one of those)."""
    if isinstance(exc, DatabaseException):
        exc = exc.__cause__ or getattr(exc, "exception", None) or exc
    if isinstance(exc, IntegrityError):
        _rollback()
        status, code, message = describe_integrity_error(exc)
        log.info("API %s %s: %s (%s)", request.method, request.path, code, exc.orig)
        return envelope(status, message, code)
    if isinstance(exc, DataError):
        _rollback()
        log.info("API %s %s: data error (%s)", request.method, request.path, exc.orig)
        return envelope(422, {"_schema": [MSG_BAD_VALUE]}, "invalid_value")
    return None


# -- request checks shared by every API ------------------------------------------------------
def _bad_text(value: str) -> bool:
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates ("\ud800")
        return True
    return False


def bad_strings(value: Any, path: str = "") -> dict[str, list[str]]:
    """{field: [message]} for strings no database accepts (NUL, lone surrogates)."""
    out: dict[str, list[str]] = {}
    if isinstance(value, str):
        if _bad_text(value):
            out[path or "_schema"] = [MSG_BAD_CHARS]
    elif isinstance(value, dict):
        for k, v in value.items():
            key = str(k)
            if _bad_text(key):
                out["_schema"] = [MSG_BAD_CHARS]
                continue
            out.update(bad_strings(v, key if not path else path))
    elif isinstance(value, list):
        for v in value:
            out.update(bad_strings(v, path))
    return out


def json_object_body() -> dict[str, Any]:
    """The request's JSON object, or an ApiError (400 not JSON / invalid JSON, 422 not an object)."""
    if not request.is_json:
        raise ApiError(400, MSG_NOT_JSON, "not_json")
    try:
        data = request.get_json()
    except BadRequest:
        raise ApiError(400, MSG_INVALID_JSON, "invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(422, {"_schema": [MSG_NOT_OBJECT]}, "validation_error")
    bad = bad_strings(data)
    if bad:
        raise ApiError(422, bad, "validation_error")
    return data


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,30}\s*", value):
        return int(value)
    return None


def _int_range(col_type: Any) -> tuple[int, int] | None:
    for cls, bounds in INT_RANGES.items():
        if isinstance(col_type, cls):
            return bounds
    return None


# -- the behaviour every API gets ---------------------------------------------------------------
TEXT_OPS = {"sw", "ew", "ct", "nsw", "new", "nct"}
LIST_OPS = {"in", "not_in"}
SCALAR_OPS = {"eq", "neq", "gt", "lt"}
RELATION_OPS = {"rel_o_m", "nrel_o_m", "rel_m_m"}


ENVELOPE_SCHEMA = {
    "type": "object",
    "required": ["status", "message", "code"],
    "properties": {
        "status": {"type": "integer", "description": "the HTTP status"},
        "message": {
            "description": "a sentence, or {field: [messages]} (``_schema``: the whole body)",
            "oneOf": [{"type": "string"}, {"type": "object"}],
        },
        "code": {"type": "string", "description": "machine code, e.g. duplicate, not_found"},
        "request_id": {"type": "string", "description": "500 only: quote it to the admins"},
    },
}
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
            elif message.startswith("Not a valid rison") or "column" in message.lower():
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


class ErpModelRestApi(ErpApiMixin, ModelRestApi):
    """Base class of every module's model API (instead of FAB's ``ModelRestApi``)."""


class ErpBaseApi(ErpApiMixin, BaseApi):
    """Base class of APIs that are not model CRUD (instead of FAB's ``BaseApi``)."""


# -- wiring -----------------------------------------------------------------------------------
_adopted: dict[type, type] = {}


def adopt_api_views(appbuilder: Any) -> list[str]:
    """Give every registered API view the platform's behaviour; returns the adopted names."""
    names = []
    for view in getattr(appbuilder, "baseviews", ()):
        if not isinstance(view, BaseApi) or isinstance(view, ErpApiMixin):
            continue
        cls = type(view)
        new = _adopted.get(cls)
        if new is None:
            new = type(cls.__name__, (ErpApiMixin, cls),
                       {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
            _adopted[cls] = new
        view.__class__ = new
        if isinstance(view, ModelRestApi):
            view._erp_harden_schemas()
            names.append(cls.__name__)
    return names


def _malformed_id() -> bool:
    """A 405 only because ``GET /<int:pk>`` did not match: ``GET /api/v1/x/abc`` is a 404.

    FAB routes GET by ``/<int:pk>`` but PUT and DELETE by ``/<pk>``; a path whose id can
    not be one names no resource, whatever the method.
    """
    adapter = current_app.url_map.bind_to_environ(request.environ)
    views = {getattr(v.blueprint, "name", None): v
             for v in getattr(current_app.appbuilder, "baseviews", ()) if isinstance(v, BaseApi)}
    for method in ("PUT", "DELETE", "GET", "POST"):
        try:
            endpoint, args = adapter.match(method=method)
        except Exception:  # no rule for this method
            continue
        view = views.get(endpoint.rpartition(".")[0])
        if "pk" in args and isinstance(view, ErpApiMixin):
            try:
                view._erp_pk(args["pk"])
            except ApiError:
                return True
    return False


def _rollback() -> None:
    from core.db import db

    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - a broken connection
        log.warning("rollback after an API error failed", exc_info=True)


def register_api_errors(app: Flask) -> None:
    """Install the envelope, the error handlers and the JWT callbacks on ``app``."""
    adopted = adopt_api_views(app.appbuilder)
    if adopted:
        log.debug("API views adopted by the platform's error handling: %s", ", ".join(adopted))

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return api_error_response(exc)

    @app.errorhandler(ErpError)
    def _erp_error(exc: ErpError):
        if not is_api_request():
            from core.views.base import page_error_response

            return page_error_response(exc)
        return erp_error_response(exc)

    @app.errorhandler(SQLAlchemyError)
    @app.errorhandler(DatabaseException)
    def _database(exc: Exception):
        if not is_api_request():
            _rollback()
            raise exc
        return database_error_response(exc) or _unexpected(exc)

    @app.errorhandler(FABException)
    def _fab_query(exc: FABException):
        _rollback()
        if not is_api_request():
            raise exc
        return envelope(400, str(exc), "invalid_query")

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError):
        _rollback()
        if not is_api_request():
            raise exc
        return envelope(422, exc.messages, "validation_error")

    @app.errorhandler(MethodNotAllowed)
    def _method_not_allowed(exc: MethodNotAllowed):
        if not is_api_request():
            from core.views.errors import handle_http_error

            return handle_http_error(exc)
        if _malformed_id():
            return envelope(404)
        return envelope(405, MESSAGES[405], headers=exc.get_headers())

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        if not is_api_request():
            raise exc
        _rollback()
        rid = request_id()
        log.error("API internal error request_id=%s %s %s", rid, request.method, request.path,
                  exc_info=exc)
        return envelope(500, None, "internal_error", headers={"X-Request-ID": rid},
                        request_id=rid)

    @app.before_request
    def _login_needs_provider():
        # FAB 5.3's login schema does not require "provider", then reads it: a KeyError, 500
        if request.endpoint == "SecurityApi.login" and request.method == "POST":
            data = request.get_json(silent=True)
            if isinstance(data, dict) and "provider" not in data:
                return envelope(400, {"provider": [MSG_REQUIRED]}, "bad_request")
        return None

    @app.after_request
    def _normalise(resp: Response) -> Response:
        if resp.status_code < 400 or not is_api_request() or resp.direct_passthrough:
            return resp
        body = resp.get_json(silent=True) if resp.is_json else None
        status = resp.status_code
        if isinstance(body, dict):
            if body.get("status") == status and "code" in body and "message" in body:
                return resp
            extra = {k: v for k, v in body.items()
                     if k not in ("status", "message", "msg", "code", "severity")}
            message = body.get("message", body.get("msg"))
            code = body.get("code") if isinstance(body.get("code"), str) else None
        else:
            extra, message, code = {}, None, None
        new = envelope(status, message, code, **extra)
        resp.set_data(new.get_data())
        resp.mimetype = "application/json"
        return resp

    jwt = getattr(app.appbuilder.sm, "jwt_manager", None)
    if jwt is not None:
        jwt.unauthorized_loader(lambda reason: envelope(401, MESSAGES[401], "unauthorized"))
        jwt.invalid_token_loader(
            lambda reason: envelope(401, "登录令牌无效，请重新登录", "invalid_token")
        )
        jwt.expired_token_loader(
            lambda header, data: envelope(401, "登录令牌已过期，请重新登录", "token_expired")
        )
        jwt.revoked_token_loader(
            lambda header, data: envelope(401, "登录令牌已失效，请重新登录", "invalid_token")
        )
        jwt.needs_fresh_token_loader(
            lambda header, data: envelope(401, "此操作需要重新登录", "fresh_token_required")
        )
        jwt.user_lookup_error_loader(
            lambda header, data: envelope(401, "令牌对应的用户不存在或已停用", "invalid_token")
        )
        jwt.token_verification_failed_loader(
            lambda header, data: envelope(401, "登录令牌无效，请重新登录", "invalid_token")
        )
