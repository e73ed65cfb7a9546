"""The deposit ledger's periodic job (run by the platform's job runner, ``erp worker``;
by hand: ``erp jobs run deposit_ledger.notify_due`` or ``erp deposit notify-due``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.jobs import periodic


@periodic("deposit_ledger.notify_due", module="deposit_ledger", at="07:30",
          doc="向收取单位发送保证金即将到期、逾期未退的站内消息（每笔每类一次）")
def notify_due(session: Session) -> int:
    from .notices import send_due_notices

    return sum(send_due_notices(session).values())
