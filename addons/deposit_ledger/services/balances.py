"""Balances of a deposit, the LPR late-refund fee (87号令 art. 38) and refund-due dates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from addons.procurement_base.models import Contract
from addons.procurement_base.services import (
    RuleError,
    today,
)
from core.services import settings, workdays
from core.services.calendar import CalendarNotCovered
from core.services.money import to_money

from ..models import (
    Deposit,
    DepositEntry,
    LprRate,
)
from .common import FEN, REFUND_DAYS, ZERO


# -- balances ---------------------------------------------------------------------------------------
@dataclass
class Balances:
    received: Decimal = ZERO
    refunded: Decimal = ZERO
    forfeited: Decimal = ZERO
    remitted: Decimal = ZERO
    converted: Decimal = ZERO

    @property
    def held(self) -> Decimal:
        """在管余额 = received - refunded - forfeited - converted."""
        return self.received - self.refunded - self.forfeited - self.converted

    @property
    def unremitted(self) -> Decimal:
        """已不予退还、尚未上缴的金额."""
        return self.forfeited - self.remitted

    def as_dict(self) -> dict[str, Decimal]:
        return {"received": self.received, "refunded": self.refunded, "forfeited": self.forfeited,
                "remitted": self.remitted, "converted": self.converted, "held": self.held,
                "unremitted": self.unremitted}


#: balance bucket of each entry kind
BUCKET = {"receipt": "received", "conversion_in": "received", "refund": "refunded",
          "forfeiture": "forfeited", "remittance": "remitted", "conversion_out": "converted"}


def balances(session: Session, deposit_id: int) -> Balances:
    """The deposit's balances, summed from its ledger (a reversal subtracts from the bucket
    of the entry it reverses)."""
    E = DepositEntry
    kind = case((E.kind == "reversal", E.reversed_kind), else_=E.kind)
    sign = case((E.kind == "reversal", -1), else_=1)
    rows = session.execute(
        select(kind, func.sum(E.amount * sign)).where(E.deposit_id == deposit_id).group_by(kind)
    ).all()
    b = Balances()
    for k, total in rows:
        bucket = BUCKET.get(k)
        if bucket:
            setattr(b, bucket, getattr(b, bucket) + to_money(total, strict=False))
    return b


def live_entries(session: Session, deposit_id: int) -> list[DepositEntry]:
    """Entries not reversed and not reversals themselves, oldest first."""
    E = DepositEntry
    reversed_ids = select(E.reverses_id).where(E.reverses_id.is_not(None))
    return list(session.execute(
        select(E).where(E.deposit_id == deposit_id, E.kind != "reversal",
                        E.id.not_in(reversed_ids)).order_by(E.id)).scalars())


# -- LPR and the late fee ----------------------------------------------------------------------------
def lpr_periods(session: Session) -> list[tuple[dt.date, Decimal]]:
    """(effective date, one-year LPR in per cent), oldest first."""
    return [(d, Decimal(r)) for d, r in session.execute(
        select(LprRate.effective_date, LprRate.rate_percent).order_by(LprRate.effective_date))]


@dataclass
class LateFee:
    fee: Decimal
    days: int
    segments: list[dict[str, Any]] = field(default_factory=list)


def late_fee(session: Session, principal: Decimal, due_date: dt.date | None,
             paid_date: dt.date, *, region_id: int | None = None,
             periods: list[tuple[dt.date, Decimal]] | None = None) -> LateFee:
    """资金占用费 for a refund made on ``paid_date`` that was due on ``due_date``.

    fee = principal x sum over the overdue days d of (LPR in force on d x markup) / basis,
    the overdue days being ``due_date`` + 1 .. ``paid_date`` (calendar days). Each LPR
    applies to its own days when the rate changed in the period; the sum is rounded once,
    ROUND_HALF_UP to fen.
    """
    if due_date is None or paid_date <= due_date:
        return LateFee(ZERO, 0)
    markup = settings.get("deposit.late_fee_markup", region_id=region_id, session=session)
    basis = settings.get("deposit.day_count_basis", region_id=region_id, session=session)
    periods = periods if periods is not None else lpr_periods(session)
    first = due_date + dt.timedelta(days=1)
    if not periods or periods[0][0] > first:
        raise RuleError({"entry_date": [
            f"LPR利率表缺少 {first.isoformat()} 适用的一年期LPR，请先在“LPR利率表”中补录"]})
    segments, total_rate_days = [], Decimal(0)
    for i, (start, rate) in enumerate(periods):
        end = periods[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(periods) else paid_date
        lo, hi = max(start, first), min(end, paid_date)
        if lo > hi:
            continue
        days = (hi - lo).days + 1
        total_rate_days += rate * days
        segments.append({"from": lo, "to": hi, "days": days, "lpr": rate,
                         "rate": (rate * markup).normalize()})
    fee = (to_money(principal) * total_rate_days * markup / Decimal(100) / Decimal(basis)
           ).quantize(FEN, rounding=ROUND_HALF_UP)
    return LateFee(fee, (paid_date - due_date).days, segments)


def accrued_late_fee(session: Session, dep: Deposit, on: dt.date | None = None
                     ) -> tuple[Decimal, int] | None:
    """The late fee (资金占用费) accrued on a held, overdue money deposit up to ``on``
    (today): ``(fee, overdue days)``; the fee is zero when the delay is the supplier's own
    fault; None when none can accrue (not held, no due date, a guarantee). Raises a
    RuleError when the LPR table lacks a rate for the period."""
    if dep.status != "held" or dep.due_date is None or dep.form == "guarantee":
        return None
    fee = late_fee(session, balances(session, dep.id).held, dep.due_date, on or today(),
                   region_id=dep.region_id)
    return (ZERO if dep.supplier_fault else fee.fee), fee.days


# -- due dates --------------------------------------------------------------------------------------
def refund_days(session: Session, trigger: str, region_id: int | None) -> int:
    return settings.get(REFUND_DAYS[trigger][0], region_id=region_id, session=session)


def compute_due(session: Session, dep: Deposit) -> dt.date | None:
    """Refund-due date: the N-th working day after the trigger date (the trigger day is not
    counted; weekends and official holidays skipped, make-up working days counted)."""
    if not dep.trigger or dep.trigger_date is None:
        return None
    n = refund_days(session, dep.trigger, dep.region_id)
    try:
        return workdays.add_working_days(dep.trigger_date, n, session)
    except CalendarNotCovered as exc:
        raise RuleError({"trigger_date": [str(exc)]}) from None


def suggested_trigger(session: Session, dep: Deposit) -> tuple[str | None, dt.date | None]:
    """The trigger the procurement records already show (for forms and the demo): the
    award notice for a losing bid, contract signing for the winner, termination."""
    project = dep.project
    if project is None:
        return None, None
    if dep.kind == "bid":
        if project.status in ("terminated", "failed"):
            return "termination", None
        bid = dep.bid
        if bid is not None and bid.status == "lost" and project.award_date:
            return "award_notice", project.award_date
        if bid is not None and bid.status == "withdrawn":
            return "withdrawal", None
        if bid is not None and bid.status == "won":
            signed = session.execute(select(func.min(Contract.signed_date)).where(
                Contract.package_id == bid.package_id, Contract.supplier_id == bid.supplier_id,
                Contract.signed_date.is_not(None))).scalar()
            if signed:
                return "contract_signed", signed
    return None, None

