"""The running platform's state and installer, for code that must not import the app
factory (``core.cli``, the module and tenant pages): ``core.app`` builds the state,
everything else reads it here, so the import graph has no cycle."""

from __future__ import annotations

from flask import Flask, current_app

from core.addons.installer import Installer
from core.addons.web import ErpState
from core.db import db

__all__ = ["get_state", "installer_for"]


def get_state(app: Flask | None = None) -> ErpState:
    return (app or current_app).extensions["erp"]


def installer_for(app: Flask | None = None) -> Installer:
    """The platform installer wired to this app's engine, views and worker cache."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    from flask import has_request_context

    if has_request_context():
        # SQLite: a writing request's session holds the write lock (core.db); the installer
        # works on its own connection, so end the session's (unchanged) transaction first
        db.session.rollback()
    with app.app_context():
        engine = db.engine
    return Installer(
        engine,
        state.registry,
        module_pairs=state.pairs,
        core_pairs=state.core_pairs,
        admin_role=app.config["AUTH_ROLE_ADMIN"],
        on_change=state.cache.invalidate,
        lock_timeout=float(app.config.get("ERP_INSTALLER_LOCK_TIMEOUT", 30)),
        statement_timeout=float(app.config.get("ERP_INSTALLER_STATEMENT_TIMEOUT", 900)),
    )
