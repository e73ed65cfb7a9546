"""The actions of ``expert_credit``, declared once (:mod:`core.actions`) for the API and the
pages; the API paths and bodies are those of docs/expert_credit.md:

* expert (:data:`EXPERT_ACTIONS`, the status machine): ``POST /api/v1/ec_expert/<pk>/transition/
  suspend|dismiss|reinstate`` (``until``, ``reason``), page ``/expertview/transition/<pk>/<name>``;
  expert managers only (:func:`services.status_refusal`);
* draw request (:data:`REQUEST_ACTIONS`): ``POST /api/v1/ec_draw_request/<pk>/draw|close``,
  page ``/drawrequestview/draw|close/<pk>``; the project's agency only;
* assignment (:data:`ASSIGNMENT_ACTIONS`): ``POST /api/v1/ec_assignment/<pk>/respond``
  (``accept``, ``reason``), page ``/assignmentview/respond/<pk>``; the drawn expert or the
  agency;
* evaluation (:data:`EVALUATION_ACTIONS`): ``POST /api/v1/ec_evaluation/<pk>/submit|appeal|
  decide``, page ``/evaluationview/submit|appeal|decide/<pk>``; the project's purchaser or
  agency (``can_evaluate``), the expert themself (``can_appeal``), expert managers
  (``can_decide``).

Who may act is each action's guard and is enforced again by the service; every step is a
state-machine transition (audited by the machine's hook). The answers name no expert and no
ID number; the draw record (:func:`draw_record.request_record`) applies the disclosure rules.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.actions import Action, Actions, machine_refusal
from core.api import INVALID_MESSAGES

from . import services
from .draw_record import request_record
from .models import ASSIGNMENT_STATES, EVALUATION_STATES, EXPERT_STATES
from .services import CRITERIA, CRITERIA_LABELS


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


# -- experts: suspend, dismiss, reinstate -------------------------------------------------------
class ExpertTransitionSchema(Schema):
    until = fields.Date(load_default=None, error_messages={"invalid": INVALID_MESSAGES[fields.Date]},
                        metadata={"label": "暂停截止日期", "page_required": True})
    reason = fields.String(load_default=None, validate=mv.Length(max=2000),
                           metadata={"label": "原因", "page_required": True})


def _status_guard(session: Any, expert: Any) -> str | None:
    return services.status_refusal()


def _expert_result(session: Any, e: Any, _value: Any) -> dict[str, Any]:
    return {"id": e.id, "status": e.status, "status_label": EXPERT_STATES[e.status],
            "suspended_until": _iso(e.suspended_until)}


EXPERT_ACTIONS = Actions.from_machine(
    services.EXPERT_FLOW,
    lambda session, e, name, body: services.change_status(
        session, e, name, reason=body["reason"], until=body["until"]),
    schema=ExpertTransitionSchema, guard=_status_guard, result=_expert_result,
    inputs=lambda t: {"suspend": ("until", "reason"), "dismiss": ("reason",)}.get(t.name, ()),
    buttons={"suspend": "btn-warning", "dismiss": "btn-danger"},
    done=lambda e, _v: f"专家状态已变更为“{EXPERT_STATES[e.status]}”",
    module=services.MODULE,
)


# -- draw requests: draw, close -------------------------------------------------------------------
def _agency(session: Any, req: Any) -> None:
    services.assert_extracting_agency(session, req)


def _draw_result(session: Any, req: Any, d: Any) -> dict[str, Any]:
    return {"draw_id": d.id, "seq": d.seq, "drawn": d.drawn_count, "needed": d.needed,
            "shortfall": d.shortfall, "shortfall_note": d.shortfall_note,
            "pool_size": d.pool_size, "pool_hash": d.pool_hash,
            "record": request_record(session, req)}


def _drawn(req: Any, d: Any) -> str:
    return f"抽取完成。人数不足：{d.shortfall_note}" if d.shortfall else "抽取完成"


def _request_state(name: str):
    return lambda session, req: machine_refusal(services.REQUEST_FLOW, session, req, name)


REQUEST_ACTIONS = Actions(
    Action("draw", "抽取", lambda session, req, body: services.perform_draw(session, req),
           available=_request_state("draw"), result=_draw_result, done=_drawn,
           button_text=lambda session, req: "补充抽取" if req.draws else "开始抽取",
           description="抽取（首次抽取，或补充抽取以替换拒绝的专家）"),
    Action("close", "结束抽取", lambda session, req, body: services.close_request(session, req),
           available=_request_state("close"), button="btn-default",
           result=lambda session, req, _v: request_record(session, req),
           description="结束抽取：不再补充抽取；种子随中标（成交）结果公告公开",
           done="抽取已结束；种子随中标（成交）结果公告公开，届时可据此验证"),
    permission="draw", guard=_agency, api_path="/<int:pk>/{name}",
    page_path="/<any(draw,close):name>/<int:pk>", page_method="act", module=services.MODULE,
)


# -- assignments: accept or decline -----------------------------------------------------------------
class RespondSchema(Schema):
    accept = fields.Boolean(required=True, error_messages={
        "required": "请选择接受或拒绝", "invalid": "请输入 true 或 false"},
        metadata={"label": "答复", "choices": lambda s, a: [("1", "接受"), ("0", "拒绝")],
                  "initial": lambda s, a: "1"})
    reason = fields.String(load_default=None, validate=mv.Length(max=500),
                           metadata={"label": "拒绝原因", "placeholder": "拒绝原因（拒绝时必填）"})


def _responder(session: Any, a: Any) -> str | None:
    return services.respond_refusal(session, a)


ASSIGNMENT_ACTIONS = Actions(
    Action("respond", "答复", lambda session, a, body: services.respond(
        session, a, body["accept"], reason=body["reason"]), schema=RespondSchema,
        available=lambda session, a: None if a.status == "drawn" else False,
        result=lambda session, a, _v: {"id": a.id, "status": a.status,
                                       "status_label": ASSIGNMENT_STATES[a.status]},
        description="接受或拒绝评审任务（拒绝须填写原因，备选专家递补）",
        done=lambda a, _v: ("已接受评审任务" if a.status == "accepted"
                            else "已拒绝，代理机构将补充抽取")),
    permission="respond", guard=_responder, api_path="/<int:pk>/{name}",
    page_path="/<any(respond):name>/<int:pk>", page_method="act", module=services.MODULE,
)


# -- evaluations: submit, appeal, decide -------------------------------------------------------------
def _score(c: str, required: bool) -> fields.Raw:
    return fields.Raw(load_default=None, metadata={
        "label": f"{CRITERIA_LABELS[c]}（0～100）", "page_required": required})


def _remarks(label: str) -> fields.String:
    return fields.String(load_default=None, validate=mv.Length(max=4000), metadata={"label": label})


class ScoresSchema(Schema):
    ethics = _score("ethics", True)
    competence = _score("competence", True)
    discipline = _score("discipline", True)
    integrity = _score("integrity", True)
    remarks = _remarks("评价意见")


class AppealSchema(Schema):
    reason = fields.String(load_default=None, validate=mv.Length(max=4000),
                           metadata={"label": "申诉理由", "page_required": True})


class DecideSchema(Schema):
    decision = fields.String(load_default=None, metadata={
        "label": "处理结果", "page_required": True,
        "choices": lambda s, ev: [("upheld", "维持原评价"), ("revised", "改分")]})
    ethics = _score("ethics", False)
    competence = _score("competence", False)
    discipline = _score("discipline", False)
    integrity = _score("integrity", False)
    remarks = _remarks("评价意见")
    note = fields.String(load_default=None, validate=mv.Length(max=4000),
                         metadata={"label": "处理意见", "page_required": True})


def _evaluation_state(name: str):
    return lambda session, ev: machine_refusal(services.EVALUATION_FLOW, session, ev, name)


def _evaluation_result(session: Any, ev: Any, _value: Any) -> dict[str, Any]:
    return {"id": ev.id, "status": ev.status, "status_label": EVALUATION_STATES[ev.status],
            "total": str(ev.total) if ev.total is not None else None}


def _scores(body: dict[str, Any]) -> dict[str, Any]:
    return {c: body[c] for c in CRITERIA}


EVALUATION_ACTIONS = Actions(
    Action("submit", "提交评价", lambda session, ev, body: services.submit_evaluation(
        session, ev, _scores(body), body["remarks"]), schema=ScoresSchema, permission="evaluate",
        guard=services._may_evaluate, available=_evaluation_state("submit"),
        description="提交履职评价（职业道德、专业能力、评审纪律、廉洁自律各 0～100 分及评价意见）",
        done="评价已提交，专家信用分已更新"),
    Action("appeal", "提出申诉", lambda session, ev, body: services.appeal(
        session, ev, body["reason"]), schema=AppealSchema, permission="appeal",
        guard=services.assert_may_appeal, available=_evaluation_state("appeal"),
        button="btn-warning", description="专家对评价提出申诉（须填写理由）",
        done="申诉已提交，等待专家管理部门处理"),
    Action("decide", "处理申诉", lambda session, ev, body: services.decide_appeal(
        session, ev, body["decision"], body["note"], _scores(body)), schema=DecideSchema,
        permission="decide", guard=lambda session, ev: services.assert_may_decide(),
        available=_evaluation_state("decide"), button="btn-default",
        inputs=("decision", *CRITERIA, "note"),
        description="专家管理人员处理申诉：维持原评价（upheld）或改分（revised，附四项得分）",
        done="申诉已处理"),
    permission="show", result=_evaluation_result, api_path="/<int:pk>/{name}",
    page_path="/<any(submit,appeal,decide):name>/<int:pk>", page_method="act",
    module=services.MODULE,
)
