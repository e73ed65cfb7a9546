"""Online price comparison (``emall_comparison``) and quotes (``emall_quote``)."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.api import ApiError, json_object_body
from core.db import db
from core.tenancy import current_scope

from .. import services
from ..actions import COMPARISON_ACTIONS, comparison_dict
from ..models import COMPARISON_STATES, EmallComparison, EmallQuote
from .common import EmallApi, _user_id
from .orders import _check_region_matches

__all__ = ["ComparisonApi", "ComparisonBodySchema", "QuoteApi", "QuoteBodySchema", "comparison_dict"]


class ComparisonBodySchema(Schema):
    lines = fields.List(fields.Dict(), load_default=None)
    region = fields.Raw(load_default=None)
    title = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=200))
    delivery_address = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=255))
    requirements = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=5000))


class ComparisonApi(EmallApi):
    pb_title = "网上竞价"
    resource_name = "emall_comparison"
    datamodel = SQLAInterface(EmallComparison)
    class_permission_name = "EmallComparison"
    record_actions = COMPARISON_ACTIONS  # POST /<pk>/award, /<pk>/cancel (core.actions)
    list_columns = ["id", "number", "title", "purchaser.id", "purchaser.name", "lines", "budget",
                    "delivery_address", "requirements", "published_at", "quote_deadline", "status",
                    "decision_note", "winner_quote_id", "order_id", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["region", "title", "lines", "delivery_address", "requirements"]
    edit_columns = ["title", "delivery_address", "requirements"]
    search_columns = ["number", "title", "purchaser", "status", "region", "quote_deadline"]
    order_columns = ["number", "budget", "quote_deadline", "status"]
    base_order = ("id", "desc")
    label_columns = {"number": "竞价编号", "title": "标题", "purchaser": "采购人", "lines": "采购需求",
                     "budget": "最高限价", "delivery_address": "收货地址", "requirements": "其他要求",
                     "published_at": "发布时间", "quote_deadline": "报价截止时间", "status": "状态",
                     "decision_note": "成交说明", "winner_quote_id": "成交报价", "order_id": "订单",
                     "region": "所在地区"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in COMPARISON_STATES.items())}

    def post_headless(self):
        """Publish a comparison for explicit lines [{listing, quantity}] whose total falls in
        the comparison band (the cart's checkout does the same for the cart)."""
        def post():
            raw = json_object_body()
            self._erp_region_first()
            body = ComparisonBodySchema().load(raw, unknown="exclude")
            scope = current_scope()
            purchaser = services._purchaser_of(db.session, scope)
            _check_region_matches(body["region"], purchaser.region_id)
            errors = services.Errors()
            items = body["lines"] or []
            if not all(isinstance(x, dict) and "listing" in x for x in items):
                errors.add("lines", "请填写竞价需求：[{listing, quantity}]（商品编号与数量）")
                errors.raise_if_any()
            reqs = services._line_requests(db.session, items, purchaser.region_id, errors)
            errors.raise_if_any()
            total = sum((r["listing"].price * r["quantity"] for r in reqs), services.ZERO)
            band = services.trading_band(db.session, total, purchaser.region_id)
            if band == "refused":
                raise services.RuleError({"amount": [services.refusal_message(db.session, total,
                                                                              purchaser.region_id)]})
            if band == "direct":
                raise services.RuleError({"amount": ["金额未超过直购限额，请直接下单（直购），无需竞价"]})
            comp = services.publish_comparison(db.session, purchaser, reqs,
                               user_id=_user_id(), title=body["title"],
                               delivery_address=body["delivery_address"],
                               requirements=body["requirements"])
            db.session.commit()
            return self.response(201, id=comp.id, result=comparison_dict(comp))

        return self._erp_answer(post)

    def pre_update(self, item: EmallComparison) -> None:
        scope = current_scope()
        if not (scope.unrestricted or (scope.actor == "purchaser" and item.purchaser_id in
                                       services._own_units(self.datamodel.session, scope.org_id))):
            raise services.RuleError({"status": ["只有发布竞价的采购人可以修改"]})
        if item.status != "open":
            raise ApiError(409, {"status": ["竞价已截止，不能修改"]}, "conflict")

    def pre_delete(self, item: Any) -> None:
        raise ApiError(409, {"status": ["竞价不能删除，可以撤销"]}, "conflict")

class QuoteBodySchema(Schema):
    comparison = fields.Raw(required=True, error_messages={"required": "请选择竞价"})
    lines = fields.List(fields.Dict(), required=True,
                        error_messages={"required": "请逐行填写报价", "invalid": "请逐行填写报价"})
    region = fields.Raw(load_default=None)
    note = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000))


class QuoteApi(EmallApi):
    pb_title = "竞价报价"
    resource_name = "emall_quote"
    datamodel = SQLAInterface(EmallQuote)
    class_permission_name = "EmallQuote"
    list_columns = ["id", "comparison_id", "supplier.id", "supplier.name",
                    "lines", "total", "note", "status", "submitted_at", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["comparison", "region", "lines", "note"]
    edit_columns = ["lines", "note"]
    search_columns = ["comparison", "supplier", "status", "total"]
    order_columns = ["total", "submitted_at", "status"]
    base_order = ("id", "desc")
    label_columns = {"comparison": "竞价", "supplier": "供应商", "lines": "报价明细", "total": "报价总额",
                     "note": "说明", "status": "状态", "submitted_at": "报价时间", "region": "所在地区"}

    def _comparison(self, value: Any) -> EmallComparison:
        if isinstance(value, dict):
            value = value.get("id")
        comp = db.session.get(EmallComparison, value) if isinstance(value, int) and not isinstance(
            value, bool) and 0 < value < 2**31 else None
        if comp is None:
            raise services.RuleError({"comparison": ["竞价不存在或不在报价期"]})
        return comp

    def post_headless(self):
        """Quote (or change one's quote while the window is open)."""
        def post():
            raw = json_object_body()
            self._erp_region_first()
            body = QuoteBodySchema().load(raw, unknown="exclude")
            scope = current_scope()
            if scope.actor != "supplier":
                raise services.RuleError({"supplier": ["只有供应商可以报价"]})
            comp = self._comparison(body["comparison"])
            _check_region_matches(body["region"], comp.region_id)
            quote = services.submit_quote(db.session, comp, body["lines"], note=body["note"])
            db.session.commit()
            return self.response(201, id=quote.id, result={"id": quote.id, "total": str(quote.total),
                                                           "status": quote.status})

        return self._erp_answer(post)

    def put_headless(self, pk: Any):
        parent_check = self._get_or_404

        def put():
            quote = parent_check(pk)
            raw = json_object_body()
            self._erp_region_first()
            body = QuoteBodySchema(partial=("comparison",)).load(raw, unknown="exclude")
            comp = db.session.get(EmallComparison, quote.comparison_id)
            quote_ = services.submit_quote(db.session, comp, body["lines"],
                                 note=body["note"])
            if quote_.id != quote.id:
                raise ApiError(404)
            db.session.commit()
            return self.response(200, result={"id": quote.id, "total": str(quote.total)})

        return self._erp_answer(put)

    def pre_delete(self, item: Any) -> None:
        raise ApiError(409, {"status": ["报价不能删除；报价期内可以修改报价"]}, "conflict")
