"""Business rules of electronic guarantees (电子保函) in place of deposits: plain Python on a
session.

* :func:`request` - a supplier asks an institution of its own choosing (bank, insurer,
  guarantee company serving the project's region, in a random order: :func:`issuers_for`)
  for a bid guarantee (its package, before the bid deadline) or a performance guarantee (its
  contract); the beneficiary is the project's agency, else its purchaser, and may not refuse
  the form (发改法规〔2023〕27号). A bid guarantee may be ciphered (密文保函);
* :func:`issue` / :func:`decline` - the institution's system answers: guarantee number,
  amount, validity, the file (PDF or OFD) with its SHA-256 and the verification code (验真码);
* :func:`verify` (保函验真) - the beneficiary checks before accepting: issuer on the region's
  whitelist, beneficiary, project and package, amount ≥ the deposit required and ≤ the cap of
  the deposit ledger, validity covering the bid-validity (or performance) period, the file's
  digest and the verification code, not surrendered; any failure refuses it with the reasons
  and stores nothing; success records the deposit in ``deposit_ledger`` as form
  ``guarantee`` (电子保函) in the same transaction;
* :func:`claim` (索赔) under a forfeiture case the project's tender documents list, within
  the validity; :func:`pay_claim` - the issuer pays, the ledger records the money as
  forfeited, remitted to the treasury like forfeited cash; :func:`release` - returned at
  the end (also when released from the deposit ledger's own page: a flush listener keeps
  the guarantee in step with its deposit).

Every change is audited (module ``scf_deposit``) and the parties get in-app messages.
Errors: ``RuleError`` 422 by field, ``ConflictError`` 409, ``ForbiddenError`` 403.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from addons.deposit_ledger import services as dl
from addons.deposit_ledger.models import Deposit
from addons.procurement_base.models import OPENED_STATES, Bid, Contract, Package, Project
from addons.supply_chain_finance import services as scf
from addons.supply_chain_finance.hooks import BUREAU_SECTIONS, BureauSection
from addons.supply_chain_finance.models import Institution
from core.errors import ConflictError, ForbiddenError, RuleError
from core.messages import notify
from core.services import audit, settings
from core.services.money import MoneyError, fmt_yuan, percent_cap, to_money
from core.tenancy import Scope, current_scope, own_units

from .models import IN_PLACE, KINDS, MODULE, STATES, Guarantee

ZERO = Decimal("0.00")
UNSCOPED = {"erp_unscoped": True}
#: the guarantee is still live (a second one for the same deposit is refused)
ACTIVE = ("requested", "issued", "verified", "claimed")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_CODE = re.compile(r"^[0-9A-Za-z-]{6,32}$")

settings.declare(
    "scf_deposit.bid_validity_days", type="int", default=90,
    label_zh="投标有效期（自投标截止日起，日）",
    help_zh="投标保函的有效期须覆盖投标截止日至投标有效期届满；招标文件另有规定的，以招标文件为准。",
    source="《政府采购货物和服务招标投标管理办法》（财政部令第87号）第二十三条（招标文件载明投标有效期）",
    module=MODULE,
)
settings.declare(
    "scf_deposit.performance_days", type="int", default=365,
    label_zh="履约期（合同无付款计划时，自签订日起，日）",
    help_zh="履约保函的有效期须覆盖履约期：合同付款计划的最后一期；无付款计划时为签订日起的此天数。",
    source="平台约定", module=MODULE,
)


def now() -> dt.datetime:
    return scf.now()


def today() -> dt.date:
    return scf.today()


# -- helpers ---------------------------------------------------------------------------------------
def _audit(session: Session, action: str, g: Guarantee, after: Any = None,
           reason: str | None = None, before: Any = None) -> None:
    audit.record(session, action=action, object_type="scf_guarantee", object_id=g.id,
                 before=before, after=after, module=MODULE, region_id=g.region_id, reason=reason)


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


def _get(session: Session, model: Any, value: Any, field: str, label: str) -> Any:
    try:
        ident = scf.record_id(value)
    except (TypeError, ValueError):
        raise RuleError({field: [f"请选择{label}"]}) from None
    obj = session.execute(select(model).where(model.id == ident).execution_options(**UNSCOPED)
                          ).scalars().first()
    if obj is None:
        raise RuleError({field: [f"所选{label}不存在"]})
    return obj


def _lock(session: Session, gid: Any) -> Guarantee:
    try:
        ident = scf.record_id(gid)
    except (TypeError, ValueError):
        raise RuleError({"guarantee": ["保函不存在"]}) from None
    g = scf.lock_row(session, Guarantee, ident)
    if g is None:
        raise RuleError({"guarantee": ["保函不存在"]})
    return g


def _state(g: Guarantee, *allowed: str, what: str) -> None:
    if g.status not in allowed:
        raise ConflictError({"status": [f"保函状态为“{STATES.get(g.status, '')}”，{what}"]})


def _pct(value: Any) -> str:
    """2 -> "2", 2.50 -> "2.5"."""
    return format(Decimal(value).normalize(), "f")


def digest_code(salt: str, code: str) -> str:
    """The stored form of a verification code: SHA-256 of salt and code (hex)."""
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def sm3_hex(data: bytes) -> str | None:
    """SM3 (GB/T 32905-2016) of ``data`` through the standard library's OpenSSL, or None
    where OpenSSL was built without it."""
    try:
        return hashlib.new("sm3", data).hexdigest()
    except ValueError:
        return None


def cap(session: Session, g_kind: str, project: Project, package: Package | None,
        contract: Contract | None) -> tuple[Decimal, str]:
    """The deposit ledger's legal cap for this deposit (exact cap, shown rounded down)."""
    if g_kind == "bid":
        base = package.budget if package is not None else project.budget
        pct = settings.get("deposit.bid_cap_percent", region_id=project.region_id, session=session)
        c = percent_cap(base, pct)
        return c.shown, f"投标保证金上限为预算的{_pct(pct)}%（{fmt_yuan(c.shown)}）"
    pct = settings.get("deposit.performance_cap_percent", region_id=project.region_id,
                       session=session)
    c = percent_cap(contract.amount, pct)
    return c.shown, f"履约保证金上限为合同金额的{_pct(pct)}%（{fmt_yuan(c.shown)}）"


def cover_period(session: Session, g: Guarantee) -> tuple[dt.date, dt.date, str]:
    """The period the guarantee's validity must cover: from the bid deadline to the end of
    the bid validity (bid), or from signing to the last payment-plan date (performance)."""
    project = g.project
    if g.kind == "bid":
        start = project.bid_deadline.date() if project.bid_deadline else (g.requested_at.date())
        days = int(settings.get("scf_deposit.bid_validity_days", region_id=g.region_id,
                                session=session))
        return start, start + dt.timedelta(days=days), f"投标有效期（投标截止日起 {days} 日）"
    contract = g.contract
    start = contract.signed_date or g.requested_at.date()
    plans = scf.contract_data(session, contract)["payment_plan"]
    if plans:
        end = max(dt.date.fromisoformat(p["due_date"]) for p in plans)
        return start, end, "履约期（至合同付款计划最后一期）"
    days = int(settings.get("scf_deposit.performance_days", region_id=g.region_id, session=session))
    return start, start + dt.timedelta(days=days), f"履约期（签订日起 {days} 日）"


def project_opened(project: Project) -> bool:
    return project.status in OPENED_STATES or (
        project.status in ("terminated", "failed") and project.opening_date is not None)


# -- institutions ------------------------------------------------------------------------------
def issuers_for(session: Session, region_id: int) -> list[Institution]:
    """The institutions a supplier may ask, in a random order (new per call)."""
    return scf.institutions_for(session, region_id)


def on_whitelist(session: Session, issuer_id: int, region_id: int) -> bool:
    inst = scf.institution_of(session, issuer_id)
    return inst is not None and inst.active and scf.serves(session, inst, region_id)


# -- the supplier asks ---------------------------------------------------------------------
def request(session: Session, *, supplier_id: int, kind: Any, issuer_id: Any, amount: Any,
            package_id: Any = None, contract_id: Any = None, ciphered: Any = False) -> Guarantee:
    """申请电子保函: a bid guarantee for one of the supplier's packages (before the bid
    deadline) or a performance guarantee for one of its contracts."""
    if kind not in KINDS:
        raise RuleError({"kind": ["保函类型只能是：投标保函（bid）、履约保函（performance）"]})
    package = contract = None
    if kind == "bid":
        package = _get(session, Package, package_id, "package", "采购包")
        project = package.project
        if project.status != "published":
            raise RuleError({"package": ["该项目不在投标期（须已发布采购公告、尚未开标），不能申请投标保函"]})
        if project.bid_deadline is not None and now() >= project.bid_deadline:
            raise RuleError({"package": [f"投标已于 {project.bid_deadline:%Y-%m-%d %H:%M} 截止，不能再申请投标保函"]})
        dup = Guarantee.package_id == package.id
    else:
        contract = _get(session, Contract, contract_id, "contract", "合同")
        if contract.supplier_id != supplier_id:
            raise ForbiddenError({"contract": ["该合同不是贵单位的合同"]})
        project = contract.project
        if project is None:
            raise RuleError({"contract": ["该合同没有采购项目（电子卖场订单不收履约保证金）"]})
        if contract.status not in ("draft", "signed", "performing"):
            raise RuleError({"contract": ["合同已履行完毕或已终止，不能申请履约保函"]})
        dup = Guarantee.contract_id == contract.id
    if ciphered not in (None, "", False, True, "true", "on", "1", 0, 1, "false", "0"):
        raise RuleError({"ciphered": ["密文保函只能选择是或否"]})
    secret = ciphered in (True, "true", "on", "1", 1)
    if secret and kind != "bid":
        raise RuleError({"ciphered": ["只有投标保函可以是密文保函（开标前隐藏投标人）"]})
    try:
        iid = scf.record_id(issuer_id)
    except (TypeError, ValueError):
        raise RuleError({"issuer": ["请选择出函机构"]}) from None
    if not on_whitelist(session, iid, project.region_id):
        raise RuleError({"issuer": ["所选机构不在本地区保函出具机构名单内"]})
    value = _money("amount", "保函金额", amount)
    limit, text = cap(session, kind, project, package, contract)
    if value > limit:
        raise RuleError({"amount": [f"保函金额 {fmt_yuan(value)} 超过{text}"]})
    if session.execute(select(Guarantee.id).where(
            dup, Guarantee.supplier_id == supplier_id, Guarantee.kind == kind,
            Guarantee.status.in_(ACTIVE)).execution_options(**UNSCOPED)).first() is not None:
        raise ConflictError({"kind": [f"贵单位在该{'采购包' if kind == 'bid' else '合同'}已有办理中或在用的{KINDS[kind]}"]})
    at = now()
    g = Guarantee(request_number=f"BH{at:%Y%m%d}{secrets.token_hex(4).upper()}", kind=kind,
                  project_id=project.id, package_id=package.id if package else None,
                  contract_id=contract.id if contract else None, supplier_id=supplier_id,
                  issuer_id=iid, beneficiary_id=project.agency_id or project.purchaser_id,
                  requested_amount=value, ciphered=secret, status="requested", requested_at=at,
                  region_id=project.region_id)
    session.add(g)
    session.flush()
    _audit(session, "scf_guarantee_request", g, after={"类型": KINDS[kind], "金额": str(value),
                                                        "密文保函": "是" if secret else "否"})
    notify(session, org_id=iid, kind="scf_guarantee", title=f"新的电子保函申请 {g.request_number}",
           body=f"{KINDS[kind]}，金额 {fmt_yuan(value)}，项目 {project.number}，请出函或说明不予出函的理由。",
           link=f"/guaranteeview/show/{g.id}")
    return g


def withdraw(session: Session, gid: Any, *, supplier_id: int) -> Guarantee:
    g = _lock(session, gid)
    if g.supplier_id != supplier_id:
        raise ForbiddenError("只有申请人可以撤回")
    _state(g, "requested", what="只有待出函的申请可以撤回")
    g.status = "withdrawn"
    session.flush()
    _audit(session, "scf_guarantee_withdraw", g, after={"状态": STATES["withdrawn"]})
    return g


# -- the institution answers ----------------------------------------------------------------
def _own_issuer(session: Session, gid: Any, issuer_id: int) -> Guarantee:
    g = _lock(session, gid)
    if g.issuer_id != issuer_id:
        raise ForbiddenError("该保函申请不是向贵机构提出的")
    return g


def issue(session: Session, gid: Any, *, issuer_id: int, number: Any, amount: Any,
          valid_from: Any, valid_until: Any, file_name: Any, file_sha256: Any,
          verify_code: Any, file_bytes: bytes | None = None) -> Guarantee:
    """出函: the institution's answer. ``file_bytes`` (the PDF/OFD), when sent, must hash to
    ``file_sha256``; its SM3 is kept too. The verification code is stored salted and hashed."""
    g = _own_issuer(session, gid, issuer_id)
    _state(g, "requested", what="不能再出函")
    errors: dict[str, list[str]] = {}

    def bad(field: str, text: str) -> None:
        errors.setdefault(field, []).append(text)

    num = scf.clean_text(number, 64)
    if not num:
        bad("number", "请填写保函编号")
    value = None
    try:
        value = _money("amount", "保函金额", amount)
    except RuleError as exc:
        errors.update(exc.messages)
    if value is not None and value < g.requested_amount:
        bad("amount", f"保函金额不得低于申请金额 {fmt_yuan(g.requested_amount)}")
    start = end = None
    try:
        start = scf.parse_date("valid_from", "有效期起始日", valid_from)
        end = scf.parse_date("valid_until", "有效期截止日", valid_until)
    except RuleError as exc:
        errors.update(exc.messages)
    if start and end and end <= start:
        bad("valid_until", "有效期截止日须晚于起始日")
    name = scf.clean_text(file_name, 200)
    if not name or not name.lower().endswith((".pdf", ".ofd")):
        bad("file_name", "保函文件须为 PDF 或 OFD 文件（文件名以 .pdf 或 .ofd 结尾）")
    sha = (scf.clean_text(file_sha256, 64) or "").lower()
    if not _HEX64.match(sha):
        bad("file_sha256", "请填写保函文件的 SHA-256 摘要（64 位十六进制）")
    sm3 = None
    if file_bytes is not None and _HEX64.match(sha):
        if not hmac.compare_digest(hashlib.sha256(file_bytes).hexdigest(), sha):
            bad("file_sha256", "所附文件的 SHA-256 摘要与填写的摘要不一致")
        sm3 = sm3_hex(file_bytes)
    code = scf.clean_text(verify_code, 32) if verify_code is not None else None
    if not code or not _CODE.match(code):
        bad("verify_code", "验真码须为 6 到 32 位字母、数字或连字符")
    if errors:
        raise RuleError(errors)
    if session.execute(select(Guarantee.id).where(
            Guarantee.issuer_id == issuer_id, Guarantee.number == num,
            Guarantee.id != g.id).execution_options(**UNSCOPED)).first() is not None:
        raise ConflictError({"number": [f"保函编号 {num} 已使用"]})
    salt = secrets.token_hex(8)
    g.number, g.amount, g.valid_from, g.valid_until = num, value, start, end
    g.file_name, g.file_sha256, g.file_sm3 = name, sha, sm3
    g.code_salt, g.code_digest = salt, digest_code(salt, code)
    g.status, g.issued_at = "issued", now()
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError({"number": [f"保函编号 {num} 已使用"]}) from None
    _audit(session, "scf_guarantee_issue", g, after={
        "保函编号": num, "金额": str(value), "有效期": f"{start} 至 {end}", "SHA-256": sha})
    notify(session, org_id=g.supplier_id, kind="scf_guarantee",
           title=f"电子保函已出具 {num}", link=f"/guaranteeview/show/{g.id}",
           body=f"{g.issuer.name if g.issuer else ''}已出具{KINDS[g.kind]} {num}，金额 {fmt_yuan(value)}；"
                "请将保函文件和验真码交收取单位验真。")
    return g


def decline(session: Session, gid: Any, *, issuer_id: int, reason: Any) -> Guarantee:
    g = _own_issuer(session, gid, issuer_id)
    _state(g, "requested", what="不能再作答复")
    text = scf.clean_text(reason, 2000)
    if not text:
        raise RuleError({"reason": ["请说明不予出函的理由"]})
    g.status, g.decline_reason = "declined", text
    session.flush()
    _audit(session, "scf_guarantee_decline", g, after={"状态": STATES["declined"]}, reason=text)
    notify(session, org_id=g.supplier_id, kind="scf_guarantee",
           title=f"保函申请 {g.request_number} 未获出具", body=text,
           link=f"/guaranteeview/show/{g.id}")
    return g


# -- the beneficiary verifies ---------------------------------------------------------------
def _check_beneficiary(session: Session, g: Guarantee, scope: Scope) -> None:
    """Only the project's purchaser (or its competent unit) or agency verifies and claims."""
    if scope.unrestricted:
        return
    units = {i for (i,) in session.execute(own_units(scope))} if scope.org_id else set()
    if scope.actor not in ("purchaser", "agency") or not units & {
            g.project.purchaser_id, g.project.agency_id}:
        raise ForbiddenError("只有该项目的采购人或采购代理机构（保函受益人）可以办理")


def verification_problems(session: Session, g: Guarantee, *, verify_code: Any,
                          file_sha256: Any = None, file_bytes: bytes | None = None,
                          required_amount: Any = None, on: dt.date | None = None
                          ) -> dict[str, list[str]]:
    """保函验真: every check, each failure a reason by field (empty: the guarantee passes)."""
    on = on or today()
    problems: dict[str, list[str]] = {}

    def bad(field: str, text: str) -> None:
        problems.setdefault(field, []).append(text)

    project = g.project
    if not on_whitelist(session, g.issuer_id, g.region_id):
        bad("issuer", "出函机构不在本地区保函出具机构名单内（或已停用）")
    if g.beneficiary_id not in (project.agency_id, project.purchaser_id) or \
            g.beneficiary_id != (project.agency_id or project.purchaser_id):
        bad("beneficiary", "保函受益人与该项目的保证金收取单位不一致")
    if g.kind == "bid":
        if g.package is None or g.package.project_id != project.id:
            bad("package", "保函载明的采购包不属于该项目")
    elif g.contract is None or g.contract.project_id != project.id or \
            g.contract.supplier_id != g.supplier_id:
        bad("contract", "保函载明的合同与项目或申请人不一致")
    required = None
    if required_amount not in (None, ""):
        try:
            required = _money("required_amount", "应缴保证金金额", required_amount)
        except RuleError as exc:
            problems.update(exc.messages)
    else:
        required = g.requested_amount
    if required is not None and g.amount is not None and g.amount < required:
        bad("amount", f"保函金额 {fmt_yuan(g.amount)} 低于应缴保证金 {fmt_yuan(required)}")
    if g.amount is not None and (g.kind == "bid" or g.contract is not None):
        limit, text = cap(session, g.kind, project, g.package, g.contract)
        if g.amount > limit:
            bad("amount", f"保函金额 {fmt_yuan(g.amount)} 超过{text}")
        if required is not None and required > limit:
            bad("required_amount", f"应缴保证金超过{text}")
    if g.valid_until is not None and g.valid_until < on:
        bad("valid_until", f"保函已于 {g.valid_until.isoformat()} 过期")
    else:
        start, end, what = cover_period(session, g)
        if (g.valid_from and g.valid_from > start) or (g.valid_until and g.valid_until < end):
            bad("valid_until", f"保函有效期（{g.valid_from} 至 {g.valid_until}）未覆盖{what}："
                               f"{start.isoformat()} 至 {end.isoformat()}")
    sha = None
    if file_bytes is not None:
        sha = hashlib.sha256(file_bytes).hexdigest()
        if g.file_sm3 and sm3_hex(file_bytes) not in (None, g.file_sm3):
            bad("file", "保函文件的 SM3 摘要与出函机构登记的不一致（文件被改动）")
    elif file_sha256 not in (None, ""):
        sha = str(file_sha256).strip().lower()
    if sha is None:
        bad("file", "请上传收到的保函文件，或填写其 SHA-256 摘要")
    elif not g.file_sha256 or not hmac.compare_digest(sha, g.file_sha256):
        bad("file", "保函文件的 SHA-256 摘要与出函机构登记的不一致（文件被改动或不是该保函）")
    code = scf.clean_text(verify_code) if verify_code is not None else None
    if not code:
        bad("verify_code", "请填写验真码")
    elif not g.code_digest or not hmac.compare_digest(digest_code(g.code_salt or "", code[:64]),
                                                       g.code_digest):
        bad("verify_code", "验真码不正确")
    return problems


def verify(session: Session, gid: Any, *, verify_code: Any, file_sha256: Any = None,
           file_bytes: bytes | None = None, required_amount: Any = None,
           scope: Scope | None = None, actor: str | None = None) -> Guarantee:
    """验真并入账: all checks pass, then the deposit ledger records the deposit as a
    guarantee (电子保函) in this transaction; otherwise 422 with every reason, nothing stored."""
    scope = scope or current_scope()
    g = _lock(session, gid)
    _check_beneficiary(session, g, scope)
    if g.status in ("released", "claimed", "paid"):
        raise ConflictError({"status": [f"保函已{'解除（退回）' if g.status == 'released' else '索赔'}，不能再用作保证金"]})
    _state(g, "issued", what="只有已出函、未验真的保函可以验真")
    if g.ciphered and not project_opened(g.project):
        raise ConflictError({"status": ["密文保函须在开标后验真（开标前不显示投标人）"]})
    problems = verification_problems(session, g, verify_code=verify_code, file_sha256=file_sha256,
                                     file_bytes=file_bytes, required_amount=required_amount)
    if problems:
        raise RuleError(problems)
    bid = None
    if g.kind == "bid":
        bid = session.execute(select(Bid).where(
            Bid.package_id == g.package_id, Bid.supplier_id == g.supplier_id)
            .execution_options(**UNSCOPED)).scalars().first()
    dep = Deposit(number=g.request_number, kind=g.kind, project_id=g.project_id,
                  package_id=g.package_id, bid_id=bid.id if bid else None,
                  contract_id=g.contract_id, supplier_id=g.supplier_id, holder_id=g.beneficiary_id,
                  form="guarantee", guarantee_type="e_guarantee", guarantee_number=g.number,
                  guarantee_issuer=g.issuer.name if g.issuer else "",
                  guarantee_valid_until=g.valid_until, amount=g.amount, received_date=today(),
                  note=f"电子保函验真通过（{g.request_number}）")
    dl.record_deposit(session, dep, scope=scope)
    g.status, g.deposit_id = "verified", dep.id
    g.required_amount = to_money(required_amount) if required_amount not in (None, "") else g.requested_amount
    g.verified_at, g.verified_by = now(), actor
    session.flush()
    _audit(session, "scf_guarantee_verify", g, after={"状态": STATES["verified"],
                                                       "保证金": dep.number})
    for org in (g.supplier_id, g.issuer_id):
        notify(session, org_id=org, kind="scf_guarantee", title=f"电子保函 {g.number} 已验真",
               body=f"收取单位已验真并以该保函作为{'投标' if g.kind == 'bid' else '履约'}保证金入账。",
               link=f"/guaranteeview/show/{g.id}")
    return g


# -- claims and release -------------------------------------------------------------------------
def claim(session: Session, gid: Any, *, reason_id: Any, note: Any = None,
          scope: Scope | None = None) -> Guarantee:
    """索赔: the beneficiary claims under a forfeiture case the project's tender documents
    list, within the guarantee's validity; the issuer is told."""
    scope = scope or current_scope()
    g = _lock(session, gid)
    _check_beneficiary(session, g, scope)
    _state(g, "verified", what="只有已验真入账的保函可以索赔")
    allowed = {r.id: r for r in dl.project_reasons(session, g.project_id)}
    try:
        rid = scf.record_id(reason_id)
    except (TypeError, ValueError):
        rid = None
    if rid is None or rid not in allowed:
        listed = "、".join(r.name for r in allowed.values()) or "（该项目招标文件未载明任何不予退还情形）"
        raise RuleError({"reason": [f"只能按该项目招标文件载明的情形索赔：{listed}"]})
    if allowed[rid].kind != g.kind:
        raise RuleError({"reason": ["该事由不适用于此类保函"]})
    day = today()
    if g.valid_until is not None and day > g.valid_until:
        raise RuleError({"reason": [f"保函已于 {g.valid_until.isoformat()} 到期，不能再索赔"]})
    g.status, g.claim_reason_id, g.claimed_on = "claimed", rid, day
    g.claim_note = scf.clean_text(note, 2000)
    session.flush()
    _audit(session, "scf_guarantee_claim", g, after={"状态": STATES["claimed"]},
           reason=allowed[rid].name)
    notify(session, org_id=g.issuer_id, kind="scf_guarantee", title=f"保函索赔 {g.number}",
           body=f"受益人依据“{allowed[rid].name}”提出索赔，金额 {fmt_yuan(g.amount)}。",
           link=f"/guaranteeview/show/{g.id}")
    return g


def pay_claim(session: Session, gid: Any, *, issuer_id: int, amount: Any, on: Any,
              reference: Any = None) -> Guarantee:
    """The issuer reports paying the claim: the deposit ledger records the money received
    and forfeited (to be remitted to the treasury like forfeited cash)."""
    g = _own_issuer(session, gid, issuer_id)
    _state(g, "claimed", what="没有待赔付的索赔")
    day = scf.parse_date("on", "赔付日期", on)
    if day > today() or (g.claimed_on and day < g.claimed_on):
        raise RuleError({"on": ["赔付日期须在索赔日期与今天之间"]})
    ref = scf.clean_text(reference, 100)
    dl.record_guarantee_claim(session, g.deposit_id, amount=amount, on=day, bank_reference=ref,
                              reason_id=g.claim_reason_id, note=f"保函 {g.number} 索赔款",
                              scope=Scope(actor="system"))
    g.status, g.claim_paid_amount, g.claim_paid_on = "paid", g.amount, day
    g.claim_reference = ref
    session.flush()
    _audit(session, "scf_guarantee_pay_claim", g, after={"赔付金额": str(g.amount),
                                                          "赔付日期": day.isoformat()})
    notify(session, org_id=g.beneficiary_id, kind="scf_guarantee",
           title=f"保函 {g.number} 索赔款已到账", link=f"/guaranteeview/show/{g.id}",
           body=f"{fmt_yuan(g.amount)} 已记入保证金台账（不予退还），请上缴国库。")
    return g


def release(session: Session, gid: Any, *, note: Any = None, scope: Scope | None = None) -> Guarantee:
    """解除: the guarantee is returned (its deposit released in the ledger)."""
    scope = scope or current_scope()
    g = _lock(session, gid)
    _check_beneficiary(session, g, scope)
    _state(g, "verified", what="只有在用的保函可以解除")
    dl.release(session, g.deposit_id, note=scf.clean_text(note, 2000), scope=scope)
    session.flush()
    return g


# -- keep the guarantee in step with its deposit ---------------------------------------------
def _installed() -> bool:
    """Whether this module is installed (the listener is registered on import, also where
    only ``deposit_ledger`` is installed and ``scf_guarantee`` does not exist)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return True
    state = current_app.extensions.get("erp")
    return state is None or state.is_installed(MODULE)


def _follow_deposit(session: Session, flush_context: Any, instances: Any) -> None:
    changed = [d for d in session.dirty if isinstance(d, Deposit)
               and inspect(d).attrs.status.history.has_changes()]
    if not changed or not _installed():
        return
    with session.no_autoflush:
        for dep in changed:
            g = session.execute(select(Guarantee).where(Guarantee.deposit_id == dep.id)
                                .execution_options(**UNSCOPED)).scalars().first()
            if g is None:
                continue
            if dep.status == "released" and g.status == "verified":
                g.status, g.released_on = "released", dep.settled_date or today()
                _audit(session, "scf_guarantee_release", g, after={"状态": STATES["released"]})
                notify(session, org_id=g.supplier_id, kind="scf_guarantee",
                       title=f"电子保函 {g.number} 已解除", body="收取单位已解除该保函。",
                       link=f"/guaranteeview/show/{g.id}")
            elif dep.status == "held" and g.status == "released":
                g.status, g.released_on = "verified", None
                _audit(session, "scf_guarantee_unrelease", g, after={"状态": STATES["verified"]})


if not event.contains(Session, "before_flush", _follow_deposit):
    event.listen(Session, "before_flush", _follow_deposit)


# -- figures ----------------------------------------------------------------------------------
def in_place_figures(session: Session, start: dt.date, end: dt.date) -> dict[str, dict[str, Any]]:
    """Per region name (the caller's visibility): guarantees accepted (verified) in [start,
    end] in place of cash deposits - count, guarantee amount, cash freed (the deposits the
    suppliers did not have to pay), still in place, and claims paid."""
    rows = session.execute(select(Guarantee).where(
        Guarantee.verified_at.is_not(None),
        Guarantee.verified_at >= dt.datetime.combine(start, dt.time()),
        Guarantee.verified_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    ).scalars().all()
    out: dict[str, dict[str, Any]] = {}
    for g in rows:
        r = out.setdefault(g.region.name if g.region else "", {
            "guarantees": 0, "guarantee_amount": ZERO, "cash_freed": ZERO, "in_place": 0,
            "claims_paid": ZERO})
        r["guarantees"] += 1
        r["guarantee_amount"] += g.amount or ZERO
        r["cash_freed"] += g.required_amount or g.amount or ZERO
        if g.status in IN_PLACE:
            r["in_place"] += 1
        if g.status == "paid":
            r["claims_paid"] += g.claim_paid_amount or ZERO
    return out


@BUREAU_SECTIONS.implement(MODULE)
def guarantee_section(session: Session, start: dt.date, end: dt.date) -> BureauSection:
    """The finance bureau's view: electronic guarantees in place of cash deposits."""
    return BureauSection(
        title="电子保函替代保证金",
        columns=[("guarantees", "验真入账笔数", "int"), ("guarantee_amount", "保函金额", "money"),
                 ("cash_freed", "释放现金（免缴保证金）", "money"), ("in_place", "仍在用笔数", "int"),
                 ("claims_paid", "索赔赔付金额", "money")],
        rows=in_place_figures(session, start, end),
        note="按验真入账日期统计；释放现金为以保函代替的应缴保证金金额。")


__all__ = ["claim", "decline", "guarantee_section", "in_place_figures", "issue", "issuers_for", "pay_claim",
           "release", "request", "verification_problems", "verify", "withdraw"]
