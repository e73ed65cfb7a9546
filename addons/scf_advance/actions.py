"""The actions on an advance payment, declared once (:mod:`core.actions`) for its page and
its API (``POST /api/v1/scf_advance/<pk>/<name>``, each with an ``Idempotency-Key``): the
purchaser verifies the policy, pays the advance, releases the policy on acceptance, claims,
cancels (``can_manage``); the supplier presents the policy (``can_present``). The API
answers ``{"result": advance_json(a)}``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from addons.supply_chain_finance import services as scf
from addons.supply_chain_finance.api import purchaser_units
from core.actions import Action, Actions
from core.services.money import MoneyField
from core.tenancy import current_scope

from . import services
from .models import STATES, Advance

SHORT = mv.Length(max=64, error="长度不能超过 {max} 个字符")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def advance_json(a: Advance) -> dict[str, Any]:
    """An advance as the API answers it."""
    return {"id": a.id, "contract_id": a.contract_id, "contract_number": a.contract_number,
            "status": a.status, "status_label": STATES.get(a.status),
            "share_percent": str(a.share_percent), "amount": str(a.amount),
            "delivery_date": _iso(a.delivery_date),
            "insurer": a.insurer.name if a.insurer else None, "policy_number": a.policy_number,
            "policy_amount": None if a.policy_amount is None else str(a.policy_amount),
            "valid_until": _iso(a.valid_until), "payment_id": a.payment_id,
            "paid_on": _iso(a.paid_on), "closed_on": _iso(a.closed_on)}


def _purchaser(session: Any, adv: Any) -> str | None:
    units = purchaser_units(session)
    return None if units is None or adv.purchaser_id in units else "只有合同的采购人可以办理"


def _supplier(session: Any, adv: Any) -> str | None:
    return None if current_scope().org_id == adv.supplier_id else "只有合同的供应商可以办理"


def _state(*states: str, what: str) -> Any:
    def check(session: Any, adv: Any) -> str | None:
        return None if adv.status in states else f"状态为“{STATES.get(adv.status, '')}”，{what}"

    return check


def _insurers(session: Any, adv: Any) -> list[tuple[int, str]]:
    return [(i.org_id, i.org.name) for i in scf.institutions_for(session, adv.region_id)]


class PresentSchema(Schema):
    insurer = fields.Integer(required=True, strict=False, metadata={
        "label": "保险机构（或出函银行、担保机构）", "choices": _insurers})
    policy_number = fields.String(required=True, validate=SHORT, metadata={"label": "保单（保函）号"})
    insured_credit_code = fields.String(required=True, validate=mv.Length(max=18), metadata={
        "label": "被保险人统一社会信用代码",
        "initial": lambda s, a: (a.purchaser.credit_code or "") if a.purchaser else ""})
    amount = MoneyField(required=True, allow_negative=False, metadata={
        "label": "保险金额（元）", "initial": lambda s, a: str(a.amount)})
    valid_until = fields.Date(required=True, metadata={"label": "保险期间截止日"})
    file_sha256 = fields.String(required=True, validate=SHORT, metadata={"label": "保单文件 SHA-256 摘要"})


class VerifySchema(Schema):
    file_sha256 = fields.String(required=True, validate=SHORT,
                                metadata={"label": "收到的保单文件 SHA-256 摘要"})


class PaySchema(Schema):
    paid_date = fields.Date(required=True, metadata={"label": "支付日期",
                                                     "initial": lambda s, a: scf.today()})
    reference = fields.String(load_default=None, validate=mv.Length(max=100),
                              metadata={"label": "支付凭证号"})
    payee_account = fields.String(load_default=None, validate=SHORT, metadata={"label": "收款账户"})


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=mv.Length(max=2000),
                           metadata={"label": "未履约情况", "widget": "textarea"})


ADVANCE_ACTIONS = Actions(
    Action("present", "提交保单", lambda s, a, b: services.present(
        s, a.id, supplier_id=current_scope().org_id, insurer_id=b["insurer"],
        policy_number=b["policy_number"], insured_credit_code=b["insured_credit_code"],
        amount=b["amount"], valid_until=b["valid_until"], file_sha256=b["file_sha256"]),
        schema=PresentSchema, permission="present", guard=_supplier,
        available=_state("agreed", "presented", what="不能再提交保单"), button="btn-success"),
    Action("verify", "验真保单", lambda s, a, b: services.verify(
        s, a.id, file_sha256=b["file_sha256"], purchaser_ids=purchaser_units(s)),
        schema=VerifySchema, permission="manage", guard=_purchaser,
        available=_state("presented", what="没有待验真的保单"), button="btn-success"),
    Action("pay", "支付预付款", lambda s, a, b: services.pay(
        s, a.id, paid_date=b["paid_date"], reference=b.get("reference"),
        payee_account=b.get("payee_account"), purchaser_ids=purchaser_units(s)),
        schema=PaySchema, permission="manage", guard=_purchaser,
        available=_state("verified", what="保单验真后才能支付预付款")),
    Action("release", "验收后解除保单", lambda s, a, b: services.release(
        s, a.id, purchaser_ids=purchaser_units(s)), permission="manage", guard=_purchaser,
        available=_state("paid", what="没有在保的保单"), button="btn-warning"),
    Action("claim", "未履约索赔", lambda s, a, b: services.claim(
        s, a.id, reason=b["reason"], purchaser_ids=purchaser_units(s)), schema=ReasonSchema,
        permission="manage", guard=_purchaser, available=_state("paid", what="没有在保的保单"),
        button="btn-danger"),
    Action("cancel", "取消预付款", lambda s, a, b: services.cancel(
        s, a.id, purchaser_ids=purchaser_units(s)), permission="manage", guard=_purchaser,
        available=_state("agreed", "presented", "verified", what="预付款已支付，不能取消"),
        button="btn-default"),
    permission="show", result=lambda s, a, value: advance_json(value),
    api_path="/<int:pk>/{name}", idempotent=True, not_found="预付款记录不存在，或不在您的可见范围内",
    page_path="/act/<int:pk>/<string:name>", page_method="act",
)
