"""协议外采购 (110号令): a purchaser entitled to an agreement may buy the same goods outside
it only with proof of a lower price that the shortlisted supplier refuses to match. The
purchaser records it (agreement line, outside supplier, outside price below the agreement
price, proof, the supplier's refusal); the report is due within 1 working day of the purchase
(platform calendar); a later report is stored and marked late. The collecting party sees the
reports on its pages and workbench."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.models import Organization
from core.services import audit, workdays
from core.services.money import MoneyError, fmt_yuan, to_money
from core.tenancy import Scope

from ..models import FaAgreement, FaItem, FaLine, FaOutside
from .common import (
    MODULE,
    UNSCOPED,
    ConflictError,
    ForbiddenError,
    RuleError,
    actor_scope,
    entitled,
    now,
    text,
    today,
)

#: working days after the purchase within which it must be reported
REPORT_WORKDAYS = 1
#: ids and quantities beyond these are bad input, not database errors (PostgreSQL integer)
MAX_INT, MAX_QUANTITY = 2**31 - 1, 1_000_000


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(text(value))
    except ValueError:
        return None


def report_outside(session: Session, line_id: Any, *, outside_supplier: Any, outside_price: Any,
                   quantity: Any, purchase_date: Any, proof: Any, refusal: Any,
                   purchaser_id: int | None = None, scope: Scope | None = None) -> FaOutside:
    """Record an outside purchase; 422/403/409 with the rule and nothing stored otherwise."""
    from .calloffs import _purchaser

    scope = actor_scope(scope)
    line = session.get(FaLine, line_id, execution_options=UNSCOPED) \
        if isinstance(line_id, int) and not isinstance(line_id, bool) and 0 < line_id <= MAX_INT else None
    if line is None:
        raise RuleError({"line": ["请选择框架协议的入围产品（协议明细）"]})
    ag: FaAgreement = session.get(FaAgreement, line.agreement_id, execution_options=UNSCOPED)
    purchaser = _purchaser(session, scope, purchaser_id)
    if not entitled(session, ag, purchaser):
        raise ForbiddenError(f"{purchaser.name}不在该框架协议的适用范围内，不适用协议外采购报告")
    day = today()
    if ag.status == "expired" or day > ag.term_end:
        raise RuleError({"line": [f"框架协议已于 {ag.term_end:%Y-%m-%d} 到期，协议外采购报告只适用于有效期内的协议"]})
    if ag.status != "active":
        raise ConflictError("框架协议未生效或已终止，不适用协议外采购报告")
    errors: dict[str, list[str]] = {}
    supplier = text(outside_supplier)
    if not supplier:
        errors["outside_supplier"] = ["请填写协议外供应商"]
    elif len(supplier) > 200:
        errors["outside_supplier"] = ["协议外供应商名称不超过 200 字"]
    price: Decimal | None = None
    try:
        price = to_money(text(outside_price), allow_negative=False) if text(outside_price) else None
    except (MoneyError, ValueError, TypeError):
        errors["outside_price"] = ["协议外单价应为金额，如 4300.00"]
    if price is None and "outside_price" not in errors:
        errors["outside_price"] = ["请填写协议外单价"]
    elif price is not None and price <= 0:
        errors["outside_price"] = ["协议外单价应大于零"]
    elif price is not None and price >= line.agreement_price:
        errors["outside_price"] = [f"协议外单价 {fmt_yuan(price)} 不低于协议价格 {fmt_yuan(line.agreement_price)}："
                                   "只有价格更低且入围供应商拒绝跟价时，才可在协议外采购"]
    qty = quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else None
    if qty is None and isinstance(quantity, str) and re.fullmatch(r"[0-9]{1,12}", quantity.strip()):
        qty = int(quantity.strip())
    if qty is None or qty < 1 or qty > MAX_QUANTITY:
        errors["quantity"] = [f"采购数量应为 1 至 {MAX_QUANTITY} 之间的整数"]
    bought = _date(purchase_date)
    if bought is None:
        errors["purchase_date"] = ["请填写采购日期，如 2026-12-04"]
    elif bought > day:
        errors["purchase_date"] = ["采购日期不能晚于今天"]
    elif bought < ag.term_start:
        errors["purchase_date"] = [f"采购日期早于协议期限开始（{ag.term_start:%Y-%m-%d}）"]
    if not text(proof):
        errors["proof"] = ["请提供更低价格的证明材料（说明或附件链接）"]
    if not text(refusal):
        errors["refusal"] = ["请记录入围供应商拒绝按该价格成交的情况"]
    if errors:
        raise RuleError(errors)
    assert price is not None and qty is not None and bought is not None
    due = workdays.add_working_days(bought, REPORT_WORKDAYS, session)
    item = session.get(FaItem, line.item_id, execution_options=UNSCOPED)
    shortlisted = session.get(Organization, line.supplier_id, execution_options=UNSCOPED)
    row = FaOutside(agreement_id=ag.id, line_id=line.id, purchaser_id=purchaser.id, agreement_name=ag.name,
                    item_name=item.name if item else "", shortlisted_name=shortlisted.name if shortlisted else "",
                    agreement_price=line.agreement_price, outside_supplier=supplier, outside_price=price,
                    quantity=qty, amount=(price * qty).quantize(Decimal("0.01")), proof=text(proof),
                    refusal=text(refusal), purchase_date=bought, due_date=due, reported_on=day,
                    late=day > due, created_at=now(), region_id=purchaser.region_id)
    session.add(row)
    session.flush()
    audit.record(session, action="create", object_type="fa_outside", object_id=row.id,
                 after={"line": line.id, "outside_price": str(price), "late": row.late}, module=MODULE,
                 region_id=row.region_id)
    return row
