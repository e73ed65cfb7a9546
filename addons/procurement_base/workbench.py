"""Workbench cards of ``procurement_base``: the purchaser's and the agency's projects that
wait for their next step (publish, open bids, award, sign the contract)."""

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
    return [
        Card("草稿项目待发布公告", count(Project.status == "draft"), LIST + "draft", sequence=10),
        Card("投标截止待开标", count(Project.status == "published", Project.bid_deadline <= now),
             LIST + "published", urgency="warning", note="投标截止时间已过", sequence=20),
        Card("已评审待确定中标", count(Project.status == "evaluated"), LIST + "evaluated",
             sequence=30),
        Card("已中标待签订合同", count(Project.status == "awarded"), LIST + "awarded",
             urgency="warning", sequence=40),
    ]
