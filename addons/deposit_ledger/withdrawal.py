"""A withdrawn bid starts its deposit's refund clock (issue 12 finding 14).

``procurement_base`` announces a bid withdrawn in writing before the deadline
(:data:`addons.procurement_base.services.BID_WITHDRAWN`); the held bid deposits of that
supplier on that package get the refund trigger 投标截止前书面撤回投标 dated the withdrawal,
through :func:`services.record_trigger`, so the due date (87号令第三十八条: five working days
after the written notice is received, ``deposit.refund_days_withdrawal``) and the audit are
exactly those of a trigger recorded by hand.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.services import BID_WITHDRAWN
from core.tenancy import SYSTEM, use_scope

from . import services
from .models import Deposit


@BID_WITHDRAWN.implement(services.MODULE)
def start_refund_clock(session: Session, bid: Any) -> list[Deposit]:
    """Record the withdrawal trigger on the bid's held bid deposits; the deposits changed.

    The supplier withdrawing may not edit deposits itself; the trigger is the ledger's
    consequence of the bid record, so it is recorded with the ledger's own authority (the
    request's user still signs the audit entries)."""
    on = bid.withdrawn_at.date() if bid.withdrawn_at is not None else services.today()
    changed = []
    with use_scope(SYSTEM):
        ids = session.execute(select(Deposit.id).where(
            Deposit.kind == "bid", Deposit.status == "held",
            Deposit.supplier_id == bid.supplier_id, Deposit.package_id == bid.package_id,
        ).order_by(Deposit.id).execution_options(erp_unscoped=True)).scalars().all()
        for deposit_id in ids:
            changed.append(services.record_trigger(session, deposit_id, trigger="withdrawal",
                                                   on=on, scope=SYSTEM))
    return changed
