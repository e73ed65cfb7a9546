"""Workbench cards of ``supply_chain_finance``: an institution's applications waiting for its
decision (and those past its promised working days), a purchaser's repayment accounts to
confirm, a supplier's applications where the institution asked for more."""

from __future__ import annotations

from sqlalchemy import func, select

from addons.supply_chain_finance import services
from addons.supply_chain_finance.models import PENDING_STATES, AccountLock, Application
from core.workbench import CARDS, Card, WorkbenchContext


@CARDS.implement("supply_chain_finance")
def scf_cards(ctx: WorkbenchContext) -> list[Card]:
    session, cards = ctx.session, []

    def count(*where) -> int:
        return session.scalar(select(func.count()).select_from(Application).where(*where)) or 0

    if ctx.has_permission("can_decide", "ScfApplicationView"):
        today = services.today()
        cards.append(Card("待审批的融资申请", count(Application.status == "submitted"),
                          "/applicationview/list/?_flt_0_status=submitted", urgency="warning",
                          note="供应商已提交，等待贵机构决定", sequence=10))
        cards.append(Card("超过承诺时限未决", count(Application.status.in_(PENDING_STATES),
                                                   Application.decision_due < today),
                          "/applicationview/list/", urgency="danger", sequence=11))
        cards.append(Card("已批准待放款", count(Application.status == "approved"),
                          "/applicationview/list/?_flt_0_status=approved", sequence=12))
    if ctx.has_permission("can_confirm", "ScfAccountLockView"):
        n = session.scalar(select(func.count()).select_from(AccountLock).where(
            AccountLock.status == "pending")) or 0
        cards.append(Card("待确认的融资回款账户", n, "/accountlockview/list/?_flt_0_status=pending",
                          urgency="warning", note="确认后该合同只能向回款账户付款", sequence=20))
    if ctx.has_permission("can_apply", "ScfApplicationView"):
        cards.append(Card("机构要求补充材料", count(Application.status == "info_requested"),
                          "/applicationview/list/?_flt_0_status=info_requested", urgency="warning",
                          sequence=30))
    return cards
