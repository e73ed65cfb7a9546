"""Workbench card of ``scf_emall``: an institution's new flow-credit consents (active, no line
recorded yet)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.workbench import CARDS, Card, WorkbenchContext

from .models import Consent


@CARDS.implement("scf_emall")
def scfe_cards(ctx: WorkbenchContext) -> list[Card]:
    if not ctx.has_permission("can_decide", "ScfEmallConsentView"):
        return []
    n = ctx.session.scalar(select(func.count()).select_from(Consent).where(
        Consent.status == "active", Consent.line_amount.is_(None))) or 0
    return [Card("新的流水信用授权", n, "/scf/emall/bank/", urgency="warning",
                 note="供应商已授权查看电子卖场交易流水，尚未记录授信额度", sequence=15)]
