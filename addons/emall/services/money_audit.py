"""Audit of money: one audit record per listing created, re-priced or deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.services import audit

from ..models import EmallListing
from .common import MODULE

#: money columns audited on every create, change and delete (orders and quotes are audited
#: when written by the services above; their amounts never change afterwards)
MONEY_FIELDS: dict[type, tuple[str, ...]] = {EmallListing: ("price", "reference_price")}


def audit_listing_prices(session: Session, flush_context: Any) -> None:
    """``after_flush``: one audit record per listing created, re-priced or deleted."""
    touched = [o for o in (*session.new, *session.dirty, *session.deleted) if type(o) in MONEY_FIELDS]
    if not touched:
        return
    from sqlalchemy import inspect as sa_inspect

    conn = session.connection()
    for obj in touched:
        keys = MONEY_FIELDS[type(obj)]
        state = sa_inspect(obj)
        ident = {"supplier_id": obj.supplier_id, "brand": obj.brand, "model": obj.model}
        if obj in session.new:
            audit.record(conn, action="create", object_type=obj.__tablename__, object_id=obj.id,
                         after={**ident, **{k: getattr(obj, k) for k in keys}}, module=MODULE)
        elif obj in session.deleted:
            audit.record(conn, action="delete", object_type=obj.__tablename__, object_id=obj.id,
                         before={**ident, **{k: getattr(obj, k) for k in keys}}, module=MODULE)
        else:
            before, after = {}, {}
            for k in keys:
                hist = state.attrs[k].history
                old = hist.deleted[0] if hist.deleted else None
                new = hist.added[0] if hist.added else None
                if hist.added and hist.deleted and old != new:
                    before[k], after[k] = old, new
            if after:
                audit.record(conn, action="update", object_type=obj.__tablename__, object_id=obj.id,
                             before={**ident, **before}, after={**ident, **after}, module=MODULE)


def _install_listeners() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "after_flush", audit_listing_prices):
        event.listen(Session, "after_flush", audit_listing_prices)


_install_listeners()
