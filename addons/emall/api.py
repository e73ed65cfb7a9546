"""REST APIs of the e-mall under ``/api/v1/`` (thin: every rule is in :mod:`.services`).

Public (no login): ``emall_catalog`` - search, product, category tree.
Logged in: ``emall_category``, ``emall_condition``, ``emall_admission`` (+ apply, transition),
``emall_listing`` (+ transition, images), ``emall_cart`` (+ lines, checkout),
``emall_order`` (POST = buy now; + transition, detail), ``emall_comparison`` (POST = publish;
+ award, cancel, quotes), ``emall_quote`` (POST = quote), ``emall_price_alert`` (+ scan,
review), ``emall_dashboard``.

Errors: 422 with Chinese field messages (nothing written), 409 for a conflict (stock, state,
duplicate), 404 for what the user may not see (row scoping), 403 for a write outside the
user's regions (checked before validation).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

from flask import current_app, request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from marshmallow import validate as mv
from sqlalchemy import select

from addons.procurement_base.api import PbApi
from core.api import ApiError, ErpBaseApi, json_object_body
from core.db import db
from core.tenancy import current_scope

from . import rules as emall_rules
from . import search_index, services
from .models import (
    ADMISSION_STATES,
    ALERT_STATES,
    COMPARISON_STATES,
    LISTING_STATES,
    ORDER_STATES,
    EmallAcceptance,
    EmallAdmission,
    EmallCartLine,
    EmallCategory,
    EmallComparison,
    EmallCondition,
    EmallListing,
    EmallListingImage,
    EmallOrder,
    EmallPriceAlert,
    EmallQuote,
    EmallSynonym,
)
from .services import search as catalog_search

INVALID_DATE = "日期格式不正确，应为 YYYY-MM-DD"


def image_folder() -> Path:
    """Product images live under the instance's var folder."""
    return Path(current_app.config.get("VAR_DIR") or "var") / "emall" / "images"


def _user_id() -> int | None:
    from core.security import current_erp_user

    user = current_erp_user()
    return user.id if user is not None else None


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    return json_object_body() if raw.strip() else {}


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise services.RuleError({field: [INVALID_DATE]}) from None


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


class OwnSupplierFilter(BaseFilter):
    """A supplier sees its own records (admissions, listings); other actors per role."""

    name = "本单位"
    arg_name = None

    def apply(self, query, value):
        scope = current_scope()
        if scope.actor == "supplier":
            return query.filter(self.model.supplier_id == scope.org_id)
        return query


class EmallApi(PbApi):
    """Base: service validation on writes; conflicts answered 409."""

    validator: ClassVar[Any] = None
    max_page_size = 100

    def pre_delete(self, item: Any) -> None:
        if type(self).rules is not None:  # the model's rules object decides (as on its page)
            super().pre_delete(item)
            return
        raise ApiError(409, {"id": ["该记录不能删除"]}, "conflict")

    def _get_or_404(self, pk: Any) -> Any:
        item = self.datamodel.get(self._erp_pk(pk), self._base_filters)
        if item is None:
            raise ApiError(404)
        return item


# -- catalog administration -----------------------------------------------------------------------
class CategoryApi(EmallApi):
    pb_title = "商品分类"
    resource_name = "emall_category"
    datamodel = SQLAInterface(EmallCategory)
    class_permission_name = "EmallCategory"
    validator = staticmethod(services.validate_category)
    list_columns = ["id", "code", "name", "parent.id", "parent.code", "pb_catalog.id",
                    "pb_catalog.code", "pavilion", "attributes", "requires_cold_chain",
                    "sequence", "active"]
    show_columns = list_columns
    add_columns = ["code", "name", "parent", "pb_catalog", "pavilion", "attributes",
                   "requires_cold_chain", "sequence", "active"]
    edit_columns = add_columns
    search_columns = ["code", "name", "parent", "pavilion", "active"]
    order_columns = ["code", "name", "sequence"]
    base_order = ("code", "asc")
    optional_on_add = ("parent", "pb_catalog", "pavilion", "attributes", "requires_cold_chain",
                       "sequence", "active")
    label_columns = {"code": "分类编码", "name": "分类名称", "parent": "上级分类",
                     "pb_catalog": "政府采购品目", "pavilion": "行业馆", "attributes": "属性模板",
                     "requires_cold_chain": "须冷链配送", "sequence": "排序", "active": "启用"}

    def pre_delete(self, item: EmallCategory) -> None:
        session = self.datamodel.session
        used = session.execute(select(EmallListing.id).where(EmallListing.category_id == item.id)).first()
        child = session.execute(select(EmallCategory.id).where(EmallCategory.parent_id == item.id)).first()
        if used or child:
            raise ApiError(409, {"id": ["该分类下已有商品或下级分类，不能删除（可停用）"]}, "conflict")


class ConditionApi(EmallApi):
    pb_title = "入驻条件"
    resource_name = "emall_condition"
    datamodel = SQLAInterface(EmallCondition)
    class_permission_name = "EmallCondition"
    validator = staticmethod(services.validate_condition)
    list_columns = ["id", "code", "name", "kind", "description", "source", "required",
                    "sequence", "active"]
    show_columns = list_columns
    add_columns = ["code", "name", "kind", "description", "source", "required", "sequence", "active"]
    edit_columns = add_columns
    order_columns = ["code", "sequence"]
    base_order = ("sequence", "asc")
    optional_on_add = ("kind", "description", "source", "required", "sequence", "active")
    label_columns = {"code": "条件编码", "name": "条件", "kind": "类型", "description": "说明",
                     "source": "依据", "required": "必备", "sequence": "排序", "active": "启用"}

    def pre_delete(self, item: Any) -> None:
        return None


# -- admission ---------------------------------------------------------------------------------------
class ApplySchema(Schema):
    answers = fields.Dict(load_default=dict, error_messages={"invalid": "请按条件编码填写"})
    categories = fields.List(fields.Integer(strict=True), required=True,
                             error_messages={"required": "请至少选择一个经营的商品分类",
                                             "invalid": "请填写分类编号列表"})
    contact = fields.String(load_default=None, validate=mv.Length(max=64))
    phone = fields.String(load_default=None, validate=mv.Length(max=32))


class DecisionSchema(Schema):
    reason = fields.String(load_default=None, validate=mv.Length(max=2000))
    until = fields.Date(load_default=None, error_messages={"invalid": INVALID_DATE})


class AdmissionApi(EmallApi):
    pb_title = "供应商入驻"
    resource_name = "emall_admission"
    datamodel = SQLAInterface(EmallAdmission)
    class_permission_name = "EmallAdmission"
    include_route_methods = {"get", "get_list", "info", "apply", "transition"}
    base_filters = [["id", OwnSupplierFilter, None]]
    list_columns = ["id", "supplier.id", "supplier.name", "status", "answers", "categories.id",
                    "categories.name", "contact", "phone", "applied_at", "decided_at", "decided_by",
                    "reason", "suspended_until"]
    show_columns = list_columns
    search_columns = ["supplier", "status"]
    order_columns = ["applied_at", "status"]
    base_order = ("applied_at", "desc")
    label_columns = {"supplier": "供应商", "status": "状态", "answers": "条件响应",
                     "categories": "经营分类", "contact": "联系人", "phone": "联系电话",
                     "applied_at": "申请时间", "decided_at": "审核时间", "decided_by": "审核人",
                     "reason": "理由", "suspended_until": "暂停至"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in ADMISSION_STATES.items())}

    @expose("/apply", methods=["POST"])
    @protect()
    @safe
    @permission_name("apply")
    def apply(self):
        """Apply for admission (the supplier's own organisation)
        ---
        post:
          responses:
            200:
              description: the application
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            body = ApplySchema().load(_body())
            scope = current_scope()
            from core.models import Organization

            org = db.session.get(Organization, scope.org_id) if scope.org_id else None
            if org is None:
                raise services.RuleError({"supplier": ["只有供应商可以申请入驻电子卖场"]})
            adm = services.apply_for_admission(db.session, org, answers=body["answers"],
                              category_ids=body["categories"], contact=body["contact"],
                              phone=body["phone"])
            db.session.commit()
            return self.response(200, result={"id": adm.id, "status": adm.status})

        return self._erp_answer(run)

    @expose("/<int:pk>/transition/<string:name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk: int, name: str):
        """approve, reject (reason), suspend (reason, until), reinstate (reason)
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
            adm = self._get_or_404(pk)
            body = DecisionSchema().load(_body())
            services.decide_admission(db.session, adm, name, reason=body["reason"],
                        until=body["until"])
            db.session.commit()
            return self.response(200, result={"id": adm.id, "status": adm.status,
                                              "status_label": ADMISSION_STATES[adm.status],
                                              "suspended_until": _iso(adm.suspended_until)})

        return self._erp_answer(run)


# -- listings ------------------------------------------------------------------------------------------
class ListingApi(EmallApi):
    pb_title = "商品"
    resource_name = "emall_listing"
    rules = emall_rules.LISTING
    datamodel = SQLAInterface(EmallListing)
    class_permission_name = "EmallListing"
    base_filters = [["id", OwnSupplierFilter, None]]
    list_columns = ["id", "supplier.id", "supplier.name", "category.id", "category.code",
                    "category.name", "pavilion", "name", "brand", "model", "unit", "price",
                    "reference_price", "reference_source", "reference_url", "stock", "cold_chain",
                    "status", "attributes", "description", "review_note", "regions.id",
                    "regions.name", "listed_at", "updated_at"]
    show_columns = list_columns
    add_columns = ["supplier", "category", "name", "brand", "model", "description", "attributes",
                   "unit", "price", "reference_price", "reference_source", "reference_url", "stock",
                   "cold_chain", "exclusive_model", "regions"]
    edit_columns = add_columns
    search_columns = ["supplier", "category", "name", "brand", "model", "status", "pavilion",
                      "price", "cold_chain"]
    order_columns = ["name", "brand", "price", "stock", "status", "updated_at"]
    base_order = ("id", "desc")
    optional_on_add = ("supplier", "description", "attributes", "unit", "reference_source",
                       "reference_url", "stock", "cold_chain", "exclusive_model", "regions")
    label_columns = {"supplier": "供应商", "category": "商品分类", "pavilion": "行业馆",
                     "name": "商品名称", "brand": "品牌", "model": "型号", "unit": "单位",
                     "price": "挂网价格", "reference_price": "参考价", "reference_source": "参考价来源",
                     "reference_url": "参考价链接", "stock": "库存", "cold_chain": "冷链配送",
                     "exclusive_model": "专供型号", "status": "状态", "attributes": "商品属性",
                     "description": "商品描述", "review_note": "审核意见", "regions": "供货地区",
                     "listed_at": "上架时间", "updated_at": "更新时间"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in LISTING_STATES.items())}

    @expose("/<int:pk>/transition/<string:name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk: int, name: str):
        """submit (supplier), approve / reject (institution), delist
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
            item = self._get_or_404(pk)
            body = DecisionSchema().load(_body())
            services.transition_listing(db.session, item, name, reason=body["reason"])
            db.session.commit()
            return self.response(200, result={"id": item.id, "status": item.status,
                                              "status_label": LISTING_STATES[item.status]})

        return self._erp_answer(run)

    @expose("/<int:pk>/images", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def add_image(self, pk: int):
        """Upload a product image (multipart field ``image``; PNG, JPEG or WebP)
        ---
        post:
          responses:
            201:
              description: the image
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            item = self._get_or_404(pk)
            upload = request.files.get("image")
            if upload is None:
                raise services.RuleError({"image": ["请选择图片文件（表单字段 image）"]})
            limit = services.settings.get("emall.image_max_kb", session=db.session) * 1024
            data = upload.stream.read(limit + 1)
            img = services.add_image(db.session, item, data, upload.filename,
                              image_folder())
            db.session.commit()
            return self.response(201, id=img.id, result={"url": f"/emall/image/{img.id}",
                                                         "content_type": img.content_type,
                                                         "size": img.size})

        return self._erp_answer(run)

    @expose("/<int:pk>/images/<int:image_id>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("put")
    def delete_image(self, pk: int, image_id: int):
        """Remove a product image
        ---
        delete:
          responses:
            200:
              description: removed
            404:
              $ref: '#/components/responses/404'
        """
        def run():
            item = self._get_or_404(pk)
            img = db.session.get(EmallListingImage, image_id)
            if img is None or img.listing_id != item.id:
                raise ApiError(404)
            scope = current_scope()
            if scope.actor == "supplier" and scope.org_id != item.supplier_id:
                raise ApiError(404)
            db.session.delete(img)
            db.session.commit()
            return self.response(200, message="OK")

        return self._erp_answer(run)


# -- orders -----------------------------------------------------------------------------------------------
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
        (paid_on, payment_ref), cancel (reason), dispute (reason), resolve (outcome
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
                        payment_ref=body["payment_ref"], outcome=body["outcome"])
            db.session.commit()
            return self.response(200, result=order_dict(order))

        return self._erp_answer(run)


# -- price comparison (竞价) and quotes -------------------------------------------------------------------
class ComparisonBodySchema(Schema):
    lines = fields.List(fields.Dict(), load_default=None)
    region = fields.Raw(load_default=None)
    title = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=200))
    delivery_address = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=255))
    requirements = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=5000))


def comparison_dict(c: EmallComparison) -> dict[str, Any]:
    return {"id": c.id, "number": c.number, "title": c.title, "status": c.status,
            "status_label": COMPARISON_STATES[c.status], "budget": str(c.budget),
            "quote_deadline": c.quote_deadline.isoformat(), "lines": c.lines,
            "decision_note": c.decision_note, "order_id": c.order_id}


class ComparisonApi(EmallApi):
    pb_title = "网上竞价"
    resource_name = "emall_comparison"
    datamodel = SQLAInterface(EmallComparison)
    class_permission_name = "EmallComparison"
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

    @expose("/<int:pk>/award", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def award(self, pk: int):
        """Award to the lowest compliant quote (reason required with fewer than the minimum)
        ---
        post:
          responses:
            200:
              description: the order
            409:
              $ref: '#/components/responses/409'
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            comp = self._get_or_404(pk)
            body = DecisionSchema().load(_body())
            try:
                order = services.award_comparison(db.session, comp, reason=body["reason"])
            except services.ConflictError as exc:
                db.session.commit()  # a failed comparison (no quotes) is recorded
                raise ApiError(409, exc.messages, "conflict") from None
            db.session.commit()
            return self.response(200, result={**comparison_dict(comp), "order": order_dict(order)})

        return self._erp_answer(run)

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def cancel(self, pk: int):
        """Cancel (reason)
        ---
        post:
          responses:
            200:
              description: cancelled
            409:
              $ref: '#/components/responses/409'
        """
        def run():
            comp = self._get_or_404(pk)
            body = DecisionSchema().load(_body())
            services.cancel_comparison(db.session, comp, reason=body["reason"])
            db.session.commit()
            return self.response(200, result=comparison_dict(comp))

        return self._erp_answer(run)


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


# -- price monitoring -------------------------------------------------------------------------------------
class ReviewSchema(Schema):
    decision = fields.String(required=True, error_messages={"required": "请选择复核结论"})
    note = fields.String(load_default=None, validate=mv.Length(max=2000))


class PriceAlertApi(EmallApi):
    pb_title = "价格监测"
    resource_name = "emall_price_alert"
    datamodel = SQLAInterface(EmallPriceAlert)
    class_permission_name = "EmallPriceAlert"
    include_route_methods = {"get", "get_list", "info", "scan", "review"}
    list_columns = ["id", "kind", "listing.id", "listing.name", "category.id", "category.name",
                    "supplier.id", "supplier.name", "price", "reference_price", "median_price",
                    "score", "detail", "status", "detected_at", "reviewed_at", "reviewed_by",
                    "review_note", "order_line_id"]
    show_columns = list_columns
    search_columns = ["kind", "status", "category", "supplier"]
    order_columns = ["detected_at", "price", "status"]
    base_order = ("id", "desc")
    label_columns = {"kind": "类型", "listing": "商品", "category": "分类", "supplier": "供应商",
                     "price": "价格", "reference_price": "参考价", "median_price": "同类中位数",
                     "score": "稳健 Z 分数", "detail": "说明", "status": "状态", "detected_at": "发现时间",
                     "reviewed_at": "复核时间", "reviewed_by": "复核人", "review_note": "复核意见",
                     "order_line_id": "订单行"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in ALERT_STATES.items())}

    @expose("/scan", methods=["POST"])
    @protect()
    @safe
    @permission_name("scan")
    def scan(self):
        """Run the price checks now
        ---
        post:
          responses:
            200:
              description: alerts added per kind
        """
        def run():
            added = services.scan_prices(db.session)
            db.session.commit()
            return self.response(200, result=added)

        return self._erp_answer(run)

    @expose("/<int:pk>/review", methods=["POST"])
    @protect()
    @safe
    @permission_name("review")
    def review(self, pk: int):
        """Review an alert: decision confirmed|dismissed, note
        ---
        post:
          responses:
            200:
              description: reviewed
            409:
              $ref: '#/components/responses/409'
        """
        def run():
            alert = self._get_or_404(pk)
            body = ReviewSchema().load(_body())
            services.review_alert(db.session, alert, body["decision"], body["note"])
            db.session.commit()
            return self.response(200, result={"id": alert.id, "status": alert.status})

        return self._erp_answer(run)


# -- cart ---------------------------------------------------------------------------------------------------
class CartLineSchema(Schema):
    listing = fields.Integer(strict=True, required=True,
                             error_messages={"required": "请选择商品", "invalid": "请填写商品编号"})
    quantity = fields.Integer(strict=True, load_default=1, validate=mv.Range(min=1, max=1_000_000,
                                                                              error="数量须为正整数"),
                              error_messages={"invalid": "数量须为正整数"})


class CheckoutSchema(Schema):
    delivery_address = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=255))
    contact = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=64))
    phone = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=32))
    note = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000))
    title = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=200))
    requirements = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=5000))


def cart_dict(session: Any, user_id: int) -> dict[str, Any]:
    lines = services.cart_lines(session, user_id)
    total = sum((c.listing.price * c.quantity for c in lines), services.ZERO)
    return {"lines": [{"id": c.id, "listing": c.listing_id, "name": c.listing.name,
                       "supplier": c.listing.supplier_id, "quantity": c.quantity,
                       "unit_price": str(c.listing.price),
                       "amount": str(c.listing.price * c.quantity)} for c in lines],
            "total": str(total)}


class CartApi(ErpBaseApi):
    resource_name = "emall_cart"
    class_permission_name = "EmallCart"
    allow_browser_login = True
    openapi_spec_tag = "E-mall cart"

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def get_cart(self):
        """The user's cart
        ---
        get:
          responses:
            200:
              description: the cart
        """
        return self._erp_answer(lambda: self.response(200, result=cart_dict(db.session, _user_id())))

    @expose("/lines", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def add_line(self):
        """Add a listing (quantity adds up)
        ---
        post:
          responses:
            200:
              description: the cart
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            body = CartLineSchema().load(json_object_body())
            services.cart_add(db.session, _user_id(), body["listing"], body["quantity"])
            db.session.commit()
            return self.response(200, result=cart_dict(db.session, _user_id()))

        return self._erp_answer(run)

    @expose("/lines/<int:line_id>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("post")
    def remove_line(self, line_id: int):
        """Remove a cart line
        ---
        delete:
          responses:
            200:
              description: the cart
            404:
              $ref: '#/components/responses/404'
        """
        def run():
            line = db.session.get(EmallCartLine, line_id)
            if line is None or line.user_id != _user_id():
                raise ApiError(404)
            db.session.delete(line)
            db.session.commit()
            return self.response(200, result=cart_dict(db.session, _user_id()))

        return self._erp_answer(run)

    @expose("/checkout", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def checkout(self):
        """Check out: orders per supplier, or a price comparison, or a refusal by amount
        ---
        post:
          responses:
            200:
              description: the orders or the comparison
            409:
              $ref: '#/components/responses/409'
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            body = CheckoutSchema().load(_body())
            res = services.checkout(db.session, _user_id(), **body)
            db.session.commit()
            return self.response(200, result={
                "mode": res["mode"], "amount": str(res["amount"]),
                "orders": [order_dict(o) for o in res["orders"]],
                "comparison": comparison_dict(res["comparison"]) if res["comparison"] else None})

        return self._erp_answer(run)


# -- public catalog -------------------------------------------------------------------------------------------
def catalog_filters(session: Any) -> dict[str, Any]:
    """Query-string arguments of a catalog search (the search module's rules, shared with the
    pages and the pavilion; 422 on bad input)."""
    return catalog_search.parse_args(session, request.args)


def catalog_answer(page: Any) -> dict[str, Any]:
    """The JSON of a catalog search page: hits, count, facets, what the terms were expanded to."""
    return {"count": page.count, "page": page.page, "page_size": page.page_size,
            "result": [services.listing_dict(x) for x in page.rows], "facets": page.facets,
            "approximate": page.approximate, "expanded": page.expanded}


class CatalogApi(ErpBaseApi):
    """The public catalog: no login."""

    resource_name = "emall_catalog"
    openapi_spec_tag = "E-mall catalog (public)"

    @expose("/", methods=["GET"])
    @safe
    def search(self):
        """Search listed products on the keyword index: q (words, all must match; synonyms and
        pinyin applied), category (id or code, with its subtree), pavilion (general|livestock),
        attr.<key>, price_min, price_max, supplier, region (code), cold_chain (1/0), sort
        (relevance|newest|price_asc|price_desc|name; relevance by default), page (from 0),
        page_size (1-100). Answer: count, result, facets (categories, price_bands),
        approximate (a one-character typo was allowed), expanded (synonyms/pinyin used).
        Any other argument, or a bad value: 422 with Chinese field messages.
        ---
        get:
          responses:
            200:
              description: count, result, facets
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            parsed = catalog_filters(db.session)
            page = catalog_search.catalog_page(db.session, parsed,
                                               prefer_region_id=catalog_search.purchaser_region(current_scope()))
            return self.response(200, **catalog_answer(page))

        return self._erp_answer(run)

    @expose("/<int:pk>", methods=["GET"])
    @safe
    def product(self, pk: int):
        """A product page's data
        ---
        get:
          responses:
            200:
              description: the product
            404:
              $ref: '#/components/responses/404'
        """
        def run():
            x = services.public_listing(db.session, pk) if pk < 2**31 else None
            if x is None:
                raise ApiError(404)
            return self.response(200, result=services.listing_dict(x, detail=True))

        return self._erp_answer(run)

    @expose("/categories", methods=["GET"])
    @safe
    def categories(self):
        """The category tree (pavilion=general|livestock to limit it)
        ---
        get:
          responses:
            200:
              description: the tree
        """
        def run():
            pav = request.args.get("pavilion")
            which = "*" if not pav else (None if pav == "general" else pav)
            return self.response(200, result=services.category_tree(db.session, which))

        return self._erp_answer(run)


# ``q`` is the catalog's free-text keyword (checked by parse_args), not FAB's rison query
CatalogApi.search.erp_free_text_q = True  # type: ignore[attr-defined]


class DashboardApi(ErpBaseApi):
    resource_name = "emall_dashboard"
    class_permission_name = "EmallDashboard"

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def figures(self):
        """The user's dashboard figures (what row scoping lets them see)
        ---
        get:
          responses:
            200:
              description: figures
        """
        def run():
            d = services.dashboard(db.session)
            d["turnover"] = [str(v) for v in d["turnover"]]
            d["total"] = str(d["total"])
            d["spend_by_category"] = [[n, str(v)] for n, v in d["spend_by_category"]]
            return self.response(200, result=d)

        return self._erp_answer(run)


class SynonymApi(EmallApi):
    """同义词 of the catalog search (the institution keeps them; applied at query time)."""

    pb_title = "同义词"
    resource_name = "emall_synonym"
    datamodel = SQLAInterface(EmallSynonym)
    class_permission_name = "EmallSynonym"
    validator = staticmethod(search_index.validate_synonym)
    list_columns = ["id", "term", "synonyms", "mutual", "active", "note", "updated_at"]
    show_columns = list_columns
    add_columns = ["term", "synonyms", "mutual", "active", "note"]
    edit_columns = add_columns
    search_columns = ["term", "synonyms", "mutual", "active"]
    order_columns = ["term", "updated_at"]
    base_order = ("term", "asc")
    optional_on_add = ("mutual", "active", "note")
    label_columns = {"term": "词语", "synonyms": "同义词", "mutual": "互为同义", "active": "启用",
                     "note": "备注", "updated_at": "更新时间"}

    def pre_delete(self, item: Any) -> None:
        return None


APIS = (CategoryApi, ConditionApi, AdmissionApi, ListingApi, OrderApi, ComparisonApi, QuoteApi,
        PriceAlertApi, CartApi, CatalogApi, DashboardApi, SynonymApi)


def register(appbuilder) -> None:
    for api in APIS:
        appbuilder.add_api(api)
