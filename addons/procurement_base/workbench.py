"""Workbench cards of ``procurement_base``: the purchaser's and the agency's projects that
wait for their next step (publish, open bids, award, sign the contract); the purchaser's
payment plan lines past their date and not paid (合同款逾期未付)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select

from addons.procurement_base.models import Project
from core.workbench import CARDS, Card, WorkbenchContext

LIST = "/projectview/list/?_flt_3_status="


@CARDS.implement("procurement_base")
def project_cards(ctx: WorkbenchContext) -> list[Card]:
    if ctx.actor not in ("purchaser", "agency") or not ctx.has_permission("can_list", "PbProject"):
        return []
    own = or_(Project.purchaser_id == ctx.org_id, Project.agency_id == ctx.org_id)

    def count(*cond) -> int:
        return ctx.session.scalar(select(func.count(Project.id)).where(own, *cond)) or 0

    now = dt.datetime.now()
    cards = []
    if ctx.actor == "purchaser" and ctx.has_permission("can_list", "PbPaymentPlan"):
        from addons.procurement_base.services import overdue_plans

        cards.append(Card("合同款逾期未付", len(overdue_plans(ctx.session)), "/paymentplanview/list/",
                          urgency="danger", note="付款计划已到期、尚未付清", sequence=50))
    return cards + [
        Card("草稿项目待发布公告", count(Project.status == "draft"), LIST + "draft", sequence=10),
        Card("投标截止待开标", count(Project.status == "published", Project.bid_deadline <= now),
             LIST + "published", urgency="warning", note="投标截止时间已过", sequence=20),
        Card("已评审待确定中标", count(Project.status == "evaluated"), LIST + "evaluated",
             sequence=30),
        Card("已中标待签订合同", count(Project.status == "awarded"), LIST + "awarded",
             urgency="warning", sequence=40),
    ]
