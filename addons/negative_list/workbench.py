"""Workbench cards of ``negative_list``: the publisher's findings to resolve before
publication, the supervisor's justifications to review, the province's rules whose findings
were mostly justified (candidates for the next revision of the list)."""

from __future__ import annotations

from sqlalchemy import func, select

from addons.negative_list.models import UNRESOLVED, NlFinding
from core.workbench import CARDS, Card, WorkbenchContext

LIST = "/nlfindingview/list/?_flt_3_status="


@CARDS.implement("negative_list")
def negative_list_cards(ctx: WorkbenchContext) -> list[Card]:
    cards: list[Card] = []

    def count(*cond) -> int:
        return ctx.session.scalar(select(func.count(NlFinding.id)).where(*cond)) or 0

    if ctx.has_permission("can_resolve", "NlFinding") and not ctx.is_admin:
        # the record rules limit the query to the projects of the user's own unit
        cards.append(Card("负面清单检查结果待处理", count(NlFinding.status.in_(UNRESOLVED)),
                          LIST + "open", urgency="warning",
                          note="修改条款或说明理由后才能发布公告", sequence=10))
    if ctx.has_permission("can_review", "NlFinding"):
        cards.append(Card("待审核的理由说明", count(NlFinding.status == "justified"),
                          LIST + "justified", sequence=20))
    if ctx.has_permission("can_list", "NlStats") and ctx.has_permission("can_add", "NlRule"):
        rows = ctx.session.execute(select(NlFinding.rule_code, func.count(NlFinding.id)).where(
            NlFinding.status.in_(("justified", "accepted"))).group_by(NlFinding.rule_code)).all()
        cards.append(Card("理由说明较多、待评估修订的规则", sum(1 for _, n in rows if n >= 2),
                          "/nl-stats/", note="同一规则有 2 条以上检查结果被说明理由", sequence=30))
    return cards
