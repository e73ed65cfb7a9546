"""The actions on a finding, declared once for the API (``POST /api/v1/nl_finding/<pk>/<name>``)
and the page (``/nlfindingview/act/<pk>/<name>``): the publisher edits the clause or
justifies it; a supervisor accepts or rejects the justification."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.actions import Action, Actions

from . import services
from .models import FINDING_STATES


class JustifySchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000),
                           metadata={"label": "保留理由", "page_required": True,
                                     "placeholder": "说明该条款为何合法，例如所依据的法律法规特别规定"})


class EditSchema(Schema):
    replacement = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000),
                                metadata={"label": "修改后的条款", "page_required": True,
                                          "initial": lambda session, f: f.quote,
                                          "help": "替换文件中的原句并重新检查；删除整条请填写“（删除）”"})


class ReviewSchema(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000),
                         metadata={"label": "审核意见", "placeholder": "不认可时必填"})


def _result(session: Any, f: Any, _value: Any) -> dict[str, Any]:
    return {"id": f.id, "status": f.status, "status_label": FINDING_STATES[f.status],
            "justification": f.justification, "review_note": f.review_note}


def _publisher(session: Any, f: Any) -> None:
    services.may_resolve(session, f)


def _reviewer(session: Any, f: Any) -> None:
    services.may_review(session, f)


def _reviewable(session: Any, f: Any) -> str | bool | None:
    return None if f.status == "justified" else False


def _justify(session: Any, f: Any, body: dict[str, Any]) -> Any:
    services.justify(session, f, body.get("reason"))
    services.notify_reviewers(session, f)
    return f


FINDING_ACTIONS = Actions(
    Action("edit", "修改条款", schema=EditSchema, permission="resolve", guard=_publisher,
           run=lambda session, f, body: services.edit_clause(session, f, body.get("replacement")),
           available=lambda session, f: services.resolve_refusal(f), audit=True,
           description="改写文件中被标记的条款并重新检查；障碍消除后检查结果为“已修改”",
           done=lambda f, _v: f"已修改条款并重新检查，本条结果：{FINDING_STATES[f.status]}"),
    Action("justify", "说明理由", schema=JustifySchema, permission="resolve", guard=_publisher,
           run=_justify, available=lambda session, f: services.resolve_refusal(f), audit=True,
           button="btn-warning", description="保留条款并说明理由，由监督部门审核",
           done="已说明理由，等待监督部门审核"),
    Action("accept", "认可理由", schema=ReviewSchema, permission="review", guard=_reviewer,
           run=lambda session, f, body: services.review(session, f, True, body.get("note")),
           available=_reviewable, audit=True, button="btn-success",
           done="已认可该理由说明"),
    Action("reject", "不认可", schema=ReviewSchema, permission="review", guard=_reviewer,
           run=lambda session, f, body: services.review(session, f, False, body.get("note")),
           available=_reviewable, audit=True, button="btn-danger",
           description="不认可理由说明：检查结果重新计为未处理，采购人须修改文件",
           done="已退回，采购人须修改该条款"),
    permission="act", result=_result, api_path="/<int:pk>/{name}",
    page_path="/act/<int:pk>/<string:name>", page_method="act", module=services.MODULE,
    object_type="nl_finding",
)
