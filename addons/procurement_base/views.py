"""Pages of ``procurement_base`` (menu 采购管理): FAB ModelViews with Chinese labels and
search, related views (项目 → 采购包 → 投标；合同 → 付款计划、付款), Excel export of the
project and contract lists (current search filters and the user's scope), status buttons
on the project and contract pages.

Writes go through the service validators; a refused value is shown on its form field and
nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from flask import request
from flask_appbuilder import expose, has_access
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.models.sqla.filters import BaseFilter, FilterEqual, FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from core.errors import ConflictError, message_text
from core.models import ORG_TYPES, SUPPLIER_SIZES, Organization
from core.rules import ModelRules
from core.tenancy import current_scope
from core.views.base import (
    ErpModelView,
    flag_field,
    labelled,
    money_text,
    parse_date,
    region_field,
    select_field,
)

from . import reports, services
from . import rules as pb_rules
from .actions import BID_ACTIONS, CONTRACT_ACTIONS, PROJECT_ACTIONS
from .api import OrgUserScopeFilter
from .models import (
    BID_STATES,
    CONTRACT_STATES,
    METHODS,
    PROJECT_STATES,
    SME_LABELS,
    SME_MEASURES,
    Bid,
    CatalogItem,
    Contract,
    Package,
    Payment,
    PaymentPlan,
    Project,
)
from .rules import PbRules
from .services import contracts as contract_services

CATEGORY = "采购管理"
TEMPLATES = "procurement_base"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")

# the shared display helpers live in core.views.base; these names are kept for modules that
# imported them from here before core had them
_money = money_text
_labelled = labelled
_select = select_field
_flag = flag_field
_region_field = region_field
_parse_date = parse_date
_message_text = message_text


class DeleteRefused(ConflictError):
    """A delete the rules refuse (kept for modules that raise it; raise core.errors)."""

    code = "delete_refused"


class PbModelView(ErpModelView):
    """The module's pages on :class:`core.views.ErpModelView`; ``validator(session, item)``
    (modules not yet on a rules object) with deletes checked by :func:`services.check_delete`."""

    template_folder = TEMPLATE_FOLDER

    @classmethod
    def model_rules(cls) -> ModelRules:
        if cls.rules is None:
            cls.rules = PbRules(getattr(cls, "validator", None))
        return cls.rules

    def _pb_export(self, build: Any):
        return self.export_xlsx(build)

    # modules that override ``_pb_validate`` (normalise a value, then validate) keep working
    def _pb_validate(self, item: Any) -> None:
        self.model_rules().validate(self.datamodel.session, item)

    def pre_add(self, item: Any) -> None:
        if type(self)._pb_validate is not PbModelView._pb_validate:
            self._pb_validate(item)
        else:
            super().pre_add(item)

    def pre_update(self, item: Any) -> None:
        if type(self)._pb_validate is not PbModelView._pb_validate:
            self._pb_validate(item)
        else:
            super().pre_update(item)


# -- catalog ----------------------------------------------------------------------------------
class CatalogView(PbModelView):
    datamodel = SQLAInterface(CatalogItem)
    class_permission_name = "PbCatalog"
    rules = pb_rules.CATALOG
    list_title = show_title = "政府采购品目"
    add_title = "新增品目"
    edit_title = "修改品目"
    list_columns = ["code", "name", "level", "kind", "parent", "active"]
    show_columns = list_columns
    add_columns = ["code", "name", "active"]
    edit_columns = add_columns
    search_columns = ["code", "name", "level", "kind", "parent", "active"]
    order_columns = ["code", "name", "level"]
    base_order = ("code", "asc")
    page_size = 50
    label_columns = {"code": "品目编码", "name": "品目名称", "level": "级次", "kind": "类别",
                     "parent": "上级品目", "active": "启用"}
    description_columns = {"code": "A 货物、B 工程、C 服务，其后每级两位数字（如 A0201）；"
                                   "级次、类别和上级品目由编码确定"}
    formatters_columns = {"kind": _labelled(services.KIND_LABELS)}
    add_form_extra_fields = edit_form_extra_fields = {"active": _flag("启用", True)}
    search_form_extra_fields = {"kind": _select("类别", services.KIND_LABELS, "全部")}


# -- organisations ----------------------------------------------------------------------------
class OrgInScopeFilter(BaseFilter):
    """Organisations of the user's regions (choices of the 单位用户 page)."""

    name = "管辖范围"
    arg_name = None

    def apply(self, query, value):
        scope = current_scope()
        if scope.unrestricted:
            return query
        return query.filter(Organization.region_id.in_(sorted(scope.region_ids or ())))


ORG_LABELS = {
    "name": "单位名称", "credit_code": "统一社会信用代码", "org_type": "单位类型",
    "region": "所在地区", "parent": "上级单位", "size": "企业规模", "address": "地址",
    "contact": "联系人", "phone": "联系电话", "active": "启用",
}


class _OrgView(PbModelView):
    group: ClassVar[str] = ""
    list_columns = ["name", "credit_code", "org_type", "region", "parent", "size", "active"]
    show_columns = ["name", "credit_code", "org_type", "region", "parent", "size", "address",
                    "contact", "phone", "active"]
    add_columns = show_columns
    edit_columns = show_columns
    search_columns = ["name", "credit_code", "org_type", "region", "parent", "size", "active"]
    order_columns = ["name", "credit_code", "org_type", "size"]
    base_order = ("name", "asc")
    label_columns = ORG_LABELS
    formatters_columns = {"org_type": _labelled(ORG_TYPES), "size": _labelled(SUPPLIER_SIZES)}


def _org_view(name: str, group: str, permission: str, title: str, parent_label: str,
              parent_types: tuple[str, ...]) -> type[_OrgView]:
    types = services.ORG_GROUPS[group]
    type_choices = {t: ORG_TYPES[t] for t in types}
    columns = [c for c in _OrgView.show_columns if c != "size" or group == "supplier"]
    extra = {"org_type": _select("单位类型", type_choices), "active": _flag("启用", True)}
    if group == "supplier":
        extra["size"] = _select("企业规模", SUPPLIER_SIZES, "请选择（中小企业声明）")
    rel_query = {"parent": [["org_type", FilterInFunction, lambda t=parent_types: list(t)]]}
    return type(name, (_OrgView,), {
        "__module__": __name__,
        "datamodel": SQLAInterface(Organization),
        "class_permission_name": permission,
        "group": group,
        "rules": pb_rules.ORGANIZATION_GROUPS[group],
        "list_title": title, "show_title": title,
        "add_title": f"新增{title}", "edit_title": f"修改{title}",
        "base_filters": [["org_type", FilterInFunction, lambda t=types: list(t)]],
        "list_columns": [c for c in _OrgView.list_columns if c != "size" or group == "supplier"],
        "show_columns": columns, "add_columns": columns, "edit_columns": columns,
        "add_form_extra_fields": extra, "edit_form_extra_fields": extra,
        "add_form_query_rel_fields": rel_query, "edit_form_query_rel_fields": rel_query,
        "search_form_extra_fields": {"org_type": _select("单位类型", type_choices, "全部")},
        "label_columns": {**ORG_LABELS, "parent": parent_label},
    })


PurchaserView = _org_view("PurchaserView", "purchaser", "PbPurchaser", "采购人单位",
                          "主管预算单位", ("competent_unit",))
AgencyView = _org_view("AgencyView", "agency", "PbAgency", "代理机构", "上级机构",
                       ("agency", "central_procurement"))
SupplierView = _org_view("SupplierView", "supplier", "PbSupplier", "供应商", "总公司",
                         ("supplier",))
BankView = _org_view("BankView", "bank", "PbBank", "银行与保险机构", "上级机构",
                     ("bank", "insurer"))


def _org_user_view() -> type[PbModelView]:
    from core.security import ErpUser

    rel = {
        "organization": [["id", OrgInScopeFilter, None]],
        "roles": [["name", FilterInFunction, lambda: list(services.all_actor_roles())]],
    }

    class OrgUserView(PbModelView):
        """单位用户: the organisation's type decides which roles its users may hold."""

        datamodel = SQLAInterface(ErpUser)
        class_permission_name = "PbOrgUser"
        base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
        exclude_route_methods = {"delete"}
        list_title = show_title = "单位用户"
        add_title = "新增单位用户"
        edit_title = "修改单位用户"
        list_columns = ["username", "first_name", "last_name", "organization", "roles", "active"]
        show_columns = ["username", "first_name", "last_name", "email", "organization", "roles",
                        "active", "last_login"]
        add_columns = ["username", "first_name", "last_name", "email", "organization", "roles",
                       "active", "password", "conf_password"]
        edit_columns = ["first_name", "last_name", "email", "organization", "roles", "active"]
        search_columns = ["username", "first_name", "last_name", "email", "organization", "active"]
        order_columns = ["username", "first_name", "last_name"]
        base_order = ("username", "asc")
        base_filters = [["id", OrgUserScopeFilter, None]]
        rules = pb_rules.ORG_USER
        label_columns = {"username": "用户名", "first_name": "姓", "last_name": "名",
                         "email": "电子邮箱", "organization": "所属单位", "roles": "角色",
                         "active": "启用", "password": "密码", "conf_password": "确认密码",
                         "last_login": "最近登录"}
        description_columns = {"roles": "单位类型决定可选角色：供应商→供应商；银行、保险机构→银行；"
                                        "采购人、主管预算单位→采购人；代理机构、集中采购机构→采购代理机构；"
                                        "财政部门→地区管理员、审计监督；评审专家→评审专家"}
        edit_form_extra_fields = {"active": _flag("启用", True)}
        add_form_extra_fields = {
            "active": _flag("启用", True),
            "password": PasswordField("密码", widget=BS3PasswordFieldWidget(),
                                      validators=[DataRequired("请填写密码"),
                                                  Length(min=8, message="密码至少 8 位")]),
            "conf_password": PasswordField("确认密码", widget=BS3PasswordFieldWidget(),
                                           validators=[EqualTo("password", message="两次输入的密码不一致")]),
        }
        add_form_query_rel_fields = rel
        edit_form_query_rel_fields = rel

    return OrgUserView


OrgUserView = _org_user_view()


# -- projects --------------------------------------------------------------------------------
class PaymentPlanView(PbModelView):
    datamodel = SQLAInterface(PaymentPlan)
    class_permission_name = "PbPaymentPlan"
    rules = pb_rules.PAYMENT_PLAN
    list_title = show_title = "付款计划"
    add_title = "新增付款计划"
    edit_title = "修改付款计划"
    list_columns = ["contract", "seq", "due_date", "amount", "note"]
    show_columns = ["contract", "seq", "due_date", "amount", "note", "region"]
    add_columns = ["contract", "seq", "due_date", "amount", "note"]
    edit_columns = add_columns
    search_columns = ["contract", "seq", "due_date", "amount", "region"]
    base_order = ("id", "asc")
    label_columns = {"contract": "合同", "seq": "期次", "due_date": "计划付款日期",
                     "amount": "计划金额（元）", "note": "说明", "region": "所在地区"}
    formatters_columns = {"amount": _money}
    list_template = f"{TEMPLATES}/plan_list.html"

    @expose("/list/")
    @has_access
    def list(self):
        """The list, with the lines past their date and not covered by payments in red above
        it (the purchaser's own contracts; whatever else the user reaches)."""
        self.update_redirect()
        widgets = self._list()
        overdue = services.overdue_plans(self.datamodel.session)
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    pb_overdue=overdue, pb_money=money_text)


class PaymentView(PbModelView):
    datamodel = SQLAInterface(Payment)
    class_permission_name = "PbPayment"
    rules = pb_rules.PAYMENT
    list_title = show_title = "付款记录"
    add_title = "登记付款"
    edit_title = "修改付款记录"
    list_columns = ["contract", "paid_date", "amount", "reference", "payee_account"]
    show_columns = ["contract", "paid_date", "amount", "reference", "payee_account", "region"]
    add_columns = ["contract", "paid_date", "amount", "reference", "payee_account"]
    edit_columns = add_columns
    search_columns = ["contract", "paid_date", "amount", "reference", "payee_account", "region"]
    base_order = ("paid_date", "desc")
    label_columns = {"contract": "合同", "paid_date": "付款日期", "amount": "付款金额（元）",
                     "reference": "支付凭证号", "payee_account": "收款账户", "region": "所在地区"}
    description_columns = {"payee_account": "款项付至的银行账号；合同办理融资且回款账户已锁定时，"
                                            "只能付至锁定的回款账户"}
    formatters_columns = {"amount": _money}

    # 收款账户: when the contract's payments must go to one account (a confirmed financing lock),
    # the form says so beside the field and offers that account as the default
    def _payee_contract(self, form: Any) -> Contract | None:
        field = getattr(form, "contract", None)
        if field is not None and isinstance(field.data, Contract):
            return field.data
        raw = request.args.get("_flt_0_contract") or request.args.get("contract")
        if not raw or not str(raw).isdigit():
            return None
        return self.datamodel.session.execute(
            select(Contract).where(Contract.id == int(raw))).scalars().first()

    def _payee_hint(self, form: Any) -> None:
        field = getattr(form, "payee_account", None)
        if field is None:
            return
        hint = contract_services.payee_account_hint(self.datamodel.session, self._payee_contract(form))
        if hint is None:
            return
        account, text = hint
        field.description = text
        if request.method == "GET" and not field.data:
            field.data = account

    def _get_add_widget(self, form, exclude_cols=None, widgets=None):
        self._payee_hint(form)
        return super()._get_add_widget(form, exclude_cols=exclude_cols, widgets=widgets)

    def _get_edit_widget(self, form, exclude_cols=None, widgets=None):
        self._payee_hint(form)
        return super()._get_edit_widget(form, exclude_cols=exclude_cols, widgets=widgets)


class BidView(PbModelView):
    datamodel = SQLAInterface(Bid)
    class_permission_name = "PbBid"
    rules = pb_rules.BID
    list_title = show_title = "投标"
    add_title = "登记投标"
    edit_title = "修改投标"
    list_columns = ["project", "package", "supplier", "price", "status", "submitted_at"]
    show_columns = ["project", "package", "supplier", "price", "status", "submitted_at",
                    "withdrawn_at", "withdrawal_notice", "region"]
    add_columns = ["project", "package", "supplier", "price", "submitted_at"]
    edit_columns = add_columns
    search_columns = ["project", "package", "supplier", "price", "status", "region"]
    base_order = ("id", "asc")
    label_columns = {"project": "采购项目", "package": "采购包", "supplier": "供应商",
                     "price": "投标报价（元）", "status": "状态", "submitted_at": "投标时间",
                     "withdrawn_at": "撤回时间", "withdrawal_notice": "书面撤回通知",
                     "region": "所在地区"}
    formatters_columns = {"price": _money, "status": _labelled(BID_STATES)}
    search_form_extra_fields = {"status": _select("状态", BID_STATES, "全部")}
    add_form_query_rel_fields = {"supplier": [["org_type", FilterEqual, "supplier"]]}
    edit_form_query_rel_fields = add_form_query_rel_fields
    record_actions = BID_ACTIONS


class PackageView(PbModelView):
    datamodel = SQLAInterface(Package)
    class_permission_name = "PbPackage"
    rules = pb_rules.PACKAGE
    related_views = [BidView]
    list_title = show_title = "采购包"
    add_title = "新增采购包"
    edit_title = "修改采购包"
    list_columns = ["project", "number", "name", "budget", "sme_reserved"]
    show_columns = ["project", "number", "name", "budget", "sme_reserved", "region"]
    add_columns = ["project", "number", "name", "budget", "sme_reserved"]
    edit_columns = add_columns
    search_columns = ["project", "number", "name", "budget", "sme_reserved", "region"]
    base_order = ("id", "asc")
    label_columns = {"project": "采购项目", "number": "包号", "name": "采购包名称",
                     "budget": "采购包预算（元）", "sme_reserved": "专门面向中小企业",
                     "region": "所在地区"}
    formatters_columns = {"budget": _money}
    add_form_extra_fields = edit_form_extra_fields = {"sme_reserved": _flag("专门面向中小企业")}


class ContractView(PbModelView):
    datamodel = SQLAInterface(Contract)
    class_permission_name = "PbContract"
    export_permission = "PbContract"
    record_actions = CONTRACT_ACTIONS
    rules = pb_rules.CONTRACT
    related_views = [PaymentPlanView, PaymentView]
    list_title = show_title = "采购合同"
    add_title = "登记合同"
    edit_title = "修改合同"
    list_columns = ["number", "project", "purchaser", "supplier", "amount", "paid_amount",
                    "outstanding", "signed_date", "status"]
    show_columns = ["number", "source", "project", "package", "order_ref", "purchaser", "supplier",
                    "sme_label", "amount", "paid_amount", "outstanding", "over_bid_reason",
                    "signed_date", "status", "region"]
    add_columns = ["number", "source", "project", "package", "order_ref", "purchaser", "supplier",
                   "amount", "over_bid_reason", "signed_date"]
    edit_columns = add_columns
    search_columns = ["number", "source", "project", "package", "purchaser", "supplier", "amount",
                      "signed_date", "status", "sme_label", "region"]
    order_columns = ["number", "amount", "signed_date", "status"]
    base_order = ("number", "asc")
    label_columns = {
        "number": "合同编号", "source": "来源", "project": "采购项目", "package": "采购包",
        "order_ref": "电子卖场订单号", "purchaser": "采购人", "supplier": "供应商",
        "sme_label": "企业规模", "amount": "合同金额（元）", "paid_amount": "已付金额（元）",
        "outstanding": "未付金额（元）", "over_bid_reason": "超出中标金额原因",
        "signed_date": "签订日期", "status": "状态", "region": "所在地区",
    }
    formatters_columns = {"amount": _money, "paid_amount": _money, "outstanding": _money,
                          "status": _labelled(CONTRACT_STATES), "sme_label": _labelled(SME_LABELS),
                          "source": _labelled(reports.SOURCES)}
    add_form_extra_fields = {"source": _select("来源", reports.SOURCES)}
    edit_form_extra_fields = add_form_extra_fields
    search_form_extra_fields = {"status": _select("状态", CONTRACT_STATES, "全部"),
                                "source": _select("来源", reports.SOURCES, "全部")}
    add_form_query_rel_fields = {"supplier": [["org_type", FilterEqual, "supplier"]]}
    edit_form_query_rel_fields = add_form_query_rel_fields

    @expose("/export/")
    @has_access
    @permission_name("export")
    def export(self):
        """The filtered contract list as xlsx."""
        return self._pb_export(reports.contract_xlsx)

    def show_context(self, item: Contract) -> dict[str, Any]:
        return {"erp_status": CONTRACT_STATES.get(item.status)}


class ProjectView(PbModelView):
    datamodel = SQLAInterface(Project)
    class_permission_name = "PbProject"
    export_permission = "PbProject"
    record_actions = PROJECT_ACTIONS
    rules = pb_rules.PROJECT
    related_views = [PackageView, BidView, ContractView]
    list_title = show_title = "采购项目"
    add_title = "新建采购项目"
    edit_title = "修改采购项目"
    list_columns = ["number", "name", "purchaser", "agency", "method", "budget", "status",
                    "notice_date", "award_date", "region"]
    show_columns = ["number", "name", "region", "purchaser", "agency", "catalog", "method",
                    "budget", "sme_measure", "sme_reserved_amount", "notice_date", "bid_deadline",
                    "opening_date", "award_date", "contract_date", "status", "note"]
    add_columns = ["number", "name", "region", "purchaser", "agency", "catalog", "method",
                   "budget", "sme_measure", "sme_reserved_amount", "notice_date", "bid_deadline",
                   "opening_date", "award_date", "contract_date", "note"]
    edit_columns = add_columns
    search_columns = ["number", "name", "region", "purchaser", "agency", "catalog", "method",
                      "budget", "status", "sme_measure", "notice_date", "award_date"]
    order_columns = ["number", "name", "budget", "status", "notice_date", "award_date"]
    base_order = ("number", "asc")
    label_columns = {
        "number": "项目编号", "name": "项目名称", "region": "所在地区", "purchaser": "采购人",
        "agency": "代理机构", "catalog": "采购品目", "method": "采购方式",
        "budget": "预算金额（元）", "sme_measure": "中小企业预留措施",
        "sme_reserved_amount": "预留金额（元）", "notice_date": "公告日期",
        "bid_deadline": "投标截止时间", "opening_date": "开标日期", "award_date": "中标日期",
        "contract_date": "合同签订日期", "status": "状态", "note": "备注",
    }
    description_columns = {
        "region": "留空则为采购人所在地区",
        "sme_reserved_amount": "整体预留时即为项目预算；不预留时不填",
    }
    formatters_columns = {"budget": _money, "sme_reserved_amount": _money,
                          "method": _labelled(METHODS), "status": _labelled(PROJECT_STATES),
                          "sme_measure": _labelled(SME_MEASURES)}
    add_form_extra_fields = {"method": _select("采购方式", METHODS),
                             "sme_measure": _select("中小企业预留措施", SME_MEASURES),
                             "region": _region_field("（采购人所在地区）")}
    edit_form_extra_fields = add_form_extra_fields
    search_form_extra_fields = {"status": _select("状态", PROJECT_STATES, "全部"),
                                "method": _select("采购方式", METHODS, "全部"),
                                "sme_measure": _select("中小企业预留措施", SME_MEASURES, "全部")}
    add_form_query_rel_fields = {
        "purchaser": [["org_type", FilterInFunction, lambda: list(services.PURCHASER_TYPES)]],
        "agency": [["org_type", FilterInFunction, lambda: list(services.AGENCY_TYPES)]],
    }
    edit_form_query_rel_fields = add_form_query_rel_fields

    @expose("/export/")
    @has_access
    @permission_name("export")
    def export(self):
        """The filtered project list as xlsx."""
        return self._pb_export(reports.project_xlsx)

    def show_context(self, item: Project) -> dict[str, Any]:
        return {"erp_status": PROJECT_STATES.get(item.status)}


VIEWS = (
    (ProjectView, "采购项目", "fa-folder-open"),
    (PackageView, "采购包", "fa-cubes"),
    (BidView, "投标", "fa-gavel"),
    (ContractView, "采购合同", "fa-file-text"),
    (PaymentPlanView, "付款计划", "fa-calendar"),
    (PaymentView, "付款记录", "fa-money"),
    (CatalogView, "采购品目", "fa-sitemap"),
    (PurchaserView, "采购人单位", "fa-university"),
    (AgencyView, "代理机构", "fa-briefcase"),
    (SupplierView, "供应商", "fa-industry"),
    (BankView, "银行与保险机构", "fa-bank"),
    (OrgUserView, "单位用户", "fa-users"),
)


def register(appbuilder) -> None:
    for view, name, icon in VIEWS:
        appbuilder.add_view(view, name, icon=icon, category=CATEGORY, category_icon="fa-shopping-cart")
