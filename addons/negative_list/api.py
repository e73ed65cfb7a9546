"""The REST API of ``negative_list``: rules (``/api/v1/nl_rule/``), checked documents
(``/api/v1/nl_document/``, text in the body or ``POST /api/v1/nl_document/upload`` as
multipart with ``project``, ``title``, ``file``), findings (``/api/v1/nl_finding/``, read-only,
with the actions ``edit``, ``justify``, ``accept``, ``reject``) and the province's statistics
(``GET /api/v1/nl_finding/stats``)."""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name

from addons.procurement_base.models import Project
from core.api import ErpModelRestApi
from core.errors import RuleError

from . import reports, services
from .actions import FINDING_ACTIONS
from .models import NlDocument, NlFinding, NlRule

RULE_COLUMNS = ["code", "name", "category", "keywords", "patterns", "applies_to", "exceptions",
                "legal_basis", "guidance", "active"]


class NlRuleApi(ErpModelRestApi):
    resource_name = "nl_rule"
    datamodel = SQLAInterface(NlRule)
    class_permission_name = "NlRule"
    title = "负面清单规则"
    rules = services.RULE
    optional_on_add = ("region",)
    list_columns = ["id", *RULE_COLUMNS, "region_id", "updated_at"]
    show_columns = list_columns
    add_columns = [*RULE_COLUMNS, "region"]
    edit_columns = RULE_COLUMNS


class NlDocumentApi(ErpModelRestApi):
    resource_name = "nl_document"
    datamodel = SQLAInterface(NlDocument)
    class_permission_name = "NlDocument"
    title = "检查文件"
    rules = services.DOCUMENT
    list_columns = ["id", "project_id", "title", "source", "filename", "size_bytes", "checked_at",
                    "rules_checked", "region_id"]
    show_columns = [*list_columns, "content"]
    add_columns = ["project", "title", "content", "region"]
    edit_columns = ["title", "content"]
    search_columns = ["project", "title", "source"]

    @expose("/upload", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def upload(self):
        """Upload a .docx, .pdf or text file of a draft project and check it
        ---
        post:
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    project: {type: integer}
                    title: {type: string}
                    file: {type: string, format: binary}
          responses:
            201: {description: the document, checked, with its findings}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            from core.db import db

            raw = request.form.get("project", "")
            project = db.session.get(Project, int(raw)) if raw.isdigit() else None
            if project is None:
                raise RuleError({"project": ["请选择采购项目（所选项目不存在或不在您的管辖范围内）"]})
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                raise RuleError({"file": ["请选择要上传的文件"]})
            doc = services.add_document(db.session, project, request.form.get("title"),
                                        data=upload.read(), filename=upload.filename)
            db.session.commit()
            return self.response(201, id=doc.id, result=reports.document_json(doc))

        return self._erp_answer(run)


class NlFindingApi(ErpModelRestApi):
    resource_name = "nl_finding"
    datamodel = SQLAInterface(NlFinding)
    class_permission_name = "NlFinding"
    title = "负面清单检查结果"
    record_actions = FINDING_ACTIONS
    #: read-only: findings are written by the checker, changed only by their actions
    include_route_methods = {"get", "get_list", "info", "stats", "edit", "justify", "accept", "reject"}
    base_permissions = ["can_get", "can_info", "can_act", "can_resolve", "can_review", "can_stats"]
    list_columns = ["id", "document_id", "project_id", "rule_code", "rule_name", "category",
                    "matched", "quote", "section", "section_kind", "location", "legal_basis",
                    "status", "justification", "review_note", "created_at", "resolved_at",
                    "region_id"]
    show_columns = [*list_columns, "guidance", "resolved_by", "reviewed_by", "reviewed_at"]
    search_columns = ["project", "document", "status", "rule_code", "category", "section_kind"]
    order_columns = ["id", "offset", "created_at", "rule_code", "status"]

    @expose("/stats", methods=["GET"])
    @protect()
    @safe
    @permission_name("stats")
    def stats(self):
        """The province's statistics: findings per rule, region, agency, status and month
        ---
        get:
          responses:
            200: {description: the statistics}
        """
        def run():
            from core.db import db

            return self.response(200, result=reports.build(db.session))

        return self._erp_answer(run)


def register(appbuilder) -> None:
    appbuilder.add_api(NlRuleApi)
    appbuilder.add_api(NlDocumentApi)
    appbuilder.add_api(NlFindingApi)
