"""Workbench cards of ``sme_policy``: the competent unit's disclosure steps, draft projects the
set-aside rules would stop at publication, the supplier's bids without a 中小企业声明函, and
the finance bureau's units that have not published last year's disclosure."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from addons.procurement_base.models import Bid, Project
from core.workbench import CARDS, Card, WorkbenchContext

from . import disclosure, policy
from .models import Declaration, Disclosure

GROUP = "中小企业扶持"
LIST = "/smedisclosureview/list/?_flt_0_status="


@CARDS.implement(policy.MODULE)
def sme_cards(ctx: WorkbenchContext) -> list[Card]:
    session = ctx.session
    cards: list[Card] = []
    if ctx.actor == "purchaser" and ctx.has_permission("can_list", "SmeDisclosure"):
        def count(status: str) -> int:
            return session.scalar(select(func.count(Disclosure.id)).where(
                Disclosure.unit_id == ctx.org_id, Disclosure.status == status)) or 0

        cards += [
            Card("年度公开信息待复核", count("draft"), LIST + "draft", group=GROUP, sequence=10),
            Card("年度公开信息待签发", count("reviewed"), LIST + "reviewed", urgency="warning",
                 group=GROUP, sequence=20),
            Card("已签发待公开", count("signed"), LIST + "signed", urgency="warning", group=GROUP,
                 sequence=30),
        ]
    if ctx.actor in ("purchaser", "agency") and ctx.has_permission("can_list", "SmeProjectPolicy"):
        drafts = session.execute(select(Project).where(Project.status == "draft")).scalars().all()
        blocked = sum(1 for p in drafts if policy.publication_refusal(session, p))
        cards.append(Card("草稿项目的中小企业预留待处理", blocked, "/smeprojectpolicyview/list/",
                          urgency="warning", group=GROUP, sequence=40,
                          note="发布时将因预留比例不足或未填写理由被拒绝"))
    if ctx.actor == "supplier" and ctx.has_permission("can_add", "SmeDeclaration"):
        missing = session.scalar(select(func.count(Bid.id)).where(
            Bid.supplier_id == ctx.org_id, Bid.status == "submitted",
            Bid.id.not_in(select(Declaration.bid_id)))) or 0
        cards.append(Card("投标尚未出具中小企业声明函", missing, "/smedeclarationview/add",
                          group=GROUP, sequence=50, note="中小企业声明函是享受扶持政策的唯一证明"))
    if ctx.actor == "finance" and ctx.has_permission("can_read", "SmeDashboard"):
        year = dt.date.today().year - 1
        units = disclosure.unpublished_units(session, year, ctx.scope.region_ids)
        due = disclosure.due_date(session, year, ctx.scope.region_id)
        cards.append(Card(f"尚未公开 {year} 年度预留执行情况的单位", len(units), "/sme/dashboard/",
                          urgency="danger" if dt.date.today() > due else "warning",
                          group=GROUP, sequence=60, note=f"公开截止日 {due:%Y-%m-%d}"))
    return cards
