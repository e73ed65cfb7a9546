"""The ledger is insert-only (ORM guard; database triggers in the migration) and every
deposit and entry is audited: session listeners, installed on import."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from core.services import audit

from ..models import (
    Deposit,
    DepositEntry,
)
from .common import MODULE, LedgerImmutableError


# -- the ledger is insert-only -----------------------------------------------------------------------
def _guard_ledger(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, DepositEntry):
            raise LedgerImmutableError("保证金台账分录不可删除，更正请做冲销分录")
    for obj in session.dirty:
        if isinstance(obj, DepositEntry) and session.is_modified(obj, include_collections=False):
            raise LedgerImmutableError("保证金台账分录不可修改，更正请做冲销分录")


def _guard_bulk(state: Any) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None and \
            state.bind_mapper.class_ is DepositEntry:
        raise LedgerImmutableError("保证金台账分录不可修改或删除，更正请做冲销分录")


# -- audit: every deposit and entry -------------------------------------------------------------------
AUDITED = ("amount", "trigger", "trigger_date", "due_date", "supplier_fault",
           "supplier_fault_reason", "payer_account")


def _audit(session: Session, flush_context: Any) -> None:
    new = [o for o in session.new if isinstance(o, (Deposit, DepositEntry))]
    dirty = [o for o in session.dirty if isinstance(o, Deposit)]
    if not new and not dirty:
        return
    from sqlalchemy import inspect

    conn = session.connection()
    for obj in new:
        if isinstance(obj, DepositEntry):
            after = audit.row_dict(obj, ["deposit_id", "kind", "reversed_kind", "amount",
                                         "entry_date", "payee_account", "bank_reference",
                                         "voucher_no", "reason_id", "reverses_id",
                                         "linked_entry_id", "late_fee", "overdue_days"])
            audit.record(conn, action="create", object_type="dl_entry", object_id=obj.id,
                         after=after, module=MODULE, region_id=obj.region_id)
        else:
            after = audit.row_dict(obj, ["number", "kind", "project_id", "supplier_id", "form",
                                         "amount", "received_date", "status", *AUDITED[1:]])
            audit.record(conn, action="create", object_type="dl_deposit", object_id=obj.id,
                         after=after, module=MODULE, region_id=obj.region_id)
    for obj in dirty:
        state = inspect(obj)
        before, after = {}, {}
        for key in AUDITED:
            hist = state.attrs[key].history
            if hist.added or hist.deleted:
                old = hist.deleted[0] if hist.deleted else None
                new_ = hist.added[0] if hist.added else None
                if old != new_:
                    before[key], after[key] = old, new_
        if before or after:
            audit.record(conn, action="update", object_type="dl_deposit", object_id=obj.id,
                         before=before, after=after, module=MODULE, region_id=obj.region_id)


def _install_listeners() -> None:
    if not event.contains(Session, "before_flush", _guard_ledger):
        event.listen(Session, "before_flush", _guard_ledger)
    if not event.contains(Session, "do_orm_execute", _guard_bulk):
        event.listen(Session, "do_orm_execute", _guard_bulk)
    if not event.contains(Session, "after_flush", _audit):
        event.listen(Session, "after_flush", _audit)


_install_listeners()

