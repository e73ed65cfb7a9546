"""Workbench cards of ``expert_credit`` (评审专家与信用评价): review tasks the expert must
accept or decline, evaluations the purchaser or agency must fill in (due soon / overdue),
appeals the expert-pool manager must decide, open draw requests; and the expert's real name
in the navbar (from the linked expert profile)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from addons.expert_credit.models import Assignment, DrawRequest, Evaluation, Expert
from core.workbench import CARDS, DISPLAY_NAME, Card, WorkbenchContext

DUE_SOON_DAYS = 3  # calendar days: an evaluation is filled in within days of the review


def _count(ctx: WorkbenchContext, model, *cond) -> int:
    return ctx.session.scalar(select(func.count(model.id)).where(*cond)) or 0


@CARDS.implement("expert_credit")
def expert_cards(ctx: WorkbenchContext) -> list[Card]:
    cards: list[Card] = []
    if ctx.actor == "expert" and ctx.has_permission("can_respond", "EcAssignment"):
        # the record rule limits the query to the expert's own assignments
        cards.append(Card("待确认的评审任务", _count(ctx, Assignment, Assignment.status == "drawn",
                                                      Assignment.review_date >= ctx.today),
                          "/assignmentview/list/", urgency="warning",
                          note="请在评审前接受或拒绝", sequence=10))
    if ctx.has_permission("can_evaluate", "EcEvaluation"):
        own = [] if ctx.is_admin or ctx.org_id is None else [Evaluation.evaluator_org_id == ctx.org_id]
        pending = [Evaluation.status == "pending", *own]
        cards.append(Card("履职评价已逾期", _count(ctx, Evaluation, *pending,
                                                   Evaluation.due_date < ctx.today),
                          "/evaluationview/list/", urgency="danger", sequence=20))
        soon = ctx.today + dt.timedelta(days=DUE_SOON_DAYS)
        cards.append(Card("履职评价待填写", _count(ctx, Evaluation, *pending,
                                                   Evaluation.due_date >= ctx.today,
                                                   Evaluation.due_date <= soon),
                          "/evaluationview/list/", urgency="warning",
                          note=f"{DUE_SOON_DAYS} 日内到期", sequence=30))
    if ctx.has_permission("can_decide", "EcEvaluation"):
        cards.append(Card("待处理的评价申诉", _count(ctx, Evaluation, Evaluation.status == "appealed"),
                          "/evaluationview/list/", sequence=40))
    if ctx.has_permission("can_draw", "EcDrawRequest"):
        cards.append(Card("待抽取的抽取申请", _count(ctx, DrawRequest, DrawRequest.status == "open"),
                          "/drawrequestview/list/", sequence=50))
    return cards


@DISPLAY_NAME.implement("expert_credit")
def expert_name(session, user) -> str | None:
    """The linked expert's name (the expert login is named after its profile)."""
    user_id = getattr(user, "id", None)
    if user_id is None:
        return None
    from core.tenancy import SYSTEM, use_scope

    with use_scope(SYSTEM):
        return session.scalar(select(Expert.name).where(Expert.user_id == user_id))
