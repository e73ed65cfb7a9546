"""REST APIs of ``procurement_base`` under ``/api/v1/`` (FAB ``ModelRestApi`` on the
platform's :class:`core.api.ErpModelRestApi`).

Thin: every write goes through the service validators (``pre_add`` / ``pre_update``),
which answer 422 with Chinese field messages (409 for a duplicate) and write nothing.
Reads are scoped centrally by the tenancy layer; nothing here filters by region. For
region-scoped records a ``region`` outside the user's regions is refused (403) before the
body is validated.

Resources: pb_catalog, pb_purchaser, pb_agency, pb_supplier, pb_bank, pb_org_user,
pb_project (+ transitions, export), pb_package, pb_bid, pb_contract (+ transitions,
export), pb_payment_plan, pb_payment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from flask_appbuilder.api import expose, rison, safe
from flask_appbuilder.api.schemas import get_list_schema
from flask_appbuilder.models.sqla.filters import BaseFilter, FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import validate as mv
from sqlalchemy import select

from core.api import (
    INVALID_MESSAGES,
    ApiError,
    ErpModelRestApi,
    ErpRelated,
    ErpSchemaConverter,
)
from core.models import Organization
from core.rules import ModelRules
from core.services.statemachine import TransitionError
from core.tenancy import current_scope

from . import reports, services
from . import rules as pb_rules
from .actions import BID_ACTIONS, CONTRACT_ACTIONS, PROJECT_ACTIONS, TransitionSchema  # noqa: F401
from .models import (
    BID_STATES,
    CONTRACT_STATES,
    PROJECT_STATES,
    Bid,
    CatalogItem,
    Contract,
    Package,
    Payment,
    PaymentPlan,
    Project,
)
from .rules import PbRules, hash_password  # noqa: F401 - hash_password: used by views


class PbApi(ErpModelRestApi):
    """The module's APIs on :class:`core.api.ErpModelRestApi`: ``pb_title`` is the title,
    ``validator(session, item)`` the rules (see :mod:`.rules`), a delete is checked by
    :func:`services.check_delete`."""

    def __init__(self) -> None:
        if getattr(self, "pb_title", None) and not type(self).title:
            type(self).title = self.pb_title
        super().__init__()

    @classmethod
    def model_rules(cls) -> ModelRules:
        if cls.rules is None:
            cls.rules = PbRules(getattr(cls, "validator", None))
        return cls.rules

    def _pb_export(self, build: Any, **kwargs: Any):
        return self.export_xlsx(build, **kwargs)


#: names other modules imported before core had them (use core.api's)
ZH_INVALID = INVALID_MESSAGES
PbSchemaConverter = ErpSchemaConverter
PbRelated = ErpRelated


def _transition_error(exc: TransitionError) -> ApiError:
    """Kept for modules not yet on core.actions (a TransitionError is answered centrally)."""
    return ApiError(exc.status, exc.message, exc.code, transition=exc.transition, state=exc.state)


# -- catalog ----------------------------------------------------------------------------------
CATALOG_LABELS = {"code": "品目编码", "name": "品目名称", "level": "级次", "kind": "类别",
                  "parent": "上级品目", "active": "启用"}


class CatalogItemApi(PbApi):
    pb_title = "政府采购品目"
    resource_name = "pb_catalog"
    datamodel = SQLAInterface(CatalogItem)
    class_permission_name = "PbCatalog"
    rules = pb_rules.CATALOG
    optional_on_add = ("active",)
    list_columns = ["id", "code", "name", "level", "kind", "parent.id", "parent.code", "active"]
    show_columns = list_columns
    add_columns = ["code", "name", "active"]
    edit_columns = ["code", "name", "active"]
    search_columns = ["code", "name", "level", "kind", "active", "parent"]
    order_columns = ["code", "name", "level"]
    base_order = ("code", "asc")
    label_columns = CATALOG_LABELS
    max_page_size = 100


# -- organisations ------------------------------------------------------------------------
ORG_LABELS = {
    "name": "单位名称",
    "credit_code": "统一社会信用代码",
    "org_type": "单位类型",
    "region": "所在地区",
    "parent": "上级单位",
    "size": "企业规模",
    "address": "地址",
    "contact": "联系人",
    "phone": "联系电话",
    "active": "启用",
}
ORG_COLUMNS = ["id", "name", "credit_code", "org_type", "region.id", "region.code", "region.name",
               "parent.id", "parent.name", "size", "address", "contact", "phone", "active"]
ORG_EDIT = ["name", "credit_code", "org_type", "region", "parent", "size", "address", "contact",
            "phone", "active"]


class _OrgApi(PbApi):
    """One group of organisation types (the directory is platform-wide; writes are limited
    to the writer's region subtree by the service)."""

    group: ClassVar[str] = ""
    list_columns = ORG_COLUMNS
    show_columns = ORG_COLUMNS
    add_columns = ORG_EDIT
    edit_columns = ORG_EDIT
    search_columns = ["name", "credit_code", "org_type", "region", "parent", "size", "active"]
    order_columns = ["name", "credit_code", "org_type", "size"]
    base_order = ("name", "asc")
    label_columns = ORG_LABELS
    optional_on_add = ("region", "org_type", "active")


def _org_api(name: str, group: str, resource: str, permission: str, title: str) -> type[_OrgApi]:
    types = services.ORG_GROUPS[group]
    return type(name, (_OrgApi,), {
        "__module__": __name__,
        "pb_title": title,
        "resource_name": resource,
        "datamodel": SQLAInterface(Organization),
        "class_permission_name": permission,
        "group": group,
        "rules": pb_rules.ORGANIZATION_GROUPS[group],
        "base_filters": [["org_type", FilterInFunction, lambda types=types: list(types)]],
    })


PurchaserApi = _org_api("PurchaserApi", "purchaser", "pb_purchaser", "PbPurchaser", "采购人单位")
AgencyApi = _org_api("AgencyApi", "agency", "pb_agency", "PbAgency", "代理机构")
SupplierApi = _org_api("SupplierApi", "supplier", "pb_supplier", "PbSupplier", "供应商")
BankApi = _org_api("BankApi", "bank", "pb_bank", "PbBank", "银行与保险机构")


class OrgUserScopeFilter(BaseFilter):
    """Users of organisations in the user's regions (the platform admin: every linked user)."""

    name = "管辖范围"
    arg_name = None

    def apply(self, query, value):
        from core.security import ErpUser

        scope = current_scope()
        query = query.filter(ErpUser.organization_id.isnot(None))
        if scope.unrestricted:
            return query
        regions = sorted(scope.region_ids or ())
        return query.filter(ErpUser.organization_id.in_(
            select(Organization.id).where(Organization.region_id.in_(regions))))


def _org_user_api() -> type[PbApi]:
    from core.security import ErpUser

    class OrgUserApi(PbApi):
        """单位用户: link users to organisations; the organisation's type limits the roles."""

        pb_title = "单位用户"
        resource_name = "pb_org_user"
        datamodel = SQLAInterface(ErpUser)
        #: no DELETE: a user is deactivated (active = false), its history stays
        include_route_methods = {"get", "get_list", "info", "post", "put"}
        class_permission_name = "PbOrgUser"
        list_columns = ["id", "username", "first_name", "last_name", "email", "active",
                        "organization.id", "organization.name", "roles.id", "roles.name"]
        show_columns = list_columns
        add_columns = ["username", "first_name", "last_name", "email", "password",
                       "organization", "roles", "active"]
        edit_columns = ["first_name", "last_name", "email", "organization", "roles", "active"]
        search_columns = ["username", "first_name", "last_name", "email", "organization", "active"]
        order_columns = ["username", "first_name", "last_name"]
        base_order = ("username", "asc")
        base_filters = [["id", OrgUserScopeFilter, None]]
        rules = pb_rules.ORG_USER
        optional_on_add = ("active",)
        label_columns = {"username": "用户名", "first_name": "姓", "last_name": "名",
                         "email": "电子邮箱", "password": "密码", "organization": "所属单位",
                         "roles": "角色", "active": "启用"}

        def _init_model_schemas(self) -> None:
            super()._init_model_schemas()
            field = self.add_model_schema.fields.get("password")
            if field is not None:
                field.load_only = True
                field.validators = [*field.validators, mv.Length(min=8, error="密码至少 8 位")]
                self.add_model_schema.dump_fields.pop("password", None)

    return OrgUserApi


OrgUserApi = _org_user_api()


# -- projects and their records ---------------------------------------------------------------
PROJECT_LABELS = {
    "number": "项目编号", "name": "项目名称", "region": "所在地区", "purchaser": "采购人",
    "agency": "代理机构", "catalog": "采购品目", "method": "采购方式", "budget": "预算金额",
    "sme_measure": "中小企业预留措施", "sme_reserved_amount": "预留金额", "notice_date": "公告日期",
    "bid_deadline": "投标截止时间", "opening_date": "开标日期", "award_date": "中标日期",
    "contract_date": "合同签订日期", "status": "状态", "note": "备注",
}


class ProjectApi(PbApi):
    pb_title = "采购项目"
    resource_name = "pb_project"
    datamodel = SQLAInterface(Project)
    class_permission_name = "PbProject"
    rules = pb_rules.PROJECT
    list_columns = ["id", "number", "name", "region.id", "region.name", "purchaser.id",
                    "purchaser.name", "agency.id", "agency.name", "catalog.id", "catalog.code",
                    "catalog.name", "method", "budget", "sme_measure", "sme_reserved_amount",
                    "notice_date", "bid_deadline", "opening_date", "award_date",
                    "contract_date", "status", "note"]
    show_columns = list_columns
    add_columns = ["number", "name", "region", "purchaser", "agency", "catalog", "method",
                   "budget", "sme_measure", "sme_reserved_amount", "notice_date", "bid_deadline",
                   "opening_date", "award_date", "contract_date", "note"]
    edit_columns = add_columns
    search_columns = ["number", "name", "region", "purchaser", "agency", "catalog", "method",
                      "budget", "status", "notice_date", "award_date", "sme_measure"]
    order_columns = ["number", "name", "budget", "status", "notice_date", "award_date"]
    base_order = ("number", "asc")
    label_columns = PROJECT_LABELS
    optional_on_add = ("region", "sme_measure")
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in PROJECT_STATES.items())}
    record_actions = PROJECT_ACTIONS

    @expose("/<int:pk>/transitions", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def transitions(self, pk: int):
        """The transitions from the project's status, whether each is allowed now and why not
        ---
        get:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          responses:
            200:
              description: transitions
            404:
              $ref: '#/components/responses/404'
        """
        def run():
            item = self.datamodel.get(self._erp_pk(pk), self._base_filters)
            if item is None:
                raise ApiError(404)
            result = services.transition_options(services.PROJECT_FLOW, item,
                                                 self.datamodel.session)
            return self.response(200, result=result, status=item.status,
                                 status_label=PROJECT_STATES.get(item.status))

        return self._erp_answer(run)

    @expose("/export/", methods=["GET"])
    @protect()
    @safe
    @permission_name("export")
    @rison(get_list_schema)
    def export(self, **kwargs: Any):
        """The project list as an xlsx file (same ``q`` filters and order as the list)
        ---
        get:
          responses:
            200:
              description: xlsx
            400:
              $ref: '#/components/responses/400'
        """
        return self._erp_answer(lambda: self._pb_export(reports.project_xlsx, **kwargs))


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


class PackageApi(PbApi):
    pb_title = "采购包"
    resource_name = "pb_package"
    datamodel = SQLAInterface(Package)
    class_permission_name = "PbPackage"
    rules = pb_rules.PACKAGE
    list_columns = ["id", "project_id", "number", "name", "budget", "sme_reserved", "region.id",
                    "region.name"]
    show_columns = list_columns
    add_columns = ["project", "number", "name", "budget", "sme_reserved", "region"]
    edit_columns = add_columns
    search_columns = ["project", "number", "name", "budget", "sme_reserved", "region"]
    order_columns = ["number", "name", "budget"]
    base_order = ("id", "asc")
    optional_on_add = ("region", "sme_reserved")
    label_columns = {"project": "采购项目", "number": "包号", "name": "采购包名称",
                     "budget": "采购包预算", "sme_reserved": "专门面向中小企业", "region": "所在地区"}


class BidApi(PbApi):
    pb_title = "投标"
    resource_name = "pb_bid"
    datamodel = SQLAInterface(Bid)
    class_permission_name = "PbBid"
    rules = pb_rules.BID
    list_columns = ["id", "project_id", "package_id", "supplier.id", "supplier.name", "price",
                    "status", "submitted_at", "region.id", "region.name"]
    show_columns = [*list_columns, "withdrawn_at", "withdrawal_notice"]
    add_columns = ["project", "package", "supplier", "price", "submitted_at", "region"]
    edit_columns = add_columns
    search_columns = ["project", "package", "supplier", "price", "status", "region"]
    order_columns = ["price", "status", "submitted_at"]
    base_order = ("id", "asc")
    optional_on_add = ("region", "project", "submitted_at")
    label_columns = {"project": "采购项目", "package": "采购包", "supplier": "供应商",
                     "price": "投标报价", "status": "状态", "submitted_at": "投标时间",
                     "withdrawn_at": "撤回时间", "withdrawal_notice": "书面撤回通知",
                     "region": "所在地区"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in BID_STATES.items())}
    record_actions = BID_ACTIONS


CONTRACT_LABELS = {
    "number": "合同编号", "source": "来源", "project": "采购项目", "package": "采购包",
    "order_ref": "电子卖场订单号", "purchaser": "采购人", "supplier": "供应商", "amount": "合同金额",
    "paid_amount": "已付金额", "outstanding": "未付金额", "signed_date": "签订日期",
    "sme_label": "企业规模", "over_bid_reason": "超出中标金额原因", "status": "状态",
    "region": "所在地区",
}


class ContractApi(PbApi):
    pb_title = "采购合同"
    resource_name = "pb_contract"
    datamodel = SQLAInterface(Contract)
    class_permission_name = "PbContract"
    rules = pb_rules.CONTRACT
    list_columns = ["id", "number", "source", "project_id", "package_id", "order_ref",
                    "purchaser.id", "purchaser.name",
                    "supplier.id", "supplier.name", "amount", "paid_amount", "outstanding",
                    "signed_date", "sme_label", "over_bid_reason", "status", "region.id",
                    "region.name"]
    show_columns = list_columns
    add_columns = ["number", "source", "project", "package", "order_ref", "purchaser", "supplier",
                   "amount", "signed_date", "over_bid_reason", "region"]
    edit_columns = add_columns
    search_columns = ["number", "source", "project", "package", "purchaser", "supplier",
                      "amount", "signed_date", "status", "sme_label", "region"]
    order_columns = ["number", "amount", "signed_date", "status"]
    base_order = ("number", "asc")
    optional_on_add = ("region", "source")
    label_columns = CONTRACT_LABELS
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in CONTRACT_STATES.items())}
    record_actions = CONTRACT_ACTIONS

    @expose("/export/", methods=["GET"])
    @protect()
    @safe
    @permission_name("export")
    @rison(get_list_schema)
    def export(self, **kwargs: Any):
        """The contract list as an xlsx file (same ``q`` filters and order as the list)
        ---
        get:
          responses:
            200:
              description: xlsx
            400:
              $ref: '#/components/responses/400'
        """
        return self._erp_answer(lambda: self._pb_export(reports.contract_xlsx, **kwargs))


class PaymentPlanApi(PbApi):
    pb_title = "付款计划"
    resource_name = "pb_payment_plan"
    datamodel = SQLAInterface(PaymentPlan)
    class_permission_name = "PbPaymentPlan"
    rules = pb_rules.PAYMENT_PLAN
    list_columns = ["id", "contract_id", "seq", "due_date", "amount", "note", "region.id",
                    "region.name"]
    show_columns = list_columns
    add_columns = ["contract", "seq", "due_date", "amount", "note", "region"]
    edit_columns = add_columns
    search_columns = ["contract", "seq", "due_date", "amount", "region"]
    order_columns = ["seq", "due_date", "amount"]
    base_order = ("id", "asc")
    label_columns = {"contract": "合同", "seq": "期次", "due_date": "计划付款日期",
                     "amount": "计划金额", "note": "说明", "region": "所在地区"}


class PaymentApi(PbApi):
    pb_title = "付款记录"
    resource_name = "pb_payment"
    datamodel = SQLAInterface(Payment)
    class_permission_name = "PbPayment"
    rules = pb_rules.PAYMENT
    list_columns = ["id", "contract_id", "paid_date", "amount", "reference", "payee_account",
                    "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["contract", "paid_date", "amount", "reference", "payee_account", "region"]
    edit_columns = add_columns
    search_columns = ["contract", "paid_date", "amount", "reference", "payee_account", "region"]
    order_columns = ["paid_date", "amount"]
    base_order = ("id", "asc")
    label_columns = {"contract": "合同", "paid_date": "付款日期", "amount": "付款金额",
                     "reference": "支付凭证号", "payee_account": "收款账户", "region": "所在地区"}


APIS = (CatalogItemApi, PurchaserApi, AgencyApi, SupplierApi, BankApi, OrgUserApi, ProjectApi,
        PackageApi, BidApi, ContractApi, PaymentPlanApi, PaymentApi)


def register(appbuilder) -> None:
    for api in APIS:
        appbuilder.add_api(api)
