"""The application factory: ``core.app:create_app``."""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from flask_appbuilder import AppBuilder
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import NotFound

from core.addons.registry import AddonRegistry
from core.addons.web import ErpMenu, ErpState, ModuleCache, register_addons
from core.api import register_api_errors
from core.db import db
from core.state import get_state, installer_for  # noqa: F401  (their home before core.state)

log = logging.getLogger(__name__)
CORE_DIR = Path(__file__).resolve().parent


class ConfigError(RuntimeError):
    """A setting that prevents the platform from starting."""


def load_config(app: Flask, config: dict[str, Any] | None) -> None:
    app.config.from_object("config.default")
    settings_file = os.environ.get("ERP_CONFIG")
    if settings_file:
        path = Path(settings_file).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"ERP_CONFIG points to {path}, which does not exist")
        app.config.from_pyfile(str(path))
    env = os.environ
    if env.get("ERP_DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = env["ERP_DATABASE_URL"]
    if env.get("ERP_SECRET_KEY"):
        app.config["SECRET_KEY"] = env["ERP_SECRET_KEY"]
    if env.get("ERP_ENV"):
        app.config["ERP_ENV"] = env["ERP_ENV"]
    if env.get("ERP_JOBS_BROKER"):
        app.config["ERP_JOBS_BROKER"] = env["ERP_JOBS_BROKER"]
    if env.get("ERP_ADDONS_PATH"):
        app.config["ERP_ADDONS_PATH"] = [p for p in env["ERP_ADDONS_PATH"].split(os.pathsep) if p]
    if config:
        app.config.update(config)
    check_env_and_key(app.config)
    validator = app.config.get("FAB_PASSWORD_COMPLEXITY_VALIDATOR")
    if isinstance(validator, str):  # "module.function" in a settings file
        module, _, name = validator.rpartition(".")
        app.config["FAB_PASSWORD_COMPLEXITY_VALIDATOR"] = getattr(
            importlib.import_module(module), name)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:///:memory:"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


#: the accepted spellings of ERP_ENV (exactly these, lower case)
ERP_ENVS = ("development", "production")
#: bytes a production secret key must have at least
MIN_SECRET_KEY_BYTES = 32


def check_env_and_key(config: Any) -> None:
    """Refuse an unknown ``ERP_ENV`` and, in production, a short or default secret key."""
    env = config.get("ERP_ENV")
    if env not in ERP_ENVS:
        raise ConfigError(
            f"ERP_ENV={env!r} is not a known environment: use exactly one of "
            + ", ".join(ERP_ENVS) + " (lower case; no abbreviations such as 'prod')"
        )
    if env != "production":
        return
    key = config.get("SECRET_KEY") or ""
    size = len(key.encode() if isinstance(key, str) else key)
    hint = ("set ERP_SECRET_KEY (e.g. export ERP_SECRET_KEY=\"$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')\") or SECRET_KEY in the ERP_CONFIG file")
    if not key or key == config.get("DEFAULT_SECRET_KEY"):
        raise ConfigError(
            f"refusing to start in production with the default secret key: {hint}"
        )
    if size < MIN_SECRET_KEY_BYTES:
        raise ConfigError(
            f"refusing to start in production with a secret key of {size} bytes: it must have "
            f"at least {MIN_SECRET_KEY_BYTES}; {hint}"
        )


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(CORE_DIR / "templates"),
        static_folder=str(CORE_DIR / "static"),
        static_url_path="/erp-static",
    )
    load_config(app, config)

    registry = AddonRegistry(
        app.config.get("ERP_ADDONS_PATH") or (),
        use_entry_points=app.config.get("ERP_ADDONS_ENTRY_POINTS", True),
    )
    registry.import_all()

    proxies = int(app.config.get("ERP_PROXY_COUNT") or 0)
    if proxies > 0:  # the client address from X-Forwarded-For, as many hops as proxies
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    from core.db import set_sqlite_busy_timeout

    set_sqlite_busy_timeout(float(app.config.get("ERP_SQLITE_BUSY_TIMEOUT", 10)))
    db.init_app(app)
    CSRFProtect(app)
    state = ErpState(
        registry=registry,
        cache=ModuleCache(lambda: db.engine, float(app.config["ERP_STATE_POLL_SECONDS"])),
    )
    app.extensions["erp"] = state

    import core.messages  # noqa: F401  (the message table belongs to the core schema)
    from core.views.workbench import WorkbenchIndexView

    with app.app_context():
        appbuilder = AppBuilder(update_perms=False, menu=ErpMenu(), indexview=WorkbenchIndexView)
        appbuilder.init_app(app, db.session)
        menu: ErpMenu = appbuilder.menu
        state.menu = menu
        menu.is_visible = state.is_active  # type: ignore[method-assign]

        from core.views.modules import register_core_views

        register_core_views(appbuilder)
        from core.views.workbench import register_workbench_views

        register_workbench_views(appbuilder)
        register_addons(appbuilder, state)
        from core.jobs import load_declarations

        load_declarations(state)

    from core import tenancy

    tenancy.validate_record_rules()
    state.activity_checks.append(tenancy.module_allowed_for_request)

    @app.errorhandler(tenancy.ScopeViolation)
    def _scope_violation(exc: tenancy.ScopeViolation):
        db.session.rollback()
        if request.path.startswith("/api/"):
            return jsonify({"status": 403, "message": {exc.field: [exc.message]}}), 403
        from flask import flash, redirect

        flash(exc.message, "danger")
        return redirect(request.referrer or "/")

    @app.before_request
    def _gate_modules() -> None:
        module = state.blueprint_module.get(request.blueprint or "")
        if module is not None and not state.is_active(module):
            if state.is_installed(module):
                from core.views.errors import ModuleNotEnabled

                raise ModuleNotEnabled()
            raise NotFound()

    from core.web_security import register_security_headers

    register_security_headers(app)
    _register_login_limit_answer(app)
    from core.api.conformance import register_spec_fixes

    register_spec_fixes(app)

    if app.config.get("ERP_WORKER_HEADER"):
        pid = str(os.getpid())

        @app.after_request
        def _worker_header(resp):
            resp.headers["X-ERP-Worker"] = pid
            return resp

    from core.views.errors import register_error_pages

    register_error_pages(app)

    register_api_errors(app)
    # ``flask --app core.app erp ...``: the ``erp`` group joins ``flask`` through the
    # ``flask.commands`` entry point (setup.cfg), so the app factory never imports the CLI
    return app


def _register_login_limit_answer(app: Flask) -> None:
    """429 for a locked login: the JSON envelope (API) or the Chinese page, with Retry-After."""
    from core.security import LoginLocked

    @app.errorhandler(LoginLocked)
    def _locked(exc: LoginLocked):
        db.session.rollback()
        headers = {"Retry-After": str(exc.retry_after)}
        if request.path.startswith("/api/"):
            from core.api import envelope

            return envelope(429, exc.description, "rate_limited", headers=headers)
        from core.views.errors import error_page

        html, status = error_page(429)
        html = html.replace(  # the page says how long to wait
            "请稍候几分钟再试。", f"{exc.description}。") if isinstance(html, str) else html
        return html, status, headers
