"""Record actions of the e-mall declared once (:mod:`core.actions`) for the API and the
page (issue 13; the older hand-written transitions of admissions, listings, orders and
comparisons are still in ``views.py`` / ``api/``):

* a price alert's review with its measure — ``dismiss`` (无异常), ``delist`` (确认异常并下架),
  ``correct`` (确认异常，限期改价): ``POST /api/v1/emall_price_alert/<pk>/<action>`` and the
  buttons on 价格监测's record page (permission ``can_review``; the institution only);
* rating an accepted order — ``rate``: ``POST /api/v1/emall_order/<pk>/rate`` and the form on
  the order's page (permission ``can_rate``; the ordering purchaser only, once).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.actions import Action, Actions
from core.api import INVALID_MESSAGES

from .models import ALERT_MEASURES, RATING_ASPECTS
from .services import common as em_common
from .services import price_watch, rating

DATE = {"invalid": INVALID_MESSAGES[fields.Date]}
NOTE = mv.Length(max=2000, error="长度不能超过 {max} 个字符")


# -- price alerts ----------------------------------------------------------------------------------
class ReviewBody(Schema):
    note = fields.String(load_default=None, validate=NOTE,
                         metadata={"label": "复核意见", "page_required": True})


def _in_15_days(session: Any, alert: Any) -> dt.date:
    return em_common.today() + dt.timedelta(days=15)


class CorrectBody(ReviewBody):
    correct_by = fields.Date(load_default=None, allow_none=True, error_messages=DATE,
                             metadata={"label": "改价截止日期", "initial": _in_15_days,
                                       "page_required": True})


def _institution(session: Any, alert: Any) -> str | None:
    from core.tenancy import current_scope

    if not em_common._privileged(current_scope(), session):
        return "只有集中采购机构（电子卖场管理）可以复核价格异常"
    return None


def _open(session: Any, alert: Any) -> bool | None:
    return None if alert.status == "open" else False


def _alert_result(session: Any, alert: Any, value: Any) -> dict[str, Any]:
    return {"id": alert.id, "status": alert.status, "measure": alert.measure,
            "correct_by": alert.correct_by.isoformat() if alert.correct_by else None}


def _resolve(measure: str):
    def run(session: Any, alert: Any, body: dict[str, Any]) -> None:
        price_watch.resolve_alert(session, alert, measure, body.get("note"),
                                  correct_by=body.get("correct_by"))
    return run


ALERT_ACTIONS = Actions(
    Action("delist", f"确认异常并{ALERT_MEASURES['delist']}", _resolve("delist"), schema=ReviewBody,
           available=_open, button="btn-danger",
           done="已确认价格异常，商品已下架，已通知供应商"),
    Action("correct", f"确认异常，{ALERT_MEASURES['correct']}", _resolve("correct"), schema=CorrectBody,
           available=_open, button="btn-warning",
           done=lambda alert, v: f"已确认价格异常，限供应商 {alert.correct_by:%Y-%m-%d} 前改价，已通知供应商"),
    Action("dismiss", "无异常", _resolve("dismiss"), schema=ReviewBody, available=_open,
           button="btn-default", done="已复核：无异常"),
    permission="review", guard=_institution, result=_alert_result,
    api_path="/<int:pk>/{name}", page_path="/transition/<int:pk>/<string:name>",
    module="emall", object_type="emall_price_alert",
)


# -- rating an accepted order --------------------------------------------------------------------------
def _score_choices(session: Any, order: Any) -> list[tuple[int, str]]:
    return [(5, "5 分（很好）"), (4, "4 分"), (3, "3 分"), (2, "2 分"), (1, "1 分（很差）")]


def _score(key: str) -> fields.Integer:
    return fields.Integer(required=True, strict=False,
                          error_messages={"required": f"请为{RATING_ASPECTS[key]}评分",
                                          "invalid": f"{RATING_ASPECTS[key]}评分须为 1～5 的整数"},
                          metadata={"label": f"{RATING_ASPECTS[key]}评分", "choices": _score_choices})


class RateBody(Schema):
    delivery = _score("delivery")
    quality = _score("quality")
    service = _score("service")
    comment = fields.String(load_default=None, validate=mv.Length(max=1000, error="评语不能超过 {max} 个字符"),
                            metadata={"label": "评语", "placeholder": "交货、质量、售后服务的评价"})


def _may_rate(session: Any, order: Any) -> str | None:
    return rating.may_rate(session, order)


def _rateable(session: Any, order: Any) -> bool | None:
    if order.status not in rating.RATEABLE or rating.rating_of(session, order) is not None:
        return False
    return None


def _rate(session: Any, order: Any, body: dict[str, Any]) -> Any:
    return rating.rate_order(session, order, delivery=body["delivery"], quality=body["quality"],
                             service=body["service"], comment=body.get("comment"))


ORDER_RATING_ACTIONS = Actions(
    Action("rate", "评价供应商", _rate, schema=RateBody, guard=_may_rate, available=_rateable,
           done="已评价，感谢反馈",
           result=lambda session, order, r: {"id": r.id, "order": order.id, "delivery": r.delivery,
                                             "quality": r.quality, "service": r.service}),
    permission="rate", api_path="/<int:pk>/{name}", page_path="/act/<int:pk>/<string:name>",
    page_method="act", module="emall", object_type="emall_order",
)
