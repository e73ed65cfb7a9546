"""The credit score: :func:`compute_score`, :func:`recompute_score`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.services import audit
from core.tenancy import SYSTEM, use_scope

from ..models import BadRecord, CreditScore, Evaluation, Expert
from . import common
from .common import MODULE, TWO, band_of, setting


@dataclass
class ScoreResult:
    score: Decimal
    band: str
    base: Decimal
    penalty: Decimal
    evaluations: int


def compute_score(evals: Iterable[tuple[dt.date, Decimal]], bad: Iterable[tuple[dt.date, int]],
                  on: dt.date, *, window_days: int, half_life_days: int, initial: Decimal
                  ) -> tuple[Decimal, Decimal, Decimal, int]:
    """(score, base, penalty, n): the time-decayed weighted mean of the evaluation totals in
    the window ``(on - window_days, on]``, each weighted ``0.5 ** (age_days / half_life)``,
    minus the penalty points of the bad records in the window; clamped to [0, 100], two
    decimals, ROUND_HALF_UP. Without evaluations the base is ``initial``. Decimal only."""
    start = on - dt.timedelta(days=window_days)
    num = den = Decimal(0)
    n = 0
    half = Decimal(half_life_days)
    for d, total in evals:
        if start < d <= on:
            w = Decimal("0.5") ** (Decimal((on - d).days) / half)
            num += w * Decimal(total)
            den += w
            n += 1
    base = (num / den) if den else Decimal(initial)
    base = base.quantize(TWO, ROUND_HALF_UP)
    penalty = Decimal(sum(p for d, p in bad if start < d <= on)).quantize(TWO)
    score = min(max(base - penalty, Decimal(0)), Decimal(100)).quantize(TWO, ROUND_HALF_UP)
    return score, base, penalty, n


def recompute_score(session: Session, expert_id: int, *, on: dt.date | None = None,
                    cause: str | None = None) -> ScoreResult:
    on = on or common.today()
    session.flush()  # the user's own changes, checked against the user's regions
    # the score is a consequence the platform writes (the expert may belong to another
    # region than the evaluator): as the system
    with use_scope(SYSTEM):
        return _recompute(session, expert_id, on, cause)


def _recompute(session: Session, expert_id: int, on: dt.date, cause: str | None) -> ScoreResult:
    e = session.execute(select(Expert).where(Expert.id == expert_id)
                        .execution_options(erp_unscoped=True)).scalar_one()
    region = e.region_id
    evals = session.execute(select(Evaluation.review_date, Evaluation.total).where(
        Evaluation.expert_id == expert_id, Evaluation.status.in_(("submitted", "appealed", "decided")),
        Evaluation.total.isnot(None)).execution_options(erp_unscoped=True)).all()
    bads = [(d, setting(f"bad_{k}_penalty", region, session)) for d, k in session.execute(
        select(BadRecord.occurred_on, BadRecord.kind).where(BadRecord.expert_id == expert_id)
        .execution_options(erp_unscoped=True)).all()]
    score, base, penalty, n = compute_score(
        evals, bads, on, window_days=setting("score_window_days", region, session),
        half_life_days=setting("score_half_life_days", region, session),
        initial=setting("score_initial", region, session))
    band = band_of(score, session, region) if (n or penalty) else "new"
    old = (e.credit_score, e.credit_band)
    e.credit_score, e.credit_band = (score if (n or penalty) else None), band
    session.add(CreditScore(expert_id=expert_id, as_of=on, score=score, band=band, base=base,
                            penalty=penalty, evaluations=n, cause=cause, region_id=region))
    if old != (e.credit_score, e.credit_band):
        audit.record(session, action="update", object_type="ec_expert", object_id=expert_id,
                     before={"credit_score": old[0], "credit_band": old[1]},
                     after={"credit_score": e.credit_score, "credit_band": band}, reason=cause,
                     module=MODULE, region_id=region)
    session.flush()
    return ScoreResult(score, band, base, penalty, n)
