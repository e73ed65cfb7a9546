"""The actions of a notice, declared once for the API (``POST /api/v1/nh_notice/<pk>/<name>``)
and the page buttons (core.actions): publish a reviewed draft; write a 更正 of a published one."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.actions import Action, Actions
from core.api import INVALID_MESSAGES
from core.tenancy import writable_regions

from . import services
from .models import STATES, Notice


def _owner_guard(session: Any, notice: Any) -> None:
    services.assert_owner(session, notice)


def _region_guard(session: Any, notice: Any) -> str | None:
    allowed = writable_regions(Notice)
    if allowed is not None and notice.region_id not in allowed:
        return "不能更正其他地区的公告"
    services.assert_owner(session, notice)
    return None


def _publish(session: Any, notice: Any, body: dict[str, Any]) -> Any:
    from core.security import current_erp_user

    services.assert_owner(session, notice)
    return services.publish(session, notice, actor=current_erp_user())


def _publish_available(session: Any, notice: Any) -> Any:
    if notice.status != "draft":
        return False
    return services.publish_refusal(notice)


class CorrectSchema(Schema):
    kind = fields.String(load_default="change", validate=mv.OneOf(["change", "termination"]),
                         error_messages={"invalid": "请选择更正或终止"},
                         metadata={"label": "类型",
                                   "choices": lambda s, o: [("change", "更正公告"),
                                                            ("termination", "终止公告")]})
    title = fields.String(required=True, validate=mv.Length(min=1, max=300),
                          error_messages={"required": "请填写更正公告标题"},
                          metadata={"label": "标题", "page_required": True})
    body = fields.String(required=True, validate=mv.Length(min=1, max=20000),
                         error_messages={"required": "请填写更正内容"},
                         metadata={"label": "更正内容", "page_required": True})
    event_date = fields.Date(load_default=None, error_messages={"invalid": INVALID_MESSAGES[fields.Date]},
                             metadata={"label": "更正事项日期"})


def _correct(session: Any, notice: Any, body: dict[str, Any]) -> Any:
    from core.security import current_erp_user

    services.assert_owner(session, notice)
    return services.correct(session, notice, title=body["title"], body=body["body"],
                            kind=body.get("kind") or "change", event_date=body.get("event_date"),
                            actor=current_erp_user())


NOTICE_ACTIONS = Actions(
    Action("publish", "审核发布", _publish, permission="publish", guard=_owner_guard,
           available=_publish_available, audit=False,
           done=lambda n, v: f"已发布，公告编号 {n.number}",
           description="发布单位审核后发布草稿；发布后不可修改，并推送全国平台"),
    Action("correct", "发布更正", _correct, schema=CorrectSchema, permission="publish",
           guard=_region_guard, available=lambda s, n: None if n.status == "published" else False,
           result=lambda s, n, v: {"id": v.id, "status": v.status, "refers_to": n.id},
           status=201, button="btn-default", audit=True,
           done=lambda n, v: f"已生成更正公告草稿（编号 {v.id}），请审核发布",
           description="为已发布的公告起草更正（或终止）公告"),
    permission="publish", module=services.MODULE, api_path="/<int:pk>/{name}",
    object_type="nh_notice",
    result=lambda s, n, v: {"id": n.id, "status": n.status, "status_label": STATES[n.status],
                            "number": n.number},
)
