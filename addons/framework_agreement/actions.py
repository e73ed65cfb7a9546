"""The actions of framework agreements, declared once for the API
(``POST /api/v1/<resource>/<pk>/transition/<name>``) and the pages (buttons and forms)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.actions import Action, Actions
from core.api import INVALID_MESSAGES
from core.tenancy import current_scope

from . import services as fs
from .models import (
    AGREEMENT_STATES,
    REMOVAL_CAUSES,
    FaAgreement,
    FaCallOff,
    FaMember,
    FaNotice,
    FaResponse,
)


class CountSchema(Schema):
    count = fields.Integer(load_default=None, strict=True,
                           error_messages={"invalid": "请填写整数"},
                           metadata={"label": "入围数量（留空：按最低淘汰率可入围的最多家数）"})


class DateSchema(Schema):
    date = fields.Date(load_default=None, error_messages={"invalid": INVALID_MESSAGES[fields.Date]},
                       metadata={"label": "签订日期"})


class DeadlineSchema(Schema):
    deadline = fields.DateTime(required=True, error_messages={"invalid": "请填写日期时间，如 2027-01-31T17:00:00",
                                                              "required": "请填写响应截止时间"},
                               metadata={"label": "补充征集响应截止时间"})


def _my_listings(session: Any, ag: Any) -> list[tuple[int, str]]:
    from sqlalchemy import select

    from addons.emall.models import EmallListing

    scope = current_scope()
    cats = {i.category_id for i in ag.items if i.category_id}
    stmt = select(EmallListing).where(EmallListing.supplier_id == scope.org_id, EmallListing.status == "listed")
    if cats:
        stmt = stmt.where(EmallListing.category_id.in_(cats))
    return [(x.id, f"{x.name}（{x.brand} {x.model}）") for x in session.execute(stmt.order_by(EmallListing.id)).scalars()]


class RespondSchema(Schema):
    """API: ``lines`` = [{item, listing, unit_price, supply_quantity}] for every item. Page (an
    agreement with one item): the product, the quote and the supply quantity."""

    lines = fields.List(fields.Dict(), load_default=None, metadata={"label": "报价明细", "widget": "hidden"})
    listing = fields.Integer(load_default=None, error_messages={"invalid": "请选择商品"},
                             metadata={"label": "响应产品", "choices": _my_listings})
    unit_price = fields.String(load_default=None, metadata={"label": "报价单价（元）"})
    supply_quantity = fields.Integer(load_default=None, error_messages={"invalid": "请填写整数"},
                                     metadata={"label": "供货承诺数量"})
    note = fields.String(load_default=None, validate=mv.Length(max=2000), metadata={"label": "说明"})


def _responding(session: Any, ag: FaAgreement) -> None | bool:
    from .services.common import now

    if ag.status == "published":
        return None
    if ag.status in ("evaluated", "active") and (
            ag.form == "open" or (ag.round > 1 and ag.round_deadline is not None and ag.round_deadline > now())):
        return None
    return False


def _respond(session: Any, ag: FaAgreement, body: dict[str, Any]) -> Any:
    lines = body.get("lines")
    if not lines:
        if len(ag.items) != 1:
            raise fs.calloffs.RuleError({"lines": ["本框架协议有多个品目，请逐项报价：[{item, listing, unit_price, supply_quantity}]"]})
        line: dict[str, Any] = {"item": ag.items[0].id, "listing": body.get("listing"), "unit_price": body.get("unit_price")}
        if body.get("supply_quantity") is not None:
            line["supply_quantity"] = body["supply_quantity"]
        lines = [line]
    return fs.submit_response(session, ag, current_scope().org_id, lines, note=body.get("note"))


class ReasonSchema(Schema):
    reason = fields.String(load_default=None, validate=mv.Length(max=2000), metadata={"label": "理由"})


class RemoveSchema(Schema):
    cause = fields.String(required=True, error_messages={"required": "请选择清退理由"},
                          metadata={"label": "清退理由",
                                    "choices": lambda s, o: list(REMOVAL_CAUSES.items())})
    note = fields.String(load_default=None, validate=mv.Length(max=2000), metadata={"label": "说明"})


class BidSchema(Schema):
    unit_price = fields.String(required=True, error_messages={"required": "请填写报价"},
                               metadata={"label": "报价单价（元）"})


def _agreement_result(session: Any, ag: FaAgreement, _value: Any) -> dict[str, Any]:
    return {"id": ag.id, "status": ag.status, "status_label": AGREEMENT_STATES[ag.status], "round": ag.round}


def _collector(session: Any, obj: Any) -> str | None:
    from .services.common import own_unit_ids

    scope = current_scope()
    ag = obj if isinstance(obj, FaAgreement) else fs.get_agreement(session, obj.agreement_id)
    if scope.unrestricted or ag.collector_id in own_unit_ids(session, scope.org_id):
        return None
    return "只有该框架协议的征集人可以执行此操作"


def _supplier(session: Any, obj: Any) -> str | None:
    scope = current_scope()
    return None if scope.actor == "supplier" else "只有供应商可以执行此操作"


def _invited(session: Any, c: Any) -> str | None:
    scope = current_scope()
    if scope.actor == "supplier" and any(b.supplier_id == scope.org_id for b in c.bids):
        return None
    return "只有受邀的入围供应商可以报价"


def _buyer(session: Any, c: Any) -> str | None:
    from .services.common import own_unit_ids

    scope = current_scope()
    return None if scope.unrestricted or c.purchaser_id in own_unit_ids(session, scope.org_id) \
        else "只有发起采购的采购人可以确定成交"


def _notice_owner(session: Any, n: Any) -> str | None:
    from .services.common import own_unit_ids

    scope = current_scope()
    if n.purchaser_id and n.purchaser_id in own_unit_ids(session, scope.org_id):
        return None
    return _collector(session, n)


def _member_or_collector(session: Any, m: Any) -> str | None:
    scope = current_scope()
    return None if scope.org_id == m.supplier_id else _collector(session, m)


def _state(*states: str):
    return lambda session, obj: None if obj.status in states else False


AGREEMENT_ACTIONS = Actions(
    Action("publish", "发布征集公告", guard=_collector, run= lambda s, ag, b: fs.publish(s, ag), available=_state("draft"),
           done="征集公告已生成，采购需求自此冻结"),
    Action("shortlist", "确定入围供应商", guard=_collector, run= lambda s, ag, b: fs.confirm_shortlist(s, ag, count=b.get("count")),
           schema=CountSchema, available=lambda s, ag: None if ag.status == "published" or (
               ag.round > 1 and ag.status in ("evaluated", "active")) else False,
           done="入围结果已确定，入围结果公告须在 2 个工作日内发布"),
    Action("sign", "签订框架协议", guard=_collector, run= lambda s, ag, b: fs.sign(s, ag, on=b.get("date")), schema=DateSchema,
           available=_state("evaluated"), done="框架协议已签订并生效"),
    Action("supplement", "补充征集", guard=_collector, run= lambda s, ag, b: fs.start_supplement(s, ag, b["deadline"]),
           schema=DeadlineSchema, available=lambda s, ag: None if ag.form == "closed" and ag.status in (
               "evaluated", "active") else False, done="补充征集公告已生成"),
    Action("respond", "提交响应（报价）", _respond, schema=RespondSchema,
        guard=_supplier, available=_responding,
        result=lambda s, ag, r: {"id": r.id, "status": r.status, "evaluated_price": str(r.evaluated_price)},
        done="响应已提交", audit=False,
        note=lambda s, ag: (f"本协议有 {len(ag.items)} 个品目，请在“响应框架协议征集”页面（/fa/respond/{ag.id}）逐项报价"
                            if len(ag.items) > 1 else None)),
    result=_agreement_result, module=fs.MODULE, object_type="fa_agreement",
)

RESPONSE_ACTIONS = Actions(
    Action("reject", "认定为无效响应", guard=_collector, run= lambda s, r, b: fs.reject_response(s, r, b.get("reason") or ""),
           schema=ReasonSchema, available=_state("submitted", "applied"), button="btn-warning"),
    Action("admit", "同意加入（开放式）", guard=_collector, run= lambda s, r, b: fs.review_application(s, r, True),
           available=_state("applied")),
    result=lambda s, r, v: {"id": r.id, "status": r.status}, module=fs.MODULE, object_type="fa_response",
)

MEMBER_ACTIONS = Actions(
    Action("remove", "清退", guard=_collector, run= lambda s, m, b: fs.remove_member(s, m, b["cause"], note=b.get("note")),
           schema=RemoveSchema, available=_state("active"), button="btn-danger"),
    Action("exit", "退出（开放式）", guard=_member_or_collector, run= lambda s, m, b: fs.exit_agreement(s, m, reason=b.get("reason")),
           schema=ReasonSchema, available=lambda s, m: None if m.status == "active" and m.agreement
           and m.agreement.form == "open" else False, button="btn-warning"),
    result=lambda s, m, v: {"id": m.id, "status": m.status}, module=fs.MODULE, object_type="fa_member",
)

CALLOFF_ACTIONS = Actions(
    Action("bid", "提交竞价报价", lambda s, c, b: fs.submit_bid(s, c, b["unit_price"]), schema=BidSchema,
           guard=_invited, available=_state("competing"),
           result=lambda s, c, bid: {"id": c.id, "unit_price": str(bid.unit_price)}),
    Action("award", "确定成交（最低价）", lambda s, c, b: fs.award_competition(s, c), available=_state("competing"),
           guard=_buyer),
    result=lambda s, c, v: {"id": c.id, "status": c.status, "supplier_id": c.supplier_id,
                            "unit_price": str(c.unit_price) if c.unit_price is not None else None,
                            "order_id": c.order_id},
    module=fs.MODULE, object_type="fa_calloff",
)

NOTICE_ACTIONS = Actions(
    Action("publish", "发布公告", guard=_notice_owner, run= lambda s, n, b: fs.publish_notice(s, n), available=_state("draft")),
    result=lambda s, n, v: {"id": n.id, "status": n.status}, module=fs.MODULE, object_type="fa_notice",
)

__all__ = ["AGREEMENT_ACTIONS", "CALLOFF_ACTIONS", "MEMBER_ACTIONS", "NOTICE_ACTIONS", "RESPONSE_ACTIONS",
           "FaCallOff", "FaMember", "FaNotice", "FaResponse"]
