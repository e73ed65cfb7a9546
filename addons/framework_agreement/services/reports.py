"""The report of one agreement: usage per supplier and per purchaser, savings against the
ceiling prices (Σ (ceiling − deal price) × quantity), a chart and an Excel workbook."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from core.models import Organization
from core.services.charts import bar_chart
from core.services.export import ColumnSpec, XlsxSheet, write_workbook
from core.services.money import to_money

from ..models import FaAgreement, FaCallOff, FaLine
from .calloffs import ledger
from .common import UNSCOPED, ZERO


def _usage(session: Session, ag: FaAgreement, by: Any) -> list[dict[str, Any]]:
    org = aliased(Organization)
    rows = session.execute(
        select(org.name, func.count(FaCallOff.id), func.coalesce(func.sum(FaCallOff.quantity), 0),
               func.coalesce(func.sum(FaCallOff.amount), 0),
               func.coalesce(func.sum(FaLine.ceiling_price * FaCallOff.quantity), 0))
        .join(org, org.id == by).join(FaLine, FaLine.id == FaCallOff.line_id)
        .where(FaCallOff.agreement_id == ag.id, FaCallOff.status == "ordered")
        .group_by(org.name).order_by(func.sum(FaCallOff.amount).desc(), org.name),
        execution_options=UNSCOPED).all()
    out = []
    for name, count, qty, amount, ceiling in rows:
        amount, ceiling = to_money(Decimal(amount)), to_money(Decimal(ceiling))
        out.append({"name": name, "calloffs": int(count), "quantity": int(qty), "amount": amount,
                    "ceiling_amount": ceiling, "savings": ceiling - amount,
                    "savings_rate": ((ceiling - amount) / ceiling).quantize(Decimal("0.0001")) if ceiling else ZERO})
    return out


def agreement_report(session: Session, ag: FaAgreement) -> dict[str, Any]:
    suppliers = _usage(session, ag, FaCallOff.supplier_id)
    purchasers = _usage(session, ag, FaCallOff.purchaser_id)
    total = sum((r["amount"] for r in suppliers), ZERO)
    ceiling = sum((r["ceiling_amount"] for r in suppliers), ZERO)
    return {"suppliers": suppliers, "purchasers": purchasers, "ledger": ledger(session, ag),
            "total": total, "ceiling_total": ceiling, "savings": ceiling - total,
            "savings_rate": ((ceiling - total) / ceiling).quantize(Decimal("0.0001")) if ceiling else ZERO}


def chart(report: dict[str, Any]) -> Any:
    rows = report["suppliers"][:15]
    return bar_chart([r["name"] for r in rows],
                     {"成交金额": [r["amount"] for r in rows], "节约金额": [r["savings"] for r in rows]},
                     title="各入围供应商成交与节约金额", unit="元", horizontal=True)


USAGE_COLUMNS = [ColumnSpec("name", "名称"), ColumnSpec("calloffs", "成交笔数", "int"),
                 ColumnSpec("quantity", "数量", "int"), ColumnSpec("amount", "成交金额（元）", "money"),
                 ColumnSpec("ceiling_amount", "按最高限制单价计（元）", "money"),
                 ColumnSpec("savings", "节约金额（元）", "money"),
                 ColumnSpec("savings_rate", "节约率", "percent", total=False)]
LEDGER_COLUMNS = [ColumnSpec("item", "品目"), ColumnSpec("supplier", "入围供应商"),
                  ColumnSpec("agreement_price", "协议价格（元）", "money", total=False),
                  ColumnSpec("cap_quantity", "供货上限", "int"), ColumnSpec("ordered_quantity", "已下单数量", "int"),
                  ColumnSpec("ordered_amount", "已下单金额（元）", "money"),
                  ColumnSpec("accepted_quantity", "已验收数量", "int"),
                  ColumnSpec("accepted_amount", "已验收金额（元）", "money"),
                  ColumnSpec("remaining_quantity", "剩余数量", "int"),
                  ColumnSpec("remaining_amount", "剩余金额（元）", "money")]


def report_xlsx(session: Session, ag: FaAgreement) -> bytes:
    rep = agreement_report(session, ag)
    buf = io.BytesIO()
    write_workbook(buf, [
        XlsxSheet(rep["suppliers"], USAGE_COLUMNS, "按供应商", f"{ag.name}：按入围供应商统计"),
        XlsxSheet(rep["purchasers"], USAGE_COLUMNS, "按采购人", f"{ag.name}：按采购人统计"),
        XlsxSheet(rep["ledger"], LEDGER_COLUMNS, "协议台账", f"{ag.name}：协议采购台账"),
    ])
    return buf.getvalue()
