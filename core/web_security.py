"""Web security for every request and response (issue 12 findings 1, 5, 6, 8).

* Headers on every response, with a Content-Security-Policy whose scripts are the
  platform's own files plus inline ``<script>`` blocks carrying this request's nonce
  (``csp_nonce()`` in templates; FAB 5.3's templates already call it): no
  ``'unsafe-inline'``, no ``'unsafe-eval'``, no CDN.
* ``safe_url``: the Jinja filter every template uses to render a user-supplied URL; anything
  but ``http``/``https`` (``javascript:``, ``data:``, ...) becomes ``#``.
* Request guards, before anything reads the body: the size limits (``MAX_CONTENT_LENGTH``,
  ``ERP_REQUEST_LIMITS``, ``upload_limit``) answer 413 from the ``Content-Length``; JSON
  bodies deeper than ``ERP_JSON_MAX_DEPTH`` or with unpaired surrogates, and a ``?q=`` that
  is not an object, answer 400/422 (in the API envelope, or a Chinese page).
* SQLite lock contention (``core.db.contention_status``) answers 503 with ``Retry-After``
  (or 409), never 500.
"""

from __future__ import annotations

import json
import re
import secrets
import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request
from marshmallow import ValidationError, validate
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
#: the policy; {nonce} is this request's. Styles may stay inline (FAB's markup uses style
#: attributes); scripts may not.
CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{nonce}'; object-src 'none'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'self'; base-uri 'self'; form-action 'self'"
)
SAFE_SCHEMES = ("http", "https")
MSG_TOO_DEEP = "JSON 嵌套层数过多（最多 {depth} 层）"
MSG_Q_NOT_OBJECT = "查询参数 q 必须是对象，例如 (page:0,page_size:20)"
MSG_TOO_LARGE = "请求内容过大（最多 {size}）"
MSG_BUSY = "系统繁忙，请稍后重试"
MSG_STALE = "数据已被他人修改，请刷新后重试"

F = TypeVar("F", bound=Callable[..., Any])


# -- CSP nonce ---------------------------------------------------------------------------------
def csp_nonce() -> str:
    """This request's script nonce (one per request, unguessable)."""
    nonce = getattr(g, "_erp_csp_nonce", None)
    if nonce is None:
        nonce = g._erp_csp_nonce = secrets.token_urlsafe(18)
    return nonce


# -- URLs --------------------------------------------------------------------------------------
def url_scheme_ok(value: str) -> bool:
    """An absolute http(s) URL with a host (what every URL field accepts)."""
    if not isinstance(value, str) or value != value.strip() or any(c in value for c in "\r\n\t"):
        return False
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in SAFE_SCHEMES and bool(parts.netloc)


def safe_url(value: Any) -> str:
    """Jinja filter ``safe_url``: the URL if it is http(s) (or a path on this site), else ``#``."""
    if value is None or value == "":
        return "#"
    text = str(value)
    # browsers drop tabs/newlines and leading spaces/control characters before the scheme
    if re.search(r"[\x00-\x20\\]", text):
        return "#"
    if text.startswith("/") and not text.startswith("//"):
        return text
    return text if url_scheme_ok(text) else "#"


MSG_URL = "网址必须以 http:// 或 https:// 开头"


class UrlScheme(validate.Validator):
    """Marshmallow validator of a URL field: an absolute http(s) URL."""

    error = MSG_URL

    def __call__(self, value: Any) -> Any:
        if value is None or value == "":
            return value
        if not url_scheme_ok(value):
            raise ValidationError(self.error)
        return value


def url_field(column: Any, field: Any) -> Any:
    """The schema converter's hook: a URL column's field gets the scheme check."""
    from core.db import is_url_column

    if column is not None and is_url_column(column) and not getattr(field, "dump_only", False):
        if not any(isinstance(v, UrlScheme) for v in field.validators):
            field.validators = [*field.validators, UrlScheme()]
    return field


def _check_url_columns(session: Any, flush_context: Any, instances: Any) -> None:
    """Every write of every model: URL columns hold http(s) URLs only (a field error)."""
    from sqlalchemy import inspect as sa_inspect

    from core.db import is_url_column
    from core.errors import RuleError

    errors: dict[str, list[str]] = {}
    for obj in list(session.new) + list(session.dirty):
        mapper = sa_inspect(obj).mapper
        for attr in mapper.column_attrs:
            column = attr.columns[0]
            if not is_url_column(column):
                continue
            value = getattr(obj, attr.key, None)
            if value not in (None, "") and not url_scheme_ok(value):
                errors[attr.key] = [MSG_URL]
    if errors:
        raise RuleError(errors)


event.listen(Session, "before_flush", _check_url_columns)


# -- size limits -------------------------------------------------------------------------------
def upload_limit(size: int | Callable[[], int]) -> Callable[[F], F]:
    """Decorate a view: its request body may have at most ``size`` bytes (or ``size()``),
    checked from ``Content-Length`` before anything reads the body (413 otherwise)."""

    def deco(fn: F) -> F:
        fn._erp_max_body = size  # type: ignore[attr-defined]
        return fn

    return deco


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:g} MB"
    if size >= 1024:
        return f"{size / 1024:g} KB"
    return f"{size} 字节"


def body_limit() -> int | None:
    """The largest body this request may have: the smallest applicable limit."""
    limits = []
    if current_app.config.get("MAX_CONTENT_LENGTH"):
        limits.append(int(current_app.config["MAX_CONTENT_LENGTH"]))
    for key, size in current_app.config.get("ERP_REQUEST_LIMITS") or ():
        if (key.startswith("/") and request.path.startswith(key)) or key == request.endpoint:
            limits.append(int(size))
    view = current_app.view_functions.get(request.endpoint or "")
    own = getattr(view, "_erp_max_body", None)
    if own is not None:
        limits.append(int(own() if callable(own) else own))
    return min(limits) if limits else None


class TooLarge(RequestEntityTooLarge):
    def __init__(self, limit: int) -> None:
        super().__init__(MSG_TOO_LARGE.format(size=_human(limit)))
        self.limit = limit


# -- JSON checks -------------------------------------------------------------------------------
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays/objects in a JSON text (strings skipped); linear time."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(_STRING.sub(b'""', raw)):
        if m.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _rison_depth(value: str) -> int:
    depth = deepest = 0
    for ch in value:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def _parse_q(value: str) -> Any:
    """``?q=`` as FAB parses it (Rison, else JSON); raises ValueError when neither."""
    import prison

    try:
        return prison.loads(value)
    except Exception:
        pass
    try:
        return json.loads(value)
    except Exception as exc:
        raise ValueError(str(exc)) from None


def _bad_text(value: Any) -> bool:
    from core.api.envelope import bad_strings

    return bool(bad_strings(value))


class InputRefused(HTTPException):
    """A request refused before any handler ran (400 or 422), with field messages."""

    def __init__(self, status: int, message: Any, code: str) -> None:
        super().__init__(str(message))
        self.code = status
        self.message = message
        self.erp_code = code


def _check_request() -> None:
    """Size, JSON depth, surrogates, ``?q=`` shape: before CSRF or any view reads the body."""
    limit = body_limit()
    length = request.content_length
    if limit is not None:
        if length is not None and length > limit:
            raise TooLarge(limit)
        request.max_content_length = limit  # a chunked body is cut off while read
    max_depth = int(current_app.config.get("ERP_JSON_MAX_DEPTH") or 32)
    q = request.args.get("q")
    # an endpoint may declare ``q`` its own free-text argument (a public keyword search):
    # ``fn.erp_free_text_q = True`` on the view function; it then checks ``q`` itself
    view = current_app.view_functions.get(request.endpoint or "")
    if q and request.path.startswith("/api/") and not getattr(view, "erp_free_text_q", False):
        if _rison_depth(q) > max_depth:
            raise InputRefused(400, {"q": [MSG_TOO_DEEP.format(depth=max_depth)]}, "invalid_query")
        try:
            parsed = _parse_q(q)
        except (ValueError, RecursionError):
            parsed = None  # FAB answers its own 400 for an unreadable q
        else:
            if not isinstance(parsed, dict):
                raise InputRefused(400, {"q": [MSG_Q_NOT_OBJECT]}, "invalid_query")
            if _bad_text(parsed):
                from core.api.envelope import MSG_BAD_CHARS

                raise InputRefused(400, {"q": [MSG_BAD_CHARS]}, "invalid_query")
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return
    json_max = int(current_app.config.get("ERP_JSON_MAX_BYTES") or 0)
    if json_max and length is not None and length > json_max:
        raise TooLarge(json_max)
    raw = request.get_data(cache=True)
    if json_max and len(raw) > json_max:
        raise TooLarge(json_max)
    if not raw.strip():
        return
    if json_depth(raw) > max_depth:
        raise InputRefused(400, {"_schema": [MSG_TOO_DEEP.format(depth=max_depth)]},
                           "invalid_json")
    data = request.get_json(silent=True)  # parsed once; views reuse the cached value
    if data is not None and _bad_text(data):
        from core.api.envelope import bad_strings

        raise InputRefused(422, bad_strings(data), "validation_error")


def _answer(status: int, message: Any, code: str, headers: dict[str, str] | None = None):
    if request.path.startswith("/api/"):
        from core.api.envelope import envelope

        return envelope(status, message, code, headers=headers or {})
    from core.views.errors import error_page

    html, status = error_page(status)
    resp = current_app.make_response((html, status))
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def register_request_guards(app: Flask) -> None:
    """The guards run first among the app's before-request functions (before CSRF)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _check_request)

    @app.errorhandler(TooLarge)
    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge):
        limit = getattr(exc, "limit", None) or app.config.get("MAX_CONTENT_LENGTH") or 0
        return _answer(413, MSG_TOO_LARGE.format(size=_human(int(limit))), "too_large")

    @app.errorhandler(InputRefused)
    def _refused(exc: InputRefused):
        return _answer(exc.code or 400, exc.message, exc.erp_code)

    @app.errorhandler(OperationalError)
    def _operational(exc: OperationalError):
        from core.db import contention_status, db

        status = contention_status(exc)
        if status is None:
            raise exc
        db.session.rollback()
        if status == 409:
            return _answer(409, MSG_STALE, "conflict")
        return _answer(503, MSG_BUSY, "busy", {"Retry-After": "2"})


# -- response headers --------------------------------------------------------------------------
def register_security_headers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["safe_url"] = safe_url
    register_request_guards(app)

    @app.after_request
    def _headers(resp: Response) -> Response:
        for key, value in HEADERS.items():
            resp.headers.setdefault(key, value)
        resp.headers.setdefault("Content-Security-Policy", CSP.format(nonce=csp_nonce()))
        if app.config.get("SESSION_COOKIE_SECURE"):
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return resp


__all__ = ["CSP", "HEADERS", "UrlScheme", "url_field", "csp_nonce", "json_depth", "register_security_headers",
           "safe_url", "upload_limit", "url_scheme_ok"]
