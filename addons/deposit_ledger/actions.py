"""The actions on a deposit, declared once (:mod:`core.actions`) for the API
(``POST /api/v1/dl_deposit/<pk>/<action>``) and the deposit page (``/depositview/act/<pk>/
<action>``): refund, forfeit, remit, convert, release, reverse, trigger; and on a proposed
bank-statement match (:data:`MATCH_ACTIONS`): confirm, reject
(``POST /api/v1/dl_reconcile/match/<pk>/<decision>`` and the buttons of each row on the
reconciliation page, ``/deposit/reconcile/decide/<pk>/<decision>``).

Permission ``can_operate``; who may act on this deposit is the guard (the deposit's region
is writable for the user); what the deposit's state allows is :data:`services.DEPOSIT_FLOW`
(an action its state does not have is not shown; the services refuse it with 409).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv
from sqlalchemy import select

from addons.procurement_base.models import Contract
from core import tenancy
from core.actions import Action, Actions, machine_refusal
from core.api import INVALID_MESSAGES
from core.services.money import MoneyField
from core.views.base import money_text

from . import reconcile, services
from .models import ENTRY_KINDS, STATES, TRIGGERS, Deposit, DepositEntry, StatementMatch

DATE = {"invalid": INVALID_MESSAGES[fields.Date]}
TEXT = mv.Length(max=200, error="长度不能超过 {max} 个字符")


def _today(session: Any, dep: Any) -> str:
    return services.today().isoformat()


def _money() -> MoneyField:
    return MoneyField(load_default=None, allow_none=True, allow_negative=False,
                      metadata={"label": "金额", "widget": "hidden"})


def _date(label: str = "日期") -> fields.Date:
    return fields.Date(load_default=None, allow_none=True, error_messages=DATE,
                       metadata={"label": label, "initial": _today})


def _note(label: str = "备注") -> fields.String:
    return fields.String(load_default=None, validate=mv.Length(max=2000),
                         metadata={"label": label})


def _reasons(session: Any, dep: Any) -> list[tuple[int, str]]:
    return [(r.id, r.name) for r in services.project_reasons(session, dep.project_id)]


def _contracts(session: Any, dep: Any) -> list[tuple[int, str]]:
    rows = session.execute(select(Contract).where(
        Contract.project_id == dep.project_id, Contract.supplier_id == dep.supplier_id)
        .order_by(Contract.number)).scalars()
    return [(c.id, c.number) for c in rows]


class RefundSchema(Schema):
    date = _date("退还日期")
    amount = _money()
    payee_account = fields.String(load_default=None, validate=TEXT, metadata={
        "label": "收款账户", "initial": lambda s, dep: dep.payer_account or ""})
    bank_reference = fields.String(load_default=None, validate=TEXT, metadata={
        "label": "银行交易流水号", "page_required": True})
    note = _note()


class ForfeitSchema(Schema):
    reason = fields.Integer(required=True, strict=True,
                            error_messages={"required": "请选择不予退还的事由", "invalid": "请填写事由编号"},
                            metadata={"label": "不予退还事由", "choices": _reasons,
                                      "placeholder": "招标文件载明的情形"})
    date = _date()
    amount = _money()
    note = _note("说明")


class RemitSchema(Schema):
    voucher_no = fields.String(load_default=None, validate=TEXT, metadata={
        "label": "缴款凭证号", "page_required": True})
    date = _date("上缴日期")
    amount = _money()
    note = _note()


class ConvertSchema(Schema):
    contract = fields.Integer(required=True, strict=True,
                              error_messages={"required": "请选择采购合同", "invalid": "请填写合同编号"},
                              metadata={"label": "采购合同", "choices": _contracts,
                                        "placeholder": "选择合同"})
    date = _date()
    number = fields.String(load_default=None, validate=mv.Length(max=50),
                           metadata={"label": "履约保证金编号（可空）"})


class ReleaseSchema(Schema):
    date = _date("解除日期")
    note = _note("说明")


def _last_live(session: Any, dep: Any) -> int | None:
    live = services.live_entries(session, dep.id)
    return live[-1].id if live else None


class ReverseSchema(Schema):
    reason = fields.String(load_default=None, validate=mv.Length(max=2000),
                           metadata={"label": "冲销原因", "page_required": True})
    entry = fields.Integer(load_default=None, strict=True,
                           error_messages={"invalid": "请填写分录编号"},
                           metadata={"label": "分录", "widget": "hidden", "initial": _last_live})
    date = _date("冲销日期")


class TriggerSchema(Schema):
    trigger = fields.String(load_default=None, allow_none=True, metadata={
        "label": "退还事由", "placeholder": "尚未发生",
        "choices": lambda s, dep: list(TRIGGERS.items()), "initial": lambda s, dep: dep.trigger})
    date = fields.Date(load_default=None, allow_none=True, error_messages=DATE, metadata={
        "label": "触发事件日期", "initial": lambda s, dep: dep.trigger_date})
    supplier_fault = fields.Boolean(load_default=None, allow_none=True,
                                    error_messages={"invalid": "请输入 true 或 false"},
                                    metadata={"label": "供应商自身原因延误",
                                              "initial": lambda s, dep: dep.supplier_fault})
    supplier_fault_reason = fields.String(load_default=None, allow_none=True,
                                          validate=mv.Length(max=2000), metadata={
                                              "label": "延误原因",
                                              "initial": lambda s, dep: dep.supplier_fault_reason})
    #: a trigger or date other than the procurement record's needs a written reason (audited)
    override_reason = fields.String(load_default=None, allow_none=True,
                                    validate=mv.Length(max=2000), metadata={
                                        "label": "与采购记录不一致的书面说明"})


# -- API answers -------------------------------------------------------------------------------------
def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def entry_json(e: DepositEntry) -> dict[str, Any]:
    return {"id": e.id, "deposit_id": e.deposit_id, "kind": e.kind,
            "kind_label": ENTRY_KINDS.get(e.kind), "reversed_kind": e.reversed_kind,
            "amount": str(e.amount), "entry_date": _iso(e.entry_date),
            "payee_account": e.payee_account, "bank_reference": e.bank_reference,
            "voucher_no": e.voucher_no, "reason_id": e.reason_id,
            "linked_entry_id": e.linked_entry_id, "reverses_id": e.reverses_id,
            "late_fee": str(e.late_fee), "overdue_days": e.overdue_days, "note": e.note,
            "created_by": e.created_by}


def deposit_state(session: Any, dep: Deposit) -> dict[str, Any]:
    b = services.balances(session, dep.id)
    return {"id": dep.id, "number": dep.number, "status": dep.status,
            "status_label": STATES.get(dep.status), "due_date": _iso(dep.due_date),
            "settled_date": _iso(dep.settled_date),
            **{k: str(v) for k, v in b.as_dict().items()}}


def _result(session: Any, dep: Deposit, value: Any) -> dict[str, Any]:
    dep = session.get(Deposit, dep.id)
    out: dict[str, Any] = {"deposit": deposit_state(session, dep)}
    if isinstance(value, DepositEntry):
        out["entry"] = entry_json(value)
    elif isinstance(value, Deposit) and value.id != dep.id:
        out["performance_deposit"] = deposit_state(session, value)
    return out


# -- who, and when -----------------------------------------------------------------------------------
def _may_operate(session: Any, dep: Deposit) -> None:
    """The deposit's region must be writable for the user (403 otherwise)."""
    tenancy.check_region_writable(Deposit, dep.region_id)


def _flow(name: str, *, money_only: bool = False, guarantee_only: bool = False,
          bid_only: bool = False):
    def available(session: Any, dep: Deposit) -> str | bool | None:
        if money_only and dep.form == "guarantee":
            return False
        if guarantee_only and dep.form != "guarantee":
            return False
        if bid_only and dep.kind != "bid":
            return False
        return machine_refusal(services.DEPOSIT_FLOW, session, dep, name)

    return available


def _reversible(session: Any, dep: Deposit) -> str | bool | None:
    if services.live_entries(session, dep.id) or dep.status == "released":
        return None
    return False


def _held(session: Any, dep: Deposit) -> bool | None:
    return None if dep.status == "held" else False


def _done(label: str):
    return lambda dep, _v: f"已{label}。保证金状态：{STATES[dep.status]}"


def _reverse_note(session: Any, dep: Deposit) -> str | None:
    live = services.live_entries(session, dep.id)
    if not live:
        return None
    e = live[-1]
    return f"冲销最近一笔：{ENTRY_KINDS[e.kind]} {money_text(e.amount)}（{e.entry_date}）"


def _no_reasons(session: Any, dep: Deposit) -> str | None:
    if services.project_reasons(session, dep.project_id):
        return None
    return "该项目尚未登记不予退还情形（保证金管理 → 项目不予退还情形）"


DEPOSIT_ACTIONS = Actions(
    Action("refund", "退还", schema=RefundSchema, available=_flow("refund", money_only=True),
           run=lambda s, dep, b: services.refund(
               s, dep.id, on=b["date"], amount=b["amount"], payee_account=b["payee_account"],
               bank_reference=b["bank_reference"], note=b["note"]),
           description="退还在管余额（自动计算资金占用费）；重复或并发退还 409",
           button_text=lambda s, dep: f"退还 {money_text(services.balances(s, dep.id).held)}",
           done=_done("退还")),
    Action("forfeit", "不予退还", schema=ForfeitSchema,
           available=_flow("forfeit", money_only=True), button="btn-warning", note=_no_reasons,
           run=lambda s, dep, b: services.forfeit(
               s, dep.id, reason_id=b["reason"], on=b["date"], amount=b["amount"],
               note=b["note"]),
           description="按项目招标文件载明的情形不予退还", done=_done("不予退还")),
    Action("remit", "上缴国库", schema=RemitSchema, available=_flow("remit"),
           run=lambda s, dep, b: services.remit(
               s, dep.id, voucher_no=b["voucher_no"], on=b["date"], amount=b["amount"],
               note=b["note"]),
           button_text=lambda s, dep: f"上缴 {money_text(services.balances(s, dep.id).unremitted)}",
           description="不予退还的金额上缴同级国库", done=_done("上缴国库")),
    Action("convert", "转为履约保证金", schema=ConvertSchema, button="btn-default",
           available=_flow("convert", money_only=True, bid_only=True),
           run=lambda s, dep, b: services.convert(
               s, dep.id, contract_id=b["contract"], on=b["date"], number=b["number"]),
           description="中标供应商的投标保证金转为履约保证金", done=_done("转为履约保证金")),
    Action("release", "解除保函", schema=ReleaseSchema,
           available=_flow("release", guarantee_only=True),
           run=lambda s, dep, b: services.release(s, dep.id, on=b["date"], note=b["note"]),
           description="解除保函（不退还资金）", done=_done("解除保函")),
    Action("reverse", "冲销", schema=ReverseSchema, available=_reversible, button="btn-danger",
           note=_reverse_note,
           run=lambda s, dep, b: services.reverse(
               s, dep.id, reason=b["reason"], entry_id=b["entry"], on=b["date"]),
           description="冲销最近一笔有效分录（或指定分录）", done=_done("冲销")),
    Action("trigger", "登记退还事由", schema=TriggerSchema, available=_held, button="btn-default",
           run=lambda s, dep, b: services.record_trigger(
               s, dep.id, trigger=b["trigger"], on=b["date"], supplier_fault=b["supplier_fault"],
               fault_reason=b["supplier_fault_reason"], override_reason=b["override_reason"]),
           button_text=lambda s, dep: "保存并计算应退还日期",
           description="登记退还事由（及供应商自身原因延误），按工作日重新计算应退还日期",
           done=_done("登记退还事由")),
    permission="operate", guard=_may_operate, result=_result,
    api_path="/<int:pk>/{name}", page_path="/act/<int:pk>/<string:name>", page_method="act",
    module=services.MODULE,
)


# -- bank reconciliation: a proposed match ------------------------------------------------------------
def _may_decide(session: Any, match: StatementMatch) -> None:
    """The match's region must be writable for the user (403 otherwise)."""
    tenancy.check_region_writable(StatementMatch, match.region_id)


def _proposed(session: Any, match: StatementMatch) -> bool | None:
    return None if match.state == "proposed" else False


def _decide(decision: str):
    def run(session: Any, match: StatementMatch, body: dict[str, Any]) -> StatementMatch:
        return reconcile.decide(session, match.id, decision)  # refused 409, audited

    return run


MATCH_ACTIONS = Actions(
    Action("confirm", "确认", _decide("confirm"), available=_proposed, button="btn-default",
           done="已确认匹配"),
    Action("reject", "否决", _decide("reject"), available=_proposed, button="btn-default",
           done="已否决匹配"),
    permission="operate", guard=_may_decide,
    result=lambda session, match, value: reconcile.match_json(value),
    api_path="/match/<int:pk>/<string:decision>", api_method="decide",
    page_path="/decide/<int:pk>/<string:decision>", page_method="decide",
    model=StatementMatch, module=services.MODULE,
)
