"""Record actions of ``sme_policy``, declared once for the API and the pages (core.actions):

* 项目预留设置: ``rerun`` (转为非预留重新采购) when a reserved package has too few SME bids;
* 公开信息: ``recompute`` (重新计算), and the flow 复核通过 → 单位签发 → 公开 (退回重算).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from core.actions import Action, Actions

from . import disclosure, policy
from .models import DISCLOSURE_STATES, Disclosure, ProjectPolicy


class RerunSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=2000),
                           metadata={"label": "原因（可不填，默认写明中小企业不足三家）"})
    number = fields.String(load_default=None, validate=validate.Length(max=50),
                           metadata={"label": "新项目编号（默认原编号加 -R）"})


def _rerun_available(session: Any, item: ProjectPolicy) -> str | bool | None:
    project = item.project
    if project is None or project.status != "published":
        return False
    if not policy.short_packages(session, project):
        return False
    return None


def _rerun(session: Any, item: ProjectPolicy, body: dict[str, Any]) -> Any:
    return policy.rerun_unreserved(session, item.project, body.get("reason"), body.get("number"))


PROJECT_POLICY_ACTIONS = Actions(
    Action("rerun", "转为非预留重新采购", _rerun, schema=RerunSchema, available=_rerun_available,
           result=lambda session, item, new: {"id": item.id, "new_project": new.id,
                                               "new_number": new.number},
           done=lambda item, new: f"原项目已终止，已生成非预留的新项目 {new.number}（草稿）",
           audit=True, button="btn-warning"),
    module=policy.MODULE, object_type="sme_project",
)


class ReasonSchema(Schema):
    reason = fields.String(load_default=None, validate=validate.Length(max=2000),
                           metadata={"label": "原因"})


def _move(session: Any, item: Disclosure, name: str, body: dict[str, Any]) -> Any:
    return disclosure.transition(session, item, name, reason=body.get("reason"))


def _result(session: Any, item: Disclosure, _value: Any) -> dict[str, Any]:
    return {"id": item.id, "status": item.status, "status_label": DISCLOSURE_STATES[item.status],
            "notice_link": item.notice_link}


def _guard(session: Any, item: Disclosure) -> str | None:
    return disclosure.actor_refusal(session, item)


DISCLOSURE_ACTIONS = Actions.from_machine(
    disclosure.FLOW, _move, schema=ReasonSchema, result=_result, module=policy.MODULE,
    guard=_guard, inputs=lambda t: ("reason",) if t.require_reason else (),
    done=lambda item, event: f"已执行“{event.label_zh}”，状态：{DISCLOSURE_STATES[item.status]}",
)
DISCLOSURE_ACTIONS.actions["recompute"] = Action(
    "recompute", "重新计算", lambda session, item, body: disclosure.recompute(session, item),
    available=lambda session, item: None if item.status == "draft" else False,
    result=_result, done="已根据合同记录重新计算", button="btn-default")
