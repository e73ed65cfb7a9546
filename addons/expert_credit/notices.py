"""Messages (站内消息) of the expert module: a drawn expert is told of the review task
(to accept or decline); the unit that must evaluate an expert's performance is told when
the evaluation falls due (``erp expert notify-evaluations``, daily). Each once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.messages import Message, notify
from core.tenancy import SYSTEM, use_scope

from .models import DrawRequest, Evaluation, Expert

#: an evaluation is announced this many days before its due date
EVALUATION_NOTICE_DAYS = 3


def experts_assigned(session: Session, req: DrawRequest, expert_ids: Iterable[int]) -> None:
    """Tell each drawn expert with a login about the review task."""
    with use_scope(SYSTEM):
        users = [u for u in session.execute(select(Expert.user_id).where(
            Expert.id.in_(sorted(set(expert_ids))), Expert.user_id.is_not(None))).scalars()]
    if not users:
        return
    place = f"，地点：{req.review_place}" if req.review_place else ""
    notify(session, user_ids=users, kind="expert.assigned",
           title=f"评审任务：{req.review_at:%Y-%m-%d %H:%M}",
           body=f"您被抽中参加 {req.review_at:%Y-%m-%d %H:%M} 的评审{place}。请在评审前确认接受或拒绝。",
           link="/assignmentview/list/")


def send_evaluation_notices(session: Session, on: dt.date | None = None) -> int:
    """Tell the evaluating units of pending evaluations due within
    :data:`EVALUATION_NOTICE_DAYS` or overdue (each evaluation once); the caller commits."""
    on = on or dt.date.today()
    sent = 0
    with use_scope(SYSTEM):
        rows = session.execute(select(Evaluation).where(
            Evaluation.status == "pending", Evaluation.evaluator_org_id.is_not(None),
            Evaluation.due_date <= on + dt.timedelta(days=EVALUATION_NOTICE_DAYS))).scalars().all()
        for ev in rows:
            link = f"/evaluationview/show/{ev.id}"
            if session.scalar(select(Message.id).where(
                    Message.kind == "expert.evaluation_due", Message.link == link).limit(1)):
                continue
            late = ev.due_date < on
            if notify(session, org_id=ev.evaluator_org_id, kind="expert.evaluation_due",
                      title=("专家履职评价已逾期" if late else "专家履职评价待填写")
                      + f"（{ev.review_date:%Y-%m-%d} 评审）",
                      body=f"请在 {ev.due_date:%Y-%m-%d} 前完成对评审专家的履职评价。", link=link):
                sent += 1
    return sent
