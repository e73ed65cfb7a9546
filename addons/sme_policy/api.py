"""REST API of ``sme_policy`` (``/api/v1/sme_project/``, ``/api/v1/sme_declaration/``,
``/api/v1/sme_disclosure/``). Thin: the rules objects and the services decide."""

from __future__ import annotations

from flask_appbuilder.api import expose, protect, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name

from core.api import ErpModelRestApi

from . import reports
from . import rules as sme_rules
from .actions import DISCLOSURE_ACTIONS, PROJECT_POLICY_ACTIONS
from .models import Declaration, Disclosure, ProjectPolicy
from .views import DECLARATION_LABELS, DISCLOSURE_LABELS, POLICY_LABELS


class SmeProjectPolicyApi(ErpModelRestApi):
    title = "中小企业预留设置"
    resource_name = "sme_project"
    datamodel = SQLAInterface(ProjectPolicy)
    class_permission_name = "SmeProjectPolicy"
    rules = sme_rules.PROJECT_POLICY
    record_actions = PROJECT_POLICY_ACTIONS
    list_columns = ["id", "project_id", "suits_sme", "reason",
                    "small_micro_percent", "deduction_rate", "group_deduction_rate",
                    "rerun_of_id", "note", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["project", "suits_sme", "reason", "small_micro_percent", "deduction_rate",
                   "group_deduction_rate", "note", "region"]
    edit_columns = ["suits_sme", "reason", "small_micro_percent", "deduction_rate",
                    "group_deduction_rate", "note"]
    label_columns = POLICY_LABELS
    optional_on_add = ("region", "suits_sme")


class SmeDeclarationApi(ErpModelRestApi):
    title = "中小企业声明函"
    resource_name = "sme_declaration"
    datamodel = SQLAInterface(Declaration)
    class_permission_name = "SmeDeclaration"
    rules = sme_rules.DECLARATION
    list_columns = ["id", "bid_id", "package_id", "supplier.id", "supplier.name", "industry",
                    "size", "arrangement", "small_micro_share", "employees", "revenue",
                    "declared_on", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["bid", "industry", "size", "arrangement", "small_micro_share", "employees",
                   "revenue", "declared_on", "region"]
    edit_columns = ["industry", "size", "arrangement", "small_micro_share", "employees",
                    "revenue", "declared_on"]
    label_columns = DECLARATION_LABELS
    optional_on_add = ("region", "arrangement", "declared_on")


class SmeDisclosureApi(ErpModelRestApi):
    title = "中小企业预留执行情况公开"
    resource_name = "sme_disclosure"
    datamodel = SQLAInterface(Disclosure)
    class_permission_name = "SmeDisclosure"
    rules = sme_rules.DISCLOSURE
    record_actions = DISCLOSURE_ACTIONS
    list_columns = ["id", "unit.id", "unit.name", "year", "status", "total_amount",
                    "suitable_amount", "reserved_whole", "reserved_package",
                    "reserved_consortium", "reserved_subcontract", "reserved_total",
                    "sme_amount", "small_micro_amount", "reserved_share", "sme_share",
                    "small_micro_share", "target_reserved", "target_small_micro",
                    "shortfall_explanation", "due_date", "signed_by", "signed_at",
                    "published_on", "notice_link", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["unit", "year", "shortfall_explanation", "region"]
    edit_columns = ["shortfall_explanation"]
    label_columns = DISCLOSURE_LABELS
    optional_on_add = ("region", "shortfall_explanation")

    @expose("/<int:pk>/export", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def export(self, pk: int):
        """The disclosure as an xlsx workbook (summary and project list).
        ---
        get:
          parameters:
          - in: path
            name: pk
            schema: {type: integer}
          responses:
            200:
              description: xlsx file
            404:
              $ref: '#/components/responses/404'
        """
        item = self.datamodel.get(pk)
        if item is None:
            return self.response_404()
        return reports.send_disclosure(item)


def register(appbuilder) -> None:
    appbuilder.add_api(SmeProjectPolicyApi)
    appbuilder.add_api(SmeDeclarationApi)
    appbuilder.add_api(SmeDisclosureApi)
