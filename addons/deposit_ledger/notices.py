"""Messages (站内消息) about deposits that must be refunded: due within the due-soon window
(setting ``deposit.due_soon_days``, working days) and overdue. Sent to the users of the unit
holding the deposit (the purchaser or agency that must refund it), once per deposit and kind;
run daily by ``erp deposit notify-due`` (cron / the task queue)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.messages import Message, notify
from core.services.money import fmt_yuan
from core.tenancy import SYSTEM, use_scope

from . import services


def _sent(session: Session, kind: str, link: str) -> bool:
    return session.scalar(select(Message.id).where(Message.kind == kind, Message.link == link)
                          .limit(1)) is not None


def send_due_notices(session: Session, on: dt.date | None = None) -> dict[str, int]:
    """Tell the holders of deposits due soon and overdue (each deposit once per kind);
    returns how many deposits were announced per kind. The caller commits."""
    counts = {"deposit.due_soon": 0, "deposit.overdue": 0}
    with use_scope(SYSTEM):
        on, until = services.due_window(session, None, on)
        for which, kind in (("today", "deposit.due_soon"), ("soon", "deposit.due_soon"),
                            ("overdue", "deposit.overdue")):
            for dep in session.execute(services.due_query(which, on, until)).scalars():
                link = f"/depositview/show/{dep.id}"
                if _sent(session, kind, link):
                    continue
                if kind == "deposit.overdue":
                    title = f"保证金逾期未退：{dep.number}"
                    body = (f"保证金 {dep.number}（{fmt_yuan(dep.amount)}）应于 "
                            f"{dep.due_date:%Y-%m-%d} 前退还，已逾期，请尽快退还并支付资金占用费。")
                else:
                    title = f"保证金即将到期：{dep.number}"
                    body = (f"保证金 {dep.number}（{fmt_yuan(dep.amount)}）应于 "
                            f"{dep.due_date:%Y-%m-%d} 前退还。")
                if notify(session, org_id=dep.holder_id, kind=kind, title=title, body=body,
                          link=link):
                    counts[kind] += 1
    return counts

