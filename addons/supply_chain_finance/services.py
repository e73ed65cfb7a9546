"""Business rules of contract financing (政府采购合同融资, 政采贷): plain Python on a session.

* :func:`institutions_for` - the participating institutions serving a contract's region,
  in a neutral order (shuffled per call: never sorted by anything a purchaser controls);
* :func:`apply` - a supplier applies on its own contract (award notice or signed contract)
  to a bank of its own choosing; no guarantee or collateral field exists;
* :func:`contract_data` - what the bank sees, straight from the records;
* :func:`decide` (approve / reject / ask for more), :func:`reply`, :func:`withdraw`,
  :func:`disburse`, :func:`repay`, :func:`release` - the bank records its decision (the
  platform never makes it); :func:`confirm_account` - the purchaser confirms the repayment
  account, which then locks the contract's payee;
* no double financing: at most one approved or disbursed financing per contract and the
  financed amount never above contract amount − paid − other financing, checked with the
  contract row locked (``SELECT ... FOR UPDATE``) and guarded by a UNIQUE column;
* the payment validator implementing ``procurement_base.payment_validators``: a payment of
  a contract with a confirmed lock must go to the locked account;
* every change is audited (:mod:`core.services.audit`) and the events banks subscribe to
  are written to the webhook outbox in the same transaction (:mod:`.webhooks`).

Errors are the platform's (:mod:`core.errors`): ``RuleError`` 422 by field,
``ConflictError`` 409, ``ForbiddenError`` 403, ``NotFoundError`` 404.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from addons.procurement_base.models import (
    CONTRACT_STATES,
    METHODS,
    SME_LABELS,
    Contract,
    Payment,
    PaymentPlan,
)
from addons.procurement_base.services import CST, today
from addons.procurement_base.services.contracts import PAYEE_ACCOUNT_HINTS, PAYMENT_VALIDATORS
from core.errors import ConflictError, ForbiddenError, NotFoundError, RuleError
from core.models import Region
from core.services import audit, settings, workdays
from core.services.calendar import CalendarNotCovered
from core.services.money import MoneyError, fmt_yuan, to_money

from .hooks import FINANCEABLE_CHECKS, LOCK_CHANGES, contract_sources
from .models import (
    APP_STATES,
    FINANCED_STATES,
    INSTITUTION_KINDS,
    LOCK_STATES,
    MODULE,
    PENDING_STATES,
    AccountLock,
    Application,
    Entry,
    Institution,
    InstitutionRegion,
)

ZERO = Decimal("0.00")
UNSCOPED = {"erp_unscoped": True}
#: contract states a supplier may finance (a draft contract only once the award is notified)
FINANCEABLE = ("signed", "performing", "completed")
AWARDED_PROJECT_STATES = ("awarded", "contracted", "completed")

settings.declare(
    "scf.decision_days", type="int", default=2,
    label_zh="金融机构审批时限（工作日）",
    help_zh="机构未单独承诺时，融资申请提交后须在此工作日数内作出决定，逾期在银行工作台和财政监管看板显示为逾期。",
    source="重庆市政采贷线上办理实践（2个工作日放款）", module=MODULE,
)
settings.declare(
    "scf.max_rate_percent", type="percent", default="24",
    label_zh="融资年利率上限（%）", help_zh="银行录入的年利率须大于 0 且不超过此上限。",
    source="平台参数", module=MODULE,
)


def now() -> dt.datetime:
    """Now in China, naive (stored as local time like the other modules)."""
    return dt.datetime.now(CST).replace(tzinfo=None)


# -- small helpers -------------------------------------------------------------------------
def _text(value: Any, limit: int | None = None) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if limit is not None and len(text) > limit:
        raise RuleError({"_schema": [f"内容过长（最多 {limit} 个字）"]})
    return text or None


def _money(field: str, label: str, value: Any) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RuleError({field: [f"请填写{label}"]})
    try:
        amount = to_money(value, allow_negative=False)
    except MoneyError as exc:
        raise RuleError({field: [f"{label}：{exc}"]}) from None
    if amount <= ZERO:
        raise RuleError({field: [f"{label}必须大于 0"]})
    return amount


def _date(field: str, label: str, value: Any, *, required: bool = True) -> dt.date | None:
    if value is None or value == "":
        if required:
            raise RuleError({field: [f"请填写{label}"]})
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise RuleError({field: [f"{label}格式应为 YYYY-MM-DD"]}) from None


def _int(field: str, label: str, value: Any, lo: int, hi: int) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise RuleError({field: [f"请填写{label}（整数）"]}) from None
    if isinstance(value, bool) or not lo <= number <= hi:
        raise RuleError({field: [f"{label}须在 {lo} 到 {hi} 之间"]})
    return number


def _audit(session: Session, action: str, obj: Any, before: Any = None, after: Any = None,
           reason: str | None = None) -> None:
    audit.record(session, action=action, object_type=type(obj).__name__, object_id=obj.id,
                 before=before, after=after, module=MODULE, region_id=obj.region_id,
                 reason=reason)


def _id(value: Any) -> int:
    """A record id from input (a bool, a float text or an id beyond INTEGER is not one)."""
    if isinstance(value, bool):
        raise ValueError(value)
    number = int(str(value).strip()) if not isinstance(value, int) else value
    if not 0 < number < 2**31:
        raise ValueError(value)
    return number


def _lock_row(session: Session, model: Any, ident: int) -> Any:
    """Load a row with ``SELECT ... FOR UPDATE OF <its table>`` (PostgreSQL; SQLite serialises
    writers). ``OF``: the eagerly joined rows (the region) are not locked."""
    return session.execute(
        select(model).where(model.id == ident).with_for_update(of=model).execution_options(
            populate_existing=True, **UNSCOPED)
    ).scalars().first()


# -- institutions --------------------------------------------------------------------------
def institution_of(session: Session, org_id: int | None) -> Institution | None:
    if org_id is None:
        return None
    return session.execute(select(Institution).where(Institution.org_id == org_id)).scalars().first()


def _ancestors(session: Session, region_id: int) -> list[int]:
    out, seen = [], set()
    current: int | None = region_id
    while current is not None and current not in seen:
        seen.add(current)
        out.append(current)
        current = session.execute(select(Region.parent_id).where(Region.id == current)).scalar()
    return out


def serves(session: Session, inst: Institution, region_id: int) -> bool:
    """Whether ``inst`` serves ``region_id`` (a region it serves, or an ancestor of it)."""
    return session.execute(select(InstitutionRegion.id).where(
        InstitutionRegion.institution_id == inst.id,
        InstitutionRegion.region_id.in_(_ancestors(session, region_id)))).first() is not None


def institutions_for(session: Session, region_id: int, *,
                     rng: random.Random | None = None) -> list[Institution]:
    """Active institutions serving ``region_id``, in a random order (a new one per call):
    the list never favours an institution, and nobody can set a preferred one."""
    rows = list(session.execute(
        select(Institution).join(InstitutionRegion).where(
            Institution.active.is_(True),
            InstitutionRegion.region_id.in_(_ancestors(session, region_id)))
        .distinct()).scalars())
    (rng or random.SystemRandom()).shuffle(rows)
    return rows


def decision_days(session: Session, inst: Institution | None, region_id: int | None) -> int:
    if inst is not None and inst.decision_days:
        return inst.decision_days
    return int(settings.get("scf.decision_days", region_id=region_id, session=session))


def add_working_days(session: Session, start: dt.date, n: int) -> dt.date:
    try:
        return workdays.add_working_days(start, n, session)
    except CalendarNotCovered:  # a year the holiday table does not cover: weekdays only
        d = start
        while n > 0:
            d += dt.timedelta(days=1)
            if d.weekday() < 5:
                n -= 1
        return d


def is_overdue(app: Application, on: dt.date | None = None) -> bool:
    """Waiting for the bank's decision past its promised working days."""
    return (app.status in PENDING_STATES and app.decision_due is not None
            and (on or today()) > app.decision_due)


# -- contracts -----------------------------------------------------------------------------
def financed_total(session: Session, contract_id: int, *, exclude_id: int | None = None) -> Decimal:
    """Amount of the contract under financing (approved or disbursed, not yet repaid)."""
    stmt = select(func.coalesce(func.sum(Application.approved_amount - Application.repaid_amount), 0)
                  ).where(Application.contract_id == contract_id,
                          Application.status.in_(FINANCED_STATES))
    if exclude_id is not None:
        stmt = stmt.where(Application.id != exclude_id)
    value = session.execute(stmt.execution_options(**UNSCOPED)).scalar_one()
    return to_money(value, strict=False) if value is not None else ZERO


def paid_total(session: Session, contract_id: int) -> Decimal:
    value = session.execute(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.contract_id == contract_id).execution_options(**UNSCOPED)).scalar_one()
    return to_money(value, strict=False) if value is not None else ZERO


def unpaid_remainder(session: Session, contract: Contract, *, exclude_id: int | None = None) -> Decimal:
    """合同金额 − 已付金额 − 其他融资金额."""
    return (contract.amount - paid_total(session, contract.id)
            - financed_total(session, contract.id, exclude_id=exclude_id))


def active_financing(session: Session, contract_id: int) -> Application | None:
    return session.execute(select(Application).where(
        Application.contract_id == contract_id, Application.status.in_(FINANCED_STATES))
        .execution_options(**UNSCOPED)).scalars().first()


def active_lock(session: Session, contract_id: int) -> AccountLock | None:
    return session.execute(select(AccountLock).where(
        AccountLock.active_contract_id == contract_id).execution_options(**UNSCOPED)).scalars().first()


def acceptance_label(contract: Contract) -> str:
    return "已验收（履行完毕）" if contract.status == "completed" else "未验收"


def contract_data(session: Session, contract: Contract) -> dict[str, Any]:
    """What a bank needs to decide, straight from the platform's records (words, not codes)."""
    project = contract.project
    purchaser = contract.purchaser
    paid = paid_total(session, contract.id)
    sme_reserved = bool(contract.package is not None and contract.package.sme_reserved) or (
        project is not None and project.sme_measure != "none")
    rows = list(session.execute(select(PaymentPlan).where(PaymentPlan.contract_id == contract.id)
                                .order_by(PaymentPlan.seq).execution_options(**UNSCOPED)).scalars())
    plans = [{"seq": p.seq, "due_date": p.due_date.isoformat(), "amount": str(p.amount),
              "note": p.note or ""} for p in rows]
    performance_end = max((p.due_date for p in rows), default=None)
    lock = active_lock(session, contract.id)
    financing = active_financing(session, contract.id)
    data = {
        "contract_number": contract.number,
        "project_number": project.number if project else "",
        "project_name": project.name if project else (contract.order_ref or ""),
        "method": METHODS.get(project.method, "") if project else METHODS["emall"],
        "purchaser_name": purchaser.name if purchaser else "",
        "purchaser_credit_code": purchaser.credit_code or "" if purchaser else "",
        "purchaser_region": contract.region.name if contract.region else "",
        "supplier_name": contract.supplier.name if contract.supplier else "",
        "supplier_credit_code": (contract.supplier.credit_code or "") if contract.supplier else "",
        "supplier_size": SME_LABELS.get(contract.sme_label, ""),
        "amount": str(contract.amount),
        "signed_date": contract.signed_date.isoformat() if contract.signed_date else "",
        "performance_period": (
            f"{contract.signed_date.isoformat()} 至 {performance_end.isoformat()}"
            if contract.signed_date and performance_end else ""),
        "payment_plan": plans,
        "paid_amount": str(paid),
        "unpaid_amount": str(contract.amount - paid),
        "acceptance_status": acceptance_label(contract),
        "contract_status": CONTRACT_STATES.get(contract.status, ""),
        "sme_reserved": "是" if sme_reserved else "否",
        "payee_account": lock.account if lock is not None and lock.status == "locked" else "",
        "financing_status": APP_STATES[financing.status] if financing is not None else "未融资",
    }
    # the record behind the contract (an accepted e-mall order): its data beside the contract's
    for src in contract_sources(session, contract):
        data.update(src.overrides)
        data[src.kind] = src.data()
    return data


def check_financeable(session: Session, contract: Contract) -> None:
    if contract.status == "terminated":
        raise RuleError({"contract": ["该合同已终止，不能申请融资"]})
    if contract.status not in FINANCEABLE:
        awarded = (contract.status == "draft" and contract.project is not None
                   and contract.project.status in AWARDED_PROJECT_STATES)
        if not awarded:
            raise RuleError({"contract": [
                f"合同状态为“{CONTRACT_STATES.get(contract.status, '')}”，须已发出中标（成交）通知书或已签订合同"]})
    if paid_total(session, contract.id) >= contract.amount:
        raise RuleError({"contract": ["该合同已全额付款，无可融资的应收账款"]})
    if active_financing(session, contract.id) is not None:
        raise ConflictError({"contract": ["该合同已有在途融资，同一合同不能重复融资"]})
    # the bridges' own rules on the record behind the contract (an e-mall order under dispute)
    FINANCEABLE_CHECKS.call(contract.region_id, session, contract)


# -- applying ------------------------------------------------------------------------------
def apply(session: Session, *, supplier_id: int, contract_id: Any, bank_id: Any, amount: Any,
          purpose: Any = None, contact: Any = None, phone: Any = None) -> Application:
    """A supplier applies on its own contract to a bank of its choosing."""
    try:
        cid = _id(contract_id)
    except (TypeError, ValueError):
        raise RuleError({"contract": ["请选择合同"]}) from None
    contract = _lock_row(session, Contract, cid)
    if contract is None:
        raise RuleError({"contract": ["合同不存在"]})
    if contract.supplier_id != supplier_id:
        raise ForbiddenError({"contract": ["该合同不是贵单位的合同，不能申请融资"]})
    try:
        bid = _id(bank_id)
    except (TypeError, ValueError):
        raise RuleError({"bank": ["请选择金融机构"]}) from None
    inst = institution_of(session, bid)
    if inst is None or not inst.active:
        raise RuleError({"bank": ["所选机构不是本平台的参与金融机构"]})
    if not serves(session, inst, contract.region_id):
        raise RuleError({"bank": ["所选机构不服务该合同所在地区"]})
    check_financeable(session, contract)
    value = _money("amount", "申请金额", amount)
    left = unpaid_remainder(session, contract)
    if value > left:
        raise RuleError({"amount": [f"申请金额 {fmt_yuan(value)} 超过合同未付余额 {fmt_yuan(left)}"
                                    "（合同金额 − 已付金额 − 其他融资金额）"]})
    dup = session.execute(select(Application.id).where(
        Application.contract_id == contract.id, Application.bank_id == bid,
        Application.status.in_(PENDING_STATES)).execution_options(**UNSCOPED)).first()
    if dup is not None:
        raise ConflictError({"bank": ["已向该机构提交了该合同的融资申请，请等待其决定"]})
    at = now()
    app = Application(
        number=f"RZ{at:%Y%m%d}{secrets.token_hex(3).upper()}", contract_id=contract.id,
        contract_number=contract.number,
        supplier_id=supplier_id, bank_id=bid, amount=value, purpose=_text(purpose, 2000),
        contact=_text(contact, 64), phone=_text(phone, 32), status="submitted",
        submitted_at=at, submitted_on=at.date(), region_id=contract.region_id,
        disbursed_amount=ZERO, repaid_amount=ZERO,
    )
    app.decision_due = add_working_days(session, at.date(),
                                        decision_days(session, inst, contract.region_id))
    session.add(app)
    session.flush()
    _audit(session, "scf_apply", app, after={"合同": contract.number, "机构": inst.org.name,
                                               "申请金额": str(value)})
    from .webhooks import enqueue

    enqueue(session, inst, "application.submitted", application_payload(session, app))
    return app


def contract_of(session: Session, contract_id: int) -> Contract | None:
    """The contract, read by the rules themselves (not limited by the caller's scope)."""
    return session.execute(select(Contract).where(Contract.id == contract_id)
                           .execution_options(**UNSCOPED)).scalars().first()


def application_payload(session: Session, app: Application) -> dict[str, Any]:
    contract = contract_of(session, app.contract_id)
    return {
        "application_id": app.id, "number": app.number, "status": app.status,
        "status_label": APP_STATES.get(app.status, ""), "amount": str(app.amount),
        "submitted_at": app.submitted_at.isoformat() if app.submitted_at else None,
        "decision_due": app.decision_due.isoformat() if app.decision_due else None,
        "purpose": app.purpose or "", "supplier_reply": app.supplier_reply or "",
        "contract": contract_data(session, contract) if contract is not None else {},
    }


def _own_app(session: Session, app_id: Any, *, bank_id: int | None = None,
             supplier_id: int | None = None) -> Application:
    try:
        ident = _id(app_id)
    except (TypeError, ValueError):
        raise NotFoundError("融资申请不存在") from None
    app = _lock_row(session, Application, ident)
    if app is None:
        raise NotFoundError("融资申请不存在")
    if bank_id is not None and app.bank_id != bank_id:
        raise ForbiddenError("该申请不是向贵机构提交的，不能处理")
    if supplier_id is not None and app.supplier_id != supplier_id:
        raise ForbiddenError("该申请不是贵单位提交的")
    return app


def withdraw(session: Session, app_id: Any, *, supplier_id: int) -> Application:
    app = _own_app(session, app_id, supplier_id=supplier_id)
    if app.status not in PENDING_STATES:
        raise ConflictError(f"申请状态为“{APP_STATES[app.status]}”，不能撤回")
    before = app.status
    app.status = "withdrawn"
    app.closed_on = today()
    session.flush()
    _audit(session, "scf_withdraw", app, before={"状态": APP_STATES[before]},
           after={"状态": APP_STATES[app.status]})
    return app


def reply(session: Session, app_id: Any, *, supplier_id: int, text: Any) -> Application:
    """The supplier answers the bank's request for more information."""
    app = _own_app(session, app_id, supplier_id=supplier_id)
    if app.status != "info_requested":
        raise ConflictError("机构未要求补充材料")
    answer = _text(text, 4000)
    if not answer:
        raise RuleError({"supplier_reply": ["请填写补充说明"]})
    app.supplier_reply = answer
    app.status = "submitted"
    session.flush()
    _audit(session, "scf_reply", app, after={"补充说明": answer})
    from .webhooks import enqueue

    enqueue(session, institution_of(session, app.bank_id), "application.updated",
            application_payload(session, app))
    return app


# -- the bank's decision -------------------------------------------------------------------
DECISIONS = {"approve": "批准", "reject": "拒绝", "request_info": "要求补充材料"}


def decide(session: Session, app_id: Any, *, bank_id: int, decision: Any,
           amount: Any = None, rate_percent: Any = None, term_months: Any = None,
           repayment_account: Any = None, repayment_account_name: Any = None,
           repayment_bank: Any = None, reason: Any = None) -> Application:
    """Record the bank's decision (approve / reject / request_info) on an application
    addressed to it. Approval locks the contract row and checks the remainder."""
    if decision not in DECISIONS:
        raise RuleError({"decision": ["请选择决定：批准、拒绝或要求补充材料"]})
    app = _own_app(session, app_id, bank_id=bank_id)
    if app.status not in PENDING_STATES:
        raise ConflictError(f"申请状态为“{APP_STATES[app.status]}”，已不能再作决定")
    before = {"状态": APP_STATES[app.status]}
    if decision == "reject":
        text = _text(reason, 2000)
        if not text:
            raise RuleError({"reason": ["拒绝须说明理由"]})
        app.status, app.reject_reason, app.closed_on = "rejected", text, today()
    elif decision == "request_info":
        text = _text(reason, 2000)
        if not text:
            raise RuleError({"reason": ["请说明需要补充的材料"]})
        app.status, app.info_request = "info_requested", text
    else:
        lock = _approve(session, app, amount, rate_percent, term_months, repayment_account,
                        repayment_account_name, repayment_bank)
    at = now()
    app.decided_at, app.decided_on = at, at.date()
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError({"contract": ["该合同已被其他机构批准融资，同一合同不能重复融资"]}) from None
    _audit(session, f"scf_{decision}", app, before=before,
           after={"状态": APP_STATES[app.status], "批准金额": str(app.approved_amount or ""),
                  "回款账户": app.repayment_account or ""}, reason=app.reject_reason or app.info_request)
    if decision == "approve":
        _lock_changed(session, lock, "created", None)
    return app


def _lock_changed(session: Session, lock: AccountLock, change: str, reason: str | None) -> None:
    """Tell the bridges (``LOCK_CHANGES``) that a repayment-account lock changed."""
    LOCK_CHANGES.call(lock.region_id, session, lock, change, reason)


def _approve(session: Session, app: Application, amount: Any, rate_percent: Any,
             term_months: Any, account: Any, account_name: Any, account_bank: Any) -> AccountLock:
    errors: dict[str, list[str]] = {}

    def attempt(fn, *args):
        try:
            return fn(*args)
        except RuleError as exc:
            for k, v in (exc.messages if isinstance(exc.messages, dict) else {"_schema": [exc.messages]}).items():
                errors.setdefault(k, []).extend(v)
            return None

    value = attempt(_money, "amount", "批准金额", amount)
    rate = attempt(_rate, session, app.region_id, rate_percent)
    term = attempt(_int, "term_months", "期限（月）", term_months, 1, 60)
    acct = _text(account, 64)
    if not acct:
        errors.setdefault("repayment_account", []).append("请填写回款账户")
    elif not all(ch.isdigit() or ch in " -" for ch in acct) or sum(ch.isdigit() for ch in acct) < 8:
        errors.setdefault("repayment_account", []).append("回款账户应为银行账号（至少 8 位数字）")
    if errors:
        raise RuleError(errors)
    # the contract row is locked until commit: a concurrent approval waits here, then sees
    # this one's financing and is refused
    contract = _lock_row(session, Contract, app.contract_id)
    if contract.status == "terminated":
        raise ConflictError({"contract": ["该合同已终止，不能批准融资"]})
    FINANCEABLE_CHECKS.call(contract.region_id, session, contract)
    other = active_financing(session, contract.id)
    if other is not None and other.id != app.id:
        raise ConflictError({"contract": ["该合同已被其他机构批准融资，同一合同不能重复融资"]})
    left = unpaid_remainder(session, contract, exclude_id=app.id)
    if value > left:
        raise RuleError({"amount": [f"批准金额 {fmt_yuan(value)} 超过合同未付余额 {fmt_yuan(left)}"]})
    app.status = "approved"
    app.approved_amount, app.rate_percent, app.term_months = value, rate, term
    app.repayment_account = acct
    app.repayment_account_name = _text(account_name, 200)
    app.repayment_bank = _text(account_bank, 200) or (app.bank.name if app.bank else None)
    app.financing_contract_id = contract.id
    lock = AccountLock(contract_id=contract.id, contract_number=contract.number, application=app, bank_id=app.bank_id,
                       account=acct, account_name=app.repayment_account_name,
                       account_bank=app.repayment_bank, status="pending",
                       active_contract_id=contract.id, region_id=contract.region_id)
    session.add(lock)
    return lock


def _rate(session: Session, region_id: int, value: Any) -> Decimal:
    if value is None or str(value).strip() == "":
        raise RuleError({"rate_percent": ["请填写年利率（%）"]})
    try:
        rate = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        raise RuleError({"rate_percent": ["年利率应为数字，例如 3.45"]}) from None
    cap = settings.get("scf.max_rate_percent", region_id=region_id, session=session)
    if not rate.is_finite() or rate <= 0 or rate > cap or rate.as_tuple().exponent < -4:
        raise RuleError({"rate_percent": [f"年利率须大于 0 且不超过 {cap}%（最多四位小数）"]})
    return rate


# -- purchaser confirms the repayment account ----------------------------------------------
def confirm_account(session: Session, lock_id: Any, *, purchaser_ids: set[int] | None,
                    actor: str | None = None) -> AccountLock:
    """The contract's purchaser confirms the bank's repayment account: from now on every
    payment of the contract must go there. ``purchaser_ids``: the units the user acts for
    (None: unrestricted, platform code)."""
    try:
        ident = _id(lock_id)
    except (TypeError, ValueError):
        raise NotFoundError("回款账户记录不存在") from None
    lock = _lock_row(session, AccountLock, ident)
    if lock is None:
        raise NotFoundError("回款账户记录不存在")
    contract = contract_of(session, lock.contract_id)
    if purchaser_ids is not None and contract.purchaser_id not in purchaser_ids:
        raise ForbiddenError("只有合同的采购人可以确认回款账户")
    if lock.status != "pending":
        raise ConflictError(f"回款账户状态为“{LOCK_STATES[lock.status]}”，无需确认")
    lock.status = "locked"
    lock.confirmed_at = now()
    lock.confirmed_by = actor
    session.flush()
    _audit(session, "scf_confirm_account", lock, before={"状态": LOCK_STATES["pending"]},
           after={"状态": LOCK_STATES["locked"], "回款账户": lock.account})
    _lock_changed(session, lock, "confirmed", None)
    from .webhooks import enqueue

    enqueue(session, institution_of(session, lock.bank_id), "account.confirmed", {
        "application_id": lock.application_id, "contract_number": contract.number,
        "account": lock.account, "confirmed_at": lock.confirmed_at.isoformat()})
    return lock


# -- disbursement and repayment ------------------------------------------------------------
def disburse(session: Session, app_id: Any, *, bank_id: int, amount: Any, on: Any,
             maturity: Any, reference: Any = None, registry_number: Any = None) -> Application:
    app = _own_app(session, app_id, bank_id=bank_id)
    if app.status != "approved":
        raise ConflictError(f"申请状态为“{APP_STATES[app.status]}”，批准后才能登记放款")
    value = _money("amount", "放款金额", amount)
    if value > app.approved_amount:
        raise RuleError({"amount": [f"放款金额不能超过批准金额 {fmt_yuan(app.approved_amount)}"]})
    day = _date("on", "放款日期", on)
    if day > today():
        raise RuleError({"on": ["放款日期不能晚于今天"]})
    if day < app.submitted_on:
        raise RuleError({"on": ["放款日期不能早于申请日期"]})
    due = _date("maturity", "到期日", maturity)
    if due <= day:
        raise RuleError({"maturity": ["到期日须晚于放款日期"]})
    app.status = "disbursed"
    app.disbursed_amount, app.disbursed_on, app.maturity_date = value, day, due
    # the financing now stands at what was actually lent
    app.approved_amount = value
    app.registry_number = _text(registry_number, 64)
    session.add(Entry(application_id=app.id, kind="disbursement", amount=value, entry_date=day,
                      reference=_text(reference, 100), created_at=now(), region_id=app.region_id))
    session.flush()
    _audit(session, "scf_disburse", app, after={"放款金额": str(value), "放款日期": day.isoformat(),
                                                 "到期日": due.isoformat()})
    return app


def repay(session: Session, app_id: Any, *, bank_id: int, amount: Any, on: Any,
          reference: Any = None) -> Application:
    """A repayment reported by the bank; full repayment ends the financing and the lock."""
    app = _own_app(session, app_id, bank_id=bank_id)
    if app.status != "disbursed":
        raise ConflictError(f"申请状态为“{APP_STATES[app.status]}”，放款后才能登记还款")
    value = _money("amount", "还款金额", amount)
    left = app.disbursed_amount - app.repaid_amount
    if value > left:
        raise RuleError({"amount": [f"还款金额超过未还本金 {fmt_yuan(left)}"]})
    day = _date("on", "还款日期", on)
    if day > today() or (app.disbursed_on and day < app.disbursed_on):
        raise RuleError({"on": ["还款日期须在放款日期与今天之间"]})
    app.repaid_amount += value
    app.last_repaid_on = day
    session.add(Entry(application_id=app.id, kind="repayment", amount=value, entry_date=day,
                      reference=_text(reference, 100), created_at=now(), region_id=app.region_id))
    if app.repaid_amount == app.disbursed_amount:
        app.status, app.closed_on = "repaid", day
        _end_financing(session, app, "银行报告已全额还款")
    session.flush()
    _audit(session, "scf_repay", app, after={"还款金额": str(value), "累计还款": str(app.repaid_amount),
                                              "状态": APP_STATES[app.status]})
    return app


def release(session: Session, app_id: Any, *, bank_id: int, reason: Any) -> Application:
    """The bank releases the financing and the account lock before full repayment."""
    app = _own_app(session, app_id, bank_id=bank_id)
    if app.status not in FINANCED_STATES:
        raise ConflictError(f"申请状态为“{APP_STATES[app.status]}”，没有可解除的锁定")
    text = _text(reason, 2000)
    if not text:
        raise RuleError({"reason": ["请说明解除锁定的原因"]})
    before = APP_STATES[app.status]
    app.status, app.release_reason, app.closed_on = "released", text, today()
    _end_financing(session, app, text)
    session.flush()
    _audit(session, "scf_release", app, before={"状态": before},
           after={"状态": APP_STATES[app.status]}, reason=text)
    return app


def _end_financing(session: Session, app: Application, reason: str) -> None:
    app.financing_contract_id = None
    lock = session.execute(select(AccountLock).where(
        AccountLock.application_id == app.id, AccountLock.active_contract_id.is_not(None))
        .execution_options(**UNSCOPED)).scalars().first()
    if lock is not None:
        before = LOCK_STATES[lock.status]
        lock.status, lock.active_contract_id = "released", None
        lock.released_at, lock.release_reason = now(), reason
        session.flush()
        _audit(session, "scf_release_account", lock, before={"状态": before},
               after={"状态": LOCK_STATES["released"]}, reason=reason)
        _lock_changed(session, lock, "released", reason)


# -- the payment validator (procurement_base.payment_validators) --------------------------
def _pays_money(payment: Payment) -> bool:
    """A new payment, or a saved one whose contract, amount or payee account changes (a payment
    recorded before the lock keeps its account when only its date or voucher is corrected)."""
    state = inspect(payment)
    if not state.persistent:
        return True
    return any(state.attrs[name].history.has_changes()
               for name in ("contract_id", "contract", "amount", "payee_account"))


@PAYMENT_VALIDATORS.implement(MODULE)
def locked_account_payments(session: Session, payment: Payment, contract: Contract) -> None:
    """A contract whose repayment account the purchaser confirmed is paid only there; a
    payment on a financed contract is announced to the bank (webhook ``payment.recorded``,
    in the payment's transaction)."""
    with session.no_autoflush:  # the payment is still being built: never flush it from here
        lock = active_lock(session, contract.id)
        financing = active_financing(session, contract.id)
    account = (getattr(payment, "payee_account", None) or "").replace(" ", "")
    if lock is not None and lock.status == "locked" and account != lock.account.replace(" ", "") \
            and _pays_money(payment):
        raise RuleError({"payee_account": [
            f"该合同已办理政府采购合同融资，回款账户已锁定为 {lock.account_bank or ''} {lock.account}，"
            "付款只能付至该账户，登记付款时须注明付至该收款账户"]})
    if financing is not None:
        from .webhooks import enqueue

        with session.no_autoflush:
            inst = institution_of(session, financing.bank_id)
        enqueue(session, inst, "payment.recorded", {
            "application_id": financing.id, "contract_number": contract.number,
            "amount": str(to_money(payment.amount, strict=False)),
            "paid_date": payment.paid_date.isoformat() if payment.paid_date else None,
            "reference": payment.reference or "", "payee_account": account,
        })


@PAYEE_ACCOUNT_HINTS.implement(MODULE)
def locked_account_hint(session: Session, contract: Contract) -> tuple[str, str] | None:
    """The confirmed lock's account, the default of the payment page's 收款账户."""
    with session.no_autoflush:
        lock = active_lock(session, contract.id)
    if lock is None or lock.status != "locked":
        return None
    bank = f"（{lock.account_bank}）" if lock.account_bank else ""
    return lock.account, (f"该合同已办理政府采购合同融资，回款账户已锁定为 {lock.account}{bank}，"
                          "付款只能付至该账户")


# -- figures for the finance bureau --------------------------------------------------------
def bureau_figures(session: Session, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Applications submitted in [start, end] (visible to the caller's scope): count,
    approvals, amounts financed, share to small and micro firms, average days to decision,
    overdue ones; per region as well."""
    apps = list(session.execute(select(Application).where(
        Application.submitted_on >= start, Application.submitted_on <= end)).scalars())
    by_region: dict[str, dict[str, Any]] = {}

    def blank() -> dict[str, Any]:
        return {"applications": 0, "approved": 0, "financed": ZERO, "financed_sme": ZERO,
                "decided": 0, "decision_days": 0, "overdue": 0}

    total = blank()
    for app in apps:
        row = by_region.setdefault(app.region.name if app.region else "", blank())
        size = app.supplier.size if app.supplier is not None else None
        for r in (row, total):
            r["applications"] += 1
            if app.status in ("approved", "disbursed", "repaid", "released") and app.approved_amount:
                r["approved"] += 1
                r["financed"] += app.approved_amount
                if size in ("small", "micro"):
                    r["financed_sme"] += app.approved_amount
            if app.decided_on is not None:
                r["decided"] += 1
                r["decision_days"] += (app.decided_on - app.submitted_on).days
            if is_overdue(app):
                r["overdue"] += 1

    def finish(r: dict[str, Any]) -> dict[str, Any]:
        share = (r["financed_sme"] / r["financed"] * 100).quantize(Decimal("0.1")) if r["financed"] else None
        avg = (Decimal(r["decision_days"]) / r["decided"]).quantize(Decimal("0.1")) if r["decided"] else None
        return {**r, "sme_share_percent": share, "avg_decision_days": avg}

    return {"total": finish(total),
            "regions": [{"region": k, **finish(v)} for k, v in sorted(by_region.items())]}


def label(mapping: dict[str, str], value: Any) -> str:
    return mapping.get(value, "—") if value else "—"


#: public names of the small parsing helpers, for the bridges (scf_deposit, scf_advance)
record_id = _id
clean_text = _text
parse_date = _date
parse_money = _money
parse_int = _int
lock_row = _lock_row

__all__ = [
    "APP_STATES", "DECISIONS", "INSTITUTION_KINDS", "apply", "bureau_figures",
    "confirm_account", "contract_data", "decide", "disburse", "institutions_for", "is_overdue",
    "locked_account_hint", "locked_account_payments", "release", "repay", "reply", "unpaid_remainder", "withdraw",
]
