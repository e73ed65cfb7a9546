"""Exports of the e-mall (导出): the order list as xlsx with words, not codes
(:mod:`core.services.export`), over the list page's current filters and the user's scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from core.services.export import ColumnSpec, xlsx_response_iter

from ..models import ORDER_CHANNELS, ORDER_STATES

ORDER_COLUMNS = [
    ColumnSpec("number", "订单号", width=26),
    ColumnSpec("region", "所在地区"),
    ColumnSpec("purchaser", "采购人", width=28),
    ColumnSpec("supplier", "供应商", width=28),
    ColumnSpec("channel", "下单渠道"),
    ColumnSpec("items", "商品", width=40),
    ColumnSpec("amount", "订单金额（元）", "money"),
    ColumnSpec("status", "状态"),
    ColumnSpec("placed_at", "下单时间", "datetime"),
    ColumnSpec("accepted_on", "验收日期", "date"),
    ColumnSpec("payment_due", "付款期限", "date"),
    ColumnSpec("paid_on", "付款日期", "date"),
    ColumnSpec("contract", "合同编号"),
]


def order_rows(query: Any) -> Iterable[dict[str, Any]]:
    for o in query.yield_per(500):
        yield {
            "number": o.number,
            "region": o.region.name if o.region else "",
            "purchaser": o.purchaser.name if o.purchaser else "",
            "supplier": o.supplier.name if o.supplier else "",
            "channel": ORDER_CHANNELS.get(o.channel, o.channel),
            "items": "；".join(f"{ln.name}×{ln.quantity}" for ln in o.lines),
            "amount": o.amount,
            "status": ORDER_STATES.get(o.status, o.status),
            "placed_at": o.placed_at,
            "accepted_on": o.accepted_on,
            "payment_due": o.payment_due,
            "paid_on": o.paid_on,
            "contract": o.contract.number if o.contract else "",
        }


def order_xlsx(query: Any) -> tuple[Any, str]:
    """(streamed body, file name) of the order list."""
    body = xlsx_response_iter(order_rows(query), ORDER_COLUMNS, sheet_name="电子卖场订单",
                              title="电子卖场订单一览表")
    return body, f"电子卖场订单_{dt.date.today():%Y%m%d}.xlsx"
