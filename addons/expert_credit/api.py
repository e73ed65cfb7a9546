"""REST APIs of ``expert_credit`` under ``/api/v1/`` (thin: the rules are in
:mod:`.services`; disclosure in :mod:`.masking`; the record actions in :mod:`.actions`).

Resources: ec_expert (+ identity, transition), ec_specialty, ec_relation, ec_draw_request
(+ create, draw, close, record), ec_assignment (+ respond), ec_evaluation (+ submit,
appeal, decide, overdue), ec_bad_record, ec_credit_score.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, ValidationError, fields
from marshmallow import validate as mv
from sqlalchemy import select

from addons.procurement_base.api import ZH_INVALID, PbApi
from addons.procurement_base.models import CatalogItem, Project
from core.api import ApiError, json_object_body
from core.models import Region
from core.tenancy import current_scope

from . import masking, services
from .actions import ASSIGNMENT_ACTIONS, EVALUATION_ACTIONS, EXPERT_ACTIONS, REQUEST_ACTIONS
from .draw_record import request_record
from .models import (
    ASSIGNMENT_STATES,
    BAD_RECORD_KINDS,
    BANDS,
    EVALUATION_STATES,
    EXPERT_STATES,
    RELATION_KINDS,
    REQUEST_STATES,
    Assignment,
    BadRecord,
    CreditScore,
    DrawRequest,
    Evaluation,
    Expert,
    ExpertRelation,
    ExpertSpecialty,
)


def _desc(mapping: dict[str, str]) -> str:
    return "、".join(f"{k}={v}" for k, v in mapping.items())


def _body(schema: Schema) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    data = json_object_body() if raw.strip() else {}
    return schema.load(data)


class EcApi(PbApi):
    """Base: service validation, the module's disclosure rules on every read."""

    #: serialised fields holding an expert name that must be hidden before the award
    name_fields: tuple[str, ...] = ()

    def _mask(self, rows: list[dict[str, Any]]) -> None:
        masking.mask_rows(rows)
        for key in self.name_fields:
            masking.mask_names(rows, key=key)

    def pre_get(self, data: dict[str, Any]) -> None:
        if isinstance(data.get("result"), dict):
            self._mask([data["result"]])

    def pre_get_list(self, data: dict[str, Any]) -> None:
        self._mask(list(data.get("result") or []))

    def _item(self, pk: int) -> Any:
        item = self.datamodel.get(self._erp_pk(pk), self._base_filters)
        if item is None:
            raise ApiError(404)
        return item



# -- registry ---------------------------------------------------------------------------------
EXPERT_LABELS = {
    "code": "专家编号", "name": "姓名", "id_number": "身份证号码", "phone": "联系电话", "employer": "工作单位（平台单位）",
    "employer_name": "工作单位", "title": "专业技术职称", "title_years": "从业年限",
    "status": "状态", "suspended_until": "暂停截止日期", "finance_supervisor": "财政部门监管人员",
    "credit_score": "信用分", "credit_band": "信用等级", "region": "所属地区", "note": "备注",
    "user_id": "登录账号编号",
}
EXPERT_SELF_EDITABLE = {"phone", "title", "title_years", "employer", "employer_id", "employer_name",
                        "note"}


class ExpertApi(EcApi):
    pb_title = "评审专家"
    resource_name = "ec_expert"
    datamodel = SQLAInterface(Expert)
    class_permission_name = "EcExpert"
    include_route_methods = {"get", "get_list", "info", "post", "put", "transition", "identity"}
    validator = staticmethod(services.validate_expert)
    list_columns = ["id", "code", "name", "id_number", "phone", "employer.id", "employer.name",
                    "employer_name", "title", "title_years", "status", "suspended_until",
                    "finance_supervisor", "credit_score", "credit_band", "region.id",
                    "region.name", "user_id", "note"]
    show_columns = list_columns
    add_columns = ["code", "name", "id_number", "phone", "employer", "employer_name", "title",
                   "title_years", "finance_supervisor", "region", "note"]
    edit_columns = add_columns
    search_columns = ["name", "status", "credit_band", "region", "title", "employer_name"]
    order_columns = ["name", "credit_score", "status"]
    base_order = ("id", "asc")
    optional_on_add = ("region", "finance_supervisor", "code")
    label_columns = EXPERT_LABELS
    description_columns = {"status": _desc(EXPERT_STATES), "credit_band": _desc(BANDS)}
    record_actions = EXPERT_ACTIONS  # POST /<pk>/transition/<name> (core.actions)

    def pre_update(self, item: Expert) -> None:
        from sqlalchemy import inspect

        scope = current_scope()
        if scope.actor == "expert":
            state = inspect(item)
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            locked = changed - EXPERT_SELF_EDITABLE
            if locked:
                raise ApiError(403, {k: ["该项由专家管理人员维护，本人不能修改"] for k in sorted(locked)},
                               "forbidden")
        elif not services.manages_experts(scope):
            raise ApiError(403, "只有专家管理人员可以修改专家档案", "forbidden")
        super().pre_update(item)

    def pre_add(self, item: Expert) -> None:
        if not services.manages_experts():
            raise ApiError(403, "只有专家管理人员可以新增专家", "forbidden")
        item.status = item.status or "active"
        super().pre_add(item)

    @expose("/<int:pk>/identity", methods=["GET"])
    @protect()
    @safe
    @permission_name("manage")
    def identity(self, pk: int):
        """The full ID-card number (expert managers only: ``can_manage on EcExpert``)
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: the ID number}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            item = self._item(pk)
            return self.response(200, result={"id": item.id, "id_number": item.id_number})

        return self._erp_answer(run)

def _iso(v: Any) -> Any:
    return v.isoformat() if v is not None else None


class SpecialtyApi(EcApi):
    pb_title = "评审专业"
    resource_name = "ec_specialty"
    datamodel = SQLAInterface(ExpertSpecialty)
    class_permission_name = "EcSpecialty"
    validator = staticmethod(services.validate_specialty)
    list_columns = ["id", "expert_id", "catalog.id", "catalog.code", "catalog.name", "region.id"]
    show_columns = list_columns
    add_columns = ["expert", "catalog", "region"]
    edit_columns = add_columns
    search_columns = ["expert", "catalog"]
    base_order = ("id", "asc")
    optional_on_add = ("region",)
    label_columns = {"expert": "专家", "catalog": "品目", "region": "所属地区（随专家）"}

    def pre_delete(self, item: ExpertSpecialty) -> None:
        services._own_profile_check(self.datamodel.session, item.expert)


class RelationApi(EcApi):
    pb_title = "回避关系"
    resource_name = "ec_relation"
    datamodel = SQLAInterface(ExpertRelation)
    class_permission_name = "EcRelation"
    validator = staticmethod(services.validate_relation)
    list_columns = ["id", "expert_id", "kind", "org.id", "org.name", "org_credit_code",
                    "org_name", "detail", "date_from", "date_to", "region.id"]
    show_columns = list_columns
    add_columns = ["expert", "kind", "org", "org_credit_code", "org_name", "detail", "date_from",
                   "date_to", "region"]
    edit_columns = add_columns
    search_columns = ["expert", "kind", "org", "org_credit_code", "org_name"]
    base_order = ("id", "asc")
    optional_on_add = ("org", "org_credit_code", "org_name", "detail", "date_from", "date_to",
                       "region")
    label_columns = {"expert": "专家", "kind": "关系类型", "org": "单位（平台单位）",
                     "org_credit_code": "统一社会信用代码", "org_name": "单位名称",
                     "detail": "职务或亲属关系", "date_from": "开始日期", "date_to": "结束日期",
                     "region": "所属地区（随专家）"}
    description_columns = {"kind": _desc(RELATION_KINDS)}

    def pre_delete(self, item: ExpertRelation) -> None:
        services._own_profile_check(self.datamodel.session, item.expert)


# -- draw requests ----------------------------------------------------------------------------
class LineSchema(Schema):
    catalog = fields.Integer(required=True, strict=True,
                             error_messages={"required": "请选择品目", "invalid": "请填写品目编号"})
    count = fields.Integer(required=True, strict=True, validate=mv.Range(1, 50, error="人数应在 1 到 50 之间"),
                           error_messages={"required": "请填写人数", "invalid": "请输入整数"})
    reserves = fields.Integer(load_default=0, strict=True,
                              validate=mv.Range(0, 20, error="备选人数应在 0 到 20 之间"),
                              error_messages={"invalid": "请输入整数"})


class RequestSchema(Schema):
    project = fields.Integer(required=True, strict=True,
                             error_messages={"required": "请选择采购项目", "invalid": "请填写项目编号"})
    review_at = fields.DateTime(required=True, error_messages={
        "required": "请填写评审时间", "invalid": ZH_INVALID[fields.DateTime]})
    review_place = fields.String(load_default=None, validate=mv.Length(max=200))
    pool_region = fields.String(load_default="220000", validate=mv.Regexp(r"^\d{6}$", error="请填写 6 位地区代码"))
    note = fields.String(load_default=None, validate=mv.Length(max=2000))
    lines = fields.List(fields.Nested(LineSchema), required=True,
                        validate=mv.Length(min=1, max=20, error="请填写 1 到 20 个评审专业"),
                        error_messages={"required": "请至少填写一个评审专业及人数"})


class DrawRequestApi(EcApi):
    pb_title = "专家抽取申请"
    resource_name = "ec_draw_request"
    datamodel = SQLAInterface(DrawRequest)
    class_permission_name = "EcDrawRequest"
    #: read-only (no FAB post/put/delete route); FAB still builds write schemas
    add_columns = edit_columns = ["region"]
    include_route_methods = {"get", "get_list", "info", "create", "draw", "close", "record"}
    list_columns = ["id", "project_id", "project.number", "project.name", "review_at",
                    "review_place", "pool_region.code", "seed_hash", "seed_revealed_at", "status",
                    "created_at", "created_by", "region.id", "region.name"]
    show_columns = list_columns
    search_columns = ["project", "status", "review_date", "region"]
    order_columns = ["review_at", "created_at", "status"]
    base_order = ("id", "desc")
    label_columns = {"project": "采购项目", "review_at": "评审时间", "review_place": "评审地点",
                     "pool_region": "抽取范围", "seed_hash": "种子哈希（SHA-256）",
                     "seed_revealed_at": "种子公开时间", "status": "状态", "created_at": "申请时间",
                     "created_by": "申请人", "review_date": "评审日期"}
    description_columns = {"status": _desc(REQUEST_STATES)}
    record_actions = REQUEST_ACTIONS  # POST /<pk>/draw, /<pk>/close (core.actions)

    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def create(self):
        """Create a request: the seed is fixed now and its SHA-256 published
        ---
        post:
          responses:
            201: {description: the request with its seed hash}
            403: {$ref: '#/components/responses/403'}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            body = _body(RequestSchema())
            session = self.datamodel.session
            project = session.get(Project, body["project"])
            if project is None:
                raise ValidationError({"project": ["所选项目不存在或不在您的管辖范围内"]})
            region = session.execute(select(Region).where(Region.code == body["pool_region"])).scalar()
            if region is None:
                raise ValidationError({"pool_region": ["地区代码不存在"]})
            lines = []
            for i, ln in enumerate(body["lines"], start=1):
                if session.get(CatalogItem, ln["catalog"]) is None:
                    raise ValidationError({"lines": [f"第 {i} 行：品目不存在"]})
                lines.append(services.LineSpec(ln["catalog"], ln["count"], ln["reserves"]))
            review_at = body["review_at"].replace(tzinfo=None)
            req = services.create_request(session, project, review_at, lines, pool_region=region,
                                          review_place=body["review_place"], note=body["note"])
            session.commit()
            return self.response(201, id=req.id, result={
                "id": req.id, "seed_hash": req.seed_hash, "status": req.status})

        return self._erp_answer(run)

    @expose("/<int:pk>/record", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def record(self, pk: int):
        """The verifiable record: seed hash, seed (once revealed), each draw's pool hash,
        result and exclusions with reasons, and the replay verdict
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: the record}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            req = self._item(pk)
            session = self.datamodel.session
            rec = request_record(session, req)
            if rec["seed"] is not None:
                for d, out in zip(req.draws, rec["draws"], strict=True):
                    r = services.replay(session, d)
                    out["replay_ok"], out["replay"] = r.ok, r.message
            return self.response(200, result=rec)

        return self._erp_answer(run)


class AssignmentApi(EcApi):
    pb_title = "评审任务"
    resource_name = "ec_assignment"
    datamodel = SQLAInterface(Assignment)
    class_permission_name = "EcAssignment"
    #: read-only (no FAB post/put/delete route); FAB still builds write schemas
    add_columns = edit_columns = ["region"]
    include_route_methods = {"get", "get_list", "info", "respond"}
    name_fields = ("expert_name",)
    list_columns = ["id", "request_id", "draw_id", "project_id", "expert_name", "catalog.code",
                    "catalog.name", "position", "reserve", "review_date", "status",
                    "responded_at", "decline_reason", "region.id", "region.name"]
    show_columns = list_columns
    search_columns = ["request", "project", "status", "review_date", "reserve"]
    order_columns = ["review_date", "position", "status"]
    base_order = ("id", "asc")
    label_columns = {"request": "抽取申请", "project": "采购项目", "expert_name": "专家姓名",
                     "position": "抽取顺序", "reserve": "备选", "review_date": "评审日期",
                     "status": "状态", "responded_at": "答复时间", "decline_reason": "拒绝原因"}
    description_columns = {"status": _desc(ASSIGNMENT_STATES)}
    record_actions = ASSIGNMENT_ACTIONS  # POST /<pk>/respond (core.actions)

class EvaluationApi(EcApi):
    pb_title = "履职评价"
    resource_name = "ec_evaluation"
    datamodel = SQLAInterface(Evaluation)
    class_permission_name = "EcEvaluation"
    #: read-only (no FAB post/put/delete route); FAB still builds write schemas
    add_columns = edit_columns = ["region"]
    include_route_methods = {"get", "get_list", "info", "submit", "appeal", "decide", "overdue"}
    name_fields = ("expert_name",)
    list_columns = ["id", "assignment_id", "expert_id", "project_id", "review_date", "due_date",
                    "status", "score_ethics", "score_competence", "score_discipline",
                    "score_integrity", "total", "remarks", "submitted_at", "appeal_reason",
                    "appealed_at", "decision", "decision_note", "decided_at", "region.id",
                    "region.name"]
    show_columns = list_columns
    search_columns = ["project", "status", "due_date", "review_date", "region"]
    order_columns = ["due_date", "review_date", "total", "status"]
    base_order = ("due_date", "asc")
    label_columns = {"project": "采购项目", "review_date": "评审日期", "due_date": "评价截止日期",
                     "status": "状态", "score_ethics": "职业道德", "score_competence": "专业能力",
                     "score_discipline": "评审纪律", "score_integrity": "廉洁自律",
                     "total": "综合得分", "remarks": "评价意见", "submitted_at": "评价日期",
                     "appeal_reason": "申诉理由", "appealed_at": "申诉日期", "decision": "申诉处理结果",
                     "decision_note": "处理意见", "decided_at": "处理日期"}
    description_columns = {"status": _desc(EVALUATION_STATES)}
    record_actions = EVALUATION_ACTIONS  # POST /<pk>/submit, appeal, decide (core.actions)

    def _init_model_schemas(self) -> None:
        super()._init_model_schemas()
        # the expert's name is added to each answer by _mask (from the assignment, masked
        # until the award): declared in the list and record schemas, so the spec says so
        for schema in (self.list_model_schema, self.show_model_schema):
            schema.fields["expert_name"] = fields.String(dump_only=True, allow_none=True)
            schema.dump_fields["expert_name"] = schema.fields["expert_name"]

    def _mask(self, rows: list[dict[str, Any]]) -> None:
        ids = {r.get("assignment_id") for r in rows}
        session = self.datamodel.session
        names = dict(session.execute(select(Assignment.id, Assignment.expert_name).where(
            Assignment.id.in_(ids)).execution_options(erp_unscoped=True)).all()) if ids else {}
        for r in rows:
            r["expert_name"] = names.get(r.get("assignment_id"), "")
        masking.mask_names(rows)
        if not (services.names_visible(None) or current_scope().actor == "expert"):
            for r in rows:
                if r["expert_name"] == services.HIDDEN_NAME:
                    r["expert_id"] = None

    @expose("/overdue", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def overdue(self):
        """Pending evaluations past their due date (in the user's scope)
        ---
        get:
          responses:
            200: {description: overdue evaluations}
        """
        def run():
            rows = [{"id": e.id, "assignment_id": e.assignment_id, "project_id": e.project_id,
                     "review_date": e.review_date.isoformat(), "due_date": e.due_date.isoformat()}
                    for e in services.overdue_evaluations(self.datamodel.session)]
            self._mask(rows)
            return self.response(200, count=len(rows), result=rows)

        return self._erp_answer(run)


class BadRecordApi(EcApi):
    pb_title = "不良行为记录"
    resource_name = "ec_bad_record"
    datamodel = SQLAInterface(BadRecord)
    class_permission_name = "EcBadRecord"
    include_route_methods = {"get", "get_list", "info", "post"}
    #: no dotted ``expert.*`` columns: FAB would join Expert under an alias, which the
    #: expert's record rule (a subquery on Expert) must not be adapted to
    list_columns = ["id", "expert_id", "kind", "occurred_on", "project_id",
                    "evidence", "consequence", "recorded_by", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["expert", "kind", "occurred_on", "project", "evidence", "region"]
    search_columns = ["expert", "kind", "occurred_on", "region"]
    order_columns = ["occurred_on", "kind"]
    base_order = ("occurred_on", "desc")
    optional_on_add = ("project", "region")
    label_columns = {"expert": "专家", "kind": "不良行为类型", "occurred_on": "发生日期",
                     "project": "相关项目", "evidence": "事实与证据", "consequence": "处理结果",
                     "recorded_by": "登记人"}
    description_columns = {"kind": _desc(BAD_RECORD_KINDS)}

    def post_headless(self):
        """Recorded through the service (consequences by settings, audited)."""
        def run():
            body = json_object_body()
            self._erp_region_first()
            session = self.datamodel.session
            with session.no_autoflush:
                item = self.add_model_schema.load(body, session=session)
                if item in session:
                    session.expunge(item)
                if item.region is not None and item.expert is not None and (
                        item.region.id != item.expert.region_id):
                    raise ValidationError({"region": ["所属地区随专家确定，应与专家的所属地区一致（可不填）"]})
            rec = services.record_bad_record(session, item.expert, item.kind, item.occurred_on,
                                             item.evidence, project=item.project)
            session.commit()
            return self.response(201, id=rec.id, result={
                "id": rec.id, "consequence": rec.consequence,
                "expert_status": rec.expert.status,
                "suspended_until": _iso(rec.expert.suspended_until)})

        return self._erp_answer(run)


class CreditScoreApi(EcApi):
    pb_title = "信用分历史"
    resource_name = "ec_credit_score"
    datamodel = SQLAInterface(CreditScore)
    class_permission_name = "EcCreditScore"
    #: read-only (no FAB post/put/delete route); FAB still builds write schemas
    add_columns = edit_columns = ["region"]
    include_route_methods = {"get", "get_list", "info"}
    list_columns = ["id", "expert_id", "as_of", "score", "band", "base", "penalty",
                    "evaluations", "cause", "region.id", "region.name"]
    show_columns = list_columns
    search_columns = ["expert", "band", "as_of", "region"]
    order_columns = ["as_of", "score"]
    base_order = ("id", "desc")
    label_columns = {"expert": "专家", "as_of": "计算日期", "score": "信用分", "band": "信用等级",
                     "base": "评价基础分", "penalty": "不良记录扣分", "evaluations": "计入评价数",
                     "cause": "触发原因"}
    description_columns = {"band": _desc(BANDS)}


APIS = (ExpertApi, SpecialtyApi, RelationApi, DrawRequestApi, AssignmentApi, EvaluationApi,
        BadRecordApi, CreditScoreApi)


def register(appbuilder) -> None:
    for api in APIS:
        appbuilder.add_api(api)
