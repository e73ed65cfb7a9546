"""The expert pool's periodic job (run by the platform's job runner, ``erp worker``; by
hand: ``erp jobs run expert_credit.notify_evaluations`` or ``erp expert notify-evaluations``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.jobs import periodic


@periodic("expert_credit.notify_evaluations", module="expert_credit", at="07:40",
          doc="向评价单位发送专家履职评价即将到期、已逾期的站内消息（每项一次）")
def notify_evaluations(session: Session) -> int:
    from .notices import send_evaluation_notices

    return send_evaluation_notices(session)
