"""Workbench cards of ``scf_advance``: a purchaser's policies to verify and advances to pay,
a supplier's advances waiting for its policy."""

from __future__ import annotations

from sqlalchemy import func, select

from core.workbench import CARDS, Card, WorkbenchContext

from .models import Advance


@CARDS.implement("scf_advance")
def scfa_cards(ctx: WorkbenchContext) -> list[Card]:
    session, cards = ctx.session, []

    def count(status: str) -> int:
        return session.scalar(select(func.count()).select_from(Advance).where(
            Advance.status == status)) or 0

    if ctx.has_permission("can_manage", "ScfAdvanceView"):
        cards.append(Card("待验真的预付款保单", count("presented"),
                          "/advanceview/list/?_flt_0_status=presented", urgency="warning",
                          sequence=50))
        cards.append(Card("待支付的预付款", count("verified"),
                          "/advanceview/list/?_flt_0_status=verified", sequence=51))
    if ctx.has_permission("can_present", "ScfAdvanceView"):
        cards.append(Card("待提交预付款保单", count("agreed"),
                          "/advanceview/list/?_flt_0_status=agreed", urgency="warning",
                          note="采购人已约定预付款，请投保并提交保单", sequence=52))
    return cards
