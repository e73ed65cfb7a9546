"""Wiring the envelope into an app: adopt every API view, app-level handlers, JWT callbacks."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, request
from flask_appbuilder.api import BaseApi, ModelRestApi
from flask_appbuilder.exceptions import DatabaseException, FABException
from marshmallow import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import MethodNotAllowed

from core.errors import ErpError

from .envelope import (
    MESSAGES,
    MSG_REQUIRED,
    ApiError,
    _rollback,
    api_error_response,
    database_error_response,
    envelope,
    erp_error_response,
    is_api_request,
    request_id,
)
from .mixin import (
    ErpApiMixin,
)
from .model import READ_ENDPOINTS, ErpReadEndpoints

log = logging.getLogger(__name__)


# -- wiring -----------------------------------------------------------------------------------
_adopted: dict[type, type] = {}


def adopt_api_views(appbuilder: Any, app: Flask | None = None) -> list[str]:
    """Give every registered API view the platform's behaviour; returns the adopted names."""
    names = []
    for view in getattr(appbuilder, "baseviews", ()):
        if not isinstance(view, BaseApi) or isinstance(view, ErpApiMixin):
            continue
        cls = type(view)
        new = _adopted.get(cls)
        reads = _plain_reads(cls)
        if new is None:
            bases = (ErpApiMixin, ErpReadEndpoints, cls) if reads else (ErpApiMixin, cls)
            new = type(cls.__name__, bases,
                       {"__module__": cls.__module__, "__qualname__": cls.__qualname__})
            _adopted[cls] = new
        view.__class__ = new
        if reads:  # the routes were bound to FAB's methods when the view was registered
            _rebind_reads(app or getattr(appbuilder, "get_app", None), view)
        if isinstance(view, ModelRestApi):
            view._erp_harden_schemas()
            names.append(cls.__name__)
    return names


def _plain_reads(cls: type) -> bool:
    """A ``ModelRestApi`` that keeps FAB's three read endpoints as they are."""
    return issubclass(cls, ModelRestApi) and all(
        getattr(cls, name) is getattr(ModelRestApi, name) for name in READ_ENDPOINTS)


def _rebind_reads(app: Flask | None, view: Any) -> None:
    """Point the view's read routes at :class:`ErpReadEndpoints`' methods (``q`` validated
    by a validator built once, issue 11)."""
    blueprint = getattr(view, "blueprint", None)
    if app is None or blueprint is None:
        return
    for name in READ_ENDPOINTS:
        endpoint = f"{blueprint.name}.{name}"
        if endpoint in app.view_functions:
            app.view_functions[endpoint] = getattr(view, name)


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


def register_api_errors(app: Flask) -> None:
    """Install the envelope, the error handlers and the JWT callbacks on ``app``."""
    adopted = adopt_api_views(app.appbuilder, app)
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

