"""Contracts, payment plans and payments: a contract's paid and outstanding amounts, payments
that never exceed the contract amount (the contract row is locked while a payment is checked)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from core.hooks import Hook
from core.services.money import fmt_yuan, to_money
from core.tenancy import Scope, current_scope

from ..models import (
    CONTRACT_STATES,
    PROJECT_STATES,
    SME_LABELS,
    Bid,
    Contract,
    Payment,
    PaymentPlan,
)
from .common import (
    ZERO,
    Errors,
    _changed,
    _derive_region,
    _fmt_date,
    _missing,
    _money_attr,
    _old,
    _persisted,
    _rel,
    _text,
    _unscoped,
    today,
)
from .projects import PURCHASER_TYPES, _own_units

#: extension point: other modules check a payment before it is recorded (e.g.
#: ``supply_chain_finance``: a financed contract must be paid to the locked repayment account)
PAYMENT_VALIDATORS = Hook(
    "procurement_base.payment_validators",
    doc="fn(session, payment, contract) -> None; raise core.errors.RuleError to refuse the "
        "payment. ``payment.payee_account`` is the account the money goes to (收款账户, the "
        "column entered on the payment page and API, or record_payment(..., payee_account=...)), "
        "else None.",
)

#: extension point: the account a contract's payments must go to, shown on the payment page as
#: the default of 收款账户 (e.g. ``supply_chain_finance``: the confirmed repayment-account lock)
PAYEE_ACCOUNT_HINTS = Hook(
    "procurement_base.payee_account_hints",
    doc="fn(session, contract) -> tuple[str, str] | None: (account, text shown beside the "
        "field) when the contract's payments must go to that account, else None.",
)


def payee_account_hint(session: Session, contract: Contract | None) -> tuple[str, str] | None:
    """The account a contract's payments must go to, and why (first module that names one)."""
    if contract is None:
        return None
    for hint in PAYEE_ACCOUNT_HINTS.call(contract.region_id, session, contract):
        if hint:
            return hint
    return None


def winning_bid(session: Session, package_id: int, supplier_id: int) -> Bid | None:
    return session.execute(select(Bid).where(
        Bid.package_id == package_id, Bid.supplier_id == supplier_id, Bid.status == "won")
    ).scalars().first()


def paid_total(session: Session, contract_id: int, *, exclude_id: int | None = None) -> Decimal:
    """已付金额: the sum of a contract's payments (fresh from the database)."""
    stmt = select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.contract_id == contract_id)
    if exclude_id is not None:
        stmt = stmt.where(Payment.id != exclude_id)
    value = session.execute(stmt).scalar_one()
    return to_money(value, strict=False) if value is not None else ZERO


def outstanding(session: Session, contract: Contract) -> Decimal:
    """未付金额 = 合同金额 − 已付金额 (derived, never stored)."""
    return contract.amount - paid_total(session, contract.id)


def overdue_plans(session: Session, on: dt.date | None = None) -> list[tuple[PaymentPlan, Decimal, int]]:
    """付款计划 lines in the user's reach past their date and not covered by the contract's
    payments (paid in plan order: a line is covered once the payments reach the plans up to
    it), of contracts still signed or performing: (line, unpaid amount, days overdue), the
    oldest first."""
    on = on or today()
    plans = list(session.execute(
        select(PaymentPlan).join(Contract, Contract.id == PaymentPlan.contract_id)
        .where(PaymentPlan.due_date < on, Contract.status.in_(("signed", "performing")))
        .order_by(PaymentPlan.contract_id, PaymentPlan.seq)).scalars())
    if not plans:
        return []
    ids = sorted({p.contract_id for p in plans})
    paid = dict(session.execute(select(Payment.contract_id, func.sum(Payment.amount))
                                .where(Payment.contract_id.in_(ids))
                                .group_by(Payment.contract_id)).all())
    schedule: dict[int, list[tuple[int, Decimal]]] = {}
    for cid, seq, amount in session.execute(
            select(PaymentPlan.contract_id, PaymentPlan.seq, PaymentPlan.amount)
            .where(PaymentPlan.contract_id.in_(ids))):
        schedule.setdefault(cid, []).append((seq, amount))
    out = []
    for p in plans:
        planned = sum((a for seq, a in schedule[p.contract_id] if seq <= p.seq), ZERO)
        covered = to_money(paid.get(p.contract_id) or 0, strict=False)
        unpaid = min(p.amount, planned - covered)
        if unpaid > ZERO:
            out.append((p, to_money(unpaid), (on - p.due_date).days))
    out.sort(key=lambda r: (r[0].due_date, r[0].id))
    return out


def _lock_contract(session: Session, contract_id: int) -> None:
    """Lock the contract row until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite
    serialises writers anyway), so two payments cannot both pass the outstanding check."""
    session.execute(select(Contract.id).where(Contract.id == contract_id).with_for_update())


def validate_contract(session: Session, c: Contract, *, scope: Scope | None = None) -> None:
    """采购合同: number unique in its region; for a project contract the package of that
    project, the project's purchaser, the package's winning supplier, an amount above the
    winning bid only with a recorded reason, signing on or after the award; never below
    what has been paid."""
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        project = _rel(session, c, "project")
        package = _rel(session, c, "package")
        purchaser = _rel(session, c, "purchaser")
        supplier = _rel(session, c, "supplier")
        region = _rel(session, c, "region")
        new = not inspect(c).persistent
        if new:
            c.status = "draft"
        c.number = _text(c.number)
        if not c.number:
            errors.add("number", "合同编号不能为空")
        c.source = c.source or "project"
        amount = _money_attr(errors, c, "amount", "合同金额")
        if not _missing(errors, "purchaser", purchaser, "采购人") and purchaser.org_type not in PURCHASER_TYPES:
            errors.add("purchaser", f"“{purchaser.name}”不是采购人")
        if not _missing(errors, "supplier", supplier, "供应商"):
            if supplier.org_type != "supplier":
                errors.add("supplier", f"“{supplier.name}”不是供应商")
            elif _changed(c, "supplier") or c.sme_label is None:
                c.sme_label = supplier.size if supplier.size in SME_LABELS else "none"
        reason = _text(c.over_bid_reason) or None
        c.over_bid_reason = reason

        if c.source == "project":
            c.order_ref = _text(c.order_ref) or None
            if not _missing(errors, "project", project, "采购项目"):
                region = _derive_region(errors, c, region, project.region, "所属项目")
                if purchaser is not None and _persisted(purchaser) and purchaser.id != project.purchaser_id:
                    errors.add("purchaser", f"合同采购人必须是项目的采购人“{project.purchaser.name}”")
                if project.status not in ("awarded", "contracted", "completed"):
                    errors.add("project", f"项目状态为“{PROJECT_STATES.get(project.status)}”，"
                                          "确定中标后才能登记合同")
                if c.signed_date and project.award_date and c.signed_date < project.award_date:
                    errors.add("signed_date", f"合同签订日期不能早于中标日期（{_fmt_date(project.award_date)}）")
                if not _missing(errors, "package", package, "采购包"):
                    if package.project_id != project.id:
                        errors.add("package", f"采购包“{package.name}”不属于项目“{project.number}”")
                    elif supplier is not None and _persisted(supplier) and "supplier" not in errors:
                        won = winning_bid(session, package.id, supplier.id)
                        if won is None:
                            errors.add("supplier", f"“{supplier.name}”不是该采购包的中标供应商")
                        elif amount is not None and amount > won.price and not reason:
                            errors.add("over_bid_reason",
                                       f"合同金额 {fmt_yuan(amount)} 高于中标金额 {fmt_yuan(won.price)}，"
                                       "须填写超出原因")
        elif c.source == "emall":
            if not _text(c.order_ref):
                errors.add("order_ref", "电子卖场合同须填写订单号")
            if project is not None or package is not None:
                errors.add("project", "电子卖场合同不关联采购项目")
            if region is None and purchaser is not None and _persisted(purchaser):
                region = c.region = purchaser.region
        else:
            errors.add("source", "合同来源只能是采购项目（project）或电子卖场（emall）")
        if region is None:
            errors.add("region", "请选择所在地区")

        if c.signed_date and c.signed_date > today():
            errors.add("signed_date", "合同签订日期不能晚于今天")
        if c.status != "draft" and not c.signed_date:
            errors.add("signed_date", "已签订的合同须填写签订日期")
        if region is not None and c.number and "number" not in errors:
            dup = session.execute(_unscoped(select(Contract.id).where(
                Contract.region_id == region.id, Contract.number == c.number,
                Contract.id != (c.id or -1)))).first()
            if dup is not None:
                errors.add("number", f"合同编号“{c.number}”在本地区已存在", duplicate=True)
        if not new and amount is not None:
            paid = paid_total(session, c.id)
            if amount < paid:
                errors.add("amount", f"合同金额不能低于已付金额 {fmt_yuan(paid)}")
        if not new and c.status in ("completed", "terminated") and _changed(
                c, "amount", "supplier", "purchaser", "project", "package"):
            errors.add("status", f"合同已{CONTRACT_STATES.get(c.status)}，不能修改")
        if scope.actor == "purchaser" and scope.org_id is not None and purchaser is not None:
            own = _own_units(session, scope.org_id)
            old = _old(c, "purchaser_id")
            if purchaser.id not in own or (old is not None and old not in own):
                errors.add("purchaser", "只能管理本单位（及所属预算单位）的合同")
    errors.raise_if_any()


def validate_payment_plan(session: Session, plan: PaymentPlan, *, scope: Scope | None = None) -> None:
    """付款计划: in the contract's region, period numbers unique, due on or after signing,
    the plans of a contract never above its amount."""
    errors = Errors()
    with session.no_autoflush:
        contract = _rel(session, plan, "contract")
        region = _rel(session, plan, "region")
        amount = _money_attr(errors, plan, "amount", "计划金额")
        if plan.seq is None:
            errors.add("seq", "期次不能为空")
        elif plan.seq < 1:
            errors.add("seq", "期次必须是正整数")
        if plan.due_date is None:
            errors.add("due_date", "计划付款日期不能为空")
        if not _missing(errors, "contract", contract, "合同"):
            _derive_region(errors, plan, region, contract.region, "合同")
            if contract.status == "terminated":
                errors.add("contract", "合同已终止，不能新增或修改付款计划")
            if plan.due_date and contract.signed_date and plan.due_date < contract.signed_date:
                errors.add("due_date", f"计划付款日期不能早于合同签订日期（{_fmt_date(contract.signed_date)}）")
            if amount is not None:
                stmt = select(func.coalesce(func.sum(PaymentPlan.amount), 0)).where(
                    PaymentPlan.contract_id == contract.id, PaymentPlan.id != (plan.id or -1))
                others = to_money(session.execute(stmt).scalar_one() or 0, strict=False)
                if others + amount > contract.amount:
                    errors.add("amount", f"付款计划合计 {fmt_yuan(others + amount)} 超过合同金额 "
                                         f"{fmt_yuan(contract.amount)}")
            if plan.seq is not None and "seq" not in errors:
                dup = session.execute(_unscoped(select(PaymentPlan.id).where(
                    PaymentPlan.contract_id == contract.id, PaymentPlan.seq == plan.seq,
                    PaymentPlan.id != (plan.id or -1)))).first()
                if dup is not None:
                    errors.add("seq", f"第 {plan.seq} 期付款计划已存在", duplicate=True)
        elif region is None:
            errors.add("region", "请选择所在地区")
    del scope
    errors.raise_if_any()


def validate_payment(session: Session, pay: Payment, *, scope: Scope | None = None) -> None:
    """付款: against a signed contract, dated between signing and today, and never above the
    contract amount in total (the contract row is locked while checking)."""
    errors = Errors()
    with session.no_autoflush:
        contract = _rel(session, pay, "contract")
        region = _rel(session, pay, "region")
        amount = _money_attr(errors, pay, "amount", "付款金额")
        pay.reference = _text(pay.reference) or None
        pay.payee_account = _text(pay.payee_account) or None
        if pay.payee_account and len(pay.payee_account) > 64:
            errors.add("payee_account", "收款账户不能超过 64 个字符")
        if pay.paid_date is None:
            errors.add("paid_date", "付款日期不能为空")
        elif pay.paid_date > today():
            errors.add("paid_date", "付款日期不能晚于今天")
        if not _missing(errors, "contract", contract, "合同"):
            _derive_region(errors, pay, region, contract.region, "合同")
            if contract.status not in ("signed", "performing", "completed"):
                errors.add("contract", f"合同状态为“{CONTRACT_STATES.get(contract.status)}”，"
                                       "签订后才能登记付款")
            if pay.paid_date and contract.signed_date and pay.paid_date < contract.signed_date:
                errors.add("paid_date", f"付款日期不能早于合同签订日期（{_fmt_date(contract.signed_date)}）")
            if amount is not None and _changed(pay, "amount", "contract"):
                _lock_contract(session, contract.id)
                paid = paid_total(session, contract.id, exclude_id=pay.id)
                if paid + amount > contract.amount:
                    left = contract.amount - paid
                    errors.add("amount", f"累计付款 {fmt_yuan(paid + amount)} 将超过合同金额 "
                                         f"{fmt_yuan(contract.amount)}（未付余额 {fmt_yuan(left)}）")
        elif region is None:
            errors.add("region", "请选择所在地区")
    del scope
    errors.raise_if_any()
    if contract is not None:
        PAYMENT_VALIDATORS.call(contract.region_id, session, pay, contract)


def record_payment(session: Session, contract: Contract, amount: Any, paid_date: dt.date,
                   reference: str | None = None, payee_account: str | None = None) -> Payment:
    """Record a payment (validated, added to the session, flushed); returns it.
    ``payee_account``: the account paid (checked by :data:`PAYMENT_VALIDATORS`)."""
    # by id: a refused payment must not linger in ``contract.payments``
    pay = Payment(contract_id=contract.id, amount=amount, paid_date=paid_date, reference=reference,
                  payee_account=payee_account, region_id=contract.region_id)
    validate_payment(session, pay)
    session.add(pay)
    session.flush()
    session.expire(contract, ["paid_amount", "payments"])
    return pay
