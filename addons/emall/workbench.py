"""Workbench cards of ``emall`` (电子卖场).

* the e-mall institution (电子卖场管理): admissions and listings to review, open price alerts;
* a supplier: orders to confirm and to ship, price comparisons it may still quote in;
* a purchaser: orders to take delivery of, accept and pay, payments overdue, orders to rate,
  comparisons waiting for the award.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from addons.emall.models import (
    EmallAdmission,
    EmallComparison,
    EmallListing,
    EmallOrder,
    EmallPriceAlert,
    EmallQuote,
)
from core.models import Organization
from core.workbench import CARDS, Card, WorkbenchContext

#: FAB list filter "equal to" on a text column (``_flt_3_<column>=<value>``)
EQ = "_flt_3_"
MAX_OPEN_CHECKED = 500  # open comparisons checked for the supplier's qualification


def _today() -> dt.date:
    from addons.emall.services import today

    return today()


def _count(ctx: WorkbenchContext, model, *cond) -> int:
    return ctx.session.scalar(select(func.count(model.id)).where(*cond)) or 0


def _institution_cards(ctx: WorkbenchContext) -> list[Card]:
    cards = []
    if ctx.has_permission("can_transition", "EmallAdmission"):
        cards.append(Card("入驻申请待审核",
                          _count(ctx, EmallAdmission, EmallAdmission.status == "applied"),
                          f"/admissionview/list/?{EQ}status=applied", urgency="warning",
                          sequence=10))
    if ctx.has_permission("can_transition", "EmallListing") and ctx.actor != "supplier":
        cards.append(Card("商品挂网待审核", _count(ctx, EmallListing, EmallListing.status == "review"),
                          f"/listingview/list/?{EQ}status=review", urgency="warning", sequence=20))
    if ctx.has_permission("can_review", "EmallPriceAlert"):
        cards.append(Card("价格异常待复核",
                          _count(ctx, EmallPriceAlert, EmallPriceAlert.status == "open"),
                          f"/pricealertview/list/?{EQ}status=open", urgency="danger", sequence=30))
    return cards


def _quotes_due(ctx: WorkbenchContext) -> int:
    """Open comparisons the supplier is qualified for and has not quoted in yet. Every
    supplier may see every open comparison (the record rule), so this reads them with the
    explicit conditions below rather than through the supplier's rule."""
    from addons.emall.services import qualified_for
    from core.tenancy import SYSTEM, snapshot, use_scope

    now = dt.datetime.now()
    regions = sorted(snapshot().regions_enabling("emall"))
    with use_scope(SYSTEM):
        quoted = select(EmallQuote.comparison_id).where(EmallQuote.supplier_id == ctx.org_id)
        open_ = ctx.session.scalars(
            select(EmallComparison).where(EmallComparison.status == "open",
                                          EmallComparison.quote_deadline > now,
                                          EmallComparison.region_id.in_(regions),
                                          EmallComparison.id.not_in(quoted))
            .order_by(EmallComparison.quote_deadline).limit(MAX_OPEN_CHECKED)
        ).all()
        return sum(1 for comp in open_ if qualified_for(ctx.session, comp, ctx.org_id) is None)


def _supplier_cards(ctx: WorkbenchContext) -> list[Card]:
    if ctx.org_id is None or not ctx.has_permission("can_transition", "EmallOrder"):
        return []
    mine = EmallOrder.supplier_id == ctx.org_id
    cards = [
        Card("新订单待确认", _count(ctx, EmallOrder, mine, EmallOrder.status == "placed"),
             f"/orderview/list/?{EQ}status=placed", urgency="warning", sequence=40),
        Card("已确认待发货", _count(ctx, EmallOrder, mine, EmallOrder.status == "confirmed"),
             f"/orderview/list/?{EQ}status=confirmed", sequence=50),
    ]
    if ctx.has_permission("can_post", "EmallQuote"):
        cards.append(Card("可参与报价的竞价", _quotes_due(ctx),
                          f"/comparisonview/list/?{EQ}status=open", urgency="warning",
                          note="报价截止前提交", sequence=60))
    return cards


def _purchaser_cards(ctx: WorkbenchContext) -> list[Card]:
    if ctx.org_id is None or not ctx.has_permission("can_transition", "EmallOrder"):
        return []
    units = select(Organization.id).where(
        or_(Organization.id == ctx.org_id, Organization.parent_id == ctx.org_id))
    mine = EmallOrder.purchaser_id.in_(units)
    cards = [
        Card("已发货待确认送达", _count(ctx, EmallOrder, mine, EmallOrder.status == "shipped"),
             f"/orderview/list/?{EQ}status=shipped", sequence=40),
        Card("已送达待验收", _count(ctx, EmallOrder, mine, EmallOrder.status == "delivered"),
             f"/orderview/list/?{EQ}status=delivered", urgency="warning", sequence=50),
        Card("已验收待付款", _count(ctx, EmallOrder, mine, EmallOrder.status == "accepted"),
             f"/orderview/list/?{EQ}status=accepted", urgency="warning", sequence=60),
    ]
    # accepted and unpaid past the 付款期限 (FAB "smaller than" on a date: _flt_2_)
    today = _today()
    cards.append(Card("订单逾期未付款", _count(ctx, EmallOrder, mine, EmallOrder.status == "accepted",
                                          EmallOrder.payment_due < today),
                      f"/orderview/list/?{EQ}status=accepted&_flt_2_payment_due={today.isoformat()}",
                      urgency="danger", note="已验收、超过付款期限", sequence=55))
    if ctx.has_permission("can_rate", "EmallOrder"):
        from addons.emall.services.rating import unrated

        cards.append(Card("已验收待评价", _count(ctx, EmallOrder, mine, unrated()),
                          "/orderview/list/?em_todo=unrated", note="评价供应商的交货、质量和服务",
                          sequence=65))
    if ctx.has_permission("can_transition", "EmallComparison"):
        comp_mine = EmallComparison.purchaser_id.in_(units)
        cards.append(Card("竞价已截止待确定成交",
                          _count(ctx, EmallComparison, comp_mine, EmallComparison.status == "closed"),
                          f"/comparisonview/list/?{EQ}status=closed", urgency="warning",
                          sequence=70))
        cards.append(Card("报价中的竞价",
                          _count(ctx, EmallComparison, comp_mine, EmallComparison.status == "open"),
                          f"/comparisonview/list/?{EQ}status=open", sequence=80))
    return cards


@CARDS.implement("emall")
def emall_cards(ctx: WorkbenchContext) -> list[Card]:
    if ctx.actor == "supplier":
        return _supplier_cards(ctx)
    if ctx.actor == "purchaser":
        return _purchaser_cards(ctx)
    return _institution_cards(ctx)
