"""Workbench cards of ``notice_hub``: a publisher's drafts waiting for review (those past their
legal deadline apart), a supervisor's deadline list (due, overdue, published late), an
admin's dead letters."""

from __future__ import annotations

from sqlalchemy import func, select

from addons.notice_hub import services
from addons.notice_hub.models import Notice, NoticeOutbox
from core.workbench import CARDS, Card, WorkbenchContext


@CARDS.implement("notice_hub")
def notice_cards(ctx: WorkbenchContext) -> list[Card]:
    session, cards = ctx.session, []
    on = services.today()
    if ctx.has_permission("can_publish", "NoticeView"):
        def mine(*where) -> int:
            q = select(func.count()).select_from(Notice).where(Notice.status == "draft", *where)
            return session.scalar(q) or 0

        cards.append(Card("待审核发布的公告", mine(), "/noticeview/list/?_flt_0_status=draft",
                          urgency="warning", note="各模块提交的公告草稿，审核后发布", sequence=10))
        cards.append(Card("已逾期未发布的公告", mine(Notice.due_date < on), "/notices/deadlines/?state=overdue",
                          urgency="danger", note="已过法定发布期限", sequence=11))
    elif ctx.has_permission("can_index", "NoticeDeadlineView"):
        counts = services.deadline_counts(session, on)
        cards.append(Card("公告即将到期", counts["due"], "/notices/deadlines/?state=due",
                          urgency="warning", sequence=10))
        cards.append(Card("公告已逾期未发布", counts["overdue"], "/notices/deadlines/?state=overdue",
                          urgency="danger", sequence=11))
        cards.append(Card("公告逾期发布", counts["late"], "/notices/deadlines/?state=late",
                          note="按工作日计算的延误见清单", sequence=12))
    if ctx.has_permission("can_resend", "NoticeOutboxView"):
        n = session.scalar(select(func.count()).select_from(NoticeOutbox).where(
            NoticeOutbox.status == "failed")) or 0
        cards.append(Card("推送失败的公告（死信）", n, "/noticeoutboxview/list/?_flt_0_status=failed",
                          urgency="danger", note="查看接收方应答后重新发送", sequence=20))
    return cards
