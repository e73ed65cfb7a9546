"""Workbench cards of ``framework_agreement`` (框架协议采购).

* the collecting party: notices to publish (overdue in red), solicitations past their
  deadline waiting for the shortlist, shortlists waiting for signature, open-agreement
  applications to review; outside-purchase reports on its agreements (late ones in red);
* a supplier: solicitations open for responses, second competitions waiting for its bid;
* a purchaser: agreements it may call off, second competitions to award, deal notices to publish.
"""

from __future__ import annotations

from sqlalchemy import func, select

from core.workbench import CARDS, Card, WorkbenchContext

from .models import FaAgreement, FaBid, FaCallOff, FaNotice, FaOutside, FaResponse
from .services.common import MODULE, UNSCOPED, now, own_unit_ids

EQ = "_flt_3_"
GROUP = "框架协议采购"


def _count(ctx: WorkbenchContext, model, *cond, unscoped: bool = False) -> int:
    stmt = select(func.count(model.id)).where(*cond)
    if unscoped:
        return ctx.session.execute(stmt, execution_options=UNSCOPED).scalar() or 0
    return ctx.session.scalar(stmt) or 0


@CARDS.implement(MODULE)
def framework_cards(ctx: WorkbenchContext) -> list[Card]:
    cards: list[Card] = []
    at = now()
    if ctx.actor == "supplier":
        if ctx.has_permission("can_list", "FaAgreement"):
            n = _count(ctx, FaAgreement, FaAgreement.status == "published", FaAgreement.response_deadline > at)
            cards.append(Card("框架协议征集待响应", n, f"/faagreementview/list/?{EQ}status=published",
                              group=GROUP, sequence=10))
        if ctx.has_permission("can_list", "FaCallOff"):
            n = _count(ctx, FaBid, FaBid.supplier_id == ctx.org_id, FaBid.unit_price.is_(None),
                       FaBid.calloff_id.in_(select(FaCallOff.id).where(FaCallOff.status == "competing",
                                                                       FaCallOff.bid_deadline > at)),
                       unscoped=True)
            cards.append(Card("二次竞价待报价", n, f"/facalloffview/list/?{EQ}status=competing", urgency="warning",
                              group=GROUP, sequence=20))
        return cards
    units = own_unit_ids(ctx.session, ctx.org_id)
    if ctx.has_permission("can_transition", "FaNotice"):
        drafts = list(ctx.session.execute(select(FaNotice.due_date).where(FaNotice.status == "draft")).scalars())
        overdue = sum(1 for d in drafts if d is not None and d < ctx.today)
        cards.append(Card("框架协议公告待发布", len(drafts), f"/fanoticeview/list/?{EQ}status=draft",
                          urgency="danger" if overdue else "warning",
                          note=f"{overdue} 个已超过发布期限" if overdue else "按法定期限发布", group=GROUP, sequence=10))
    if ctx.has_permission("can_transition", "FaAgreement") and (ctx.is_admin or units):
        own = FaAgreement.collector_id.in_(units) if not ctx.is_admin else FaAgreement.id.isnot(None)
        n = _count(ctx, FaAgreement, own, FaAgreement.status == "published", FaAgreement.response_deadline <= at)
        cards.append(Card("征集已截止待确定入围", n, f"/faagreementview/list/?{EQ}status=published",
                          urgency="warning", group=GROUP, sequence=20))
        n = _count(ctx, FaAgreement, own, FaAgreement.status == "evaluated")
        cards.append(Card("入围已确定待签订协议", n, f"/faagreementview/list/?{EQ}status=evaluated",
                          note="入围结果确定后 30 日内签订", group=GROUP, sequence=30))
        mine = FaOutside.agreement_id.in_(select(FaAgreement.id).where(own))
        n = _count(ctx, FaOutside, mine, unscoped=True)
        late = _count(ctx, FaOutside, mine, FaOutside.late.is_(True), unscoped=True)
        cards.append(Card("协议外采购报告", n, "/faoutsideview/list/", urgency="danger" if late else "info",
                          note=f"{late} 份逾期报告" if late else "采购人有更低价格证明的协议外采购",
                          group=GROUP, sequence=45))
        n = _count(ctx, FaResponse, FaResponse.status == "applied")
        cards.append(Card("开放式协议加入申请待审核", n, f"/faresponseview/list/?{EQ}status=applied",
                          group=GROUP, sequence=40))
    if ctx.actor == "purchaser" and ctx.has_permission("can_list", "FaCallOff"):
        from .services.calloffs import available

        cards.append(Card("可用的框架协议", len(available(ctx.session, ctx.scope)), "/fa/buy/",
                          group=GROUP, sequence=50))
        n = _count(ctx, FaCallOff, FaCallOff.status == "competing")
        cards.append(Card("二次竞价待确定成交", n, f"/facalloffview/list/?{EQ}status=competing",
                          urgency="warning", group=GROUP, sequence=60))
    return cards
