"""Orders (``emall_order``: buy now, transitions, detail)."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from marshmallow import validate as mv
from sqlalchemy import select

from core.api import ApiError, json_object_body
from core.db import db
from core.tenancy import current_scope

from .. import services
from ..actions import ORDER_RATING_ACTIONS
from ..models import ORDER_STATES, EmallAcceptance, EmallOrder
from .common import INVALID_DATE, EmallApi, _body, _iso, _user_id

ORDER_LABELS = {"number": "订单号", "purchaser": "采购人", "supplier": "供应商", "channel": "下单渠道",
                "pricing": "定价方式", "source_ref": "来源单据", "amount": "订单金额", "status": "状态",
                "delivery_address": "收货地址", "contact": "联系人", "phone": "联系电话", "note": "备注",
                "placed_at": "下单时间", "confirmed_at": "确认时间", "shipped_at": "发货时间",
                "tracking": "物流单号", "delivered_at": "送达时间", "accepted_on": "验收日期",
                "payment_due": "付款期限", "paid_on": "付款日期", "payment_ref": "支付凭证号",
                "cancelled_at": "取消时间", "contract_id": "合同", "region": "所在地区"}


class OrderTransitionSchema(Schema):
    reason = fields.String(load_default=None, validate=mv.Length(max=2000))
    tracking = fields.String(load_default=None, validate=mv.Length(max=100))
    accepted_on = fields.Date(load_default=None, error_messages={"invalid": INVALID_DATE})
    inspectors = fields.String(load_default=None, validate=mv.Length(max=200))
    quantity_ok = fields.Boolean(load_default=True)
    quality_ok = fields.Boolean(load_default=True)
    note = fields.String(load_default=None, validate=mv.Length(max=2000))
    paid_on = fields.Date(load_default=None, error_messages={"invalid": INVALID_DATE})
    payment_ref = fields.String(load_default=None, validate=mv.Length(max=100))
    payee_account = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=64))
    outcome = fields.String(load_default=None)


class OrderBodySchema(Schema):
    lines = fields.List(fields.Dict(), load_default=None,
                        error_messages={"invalid": "请填写订单行（商品 listing 与数量 quantity 的列表）"})
    region = fields.Raw(load_default=None)
    delivery_address = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=255))
    contact = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=64))
    phone = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=32))
    note = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000))


def _check_region_matches(region: Any, region_id: int) -> None:
    if isinstance(region, dict):
        region = region.get("id")
    if region not in (None, "") and region != region_id:
        raise services.RuleError({"region": ["订单所在地区是采购人所在地区，不能另选"]})


def order_dict(o: EmallOrder) -> dict[str, Any]:
    return {"id": o.id, "number": o.number, "status": o.status, "status_label": ORDER_STATES[o.status],
            "amount": str(o.amount), "channel": o.channel, "supplier": o.supplier_id,
            "purchaser": o.purchaser_id, "payment_due": _iso(o.payment_due),
            "contract_id": o.contract_id}


class OrderApi(EmallApi):
    pb_title = "订单"
    resource_name = "emall_order"
    datamodel = SQLAInterface(EmallOrder)
    class_permission_name = "EmallOrder"
    record_actions = ORDER_RATING_ACTIONS  # POST /<pk>/rate (core.actions)
    list_columns = ["id", "number", "purchaser.id", "purchaser.name", "supplier.id", "supplier.name",
                    "channel", "pricing", "source_ref", "amount", "status", "delivery_address",
                    "contact", "phone", "note", "placed_at", "confirmed_at", "shipped_at", "tracking",
                    "delivered_at", "accepted_on", "payment_due", "paid_on", "payment_ref",
                    "cancelled_at", "contract_id", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["region", "delivery_address", "contact", "phone", "note"]
    edit_columns = ["delivery_address", "contact", "phone", "note"]
    search_columns = ["number", "purchaser", "supplier", "channel", "amount", "status", "region",
                      "accepted_on", "payment_due"]
    order_columns = ["number", "amount", "status", "placed_at", "payment_due"]
    base_order = ("id", "desc")
    label_columns = ORDER_LABELS
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in ORDER_STATES.items())}

    def post_headless(self):
        """Buy now: a direct order of one supplier's listings (body: lines, delivery details)."""
        def post():
            raw = json_object_body()
            self._erp_region_first()
            body = OrderBodySchema().load(raw, unknown="exclude")
            scope = current_scope()
            if scope.actor == "purchaser" and scope.region_id is not None:
                _check_region_matches(body["region"], scope.region_id)
            order = services.buy_now(db.session, _user_id(), body["lines"],
                                delivery_address=body["delivery_address"], contact=body["contact"],
                                phone=body["phone"], note=body["note"])
            db.session.commit()
            return self.response(201, id=order.id, result=order_dict(order))

        return self._erp_answer(post)

    def pre_update(self, item: EmallOrder) -> None:
        services.validate_order_edit(self.datamodel.session, item)

    def pre_delete(self, item: Any) -> None:
        raise ApiError(409, {"status": ["订单不能删除：未确认的订单可以取消"]}, "conflict")

    @expose("/<int:pk>/detail", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def detail(self, pk: int):
        """The order with its lines, acceptance record and allowed next steps
        ---
        get:
          responses:
            200:
              description: the order
            404:
              $ref: '#/components/responses/404'
        """
        def run():
            o = self._get_or_404(pk)
            acc = db.session.execute(select(EmallAcceptance).where(
                EmallAcceptance.order_id == o.id)).scalar_one_or_none()
            result = order_dict(o)
            result["lines"] = [{"listing": ln.listing_id, "name": ln.name, "brand": ln.brand,
                                "model": ln.model, "quantity": ln.quantity, "unit": ln.unit,
                                "unit_price": str(ln.unit_price), "amount": str(ln.amount)}
                               for ln in o.lines]
            result["acceptance"] = None if acc is None else {
                "accepted_on": _iso(acc.accepted_on), "inspectors": acc.inspectors, "note": acc.note}
            result["transitions"] = [t.name for t in services.ORDER_FLOW.transitions
                                     if t.allows_from(o.status)]
            return self.response(200, result=result)

        return self._erp_answer(run)

    @expose("/<int:pk>/transition/<string:name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk: int, name: str):
        """confirm, ship (tracking), deliver, accept (accepted_on, inspectors, note), pay
        (paid_on, payment_ref, payee_account: the 收款账户 paid - a financed order whose
        repayment account is locked is paid only there, else 422 on payee_account), cancel (reason), dispute (reason), resolve (outcome
        continue|cancel, reason)
        ---
        post:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          - in: path
            schema:
              type: string
            name: name
          responses:
            200:
              description: the new status
            404:
              $ref: '#/components/responses/404'
            409:
              $ref: '#/components/responses/409'
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            self._get_or_404(pk)
            body = OrderTransitionSchema().load(_body())
            order = services.lock_order(db.session, self._erp_pk(pk))
            acceptance = None
            if name == "accept":
                acceptance = {"accepted_on": body["accepted_on"] or services.today(),
                              "inspectors": body["inspectors"], "note": body["note"],
                              "quantity_ok": body["quantity_ok"], "quality_ok": body["quality_ok"]}
            services.transition_order(db.session, order, name, reason=body["reason"],
                        tracking=body["tracking"], acceptance=acceptance,
                        paid_on=body["paid_on"] or (services.today() if name == "pay" else None),
                        payment_ref=body["payment_ref"], outcome=body["outcome"],
                        payee_account=body["payee_account"])
            db.session.commit()
            return self.response(200, result=order_dict(order))

        return self._erp_answer(run)
