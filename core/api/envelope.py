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
import uuid
from typing import Any

from flask import Response, current_app, g, has_request_context, request
from flask_appbuilder.exceptions import DatabaseException
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import types as sa_types
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import BadRequest

from core.errors import ErpError

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

#: the OpenAPI schema of the envelope every error answer has
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



def _rollback() -> None:
    from core.db import db

    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - a broken connection
        log.warning("rollback after an API error failed", exc_info=True)


