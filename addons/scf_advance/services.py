"""Advance payments secured by insurance or a guarantee (预付款保险、预付款保函): plain Python
on a session.

* :func:`agree` - the contract's purchaser agrees an advance: a share of the contract amount
  (for a contract with a small, micro or medium firm at least the region's setting
  ``scf.advance_share_percent``, the province's policy; 财库〔2020〕46号第十二条), never above the
  unpaid amount, and the delivery date the policy must cover;
* :func:`present` - the supplier presents the policy: insurer (an institution serving the
  region), policy number, the insured's credit code, amount, validity, the file's SHA-256;
* :func:`verify` - the purchaser checks it as a guarantee is checked: insurer on the region's
  whitelist, insured = the purchaser, amount ≥ the advance, validity ≥ the delivery date, the
  received file's SHA-256 equal to the presented one; every failure a reason, nothing stored;
* :func:`pay` - the advance is paid through ``procurement_base.record_payment`` (the payment
  validators apply: a financed contract's locked account) and recorded against the policy;
* :func:`release` on acceptance (the contract completed), :func:`claim` on non-performance
  (within the validity; the insurer is told), :func:`cancel` before payment.

Audited (module ``scf_advance``); the parties get in-app messages.
"""

from __future__ import annotations

import datetime as dt
import hmac
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from addons.procurement_base.models import Contract
from addons.procurement_base.services.contracts import record_payment
from addons.supply_chain_finance import services as scf
from addons.supply_chain_finance.hooks import BUREAU_SECTIONS, BureauSection
from core.errors import ConflictError, ForbiddenError, RuleError
from core.messages import notify
from core.services import audit, settings
from core.services.money import fmt_yuan

from .models import MODULE, STATES, Advance

ZERO = Decimal("0.00")
UNSCOPED = {"erp_unscoped": True}
SME = ("small", "micro", "medium")

settings.declare(
    "scf.advance_share_percent", type="percent", default="30",
    label_zh="预付款比例下限（中小企业合同，占合同金额%）",
    help_zh="采购人与中小企业约定预付款时，预付比例不得低于此值；吉林省比例以省财政厅文件为准（待核实）。",
    source="《政府采购促进中小企业发展管理办法》（财库〔2020〕46号）第十二条；各省规定（如济南不低于30%）",
    module=MODULE,
)


def _audit(session: Session, action: str, adv: Advance, after: Any = None,
           reason: str | None = None) -> None:
    audit.record(session, action=action, object_type="scf_advance", object_id=adv.id,
                 after=after, module=MODULE, region_id=adv.region_id, reason=reason)


def _lock(session: Session, ident: Any) -> Advance:
    try:
        pk = scf.record_id(ident)
    except (TypeError, ValueError):
        raise RuleError({"advance": ["预付款记录不存在"]}) from None
    adv = scf.lock_row(session, Advance, pk)
    if adv is None:
        raise RuleError({"advance": ["预付款记录不存在"]})
    return adv


def _state(adv: Advance, *allowed: str, what: str) -> None:
    if adv.status not in allowed:
        raise ConflictError({"status": [f"状态为“{STATES.get(adv.status, '')}”，{what}"]})


def _purchaser(adv_or_contract: Any, purchaser_ids: set[int] | None) -> None:
    if purchaser_ids is not None and adv_or_contract.purchaser_id not in purchaser_ids:
        raise ForbiddenError("只有合同的采购人可以办理")


def agree(session: Session, *, contract_id: Any, share_percent: Any, delivery_date: Any,
          purchaser_ids: set[int] | None) -> Advance:
    """约定预付款 on a signed or performing contract of the purchaser."""
    try:
        cid = scf.record_id(contract_id)
    except (TypeError, ValueError):
        raise RuleError({"contract": ["请选择合同"]}) from None
    contract = scf.lock_row(session, Contract, cid)
    if contract is None:
        raise RuleError({"contract": ["合同不存在"]})
    _purchaser(contract, purchaser_ids)
    if contract.status not in ("signed", "performing"):
        raise RuleError({"contract": ["合同签订后、履行完毕前才能约定预付款"]})
    try:
        share = Decimal(str(share_percent).strip().rstrip("%"))
    except Exception:
        raise RuleError({"share_percent": ["预付比例应为数字，例如 30"]}) from None
    if not share.is_finite() or share <= 0 or share > 100 or share.as_tuple().exponent < -2:
        raise RuleError({"share_percent": ["预付比例须大于 0 且不超过 100（最多两位小数）"]})
    floor = settings.get("scf.advance_share_percent", region_id=contract.region_id, session=session)
    if contract.sme_label in SME and share < floor:
        raise RuleError({"share_percent": [f"与中小企业签订的合同，预付比例不得低于 {floor}%"]})
    day = scf.parse_date("delivery_date", "交货（履约完成）日期", delivery_date)
    if contract.signed_date and day < contract.signed_date:
        raise RuleError({"delivery_date": ["交货日期不能早于合同签订日期"]})
    amount = (contract.amount * share / 100).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    unpaid = contract.amount - scf.paid_total(session, contract.id)
    if amount > unpaid:
        raise RuleError({"share_percent": [f"预付款 {fmt_yuan(amount)} 超过合同未付金额 {fmt_yuan(unpaid)}"]})
    if session.execute(select(Advance.id).where(Advance.open_contract_id == contract.id)
                       .execution_options(**UNSCOPED)).first() is not None:
        raise ConflictError({"contract": ["该合同已有办理中的预付款"]})
    adv = Advance(contract_id=contract.id, contract_number=contract.number,
                  open_contract_id=contract.id, purchaser_id=contract.purchaser_id,
                  supplier_id=contract.supplier_id, share_percent=share, amount=amount,
                  delivery_date=day, status="agreed", agreed_at=scf.now(),
                  region_id=contract.region_id)
    session.add(adv)
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError({"contract": ["该合同已有办理中的预付款"]}) from None
    _audit(session, "scf_advance_agree", adv, after={"比例": str(share), "金额": str(amount)})
    notify(session, org_id=adv.supplier_id, kind="scf_advance",
           title=f"合同 {adv.contract_number} 约定预付款 {fmt_yuan(amount)}",
           body="请向保险机构（或银行、担保机构）投保预付款保险（保函），被保险人为采购人，并提交保单。",
           link=f"/advanceview/show/{adv.id}")
    return adv


def present(session: Session, ident: Any, *, supplier_id: int, insurer_id: Any,
            policy_number: Any, insured_credit_code: Any, amount: Any, valid_until: Any,
            file_sha256: Any) -> Advance:
    """提交保单 by the supplier (replaces a policy presented before verification)."""
    adv = _lock(session, ident)
    if adv.supplier_id != supplier_id:
        raise ForbiddenError("只有合同的供应商可以提交保单")
    _state(adv, "agreed", "presented", what="不能再提交保单")
    errors: dict[str, list[str]] = {}
    try:
        iid = scf.record_id(insurer_id)
    except (TypeError, ValueError):
        iid = None
        errors["insurer"] = ["请选择保险机构"]
    number = scf.clean_text(policy_number, 64)
    if not number:
        errors["policy_number"] = ["请填写保单（保函）号"]
    code = (scf.clean_text(insured_credit_code, 18) or "").upper()
    if len(code) != 18:
        errors["insured_credit_code"] = ["请填写被保险人的统一社会信用代码（18 位）"]
    value = None
    try:
        value = scf.parse_money("amount", "保险金额", amount)
        end = scf.parse_date("valid_until", "保险期间截止日", valid_until)
    except RuleError as exc:
        errors.update(exc.messages)
        end = None
    sha = (scf.clean_text(file_sha256, 64) or "").lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        errors["file_sha256"] = ["请填写保单文件的 SHA-256 摘要（64 位十六进制）"]
    if errors:
        raise RuleError(errors)
    adv.insurer_id, adv.policy_number, adv.insured_credit_code = iid, number, code
    adv.policy_amount, adv.valid_until, adv.file_sha256 = value, end, sha
    adv.status, adv.presented_at = "presented", scf.now()
    session.flush()
    _audit(session, "scf_advance_present", adv, after={"保单号": number, "保险金额": str(value)})
    for org in (adv.purchaser_id, iid):
        notify(session, org_id=org, kind="scf_advance", title=f"预付款保单 {number} 已提交",
               body=f"合同 {adv.contract_number}，保险金额 {fmt_yuan(value)}，请验真。",
               link=f"/advanceview/show/{adv.id}")
    return adv


def problems(session: Session, adv: Advance, *, file_sha256: Any) -> dict[str, list[str]]:
    """The verification of a presented policy, each failure a reason by field."""
    out: dict[str, list[str]] = {}
    contract = scf.contract_of(session, adv.contract_id)
    inst = scf.institution_of(session, adv.insurer_id)
    if inst is None or not inst.active or not scf.serves(session, inst, adv.region_id):
        out["insurer"] = ["保险机构不在本地区参与机构名单内（或已停用）"]
    purchaser = contract.purchaser if contract is not None else None
    if purchaser is None or (purchaser.credit_code or "").upper() != adv.insured_credit_code:
        out["insured_credit_code"] = ["被保险人不是该合同的采购人"]
    if adv.policy_amount is None or adv.policy_amount < adv.amount:
        out["amount"] = [f"保险金额低于预付款 {fmt_yuan(adv.amount)}"]
    if adv.valid_until is None or adv.valid_until < adv.delivery_date:
        out["valid_until"] = [f"保险期间未覆盖交货日期 {adv.delivery_date.isoformat()}"]
    elif adv.valid_until < scf.today():
        out["valid_until"] = [f"保单已于 {adv.valid_until.isoformat()} 到期"]
    sha = (str(file_sha256).strip().lower() if file_sha256 not in (None, "") else "")
    if not sha:
        out["file"] = ["请填写收到的保单文件的 SHA-256 摘要"]
    elif not adv.file_sha256 or not hmac.compare_digest(sha, adv.file_sha256):
        out["file"] = ["保单文件的 SHA-256 摘要与提交的不一致"]
    return out


def verify(session: Session, ident: Any, *, file_sha256: Any,
           purchaser_ids: set[int] | None) -> Advance:
    adv = _lock(session, ident)
    _purchaser(adv, purchaser_ids)
    _state(adv, "presented", what="没有待验真的保单")
    found = problems(session, adv, file_sha256=file_sha256)
    if found:
        raise RuleError(found)
    adv.status, adv.verified_at = "verified", scf.now()
    session.flush()
    _audit(session, "scf_advance_verify", adv, after={"状态": STATES["verified"]})
    notify(session, org_id=adv.supplier_id, kind="scf_advance", title="预付款保单已验真",
           body=f"合同 {adv.contract_number} 的预付款将按约定支付。", link=f"/advanceview/show/{adv.id}")
    return adv


def pay(session: Session, ident: Any, *, paid_date: Any, reference: Any = None,
        payee_account: Any = None, purchaser_ids: set[int] | None) -> Advance:
    """支付预付款: a payment of the contract (validated by procurement_base and its hooks)."""
    adv = _lock(session, ident)
    _purchaser(adv, purchaser_ids)
    _state(adv, "verified", what="保单验真后才能支付预付款")
    day = scf.parse_date("paid_date", "支付日期", paid_date)
    if day > scf.today():
        raise RuleError({"paid_date": ["支付日期不能晚于今天"]})
    contract = scf.contract_of(session, adv.contract_id)
    payment = record_payment(session, contract, adv.amount, day, reference=scf.clean_text(reference, 100)
                             or f"预付款（保单 {adv.policy_number}）",
                             payee_account=scf.clean_text(payee_account, 64))
    adv.status, adv.payment_id, adv.paid_on = "paid", payment.id, day
    session.flush()
    _audit(session, "scf_advance_pay", adv, after={"预付款": str(adv.amount), "支付日期": day.isoformat()})
    return adv


def release(session: Session, ident: Any, *, purchaser_ids: set[int] | None) -> Advance:
    """验收后解除保单 (the contract completed)."""
    adv = _lock(session, ident)
    _purchaser(adv, purchaser_ids)
    _state(adv, "paid", what="没有在保的保单")
    contract = scf.contract_of(session, adv.contract_id)
    if contract.status != "completed":
        raise ConflictError({"contract": ["合同验收（履行完毕）后才能解除保单"]})
    adv.status, adv.closed_on, adv.open_contract_id = "released", scf.today(), None
    session.flush()
    _audit(session, "scf_advance_release", adv, after={"状态": STATES["released"]})
    for org in (adv.supplier_id, adv.insurer_id):
        notify(session, org_id=org, kind="scf_advance", title=f"预付款保单 {adv.policy_number} 已解除",
               body="合同已验收，保险责任解除。", link=f"/advanceview/show/{adv.id}")
    return adv


def claim(session: Session, ident: Any, *, reason: Any, purchaser_ids: set[int] | None) -> Advance:
    """未履约索赔: within the policy's validity; the insurer is told."""
    adv = _lock(session, ident)
    _purchaser(adv, purchaser_ids)
    _state(adv, "paid", what="没有在保的保单")
    text = scf.clean_text(reason, 2000)
    if not text:
        raise RuleError({"reason": ["请说明供应商未履约的情况"]})
    if adv.valid_until is not None and scf.today() > adv.valid_until:
        raise RuleError({"reason": [f"保单已于 {adv.valid_until.isoformat()} 到期，不能再索赔"]})
    adv.status, adv.claim_reason, adv.closed_on = "claimed", text, scf.today()
    adv.open_contract_id = None
    session.flush()
    _audit(session, "scf_advance_claim", adv, after={"状态": STATES["claimed"]}, reason=text)
    notify(session, org_id=adv.insurer_id, kind="scf_advance",
           title=f"预付款保单 {adv.policy_number} 索赔", body=text, link=f"/advanceview/show/{adv.id}")
    return adv


def cancel(session: Session, ident: Any, *, purchaser_ids: set[int] | None) -> Advance:
    adv = _lock(session, ident)
    _purchaser(adv, purchaser_ids)
    _state(adv, "agreed", "presented", "verified", what="预付款已支付，不能取消")
    adv.status, adv.closed_on, adv.open_contract_id = "cancelled", scf.today(), None
    session.flush()
    _audit(session, "scf_advance_cancel", adv, after={"状态": STATES["cancelled"]})
    return adv


def open_advance(session: Session, contract_id: int) -> Advance | None:
    return session.execute(select(Advance).where(Advance.open_contract_id == contract_id)
                           .execution_options(**UNSCOPED)).scalars().first()


@BUREAU_SECTIONS.implement(MODULE)
def advance_section(session: Session, start: dt.date, end: dt.date) -> BureauSection:
    """The finance bureau's view: advances paid against insurance in the period."""
    rows: dict[str, dict[str, Any]] = {}
    for adv in session.execute(select(Advance).where(
            Advance.paid_on.is_not(None), Advance.paid_on >= start, Advance.paid_on <= end)).scalars():
        r = rows.setdefault(adv.region.name if adv.region else "", {
            "advances": 0, "amount": ZERO, "insured": 0, "claimed": 0})
        r["advances"] += 1
        r["amount"] += adv.amount
        r["insured"] += adv.status == "paid"
        r["claimed"] += adv.status == "claimed"
    return BureauSection(
        title="预付款保险", rows=rows, note="按预付款支付日期统计。",
        columns=[("advances", "凭保单支付预付款笔数", "int"), ("amount", "预付款金额", "money"),
                 ("insured", "仍在保笔数", "int"), ("claimed", "索赔笔数", "int")])


__all__ = ["agree", "advance_section", "cancel", "claim", "open_advance", "pay", "present",
           "problems", "release", "verify"]
