"""The ledger operations: refund, forfeiture, remittance, conversion, release, reversal,
the trigger event; each locks the deposit row and moves it by a :data:`DEPOSIT_FLOW`
transition."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.models import Contract
from addons.procurement_base.services import (
    DuplicateError,
    Errors,
    RuleError,
    check_money,
    today,
)
from core import tenancy
from core.services import settings
from core.services.money import fmt_yuan, percent_cap
from core.tenancy import Scope, current_scope

from ..models import (
    Deposit,
    DepositEntry,
    ForfeitReason,
    ProjectForfeitReason,
)
from .balances import LateFee, balances, late_fee, live_entries
from .common import DEPOSIT_FLOW, ZERO, _actor_name, _date, _lock, _now, _pct, _text
from .deposits import _check_manages, validate_deposit


# -- ledger operations --------------------------------------------------------------------------------
def _entry(session: Session, dep: Deposit, kind: str, amount: Decimal, on: dt.date,
           **values: Any) -> DepositEntry:
    e = DepositEntry(deposit_id=dep.id, kind=kind, amount=amount, entry_date=on,
                     region_id=dep.region_id, late_fee=values.pop("late_fee", ZERO),
                     overdue_days=values.pop("overdue_days", 0), created_at=_now(),
                     created_by=_actor_name(), **values)
    session.add(e)
    session.flush()
    return e


def _prepare(session: Session, deposit_id: int, name: str, *, scope: Scope | None) -> Deposit:
    scope = scope or current_scope()
    dep = _lock(session, deposit_id)
    tenancy.check_region_writable(Deposit, dep.region_id, scope=scope)
    _check_manages(session, Errors(), dep.project, scope)
    DEPOSIT_FLOW.check(dep, name, reason="-")  # 409 when the state no longer allows it
    return dep


def _check_amount(errors: Errors, amount: Any, expected: Decimal, label: str, what: str) -> Decimal:
    if amount is None or amount == "":
        return expected
    value = check_money(errors, "amount", amount, label)
    if value is not None and value != expected:
        errors.add("amount", f"{label}须等于{what} {fmt_yuan(expected)}（保证金一次结清，不分次处理）")
    return expected


def _entry_date(errors: Errors, on: Any, dep: Deposit) -> dt.date | None:
    d = _date(errors, "entry_date", on if on is not None else today(), "日期")
    if d is not None and d < dep.received_date:
        errors.add("entry_date", f"日期不能早于保证金收取日期（{dep.received_date.isoformat()}）")
    return d


def refund(session: Session, deposit_id: int, *, on: Any = None, amount: Any = None,
           payee_account: str | None = None, bank_reference: str | None = None,
           note: str | None = None, scope: Scope | None = None) -> DepositEntry:
    """退还: the whole held balance, with the late fee when overdue (none when the delay is
    recorded as the supplier's fault). Locks the deposit; a second refund answers 409."""
    dep = _prepare(session, deposit_id, "refund", scope=scope)
    errors = Errors()
    if dep.form == "guarantee":
        errors.add("form", "保函形式的保证金不退还资金，请办理“解除保函”")
        errors.raise_if_any()
    b = balances(session, dep.id)
    on = _entry_date(errors, on, dep)
    principal = _check_amount(errors, amount, b.held, "退还金额", "在管余额")
    payee = _text(payee_account) or _text(dep.payer_account)
    if not payee:
        errors.add("payee_account", "请填写收款账户（供应商缴纳保证金的基本账户）")
    if not _text(bank_reference):
        errors.add("bank_reference", "请填写银行交易流水号")
    if principal <= 0:
        errors.add("amount", "在管余额为零，无可退还金额")
    errors.raise_if_any()
    fee = LateFee(ZERO, 0)
    if dep.due_date is not None and on > dep.due_date:
        fee = late_fee(session, principal, dep.due_date, on, region_id=dep.region_id)
        if dep.supplier_fault:
            fee = LateFee(ZERO, fee.days)
    entry = _entry(session, dep, "refund", principal, on, payee_account=payee,
                   bank_reference=_text(bank_reference), note=_text(note) or None,
                   late_fee=fee.fee, overdue_days=fee.days)
    DEPOSIT_FLOW.trigger(dep, "refund", session=session, amount=principal, late_fee=fee.fee)
    dep.settled_date = on
    session.flush()
    return entry


def project_reasons(session: Session, project_id: int) -> list[ForfeitReason]:
    return list(session.execute(
        select(ForfeitReason).join(ProjectForfeitReason, ProjectForfeitReason.reason_id == ForfeitReason.id)
        .where(ProjectForfeitReason.project_id == project_id).order_by(ForfeitReason.id)).scalars())


def forfeit(session: Session, deposit_id: int, *, reason_id: Any, on: Any = None,
            amount: Any = None, note: str | None = None,
            scope: Scope | None = None) -> DepositEntry:
    """不予退还: only for a reason the project's tender documents list."""
    dep = _prepare(session, deposit_id, "forfeit", scope=scope)
    errors = Errors()
    if dep.form == "guarantee":
        errors.add("form", "保函形式的保证金须向出具机构索赔，不能直接登记不予退还")
        errors.raise_if_any()
    allowed = {r.id: r for r in project_reasons(session, dep.project_id)}
    rid = reason_id if isinstance(reason_id, int) and not isinstance(reason_id, bool) else (
        int(reason_id) if isinstance(reason_id, str) and reason_id.strip().isdigit() else None)
    if rid is None:
        errors.add("reason", "请选择不予退还的事由")
    elif rid not in allowed:
        listed = "、".join(r.name for r in allowed.values()) or "（该项目未载明任何不予退还情形）"
        errors.add("reason", f"只能按该项目招标文件载明的情形不予退还：{listed}")
    elif dep.kind == "bid" and allowed[rid].kind != "bid" or dep.kind == "performance" and \
            allowed[rid].kind != "performance":
        errors.add("reason", "该事由不适用于此类保证金")
    on = _entry_date(errors, on, dep)
    b = balances(session, dep.id)
    principal = _check_amount(errors, amount, b.held, "不予退还金额", "在管余额")
    errors.raise_if_any()
    entry = _entry(session, dep, "forfeiture", principal, on, reason_id=rid,
                   note=_text(note) or None)
    DEPOSIT_FLOW.trigger(dep, "forfeit", session=session, reason=allowed[rid].name,
                         amount=principal)
    dep.settled_date = on
    session.flush()
    return entry


def remit(session: Session, deposit_id: int, *, voucher_no: str | None, on: Any = None,
          amount: Any = None, note: str | None = None, scope: Scope | None = None) -> DepositEntry:
    """上缴同级国库: the whole forfeited amount, with the payment voucher number and date."""
    dep = _prepare(session, deposit_id, "remit", scope=scope)
    errors = Errors()
    b = balances(session, dep.id)
    on = _entry_date(errors, on, dep)
    principal = _check_amount(errors, amount, b.unremitted, "上缴金额", "待上缴金额")
    if not _text(voucher_no):
        errors.add("voucher_no", "请填写缴款凭证号（非税收入一般缴款书号）")
    errors.raise_if_any()
    entry = _entry(session, dep, "remittance", principal, on, voucher_no=_text(voucher_no),
                   note=_text(note) or None)
    DEPOSIT_FLOW.trigger(dep, "remit", session=session, amount=principal)
    dep.settled_date = on
    session.flush()
    return entry


def convert(session: Session, deposit_id: int, *, contract_id: Any, on: Any = None,
            number: str | None = None, scope: Scope | None = None) -> Deposit:
    """Convert a winner's bid deposit into the performance deposit of its contract: one
    linked pair of entries (conversion out / conversion in), never money appearing twice."""
    dep = _prepare(session, deposit_id, "convert", scope=scope)
    errors = Errors()
    if dep.kind != "bid":
        errors.add("kind", "只有投标保证金可以转为履约保证金")
    if dep.form == "guarantee":
        errors.add("form", "保函形式的投标保证金不能转为履约保证金")
    contract = None
    if isinstance(contract_id, int) and not isinstance(contract_id, bool):
        contract = session.get(Contract, contract_id)
    if contract is None:
        errors.add("contract", "请选择采购合同（所选合同不存在或不在您的管辖范围内）")
    errors.raise_if_any()
    if contract.supplier_id != dep.supplier_id:
        errors.add("contract", "合同的供应商不是该保证金的缴纳人")
    if contract.project_id != dep.project_id or (
            dep.package_id and contract.package_id and contract.package_id != dep.package_id):
        errors.add("contract", "合同不属于该保证金的采购项目（采购包）")
    if dep.bid is not None and dep.bid.status != "won":
        errors.add("bid", "只有中标人的投标保证金可以转为履约保证金")
    if contract.status not in ("signed", "performing", "completed"):
        errors.add("contract", "合同签订后才能转为履约保证金")
    on = _entry_date(errors, on, dep)
    b = balances(session, dep.id)
    cap_pct = settings.get("deposit.performance_cap_percent", region_id=dep.region_id, session=session)
    cap = percent_cap(contract.amount, cap_pct)
    if cap.exceeded_by(b.held):
        errors.add("amount", f"转入金额 {fmt_yuan(b.held)} 超过履约保证金上限：合同金额的"
                             f"{_pct(cap_pct)}%（{fmt_yuan(cap.shown)}）")
    errors.raise_if_any()
    perf = Deposit(number=_text(number) or f"{dep.number}-LY", kind="performance",
                   project_id=dep.project_id, package_id=dep.package_id, contract_id=contract.id,
                   supplier_id=dep.supplier_id, holder_id=dep.holder_id, form=dep.form,
                   amount=b.held, received_date=on, payer_account=dep.payer_account,
                   payer_bank=dep.payer_bank, status="held", supplier_fault=False,
                   region_id=dep.region_id, created_at=_now(),
                   note=f"由投标保证金 {dep.number} 转入")
    exists = session.execute(select(Deposit.id).where(
        Deposit.region_id == dep.region_id, Deposit.number == perf.number)).first()
    if exists is not None:
        raise DuplicateError({"number": [f"保证金编号 {perf.number} 已存在"]})
    session.add(perf)
    session.flush()
    out = _entry(session, dep, "conversion_out", b.held, on, note=f"转为履约保证金 {perf.number}")
    inn = _entry(session, perf, "conversion_in", b.held, on, linked_entry_id=out.id,
                 note=f"由投标保证金 {dep.number} 转入")
    # the pair is linked from its second half (entries are immutable once written)
    dep.converted_to_id = perf.id
    DEPOSIT_FLOW.trigger(dep, "convert", session=session, amount=b.held,
                         performance_deposit=perf.number, entry=inn.id)
    dep.settled_date = on
    session.flush()
    return perf


def release(session: Session, deposit_id: int, *, on: Any = None, note: str | None = None,
            scope: Scope | None = None) -> Deposit:
    """解除保函: a guarantee is returned to the supplier (no money moves)."""
    dep = _prepare(session, deposit_id, "release", scope=scope)
    errors = Errors()
    if dep.form != "guarantee":
        errors.add("form", "只有保函形式的保证金需要解除；资金形式的保证金请办理退还")
    on = _entry_date(errors, on, dep)
    errors.raise_if_any()
    DEPOSIT_FLOW.trigger(dep, "release", session=session, reason=_text(note) or None)
    dep.settled_date = on
    session.flush()
    return dep


def record_guarantee_claim(session: Session, deposit_id: int, *, amount: Any, on: Any = None,
                           bank_reference: str | None = None, reason_id: int | None = None,
                           note: str | None = None, scope: Scope | None = None) -> DepositEntry:
    """索赔到账: the issuer of a guarantee deposit paid the beneficiary's claim. The money
    received is entered (receipt) and forfeited at once (forfeiture, the claim's reason), so
    it is then remitted to the treasury like any forfeited deposit (:func:`remit`). Only for
    a held guarantee; the amount is the guarantee's whole amount (settled once, in full)."""
    dep = _prepare(session, deposit_id, "forfeit", scope=scope)
    errors = Errors()
    if dep.form != "guarantee":
        errors.add("form", "只有保函形式的保证金才登记索赔到账；资金形式请办理不予退还")
    value = check_money(errors, "amount", amount, "索赔到账金额")
    if value is not None and value != dep.amount:
        errors.add("amount", f"索赔到账金额须等于保函金额 {fmt_yuan(dep.amount)}（一次结清）")
    on = _entry_date(errors, on, dep)
    errors.raise_if_any()
    receipt = _entry(session, dep, "receipt", value, on, bank_reference=_text(bank_reference),
                     note="保函索赔款到账")
    entry = _entry(session, dep, "forfeiture", value, on, reason_id=reason_id,
                   linked_entry_id=receipt.id, note=_text(note) or "保函索赔")
    DEPOSIT_FLOW.trigger(dep, "forfeit", session=session, reason=_text(note) or "保函索赔",
                         amount=value)
    dep.settled_date = on
    session.flush()
    return entry


def reverse(session: Session, deposit_id: int, *, reason: str | None, entry_id: Any = None,
            on: Any = None, scope: Scope | None = None) -> DepositEntry | None:
    """冲销: the latest live entry (or ``entry_id``, which must be it) gets a reversing entry
    and the deposit goes back to the state before it. A guarantee's release is reversed
    by a transition only (no entry)."""
    scope = scope or current_scope()
    dep = _lock(session, deposit_id)
    tenancy.check_region_writable(Deposit, dep.region_id, scope=scope)
    _check_manages(session, Errors(), dep.project, scope)
    errors = Errors()
    reason = _text(reason)
    if not reason:
        errors.add("reason", "请填写冲销原因")
    on = _entry_date(errors, on, dep)
    errors.raise_if_any()
    if dep.form == "guarantee" and not live_entries(session, dep.id):
        DEPOSIT_FLOW.trigger(dep, "reverse", session=session, reason=reason)
        dep.settled_date = None
        session.flush()
        return None
    live = live_entries(session, dep.id)
    if not live:
        raise RuleError({"entry": ["没有可冲销的分录"]})
    target = live[-1]
    if entry_id not in (None, ""):
        wanted = int(entry_id) if str(entry_id).isdigit() else None
        if wanted != target.id:
            raise RuleError({"entry": ["只能冲销最近一笔未冲销的分录（按相反顺序逐笔冲销）"]})
    if target.kind == "conversion_in":
        raise RuleError({"entry": ["由投标保证金转入的履约保证金，请在原投标保证金上冲销转换"]})
    if target.kind == "receipt":
        DEPOSIT_FLOW.check(dep, "void", reason=reason)
    else:
        DEPOSIT_FLOW.check(dep, "reverse", reason=reason)
    perf = None
    if target.kind == "conversion_out":
        perf = _lock(session, dep.converted_to_id) if dep.converted_to_id else None
        if perf is None or perf.status != "held" or len(live_entries(session, perf.id)) != 1:
            raise RuleError({"entry": ["转入的履约保证金已有后续业务（退还、不予退还等），须先冲销其后续分录"]})
    entry = _entry(session, dep, "reversal", target.amount, on, reversed_kind=target.kind,
                   reverses_id=target.id, note=reason)
    if target.kind == "receipt":
        DEPOSIT_FLOW.trigger(dep, "void", session=session, reason=reason, entry=target.id)
        dep.settled_date = on
    else:
        DEPOSIT_FLOW.trigger(dep, "reverse", session=session, reason=reason, entry=target.id)
        dep.settled_date = None
    if perf is not None:
        (inn,) = live_entries(session, perf.id)
        _entry(session, perf, "reversal", inn.amount, on, reversed_kind=inn.kind,
               reverses_id=inn.id, note=reason)
        DEPOSIT_FLOW.trigger(perf, "void", session=session, reason=reason, entry=inn.id)
        perf.settled_date = on
        dep.converted_to_id = None
    session.flush()
    return entry


def record_trigger(session: Session, deposit_id: int, *, trigger: str | None, on: Any,
                   supplier_fault: bool | None = None, fault_reason: str | None = None,
                   override_reason: str | None = None,
                   scope: Scope | None = None) -> Deposit:
    """Record the refund trigger (and the supplier's fault), recomputing the due date. The
    trigger and its date must agree with the procurement record (:func:`trigger_mismatch`);
    ``override_reason``: the written reason for a different one (audited)."""
    dep = _lock(session, deposit_id)
    dep._trigger_override_reason = override_reason
    scope = scope or current_scope()
    tenancy.check_region_writable(Deposit, dep.region_id, scope=scope)
    errors = Errors()
    d = _date(errors, "trigger_date", on, "触发事件日期")
    errors.raise_if_any()
    dep.trigger, dep.trigger_date = (trigger or None), d
    if supplier_fault is not None:
        dep.supplier_fault = supplier_fault
        dep.supplier_fault_reason = fault_reason
    validate_deposit(session, dep, scope=scope)
    session.flush()
    return dep

