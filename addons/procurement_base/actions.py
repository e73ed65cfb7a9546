"""The actions of projects and contracts (their status machines), declared once for the API
(``POST /api/v1/pb_project/<pk>/transition/<name>``, ``.../pb_contract/...``) and the pages
(``/projectview/transition/<pk>/<name>``, ``/contractview/...``): see :mod:`core.actions`.

Who may move a project or a contract is the guard (:func:`services.assert_manages_project`,
:func:`services.assert_manages_contract`): a user it refuses sees no buttons and gets 403
from the API; what the record's state allows is the machine's (the page says why not).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv
from sqlalchemy import select

from core.actions import Action, Actions
from core.api import INVALID_MESSAGES
from core.views.base import money_text

from . import services
from .models import BID_STATES, CONTRACT_STATES, PROJECT_STATES, Bid, Package


def _bid_choices(session: Any, project: Any) -> list[tuple[int, str]]:
    rows = session.execute(
        select(Bid).join(Package, Bid.package_id == Package.id)
        .where(Package.project_id == project.id, Bid.status.in_(("submitted", "won")))
        .order_by(Package.number, Bid.price)).scalars()
    return [(b.id, f"包{b.package.number} {b.supplier.name} {money_text(b.price)}"
             + ("（已确定中标）" if b.status == "won" else "")) for b in rows]


class TransitionSchema(Schema):
    """The body of a project or contract transition (every field optional)."""

    date = fields.Date(load_default=None, error_messages={"invalid": INVALID_MESSAGES[fields.Date]},
                       metadata={"label": "日期"})
    reason = fields.String(load_default=None, validate=mv.Length(max=2000),
                           metadata={"label": "原因", "placeholder": "原因"})
    winning_bids = fields.List(fields.Integer(strict=True), load_default=None,
                               error_messages={"invalid": "请填写投标编号列表"},
                               metadata={"label": "中标投标", "choices": _bid_choices})


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _options(machine: Any):
    def available(session: Any, obj: Any, name: str) -> str | bool | None:
        for o in services.transition_options(machine, obj, session):
            if o["name"] == name:
                return None if o["allowed"] else (o["refusal"] or "当前状态不能执行该操作")
        return False  # not from the current status: no button

    def defaults(session: Any, obj: Any, name: str) -> dict[str, Any]:
        for o in services.transition_options(machine, obj, session):
            if o["name"] == name and o["date_value"]:
                out: dict[str, Any] = {"date": o["date_value"]}
                break
        else:
            out = {}
        if name == "award":
            out["winning_bids"] = [bid for bid, text in _bid_choices(session, obj)
                                   if text.endswith("（已确定中标）")]
        return out

    dates = services.TRANSITION_DATES.get(id(machine), {})

    def inputs(t: Any) -> tuple[str, ...]:
        names = []
        if t.name in dates:
            names.append("date")
        if t.name == "award" and machine is services.PROJECT_FLOW:
            names.append("winning_bids")
        if t.require_reason:
            names.append("reason")
        return tuple(names)

    def input_labels(t: Any) -> dict[str, str]:
        return {"date": dates[t.name][1]} if t.name in dates else {}

    return {"available": available, "defaults": defaults, "inputs": inputs,
            "input_labels": input_labels}


def _move_project(session: Any, project: Any, name: str, body: dict[str, Any]) -> Any:
    return services.transition_project(session, project, name, on=body.get("date"),
                                       reason=body.get("reason"),
                                       winning_bids=body.get("winning_bids"))


def _project_result(session: Any, p: Any, _value: Any) -> dict[str, Any]:
    return {"id": p.id, "status": p.status, "status_label": PROJECT_STATES[p.status],
            "notice_date": _iso(p.notice_date), "opening_date": _iso(p.opening_date),
            "award_date": _iso(p.award_date), "contract_date": _iso(p.contract_date)}


PROJECT_ACTIONS = Actions.from_machine(
    services.PROJECT_FLOW, _move_project, schema=TransitionSchema,
    guard=lambda session, p: services.assert_manages_project(session, p),
    result=_project_result,
    done=lambda p, event: f"已执行“{event.label_zh}”，项目状态：{PROJECT_STATES[p.status]}",
    buttons={"terminate": "btn-danger", "fail": "btn-warning"},
    module=services.MODULE, **_options(services.PROJECT_FLOW))


def _move_contract(session: Any, contract: Any, name: str, body: dict[str, Any]) -> Any:
    return services.transition_contract(session, contract, name, on=body.get("date"),
                                        reason=body.get("reason"))


def _contract_result(session: Any, c: Any, _value: Any) -> dict[str, Any]:
    return {"id": c.id, "status": c.status, "status_label": CONTRACT_STATES[c.status],
            "signed_date": _iso(c.signed_date)}


CONTRACT_ACTIONS = Actions.from_machine(
    services.CONTRACT_FLOW, _move_contract, schema=TransitionSchema,
    guard=lambda session, c: services.assert_manages_contract(session, c),
    result=_contract_result,
    done=lambda c, event: f"已执行“{event.label_zh}”，合同状态：{CONTRACT_STATES[c.status]}",
    buttons={"terminate": "btn-danger"},
    module=services.MODULE, **_options(services.CONTRACT_FLOW))


# -- bids: the supplier withdraws its own bid before the deadline -----------------------------
class WithdrawSchema(Schema):
    """The body of a bid withdrawal: the supplier's written notice."""

    notice = fields.String(load_default=None, allow_none=True,
                           metadata={"label": "书面撤回通知", "page_required": True,
                                     "placeholder": "撤回理由及声明（将记入投标记录）"})


def _bid_supplier(session: Any, bid: Any) -> str | None:
    from core.tenancy import current_scope

    if services.may_withdraw(bid, current_scope().org_id):
        return None
    return "只有投标供应商本单位可以撤回其投标"


def _withdrawable(session: Any, bid: Any) -> str | bool | None:
    if bid.status != "submitted":
        return False  # nothing to withdraw: no button
    return services.withdrawal_refusal(bid)


def _withdraw(session: Any, bid: Any, body: dict[str, Any]) -> Any:
    from core.tenancy import current_scope

    return services.withdraw_bid(session, bid, body.get("notice"),
                                 actor_org_id=current_scope().org_id)


def _bid_result(session: Any, bid: Any, _value: Any) -> dict[str, Any]:
    return {"id": bid.id, "status": bid.status, "status_label": BID_STATES[bid.status],
            "withdrawn_at": bid.withdrawn_at.isoformat() if bid.withdrawn_at else None,
            "withdrawal_notice": bid.withdrawal_notice}


BID_ACTIONS = Actions(
    Action("withdraw", "撤回投标", schema=WithdrawSchema, run=_withdraw,
           available=_withdrawable, button="btn-warning",
           description="供应商在投标截止前以书面通知撤回本单位的投标；投标保证金自撤回之日起计算退还期限",
           done=lambda bid, _v: "投标已撤回，投标保证金将按规定期限退还"),
    permission="withdraw", guard=_bid_supplier, result=_bid_result,
    api_path="/<int:pk>/{name}", page_path="/act/<int:pk>/<string:name>", page_method="act",
    module=services.MODULE, object_type="pb_bid",
)
