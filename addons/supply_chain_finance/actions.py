"""The actions on a financing application and on a repayment-account lock, declared once
(:mod:`core.actions`) for their pages: the institution's decision (批准 / 拒绝 / 要求补充材料),
disbursement, repayment and release; the supplier's reply and withdrawal; the purchaser's
confirmation of the repayment account.

Each action has its own permission (``can_decide`` for institutions, ``can_apply`` for
suppliers, ``can_confirm`` for purchasers) and a guard (the institution the application was
addressed to, the supplier that made it, the contract's purchaser); the services refuse
what the state does not allow (409) and every bad input by field (422).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.actions import Action, Actions
from core.services.money import MoneyField
from core.tenancy import current_scope

from . import services
from .models import APP_STATES, FINANCED_STATES, LOCK_STATES, PENDING_STATES

TEXT = mv.Length(max=2000, error="长度不能超过 {max} 个字符")
SHORT = mv.Length(max=64, error="长度不能超过 {max} 个字符")


def _today(session: Any, obj: Any) -> str:
    return services.today().isoformat()


def _org() -> int | None:
    return current_scope().org_id


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


def _decide(decision: str) -> Any:
    def run(session: Any, app: Any, body: dict[str, Any]) -> Any:
        return services.decide(session, app.id, bank_id=_org(), decision=decision, **body)

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
    Action("disburse", "登记放款", lambda s, a, b: services.disburse(
        s, a.id, bank_id=_org(), amount=b["amount"], on=b["date"], maturity=b["maturity"],
        reference=b.get("reference"), registry_number=b.get("registry_number")),
        schema=DisburseSchema, permission="decide", guard=_bank_guard,
        available=_state("approved", what="批准后才能登记放款")),
    Action("repay", "登记还款", lambda s, a, b: services.repay(
        s, a.id, bank_id=_org(), amount=b["amount"], on=b["date"], reference=b.get("reference")),
        schema=RepaySchema, permission="decide", guard=_bank_guard,
        available=_state("disbursed", what="放款后才能登记还款")),
    Action("release", "解除锁定", lambda s, a, b: services.release(
        s, a.id, bank_id=_org(), reason=b["reason"]), schema=ReasonSchema, permission="decide",
        guard=_bank_guard, available=_state(*FINANCED_STATES, what="没有可解除的锁定"),
        button="btn-warning"),
    Action("reply", "提交补充材料", lambda s, a, b: services.reply(
        s, a.id, supplier_id=_org(), text=b["text"]), schema=ReplySchema, permission="apply",
        guard=_supplier_guard, available=_state("info_requested", what="机构未要求补充材料")),
    Action("withdraw", "撤回申请", lambda s, a, b: services.withdraw(s, a.id, supplier_id=_org()),
           permission="apply", guard=_supplier_guard,
           available=_state(*PENDING_STATES, what="不能撤回"), button="btn-default"),
    permission="show", api_path=None, page_path="/act/<int:pk>/<string:name>",
    page_method="act",
)


def _purchaser_guard(session: Any, lock: Any) -> str | None:
    from .api import purchaser_units

    units = purchaser_units(session)
    contract = services.contract_of(session, lock.contract_id)
    if units is not None and (contract is None or contract.purchaser_id not in units):
        return "只有合同的采购人可以确认回款账户"
    return None


def _lock_pending(session: Any, lock: Any) -> str | None:
    return None if lock.status == "pending" else f"回款账户状态为“{LOCK_STATES.get(lock.status, '')}”"


def _confirm(session: Any, lock: Any, body: dict[str, Any]) -> Any:
    from .api import current_user_name, purchaser_units

    return services.confirm_account(session, lock.id, purchaser_ids=purchaser_units(session),
                                    actor=current_user_name() or None)


LOCK_ACTIONS = Actions(
    Action("confirm", "确认回款账户", _confirm, permission="confirm", guard=_purchaser_guard,
           available=_lock_pending,
           done="已确认：此后该合同的付款只能付至该回款账户，直至银行报告结清或解除",
           note=lambda s, lock: f"确认后，该合同的每一笔付款都必须付至 {lock.account_bank or ''} {lock.account}"),
    permission="show", api_path=None, page_path="/act/<int:pk>/<string:name>", page_method="act",
)
