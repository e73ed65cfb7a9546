"""Pages of ``negative_list`` (menu 负面清单): 负面清单规则 (province admin: rules and region
overrides), 文件检查 (publisher: enter or upload a document of a draft project; its show page
lists the findings), 检查结果 (publisher: edit the clause or justify it; supervisor: accept or
reject a justification), 负面清单统计 (province admin and supervisors: charts and Excel)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from addons.procurement_base.models import Project
from core.db import db
from core.errors import ErpError
from core.services.export import send_xlsx
from core.tenancy import ScopeViolation
from core.views.base import ErpModelView, labelled

from . import checker, reports, services
from .actions import FINDING_ACTIONS
from .models import CATEGORIES, FINDING_STATES, SOURCES, NlDocument, NlFinding, NlRule

CATEGORY = "负面清单"
T = "negative_list"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")


def _region(value: Any) -> str:
    return value.name if value is not None else "全省"


def _applies(value: str | None) -> str:
    if not value:
        return "全部"
    return "、".join(checker.SECTION_KINDS.get(k, k) for k in value.split(","))


class NlRuleView(ErpModelView):
    datamodel = SQLAInterface(NlRule)
    class_permission_name = "NlRule"
    rules = services.RULE
    list_title = show_title = "负面清单规则"
    add_title = "新增规则（全省规则或地区调整）"
    edit_title = "修改规则"
    list_columns = ["code", "name", "category", "region", "active", "updated_at"]
    show_columns = ["code", "name", "category", "keywords", "patterns", "applies_to", "exceptions",
                    "legal_basis", "guidance", "active", "region", "updated_at"]
    add_columns = ["code", "name", "category", "keywords", "patterns", "applies_to", "exceptions",
                   "legal_basis", "guidance", "active", "region"]
    edit_columns = ["name", "category", "keywords", "patterns", "applies_to", "exceptions",
                    "legal_basis", "guidance", "active"]
    search_columns = ["code", "name", "category", "active"]
    order_columns = ["code", "name", "updated_at"]
    base_order = ("code", "asc")
    label_columns = {"code": "规则编号", "name": "规则名称", "category": "类别",
                     "keywords": "关键词（每行一个）", "patterns": "正则表达式（每行一个）",
                     "applies_to": "适用部分", "exceptions": "例外情形（每行一个正则表达式）",
                     "legal_basis": "法律依据", "guidance": "修改指引", "active": "启用",
                     "region": "适用地区（空为全省）", "updated_at": "更新时间"}
    description_columns = {
        "applies_to": "qualification 资格条件、scoring 评分标准、substantive 实质性要求、contract 合同条款，"
                      "用逗号分隔；留空为全部",
        "region": "留空为全省规则；选择地区则为该地区对同编号全省规则的调整（可停用）",
    }
    formatters_columns = {"category": labelled(CATEGORIES), "region": _region,
                          "applies_to": _applies, "active": lambda v: "是" if v else "否"}


class NlDocumentView(ErpModelView):
    datamodel = SQLAInterface(NlDocument)
    class_permission_name = "NlDocument"
    rules = services.DOCUMENT
    template_folder = TEMPLATE_FOLDER
    show_template = f"{T}/document_show.html"
    list_template = f"{T}/document_list.html"
    list_title = show_title = "文件检查"
    add_title = "录入采购文件并检查"
    edit_title = "修改文件内容并重新检查"
    list_columns = ["title", "project", "source", "checked_at", "rules_checked"]
    show_columns = ["title", "project", "source", "filename", "size_bytes", "checked_at",
                    "rules_checked"]
    add_columns = ["project", "title", "content"]
    edit_columns = ["title", "content"]
    search_columns = ["title", "project", "source"]
    label_columns = {"title": "文件名称", "project": "采购项目", "source": "来源", "filename": "上传文件",
                     "size_bytes": "大小（字节）", "checked_at": "检查时间", "rules_checked": "检查规则数",
                     "content": "文件内容"}
    description_columns = {"content": "粘贴招标（采购）文件全文，每段一行；“格式”“声明函”等章节不检查"}
    formatters_columns = {"source": labelled(SOURCES)}

    def show_context(self, item: NlDocument) -> dict[str, Any]:
        return {"doc": item, "findings": item.findings, "states": FINDING_STATES,
                "kinds": checker.SECTION_KIND_LABELS}

    @expose("/upload", methods=["GET", "POST"])
    @has_access
    @permission_name("add")
    def upload(self):
        session = db.session
        projects = session.scalars(select(Project).where(Project.status == "draft")
                                   .order_by(Project.number)).all()
        errors: dict[str, list[str]] = {}
        if request.method == "POST":
            raw = request.form.get("project", "")
            project = session.get(Project, int(raw)) if raw.isdigit() else None
            upload = request.files.get("file")
            try:
                if upload is None or not upload.filename:
                    raise services.RuleError({"file": ["请选择要上传的文件"]})
                doc = services.add_document(session, project, request.form.get("title"),
                                            data=upload.read(), filename=upload.filename)
                session.commit()
            except ScopeViolation as exc:
                session.rollback()
                errors = {"project": [exc.message]}
            except ErpError as exc:
                session.rollback()
                msgs = getattr(exc, "messages", None)
                errors = msgs if isinstance(msgs, dict) else {"_schema": [str(exc)]}
            else:
                flash(f"已检查“{doc.title}”：发现 {len(doc.findings)} 处疑似隐性壁垒", "success")
                return redirect(url_for("NlDocumentView.show", pk=doc.id))
        return self.render_template(f"{T}/upload.html", projects=projects, errors=errors,
                                    form=request.form, title="上传采购文件并检查")


class NlFindingView(ErpModelView):
    datamodel = SQLAInterface(NlFinding)
    class_permission_name = "NlFinding"
    record_actions = FINDING_ACTIONS
    template_folder = TEMPLATE_FOLDER
    show_template = f"{T}/finding_show.html"
    base_permissions = ["can_list", "can_show", "can_act", "can_resolve", "can_review"]
    list_title = show_title = "负面清单检查结果"
    list_columns = ["rule_code", "rule_name", "project", "matched", "location", "status", "created_at"]
    show_columns = ["rule_code", "rule_name", "category", "project", "document", "section",
                    "section_kind", "location", "quote", "legal_basis", "guidance", "status",
                    "justification", "resolved_by", "resolved_at", "review_note", "reviewed_by",
                    "reviewed_at", "created_at"]
    search_columns = ["status", "rule_code", "project", "category"]
    order_columns = ["created_at", "rule_code", "status"]
    base_order = ("created_at", "desc")
    label_columns = {"rule_code": "规则编号", "rule_name": "规则", "category": "类别", "project": "采购项目",
                     "document": "文件", "section": "所在章节", "section_kind": "章节类型",
                     "location": "位置", "matched": "命中文字", "quote": "原文", "legal_basis": "法律依据",
                     "guidance": "修改指引", "status": "处理状态", "justification": "保留理由",
                     "resolved_by": "处理人", "resolved_at": "处理时间", "review_note": "审核意见",
                     "reviewed_by": "审核人", "reviewed_at": "审核时间", "created_at": "发现时间"}
    formatters_columns = {"status": labelled(FINDING_STATES), "category": labelled(CATEGORIES),
                          "section_kind": labelled(checker.SECTION_KIND_LABELS)}

    def show_context(self, item: NlFinding) -> dict[str, Any]:
        return {"f": item, "states": FINDING_STATES}


class NlStatsView(BaseView):
    """负面清单统计: findings per rule, region, agency and month; charts and Excel."""

    route_base = "/nl-stats"
    class_permission_name = "NlStats"
    default_view = "index"
    template_folder = TEMPLATE_FOLDER
    base_permissions = ["can_list", "can_export"]

    @expose("/")
    @has_access
    @permission_name("list")
    def index(self):
        data = reports.build(db.session)
        return self.render_template(f"{T}/stats.html", data=data, charts=reports.charts(data),
                                    states=FINDING_STATES, title="负面清单检查统计")

    @expose("/export/")
    @has_access
    @permission_name("export")
    def export(self):
        body, filename = reports.export(db.session)
        return send_xlsx(body, filename)


def register(appbuilder) -> None:
    appbuilder.add_view(NlDocumentView, "文件检查", category=CATEGORY, icon="fa-search")
    appbuilder.add_view(NlFindingView, "检查结果", category=CATEGORY, icon="fa-flag")
    appbuilder.add_view(NlRuleView, "负面清单规则", category=CATEGORY, icon="fa-list")
    appbuilder.add_view(NlStatsView, "负面清单统计", category=CATEGORY, icon="fa-bar-chart")
