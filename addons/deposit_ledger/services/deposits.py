"""Recording a deposit: validation (caps, forms, guarantees, the trigger event) and its
receipt entry."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from addons.procurement_base.models import PROJECT_STATES, Bid, Contract, Project
from addons.procurement_base.services import (
    Errors,
    check_money,
    today,
)
from core.models import Organization
from core.services import audit, settings
from core.services.money import fmt_yuan, percent_cap
from core.tenancy import Scope, ScopeViolation, current_scope

from ..models import (
    FORMS,
    GUARANTEE_TYPES,
    KINDS,
    STATES,
    TRIGGERS,
    Deposit,
    DepositEntry,
)
from .balances import compute_due
from .common import ZERO, _actor_name, _date, _missing, _now, _old, _pct, _rel, _text

# -- validation of a deposit --------------------------------------------------------------------------
EDITABLE_AFTER_RECEIPT = ("payer_account", "payer_bank", "trigger", "trigger_date",
                          "supplier_fault", "supplier_fault_reason", "note",
                          "guarantee_valid_until")


def _check_manages(session: Session, errors: Errors, project: Project, scope: Scope) -> None:
    """A purchaser records deposits of its own projects, an agency of the projects entrusted
    to it (region users of finance may not: they supervise)."""
    if scope.unrestricted or scope.org_id is None:
        return
    if scope.actor == "purchaser" and project.purchaser_id != scope.org_id:
        parent = session.get(Organization, project.purchaser_id)
        if parent is None or parent.parent_id != scope.org_id:
            raise ScopeViolation("project", "只能管理本单位采购项目的保证金")
    elif scope.actor == "agency" and project.agency_id != scope.org_id:
        raise ScopeViolation("project", "只能管理受托代理的采购项目的保证金")
    elif scope.actor in ("supplier", "bank", "expert"):
        raise ScopeViolation("project", "供应商不能登记或修改保证金")


def validate_deposit(session: Session, dep: Deposit, *, scope: Scope | None = None) -> None:
    """Check a new or changed deposit; fill region, holder, package, due date; raise
    :class:`RuleError` with Chinese field messages (nothing written)."""
    scope = scope or current_scope()
    errors = Errors()
    new = _old(dep, "id") is None and dep.id is None
    with session.no_autoflush:
        if not new:
            _validate_edit(session, dep, errors)
            errors.raise_if_any()
            _finish_trigger(session, dep, errors)
            errors.raise_if_any()
            _check_manages(session, errors, dep.project, scope)
            return
        dep.number = _text(dep.number)
        if not dep.number:
            errors.add("number", "保证金编号不能为空")
        if dep.kind not in KINDS:
            errors.add("kind", "保证金类型只能是：投标保证金（bid）、履约保证金（performance）")
        project = _rel(session, dep, "project")
        package = _rel(session, dep, "package")
        bid = _rel(session, dep, "bid")
        contract = _rel(session, dep, "contract")
        supplier = _rel(session, dep, "supplier")
        holder = _rel(session, dep, "holder")
        if contract is not None and project is None:
            project = contract.project
            dep.project = project
        if bid is not None and package is None:
            package = bid.package
            dep.package = package
        if package is not None and project is None:
            project = package.project
            dep.project = project
        if _missing(errors, "project", project, "采购项目"):
            project = None
        if project is not None:
            region = _rel(session, dep, "region")
            if region is None:
                dep.region_id = project.region_id
                dep.region = project.region
            elif region.id != project.region_id:
                errors.add("region", f"所在地区必须与采购项目一致（{project.region.name}）")
            _check_manages(session, errors, project, scope)
        if package is not None and project is not None and package.project_id != project.id:
            errors.add("package", "所选采购包不属于该采购项目")
        if supplier is None and bid is not None:
            supplier = bid.supplier
            dep.supplier = supplier
        if _missing(errors, "supplier", supplier, "供应商"):
            supplier = None
        elif supplier.org_type != "supplier":
            errors.add("supplier", "所选单位不是供应商")
        if bid is not None:
            if package is not None and bid.package_id != package.id:
                errors.add("bid", "所选投标不属于该采购包")
            if supplier is not None and bid.supplier_id != supplier.id:
                errors.add("bid", "所选投标不是该供应商的投标")
        if holder is None and project is not None:
            holder = project.agency or project.purchaser
            dep.holder = holder
        if holder is not None and project is not None and holder.id not in (
                project.agency_id, project.purchaser_id):
            errors.add("holder", "收取单位只能是该项目的采购人或采购代理机构")
        amount = check_money(errors, "amount", dep.amount, "保证金金额")
        if amount is not None:
            dep.amount = amount
        if dep.kind == "bid" and project is not None and amount is not None:
            if contract is not None:
                errors.add("contract", "投标保证金不关联合同")
            base = package.budget if package is not None else project.budget
            what = "采购包预算" if package is not None else "采购项目预算"
            cap_pct = settings.get("deposit.bid_cap_percent", region_id=project.region_id,
                                   session=session)
            cap = percent_cap(base, cap_pct)  # exact; shown rounded down to the fen
            if cap.exceeded_by(amount):
                errors.add("amount", f"投标保证金不得超过{what}的{_pct(cap_pct)}%"
                                     f"（{what} {fmt_yuan(base)}，上限 {fmt_yuan(cap.shown)}）")
        if dep.kind == "performance" and project is not None:
            if contract is None:
                errors.add("contract", "履约保证金须关联采购合同")
            else:
                if contract.project_id != project.id:
                    errors.add("contract", "所选合同不属于该采购项目")
                if supplier is not None and contract.supplier_id != supplier.id:
                    errors.add("contract", "所选合同的供应商不是该供应商")
                if amount is not None:
                    cap_pct = settings.get("deposit.performance_cap_percent",
                                           region_id=project.region_id, session=session)
                    cap = percent_cap(contract.amount, cap_pct)
                    if cap.exceeded_by(amount):
                        errors.add("amount", f"履约保证金不得超过合同金额的{_pct(cap_pct)}%"
                                             f"（合同金额 {fmt_yuan(contract.amount)}，上限 {fmt_yuan(cap.shown)}）")
        if dep.form not in FORMS:
            errors.add("form", "缴纳形式只能是：银行转账（transfer）、支票（cheque）、汇票（draft）、"
                               "保函（guarantee）；不收取现金")
        elif dep.form == "guarantee":
            if dep.guarantee_type not in GUARANTEE_TYPES:
                errors.add("guarantee_type", "请选择保函类型：银行保函、保证保险、电子保函")
            if not _text(dep.guarantee_number):
                errors.add("guarantee_number", "请填写保函编号")
            if not _text(dep.guarantee_issuer):
                errors.add("guarantee_issuer", "请填写出具机构")
            if dep.guarantee_valid_until is None:
                errors.add("guarantee_valid_until", "请填写保函有效期")
        else:
            for f in ("guarantee_type", "guarantee_number", "guarantee_issuer",
                      "guarantee_valid_until"):
                if getattr(dep, f) not in (None, ""):
                    errors.add(f, "只有保函形式才填写保函信息")
        received = _date(errors, "received_date", dep.received_date, "收取日期")
        if received is not None:
            dep.received_date = received
            if (dep.form == "guarantee" and dep.guarantee_valid_until is not None
                    and dep.guarantee_valid_until < received):
                errors.add("guarantee_valid_until", "保函有效期不能早于收取日期")
        if dep.number and project is not None:
            other = session.execute(select(Deposit.id).where(
                Deposit.region_id == project.region_id, Deposit.number == dep.number)
                .execution_options(erp_unscoped=True)).first()
            if other is not None:
                errors.add("number", f"保证金编号 {dep.number} 已存在", duplicate=True)
        if dep.supplier_fault is None:
            dep.supplier_fault = False
        dep.status = "held"
        errors.raise_if_any()
        _finish_trigger(session, dep, errors)
    errors.raise_if_any()


def _validate_edit(session: Session, dep: Deposit, errors: Errors) -> None:
    from sqlalchemy import inspect

    state = inspect(dep)
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in EDITABLE_AFTER_RECEIPT or key in ("due_date", "status", "settled_date",
                                                    "converted_to_id"):
            continue
        hist = state.attrs[key].history
        if hist.added and hist.deleted and hist.added[0] != hist.deleted[0]:
            errors.add(key, "登记后不能修改（金额、项目、供应商等以台账为准；如登记有误请冲销后重新登记）")
    for rel in ("project", "package", "bid", "contract", "supplier", "holder", "region"):
        hist = state.attrs[rel].history
        if hist.added and hist.added[0] is not None and hist.deleted and \
                hist.added[0] is not hist.deleted[0]:
            errors.add(rel, "登记后不能修改")
    if dep.status != "held":
        changed = [k for k in ("trigger", "trigger_date", "supplier_fault") if
                   state.attrs[k].history.added and state.attrs[k].history.deleted and
                   state.attrs[k].history.added[0] != state.attrs[k].history.deleted[0]]
        if changed:
            errors.add(changed[0], f"保证金状态为“{STATES.get(dep.status)}”，不能再修改退还事由")


def _finish_trigger(session: Session, dep: Deposit, errors: Errors) -> None:
    if dep.trigger in ("", None):
        dep.trigger = None
    if dep.trigger is not None and dep.trigger not in TRIGGERS:
        errors.add("trigger", "退还事由只能是：" + "、".join(f"{v}（{k}）" for k, v in TRIGGERS.items()))
        return
    if dep.trigger == "performance_done" and dep.kind == "bid":
        errors.add("trigger", "投标保证金的退还事由不能是“合同履行完毕”")
    if dep.kind == "performance" and dep.trigger not in (None, "performance_done", "termination"):
        errors.add("trigger", "履约保证金的退还事由只能是“合同履行完毕”或“采购活动终止”")
    if dep.trigger and dep.trigger_date is None:
        errors.add("trigger_date", "请填写触发事件日期")
    if dep.trigger_date is not None and not dep.trigger:
        errors.add("trigger", "请选择退还事由")
    if dep.trigger_date is not None:
        if dep.trigger_date > today():
            errors.add("trigger_date", "触发事件日期不能晚于今天")
        elif dep.received_date and dep.trigger_date < dep.received_date and dep.trigger != "withdrawal":
            errors.add("trigger_date", "触发事件日期不能早于保证金收取日期")
    dep.supplier_fault = bool(dep.supplier_fault)
    if dep.supplier_fault and not _text(dep.supplier_fault_reason):
        errors.add("supplier_fault_reason", "记录为供应商自身原因延误时须填写原因")
    if errors.messages:
        return
    mismatch = trigger_mismatch(session, dep)
    if mismatch is not None:
        override = _text(getattr(dep, "_trigger_override_reason", None))
        if not override:
            errors.add("trigger_date" if mismatch[0] == "date" else "trigger", mismatch[1] +
                       "；如确需不同，请填写书面说明（override_reason），该操作将记入审计日志")
            return
        audit.record(session, action="trigger_override", object_type="dl_deposit",
                     object_id=dep.id, module="deposit_ledger", region_id=dep.region_id,
                     after={"trigger": dep.trigger, "trigger_date": dep.trigger_date,
                            "record": mismatch[1]}, reason=override)
    dep.due_date = compute_due(session, dep)


#: the Beijing time offset: the date of a transition recorded in UTC in the audit log
_BEIJING = dt.timedelta(hours=8)


def _termination_date(session: Session, project: Project) -> dt.date | None:
    """The date the project was terminated (or failed): its 终止/废标 transition in the
    audit log, in Beijing time."""
    from core.models import AuditLog

    at = session.execute(select(func.max(AuditLog.at)).where(
        AuditLog.object_type == "pb_project", AuditLog.object_id == str(project.id),
        AuditLog.action.in_(("transition:terminate", "transition:fail")))).scalar()
    return (at + _BEIJING).date() if at is not None else None


def _withdrawal_date(bid: Bid) -> dt.date | None:
    at = getattr(bid, "withdrawn_at", None)
    return at.date() if isinstance(at, dt.datetime) else at


def trigger_mismatch(session: Session, dep: Deposit) -> tuple[str, str] | None:
    """Whether a deposit's refund trigger and its date disagree with the procurement
    record (issue 12 finding 13): ``("trigger" | "date", message)`` or None.

    * 中标通知书发出: a losing (not the winning, not a withdrawn) bid, dated the project's
      award date;
    * 合同签订: the winning bid, dated its contract's signing date;
    * 撤回投标: a withdrawn bid, dated no later than the bid deadline (and its recorded
      withdrawal date when there is one);
    * 采购活动终止: a terminated or failed project, dated its termination.
    """
    if not dep.trigger or dep.trigger_date is None or dep.project is None:
        return None
    project, bid, on = dep.project, dep.bid, dep.trigger_date
    label = TRIGGERS.get(dep.trigger, dep.trigger)
    if dep.trigger == "termination":
        if project.status not in ("terminated", "failed"):
            state = PROJECT_STATES.get(project.status, project.status)
            return "trigger", f"退还事由“{label}”与采购记录不符：项目状态为“{state}”，未终止"
        ended = _termination_date(session, project)
        if ended is not None and on != ended:
            return "date", f"触发事件日期应为项目终止日期 {ended.isoformat()}"
        return None
    if dep.kind != "bid":
        return None
    if dep.trigger == "award_notice":
        if bid is not None and bid.status == "won":
            return "trigger", "中标人的投标保证金应以“合同签订（中标人）”为退还事由"
        if bid is not None and bid.status == "withdrawn":
            return "trigger", "该投标已撤回，退还事由应为“投标截止前书面撤回投标”"
        if project.award_date is None:
            return "trigger", "项目尚未记录中标通知书发出日期（中标日期）"
        if on != project.award_date:
            return "date", f"触发事件日期应为中标通知书发出日期 {project.award_date.isoformat()}"
    elif dep.trigger == "contract_signed":
        if bid is None or bid.status != "won":
            return "trigger", "只有中标人的投标保证金以“合同签订”为退还事由；未中标人应为“中标通知书发出”"
        signed = session.execute(select(func.min(Contract.signed_date)).where(
            Contract.package_id == bid.package_id, Contract.supplier_id == bid.supplier_id,
            Contract.signed_date.is_not(None))).scalar()
        if signed is None:
            return "trigger", "中标人尚未签订合同"
        if on != signed:
            return "date", f"触发事件日期应为合同签订日期 {signed.isoformat()}"
    elif dep.trigger == "withdrawal":
        if bid is not None and bid.status != "withdrawn":
            return "trigger", "该投标未撤回，退还事由不能是“投标截止前书面撤回投标”"
        deadline = project.bid_deadline
        if deadline is not None and on > deadline.date():
            return "date", (f"撤回日期 {on.isoformat()} 晚于投标截止时间 "
                            f"{deadline.strftime('%Y-%m-%d %H:%M')}：截止后撤回不适用此退还事由")
        recorded = _withdrawal_date(bid) if bid is not None else None
        if recorded is not None and on != recorded:
            return "date", f"触发事件日期应为书面撤回日期 {recorded.isoformat()}"
    return None


def record_deposit(session: Session, dep: Deposit, *, scope: Scope | None = None) -> Deposit:
    """Validate and add a deposit with its receipt entry (money forms); flushes."""
    validate_deposit(session, dep, scope=scope)
    session.add(dep)
    add_receipt(session, dep)
    session.flush()
    return dep


def add_receipt(session: Session, dep: Deposit) -> DepositEntry | None:
    """The receipt entry of a new money deposit (a guarantee moves no money)."""
    if dep.form == "guarantee":
        return None
    entry = DepositEntry(deposit=dep, kind="receipt", amount=dep.amount,
                         entry_date=dep.received_date, bank_reference=dep.receipt_reference,
                         payee_account=dep.payer_account, region_id=dep.region_id,
                         late_fee=ZERO, overdue_days=0, created_at=_now(),
                         created_by=_actor_name())
    dep.created_at = dep.created_at or _now()
    session.add(entry)
    return entry

