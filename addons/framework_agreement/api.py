"""The REST API of framework agreements (``/api/v1/fa_*``); thin: the services hold the rules."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.api import ErpBaseApi, ErpModelRestApi, json_object_body
from core.db import db
from core.errors import NotFoundError
from core.services.export import send_xlsx
from core.tenancy import current_scope

from . import services as fs
from .actions import (
    AGREEMENT_ACTIONS,
    CALLOFF_ACTIONS,
    MEMBER_ACTIONS,
    NOTICE_ACTIONS,
    RESPONSE_ACTIONS,
)
from .models import (
    METHODS,
    FaAgreement,
    FaCallOff,
    FaItem,
    FaLine,
    FaMember,
    FaNotice,
    FaOutside,
    FaResponse,
)

AG_LABELS = {"number": "协议编号", "name": "框架协议名称", "collector": "征集人", "kind": "项目类别",
             "form": "协议形式", "open_reason": "采用开放式的理由", "subject": "采购标的", "demand": "采购需求",
             "evaluation": "评审方法", "lab_instruments": "实验室仪器", "methods": "第二阶段成交方式",
             "shortlist_cap": "入围数量上限", "volume_discounts": "量大优惠说明",
             "discount_tiers": "量大优惠阶梯", "discount_tiers_label": "量大优惠阶梯", "performance_area": "履约区域",
             "performance_requirements": "履约要求", "payment_terms": "付款条件", "contract_template": "合同文本",
             "term_start": "协议期限开始", "term_end": "协议期限结束", "response_deadline": "响应截止时间",
             "status": "状态", "round": "征集轮次", "eligible_regions": "适用地区",
             "eligible_purchasers": "适用采购人", "region": "所在地区", "confirmed_on": "入围确定日期",
             "signed_on": "签订日期", "published_on": "发布日期"}


class FaAgreementApi(ErpModelRestApi):
    title = "框架协议"
    resource_name = "fa_agreement"
    datamodel = SQLAInterface(FaAgreement)
    class_permission_name = "FaAgreement"
    rules = fs.AGREEMENT
    record_actions = AGREEMENT_ACTIONS
    list_columns = ["id", "number", "name", "collector.id", "collector.name", "kind", "form", "evaluation",
                    "methods", "term_start", "term_end", "response_deadline", "status", "round",
                    "region.id", "region.name"]
    show_columns = list_columns + ["subject", "demand", "open_reason", "shortlist_cap", "discount_tiers",
                                   "discount_tiers_label", "volume_discounts",
                                   "performance_area", "performance_requirements", "payment_terms",
                                   "contract_template", "lab_instruments", "confirmed_on", "signed_on",
                                   "published_on", "eligible_regions.id", "eligible_regions.name"]
    add_columns = ["name", "collector", "kind", "form", "open_reason", "subject", "demand", "evaluation",
                   "lab_instruments", "methods", "shortlist_cap", "discount_tiers", "volume_discounts",
                   "performance_area", "performance_requirements", "payment_terms", "contract_template",
                   "term_start", "term_end",
                   "response_deadline", "eligible_regions", "eligible_purchasers", "region"]
    edit_columns = add_columns[:-1]
    optional_on_add = ["collector", "region"]
    label_columns = AG_LABELS

    @expose("/<int:pk>/report", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def report(self, pk: int):
        """Usage per supplier and purchaser, savings against the ceiling, the ledger
        ---
        get:
          responses:
            200:
              description: the report
        """
        def run():
            ag = _visible(FaAgreement, pk)
            rep = fs.reports.agreement_report(db.session, ag)
            return self.response(200, result=_jsonable(rep))

        return self._erp_answer(run)

    @expose("/<int:pk>/report.xlsx", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def report_xlsx(self, pk: int):
        """The report as an Excel workbook
        ---
        get:
          responses:
            200:
              description: xlsx
        """
        def run():
            ag = _visible(FaAgreement, pk)
            return send_xlsx(fs.reports.report_xlsx(db.session, ag), f"框架协议报表-{ag.number}")

        return self._erp_answer(run)


def _visible(model: Any, pk: int) -> Any:
    obj = db.session.get(model, pk)
    if obj is None:
        raise NotFoundError()
    return obj


def _jsonable(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


class FaItemApi(ErpModelRestApi):
    title = "征集品目"
    resource_name = "fa_item"
    datamodel = SQLAInterface(FaItem)
    class_permission_name = "FaItem"
    rules = fs.ITEM
    list_columns = ["id", "agreement_id", "seq", "name", "spec", "unit", "ceiling_price",
                    "est_quantity", "max_quantity", "category.id", "category.name", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["agreement", "seq", "category", "name", "spec", "unit", "ceiling_price", "est_quantity",
                   "max_quantity", "region"]
    edit_columns = add_columns[:-1]
    label_columns = {"agreement": "框架协议", "agreement_id": "框架协议", "seq": "序号", "category": "商品分类", "name": "品目名称",
                     "spec": "技术规格", "unit": "计量单位", "ceiling_price": "最高限制单价",
                     "est_quantity": "预估采购数量", "max_quantity": "单个供应商供货上限", "region": "所在地区"}


class _ReadApi(ErpModelRestApi):
    include_route_methods = {"get", "get_list", "info", "transition"}


class FaResponseApi(_ReadApi):
    title = "响应文件"
    resource_name = "fa_response"
    datamodel = SQLAInterface(FaResponse)
    class_permission_name = "FaResponse"
    record_actions = RESPONSE_ACTIONS
    list_columns = ["id", "agreement_id", "supplier.id", "supplier.name", "round", "status",
                    "evaluated_price", "score", "rank", "submitted_at", "note", "region.id", "region.name"]
    show_columns = list_columns
    label_columns = {"agreement_id": "框架协议", "agreement_label": "框架协议", "supplier": "供应商", "round": "轮次", "status": "状态",
                     "evaluated_price": "评审价格", "score": "得分", "rank": "排名", "submitted_at": "提交时间",
                     "note": "说明", "region": "所在地区"}


class FaMemberApi(_ReadApi):
    title = "入围供应商"
    resource_name = "fa_member"
    datamodel = SQLAInterface(FaMember)
    class_permission_name = "FaMember"
    record_actions = MEMBER_ACTIONS
    list_columns = ["id", "agreement_id", "supplier.id", "supplier.name", "rank",
                    "rotation_position", "status", "joined_on", "left_on", "removal_cause", "region.id",
                    "region.name"]
    show_columns = list_columns + ["left_note"]
    label_columns = {"agreement_id": "框架协议", "agreement_label": "框架协议", "supplier": "供应商", "rank": "排名", "rotation_position": "轮候次序",
                     "status": "状态", "joined_on": "入围日期", "left_on": "退出/清退日期",
                     "removal_cause": "清退理由", "left_note": "说明", "region": "所在地区"}


class FaLineApi(_ReadApi):
    title = "协议台账"
    resource_name = "fa_line"
    datamodel = SQLAInterface(FaLine)
    class_permission_name = "FaLine"
    list_columns = ["id", "agreement_id", "item_id", "supplier.id",
                    "supplier.name", "listing_id", "agreement_price", "ceiling_price", "cap_quantity",
                    "ordered_quantity", "ordered_amount", "remaining_quantity", "active", "region.id", "region.name"]
    show_columns = list_columns
    label_columns = {"agreement_id": "框架协议", "item_id": "品目", "supplier": "入围供应商", "listing_id": "电子卖场商品",
                     "agreement_price": "协议价格", "ceiling_price": "最高限制单价", "cap_quantity": "供货上限",
                     "ordered_quantity": "已下单数量", "ordered_amount": "已下单金额",
                     "remaining_quantity": "剩余数量", "active": "有效", "region": "所在地区"}


class DirectSchema(Schema):
    agreement = fields.Integer(required=True, strict=True, error_messages={"required": "请选择框架协议"})
    line = fields.Integer(required=True, strict=True, error_messages={"required": "请选择入围产品"})
    quantity = fields.Integer(required=True, strict=True, error_messages={"required": "请填写采购数量"})
    unit_price = fields.String(load_default=None, allow_none=True)
    delivery_address = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=255))
    note = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000))


class CompetitionSchema(Schema):
    agreement = fields.Integer(required=True, strict=True, error_messages={"required": "请选择框架协议"})
    item = fields.Integer(required=True, strict=True, error_messages={"required": "请选择品目"})
    quantity = fields.Integer(required=True, strict=True, error_messages={"required": "请填写采购数量"})
    invited = fields.List(fields.Integer(strict=True), required=True,
                          error_messages={"required": "请选择邀请的入围供应商"})
    deadline = fields.DateTime(required=True, error_messages={"required": "请填写报价截止时间",
                                                              "invalid": "请填写日期时间，如 2027-01-31T17:00:00"})
    note = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000))


class RotationSchema(Schema):
    agreement = fields.Integer(required=True, strict=True, error_messages={"required": "请选择框架协议"})
    item = fields.Integer(required=True, strict=True, error_messages={"required": "请选择品目"})
    quantity = fields.Integer(required=True, strict=True, error_messages={"required": "请填写采购数量"})
    delivery_address = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=255))
    note = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000))


def calloff_dict(c: FaCallOff) -> dict[str, Any]:
    return {"id": c.id, "number": c.number, "method": c.method, "method_label": METHODS[c.method],
            "status": c.status, "quantity": c.quantity, "supplier_id": c.supplier_id, "line_id": c.line_id,
            "agreement_price": str(c.agreement_price) if c.agreement_price is not None else None,
            "discount_percent": str(c.discount_percent) if c.discount_percent is not None else None,
            "unit_price": str(c.unit_price) if c.unit_price is not None else None,
            "amount": str(c.amount) if c.amount is not None else None, "order_id": c.order_id,
            "bid_deadline": c.bid_deadline.isoformat() if c.bid_deadline else None}


def _user_id() -> int | None:
    from core.security import current_erp_user

    user = current_erp_user()
    return user.id if user is not None else None


class FaCallOffApi(_ReadApi):
    title = "框架协议采购（第二阶段）"
    resource_name = "fa_calloff"
    datamodel = SQLAInterface(FaCallOff)
    class_permission_name = "FaCallOff"
    include_route_methods = {"get", "get_list", "info", "transition", "direct", "competition", "rotation"}
    record_actions = CALLOFF_ACTIONS
    list_columns = ["id", "number", "agreement_id", "agreement_name", "item_id", "item_name", "purchaser.id",
                    "purchaser.name", "method", "quantity", "status", "supplier.id", "supplier.name", "agreement_price",
                    "discount_percent", "unit_price", "amount", "order_id", "bid_deadline", "rotation_cycle", "awarded_on", "region.id", "region.name"]
    show_columns = list_columns
    label_columns = {"number": "采购编号", "agreement_id": "框架协议", "agreement_name": "框架协议名称",
                     "item_id": "品目", "item_name": "品目名称", "purchaser": "采购人",
                     "method": "成交方式", "quantity": "数量", "status": "状态", "supplier": "成交供应商",
                     "agreement_price": "协议价格", "discount_percent": "量大优惠（%）",
                     "unit_price": "成交单价", "amount": "成交金额", "order_id": "电子卖场订单",
                     "bid_deadline": "报价截止时间", "rotation_cycle": "轮候轮次", "awarded_on": "成交日期",
                     "region": "所在地区"}

    def _run(self, schema: type[Schema], call: Any):
        def run():
            body = schema().load(json_object_body())
            c = call(body)
            db.session.commit()
            return self.response(201, result=calloff_dict(c), id=c.id)

        return self._erp_answer(run)

    @expose("/direct", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def direct(self):
        """直接选定: buy a shortlisted product at or below its agreement price
        ---
        post:
          responses:
            201:
              description: the call-off and its e-mall order
            409:
              $ref: '#/components/responses/409'
            422:
              $ref: '#/components/responses/422'
        """
        return self._run(DirectSchema, lambda b: fs.direct_select(
            db.session, b["agreement"], b["line"], b["quantity"], unit_price=b["unit_price"],
            user_id=_user_id(), delivery_address=b["delivery_address"], note=b["note"], scope=current_scope()))

    @expose("/competition", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def competition(self):
        """二次竞价: invite every eligible shortlisted supplier
        ---
        post:
          responses:
            201:
              description: the call-off in competition
            422:
              $ref: '#/components/responses/422'
        """
        return self._run(CompetitionSchema, lambda b: fs.start_competition(
            db.session, b["agreement"], b["item"], b["quantity"], b["invited"], b["deadline"].replace(tzinfo=None),
            note=b["note"], scope=current_scope()))

    @expose("/rotation", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def rotation(self):
        """顺序轮候: the next supplier in the published order
        ---
        post:
          responses:
            201:
              description: the call-off and its e-mall order
            409:
              $ref: '#/components/responses/409'
        """
        return self._run(RotationSchema, lambda b: fs.rotate(
            db.session, b["agreement"], b["item"], b["quantity"], user_id=_user_id(),
            delivery_address=b["delivery_address"], note=b["note"], scope=current_scope()))


class OutsideSchema(Schema):
    line = fields.Integer(required=True, strict=True, error_messages={"required": "请选择入围产品（协议明细）",
                                                                      "invalid": "请选择入围产品（协议明细）"})
    outside_supplier = fields.String(required=True, error_messages={"required": "请填写协议外供应商",
                                                                    "invalid": "协议外供应商应为文字"})
    outside_price = fields.String(required=True, error_messages={
        "required": "请填写协议外单价", "invalid": "协议外单价请以文字填写金额，如 \"4300.00\""})
    quantity = fields.Integer(required=True, strict=True, error_messages={"required": "请填写采购数量",
                                                                          "invalid": "采购数量应为正整数"})
    purchase_date = fields.String(required=True, error_messages={"required": "请填写采购日期",
                                                                 "invalid": "请填写采购日期，如 2026-12-04"})
    proof = fields.String(required=True, validate=mv.Length(max=4000),
                          error_messages={"required": "请提供更低价格的证明材料", "invalid": "证明材料应为文字"})
    refusal = fields.String(required=True, validate=mv.Length(max=2000),
                            error_messages={"required": "请记录入围供应商拒绝按该价格成交的情况",
                                            "invalid": "拒绝跟价情况应为文字"})


OUTSIDE_LABELS = {"agreement_id": "框架协议", "agreement_name": "框架协议名称", "line_id": "协议明细",
                  "item_name": "品目", "shortlisted_name": "入围供应商", "purchaser": "采购人",
                  "agreement_price": "协议价格", "outside_supplier": "协议外供应商", "outside_price": "协议外单价",
                  "quantity": "数量", "amount": "协议外采购金额", "proof": "更低价格证明",
                  "refusal": "入围供应商拒绝跟价情况", "purchase_date": "采购日期", "due_date": "报告期限",
                  "reported_on": "报告日期", "late": "逾期报告", "region": "所在地区"}


def outside_dict(o: FaOutside) -> dict[str, Any]:
    return {"id": o.id, "agreement_id": o.agreement_id, "line_id": o.line_id, "outside_supplier": o.outside_supplier,
            "outside_price": str(o.outside_price), "agreement_price": str(o.agreement_price),
            "quantity": o.quantity, "amount": str(o.amount), "purchase_date": o.purchase_date.isoformat(),
            "due_date": o.due_date.isoformat(), "reported_on": o.reported_on.isoformat(), "late": o.late}


class FaOutsideApi(_ReadApi):
    title = "协议外采购报告"
    resource_name = "fa_outside"
    datamodel = SQLAInterface(FaOutside)
    class_permission_name = "FaOutside"
    include_route_methods = {"get", "get_list", "info", "report"}
    list_columns = ["id", "agreement_id", "agreement_name", "line_id", "item_name", "shortlisted_name",
                    "purchaser.id", "purchaser.name", "agreement_price", "outside_supplier", "outside_price",
                    "quantity", "amount", "purchase_date", "due_date", "reported_on", "late", "region.id",
                    "region.name"]
    show_columns = list_columns + ["proof", "refusal"]
    label_columns = OUTSIDE_LABELS

    @expose("/report", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def report(self):
        """协议外采购报告: a lower price the shortlisted supplier refused to match (110号令)
        ---
        post:
          responses:
            201:
              description: the report (late when after 1 working day)
            403:
              $ref: '#/components/responses/403'
            409:
              $ref: '#/components/responses/409'
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            b = OutsideSchema().load(json_object_body())
            o = fs.report_outside(db.session, b["line"], outside_supplier=b["outside_supplier"],
                                  outside_price=b["outside_price"], quantity=b["quantity"],
                                  purchase_date=b["purchase_date"], proof=b["proof"], refusal=b["refusal"],
                                  scope=current_scope())
            db.session.commit()
            return self.response(201, result=outside_dict(o), id=o.id)

        return self._erp_answer(run)


class FaNoticeApi(_ReadApi):
    title = "框架协议公告"
    resource_name = "fa_notice"
    datamodel = SQLAInterface(FaNotice)
    class_permission_name = "FaNotice"
    record_actions = NOTICE_ACTIONS
    list_columns = ["id", "agreement_id", "kind", "title", "event_date", "due_date", "status",
                    "published_on", "hub_link", "region.id", "region.name"]
    show_columns = list_columns + ["body"]
    label_columns = {"agreement_id": "框架协议", "kind": "公告类型", "title": "标题", "body": "正文",
                     "event_date": "事项日期", "due_date": "发布期限", "status": "状态", "published_on": "发布日期",
                     "hub_link": "公告模块链接", "region": "所在地区"}


class FaAvailableApi(ErpBaseApi):
    """What a purchaser may buy: agreements in force that name it or its region."""

    resource_name = "fa_available"
    class_permission_name = "FaCallOff"
    allow_browser_login = True
    openapi_spec_tag = "Framework agreements"

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def available(self):
        """Agreements and shortlisted products the user's unit may call off
        ---
        get:
          responses:
            200:
              description: agreements with their lines
        """
        return self._erp_answer(lambda: self.response(200, result=_jsonable(
            fs.calloffs.available(db.session, current_scope()))))


APIS = (FaAgreementApi, FaItemApi, FaResponseApi, FaMemberApi, FaLineApi, FaCallOffApi, FaNoticeApi, FaOutsideApi,
        FaAvailableApi)


def register(appbuilder) -> None:
    for api in APIS:
        appbuilder.add_api(api)
