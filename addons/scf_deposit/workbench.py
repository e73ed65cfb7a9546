"""Workbench cards of ``scf_deposit``: an institution's guarantee requests to answer and claims
to pay, a beneficiary's guarantees to verify and claims waiting, a supplier's issued
guarantees to hand over (counts within the user's visibility)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.workbench import CARDS, Card, WorkbenchContext

from .models import Guarantee


@CARDS.implement("scf_deposit")
def scfd_cards(ctx: WorkbenchContext) -> list[Card]:
    session, cards = ctx.session, []

    def count(*where) -> int:
        return session.scalar(select(func.count()).select_from(Guarantee).where(*where)) or 0

    if ctx.has_permission("can_issue", "ScfGuaranteeView"):
        cards.append(Card("待出具的电子保函", count(Guarantee.status == "requested"),
                          "/guaranteeview/list/?_flt_0_status=requested", urgency="warning",
                          note="供应商已申请，请出函或说明理由", sequence=40))
        cards.append(Card("待赔付的保函索赔", count(Guarantee.status == "claimed"),
                          "/guaranteeview/list/?_flt_0_status=claimed", urgency="danger",
                          sequence=41))
    if ctx.has_permission("can_verify", "ScfGuaranteeView"):
        cards.append(Card("待验真的电子保函", count(Guarantee.status == "issued"),
                          "/guaranteeview/list/?_flt_0_status=issued", urgency="warning",
                          note="验真通过后作为保证金入账", sequence=42))
    if ctx.has_permission("can_request", "ScfGuaranteeView"):
        cards.append(Card("已出具待交验的保函", count(Guarantee.status == "issued"),
                          "/guaranteeview/list/?_flt_0_status=issued", sequence=43,
                          note="请将保函文件和验真码交收取单位"))
    return cards
