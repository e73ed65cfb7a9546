"""Workbench cards of ``deposit_ledger``: held deposits due within the due-soon window
(setting ``deposit.due_soon_days``, in working days) and those already overdue."""

from __future__ import annotations

from sqlalchemy import func, select

from addons.deposit_ledger import services
from core.workbench import CARDS, Card, WorkbenchContext


@CARDS.implement("deposit_ledger")
def deposit_cards(ctx: WorkbenchContext) -> list[Card]:
    if not ctx.has_permission("can_read", "DlDue"):
        return []
    on, until = services.due_window(ctx.session, ctx.scope.region_id)

    def count(which: str) -> int:
        sub = services.due_query(which, on, until).order_by(None).subquery()
        return ctx.session.scalar(select(func.count()).select_from(sub)) or 0

    return [
        Card("保证金逾期未退", count("overdue"), "/deposit/due/#due-overdue", urgency="danger",
             note="已超过退还期限，须支付资金占用费", sequence=10),
        Card("保证金今日到期", count("today"), "/deposit/due/#due-today", urgency="warning",
             sequence=20),
        Card("保证金即将到期", count("soon"), "/deposit/due/#due-soon", urgency="warning",
             note=f"{until.isoformat()} 前到期", sequence=30),
    ]
