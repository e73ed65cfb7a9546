"""Record actions of the e-mall declared once (:mod:`core.actions`) for the API and the
page (issues 11 and 13): core derives the endpoint, its OpenAPI text, the buttons and forms
(for the users the guard lets act), the error mapping and the commit.

* supplier admission — ``approve``, ``reject`` (reason), ``suspend`` (reason, until),
  ``reinstate`` (reason): ``POST /api/v1/emall_admission/<pk>/transition/<name>`` and the
  buttons on 供应商入驻's record page (the institution only);
* product listings — ``submit`` (the supplier), ``approve`` / ``reject`` (the institution),
  ``delist`` (either): ``POST /api/v1/emall_listing/<pk>/transition/<name>``;
* orders — ``confirm``, ``ship``, ``deliver``, ``accept``, ``pay``, ``cancel``, ``dispute``,
  ``resolve`` (the institution: outcome continue | cancel) each by the parties of
  :data:`services.ORDER_ACTORS`: ``POST /api/v1/emall_order/<pk>/transition/<name>``; and
  ``rate`` (the ordering purchaser, once an order is accepted): ``POST .../<pk>/rate``
  (permission ``can_rate``); one form per action on the order's page (``/orderview/act/...``);
* price comparisons — ``award`` (the lowest compliant quote; a reason with fewer quotes than
  the minimum), ``cancel`` (reason), by the publishing purchaser:
  ``POST /api/v1/emall_comparison/<pk>/award``, ``.../cancel``; a comparison that fails for
  lack of quotes stays recorded (``commit_on``);
* a price alert's review with its measure — ``dismiss`` (无异常), ``delist`` (确认异常并下架),
  ``correct`` (确认异常，限期改价): ``POST /api/v1/emall_price_alert/<pk>/<action>`` and the
  buttons on 价格监测's record page (permission ``can_review``; the institution only); and
  the legacy ``review`` (decision confirmed | dismissed): ``POST .../<pk>/review``, API only.

Who may act is the services' check (``assert_*``), used as the guard: a user it refuses sees
no button, and the API answers what the service would (422 with its message).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.actions import Action, Actions
from core.api import INVALID_MESSAGES

from .hooks import payee_account_hint
from .models import (
    ADMISSION_STATES,
    ALERT_MEASURES,
    COMPARISON_STATES,
    LISTING_STATES,
    ORDER_STATES,
    RATING_ASPECTS,
)
from .services import admission as em_admission
from .services import common as em_common
from .services import comparison as em_comparison
from .services import listings as em_listings
from .services import orders as em_orders
from .services import price_watch, rating

DATE = {"invalid": INVALID_MESSAGES[fields.Date]}
NOTE = mv.Length(max=2000, error="长度不能超过 {max} 个字符")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _today(session: Any, obj: Any) -> dt.date:
    return em_common.today()


def _in_state(machine: Any):
    """Availability by the record's state only (the transition's guards need the input:
    they answer when the action runs)."""
    def available(session: Any, obj: Any, name: str) -> bool | None:
        state = getattr(obj, machine.field)
        return None if any(t.name == name and t.allows_from(state) for t in machine.transitions) else False
    return available


def _reason_input(t: Any) -> tuple[str, ...]:
    return ("reason",) if t.require_reason else ()


class DecisionSchema(Schema):
    """The body of an admission, listing or comparison decision (every field optional)."""

    reason = fields.String(load_default=None, validate=mv.Length(max=2000),
                           metadata={"label": "理由", "page_required": True})
    until = fields.Date(load_default=None, error_messages=DATE,
                        metadata={"label": "暂停至", "page_required": True})


# -- supplier admission ----------------------------------------------------------------------------
def _decides(session: Any, adm: Any) -> None:
    em_admission.assert_decides_admissions(session)


def _decide(session: Any, adm: Any, name: str, body: dict[str, Any]) -> str:
    em_admission.decide_admission(session, adm, name, reason=body["reason"], until=body["until"])
    return em_admission.ADMISSION_FLOW.transition_label(name)


def _admission_result(session: Any, adm: Any, _value: Any) -> dict[str, Any]:
    return {"id": adm.id, "status": adm.status, "status_label": ADMISSION_STATES[adm.status],
            "suspended_until": _iso(adm.suspended_until)}


ADMISSION_ACTIONS = Actions.from_machine(
    em_admission.ADMISSION_FLOW, _decide, schema=DecisionSchema,
    only=("approve", "reject", "suspend", "reinstate"),  # reapply: the supplier's application
    available=_in_state(em_admission.ADMISSION_FLOW), guard=_decides, result=_admission_result,
    inputs=lambda t: ("until", "reason") if t.name == "suspend" else _reason_input(t),
    done=lambda adm, label: f"已{label}", buttons={"reject": "btn-warning", "suspend": "btn-danger"},
    module="emall", object_type="emall_admission",
)


# -- product listings -------------------------------------------------------------------------------
def _moves_listing(session: Any, item: Any, name: str) -> None:
    em_listings.assert_moves_listing(session, item, name)


def _move_listing(session: Any, item: Any, name: str, body: dict[str, Any]) -> str:
    em_listings.transition_listing(session, item, name, reason=body["reason"])
    return em_listings.LISTING_FLOW.transition_label(name)


LISTING_ACTIONS = Actions.from_machine(
    em_listings.LISTING_FLOW, _move_listing, schema=DecisionSchema,
    available=_in_state(em_listings.LISTING_FLOW), action_guard=_moves_listing,
    result=lambda session, item, _v: {"id": item.id, "status": item.status,
                                      "status_label": LISTING_STATES[item.status]},
    inputs=_reason_input, buttons={"reject": "btn-warning", "delist": "btn-warning"},
    done=lambda item, label: f"已{label}，商品状态：{LISTING_STATES[item.status]}",
    module="emall", object_type="emall_listing",
)


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


class LegacyReviewBody(Schema):
    decision = fields.String(required=True, error_messages={"required": "请选择复核结论"})
    note = fields.String(load_default=None, validate=mv.Length(max=2000))


def _legacy_review(session: Any, alert: Any, body: dict[str, Any]) -> None:
    # the service's own check lets the institution and the finance bureau review
    price_watch.review_alert(session, alert, body["decision"], body["note"])


ALERT_ACTIONS = Actions(
    Action("delist", f"确认异常并{ALERT_MEASURES['delist']}", _resolve("delist"), schema=ReviewBody,
           available=_open, button="btn-danger", guard=_institution,
           done="已确认价格异常，商品已下架，已通知供应商"),
    Action("correct", f"确认异常，{ALERT_MEASURES['correct']}", _resolve("correct"), schema=CorrectBody,
           available=_open, button="btn-warning", guard=_institution,
           done=lambda alert, v: f"已确认价格异常，限供应商 {alert.correct_by:%Y-%m-%d} 前改价，已通知供应商"),
    Action("dismiss", "无异常", _resolve("dismiss"), schema=ReviewBody, available=_open,
           button="btn-default", guard=_institution, done="已复核：无异常"),
    # the legacy review (decision confirmed | dismissed, no measure), kept for existing
    # clients at ``POST /<pk>/review``: API only, answers ``{"id", "status"}``
    Action("review", "复核（旧接口）", _legacy_review, schema=LegacyReviewBody, page=False,
           api_path="/<int:pk>/review",
           description="复核价格异常（旧接口）：decision 为 confirmed（确认异常）或 dismissed（无异常），"
                       "note 为复核意见；新客户请用 delist、correct、dismiss",
           result=lambda session, alert, _v: {"id": alert.id, "status": alert.status}),
    permission="review", result=_alert_result,
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


RATE = Action(
    "rate", "评价供应商", _rate, schema=RateBody, permission="rate", guard=_may_rate,
    available=_rateable, api_path="/<int:pk>/rate", done="已评价，感谢反馈",
    result=lambda session, order, r: {"id": r.id, "order": order.id, "delivery": r.delivery,
                                      "quality": r.quality, "service": r.service})


# -- orders ------------------------------------------------------------------------------------------
def order_dict(o: Any) -> dict[str, Any]:
    """An order in the API's answers."""
    return {"id": o.id, "number": o.number, "status": o.status, "status_label": ORDER_STATES[o.status],
            "amount": str(o.amount), "channel": o.channel, "supplier": o.supplier_id,
            "purchaser": o.purchaser_id, "payment_due": _iso(o.payment_due),
            "contract_id": o.contract_id}


def _outcomes(session: Any, order: Any) -> list[tuple[str, str]]:
    return [("continue", "继续履行"), ("cancel", "取消订单（释放库存）")]


def _text(label: str, **more: Any) -> fields.String:
    return fields.String(load_default=None, validate=mv.Length(max=more.pop("max")),
                         metadata={"label": label, **more})


def _payee_account(session: Any, order: Any) -> str | None:
    """The account the order's payment must go to (a module's hook names it), if any."""
    hint = payee_account_hint(session, order)
    return hint[0] if hint else None


class OrderTransitionSchema(Schema):
    """The body of an order transition (every field optional; the transition's checks decide)."""

    reason = _text("理由", max=2000, page_required=True)
    tracking = _text("物流单号", max=100)
    accepted_on = fields.Date(load_default=None, error_messages=DATE,
                              metadata={"label": "验收日期", "initial": _today})
    inspectors = _text("验收人员", max=200, page_required=True)
    quantity_ok = fields.Boolean(load_default=True)
    quality_ok = fields.Boolean(load_default=True)
    note = _text("验收意见", max=2000)
    paid_on = fields.Date(load_default=None, error_messages=DATE,
                          metadata={"label": "付款日期", "initial": _today})
    payment_ref = _text("支付凭证号", max=100)
    payee_account = fields.String(
        load_default=None, allow_none=True, validate=mv.Length(max=64, error="长度不能超过 {max} 个字符"),
        metadata={"label": "收款账户", "placeholder": "款项付至的银行账号", "initial": _payee_account,
                  "help": "已融资并确认回款账户的订单，只能付至该回款账户"})
    outcome = fields.String(load_default=None, metadata={"label": "处理结果", "choices": _outcomes,
                                                         "page_required": True})


ORDER_INPUTS = {"ship": ("tracking",), "accept": ("accepted_on", "inspectors", "note"),
                "pay": ("paid_on", "payment_ref", "payee_account"), "resolve": ("outcome", "reason")}


def _order_part(session: Any, order: Any, name: str) -> None:
    em_orders.assert_order_part(session, order, name)


_order_state = _in_state(em_orders.ORDER_FLOW)


def _order_step(session: Any, order: Any, name: str) -> bool | None:
    """On the page: the steps the record's state allows that are the user's own part."""
    if name == "resolve":
        if order.status != "disputed":
            return False
    elif _order_state(session, order, name) is False:
        return False
    return None if em_orders.own_step(session, order, name) else False


def _move_order(session: Any, order: Any, name: str, body: dict[str, Any]) -> None:
    order = em_orders.lock_order(session, order.id)  # FOR UPDATE: one move at a time
    acceptance = None
    if name == "accept":
        acceptance = {"accepted_on": body["accepted_on"] or em_common.today(),
                      "inspectors": body["inspectors"], "note": body["note"],
                      "quantity_ok": body["quantity_ok"], "quality_ok": body["quality_ok"]}
    em_orders.transition_order(
        session, order, name, reason=body["reason"], tracking=body["tracking"], acceptance=acceptance,
        paid_on=body["paid_on"] or (em_common.today() if name == "pay" else None),
        payment_ref=body["payment_ref"], outcome=body["outcome"], payee_account=body["payee_account"])


RESOLVE = Action(
    "resolve", "争议处理", lambda session, order, body: _move_order(session, order, "resolve", body),
    schema=OrderTransitionSchema, guard=lambda session, order: _order_part(session, order, "resolve"),
    available=lambda session, order: _order_step(session, order, "resolve"),
    inputs=ORDER_INPUTS["resolve"], require_reason=True,
    done=lambda order, _v: f"订单状态：{ORDER_STATES[order.status]}")

ORDER_ACTIONS = Actions.from_machine(
    em_orders.ORDER_FLOW, _move_order, schema=OrderTransitionSchema,
    only=("confirm", "ship", "deliver", "accept", "pay", "cancel", "dispute"),  # resolve: below
    available=_order_step, action_guard=_order_part,
    result=lambda session, order, _v: order_dict(order),
    inputs=lambda t: ORDER_INPUTS.get(t.name, _reason_input(t)),
    buttons={"cancel": "btn-danger", "dispute": "btn-warning"},
    done=lambda order, _v: f"订单状态：{ORDER_STATES[order.status]}",
    extra=(RESOLVE, RATE), page_path="/act/<int:pk>/<string:name>", page_method="act",
    module="emall", object_type="emall_order",
)


# -- online price comparison ------------------------------------------------------------------------
def comparison_dict(c: Any) -> dict[str, Any]:
    """A comparison in the API's answers."""
    return {"id": c.id, "number": c.number, "title": c.title, "status": c.status,
            "status_label": COMPARISON_STATES[c.status], "budget": str(c.budget),
            "quote_deadline": c.quote_deadline.isoformat(), "lines": c.lines,
            "decision_note": c.decision_note, "order_id": c.order_id}


class AwardBody(DecisionSchema):
    reason = fields.String(load_default=None, validate=mv.Length(max=2000),
                           metadata={"label": "理由", "placeholder": "有效报价少于规定家数时须填写理由"})


def _publisher(doing: str):
    def guard(session: Any, comp: Any) -> None:
        em_comparison.assert_publisher(session, comp, doing)
    return guard


def _undecided(session: Any, comp: Any) -> bool | None:
    return None if comp.status in ("open", "closed") else False


def _award(session: Any, comp: Any, body: dict[str, Any]) -> Any:
    return em_comparison.award_comparison(session, comp, reason=body["reason"])


def _cancel(session: Any, comp: Any, body: dict[str, Any]) -> None:
    em_comparison.cancel_comparison(session, comp, reason=body["reason"])


COMPARISON_ACTIONS = Actions(
    Action("award", "确定成交（最低有效报价）", _award, schema=AwardBody, guard=_publisher("确定成交"),
           available=_undecided, inputs=("reason",), commit_on=(em_common.ConflictError,),
           description="由最低有效报价成交并生成订单（有效报价少于规定家数须说明理由；无有效报价则竞价失败）",
           result=lambda session, comp, order: {**comparison_dict(comp), "order": order_dict(order)},
           done=lambda comp, order: f"已成交，生成订单 {order.number}"),
    Action("cancel", "撤销竞价", _cancel, schema=DecisionSchema, guard=_publisher("撤销竞价"),
           available=_undecided, inputs=("reason",), button="btn-danger", done="竞价已撤销"),
    result=lambda session, comp, _v: comparison_dict(comp),
    api_path="/<int:pk>/{name}", module="emall", object_type="emall_comparison",
)
