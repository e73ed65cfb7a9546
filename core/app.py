"""The application factory: ``core.app:create_app``."""

from __future__ import annotations

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
    if env.get("ERP_ADDONS_PATH"):
        app.config["ERP_ADDONS_PATH"] = [p for p in env["ERP_ADDONS_PATH"].split(os.pathsep) if p]
    if config:
        app.config.update(config)
    if app.config["ERP_ENV"] == "production" and (
        not app.config.get("SECRET_KEY")
        or app.config["SECRET_KEY"] == app.config["DEFAULT_SECRET_KEY"]
    ):
        raise ConfigError(
            "refusing to start in production with the default secret key: set ERP_SECRET_KEY "
            "(e.g. export ERP_SECRET_KEY=\"$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')\") or SECRET_KEY in the ERP_CONFIG file"
        )
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:///:memory:"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


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

    if app.config.get("ERP_WORKER_HEADER"):
        pid = str(os.getpid())

        @app.after_request
        def _worker_header(resp):
            resp.headers["X-ERP-Worker"] = pid
            return resp

    from core.views.errors import register_error_pages

    register_error_pages(app)

    register_api_errors(app)
    from core.cli import erp as erp_group

    app.cli.add_command(erp_group, "erp")
    return app


def get_state(app: Flask | None = None) -> ErpState:
    from flask import current_app

    return (app or current_app).extensions["erp"]


def installer_for(app: Flask | None = None):
    """The platform installer wired to this app's engine, views and worker cache."""
    from flask import current_app

    from core.addons.installer import Installer

    app = app or current_app
    state = get_state(app)
    with app.app_context():
        engine = db.engine
    return Installer(
        engine,
        state.registry,
        module_pairs=state.pairs,
        core_pairs=state.core_pairs,
        admin_role=app.config["AUTH_ROLE_ADMIN"],
        on_change=state.cache.invalidate,
    )
