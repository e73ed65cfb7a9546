"""Pages of ``expert_credit`` (menu 评审专家): 专家库, 我的专家档案, 评审专业, 回避关系,
抽取申请 (create, draw, further draw, close and reveal, verification page), 评审任务,
履职评价 (due / overdue, form, appeal, decision), 不良行为记录, 信用分历史, 统计报表.

Pages are thin: every action calls :mod:`.services`; a refusal is flashed (or shown on
the form field) and nothing is written. ID numbers and names follow :mod:`.masking`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from marshmallow import ValidationError
from sqlalchemy import select
from wtforms import BooleanField, SelectField

from addons.procurement_base.models import CatalogItem, Project
from addons.procurement_base.views import PbModelView
from core.db import db
from core.models import Region
from core.services.export import send_xlsx
from core.services.statemachine import TransitionError
from core.tenancy import ScopeViolation, current_scope
from core.views.base import labelled as _labelled

from . import masking, reports, services
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

CATEGORY = "评审专家"
TEMPLATES = "expert_credit"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")


def _message(exc: Exception) -> str:
    if isinstance(exc, ScopeViolation | TransitionError):
        return exc.message
    messages = getattr(exc, "messages", None)
    if isinstance(messages, dict):
        return "；".join(m for texts in messages.values()
                        for m in (texts if isinstance(texts, list) else [texts]))
    if isinstance(messages, list):
        return "；".join(str(m) for m in messages)
    return str(exc)


def _run(fn: Any, ok: str) -> bool:
    """Run a service call and commit; flash the refusal and roll back on error."""
    try:
        fn()
        db.session.commit()
    except (ValidationError, ScopeViolation, TransitionError) as exc:
        db.session.rollback()
        flash(f"未执行：{_message(exc)}", "danger")
        return False
    flash(ok, "success")
    return True


def _select(label: str, mapping: dict[str, str], empty: str | None = None) -> SelectField:
    choices = ([("", empty)] if empty is not None else []) + list(mapping.items())
    return SelectField(label, choices=choices, widget=Select2Widget())


def _date(v: Any) -> str:
    return v.isoformat() if v else "—"


# -- registry ---------------------------------------------------------------------------------
class SpecialtyView(PbModelView):
    datamodel = SQLAInterface(ExpertSpecialty)
    class_permission_name = "EcSpecialty"
    validator = staticmethod(services.validate_specialty)
    list_title = show_title = "评审专业"
    add_title = "新增评审专业"
    edit_title = "修改评审专业"
    list_columns = ["expert", "catalog"]
    show_columns = add_columns = edit_columns = ["expert", "catalog"]
    label_columns = {"expert": "专家", "catalog": "品目（评审专业）"}

    def pre_delete(self, item: ExpertSpecialty) -> None:
        services._own_profile_check(self.datamodel.session, item.expert)


class RelationView(PbModelView):
    datamodel = SQLAInterface(ExpertRelation)
    class_permission_name = "EcRelation"
    validator = staticmethod(services.validate_relation)
    list_title = show_title = "回避关系（任职、董监高、股东、亲属）"
    add_title = "申报回避关系"
    edit_title = "修改回避关系"
    list_columns = ["expert", "kind", "org_name", "org_credit_code", "detail", "date_from", "date_to"]
    show_columns = ["expert", "kind", "org", "org_name", "org_credit_code", "detail", "date_from",
                    "date_to"]
    add_columns = edit_columns = show_columns
    search_columns = ["expert", "kind", "org_name", "org_credit_code"]
    label_columns = {"expert": "专家", "kind": "关系类型", "org": "单位（平台已登记单位）",
                     "org_name": "单位名称", "org_credit_code": "统一社会信用代码",
                     "detail": "职务或亲属关系", "date_from": "开始日期", "date_to": "结束日期（空=至今）"}
    description_columns = {"org": "平台已登记的单位请直接选择；否则填写单位名称和统一社会信用代码",
                           "date_to": "任职、董监高、股东关系结束未满回避年限（默认 3 年）的仍须回避"}
    formatters_columns = {"kind": _labelled(RELATION_KINDS)}
    add_form_extra_fields = edit_form_extra_fields = {"kind": _select("关系类型", RELATION_KINDS)}

    def pre_delete(self, item: ExpertRelation) -> None:
        services._own_profile_check(self.datamodel.session, item.expert)


class CreditScoreView(PbModelView):
    datamodel = SQLAInterface(CreditScore)
    class_permission_name = "EcCreditScore"
    base_permissions = ["can_list", "can_show"]
    list_title = show_title = "信用分历史"
    list_columns = ["expert", "as_of", "score", "band", "base", "penalty", "evaluations", "cause"]
    show_columns = list_columns
    search_columns = ["expert", "band", "as_of"]
    base_order = ("id", "desc")
    label_columns = {"expert": "专家", "as_of": "计算日期", "score": "信用分", "band": "信用等级",
                     "base": "评价基础分", "penalty": "不良记录扣分", "evaluations": "计入评价数",
                     "cause": "触发原因"}
    formatters_columns = {"band": _labelled(BANDS)}
    search_form_extra_fields = {"band": _select("信用等级", BANDS, "全部")}


class BadRecordView(PbModelView):
    datamodel = SQLAInterface(BadRecord)
    class_permission_name = "EcBadRecord"
    base_permissions = ["can_list", "can_show", "can_add"]
    list_title = show_title = "不良行为记录"
    add_title = "登记不良行为记录"
    list_columns = ["expert", "kind", "occurred_on", "project", "consequence", "recorded_by"]
    show_columns = ["expert", "kind", "occurred_on", "project", "evidence", "consequence",
                    "recorded_by"]
    add_columns = ["expert", "kind", "occurred_on", "project", "evidence"]
    search_columns = ["expert", "kind", "occurred_on"]
    base_order = ("occurred_on", "desc")
    label_columns = {"expert": "专家", "kind": "不良行为类型", "occurred_on": "发生日期",
                     "project": "相关项目", "evidence": "事实与证据", "consequence": "处理结果",
                     "recorded_by": "登记人"}
    description_columns = {"kind": "处理结果（扣分、暂停月数、解聘）按参数设置自动执行并记入审计日志"}
    formatters_columns = {"kind": _labelled(BAD_RECORD_KINDS)}
    add_form_extra_fields = {"kind": _select("不良行为类型", BAD_RECORD_KINDS)}
    search_form_extra_fields = {"kind": _select("不良行为类型", BAD_RECORD_KINDS, "全部")}

    def pre_add(self, item: BadRecord) -> None:
        # the service records it (consequences, audit); FAB's own insert is skipped
        rec = services.record_bad_record(self.datamodel.session, item.expert, item.kind,
                                         item.occurred_on, item.evidence, project=item.project)
        self._recorded = rec

    def _add(self):  # FAB's add, with the service doing the insert
        from flask_appbuilder.urltools import get_filter_args

        get_filter_args(self._filters, disallow_if_not_in_search=False)
        form = self.add_form.refresh()
        if request.method == "POST" and form.validate():
            item = BadRecord()
            form.populate_obj(item)
            session = self.datamodel.session
            if item in session:
                session.expunge(item)
            if _run(lambda: self.pre_add(item), "不良行为记录已登记，处理结果已按参数设置执行"):
                return None
        return self._get_add_widget(form=form, exclude_cols=[])


EXPERT_LABELS = {
    "name": "姓名", "id_number": "身份证号码", "phone": "联系电话", "employer": "工作单位（平台单位）",
    "employer_name": "工作单位", "title": "专业技术职称", "title_years": "从业年限（年）",
    "status": "状态", "suspended_until": "暂停截止日期", "finance_supervisor": "财政部门监管人员",
    "credit_score": "信用分", "credit_band": "信用等级", "region": "所属地区", "note": "备注",
}


class ExpertView(PbModelView):
    """专家库 (expert managers): the ID number is shown in full only to them."""

    datamodel = SQLAInterface(Expert)
    class_permission_name = "EcExpert"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_export",
                        "can_manage", "can_transition"]
    validator = staticmethod(services.validate_expert)
    export_permission = "EcExpert"
    list_title = show_title = "评审专家库"
    add_title = "新增评审专家"
    edit_title = "修改专家档案"
    list_columns = ["name", "id_number", "employer_name", "title", "region", "status",
                    "credit_score", "credit_band"]
    show_columns = ["name", "id_number", "phone", "employer", "employer_name", "title",
                    "title_years", "region", "status", "suspended_until", "finance_supervisor",
                    "credit_score", "credit_band", "note"]
    add_columns = ["name", "id_number", "phone", "employer", "employer_name", "title",
                   "title_years", "region", "finance_supervisor", "note"]
    edit_columns = add_columns
    search_columns = ["name", "status", "credit_band", "region", "employer_name", "title"]
    order_columns = ["name", "credit_score", "status"]
    base_order = ("id", "asc")
    label_columns = EXPERT_LABELS
    formatters_columns = {"id_number": masking.id_for_viewer, "status": _labelled(EXPERT_STATES),
                          "credit_band": _labelled(BANDS)}
    add_form_extra_fields = edit_form_extra_fields = {
        "finance_supervisor": BooleanField("财政部门监管人员（不参加抽取）")}
    search_form_extra_fields = {"status": _select("状态", EXPERT_STATES, "全部"),
                                "credit_band": _select("信用等级", BANDS, "全部")}
    related_views = [SpecialtyView, RelationView, CreditScoreView, BadRecordView]
    record_actions = EXPERT_ACTIONS  # suspend, dismiss, reinstate (core.actions)

    def pre_add(self, item: Expert) -> None:
        item.status = item.status or "active"
        item.credit_band = item.credit_band or "new"
        super().pre_add(item)

    @expose("/export/")
    @has_access
    @permission_name("export")
    def export(self):
        return self._pb_export(reports.expert_xlsx)

class MyProfileView(PbModelView):
    """我的专家档案: the expert's own profile (record rule: ``user_id``); the ID number is
    masked here too; the expert updates contact, title and employer, and declares
    relations and specialties on the linked pages (audited)."""

    datamodel = SQLAInterface(Expert)
    class_permission_name = "EcMyProfile"
    base_permissions = ["can_list", "can_show", "can_edit"]
    list_title = show_title = "我的专家档案"
    edit_title = "更新我的档案"
    list_columns = ["name", "id_number", "employer_name", "title", "status", "credit_score",
                    "credit_band"]
    show_columns = ExpertView.show_columns
    edit_columns = ["phone", "employer_name", "title", "title_years", "note"]
    label_columns = EXPERT_LABELS
    formatters_columns = ExpertView.formatters_columns
    related_views = [SpecialtyView, RelationView, CreditScoreView]

    def pre_update(self, item: Expert) -> None:
        if current_scope().actor == "expert" and item.user_id != current_scope().user_id:
            raise ScopeViolation("name", "只能维护本人的专家档案")
        services.validate_expert(self.datamodel.session, item)


# -- draws ------------------------------------------------------------------------------------
class AssignmentView(PbModelView):
    datamodel = SQLAInterface(Assignment)
    class_permission_name = "EcAssignment"
    base_permissions = ["can_list", "can_show", "can_respond"]
    list_template = f"{TEMPLATES}/assignments.html"
    list_title = show_title = "评审任务"
    # the expert reaches neither the project nor the request: shown by their ids, read for
    # the page by services.assignment_labels
    list_columns = ["request_id", "project_id", "shown_name", "catalog", "review_date", "reserve",
                    "status", "decline_reason"]
    show_columns = list_columns
    search_columns = ["project", "status", "review_date", "reserve"]
    base_order = ("id", "desc")
    label_columns = {"request": "抽取申请", "project": "采购项目", "request_id": "抽取申请",
                     "project_id": "采购项目", "shown_name": "专家",
                     "catalog": "评审专业", "review_date": "评审日期", "reserve": "备选",
                     "status": "状态", "decline_reason": "拒绝原因"}
    formatters_columns = {
        "status": _labelled(ASSIGNMENT_STATES),
        "reserve": lambda v: "备选" if v else "正选",
        "project_id": lambda v: services.assignment_labels(db.session, v, None)[0] or "—",
        "request_id": lambda v: services.assignment_labels(db.session, None, v)[1] or "—",
    }
    search_form_extra_fields = {"status": _select("状态", ASSIGNMENT_STATES, "全部")}
    record_actions = ASSIGNMENT_ACTIONS  # accept or decline (core.actions)

    @expose("/list/")
    @has_access
    def list(self):
        """The list, with the assignments waiting for the user's answer above it (each with
        its 接受 and 拒绝 buttons, posting the ``respond`` action)."""
        self.update_redirect()
        widgets = self._list()
        pending = []
        if self.appbuilder.sm.has_access("can_respond", self.class_permission_name):
            pending = [(a, *services.assignment_labels(db.session, a.project_id, a.request_id))
                       for a in services.pending_assignments(db.session)]
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    pending=pending)


class DrawRequestView(PbModelView):
    datamodel = SQLAInterface(DrawRequest)
    class_permission_name = "EcDrawRequest"
    base_permissions = ["can_list", "can_show", "can_add", "can_draw"]
    show_template = f"{TEMPLATES}/request_show.html"
    list_title = show_title = "专家抽取申请"
    list_columns = ["id", "project", "review_at", "pool_region", "status", "seed_hash",
                    "created_at"]
    show_columns = ["project", "review_at", "review_place", "pool_region", "status", "seed_hash",
                    "seed_revealed_at", "created_at", "created_by", "note"]
    search_columns = ["project", "status", "review_date"]
    base_order = ("id", "desc")
    label_columns = {"id": "编号", "project": "采购项目", "review_at": "评审时间",
                     "review_place": "评审地点", "pool_region": "抽取范围", "status": "状态",
                     "seed_hash": "种子哈希（SHA-256，申请时公布）", "seed_revealed_at": "种子公开时间",
                     "created_at": "申请时间", "created_by": "申请人", "note": "备注",
                     "review_date": "评审日期"}
    formatters_columns = {"status": _labelled(REQUEST_STATES),
                          "seed_hash": lambda v: (v or "")[:16] + "…"}
    search_form_extra_fields = {"status": _select("状态", REQUEST_STATES, "全部")}
    record_actions = REQUEST_ACTIONS  # draw, close (core.actions)

    def show_context(self, item: DrawRequest) -> dict[str, Any]:
        return {"ec_record": request_record(db.session, item)}

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        session = db.session
        projects = session.execute(select(Project).where(
            Project.status.in_(("published", "bidding", "evaluated"))).order_by(Project.number)
        ).scalars().all()
        catalogs = session.execute(select(CatalogItem).where(CatalogItem.active.is_(True))
                                   .order_by(CatalogItem.code)).scalars().all()
        regions = session.execute(select(Region).where(Region.code.like("22%")).order_by(Region.code)
                                  ).scalars().all()
        form = request.form
        if request.method == "POST":
            def do():
                errors: dict[str, list[str]] = {}
                project = session.get(Project, int(form.get("project") or 0))
                if project is None:
                    errors["project"] = ["请选择采购项目"]
                try:
                    review_at = dt.datetime.fromisoformat(form.get("review_at") or "")
                except ValueError:
                    errors["review_at"] = ["请填写评审时间"]
                lines = []
                for i in range(1, 6):
                    cat = form.get(f"catalog_{i}")
                    if not cat:
                        continue
                    try:
                        lines.append(services.LineSpec(int(cat), int(form.get(f"count_{i}") or 0),
                                                       int(form.get(f"reserves_{i}") or 0)))
                    except ValueError:
                        errors["lines"] = [f"第 {i} 行：人数须为整数"]
                if errors:
                    raise ValidationError(errors)
                region = session.execute(select(Region).where(
                    Region.code == (form.get("pool_region") or "220000"))).scalar()
                req = services.create_request(session, project, review_at, lines,
                                              pool_region=region,
                                              review_place=form.get("review_place") or None,
                                              note=form.get("note") or None)
                self._created = req.id

            if _run(do, "抽取申请已创建，种子哈希已公布"):
                return redirect(url_for(f"{type(self).__name__}.show", pk=self._created))
        return self.render_template(f"{TEMPLATES}/request_add.html", projects=projects,
                                    catalogs=catalogs, regions=regions, form=form,
                                    title="新建专家抽取申请")

# -- evaluations ----------------------------------------------------------------------------
class OverdueFilter(FilterEqual):
    name = "已逾期"


class EvaluationView(PbModelView):
    datamodel = SQLAInterface(Evaluation)
    class_permission_name = "EcEvaluation"
    base_permissions = ["can_list", "can_show", "can_evaluate", "can_appeal", "can_decide"]
    list_template = f"{TEMPLATES}/evaluations.html"
    list_title = show_title = "履职评价"
    list_columns = ["project", "shown_name", "review_date", "due_date", "status", "total",
                    "submitted_at"]
    show_columns = ["project", "shown_name", "review_date", "due_date", "status",
                    "score_ethics", "score_competence", "score_discipline", "score_integrity",
                    "total", "remarks", "submitted_at", "appeal_reason", "appealed_at",
                    "decision", "decision_note", "decided_at"]
    search_columns = ["project", "status", "due_date", "review_date"]
    base_order = ("due_date", "asc")
    label_columns = {"project": "采购项目", "shown_name": "专家", "review_date": "评审日期",
                     "due_date": "评价截止日期", "status": "状态", "score_ethics": "职业道德",
                     "score_competence": "专业能力", "score_discipline": "评审纪律",
                     "score_integrity": "廉洁自律", "total": "综合得分", "remarks": "评价意见",
                     "submitted_at": "评价日期", "appeal_reason": "申诉理由", "appealed_at": "申诉日期",
                     "decision": "申诉处理", "decision_note": "处理意见", "decided_at": "处理日期"}
    formatters_columns = {"status": _labelled(EVALUATION_STATES),
                          "decision": _labelled({"upheld": "维持原评价", "revised": "改分"})}
    search_form_extra_fields = {"status": _select("状态", EVALUATION_STATES, "全部")}
    record_actions = EVALUATION_ACTIONS  # submit, appeal, decide (core.actions)

    def _ec_extra(self) -> None:
        from . import services as s

        try:
            weights = s.criteria_weights(db.session, None)
        except ValidationError:
            weights = {}
        self.extra_args = {**(self.extra_args or {}),
                           "ec_criteria": [(c, s.CRITERIA_LABELS[c], weights.get(c)) for c in s.CRITERIA],
                           "ec_overdue": len(s.overdue_evaluations(db.session))}

    @expose("/list/")
    @has_access
    def list(self):
        self._ec_extra()
        return super().list()


# -- reports --------------------------------------------------------------------------------
class ExpertReportsView(BaseView):
    """统计报表: charts (core.services.charts) and Excel exports."""

    route_base = "/expert-reports"
    class_permission_name = "EcReports"
    default_view = "index"
    template_folder = TEMPLATE_FOLDER
    base_permissions = ["can_list", "can_export"]

    @expose("/")
    @has_access
    @permission_name("list")
    def index(self):
        data = reports.build_all(db.session)
        charts = reports.charts(data)
        return self.render_template(f"{TEMPLATES}/reports.html", data=data, charts=charts,
                                    title="评审专家统计报表")

    @expose("/export/<string:name>")
    @has_access
    @permission_name("export")
    def export(self, name: str):
        if name not in reports.REPORTS:
            abort(404)
        body, filename = reports.export(db.session, name)
        return send_xlsx(body, filename)


def register(appbuilder) -> None:
    appbuilder.add_view(ExpertView, "专家库", category=CATEGORY, icon="fa-users")
    appbuilder.add_view(MyProfileView, "我的专家档案", category=CATEGORY, icon="fa-user")
    appbuilder.add_view(DrawRequestView, "专家抽取", category=CATEGORY, icon="fa-random")
    appbuilder.add_view(AssignmentView, "评审任务", category=CATEGORY, icon="fa-tasks")
    appbuilder.add_view(EvaluationView, "履职评价", category=CATEGORY, icon="fa-star-half-o")
    appbuilder.add_view(BadRecordView, "不良行为记录", category=CATEGORY, icon="fa-exclamation-triangle")
    appbuilder.add_view(CreditScoreView, "信用分历史", category=CATEGORY, icon="fa-line-chart")
    appbuilder.add_view(ExpertReportsView, "专家统计报表", category=CATEGORY, icon="fa-bar-chart")
    appbuilder.add_view_no_menu(SpecialtyView)
    appbuilder.add_view_no_menu(RelationView)
