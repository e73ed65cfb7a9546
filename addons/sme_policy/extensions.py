"""What ``sme_policy`` plugs into (imported with the package at boot):

* procurement_base's :data:`PROJECT_GUARDS`: the set-aside check at publication and the
  three-SME-bids check at bid opening;
* procurement_base's :data:`BID_PRICE_ADJUSTMENTS`: the small-and-micro price deduction the
  evaluation applies;
* the periodic job reminding competent units of the disclosure due on 31 March.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.services import (
    BID_PRICE_ADJUSTMENTS,
    PROJECT_GUARDS,
    PriceAdjustment,
)
from core.jobs import periodic
from core.messages import Message, notify
from core.services import settings

from . import disclosure, policy
from .policy import MODULE


@PROJECT_GUARDS.implement(MODULE)
def set_aside_guard(session: Session, project: Any, transition: str) -> str | None:
    if transition == "publish":
        return policy.publication_refusal(session, project)
    if transition == "open_bidding":
        return policy.opening_refusal(session, project)
    return None


@BID_PRICE_ADJUSTMENTS.implement(MODULE)
def small_micro_deduction(session: Session, bid: Any) -> PriceAdjustment | None:
    found = policy.deduction_for(session, bid)
    if found is None:
        return None
    rate, reason = found
    return PriceAdjustment(rate=rate, reason=reason, module=MODULE)


def _sent(session: Session, kind: str, link: str, org_id: int) -> bool:
    return session.scalar(select(Message.id).where(
        Message.kind == kind, Message.link == link, Message.org_id == org_id).limit(1)) is not None


def send_reminders(session: Session, today: dt.date | None = None) -> int:
    """Remind every competent unit whose disclosure of last year is not published: once when
    the reminder window opens (``sme.reminder_days`` before the due date) and once when it
    is overdue. Idempotent (one message per unit, year and kind)."""
    today = today or dt.date.today()
    year = today.year - 1
    sent = 0
    for unit, where in disclosure.unpublished_units(session, year):
        due = disclosure.due_date(session, year, unit.region_id)
        days = settings.get("sme.reminder_days", unit.region_id, session=session)
        if today < due - dt.timedelta(days=days):
            continue
        overdue = today > due
        kind = "sme.disclosure_overdue" if overdue else "sme.disclosure_due"
        link = f"/smedisclosureview/list/?_flt_0_year={year}"
        if _sent(session, kind, link, unit.id):
            continue
        if overdue:
            title = f"{year} 年度中小企业预留执行情况逾期未公开"
            body = (f"{unit.name}：{year} 年度中小企业预留项目执行情况应于 {due:%Y-%m-%d} 前公开，"
                    f"目前状态：{where}。请尽快生成、复核、签发并公开。")
        else:
            title = f"请于 {due:%Y-%m-%d} 前公开 {year} 年度中小企业预留执行情况"
            body = (f"{unit.name}：{year} 年度中小企业预留项目执行情况须于 {due:%Y-%m-%d} 前公开，"
                    f"目前状态：{where}。")
        if notify(session, org_id=unit.id, kind=kind, title=title, body=body, link=link):
            sent += 1
    return sent


@periodic("sme_policy.disclosure_reminders", module=MODULE, at="08:00",
          doc="提醒尚未公开上年度中小企业预留执行情况的主管预算单位（截止日前及逾期各一次）")
def disclosure_reminders(session: Session) -> int:
    return send_reminders(session)
