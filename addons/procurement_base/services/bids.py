"""Withdrawing a bid (撤回投标): the supplier withdraws its own bid in writing before the bid
deadline (《招标投标法》第二十九条；《政府采购货物和服务招标投标管理办法》（财政部令第87号）
第三十四条). The bid becomes 已撤回 with the moment and the written notice recorded, one audit
entry is written, and :data:`BID_WITHDRAWN` tells the modules that care (the deposit ledger
starts the bid deposit's refund clock: 87号令第三十八条, five working days after the
written withdrawal notice is received)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.errors import ForbiddenError
from core.hooks import Hook
from core.services import audit

from ..models import BID_STATES, PROJECT_STATES, Bid
from .common import CST, MODULE, RuleError, _fmt_date

#: longest written withdrawal notice kept with the bid
NOTICE_MAX = 2000

BID_WITHDRAWN: Hook[Any] = Hook(
    "procurement_base.bid_withdrawn",
    doc="fn(session, bid) -> None: a bid was withdrawn in writing before the deadline "
        "(bid.withdrawn_at, bid.withdrawal_notice are set; same transaction; raise "
        "core.errors.ErpError to refuse the withdrawal)",
)


#: extension point: price adjustments of a bid's evaluated price (评审价格扣除), which the
#: evaluation (later e-bidding) applies through :func:`evaluated_price`; e.g. ``sme_policy``:
#: the 10–20 % deduction for small and micro firms (财库〔2022〕19号)
BID_PRICE_ADJUSTMENTS: Hook[Any] = Hook(
    "procurement_base.bid_price_adjustments",
    doc="fn(session, bid) -> PriceAdjustment | None: a deduction (per cent of the bid price) "
        "the evaluation applies to the bid's evaluated price, with the reason shown to the "
        "committee; read-only.",
)


@dataclass(frozen=True)
class PriceAdjustment:
    """A deduction of ``rate`` per cent from a bid's price for evaluation, and why."""

    rate: Decimal
    reason: str
    module: str = ""


def evaluated_price(session: Session, bid: Bid) -> tuple[Decimal, list[PriceAdjustment]]:
    """The price the evaluation compares (评审价格): the bid price less the deductions of
    :data:`BID_PRICE_ADJUSTMENTS` (rates add up, never beyond 100 %), to the fen."""
    adjustments = [a for a in BID_PRICE_ADJUSTMENTS.call(bid.region_id, session, bid) if a]
    rate = min(sum((a.rate for a in adjustments), Decimal("0")), Decimal("100"))
    price = (bid.price * (Decimal("100") - rate) / Decimal("100")).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)
    return price, adjustments


def now_cst() -> dt.datetime:
    """The current moment in Beijing time, naive (how bid times are stored)."""
    return dt.datetime.now(CST).replace(tzinfo=None)


def withdrawal_refusal(bid: Bid, when: dt.datetime | None = None) -> str | None:
    """Why ``bid`` cannot be withdrawn now (None: it can), whoever asks."""
    if bid.status != "submitted":
        return f"投标状态为“{BID_STATES.get(bid.status, bid.status)}”，只有已投标的投标可以撤回"
    project = bid.project or (bid.package.project if bid.package is not None else None)
    if project is None:
        return "投标未关联采购项目，不能撤回"
    if project.status != "published":
        return (f"项目状态为“{PROJECT_STATES.get(project.status, project.status)}”，"
                "只能在投标截止前撤回投标")
    when = when or now_cst()
    if project.bid_deadline is not None and when >= project.bid_deadline:
        return f"已过投标截止时间（{_fmt_date(project.bid_deadline)}），不能撤回投标"
    return None


def may_withdraw(bid: Bid, actor_org_id: int | None) -> bool:
    """Only the bid's own supplier withdraws it."""
    return actor_org_id is not None and bid.supplier_id == actor_org_id


def withdraw_bid(session: Session, bid: Bid, notice: str | None, *, actor_org_id: int | None,
                 when: dt.datetime | None = None) -> Bid:
    """Withdraw ``bid`` for its supplier ``actor_org_id`` with the written ``notice``.

    Raises :class:`ForbiddenError` for anyone but the bid's supplier, :class:`RuleError`
    (field ``notice``) without a notice, and ``RuleError`` when the bid is not 已投标 or the
    deadline has passed; nothing is changed then. Flushes; the caller commits."""
    if not may_withdraw(bid, actor_org_id):
        raise ForbiddenError("只有投标供应商本单位可以撤回其投标")
    text = (notice or "").strip()
    if not text:
        raise RuleError({"notice": ["请填写书面撤回通知"]})
    if len(text) > NOTICE_MAX:
        raise RuleError({"notice": [f"书面撤回通知不能超过 {NOTICE_MAX} 个字符"]})
    when = when or now_cst()
    refusal = withdrawal_refusal(bid, when)
    if refusal is not None:
        raise RuleError(refusal)
    bid.status = "withdrawn"
    bid.withdrawn_at = when.replace(microsecond=0)
    bid.withdrawal_notice = text
    audit.record(session, action="transition:withdraw", object_type="pb_bid", object_id=bid.id,
                 before={"state": "submitted"},
                 after={"state": "withdrawn", "withdrawn_at": bid.withdrawn_at.isoformat(" "),
                        "withdrawal_notice": text},
                 module=MODULE, region_id=bid.region_id)
    session.flush()
    BID_WITHDRAWN.call(bid.region_id, session, bid)
    return bid
