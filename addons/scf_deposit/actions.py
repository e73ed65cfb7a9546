"""The actions on an electronic guarantee, declared once (:mod:`core.actions`) for its page:
the institution issues, declines, reports a claim paid (``can_issue``); the beneficiary
verifies, claims, releases (``can_verify``); the supplier withdraws its request
(``can_request``). Guards: the issuer addressed, the project's purchaser or agency, the
applicant; the services refuse what the state does not allow (409) and bad input by field."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from addons.deposit_ledger import services as dl
from core.actions import Action, Actions
from core.services.money import MoneyField
from core.tenancy import current_scope, own_units

from . import services
from .models import STATES

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


def _state(*states: str, what: str) -> Any:
    def check(session: Any, g: Any) -> str | None:
        return None if g.status in states else f"保函状态为“{STATES.get(g.status, '')}”，{what}"

    return check


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


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=TEXT, error_messages={"required": "请填写理由"},
                           metadata={"label": "理由", "widget": "textarea"})


class VerifySchema(Schema):
    verify_code = fields.String(required=True, validate=mv.Length(max=64),
                                metadata={"label": "验真码"})
    file_sha256 = fields.String(required=True, validate=SHORT, metadata={
        "label": "收到的保函文件 SHA-256 摘要",
        "help": "在下方“选择保函文件”后自动计算；也可粘贴摘要"})
    required_amount = MoneyField(load_default=None, allow_negative=False, metadata={
        "label": "应缴保证金金额（元）", "initial": lambda s, g: str(g.requested_amount)})


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
    Action("issue", "出具保函", lambda s, g, b: services.issue(s, g.id, issuer_id=_org(), **b),
           schema=IssueSchema, permission="issue", guard=_issuer,
           available=_state("requested", what="不能再出函"), button="btn-success",
           done="已出具：请将保函文件和验真码交申请人"),
    Action("decline", "不予出函", lambda s, g, b: services.decline(
        s, g.id, issuer_id=_org(), reason=b["reason"]), schema=ReasonSchema, permission="issue",
        guard=_issuer, available=_state("requested", what="不能再作答复"), button="btn-danger"),
    Action("pay_claim", "登记索赔赔付", lambda s, g, b: services.pay_claim(
        s, g.id, issuer_id=_org(), amount=b["amount"], on=b["date"], reference=b.get("reference")),
        schema=PaySchema, permission="issue", guard=_issuer,
        available=_state("claimed", what="没有待赔付的索赔")),
    Action("verify", "验真并入账", lambda s, g, b: services.verify(
        s, g.id, verify_code=b["verify_code"], file_sha256=b["file_sha256"],
        required_amount=b.get("required_amount"), actor=current_user_name()),
        schema=VerifySchema, permission="verify", guard=_beneficiary,
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
    permission="show", api_path=None, page_path="/act/<int:pk>/<string:name>", page_method="act",
)


def current_user_name() -> str | None:
    from flask import g

    user = getattr(g, "user", None)
    return getattr(user, "username", None)
