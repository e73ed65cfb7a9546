"""Price monitoring: listings above their reference, order prices that are outliers in their
category (median / MAD), in a review queue."""

from __future__ import annotations

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
from .common import MODULE, ConflictError, _actor_scope, _privileged, _text, now


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
