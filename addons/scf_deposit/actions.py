"""The actions on an electronic guarantee, declared once (:mod:`core.actions`) for its page
and its API (``POST /api/v1/scf_guarantee/<pk>/<name>``, each with an ``Idempotency-Key``):
the institution issues, declines, reports a claim paid (``can_issue``; API
``/claim_payment``); the beneficiary verifies, claims, releases (``can_verify``); the
supplier withdraws its request (``can_request``). Guards: the issuer addressed, the
project's purchaser or agency, the applicant; the services refuse what the state does not
allow (409) and bad input by field. The API answers ``{"result": guarantee_json(g)}``."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from addons.deposit_ledger import services as dl
from core.actions import Action, Actions
from core.errors import RuleError
from core.services.money import MoneyField
from core.tenancy import current_scope, own_units

from . import services
from .models import KINDS, STATES, Guarantee

SHORT = mv.Length(max=64, error="长度不能超过 {max} 个字符")
TEXT = mv.Length(max=2000, error="长度不能超过 {max} 个字符")


def _org() -> int | None:
    return current_scope().org_id


def _issuer(session: Any, g: Any) -> str | None:
    return None if _org() == g.issuer_id else "只有申请人选择的出函机构可以办理"


def _applicant(session: Any, g: Any) -> str | None:
    return None if _org() == g.supplier_id else "只有申请人可以办理"


def _beneficiary(session: Any, g: Any) -> str | None:
    scope = current_scope()
    if scope.unrestricted:
        return None
    units = {i for (i,) in session.execute(own_units(scope))} if scope.org_id else set()
    if units & {g.project.purchaser_id, g.project.agency_id}:
        return None
    return "只有该项目的采购人或采购代理机构可以办理"


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def guarantee_json(g: Guarantee) -> dict[str, Any]:
    """A guarantee as the API answers it."""
    return {
        "id": g.id, "request_number": g.request_number, "kind": g.kind,
        "kind_label": KINDS.get(g.kind), "status": g.status, "status_label": STATES.get(g.status),
        "project_id": g.project_id, "package_id": g.package_id, "contract_id": g.contract_id,
        "supplier": g.supplier.name if g.supplier else None,
        "supplier_credit_code": g.supplier.credit_code if g.supplier else None,
        "issuer": g.issuer.name if g.issuer else None,
        "issuer_credit_code": g.issuer.credit_code if g.issuer else None,
        "beneficiary": g.beneficiary.name if g.beneficiary else None,
        "requested_amount": _s(g.requested_amount), "ciphered": g.ciphered,
        "number": g.number, "amount": _s(g.amount), "valid_from": _iso(g.valid_from),
        "valid_until": _iso(g.valid_until), "file_name": g.file_name,
        # the registered digests: to the issuer and the applicant; the beneficiary checks the
        # file it received against them and is never shown them
        **({"file_sha256": g.file_sha256, "file_sm3": g.file_sm3}
           if current_scope().org_id in (g.issuer_id, g.supplier_id) else {}),
        "deposit_id": g.deposit_id,
        "decline_reason": g.decline_reason, "claimed_on": _iso(g.claimed_on),
        "claim_paid_amount": _s(g.claim_paid_amount), "claim_paid_on": _iso(g.claim_paid_on),
        "released_on": _iso(g.released_on),
    }


def file_bytes(body: dict[str, Any]) -> bytes | None:
    """The API's ``file_base64`` (the PDF/OFD), decoded; None when not sent."""
    raw = body.get("file_base64")
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise RuleError({"file_base64": ["文件内容须为 Base64 文本"]})
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise RuleError({"file_base64": ["文件内容不是有效的 Base64"]}) from None
    if len(data) > 20 * 1024 * 1024:
        raise RuleError({"file_base64": ["保函文件不能超过 20 MB"]})
    return data


#: the API's file, Base64 (not on the page form: the page sends the digest)
FILE_BASE64 = fields.Raw(load_default=None, metadata={
    "label": "保函文件（Base64，PDF/OFD）", "description": "可选：与 file_sha256 核对"})


def _state(*states: str, what: str) -> Any:
    def check(session: Any, g: Any) -> str | None:
        return None if g.status in states else f"保函状态为“{STATES.get(g.status, '')}”，{what}"

    return check


_PAGE_ISSUE = ("number", "amount", "valid_from", "valid_until", "file_name", "file_sha256",
               "verify_code")


class IssueSchema(Schema):
    number = fields.String(required=True, validate=SHORT, metadata={"label": "保函编号"})
    amount = MoneyField(required=True, allow_negative=False, metadata={
        "label": "保函金额（元）", "initial": lambda s, g: str(g.requested_amount)})
    valid_from = fields.Date(required=True, metadata={"label": "有效期起始日"})
    valid_until = fields.Date(required=True, metadata={"label": "有效期截止日"})
    file_name = fields.String(required=True, validate=mv.Length(max=200),
                              metadata={"label": "保函文件名（.pdf 或 .ofd）"})
    file_sha256 = fields.String(required=True, validate=SHORT,
                                metadata={"label": "保函文件 SHA-256 摘要"})
    verify_code = fields.String(required=True, validate=mv.Length(max=32),
                                metadata={"label": "验真码（交申请人转交受益人）"})
    file_base64 = FILE_BASE64


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=TEXT, error_messages={"required": "请填写理由"},
                           metadata={"label": "理由", "widget": "textarea"})


class VerifySchema(Schema):
    """Every check's failure is a reason in one 422 (the service decides what is missing)."""

    verify_code = fields.String(load_default=None, validate=mv.Length(max=64),
                                metadata={"label": "验真码", "page_required": True})
    file_sha256 = fields.String(load_default=None, validate=SHORT, metadata={
        "label": "收到的保函文件 SHA-256 摘要", "page_required": True,
        "help": "在下方“选择保函文件”后自动计算；也可粘贴摘要（接口也可改传 file_base64）"})
    required_amount = MoneyField(load_default=None, allow_negative=False, metadata={
        "label": "应缴保证金金额（元）", "initial": lambda s, g: str(g.requested_amount)})
    file_base64 = FILE_BASE64


def _reasons(session: Any, g: Any) -> list[tuple[int, str]]:
    return [(r.id, r.name) for r in dl.project_reasons(session, g.project_id) if r.kind == g.kind]


class ClaimSchema(Schema):
    reason = fields.Integer(required=True, strict=False, metadata={
        "label": "索赔依据（招标文件载明的情形）", "choices": _reasons})
    note = fields.String(load_default=None, validate=TEXT,
                         metadata={"label": "说明", "widget": "textarea"})


class PaySchema(Schema):
    amount = MoneyField(required=True, allow_negative=False, metadata={
        "label": "赔付金额（元）", "initial": lambda s, g: str(g.amount or "")})
    date = fields.Date(required=True, metadata={"label": "赔付日期",
                                                "initial": lambda s, g: services.today()})
    reference = fields.String(load_default=None, validate=mv.Length(max=100),
                              metadata={"label": "付款流水号"})


class NoteSchema(Schema):
    note = fields.String(load_default=None, validate=TEXT,
                         metadata={"label": "说明", "widget": "textarea"})


GUARANTEE_ACTIONS = Actions(
    Action("issue", "出具保函", lambda s, g, b: services.issue(
        s, g.id, issuer_id=_org(), number=b["number"], amount=b["amount"],
        valid_from=b["valid_from"], valid_until=b["valid_until"], file_name=b["file_name"],
        file_sha256=b["file_sha256"], verify_code=b["verify_code"], file_bytes=file_bytes(b)),
           schema=IssueSchema, inputs=_PAGE_ISSUE, permission="issue", guard=_issuer,
           available=_state("requested", what="不能再出函"), button="btn-success",
           done="已出具：请将保函文件和验真码交申请人"),
    Action("decline", "不予出函", lambda s, g, b: services.decline(
        s, g.id, issuer_id=_org(), reason=b["reason"]), schema=ReasonSchema, permission="issue",
        guard=_issuer, available=_state("requested", what="不能再作答复"), button="btn-danger"),
    Action("pay_claim", "登记索赔赔付", lambda s, g, b: services.pay_claim(
        s, g.id, issuer_id=_org(), amount=b["amount"], on=b["date"], reference=b.get("reference")),
        schema=PaySchema, permission="issue", guard=_issuer, api_path="/<int:pk>/claim_payment",
        available=_state("claimed", what="没有待赔付的索赔")),
    Action("verify", "验真并入账", lambda s, g, b: services.verify(
        s, g.id, verify_code=b.get("verify_code"), file_sha256=b.get("file_sha256"),
        file_bytes=file_bytes(b), required_amount=b.get("required_amount"),
        actor=current_user_name() or None),
        schema=VerifySchema, inputs=("verify_code", "file_sha256", "required_amount"), permission="verify", guard=_beneficiary,
        available=_state("issued", what="只有已出函、未验真的保函可以验真"), button="btn-success",
        done="验真通过：已作为保证金（电子保函）记入保证金台账"),
    Action("claim", "索赔", lambda s, g, b: services.claim(
        s, g.id, reason_id=b["reason"], note=b.get("note")), schema=ClaimSchema,
        permission="verify", guard=_beneficiary,
        available=_state("verified", what="只有在用的保函可以索赔"), button="btn-danger"),
    Action("release", "解除保函", lambda s, g, b: services.release(s, g.id, note=b.get("note")),
           schema=NoteSchema, permission="verify", guard=_beneficiary,
           available=_state("verified", what="只有在用的保函可以解除"), button="btn-warning"),
    Action("withdraw", "撤回申请", lambda s, g, b: services.withdraw(s, g.id, supplier_id=_org()),
           permission="request", guard=_applicant,
           available=_state("requested", what="不能撤回"), button="btn-default"),
    permission="show", result=lambda s, g, value: guarantee_json(value),
    api_path="/<int:pk>/{name}", idempotent=True, not_found="保函不存在，或不在您的可见范围内",
    page_path="/act/<int:pk>/<string:name>", page_method="act",
)


def current_user_name() -> str | None:
    from flask import g

    user = getattr(g, "user", None)
    return getattr(user, "username", None)
