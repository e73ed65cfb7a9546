"""The pages of framework agreements (menu 框架协议采购): agreements and their items for the
collecting party, responses and shortlist, the ledger, second-stage purchases, notices."""

from __future__ import annotations

from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup

from core.views.base import ErpModelView, labelled, money_text

from . import services as fs
from .actions import (
    AGREEMENT_ACTIONS,
    CALLOFF_ACTIONS,
    MEMBER_ACTIONS,
    NOTICE_ACTIONS,
    RESPONSE_ACTIONS,
)
from .api import (
    AG_LABELS,
    OUTSIDE_LABELS,
    FaCallOffApi,
    FaLineApi,
    FaMemberApi,
    FaNoticeApi,
    FaResponseApi,
)
from .models import (
    AGREEMENT_STATES,
    CALLOFF_STATES,
    EVALUATIONS,
    FORMS,
    KINDS,
    MEMBER_STATES,
    METHODS,
    NOTICE_STATES,
    REMOVAL_CAUSES,
    RESPONSE_STATES,
    FaAgreement,
    FaCallOff,
    FaItem,
    FaLine,
    FaMember,
    FaNotice,
    FaOutside,
    FaResponse,
)
from .services.discounts import pct_text
from .services.notices import kind_label

CATEGORY = "框架协议采购"


def _methods(value: str) -> str:
    return "、".join(METHODS.get(m, m) for m in (value or "").split(",") if m) or "—"


class FaAgreementView(ErpModelView):
    datamodel = SQLAInterface(FaAgreement)
    class_permission_name = "FaAgreement"
    rules = fs.AGREEMENT
    record_actions = AGREEMENT_ACTIONS
    list_title = show_title = "框架协议"
    add_title = "新建框架协议征集"
    edit_title = "修改框架协议征集"
    list_columns = ["number", "name", "collector", "kind", "form", "methods", "term_end", "status"]
    show_columns = ["number", "name", "collector", "kind", "form", "open_reason", "subject", "demand", "evaluation",
                    "methods", "shortlist_cap", "term_start", "term_end", "response_deadline", "eligible_regions",
                    "eligible_purchasers", "performance_area", "performance_requirements", "payment_terms",
                    "discount_tiers_label", "volume_discounts", "status", "round", "published_on", "confirmed_on", "signed_on", "region"]
    add_columns = ["name", "collector", "kind", "form", "open_reason", "subject", "demand", "evaluation",
                   "lab_instruments", "methods", "shortlist_cap", "term_start", "term_end", "response_deadline",
                   "eligible_regions", "eligible_purchasers", "performance_area", "performance_requirements",
                   "payment_terms", "discount_tiers", "volume_discounts", "contract_template"]
    edit_columns = add_columns
    search_columns = ["number", "name", "status"]
    label_columns = AG_LABELS
    description_columns = {"methods": "填写 direct（直接选定）、competition（二次竞价）、rotation（顺序轮候），以逗号分隔",
                           "kind": "goods（货物）或 services（服务）", "form": "closed（封闭式）或 open（开放式）",
                           "evaluation": "price（价格优先）或 quality（质量优先）",
                           "discount_tiers": "按单次采购数量在协议价格基础上优惠：填写“起订数量:优惠百分比”，"
                                             "多档以逗号分隔、数量从小到大，例如 10:2, 50:5（10 台及以上优惠 2%，"
                                             "50 台及以上优惠 5%）；优惠百分比 0 至 50，最多两位小数",
                           "volume_discounts": "其他说明（文字，不参与计算）"}
    formatters_columns = {"kind": labelled(KINDS), "form": labelled(FORMS), "evaluation": labelled(EVALUATIONS),
                          "status": labelled(AGREEMENT_STATES), "methods": _methods}


class FaItemView(ErpModelView):
    datamodel = SQLAInterface(FaItem)
    class_permission_name = "FaItem"
    rules = fs.ITEM
    list_title = show_title = "征集品目"
    add_title = "新增品目"
    edit_title = "修改品目"
    list_columns = ["agreement_label", "seq", "name", "unit", "ceiling_price", "est_quantity", "max_quantity"]
    show_columns = list_columns + ["category", "spec"]
    add_columns = ["agreement", "seq", "category", "name", "spec", "unit", "ceiling_price", "est_quantity",
                   "max_quantity"]
    edit_columns = add_columns
    label_columns = {"agreement": "框架协议", "agreement_label": "框架协议", "seq": "序号", "category": "商品分类",
                     "name": "品目名称",
                     "spec": "技术规格", "unit": "计量单位", "ceiling_price": "最高限制单价（元）",
                     "est_quantity": "预估采购数量", "max_quantity": "单个供应商供货上限"}
    formatters_columns = {"ceiling_price": money_text}


class _ReadView(ErpModelView):
    base_permissions = ["can_list", "can_show"]


class FaResponseView(_ReadView):
    datamodel = SQLAInterface(FaResponse)
    class_permission_name = "FaResponse"
    record_actions = RESPONSE_ACTIONS
    list_title = show_title = "响应文件"
    list_columns = ["agreement_label", "supplier", "round", "evaluated_price", "rank", "status"]
    show_columns = list_columns + ["score", "submitted_at", "note"]
    label_columns = FaResponseApi.label_columns
    formatters_columns = {"evaluated_price": money_text, "status": labelled(RESPONSE_STATES)}


class FaMemberView(_ReadView):
    datamodel = SQLAInterface(FaMember)
    class_permission_name = "FaMember"
    record_actions = MEMBER_ACTIONS
    list_title = show_title = "入围供应商"
    list_columns = ["agreement_label", "supplier", "rank", "rotation_position", "status"]
    show_columns = list_columns + ["joined_on", "left_on", "removal_cause", "left_note"]
    label_columns = FaMemberApi.label_columns
    formatters_columns = {"status": labelled(MEMBER_STATES), "removal_cause": labelled(REMOVAL_CAUSES)}


class FaLineView(_ReadView):
    datamodel = SQLAInterface(FaLine)
    class_permission_name = "FaLine"
    list_title = show_title = "协议台账"
    list_columns = ["agreement_label", "item_label", "supplier", "agreement_price", "cap_quantity", "ordered_quantity",
                    "ordered_amount", "remaining_quantity"]
    show_columns = list_columns + ["ceiling_price", "active"]
    label_columns = {**FaLineApi.label_columns, "agreement_label": "框架协议", "item_label": "品目"}
    formatters_columns = {"agreement_price": money_text, "ordered_amount": money_text, "ceiling_price": money_text,
                          "active": lambda v: "是" if v else "否"}


class FaCallOffView(_ReadView):
    datamodel = SQLAInterface(FaCallOff)
    class_permission_name = "FaCallOff"
    record_actions = CALLOFF_ACTIONS
    list_title = show_title = "第二阶段采购"
    list_columns = ["number", "agreement_name", "purchaser", "method", "quantity", "supplier", "amount", "status"]
    show_columns = list_columns + ["item_name", "agreement_price", "discount_percent", "unit_price", "order_id", "bid_deadline", "rotation_cycle",
                                   "awarded_on"]
    label_columns = FaCallOffApi.label_columns
    formatters_columns = {"method": labelled(METHODS), "status": labelled(CALLOFF_STATES), "amount": money_text,
                          "unit_price": money_text, "agreement_price": money_text, "discount_percent": pct_text}


class FaNoticeView(_ReadView):
    datamodel = SQLAInterface(FaNotice)
    class_permission_name = "FaNotice"
    record_actions = NOTICE_ACTIONS
    list_title = show_title = "框架协议公告"
    list_columns = ["title", "kind", "event_date", "due_date", "status", "published_on"]
    show_columns = ["title", "kind", "body", "event_date", "due_date", "status", "published_on"]
    label_columns = FaNoticeApi.label_columns
    formatters_columns = {"kind": kind_label, "status": labelled(NOTICE_STATES)}
    base_order = ("due_date", "asc")


def late_text(late: bool) -> Markup:
    """A late report (after 1 working day) in red."""
    if late:
        return Markup('<span class="label label-danger fa-late">逾期报告</span>')
    return Markup('<span class="fa-on-time">按时报告</span>')


class FaOutsideView(_ReadView):
    datamodel = SQLAInterface(FaOutside)
    class_permission_name = "FaOutside"
    list_title = show_title = "协议外采购报告"
    list_columns = ["agreement_name", "item_name", "purchaser", "outside_supplier", "outside_price",
                    "agreement_price", "quantity", "purchase_date", "due_date", "reported_on", "late"]
    show_columns = list_columns + ["shortlisted_name", "amount", "proof", "refusal"]
    label_columns = OUTSIDE_LABELS
    formatters_columns = {"outside_price": money_text, "agreement_price": money_text, "amount": money_text,
                          "late": late_text}
    base_order = ("id", "desc")


def register(appbuilder) -> None:
    appbuilder.add_view(FaAgreementView, "框架协议", category=CATEGORY)
    appbuilder.add_view(FaItemView, "征集品目", category=CATEGORY)
    appbuilder.add_view(FaResponseView, "响应文件", category=CATEGORY)
    appbuilder.add_view(FaMemberView, "入围供应商", category=CATEGORY)
    appbuilder.add_view(FaLineView, "协议台账", category=CATEGORY)
    appbuilder.add_view(FaCallOffView, "第二阶段采购", category=CATEGORY)
    appbuilder.add_view(FaNoticeView, "框架协议公告", category=CATEGORY)
    appbuilder.add_view(FaOutsideView, "协议外采购报告", category=CATEGORY)
    from .pages import FaBuyView, FaReportView, FaRespondView

    appbuilder.add_view(FaBuyView, "采购框架协议产品", category=CATEGORY)
    appbuilder.add_view(FaReportView, "框架协议报表", category=CATEGORY)
    appbuilder.add_view(FaRespondView, "响应框架协议征集", category=CATEGORY)
