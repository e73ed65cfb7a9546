"""The e-mall's dashboards."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.services.money import to_money
from core.tenancy import Scope

from ..models import (
    ORDER_CHANNELS,
    ORDER_STATES,
    EmallCategory,
    EmallListing,
    EmallOrder,
    EmallOrderLine,
    EmallPriceAlert,
)
from .admission import admitted_supplier_ids
from .common import ZERO


def _month(d: dt.datetime | dt.date | None) -> str:
    return d.strftime("%Y-%m") if d else ""


def dashboard(session: Session, *, scope: Scope | None = None, months: int = 12) -> dict[str, Any]:
    """Figures for the user's dashboard (row scoping decides which orders count): orders by
    status, monthly turnover and orders, spend by category, active suppliers, open alerts."""
    rows = session.execute(select(EmallOrder.status, EmallOrder.amount, EmallOrder.placed_at,
                                  EmallOrder.supplier_id)).all()
    by_status = {k: 0 for k in ORDER_STATES}
    month_amount: dict[str, Decimal] = {}
    month_count: dict[str, int] = {}
    for status, amount, placed, _sup in rows:
        by_status[status] = by_status.get(status, 0) + 1
        if status != "cancelled":
            m = _month(placed)
            month_amount[m] = month_amount.get(m, ZERO) + amount
            month_count[m] = month_count.get(m, 0) + 1
    labels = sorted(month_amount)[-months:]
    if labels:  # a month without orders is shown as zero, never skipped
        from core.services.charts import fill_months

        labels = fill_months({}, labels[0], labels[-1])[0][-months:]
    spend = session.execute(select(EmallCategory.name, func.sum(EmallOrderLine.amount))
                            .join(EmallCategory, EmallCategory.id == EmallOrderLine.category_id)
                            .join(EmallOrder, EmallOrder.id == EmallOrderLine.order_id)
                            .where(EmallOrder.status != "cancelled")
                            .group_by(EmallCategory.name)
                            .order_by(func.sum(EmallOrderLine.amount).desc()).limit(10)).all()
    active = session.execute(select(func.count(func.distinct(EmallListing.supplier_id))).where(
        EmallListing.status == "listed",
        EmallListing.supplier_id.in_(admitted_supplier_ids(session)))).scalar_one()
    alerts = session.execute(select(EmallPriceAlert.kind, func.count()).where(
        EmallPriceAlert.status == "open").group_by(EmallPriceAlert.kind)).all()
    open_states = ("placed", "confirmed", "shipped", "delivered", "disputed")
    return {
        "orders_by_status": by_status,
        "open_orders": sum(by_status.get(s, 0) for s in open_states),
        "months": labels,
        "turnover": [to_money(month_amount.get(m, ZERO)) for m in labels],
        "orders": [month_count.get(m, 0) for m in labels],
        "spend_by_category": [(name, to_money(total or 0)) for name, total in spend],
        "active_suppliers": active,
        "open_alerts": {k: n for k, n in alerts},
        "total": to_money(sum((a for s, a, _p, _x in rows if s != "cancelled"), ZERO)),
    }


CHANNEL_LABELS = ORDER_CHANNELS
