"""Supplier admission (``emall_admission``: apply; the decisions are :data:`..actions.ADMISSION_ACTIONS`)."""

from __future__ import annotations

from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.db import db
from core.tenancy import current_scope

from .. import services
from ..actions import ADMISSION_ACTIONS, DecisionSchema
from ..models import ADMISSION_STATES, EmallAdmission
from .common import EmallApi, OwnSupplierFilter, _body

__all__ = ["AdmissionApi", "ApplySchema", "DecisionSchema"]


class ApplySchema(Schema):
    answers = fields.Dict(load_default=dict, error_messages={"invalid": "请按条件编码填写"})
    categories = fields.List(fields.Integer(strict=True), required=True,
                             error_messages={"required": "请至少选择一个经营的商品分类",
                                             "invalid": "请填写分类编号列表"})
    contact = fields.String(load_default=None, validate=mv.Length(max=64))
    phone = fields.String(load_default=None, validate=mv.Length(max=32))


class AdmissionApi(EmallApi):
    pb_title = "供应商入驻"
    resource_name = "emall_admission"
    datamodel = SQLAInterface(EmallAdmission)
    class_permission_name = "EmallAdmission"
    include_route_methods = {"get", "get_list", "info", "apply", "transition"}
    base_filters = [["id", OwnSupplierFilter, None]]
    record_actions = ADMISSION_ACTIONS  # POST /<pk>/transition/<name> (core.actions)
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
