"""Base classes and helpers of module pages (``core.views.ErpModelView``).

This module also maps :mod:`core.errors` for pages (:func:`page_error_response`, installed
as the app-level handler for non-API requests by :func:`core.api.register_api_errors`).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import redirect, request

from core.errors import ErpError, ForbiddenError, NotFoundError, flash_error

log = logging.getLogger(__name__)


def _rollback() -> None:
    from core.db import db

    try:
        db.session.rollback()
    except Exception:  # pragma: no cover - a broken connection
        log.warning("rollback after a page error failed", exc_info=True)


def safe_referrer() -> str | None:
    """The referring page if it is on this host (a redirect target), else None."""
    ref = request.referrer
    if not ref:
        return None
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path or "/"
    return path + (f"?{parts.query}" if parts.query else "")


def page_error_response(exc: ErpError) -> Any:
    """A page's answer to an :class:`ErpError` that escaped its handler: rolled back; 404 and
    403 as error pages; otherwise the messages flashed on the page the user came from
    (a GET without a referrer: the error page of its status)."""
    from core.views.errors import error_page

    _rollback()
    if isinstance(exc, NotFoundError):
        return error_page(404)
    if isinstance(exc, ForbiddenError) and request.method == "GET":
        return error_page(403)
    back = safe_referrer()
    if request.method != "GET" and back:
        flash_error(exc)
        return redirect(back)
    if request.method != "GET":
        flash_error(exc)
        return redirect("/")
    flash_error(exc)
    return error_page(exc.status if 400 <= exc.status < 600 else 422)
