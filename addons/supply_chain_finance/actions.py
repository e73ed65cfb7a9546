"""The actions on a financing application and on a repayment-account lock, declared once
(:mod:`core.actions`) for their pages and the bank API: the institution's decision (批准 /
拒绝 / 要求补充材料; API ``POST /<pk>/decision`` with ``decision`` in the body, an API-only
action), disbursement (API ``/<pk>/disbursement``), repayment (``/<pk>/repayment``) and
release (``/<pk>/release``); the supplier's reply (``/<pk>/reply``) and withdrawal
(``/<pk>/withdraw``); the purchaser's confirmation of the repayment account
(``scf_account_lock/<pk>/confirm``). Every API write needs an ``Idempotency-Key``.

Each action has its own permission (``can_decide`` for institutions, ``can_apply`` for
suppliers, ``can_confirm`` for purchasers) and a guard for the page (the institution the
application was addressed to, the supplier that made it, the contract's purchaser); the
services refuse who may not (403), what the state does not allow (409) and every bad input
by field (422). The API hands them the body as sent (``api_raw``: the bank API's answers
are the services' own, as before the declaration) and answers ``{"result": app_json(app)}``
(``lock_json`` for the lock).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.actions import Action, Actions
from core.errors import ForbiddenError
from core.services.money import MoneyField
from core.tenancy import current_scope, own_units

from . import services
from .models import (
    APP_STATES,
    FINANCED_STATES,
    LOCK_STATES,
    PENDING_STATES,
    AccountLock,
    Application,
)

TEXT = mv.Length(max=2000, error="长度不能超过 {max} 个字符")
SHORT = mv.Length(max=64, error="长度不能超过 {max} 个字符")


def _today(session: Any, obj: Any) -> str:
    return services.today().isoformat()


def _org() -> int | None:
    return current_scope().org_id


def caller_org_id() -> int:
    """The caller's organisation (403 for a user of none: the platform's)."""
    scope = current_scope()
    if scope.org_id is None:
        raise ForbiddenError("只有金融机构、供应商或采购人单位的用户可以执行此操作")
    return scope.org_id


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def app_json(app: Application) -> dict[str, Any]:
    """An application as the API answers it."""
    return {
        "id": app.id, "number": app.number, "contract_id": app.contract_id,
        "contract_number": app.contract_number,
        "supplier": app.supplier.name if app.supplier else None,
        "bank": app.bank.name if app.bank else None, "amount": _s(app.amount),
        "status": app.status, "status_label": APP_STATES.get(app.status),
        "overdue": services.is_overdue(app), "submitted_at": _iso(app.submitted_at),
        "decision_due": _iso(app.decision_due), "decided_at": _iso(app.decided_at),
        "purpose": app.purpose, "info_request": app.info_request,
        "supplier_reply": app.supplier_reply, "reject_reason": app.reject_reason,
        "approved_amount": _s(app.approved_amount), "rate_percent": _s(app.rate_percent),
        "term_months": app.term_months, "repayment_account": app.repayment_account,
        "repayment_account_name": app.repayment_account_name,
        "repayment_bank": app.repayment_bank, "registry_number": app.registry_number,
        "disbursed_amount": _s(app.disbursed_amount), "disbursed_on": _iso(app.disbursed_on),
        "maturity_date": _iso(app.maturity_date), "repaid_amount": _s(app.repaid_amount),
        "last_repaid_on": _iso(app.last_repaid_on), "release_reason": app.release_reason,
    }


def lock_json(lock: AccountLock) -> dict[str, Any]:
    """A repayment-account lock as the API answers it."""
    return {"id": lock.id, "contract_id": lock.contract_id,
            "contract_number": lock.contract_number,
            "bank": lock.bank.name if lock.bank else None, "account": lock.account,
            "account_name": lock.account_name, "account_bank": lock.account_bank,
            "status": lock.status, "status_label": LOCK_STATES.get(lock.status),
            "confirmed_at": _iso(lock.confirmed_at), "released_at": _iso(lock.released_at)}


def _bank_guard(session: Any, app: Any) -> str | None:
    return None if _org() == app.bank_id else "只有申请人选择的金融机构可以办理"


def _supplier_guard(session: Any, app: Any) -> str | None:
    return None if _org() == app.supplier_id else "只有提出申请的供应商可以办理"


def _state(*states: str, what: str) -> Any:
    def check(session: Any, app: Any) -> str | None:
        if app.status in states:
            return None
        return f"申请状态为“{APP_STATES.get(app.status, '')}”，{what}"

    return check


class ApproveSchema(Schema):
    amount = MoneyField(required=True, allow_negative=False, metadata={
        "label": "批准金额（元）", "initial": lambda s, a: str(a.amount)})
    rate_percent = fields.String(required=True, validate=mv.Length(max=10),
                                 metadata={"label": "年利率（%）", "placeholder": "例如 3.45"})
    term_months = fields.Integer(required=True, strict=False,
                                 error_messages={"invalid": "请填写整数月数"},
                                 metadata={"label": "期限（月）"})
    repayment_account = fields.String(required=True, validate=SHORT,
                                      metadata={"label": "回款账户（银行账号）"})
    repayment_account_name = fields.String(load_default=None, validate=mv.Length(max=200),
                                           metadata={"label": "账户名称"})
    repayment_bank = fields.String(load_default=None, validate=mv.Length(max=200),
                                   metadata={"label": "开户行"})


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=TEXT,
                           error_messages={"required": "请填写理由"},
                           metadata={"label": "理由或说明", "widget": "textarea"})


class DisburseSchema(Schema):
    amount = MoneyField(required=True, allow_negative=False, metadata={
        "label": "放款金额（元）", "initial": lambda s, a: str(a.approved_amount or "")})
    date = fields.Date(required=True, metadata={"label": "放款日期", "initial": _today})
    maturity = fields.Date(required=True, metadata={"label": "到期日"})
    reference = fields.String(load_default=None, validate=mv.Length(max=100),
                              metadata={"label": "放款流水号"})
    registry_number = fields.String(load_default=None, validate=SHORT,
                                    metadata={"label": "动产融资登记编号"})


class RepaySchema(Schema):
    amount = MoneyField(required=True, allow_negative=False, metadata={"label": "还款金额（元）"})
    date = fields.Date(required=True, metadata={"label": "还款日期", "initial": _today})
    reference = fields.String(load_default=None, validate=mv.Length(max=100),
                              metadata={"label": "还款流水号"})


class ReplySchema(Schema):
    text = fields.String(required=True, validate=mv.Length(max=4000),
                         error_messages={"required": "请填写补充说明"},
                         metadata={"label": "补充说明", "widget": "textarea"})


class DecisionSchema(Schema):
    """The API's decision (documented; the service reads and checks it)."""

    decision = fields.String(required=True, metadata={
        "description": "approve（批准）| reject（拒绝）| request_info（要求补充材料）"})
    amount = fields.String(metadata={"description": "approve：批准金额（元）"})
    rate_percent = fields.String(metadata={"description": "approve：年利率（%）"})
    term_months = fields.Integer(metadata={"description": "approve：期限（月）"})
    repayment_account = fields.String(metadata={"description": "approve：回款账户"})
    repayment_account_name = fields.String(metadata={"description": "approve：账户名称"})
    repayment_bank = fields.String(metadata={"description": "approve：开户行"})
    reason = fields.String(metadata={"description": "reject / request_info：理由或说明"})


_DECISION_FIELDS = ("amount", "rate_percent", "term_months", "repayment_account",
                    "repayment_account_name", "repayment_bank", "reason")


#: the API's 404: unknown, or not addressed to the caller
APPLICATION_NOT_FOUND = "融资申请不存在，或不是向贵机构（贵单位）提交的"


def _decide(decision: str | None) -> Any:
    """The decision ``decision`` (a page button), or the body's ``decision`` (the API)."""

    def run(session: Any, app: Any, body: dict[str, Any]) -> Any:
        return services.decide(
            session, app.id, bank_id=caller_org_id(),
            decision=body.get("decision") if decision is None else decision,
            **{k: body.get(k) for k in _DECISION_FIELDS})

    return run


APPLICATION_ACTIONS = Actions(
    Action("approve", "批准", _decide("approve"), schema=ApproveSchema, permission="decide",
           guard=_bank_guard, available=_state(*PENDING_STATES, what="已不能再作决定"),
           done="已批准：请等待采购人确认回款账户", button="btn-success"),
    Action("request_info", "要求补充材料", _decide("request_info"), schema=ReasonSchema,
           permission="decide", guard=_bank_guard, available=_state("submitted", what="不能要求补充材料"),
           button="btn-default"),
    Action("reject", "拒绝", _decide("reject"), schema=ReasonSchema, permission="decide",
           guard=_bank_guard, available=_state(*PENDING_STATES, what="已不能再作决定"),
           button="btn-danger"),
    Action("decision", "作出决定", _decide(None), schema=DecisionSchema, permission="decide",
           guard=_bank_guard, api_path="/<int:pk>/decision", api_raw=True, page=False,
           description="作出决定（decision = approve | reject | request_info）；"
                       "同一合同已被批准时再批准答复 409"),
    Action("disburse", "登记放款", lambda s, a, b: services.disburse(
        s, a.id, bank_id=caller_org_id(), amount=b.get("amount"), on=b.get("date"),
        maturity=b.get("maturity"), reference=b.get("reference"),
        registry_number=b.get("registry_number")),
        schema=DisburseSchema, permission="decide", guard=_bank_guard,
        api_path="/<int:pk>/disbursement", api_raw=True,
        available=_state("approved", what="批准后才能登记放款")),
    Action("repay", "登记还款", lambda s, a, b: services.repay(
        s, a.id, bank_id=caller_org_id(), amount=b.get("amount"), on=b.get("date"),
        reference=b.get("reference")),
        schema=RepaySchema, permission="decide", guard=_bank_guard,
        api_path="/<int:pk>/repayment", api_raw=True,
        description="登记还款；全部还清时解除回款账户锁定",
        available=_state("disbursed", what="放款后才能登记还款")),
    Action("release", "解除锁定", lambda s, a, b: services.release(
        s, a.id, bank_id=caller_org_id(), reason=b.get("reason")), schema=ReasonSchema,
        permission="decide", guard=_bank_guard, api_path="/<int:pk>/release", api_raw=True,
        available=_state(*FINANCED_STATES, what="没有可解除的锁定"), button="btn-warning"),
    Action("reply", "提交补充材料", lambda s, a, b: services.reply(
        s, a.id, supplier_id=caller_org_id(), text=b.get("text")), schema=ReplySchema,
        permission="apply", guard=_supplier_guard, api_path="/<int:pk>/reply", api_raw=True,
        available=_state("info_requested", what="机构未要求补充材料")),
    Action("withdraw", "撤回申请", lambda s, a, b: services.withdraw(
        s, a.id, supplier_id=caller_org_id()), permission="apply", guard=_supplier_guard,
        api_path="/<int:pk>/withdraw", api_raw=True,
        available=_state(*PENDING_STATES, what="不能撤回"), button="btn-default"),
    permission="show", result=lambda s, a, value: app_json(value), api_path=None,
    idempotent=True, not_found=APPLICATION_NOT_FOUND, caller_check=caller_org_id,
    page_path="/act/<int:pk>/<string:name>", page_method="act",
)


def current_user_name() -> str:
    from flask import g

    user = getattr(g, "user", None)
    return getattr(user, "username", "") or ""


def purchaser_units(session: Any) -> set[int] | None:
    """The units a purchaser user acts for (None: the platform)."""
    scope = current_scope()
    if scope.unrestricted:
        return None
    if scope.org_id is None:
        return set()
    return {i for (i,) in session.execute(own_units(scope))}


def _purchaser_guard(session: Any, lock: Any) -> str | None:
    units = purchaser_units(session)
    contract = services.contract_of(session, lock.contract_id)
    if units is not None and (contract is None or contract.purchaser_id not in units):
        return "只有合同的采购人可以确认回款账户"
    return None


def _lock_pending(session: Any, lock: Any) -> str | None:
    return None if lock.status == "pending" else f"回款账户状态为“{LOCK_STATES.get(lock.status, '')}”"


def _confirm(session: Any, lock: Any, body: dict[str, Any]) -> Any:
    return services.confirm_account(session, lock.id, purchaser_ids=purchaser_units(session),
                                    actor=current_user_name() or None)


LOCK_ACTIONS = Actions(
    Action("confirm", "确认回款账户", _confirm, permission="confirm", guard=_purchaser_guard,
           available=_lock_pending, api_path="/<int:pk>/confirm", api_raw=True,
           description="确认回款账户：此后该合同的每一笔付款都必须付至该账户",
           done="已确认：此后该合同的付款只能付至该回款账户，直至银行报告结清或解除",
           note=lambda s, lock: f"确认后，该合同的每一笔付款都必须付至 {lock.account_bank or ''} {lock.account}"),
    permission="show", result=lambda s, lock, value: lock_json(value), api_path=None,
    idempotent=True, not_found="回款账户记录不存在",
    page_path="/act/<int:pk>/<string:name>", page_method="act",
)
