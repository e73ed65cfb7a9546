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

from flask import current_app, request
from flask_appbuilder.api import expose, rison, safe
from flask_appbuilder.api.convert import Model2SchemaConverter
from flask_appbuilder.api.schemas import get_list_schema
from flask_appbuilder.models.sqla.filters import BaseFilter, FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from marshmallow import validate as mv
from marshmallow_sqlalchemy.fields import Related, RelatedList
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from core.api import ApiError, ErpModelRestApi, json_object_body
from core.models import Organization
from core.services.export import send_xlsx
from core.services.money import Money, MoneyField
from core.services.statemachine import TransitionError
from core.tenancy import current_scope

from . import reports, services
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

#: Chinese messages for the generic field errors
ZH = {
    "required": "该字段为必填项",
    "null": "该字段不能为空",
    "validator_failed": "取值无效",
}
ZH_INVALID = {
    fields.Integer: "请输入整数",
    fields.DateTime: "时间格式不正确，应为 YYYY-MM-DDTHH:MM:SS",
    fields.Date: "日期格式不正确，应为 YYYY-MM-DD",
    fields.Boolean: "请输入 true 或 false",
    fields.String: "请输入文本",
}
MONEY_PROPERTIES = frozenset({"outstanding"})


class PbRelated(Related):
    """A reference by id: an integer id of a record the user can see, else a field error
    (marshmallow-sqlalchemy would build a new object for an unknown id)."""

    default_error_messages = {
        "invalid": "请填写记录编号（正整数）",
        "not_found": "所选记录不存在或不在您的管辖范围内",
    }

    def _deserialize(self, value: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1 and "id" in value:
            value = value["id"]
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())
        ):
            raise self.make_error("invalid")
        pk = int(value)
        if not 0 < pk < 2**31:
            raise self.make_error("not_found")
        obj = self.session.get(self.related_model, pk)
        if obj is None:
            raise self.make_error("not_found")
        return obj


def _zh(field: fields.Field) -> fields.Field:
    messages = dict(ZH)
    for cls, text in ZH_INVALID.items():
        if isinstance(field, cls):
            messages["invalid"] = text
            break
    field.error_messages = {**field.error_messages, **messages}
    new_validators = []
    for v in field.validators:
        if isinstance(v, mv.Length) and v.max is not None and v.min is None:
            v = mv.Length(max=v.max, error="长度不能超过 {max} 个字符")
        new_validators.append(v)
    field.validators = new_validators
    return field


class PbSchemaConverter(Model2SchemaConverter):
    """FAB's converter with money as :class:`MoneyField` (strings, no floats, at most two
    decimals, never negative), references checked by id, Chinese error messages."""

    def _meta_schema_factory(self, columns, model, class_mixin, parent_schema_name=None):
        """FAB's schema class, keeping foreign-key fields (``project_id``) that a list names:
        dotted columns into another region-scoped model (``project.number``) make FAB
        join an alias, which the central row scoping does not adapt to (see the docs)."""
        _model, _parent = model, parent_schema_name
        from flask_appbuilder.api.convert import SQLAlchemyAutoSchema

        meta = {"model": _model, "load_instance": True, "include_fk": True,
                "sqla_session": current_app.appbuilder.session, "parent_schema_name": _parent}
        if columns:
            meta["fields"] = columns
        return type("MetaSchema", (SQLAlchemyAutoSchema, class_mixin),
                    {"Meta": type("Meta", (), meta)})

    def _column2relation(self, datamodel, column, nested=False, parent_schema_name=None):
        # one OpenAPI name per nested relation (purchaser and supplier are both Organization)
        if nested and parent_schema_name:
            parent_schema_name = f"{parent_schema_name}.{column.name}"
        return super()._column2relation(datamodel, column, nested=nested,
                                        parent_schema_name=parent_schema_name)

    def _column2field(self, datamodel, column, nested=True, parent_schema_name=None):
        name = column.name
        attr = getattr(datamodel.obj, name, None)
        if name in MONEY_PROPERTIES and isinstance(attr, property):
            return MoneyField(dump_only=True)
        if not datamodel.is_relation(name):
            col = datamodel.list_columns.get(name)
            if col is not None and isinstance(getattr(col, "type", None), Money):
                if not hasattr(col, "nullable"):  # a derived column (e.g. paid_amount)
                    return MoneyField(dump_only=True)
                nullable = bool(col.nullable)
                return _zh(MoneyField(required=not nullable, allow_none=nullable,
                                      allow_negative=False))
        field = super()._column2field(datamodel, column, nested=nested,
                                      parent_schema_name=parent_schema_name)
        if datamodel.is_relation(name) and not nested:
            required, allow_none = field.required, field.allow_none
            if isinstance(field, RelatedList):
                field = RelatedList(PbRelated(), required=required)
            else:
                field = PbRelated(required=required, allow_none=allow_none or not required)
        return _zh(field)


SUB_LABELS = {"id": "编号", "name": "名称", "code": "编码", "number": "编号"}


def _label(col: str, labels: dict[str, str]) -> str:
    """Chinese label of ``id``, ``purchaser.name``, ``project_id`` from the known labels."""
    if col == "id":
        return "编号"
    if col.endswith("_id") and col[:-3] in labels:
        return f"{labels[col[:-3]]}编号"
    if "." in col:
        root, sub = col.split(".", 1)
        base = labels.get(root, {"region": "所在地区"}.get(root, root))
        return f"{base}{SUB_LABELS.get(sub, sub)}"
    return col


class PbApi(ErpModelRestApi):
    """Base of the module's APIs: service validation on writes (the posted region is
    checked before validation by ``core.api.ErpModelRestApi``)."""

    model2schemaconverter = PbSchemaConverter
    #: ``validator(session, item)`` from :mod:`.services`
    validator: ClassVar[Any] = None
    #: add-schema fields the service fills when left out
    optional_on_add: ClassVar[tuple[str, ...]] = ("region",)
    page_size = 20

    def __init__(self) -> None:
        labels = dict(self.label_columns or {})
        for col in [*(self.list_columns or ()), *(self.show_columns or ())]:
            if col not in labels:
                labels[col] = _label(col, labels)
        self.label_columns = labels
        title = getattr(self, "pb_title", None)
        if title:
            self.list_title = self.list_title or f"{title}列表"
            self.show_title = self.show_title or f"{title}详情"
            self.add_title = self.add_title or f"新增{title}"
            self.edit_title = self.edit_title or f"修改{title}"
        super().__init__()

    # -- schemas ---------------------------------------------------------------------------
    def _init_model_schemas(self) -> None:
        super()._init_model_schemas()
        for name in self.optional_on_add:
            field = self.add_model_schema.fields.get(name)
            if field is not None:
                field.required = False
                field.allow_none = True

    # -- hooks -------------------------------------------------------------------------------
    def _pb_validate(self, item: Any) -> None:
        validator = type(self).validator
        if validator is None:
            return
        try:
            validator(self.datamodel.session, item)
        except services.DuplicateError as exc:
            raise ApiError(409, exc.messages, "duplicate") from None

    def pre_add(self, item: Any) -> None:
        self._pb_validate(item)

    def pre_update(self, item: Any) -> None:
        self._pb_validate(item)

    def pre_delete(self, item: Any) -> None:
        services.check_delete(self.datamodel.session, item)

    # -- helpers for the module's own endpoints ---------------------------------------------
    def _pb_export(self, build: Any, **kwargs: Any):
        args = kwargs.get("rison", {})
        filters = self._handle_filters_args(args)
        order_column, order_direction = self._handle_order_args(args)
        model = self.datamodel.obj
        query = self.datamodel.apply_all(self.datamodel.session.query(model), filters,
                                         order_column, order_direction)
        query = query.order_by(model.id)
        body, name = build(query)
        return send_xlsx(body, name)


class TransitionSchema(Schema):
    date = fields.Date(load_default=None, error_messages={"invalid": ZH_INVALID[fields.Date]})
    reason = fields.String(load_default=None, validate=mv.Length(max=2000))
    winning_bids = fields.List(fields.Integer(strict=True), load_default=None,
                               error_messages={"invalid": "请填写投标编号列表"})


def _transition_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    data = json_object_body() if raw.strip() else {}
    return TransitionSchema().load(data)


def _transition_error(exc: TransitionError) -> ApiError:
    return ApiError(exc.status, exc.message, exc.code, transition=exc.transition, state=exc.state)


# -- catalog ----------------------------------------------------------------------------------
CATALOG_LABELS = {"code": "品目编码", "name": "品目名称", "level": "级次", "kind": "类别",
                  "parent": "上级品目", "active": "启用"}


class CatalogItemApi(PbApi):
    pb_title = "政府采购品目"
    resource_name = "pb_catalog"
    datamodel = SQLAInterface(CatalogItem)
    class_permission_name = "PbCatalog"
    validator = staticmethod(services.validate_catalog_item)
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

    def pre_update(self, item: CatalogItem) -> None:
        from sqlalchemy import inspect as sa_inspect

        hist = sa_inspect(item).attrs.code.history
        if hist.deleted and hist.added and hist.deleted[0] != (hist.added[0] or "").strip().upper():
            n = self.datamodel.session.execute(
                select(CatalogItem.id).where(CatalogItem.parent_id == item.id)).first()
            if n is not None:
                raise services.RuleError({"code": ["该品目有下级品目，不能修改编码"]})
        super().pre_update(item)


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

    def _pb_validate(self, item: Organization) -> None:
        types = services.ORG_GROUPS[self.group]
        if not item.org_type and len(types) == 1:
            item.org_type = types[0]
        if item.active is None:
            item.active = True
        try:
            services.validate_organization(self.datamodel.session, item, org_types=types)
        except services.DuplicateError as exc:
            raise ApiError(409, exc.messages, "duplicate") from None


def _org_api(name: str, group: str, resource: str, permission: str, title: str) -> type[_OrgApi]:
    types = services.ORG_GROUPS[group]
    return type(name, (_OrgApi,), {
        "__module__": __name__,
        "pb_title": title,
        "resource_name": resource,
        "datamodel": SQLAInterface(Organization),
        "class_permission_name": permission,
        "group": group,
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


def hash_password(password: str) -> str:
    return generate_password_hash(
        password=password,
        method=current_app.config.get("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=current_app.config.get("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )


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

        def pre_add(self, item: Any) -> None:
            if item.active is None:
                item.active = True
            services.validate_org_user(self.datamodel.session, item, password=item.password,
                                       new=True)
            item.password = hash_password(item.password)

        def pre_update(self, item: Any) -> None:
            services.validate_org_user(self.datamodel.session, item)


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
    validator = staticmethod(services.validate_project)
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

    @expose("/<int:pk>/transition/<string:name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk: int, name: str):
        """Move the project: publish, open_bidding, evaluate, award, contract, complete,
        terminate, fail (body: date, reason, winning_bids)
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
            item = self.datamodel.get(self._erp_pk(pk), self._base_filters)
            if item is None:
                raise ApiError(404)
            body = _transition_body()
            session = self.datamodel.session
            services.assert_manages_project(session, item)
            try:
                services.transition_project(session, item, name, on=body["date"],
                                            reason=body["reason"],
                                            winning_bids=body["winning_bids"])
            except TransitionError as exc:
                raise _transition_error(exc) from None
            session.commit()
            return self.response(200, result={
                "id": item.id, "status": item.status, "status_label": PROJECT_STATES[item.status],
                "notice_date": _iso(item.notice_date), "opening_date": _iso(item.opening_date),
                "award_date": _iso(item.award_date), "contract_date": _iso(item.contract_date)})

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
    validator = staticmethod(services.validate_package)
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
    validator = staticmethod(services.validate_bid)
    list_columns = ["id", "project_id", "package_id", "supplier.id", "supplier.name", "price",
                    "status", "submitted_at", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["project", "package", "supplier", "price", "submitted_at", "region"]
    edit_columns = add_columns
    search_columns = ["project", "package", "supplier", "price", "status", "region"]
    order_columns = ["price", "status", "submitted_at"]
    base_order = ("id", "asc")
    optional_on_add = ("region", "project", "submitted_at")
    label_columns = {"project": "采购项目", "package": "采购包", "supplier": "供应商",
                     "price": "投标报价", "status": "状态", "submitted_at": "投标时间",
                     "region": "所在地区"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in BID_STATES.items())}


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
    validator = staticmethod(services.validate_contract)
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

    @expose("/<int:pk>/transition/<string:name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk: int, name: str):
        """Move the contract: sign (body: date), perform, complete, terminate (body: reason)
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
            item = self.datamodel.get(self._erp_pk(pk), self._base_filters)
            if item is None:
                raise ApiError(404)
            body = _transition_body()
            session = self.datamodel.session
            services.assert_manages_contract(session, item)
            try:
                services.transition_contract(session, item, name, on=body["date"],
                                             reason=body["reason"])
            except TransitionError as exc:
                raise _transition_error(exc) from None
            session.commit()
            return self.response(200, result={
                "id": item.id, "status": item.status,
                "status_label": CONTRACT_STATES[item.status],
                "signed_date": _iso(item.signed_date)})

        return self._erp_answer(run)

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
    validator = staticmethod(services.validate_payment_plan)
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
    validator = staticmethod(services.validate_payment)
    list_columns = ["id", "contract_id", "paid_date", "amount", "reference", "region.id",
                    "region.name"]
    show_columns = list_columns
    add_columns = ["contract", "paid_date", "amount", "reference", "region"]
    edit_columns = add_columns
    search_columns = ["contract", "paid_date", "amount", "reference", "region"]
    order_columns = ["paid_date", "amount"]
    base_order = ("id", "asc")
    label_columns = {"contract": "合同", "paid_date": "付款日期", "amount": "付款金额",
                     "reference": "支付凭证号", "region": "所在地区"}


APIS = (CatalogItemApi, PurchaserApi, AgencyApi, SupplierApi, BankApi, OrgUserApi, ProjectApi,
        PackageApi, BidApi, ContractApi, PaymentPlanApi, PaymentApi)


def register(appbuilder) -> None:
    for api in APIS:
        appbuilder.add_api(api)
