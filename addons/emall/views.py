"""Pages of the e-mall (menu 电子卖场), in Simplified Chinese.

Public (no login): 电子卖场首页 /emall/ (search and filters), the product page
/emall/item/<id>, product images /emall/image/<id>.
Logged in: 购物车 /emall/cart/ (purchasers; checkout by the trading rules), 数据看板
/emall/dashboard/ (charts: what row scoping lets the user see), and the management pages:
商品分类, 入驻条件, 供应商入驻, 商品管理, 订单, 网上竞价, 竞价报价, 价格监测. Status
changes are buttons on each record's page; every write goes through :mod:`.services`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from flask import abort, flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from marshmallow import ValidationError
from sqlalchemy import select
from wtforms import BooleanField, SelectField, TextAreaField

from addons.procurement_base.views import PbModelView
from core.db import db
from core.errors import message_text as _message_text
from core.models import Organization
from core.services.charts import bar_chart, line_chart
from core.services.money import fmt_yuan
from core.services.statemachine import TransitionError
from core.tenancy import ScopeViolation, current_scope
from core.views.base import ErpModelView
from core.views.base import labelled as _labelled
from core.views.base import money_text as _money

from . import actions as em_actions
from . import pages as em_pages
from . import rules as emall_rules
from . import search_index, services
from .api import ListingInterface, OwnSupplierFilter, image_folder
from .hooks import order_links, payee_account_hint
from .models import (
    ADMISSION_STATES,
    ALERT_KINDS,
    ALERT_MEASURES,
    ALERT_STATES,
    COMPARISON_STATES,
    LISTING_STATES,
    ORDER_CHANNELS,
    ORDER_STATES,
    PAVILIONS,
    QUOTE_STATES,
    EmallAcceptance,
    EmallAdmission,
    EmallCategory,
    EmallComparison,
    EmallCondition,
    EmallListing,
    EmallListingImage,
    EmallOrder,
    EmallPriceAlert,
    EmallQuote,
    EmallRating,
    EmallSynonym,
)
from .services import search as catalog_search

CATEGORY = "电子卖场"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")
REFUSALS = (TransitionError, ValidationError, ScopeViolation)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1) if value not in (None, "") else ""


def _parse_json_field(item: Any, field: str, label: str) -> None:
    value = getattr(item, field)
    if isinstance(value, str):
        if not value.strip():
            setattr(item, field, None)
            return
        try:
            setattr(item, field, json.loads(value))
        except ValueError:
            raise services.RuleError({field: [f"{label}须为 JSON 格式"]}) from None


def _attrs_display(value: Any) -> str:
    if not value:
        return "—"
    if isinstance(value, dict):
        return "；".join(f"{k}：{v}" for k, v in value.items())
    return "；".join(f"{a.get('label')}（{a.get('key')}，{a.get('type')}）" for a in value if isinstance(a, dict))


def _answers_display(value: Any) -> str:
    """条件响应 in words: each condition by its name, 是/否 for declarations."""
    if not value:
        return "—"
    if not isinstance(value, dict):
        return _attrs_display(value)
    from core.views.display import erp_value

    from .services.admission import document_of

    names = dict(db.session.execute(select(EmallCondition.code, EmallCondition.name)).all())
    return "；".join(f"{names.get(k, k)}：{'已上传文件（见入驻材料）' if document_of(v) else erp_value(v)}"
                    for k, v in value.items())


class EmallView(PbModelView):
    template_folder = TEMPLATE_FOLDER
    show_template = "emall/show.html"
    #: the labels of the record's ``status`` ("当前状态" above its actions, :mod:`.actions`)
    status_labels: ClassVar[dict[str, str] | None] = None
    json_fields: ClassVar[dict[str, str]] = {}

    def _parse_json_fields(self, item: Any) -> None:
        for field, label in self.json_fields.items():
            _parse_json_field(item, field, label)

    def pre_add(self, item: Any) -> None:
        self._parse_json_fields(item)
        super().pre_add(item)

    def pre_update(self, item: Any) -> None:
        self._parse_json_fields(item)
        super().pre_update(item)

    def prefill_form(self, form: Any, pk: Any) -> None:
        for field in self.json_fields:
            if field in form and not isinstance(form[field].data, str):
                form[field].data = _json_text(form[field].data)

    def pre_delete(self, item: Any) -> None:
        from addons.procurement_base.views import DeleteRefused

        raise DeleteRefused("该记录不能删除")

    def _em_extra(self, item: Any) -> dict[str, Any]:
        return {}

    def show_context(self, item: Any) -> dict[str, Any]:
        labels = type(self).status_labels
        status = labels.get(item.status) if labels else None
        return {"erp_status": status, **self._em_extra(item)}


# -- catalog administration ------------------------------------------------------------------------
class CategoryView(EmallView):
    datamodel = SQLAInterface(EmallCategory)
    class_permission_name = "EmallCategory"
    validator = staticmethod(services.validate_category)
    show_template = "appbuilder/general/model/show.html"
    json_fields = {"attributes": "属性模板"}
    list_title = show_title = "商品分类"
    add_title = "新增商品分类"
    edit_title = "修改商品分类"
    list_columns = ["code", "name", "parent", "pavilion", "requires_cold_chain", "sequence", "active"]
    show_columns = ["code", "name", "parent", "pb_catalog", "pavilion", "attributes",
                    "requires_cold_chain", "sequence", "active"]
    add_columns = ["code", "name", "parent", "pb_catalog", "pavilion", "attributes",
                   "requires_cold_chain", "sequence", "active"]
    edit_columns = add_columns
    search_columns = ["code", "name", "parent", "pavilion", "active"]
    order_columns = ["code", "name", "sequence"]
    base_order = ("code", "asc")
    page_size = 50
    label_columns = {"code": "分类编码", "name": "分类名称", "parent": "上级分类",
                     "pb_catalog": "政府采购品目", "pavilion": "行业馆", "attributes": "属性模板",
                     "requires_cold_chain": "须冷链配送", "sequence": "排序", "active": "启用"}
    description_columns = {
        "code": "政府采购品目编码（如 A02010105），可加子编码（如 A02010105-01）",
        "attributes": 'JSON 列表：[{"key": "memory_gb", "label": "内存", "type": "number", '
                      '"unit": "GB", "required": true}]；type 为 text、number、choice（须列 choices）或 bool',
        "pavilion": "留空为通用卖场"}
    formatters_columns = {"pavilion": lambda v: PAVILIONS.get(v, "通用卖场") if v else "通用卖场",
                          "attributes": _attrs_display}
    add_form_extra_fields = edit_form_extra_fields = {
        "attributes": TextAreaField("属性模板"),
        "pavilion": SelectField("行业馆", choices=[("", "通用卖场"), *PAVILIONS.items()],
                                widget=Select2Widget()),
    }

    def _pb_validate(self, item: Any) -> None:
        item.pavilion = item.pavilion or None
        super()._pb_validate(item)


class ConditionView(EmallView):
    datamodel = SQLAInterface(EmallCondition)
    class_permission_name = "EmallCondition"
    validator = staticmethod(services.validate_condition)
    show_template = "appbuilder/general/model/show.html"
    list_title = show_title = "入驻条件"
    add_title = "新增入驻条件"
    edit_title = "修改入驻条件"
    list_columns = ["sequence", "code", "name", "kind", "required", "source", "active"]
    show_columns = ["code", "name", "kind", "description", "source", "required", "sequence", "active"]
    add_columns = show_columns
    edit_columns = show_columns
    base_order = ("sequence", "asc")
    label_columns = {"code": "条件编码", "name": "条件", "kind": "类型", "description": "说明",
                     "source": "依据", "required": "必备", "sequence": "排序", "active": "启用"}
    description_columns = {"name": "全省统一的入驻条件；不得设置注册资本、资产、营业收入、从业人员、利润、"
                                   "纳税额、本地分支机构、指定品牌等负面清单所列门槛"}
    formatters_columns = {"kind": _labelled({"document": "提供材料", "declaration": "承诺声明"})}
    add_form_extra_fields = edit_form_extra_fields = {
        "kind": SelectField("类型", choices=[("declaration", "承诺声明"), ("document", "提供材料")])}


class AdmissionView(em_pages.AdmissionPages, EmallView):
    datamodel = SQLAInterface(EmallAdmission)
    class_permission_name = "EmallAdmission"
    base_permissions = ["can_list", "can_show", "can_transition", "can_apply"]
    list_template = "emall/admission_list.html"
    base_filters = [["id", OwnSupplierFilter, None]]
    record_actions = em_actions.ADMISSION_ACTIONS
    status_labels = ADMISSION_STATES
    list_title = show_title = "供应商入驻"
    list_columns = ["supplier", "status", "applied_at", "decided_at", "suspended_until"]
    show_columns = ["supplier", "status", "categories", "answers", "contact", "phone", "applied_at",
                    "decided_at", "decided_by", "reason", "suspended_until"]
    search_columns = ["supplier", "status"]
    base_order = ("applied_at", "desc")
    label_columns = {"supplier": "供应商", "status": "状态", "answers": "条件响应", "categories": "经营分类",
                     "contact": "联系人", "phone": "联系电话", "applied_at": "申请时间",
                     "decided_at": "审核时间", "decided_by": "审核人", "reason": "理由",
                     "suspended_until": "暂停至"}
    formatters_columns = {"status": _labelled(ADMISSION_STATES), "answers": _answers_display}
    search_form_extra_fields = {"status": SelectField("状态", choices=[("", "全部"), *ADMISSION_STATES.items()])}

    def _em_extra(self, item: EmallAdmission) -> dict[str, Any]:
        return {"em_documents": em_pages.admission_documents(item),
                "em_supplier_rating": services.rating.supplier_rating(db.session, item.supplier_id)}

    def render_template(self, template: str, **kwargs: Any) -> Any:
        kwargs.setdefault("em_can_apply", current_scope().actor == "supplier"
                          and self.appbuilder.sm.has_access("can_apply", self.class_permission_name))
        return super().render_template(template, **kwargs)


class ListingView(em_pages.ListingPages, EmallView):
    datamodel = ListingInterface(EmallListing)
    class_permission_name = "EmallListing"
    base_filters = [["id", OwnSupplierFilter, None]]
    rules = emall_rules.LISTING
    record_actions = em_actions.LISTING_ACTIONS
    status_labels = LISTING_STATES
    json_fields = {"attributes": "商品属性"}
    list_title = show_title = "商品管理"
    add_title = "新增商品"
    edit_title = "修改商品"
    list_columns = ["name", "brand", "model", "category", "supplier", "price", "reference_price",
                    "stock", "status"]
    show_columns = ["supplier", "category", "name", "brand", "model", "description", "attribute_text",
                    "unit", "price", "reference_price", "reference_source", "reference_url", "stock",
                    "cold_chain", "regions", "status", "review_note", "listed_at", "updated_at"]
    add_columns = ["supplier", "category", "name", "brand", "model", "description", "attributes",
                   "unit", "price", "reference_price", "reference_source", "reference_url", "stock",
                   "cold_chain", "exclusive_model", "regions"]
    edit_columns = add_columns
    search_columns = ["name", "brand", "model", "category", "supplier", "status", "price"]
    order_columns = ["name", "price", "stock", "status"]
    base_order = ("id", "desc")
    label_columns = {"supplier": "供应商", "category": "商品分类", "name": "商品名称", "brand": "品牌",
                     "model": "型号", "description": "商品描述", "attributes": "商品属性",
                     "attribute_text": "商品属性", "unit": "单位",
                     "price": "挂网价格（元）", "reference_price": "参考价（元）",
                     "reference_source": "参考价来源", "reference_url": "参考价链接", "stock": "库存",
                     "cold_chain": "冷链配送", "exclusive_model": "专供型号", "regions": "供货地区",
                     "status": "状态", "review_note": "审核意见", "listed_at": "上架时间",
                     "updated_at": "更新时间"}
    description_columns = {"attributes": '按分类的属性模板填写 JSON，如 {"memory_gb": 16, "os": "国产操作系统"}',
                           "reference_price": "厂商官方指导价或主流电商平台同型号最低价；挂网价格不得高于参考价",
                           "exclusive_model": "仅供政府采购、市场上买不到的型号不得挂网"}
    formatters_columns = {"price": _money, "reference_price": _money, "status": _labelled(LISTING_STATES),
                          "attributes": _attrs_display,
                          "reference_source": _labelled(services.REFERENCE_SOURCES)}
    add_form_extra_fields = edit_form_extra_fields = {
        "attributes": TextAreaField("商品属性"),
        "reference_source": SelectField("参考价来源", choices=list(services.REFERENCE_SOURCES.items())),
    }
    add_form_query_rel_fields = {"supplier": [["org_type", FilterEqual, "supplier"]]}
    edit_form_query_rel_fields = add_form_query_rel_fields

    def pre_add(self, item: EmallListing) -> None:
        item.status = "draft"
        super().pre_add(item)

    def _em_extra(self, item: EmallListing) -> dict[str, Any]:
        return {"em_images": em_pages.listing_images(item)}

    def pre_delete(self, item: Any) -> None:
        ErpModelView.pre_delete(self, item)  # the rules object decides, as for the API



class _UnratedFilter(BaseFilter):
    """Orders accepted (or paid) and not yet rated (``?em_todo=unrated``)."""

    name = "待评价"
    arg_name = "em_unrated"

    def apply(self, query: Any, value: Any) -> Any:
        return query.filter(services.rating.unrated())


class OrderView(EmallView):
    datamodel = SQLAInterface(EmallOrder)
    class_permission_name = "EmallOrder"
    base_permissions = ["can_list", "can_show", "can_transition", "can_rate", "can_export"]
    record_actions = em_actions.ORDER_ACTIONS
    status_labels = ORDER_STATES
    export_permission = "EmallOrder"
    list_title = show_title = "电子卖场订单"
    list_columns = ["number", "purchaser", "supplier", "channel", "amount", "status", "placed_at",
                    "payment_due"]
    show_columns = ["number", "purchaser", "supplier", "channel", "source_ref", "amount", "status",
                    "delivery_address", "contact", "phone", "note", "placed_at", "confirmed_at",
                    "shipped_at", "tracking", "delivered_at", "accepted_on", "payment_due", "paid_on",
                    "payment_ref", "cancelled_at", "contract", "region"]
    search_columns = ["number", "purchaser", "supplier", "channel", "status", "region", "amount",
                      "payment_due"]
    order_columns = ["number", "amount", "status", "placed_at", "payment_due"]
    base_order = ("id", "desc")
    list_template = "emall/order_list.html"
    label_columns = {"number": "订单号", "purchaser": "采购人", "supplier": "供应商", "channel": "下单渠道",
                     "source_ref": "来源单据", "amount": "订单金额（元）", "status": "状态",
                     "delivery_address": "收货地址", "contact": "联系人", "phone": "联系电话",
                     "note": "备注", "placed_at": "下单时间", "confirmed_at": "确认时间",
                     "shipped_at": "发货时间", "tracking": "物流单号", "delivered_at": "送达时间",
                     "accepted_on": "验收日期", "payment_due": "付款期限", "paid_on": "付款日期",
                     "payment_ref": "支付凭证号", "cancelled_at": "取消时间", "contract": "采购合同",
                     "region": "所在地区"}
    formatters_columns = {"amount": _money, "status": _labelled(ORDER_STATES),
                          "channel": _labelled(ORDER_CHANNELS)}
    search_form_extra_fields = {"status": SelectField("状态", choices=[("", "全部"), *ORDER_STATES.items()])}

    @expose("/list/")
    @has_access
    def list(self):
        """The list, with the orders unpaid past their 付款期限 in red above it (the
        purchaser's, and what the supplier and the institution reach); ``?em_todo=unrated``
        lists only the orders waiting for a rating (the workbench card 已验收待评价)."""
        self.update_redirect()
        widgets = self._list()
        today = services.today()
        overdue = [(o, services.payment_overdue_days(o, today))
                   for o in services.overdue_payments(db.session, today)]
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    em_overdue=overdue, em_money=fmt_yuan,
                                    em_unrated=request.args.get("em_todo") == "unrated")

    def _get_list_widget(self, filters: Any, **kwargs: Any) -> Any:
        if request.args.get("em_todo") == "unrated":
            filters = filters.copy()
            filters.add_filter("id", _UnratedFilter, None)
        return super()._get_list_widget(filters, **kwargs)

    @expose("/export/")
    @has_access
    @permission_name("export")
    def export(self):
        """The filtered order list (what the user may see) as xlsx."""
        from .services.reports import order_xlsx

        return self.export_xlsx(order_xlsx)

    def _em_extra(self, item: EmallOrder) -> dict[str, Any]:
        acc = db.session.execute(select(EmallAcceptance).where(
            EmallAcceptance.order_id == item.id)).scalar_one_or_none()
        return {"em_lines": item.lines, "em_acceptance": acc, "em_today": services.today().isoformat(),
                "em_overdue_days": services.payment_overdue_days(item),
                "em_money": fmt_yuan, "em_rating": services.rating.rating_of(db.session, item),
                "em_payee_hint": payee_account_hint(db.session, item),
                **({"em_links": links} if (links := order_links(db.session, item, current_scope())) else {})}

class ComparisonView(EmallView):
    datamodel = SQLAInterface(EmallComparison)
    class_permission_name = "EmallComparison"
    base_permissions = ["can_list", "can_show", "can_transition"]
    record_actions = em_actions.COMPARISON_ACTIONS
    status_labels = COMPARISON_STATES
    list_title = show_title = "网上竞价"
    list_columns = ["number", "title", "purchaser", "budget", "quote_deadline", "status"]
    show_columns = ["number", "title", "purchaser", "lines", "budget", "delivery_address",
                    "requirements", "published_at", "quote_deadline", "status", "decision_note",
                    "order_id", "region"]
    search_columns = ["number", "title", "purchaser", "status", "region"]
    base_order = ("id", "desc")
    label_columns = {"number": "竞价编号", "title": "标题", "purchaser": "采购人", "lines": "采购需求",
                     "budget": "最高限价（元）", "delivery_address": "收货地址", "requirements": "其他要求",
                     "published_at": "发布时间", "quote_deadline": "报价截止时间", "status": "状态",
                     "decision_note": "成交说明", "order_id": "订单", "region": "所在地区"}
    formatters_columns = {"budget": _money, "status": _labelled(COMPARISON_STATES),
                          "lines": lambda v: "；".join(f"{x['line']}. {x['name']}（{x['brand']} {x['model']}）×{x['quantity']}，"
                                                      f"限价 {x['ceiling_price']}" for x in v or [])}

    def _em_extra(self, item: EmallComparison) -> dict[str, Any]:
        scope = current_scope()
        out: dict[str, Any] = {"em_quote_count": services.comparison.quote_count(db.session, item),
                               "em_sealed": item.status == "open"}
        if (scope.actor == "supplier" and item.status == "open"
                and self.appbuilder.sm.has_access("can_post", "EmallQuote")
                and services.comparison.qualified_for(db.session, item, scope.org_id) is None):
            quoted = db.session.execute(select(EmallQuote.id).where(
                EmallQuote.comparison_id == item.id, EmallQuote.supplier_id == scope.org_id)).first()
            out["em_quote_url"] = url_for("QuoteView.quote", comparison_id=item.id)
            out["em_quote_label"] = "修改报价" if quoted else "报价"
        return out

class QuoteView(em_pages.QuotePages, EmallView):
    datamodel = SQLAInterface(EmallQuote)
    class_permission_name = "EmallQuote"
    base_permissions = ["can_list", "can_show", "can_post"]
    show_template = "appbuilder/general/model/show.html"
    list_title = show_title = "竞价报价"
    list_columns = ["comparison", "supplier", "total", "status", "submitted_at"]
    show_columns = ["comparison", "supplier", "lines", "total", "note", "status", "submitted_at"]
    search_columns = ["comparison", "supplier", "status"]
    base_order = ("id", "desc")
    label_columns = {"comparison": "竞价", "supplier": "供应商", "lines": "报价明细", "total": "报价总额（元）",
                     "note": "说明", "status": "状态", "submitted_at": "报价时间"}
    formatters_columns = {"total": _money, "status": _labelled(QUOTE_STATES),
                          "lines": lambda v: "；".join(f"第{x['line']}行 商品{x.get('listing_id') or '—'} 单价 {x['unit_price']}"
                                                      for x in v or [])}


class PriceAlertView(EmallView):
    datamodel = SQLAInterface(EmallPriceAlert)
    class_permission_name = "EmallPriceAlert"
    base_permissions = ["can_list", "can_show", "can_review", "can_scan"]
    record_actions = em_actions.ALERT_ACTIONS
    status_labels = ALERT_STATES
    list_template = "emall/alert_list.html"
    list_title = show_title = "价格监测"
    list_columns = ["kind", "listing", "category", "supplier", "price", "median_price", "score", "status",
                    "detected_at"]
    show_columns = ["kind", "listing", "category", "supplier", "price", "reference_price", "median_price",
                    "score", "detail", "status", "measure", "correct_by", "detected_at", "reviewed_at",
                    "reviewed_by", "review_note"]
    search_columns = ["kind", "status", "category", "supplier"]
    base_order = ("id", "desc")
    label_columns = {"kind": "类型", "listing": "商品", "category": "分类", "supplier": "供应商",
                     "price": "价格（元）", "reference_price": "参考价（元）", "median_price": "同类中位数（元）",
                     "score": "稳健 Z 分数", "detail": "说明", "status": "状态", "detected_at": "发现时间",
                     "reviewed_at": "复核时间", "reviewed_by": "复核人", "review_note": "复核意见",
                     "measure": "处理措施", "correct_by": "改价截止日期"}
    formatters_columns = {"price": _money, "reference_price": _money, "median_price": _money,
                          "kind": _labelled(ALERT_KINDS), "status": _labelled(ALERT_STATES),
                          "measure": _labelled(ALERT_MEASURES)}
    search_form_extra_fields = {"status": SelectField("状态", choices=[("", "全部"), *ALERT_STATES.items()])}

    def _em_extra(self, item: EmallPriceAlert) -> dict[str, Any]:
        return {"em_links": [("查看商品", url_for("ListingView.show", pk=item.listing_id))]}

    @expose("/scan/", methods=["POST"])
    @has_access
    @permission_name("scan")
    def scan(self):
        added = services.scan_prices(db.session)
        db.session.commit()
        flash(f"价格监测完成：新增高于参考价 {added['above_reference']} 条、成交价异常 {added['order_outlier']} 条",
              "success")
        return redirect(url_for("PriceAlertView.list"))


# -- public catalog, cart, dashboard -------------------------------------------------------------------
class EmallPublicView(BaseView):
    """电子卖场首页 and product pages: anonymous."""

    route_base = "/emall"
    template_folder = TEMPLATE_FOLDER
    default_view = "index"

    @expose("/")
    def index(self):
        errors: dict[str, list[str]] = {}
        try:
            parsed = catalog_search.parse_args(db.session, request.args, page_base=1)
        except ValidationError as exc:
            errors = exc.messages if isinstance(exc.messages, dict) else {"_": list(exc.messages)}
            parsed = None
        if parsed is None:
            result = catalog_search.CatalogPage(0, [], {"categories": [], "price_bands": []}, False, [], 0, 20)
        else:
            result = catalog_search.catalog_page(db.session, parsed,
                                               prefer_region_id=catalog_search.purchaser_region(current_scope()))
        pav = request.args.get("pavilion")
        pav = pav if pav in PAVILIONS or pav == "general" else None
        tree = services.category_tree(db.session, "*" if not pav else (None if pav == "general" else pav))
        args = request.args.to_dict()

        def url_with(**changes: Any) -> str:
            merged = {**args, **{k: v for k, v in changes.items()}}
            merged = {k: v for k, v in merged.items() if v not in (None, "")}
            return url_for("EmallPublicView.index", **merged)

        mine = catalog_search.purchaser_region(current_scope())
        html = self.render_template("emall/catalog.html", rows=result.rows, total=result.count, tree=tree,
                                    args=request.args, page=result.page, pages=result.pages, result=result,
                                    errors=errors, url_with=url_with, sorts=catalog_search.SORT_LABELS,
                                    fmt=fmt_yuan, pavilions=PAVILIONS, regions=em_pages.region_choices(),
                                    delivery=em_pages.delivery_info([x.id for x in result.rows], mine))
        return (html, 400) if errors else html

    @expose("/item/<int:pk>")
    def item(self, pk: int):
        x = services.public_listing(db.session, pk) if pk < 2**31 else None
        if x is None:
            abort(404)
        scope = current_scope()
        mine = catalog_search.purchaser_region(scope)
        return self.render_template("emall/product.html", x=services.listing_dict(x, detail=True),
                                    fmt=fmt_yuan, delivery=em_pages.delivery_info([x.id], mine)[x.id],
                                    pavilion=em_pages.pavilion_page(x.pavilion),
                                    may_buy=scope.actor == "purchaser"
                                    and self.appbuilder.sm.has_access("can_access", "EmallCartPage"))

    @expose("/image/<int:image_id>")
    def image(self, image_id: int):
        img = db.session.get(EmallListingImage, image_id) if image_id < 2**31 else None
        if img is None:
            abort(404)
        path = image_folder() / img.path
        if not path.is_file():
            abort(404)
        return send_file(path, mimetype=img.content_type, max_age=86400)


class EmallCartView(BaseView):
    """购物车 and checkout (purchasers)."""

    route_base = "/emall/cart"
    template_folder = TEMPLATE_FOLDER
    class_permission_name = "EmallCartPage"
    default_view = "cart"

    def _uid(self) -> int:
        from .api import _user_id

        return _user_id()

    @expose("/")
    @has_access
    @permission_name("access")
    def cart(self):
        lines = services.cart_lines(db.session, self._uid())
        total = sum((c.listing.price * c.quantity for c in lines), services.ZERO)
        scope = current_scope()
        region = scope.region_id
        band = services.trading_band(db.session, total, region) if lines else None
        limits = (services.settings.get("emall.direct_purchase_limit", region, session=db.session),
                  services.settings.get("emall.comparison_upper_limit", region, session=db.session))
        earliest = services.quote_deadline(db.session, region) if band == "comparison" else None
        unit = db.session.get(Organization, scope.org_id) if scope.org_id else None
        address = services.unit_address(db.session, unit) if unit is not None else ""
        return self.render_template("emall/cart.html", lines=lines, total=total, band=band,
                                    limits=limits, fmt=fmt_yuan, earliest=earliest,
                                    unit_address=address)

    @expose("/add/<int:listing_id>", methods=["POST"])
    @has_access
    @permission_name("access")
    def add(self, listing_id: int):
        try:
            qty = int(request.form.get("quantity") or 1)
            services.cart_add(db.session, self._uid(), listing_id, qty)
            db.session.commit()
            flash("已加入购物车", "success")
        except (*REFUSALS, ValueError) as exc:
            db.session.rollback()
            flash(_message_text(exc) if not isinstance(exc, ValueError) else "数量须为正整数", "danger")
        return redirect(url_for("EmallCartView.cart"))

    @expose("/remove/<int:line_id>", methods=["POST"])
    @has_access
    @permission_name("access")
    def remove(self, line_id: int):
        from .models import EmallCartLine

        line = db.session.get(EmallCartLine, line_id)
        if line is not None and line.user_id == self._uid():
            db.session.delete(line)
            db.session.commit()
        return redirect(url_for("EmallCartView.cart"))

    @expose("/checkout", methods=["POST"])
    @has_access
    @permission_name("access")
    def checkout(self):
        f = request.form
        try:
            deadline = None
            if f.get("quote_deadline"):
                try:
                    deadline = services.dt.datetime.fromisoformat(f["quote_deadline"])
                except ValueError:
                    raise services.RuleError({"quote_deadline": ["报价截止时间格式不正确"]}) from None
            res = services.checkout(db.session, self._uid(), delivery_address=f.get("delivery_address"),
                                    contact=f.get("contact"), phone=f.get("phone"), note=f.get("note"),
                                    title=f.get("title"), requirements=f.get("requirements"),
                                    deadline=deadline)
            db.session.commit()
        except REFUSALS as exc:
            db.session.rollback()
            flash(_message_text(exc), "danger")
            return redirect(url_for("EmallCartView.cart"))
        if res["mode"] == "comparison":
            flash(f"金额 {fmt_yuan(res['amount'])} 超过直购限额，已发布网上竞价 {res['comparison'].number}，"
                  f"报价截止 {res['comparison'].quote_deadline:%Y-%m-%d %H:%M}", "success")
            return redirect(url_for("ComparisonView.show", pk=res["comparison"].id))
        flash(f"已下单：{'、'.join(o.number for o in res['orders'])}（按供应商拆分为 {len(res['orders'])} 个订单）",
              "success")
        return redirect(url_for("OrderView.list"))


class EmallDashboardView(BaseView):
    """数据看板: the charts of the user's own orders (supplier), spend (purchaser), or the
    whole mall in their regions (institution, auditors)."""

    route_base = "/emall/dashboard"
    template_folder = TEMPLATE_FOLDER
    class_permission_name = "EmallDashboardPage"
    default_view = "dashboard"

    @expose("/")
    @has_access
    @permission_name("access")
    def dashboard(self):
        d = services.dashboard(db.session)
        scope = current_scope()
        charts = []
        if d["months"]:
            title = "月度销售额" if scope.actor == "supplier" else ("月度采购额" if scope.actor == "purchaser" else "月度成交额")
            charts.append(bar_chart(d["months"], {"金额": d["turnover"]}, title=title, unit="元"))
            charts.append(line_chart(d["months"], {"订单数": d["orders"]}, title="月度订单数", unit="笔"))
        states = [k for k, v in d["orders_by_status"].items() if v]
        if states:
            charts.append(bar_chart([ORDER_STATES[k] for k in states],
                                    {"订单": [d["orders_by_status"][k] for k in states]},
                                    title="订单状态分布", unit="笔", horizontal=True))
        if d["spend_by_category"]:
            charts.append(bar_chart([n for n, _ in d["spend_by_category"]],
                                    {"金额": [v for _, v in d["spend_by_category"]]},
                                    title="按分类的成交额（前 10）", unit="元", horizontal=True))
        return self.render_template("emall/dashboard.html", d=d, charts=charts, fmt=fmt_yuan,
                                    actor=scope.actor)


class RatingView(EmallView):
    """供应商评价: purchasers' ratings of accepted orders (the institution sees them all in
    its reach, a supplier its own, a purchaser its units')."""

    datamodel = SQLAInterface(EmallRating)
    class_permission_name = "EmallRating"
    base_permissions = ["can_list", "can_show"]
    show_template = "appbuilder/general/model/show.html"
    list_title = show_title = "供应商评价"
    list_columns = ["supplier", "order", "purchaser", "delivery", "quality", "service", "comment", "rated_at"]
    show_columns = list_columns + ["rated_by"]
    search_columns = ["supplier", "purchaser", "delivery", "quality", "service"]
    order_columns = ["rated_at", "delivery", "quality", "service"]
    base_order = ("rated_at", "desc")
    label_columns = {"supplier": "供应商", "order": "订单", "purchaser": "采购人", "delivery": "交货评分",
                     "quality": "质量评分", "service": "服务评分", "comment": "评语", "rated_at": "评价时间",
                     "rated_by": "评价人"}
    formatters_columns = {"rated_at": lambda v: v.strftime("%Y-%m-%d %H:%M") if v else "—"}


class SynonymView(EmallView):
    """同义词 of the catalog search: what purchasers type → the catalog's words."""

    datamodel = SQLAInterface(EmallSynonym)
    class_permission_name = "EmallSynonym"
    validator = staticmethod(search_index.validate_synonym)
    show_template = "appbuilder/general/model/show.html"
    list_title = show_title = "同义词"
    add_title = "新增同义词"
    edit_title = "修改同义词"
    list_columns = ["term", "synonyms", "mutual", "active", "note", "updated_at"]
    show_columns = list_columns
    formatters_columns = {"mutual": lambda v: "是" if v else "否", "active": lambda v: "是" if v else "否",
                          "updated_at": lambda v: v.strftime("%Y-%m-%d %H:%M") if v else "—"}
    add_columns = ["term", "synonyms", "mutual", "active", "note"]
    edit_columns = add_columns
    search_columns = ["term", "synonyms", "mutual", "active"]
    order_columns = ["term", "updated_at"]
    base_order = ("term", "asc")
    page_size = 50
    label_columns = {"term": "词语", "synonyms": "同义词", "mutual": "互为同义", "active": "启用",
                     "note": "备注", "updated_at": "更新时间"}
    description_columns = {
        "term": "采购人搜索时输入的词，如“电脑”“笔记本”“ym”",
        "synonyms": "商品目录中的说法，多个用顿号“、”或逗号分隔，如“计算机、台式计算机”",
        "mutual": "勾选后，同义词之间互相查找（如 打印机 ↔ 打印设备）；不勾选只在搜索“词语”时扩展",
    }
    # checkboxes that may stay unticked (FAB marks non-null booleans as required)
    add_form_extra_fields = edit_form_extra_fields = {
        "mutual": BooleanField("互为同义", default=False,
                               description="勾选后，同义词之间互相查找（如 打印机 ↔ 打印设备）；不勾选只在搜索“词语”时扩展"),
        "active": BooleanField("启用", default=True),
    }

    def pre_delete(self, item: Any) -> None:
        return None


VIEWS = (
    (ListingView, "商品管理", "fa-cube"),
    (OrderView, "电子卖场订单", "fa-shopping-bag"),
    (ComparisonView, "网上竞价", "fa-gavel"),
    (QuoteView, "竞价报价", "fa-tags"),
    (AdmissionView, "供应商入驻", "fa-id-card"),
    (PriceAlertView, "价格监测", "fa-line-chart"),
    (RatingView, "供应商评价", "fa-star"),
    (CategoryView, "商品分类", "fa-sitemap"),
    (ConditionView, "入驻条件", "fa-check-square-o"),
    (SynonymView, "同义词", "fa-exchange"),
)


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(EmallPublicView())
    appbuilder.add_link("电子卖场首页", href="/emall/", icon="fa-shopping-cart", category=CATEGORY,
                        category_icon="fa-shopping-cart")
    appbuilder.add_view(EmallCartView, "购物车", icon="fa-shopping-basket", category=CATEGORY)
    appbuilder.add_view(EmallDashboardView, "数据看板", icon="fa-bar-chart", category=CATEGORY)
    for view, name, icon in VIEWS:
        appbuilder.add_view(view, name, icon=icon, category=CATEGORY)
