"""An audit record for every change of money (budgets, prices, amounts, payments)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from core.services import audit

from ..models import Bid, Contract, Package, Payment, PaymentPlan, Project
from .common import MODULE

#: the money columns of each model; every create, delete and change of them is audited
MONEY_FIELDS: Mapping[type, tuple[str, ...]] = {
    Project: ("budget", "sme_reserved_amount"),
    Package: ("budget",),
    Bid: ("price",),
    Contract: ("amount",),
    PaymentPlan: ("amount",),
    Payment: ("amount",),
}
#: identifying columns stored with the money values
AUDIT_KEYS: Mapping[type, tuple[str, ...]] = {
    Project: ("number",),
    Package: ("project_id", "number"),
    Bid: ("package_id", "supplier_id"),
    Contract: ("number", "supplier_id"),
    PaymentPlan: ("contract_id", "seq", "due_date"),
    Payment: ("contract_id", "paid_date", "reference"),
}


def _audit_values(obj: Any, keys: Iterable[str]) -> dict[str, Any]:
    state = inspect(obj)
    return {k: state.dict.get(k) for k in keys}


def _money_history(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before, after = {}, {}
    for key in MONEY_FIELDS[type(obj)]:
        hist = state.attrs[key].history
        if hist.added or hist.deleted:
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                before[key], after[key] = old, new
    return before, after


def audit_money_changes(session: Session, flush_context: Any) -> None:
    """``after_flush``: one audit record per created, deleted or re-priced money record."""
    if not any(type(o) in MONEY_FIELDS for o in (*session.new, *session.dirty, *session.deleted)):
        return
    conn = session.connection()
    for obj in list(session.new):
        if type(obj) in MONEY_FIELDS:
            values = _audit_values(obj, (*AUDIT_KEYS[type(obj)], *MONEY_FIELDS[type(obj)]))
            audit.record(conn, action="create", object_type=obj.__tablename__, object_id=obj.id,
                         after=values, module=MODULE, region_id=obj.region_id)
    for obj in list(session.dirty):
        if type(obj) in MONEY_FIELDS and session.is_modified(obj, include_collections=False):
            before, after = _money_history(obj)
            if before or after:
                keys = _audit_values(obj, AUDIT_KEYS[type(obj)])
                audit.record(conn, action="update", object_type=obj.__tablename__, object_id=obj.id,
                             before={**keys, **before}, after={**keys, **after}, module=MODULE,
                             region_id=obj.region_id)
    for obj in list(session.deleted):
        if type(obj) in MONEY_FIELDS:
            values = _audit_values(obj, (*AUDIT_KEYS[type(obj)], *MONEY_FIELDS[type(obj)]))
            audit.record(conn, action="delete", object_type=obj.__tablename__, object_id=obj.id,
                         before=values, module=MODULE, region_id=obj.region_id)


def _install_listeners() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "after_flush", audit_money_changes):
        event.listen(Session, "after_flush", audit_money_changes)


_install_listeners()
