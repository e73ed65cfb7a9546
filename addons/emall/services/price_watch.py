"""Price monitoring: listings above their reference, order prices that are outliers in their
category (median / MAD), in a review queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.services import RuleError
from core.services import audit, settings
from core.services.money import fmt_yuan, to_money
from core.tenancy import SYSTEM, Scope, use_scope

from ..models import EmallListing, EmallOrder, EmallOrderLine, EmallPriceAlert
from . import notices
from .common import MODULE, ConflictError, _actor_scope, _privileged, _text, now, today


def scan_prices(session: Session) -> dict[str, int]:
    """Add alerts (once per listing / order line) for listed listings priced above their
    reference and for order prices that are outliers in their category: robust z-score
    0.6745 × (price − median) / MAD over the category's order unit prices (pandas)."""
    import pandas as pd

    stamp = now()
    known = {(k, lst, ln) for k, lst, ln in session.execute(
        select(EmallPriceAlert.kind, EmallPriceAlert.listing_id, EmallPriceAlert.order_line_id))}
    added = {"above_reference": 0, "order_outlier": 0}
    for x in session.execute(select(EmallListing).where(
            EmallListing.status == "listed", EmallListing.price > EmallListing.reference_price)).scalars():
        if ("above_reference", x.id, 0) in known:
            continue
        session.add(EmallPriceAlert(kind="above_reference", listing_id=x.id, order_line_id=0,
                                    category_id=x.category_id, supplier_id=x.supplier_id,
                                    price=x.price, reference_price=x.reference_price,
                                    detail=f"挂网价格 {fmt_yuan(x.price)} 高于参考价 {fmt_yuan(x.reference_price)}",
                                    detected_at=stamp))
        added["above_reference"] += 1
    with use_scope(SYSTEM):
        rows = session.execute(select(
            EmallOrderLine.id, EmallOrderLine.listing_id, EmallOrderLine.category_id,
            EmallOrderLine.supplier_id, EmallOrderLine.unit_price, EmallOrderLine.reference_price)
            .join(EmallOrder, EmallOrder.id == EmallOrderLine.order_id)
            .where(EmallOrder.status != "cancelled")).all()
    if rows:
        df = pd.DataFrame(rows, columns=["line", "listing", "category", "supplier", "price", "ref"])
        df["p"] = df["price"].map(float)  # statistics only; stored amounts stay Decimal
        least = settings.get("emall.outlier_min_samples", session=session)
        threshold = float(settings.get("emall.outlier_threshold", session=session))
        grp = df.groupby("category")["p"]
        df["n"] = grp.transform("size")
        df["median"] = grp.transform("median")
        df["mad"] = (df["p"] - df["median"]).abs().groupby(df["category"]).transform("median")
        df = df[(df["n"] >= least) & (df["mad"] > 0)]
        df = df.assign(z=0.6745 * (df["p"] - df["median"]) / df["mad"])
        for r in df[df["z"].abs() > threshold].itertuples():
            if ("order_outlier", int(r.listing), int(r.line)) in known:
                continue
            median = to_money(Decimal(str(round(r.median, 2))))
            session.add(EmallPriceAlert(
                kind="order_outlier", listing_id=int(r.listing), order_line_id=int(r.line),
                category_id=int(r.category), supplier_id=int(r.supplier), price=r.price,
                reference_price=r.ref, median_price=median, score=f"{r.z:.2f}",
                detail=(f"成交单价 {fmt_yuan(r.price)}，同类中位数 {fmt_yuan(median)}，"
                        f"稳健 Z 分数 {r.z:.2f}（阈值 {threshold:g}，样本 {int(r.n)} 笔）"),
                detected_at=stamp))
            added["order_outlier"] += 1
    session.flush()
    return added


def review_alert(session: Session, alert: EmallPriceAlert, decision: str, note: str | None, *,
                 scope: Scope | None = None, actor: Any = None) -> None:
    scope = _actor_scope(scope)
    if not _privileged(scope, session) and scope.actor not in ("finance",):
        raise RuleError({"status": ["只有集中采购机构（电子卖场管理）可以复核价格异常"]})
    if decision not in ("confirmed", "dismissed"):
        raise RuleError({"decision": ["复核结论只能是确认异常（confirmed）或无异常（dismissed）"]})
    if not _text(note):
        raise RuleError({"note": ["请填写复核意见"]})
    if alert.status != "open":
        raise ConflictError({"status": ["该价格异常已复核"]})
    alert.status = decision
    alert.review_note = _text(note)
    alert.reviewed_at = now()
    alert.reviewed_by = audit.resolve_actor(actor)[0]
    audit.record(session, action=f"review:{decision}", object_type="emall_price_alert",
                 object_id=alert.id, before={"state": "open"}, after={"state": decision},
                 module=MODULE, reason=alert.review_note, actor=actor)
    session.flush()
    if decision == "confirmed":
        notices.price_anomaly_confirmed(session, alert)


#: a price correction is due at most this many days after the review
MAX_CORRECTION_DAYS = 60


def resolve_alert(session: Session, alert: EmallPriceAlert, measure: str, note: str | None, *,
                  correct_by: dt.date | None = None, scope: Scope | None = None,
                  actor: Any = None) -> None:
    """The institution's review of a price alert, with its measure (audited, supplier told):

    * ``dismiss`` — no anomaly;
    * ``delist`` — anomaly confirmed, the listing leaves the catalog at once;
    * ``correct`` — anomaly confirmed, the supplier must correct the price by ``correct_by``
      (after today, at most :data:`MAX_CORRECTION_DAYS` days); a listing still above the
      alert's price after that day is delisted by :func:`enforce_price_corrections`.
    """
    from .listings import transition_listing

    scope = _actor_scope(scope)
    if not _privileged(scope, session):
        raise RuleError({"status": ["只有集中采购机构（电子卖场管理）可以复核价格异常"]})
    if measure not in ("dismiss", "delist", "correct"):
        raise RuleError({"measure": ["处理措施只能是无异常、下架或限期改价"]})
    errors: dict[str, list[str]] = {}
    if not _text(note):
        errors["note"] = ["请填写复核意见"]
    if measure == "correct":
        if not isinstance(correct_by, dt.date):
            errors["correct_by"] = ["请填写改价截止日期"]
        elif correct_by <= today():
            errors["correct_by"] = ["改价截止日期须晚于今天"]
        elif correct_by > today() + dt.timedelta(days=MAX_CORRECTION_DAYS):
            errors["correct_by"] = [f"改价截止日期不得晚于 {MAX_CORRECTION_DAYS} 天后"]
    if errors:
        raise RuleError(errors)
    if alert.status != "open":
        raise ConflictError({"status": ["该价格异常已复核"]})
    decision = "dismissed" if measure == "dismiss" else "confirmed"
    alert.status = decision
    alert.measure = None if measure == "dismiss" else measure
    alert.correct_by = correct_by if measure == "correct" else None
    alert.review_note = _text(note)
    alert.reviewed_at = now()
    alert.reviewed_by = audit.resolve_actor(actor)[0]
    audit.record(session, action=f"review:{decision}", object_type="emall_price_alert",
                 object_id=alert.id, before={"state": "open"},
                 after={"state": decision, "measure": alert.measure,
                        "correct_by": correct_by.isoformat() if alert.correct_by else None},
                 module=MODULE, reason=alert.review_note, actor=actor)
    session.flush()
    if measure == "dismiss":
        return
    listing = session.get(EmallListing, alert.listing_id)
    if measure == "delist" and listing is not None and listing.status in ("listed", "review"):
        transition_listing(session, listing, "delist", reason=f"价格异常：{alert.review_note}",
                           scope=scope, actor=actor)
    notices.price_anomaly_confirmed(session, alert)


def enforce_price_corrections(session: Session, on: dt.date | None = None) -> list[int]:
    """Delist the listings whose price correction is overdue (confirmed ``correct`` alerts
    whose ``correct_by`` has passed while the listing is still listed at or above the
    alert's price). Idempotent; returns the listing ids delisted (for a periodic job)."""
    from .listings import transition_listing

    on = on or today()
    done = []
    with use_scope(SYSTEM):
        due = session.execute(select(EmallPriceAlert).where(
            EmallPriceAlert.status == "confirmed", EmallPriceAlert.measure == "correct",
            EmallPriceAlert.correct_by < on)).scalars().all()
        for alert in due:
            listing = session.get(EmallListing, alert.listing_id)
            if listing is None or listing.status != "listed" or listing.price < alert.price:
                continue
            transition_listing(session, listing, "delist", scope=SYSTEM,
                               reason=f"逾期未按价格监测要求改价（限 {alert.correct_by:%Y-%m-%d} 前）")
            done.append(listing.id)
    return done
