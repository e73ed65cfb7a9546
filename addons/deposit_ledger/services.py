"""Business rules of ``deposit_ledger``: plain Python on a SQLAlchemy session.

* recording a deposit (caps of 条例 art. 33 / 48 as settings, forms and guarantees), its
  receipt entry in the same transaction;
* refund-due dates from the trigger event in working days (Civil Code art. 201: the day of
  the event is not counted), and the due today / due soon / overdue lists;
* the late-refund fee of 87号令 art. 38 (principal x LPR x 1.2 x days / basis; each LPR in
  force applied to its own days);
* the ledger operations - refund, forfeiture (only for a reason the project lists),
  remittance to the treasury, conversion of a winner's bid deposit into the performance
  deposit, release of a guarantee, reversal - each one locking the deposit row (``SELECT
  ... FOR UPDATE``) and moving its status by a named transition of :data:`DEPOSIT_FLOW`
  (audited); the ledger is insert-only (ORM guard here, database triggers in the
  migration).

Errors: :class:`RuleError` (422, ``{field: [Chinese message]}``), ``TransitionError`` (409
for a state that no longer allows the operation: a second refund, a concurrent one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import case, event, func, select
from sqlalchemy.orm import Session

from addons.procurement_base.models import PROJECT_STATES, Bid, Contract, Project
from addons.procurement_base.services import (
    DuplicateError,
    Errors,
    RuleError,
    check_money,
    today,
)
from core import tenancy
from core.models import Organization
from core.rules import is_persisted, related_object, stored_value, text_value
from core.services import audit, settings, workdays
from core.services.calendar import CalendarNotCovered
from core.services.money import fmt_yuan, percent_cap, to_money
from core.services.statemachine import StateMachine, Transition, TransitionError
from core.tenancy import Scope, ScopeViolation, current_scope

from .models import (
    ENTRY_KINDS,
    FORMS,
    GUARANTEE_TYPES,
    KINDS,
    STATES,
    TRIGGERS,
    Deposit,
    DepositEntry,
    ForfeitReason,
    LprRate,
    ProjectForfeitReason,
)

MODULE = "deposit_ledger"

_old = stored_value
_rel = related_object
_text = text_value


def _missing(errors: Errors, field: str, obj: Any, label: str) -> bool:
    """Record an error when a referenced record is absent (or not visible); True if so."""
    if obj is None:
        errors.add(field, f"请选择{label}")
        return True
    if not is_persisted(obj):
        errors.add(field, f"所选{label}不存在或不在您的管辖范围内")
        return True
    return False

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
MONEY_FORMS = ("transfer", "cheque", "draft")
__all__ = [
    "DEPOSIT_FLOW", "LedgerImmutableError", "RuleError", "DuplicateError", "TransitionError",
    "accrued_late_fee", "balances", "compute_due", "convert", "forfeit", "late_fee", "record_deposit", "refund",
    "release", "remit", "reverse", "validate_deposit",
]

# -- settings (every legal number) -------------------------------------------------------------
settings.declare(
    "deposit.bid_cap_percent", type="percent", default="2",
    label_zh="投标保证金上限（占采购项目或采购包预算的百分比）",
    help_zh="超过上限的投标保证金不予登记。", source="《政府采购法实施条例》第三十三条",
    module=MODULE)
settings.declare(
    "deposit.performance_cap_percent", type="percent", default="10",
    label_zh="履约保证金上限（占合同金额的百分比）",
    help_zh="超过上限的履约保证金不予登记。", source="《政府采购法实施条例》第四十八条",
    module=MODULE)
REFUND_DAYS = {
    "award_notice": ("deposit.refund_days_award", "未中标人投标保证金退还期限（中标通知书发出后，工作日）",
                     "《政府采购货物和服务招标投标管理办法》（财政部令第87号）第三十八条"),
    "contract_signed": ("deposit.refund_days_contract", "中标人投标保证金退还期限（合同签订后，工作日）",
                        "财政部令第87号第三十八条"),
    "withdrawal": ("deposit.refund_days_withdrawal", "撤回投标的保证金退还期限（收到书面撤回通知后，工作日）",
                   "财政部令第87号第三十八条"),
    "termination": ("deposit.refund_days_termination", "采购活动终止后保证金退还期限（工作日）",
                    "财政部令第87号第二十九条"),
    "performance_done": ("deposit.refund_days_performance", "履约保证金退还期限（合同履行完毕后，工作日）",
                         "采购合同约定（平台默认值）"),
}
for _key, _label, _source in REFUND_DAYS.values():
    settings.declare(_key, type="int", default=5, label_zh=_label, source=_source, module=MODULE,
                     help_zh="期间自触发事件次日起算，遇法定节假日顺延（《民法典》第二百零一条）。")
settings.declare(
    "deposit.late_fee_markup", type="decimal", default="1.2",
    label_zh="逾期退还资金占用费利率上浮系数", help_zh="按同期贷款市场报价利率（一年期LPR）上浮20%计算。",
    source="财政部令第87号第三十八条", module=MODULE)
settings.declare(
    "deposit.day_count_basis", type="int", default=360, label_zh="资金占用费计息天数基数（年）",
    help_zh="日利率 = 年利率 ÷ 基数；金融惯例为360天。", source="平台约定", module=MODULE)
settings.declare(
    "deposit.cleanup_cutoff", type="date", default="2022-05-01",
    label_zh="保证金清理截止日期", help_zh="此日期前已结束的采购项目仍在管的保证金纳入清理。",
    source="吉林省政府采购领域保证金清理工作方案（2022年）", module=MODULE)
settings.declare(
    "deposit.due_soon_days", type="int", default=3, label_zh="即将到期提醒（工作日）",
    help_zh="退还期限在今后若干个工作日内的保证金列为“即将到期”。", source="平台约定", module=MODULE)


# -- errors and the status machine ---------------------------------------------------------------
class LedgerImmutableError(RuntimeError):
    """An attempt to change or delete a ledger entry (a programming error: use a reversal)."""


DEPOSIT_FLOW = StateMachine(
    field="status",
    states=STATES,
    initial="held",
    subject_zh="保证金",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("refund", "held", "refunded", label_zh="退还"),
        Transition("forfeit", "held", "forfeited", label_zh="不予退还"),
        Transition("remit", "forfeited", "remitted", label_zh="上缴国库"),
        Transition("convert", "held", "converted", label_zh="转为履约保证金"),
        Transition("release", "held", "released", label_zh="解除保函"),
        Transition("void", "held", "void", require_reason=True, label_zh="冲销收取"),
        Transition("reverse", ("refunded", "forfeited", "converted", "released"), "held",
                   require_reason=True, label_zh="冲销"),
        Transition("reverse", "remitted", "forfeited", require_reason=True, label_zh="冲销"),
    ],
)
#: entry kind -> the transition its reversal makes
REVERSE_OF = {"receipt": "void", "conversion_in": "void"}


# -- small helpers ---------------------------------------------------------------------------------
_ISO = __import__("re").compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_date(raw: str) -> dt.date:
    """A date written YYYY-MM-DD (ValueError otherwise; Python also accepts 20220501)."""
    raw = raw.strip()
    if not _ISO.match(raw):
        raise ValueError(raw)
    return dt.date.fromisoformat(raw)


def _pct(value: Decimal) -> str:
    """2 -> "2", 2.50 -> "2.5" (never "1E+1")."""
    return format(Decimal(value).normalize(), "f")


def _actor_name() -> str:
    return audit.resolve_actor()[0]


def _now() -> dt.datetime:
    return audit.utcnow()


def _date(errors: Errors, field_name: str, value: Any, label: str, *, required: bool = True,
          not_future: bool = True) -> dt.date | None:
    if value is None or value == "":
        if required:
            errors.add(field_name, f"请填写{label}")
        return None
    if isinstance(value, str):
        try:
            value = parse_iso_date(value)
        except ValueError:
            errors.add(field_name, f"{label}格式不正确，应为 YYYY-MM-DD")
            return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        errors.add(field_name, f"{label}格式不正确，应为 YYYY-MM-DD")
        return None
    if not_future and value > today():
        errors.add(field_name, f"{label}不能晚于今天")
        return None
    return value


def _lock(session: Session, deposit_id: int) -> Deposit:
    """Lock the deposit row until the transaction ends and reload it (PostgreSQL ``FOR
    UPDATE``; SQLite serialises writers): two refunds cannot both see it held."""
    dep = session.execute(
        select(Deposit).where(Deposit.id == deposit_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if dep is None:
        raise RuleError({"deposit": ["保证金不存在或不在您的管辖范围内"]})
    return dep


# -- balances ---------------------------------------------------------------------------------------
@dataclass
class Balances:
    received: Decimal = ZERO
    refunded: Decimal = ZERO
    forfeited: Decimal = ZERO
    remitted: Decimal = ZERO
    converted: Decimal = ZERO

    @property
    def held(self) -> Decimal:
        """在管余额 = received - refunded - forfeited - converted."""
        return self.received - self.refunded - self.forfeited - self.converted

    @property
    def unremitted(self) -> Decimal:
        """已不予退还、尚未上缴的金额."""
        return self.forfeited - self.remitted

    def as_dict(self) -> dict[str, Decimal]:
        return {"received": self.received, "refunded": self.refunded, "forfeited": self.forfeited,
                "remitted": self.remitted, "converted": self.converted, "held": self.held,
                "unremitted": self.unremitted}


#: balance bucket of each entry kind
BUCKET = {"receipt": "received", "conversion_in": "received", "refund": "refunded",
          "forfeiture": "forfeited", "remittance": "remitted", "conversion_out": "converted"}


def balances(session: Session, deposit_id: int) -> Balances:
    """The deposit's balances, summed from its ledger (a reversal subtracts from the bucket
    of the entry it reverses)."""
    E = DepositEntry
    kind = case((E.kind == "reversal", E.reversed_kind), else_=E.kind)
    sign = case((E.kind == "reversal", -1), else_=1)
    rows = session.execute(
        select(kind, func.sum(E.amount * sign)).where(E.deposit_id == deposit_id).group_by(kind)
    ).all()
    b = Balances()
    for k, total in rows:
        bucket = BUCKET.get(k)
        if bucket:
            setattr(b, bucket, getattr(b, bucket) + to_money(total, strict=False))
    return b


def live_entries(session: Session, deposit_id: int) -> list[DepositEntry]:
    """Entries not reversed and not reversals themselves, oldest first."""
    E = DepositEntry
    reversed_ids = select(E.reverses_id).where(E.reverses_id.is_not(None))
    return list(session.execute(
        select(E).where(E.deposit_id == deposit_id, E.kind != "reversal",
                        E.id.not_in(reversed_ids)).order_by(E.id)).scalars())


# -- LPR and the late fee ----------------------------------------------------------------------------
def lpr_periods(session: Session) -> list[tuple[dt.date, Decimal]]:
    """(effective date, one-year LPR in per cent), oldest first."""
    return [(d, Decimal(r)) for d, r in session.execute(
        select(LprRate.effective_date, LprRate.rate_percent).order_by(LprRate.effective_date))]


@dataclass
class LateFee:
    fee: Decimal
    days: int
    segments: list[dict[str, Any]] = field(default_factory=list)


def late_fee(session: Session, principal: Decimal, due_date: dt.date | None,
             paid_date: dt.date, *, region_id: int | None = None,
             periods: list[tuple[dt.date, Decimal]] | None = None) -> LateFee:
    """资金占用费 for a refund made on ``paid_date`` that was due on ``due_date``.

    fee = principal x sum over the overdue days d of (LPR in force on d x markup) / basis,
    the overdue days being ``due_date`` + 1 .. ``paid_date`` (calendar days). Each LPR
    applies to its own days when the rate changed in the period; the sum is rounded once,
    ROUND_HALF_UP to fen.
    """
    if due_date is None or paid_date <= due_date:
        return LateFee(ZERO, 0)
    markup = settings.get("deposit.late_fee_markup", region_id=region_id, session=session)
    basis = settings.get("deposit.day_count_basis", region_id=region_id, session=session)
    periods = periods if periods is not None else lpr_periods(session)
    first = due_date + dt.timedelta(days=1)
    if not periods or periods[0][0] > first:
        raise RuleError({"entry_date": [
            f"LPR利率表缺少 {first.isoformat()} 适用的一年期LPR，请先在“LPR利率表”中补录"]})
    segments, total_rate_days = [], Decimal(0)
    for i, (start, rate) in enumerate(periods):
        end = periods[i + 1][0] - dt.timedelta(days=1) if i + 1 < len(periods) else paid_date
        lo, hi = max(start, first), min(end, paid_date)
        if lo > hi:
            continue
        days = (hi - lo).days + 1
        total_rate_days += rate * days
        segments.append({"from": lo, "to": hi, "days": days, "lpr": rate,
                         "rate": (rate * markup).normalize()})
    fee = (to_money(principal) * total_rate_days * markup / Decimal(100) / Decimal(basis)
           ).quantize(FEN, rounding=ROUND_HALF_UP)
    return LateFee(fee, (paid_date - due_date).days, segments)


def accrued_late_fee(session: Session, dep: Deposit, on: dt.date | None = None
                     ) -> tuple[Decimal, int] | None:
    """The late fee (资金占用费) accrued on a held, overdue money deposit up to ``on``
    (today): ``(fee, overdue days)``; the fee is zero when the delay is the supplier's own
    fault; None when none can accrue (not held, no due date, a guarantee). Raises a
    RuleError when the LPR table lacks a rate for the period."""
    if dep.status != "held" or dep.due_date is None or dep.form == "guarantee":
        return None
    fee = late_fee(session, balances(session, dep.id).held, dep.due_date, on or today(),
                   region_id=dep.region_id)
    return (ZERO if dep.supplier_fault else fee.fee), fee.days


# -- due dates --------------------------------------------------------------------------------------
def refund_days(session: Session, trigger: str, region_id: int | None) -> int:
    return settings.get(REFUND_DAYS[trigger][0], region_id=region_id, session=session)


def compute_due(session: Session, dep: Deposit) -> dt.date | None:
    """Refund-due date: the N-th working day after the trigger date (the trigger day is not
    counted; weekends and official holidays skipped, make-up working days counted)."""
    if not dep.trigger or dep.trigger_date is None:
        return None
    n = refund_days(session, dep.trigger, dep.region_id)
    try:
        return workdays.add_working_days(dep.trigger_date, n, session)
    except CalendarNotCovered as exc:
        raise RuleError({"trigger_date": [str(exc)]}) from None


def suggested_trigger(session: Session, dep: Deposit) -> tuple[str | None, dt.date | None]:
    """The trigger the procurement records already show (for forms and the demo): the
    award notice for a losing bid, contract signing for the winner, termination."""
    project = dep.project
    if project is None:
        return None, None
    if dep.kind == "bid":
        if project.status in ("terminated", "failed"):
            return "termination", None
        bid = dep.bid
        if bid is not None and bid.status == "lost" and project.award_date:
            return "award_notice", project.award_date
        if bid is not None and bid.status == "withdrawn":
            return "withdrawal", None
        if bid is not None and bid.status == "won":
            signed = session.execute(select(func.min(Contract.signed_date)).where(
                Contract.package_id == bid.package_id, Contract.supplier_id == bid.supplier_id,
                Contract.signed_date.is_not(None))).scalar()
            if signed:
                return "contract_signed", signed
    return None, None


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
    if dep.form == "guarantee":
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


# -- lists -------------------------------------------------------------------------------------------
def due_window(session: Session, region_id: int | None = None, on: dt.date | None = None
               ) -> tuple[dt.date, dt.date]:
    on = on or today()
    n = settings.get("deposit.due_soon_days", region_id=region_id, session=session)
    try:
        return on, workdays.add_working_days(on, n, session)
    except CalendarNotCovered:
        return on, on + dt.timedelta(days=n)


def due_query(which: str, on: dt.date, soon_until: dt.date):
    """Held deposits due today / soon / overdue (a select of Deposit, scoped as usual)."""
    stmt = select(Deposit).where(Deposit.status == "held", Deposit.due_date.is_not(None))
    if which == "today":
        stmt = stmt.where(Deposit.due_date == on)
    elif which == "soon":
        stmt = stmt.where(Deposit.due_date > on, Deposit.due_date <= soon_until)
    elif which == "overdue":
        stmt = stmt.where(Deposit.due_date < on)
    else:
        raise ValueError(which)
    return stmt.order_by(Deposit.due_date, Deposit.id)


# -- the ledger is insert-only -----------------------------------------------------------------------
def _guard_ledger(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in session.deleted:
        if isinstance(obj, DepositEntry):
            raise LedgerImmutableError("保证金台账分录不可删除，更正请做冲销分录")
    for obj in session.dirty:
        if isinstance(obj, DepositEntry) and session.is_modified(obj, include_collections=False):
            raise LedgerImmutableError("保证金台账分录不可修改，更正请做冲销分录")


def _guard_bulk(state: Any) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None and \
            state.bind_mapper.class_ is DepositEntry:
        raise LedgerImmutableError("保证金台账分录不可修改或删除，更正请做冲销分录")


# -- audit: every deposit and entry -------------------------------------------------------------------
AUDITED = ("amount", "trigger", "trigger_date", "due_date", "supplier_fault",
           "supplier_fault_reason", "payer_account")


def _audit(session: Session, flush_context: Any) -> None:
    new = [o for o in session.new if isinstance(o, (Deposit, DepositEntry))]
    dirty = [o for o in session.dirty if isinstance(o, Deposit)]
    if not new and not dirty:
        return
    from sqlalchemy import inspect

    conn = session.connection()
    for obj in new:
        if isinstance(obj, DepositEntry):
            after = audit.row_dict(obj, ["deposit_id", "kind", "reversed_kind", "amount",
                                         "entry_date", "payee_account", "bank_reference",
                                         "voucher_no", "reason_id", "reverses_id",
                                         "linked_entry_id", "late_fee", "overdue_days"])
            audit.record(conn, action="create", object_type="dl_entry", object_id=obj.id,
                         after=after, module=MODULE, region_id=obj.region_id)
        else:
            after = audit.row_dict(obj, ["number", "kind", "project_id", "supplier_id", "form",
                                         "amount", "received_date", "status", *AUDITED[1:]])
            audit.record(conn, action="create", object_type="dl_deposit", object_id=obj.id,
                         after=after, module=MODULE, region_id=obj.region_id)
    for obj in dirty:
        state = inspect(obj)
        before, after = {}, {}
        for key in AUDITED:
            hist = state.attrs[key].history
            if hist.added or hist.deleted:
                old = hist.deleted[0] if hist.deleted else None
                new_ = hist.added[0] if hist.added else None
                if old != new_:
                    before[key], after[key] = old, new_
        if before or after:
            audit.record(conn, action="update", object_type="dl_deposit", object_id=obj.id,
                         before=before, after=after, module=MODULE, region_id=obj.region_id)


def _install_listeners() -> None:
    if not event.contains(Session, "before_flush", _guard_ledger):
        event.listen(Session, "before_flush", _guard_ledger)
    if not event.contains(Session, "do_orm_execute", _guard_bulk):
        event.listen(Session, "do_orm_execute", _guard_bulk)
    if not event.contains(Session, "after_flush", _audit):
        event.listen(Session, "after_flush", _audit)


_install_listeners()


def check_delete(session: Session, obj: Any) -> None:
    """A deposit is never deleted (its receipt is in the ledger): reverse the receipt."""
    if isinstance(obj, Deposit):
        raise RuleError({"_schema": ["保证金登记后不能删除；登记有误请冲销收取分录"]})
    if isinstance(obj, ProjectForfeitReason):
        used = session.execute(select(DepositEntry.id).join(Deposit, Deposit.id == DepositEntry.deposit_id)
                               .where(Deposit.project_id == obj.project_id,
                                      DepositEntry.reason_id == obj.reason_id)).first()
        if used is not None:
            raise RuleError({"_schema": ["该事由已被用于不予退还，不能删除"]})


def validate_project_reason(session: Session, pr: ProjectForfeitReason, *,
                            scope: Scope | None = None) -> None:
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        project = _rel(session, pr, "project")
        reason = _rel(session, pr, "reason")
        if not _missing(errors, "project", project, "采购项目"):
            region = _rel(session, pr, "region")
            if region is None:
                pr.region_id = project.region_id
                pr.region = project.region
            elif region.id != project.region_id:
                errors.add("region", f"所在地区必须与采购项目一致（{project.region.name}）")
            _check_manages(session, errors, project, scope)
        if not _missing(errors, "reason", reason, "不予退还事由") and not reason.active:
            errors.add("reason", "该事由已停用")
        if project is not None and reason is not None and not errors.messages:
            dup = session.execute(select(ProjectForfeitReason.id).where(
                ProjectForfeitReason.project_id == project.id,
                ProjectForfeitReason.reason_id == reason.id,
                ProjectForfeitReason.id != (pr.id or -1))).first()
            if dup is not None:
                errors.add("reason", "该项目已载明此事由", duplicate=True)
    errors.raise_if_any()


def validate_lpr(session: Session, rate: LprRate) -> None:
    errors = Errors()
    d = _date(errors, "effective_date", rate.effective_date, "生效日期", not_future=False)
    if d is not None:
        rate.effective_date = d
    try:
        value = Decimal(str(rate.rate_percent)) if rate.rate_percent is not None else None
    except Exception:
        value = None
    if value is None or not value.is_finite():
        errors.add("rate_percent", "请填写利率（百分比，如 3.45）")
    elif not Decimal("0") < value < Decimal("100"):
        errors.add("rate_percent", "利率须大于0且小于100（单位：%）")
    elif value.as_tuple().exponent < -4:
        errors.add("rate_percent", "利率最多四位小数")
    if d is not None and not errors.messages:
        dup = session.execute(select(LprRate.id).where(LprRate.effective_date == d,
                                                       LprRate.id != (rate.id or -1))).first()
        if dup is not None:
            errors.add("effective_date", f"{d.isoformat()} 的利率已存在", duplicate=True)
    errors.raise_if_any()


def entry_label(kind: str) -> str:
    return ENTRY_KINDS.get(kind, kind)


def ids(values: Iterable[Any]) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]
