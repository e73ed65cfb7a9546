"""Pages of ``sme_policy`` (menu 中小企业扶持): 项目预留设置, 中小企业声明函, 预留执行情况公开
(with the Excel export and the flow buttons), 预留情况看板 (finance bureaus: shares per unit
and region, trend, units below target, units that have not published)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flask import abort, request
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from wtforms import IntegerField
from wtforms.validators import DataRequired

from addons.procurement_base.models import SME_MEASURES
from core.db import db
from core.services.charts import bar_chart, line_chart
from core.services.money import fmt_yuan
from core.tenancy import current_scope
from core.views.base import ErpModelView, flag_field, labelled, money_text, select_field

from . import dashboard, policy, reports
from . import rules as sme_rules
from .actions import DISCLOSURE_ACTIONS, PROJECT_POLICY_ACTIONS
from .models import (
    ARRANGEMENTS,
    DISCLOSURE_STATES,
    INDUSTRIES,
    SIZES,
    Declaration,
    Disclosure,
    ProjectPolicy,
)

CATEGORY = "中小企业扶持"
T = "sme_policy"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")


def pct(value: Any) -> str:
    return "—" if value is None else f"{value}%"


def yes_no(value: Any) -> str:
    return "是" if value else "否"


POLICY_LABELS = {
    "project": "采购项目", "project_id": "采购项目", "project.number": "项目编号",
    "project.name": "项目名称", "suits_sme": "适宜由中小企业提供",
    "reason": "未预留（或不适宜）理由", "small_micro_percent": "预留份额中面向小微企业比例（%）",
    "deduction_rate": "小微企业价格扣除比例（%）",
    "group_deduction_rate": "联合体/分包价格扣除比例（%）", "rerun_of": "重新采购自",
    "rerun_of_id": "重新采购自", "note": "备注", "region": "所在地区",
}
DECLARATION_LABELS = {
    "bid": "投标", "bid_id": "投标", "package": "采购包", "package_id": "采购包",
    "supplier": "供应商", "supplier.name": "供应商", "industry": "所属行业", "size": "企业规模",
    "arrangement": "投标方式", "small_micro_share": "小微企业份额（%）", "employees": "从业人员（人）",
    "revenue": "营业收入（元）", "declared_on": "声明日期", "region": "所在地区",
}
DISCLOSURE_LABELS = {
    "unit": "主管预算单位", "unit.name": "主管预算单位", "year": "年度", "status": "状态",
    "total_amount": "采购总额（元）", "suitable_amount": "适宜中小企业的采购金额（元）",
    "reserved_whole": "整体预留（元）", "reserved_package": "专门采购包（元）",
    "reserved_consortium": "要求联合体（元）", "reserved_subcontract": "要求分包（元）",
    "reserved_total": "预留总额（元）", "sme_amount": "授予中小企业合同金额（元）",
    "small_micro_amount": "授予小微企业合同金额（元）", "reserved_share": "预留占比",
    "sme_share": "中小企业合同占比", "small_micro_share": "预留份额中小微企业占比",
    "target_reserved": "预留目标", "target_small_micro": "小微企业目标",
    "shortfall_explanation": "未完成目标的原因说明", "due_date": "公开截止日",
    "computed_at": "计算时间", "reviewed_at": "复核时间", "signed_at": "签发时间",
    "signed_by": "签发人", "published_on": "公开日期", "notice_link": "公告地址",
    "region": "所在地区",
}


class SmeProjectPolicyView(ErpModelView):
    datamodel = SQLAInterface(ProjectPolicy)
    class_permission_name = "SmeProjectPolicy"
    rules = sme_rules.PROJECT_POLICY
    record_actions = PROJECT_POLICY_ACTIONS
    show_template = f"{T}/policy_show.html"
    list_title = show_title = "项目中小企业预留设置"
    add_title = "填写中小企业预留设置"
    edit_title = "修改中小企业预留设置"
    list_columns = ["project", "suits_sme", "small_micro_percent", "deduction_rate",
                    "group_deduction_rate", "region"]
    show_columns = ["project", "suits_sme", "reason", "small_micro_percent", "deduction_rate",
                    "group_deduction_rate", "rerun_of", "note", "region"]
    add_columns = ["project", "suits_sme", "reason", "small_micro_percent", "deduction_rate",
                   "group_deduction_rate", "note"]
    edit_columns = ["suits_sme", "reason", "small_micro_percent", "deduction_rate",
                    "group_deduction_rate", "note"]
    search_columns = ["project", "suits_sme", "region"]
    label_columns = POLICY_LABELS
    formatters_columns = {"suits_sme": yes_no, "small_micro_percent": pct,
                          "deduction_rate": pct, "group_deduction_rate": pct}
    add_form_extra_fields = {"suits_sme": flag_field("适宜由中小企业提供", default=True)}
    edit_form_extra_fields = add_form_extra_fields
    add_form_query_rel_fields = {"project": [["status", FilterEqual, "draft"]]}
    description_columns = {
        "reason": "适宜由中小企业提供而未预留（或预留不足）、或不适宜由中小企业提供时必填",
        "deduction_rate": "仅非预留项目：货物、服务 10%–20%，工程另定（按地区设置）",
    }

    def show_context(self, item: ProjectPolicy) -> dict[str, Any]:
        session = db.session
        project = item.project
        packages = []
        if project is not None:
            need = policy.setting("sme.min_sme_bids", project.region_id, session)
            opened = project.status not in ("draft", "published")
            for pkg in project.packages:
                reserved = policy.package_reserved(project, pkg)
                n = policy.qualifying_bids(session, pkg) if reserved else None
                packages.append({"number": pkg.number, "name": pkg.name,
                                 "budget": fmt_yuan(pkg.budget), "reserved": yes_no(reserved),
                                 "sme_bids": "—" if n is None else (f"{n} 家" if opened or
                                                                     current_scope().unrestricted
                                                                     else "开标后公开"),
                                 "short": n is not None and n < need and opened})
        winners = [
            {"supplier": d.supplier.name, "package": d.package.number,
             "industry": INDUSTRIES.get(d.industry, ""), "size": SIZES.get(d.size, ""),
             "arrangement": ARRANGEMENTS.get(d.arrangement, ""),
             "share": pct(d.small_micro_share), "declared_on": d.declared_on}
            for d in dashboard.winner_declarations(session, project)
        ] if project is not None else []
        contracts = [{**c, "amount": fmt_yuan(c["amount"])}
                     for c in dashboard.contract_marks(session, project)]
        return {"project": project, "packages": packages, "winners": winners,
                "contracts": contracts,
                "measure": SME_MEASURES.get(project.sme_measure, "—") if project else "—",
                "refusal": (policy.publication_refusal(session, project)
                            if project is not None and project.status == "draft" else None),
                "budget": fmt_yuan(project.budget) if project else "—",
                "reserved_amount": money_text(project.sme_reserved_amount) if project else ""}


class SmeDeclarationView(ErpModelView):
    datamodel = SQLAInterface(Declaration)
    class_permission_name = "SmeDeclaration"
    rules = sme_rules.DECLARATION
    list_title = show_title = "中小企业声明函"
    add_title = "出具中小企业声明函"
    edit_title = "修改中小企业声明函"
    list_columns = ["bid", "supplier", "industry", "size", "arrangement", "small_micro_share",
                    "declared_on"]
    show_columns = ["bid", "package", "supplier", "industry", "size", "arrangement",
                    "small_micro_share", "employees", "revenue", "declared_on", "region"]
    add_columns = ["bid", "industry", "size", "arrangement", "small_micro_share", "employees",
                   "revenue", "declared_on"]
    edit_columns = ["industry", "size", "arrangement", "small_micro_share", "employees",
                    "revenue", "declared_on"]
    search_columns = ["supplier", "industry", "size", "arrangement", "declared_on"]
    label_columns = DECLARATION_LABELS
    formatters_columns = {"industry": labelled(INDUSTRIES), "size": labelled(SIZES),
                          "arrangement": labelled(ARRANGEMENTS), "small_micro_share": pct,
                          "revenue": money_text}
    add_form_extra_fields = {"industry": select_field("所属行业", INDUSTRIES),
                             "size": select_field("企业规模", SIZES),
                             "arrangement": select_field("投标方式", ARRANGEMENTS)}
    edit_form_extra_fields = add_form_extra_fields
    add_form_query_rel_fields = {"bid": [["status", FilterEqual, "submitted"]]}
    search_form_extra_fields = {"size": select_field("企业规模", SIZES, "全部"),
                                "industry": select_field("所属行业", INDUSTRIES, "全部")}
    description_columns = {"small_micro_share": "联合体或分包时填写小微企业承担的合同份额"}


class SmeDisclosureView(ErpModelView):
    datamodel = SQLAInterface(Disclosure)
    class_permission_name = "SmeDisclosure"
    rules = sme_rules.DISCLOSURE
    record_actions = DISCLOSURE_ACTIONS
    show_template = f"{T}/disclosure_show.html"
    list_title = show_title = "中小企业预留项目执行情况公开"
    add_title = "生成年度公开信息"
    edit_title = "填写未完成目标的原因说明"
    list_columns = ["unit", "year", "reserved_total", "reserved_share", "small_micro_share",
                    "status", "due_date", "published_on"]
    show_columns = ["unit", "year", "status", "total_amount", "suitable_amount",
                    "reserved_whole", "reserved_package", "reserved_consortium",
                    "reserved_subcontract", "reserved_total", "sme_amount",
                    "small_micro_amount", "reserved_share", "target_reserved", "sme_share",
                    "small_micro_share", "target_small_micro", "shortfall_explanation",
                    "due_date", "computed_at", "reviewed_at", "signed_by", "signed_at",
                    "published_on", "notice_link", "region"]
    add_columns = ["unit", "year", "shortfall_explanation"]
    edit_columns = ["shortfall_explanation"]
    search_columns = ["unit", "year", "status", "region"]
    base_order = ("year", "desc")
    label_columns = DISCLOSURE_LABELS
    formatters_columns = {
        **{k: money_text for k in ("total_amount", "suitable_amount", "reserved_whole",
                                   "reserved_package", "reserved_consortium",
                                   "reserved_subcontract", "reserved_total", "sme_amount",
                                   "small_micro_amount")},
        **{k: pct for k in ("reserved_share", "sme_share", "small_micro_share",
                            "target_reserved", "target_small_micro")},
        "status": labelled(DISCLOSURE_STATES),
    }
    add_form_extra_fields = {"year": IntegerField("年度", validators=[DataRequired("请填写年度")])}
    add_form_query_rel_fields = {"unit": [["org_type", FilterEqual, "competent_unit"]]}
    search_form_extra_fields = {"status": select_field("状态", DISCLOSURE_STATES, "全部")}
    description_columns = {"year": "上一年度；该年度须有已签订的合同",
                           "shortfall_explanation": "预留比例或小微企业比例未达到目标时必填"}

    def show_context(self, item: Disclosure) -> dict[str, Any]:
        return {"lines": [{"number": ln.project_number, "name": ln.project_name,
                           "measure": SME_MEASURES.get(ln.measure, ln.measure),
                           "contract_amount": fmt_yuan(ln.contract_amount),
                           "reserved_amount": fmt_yuan(ln.reserved_amount),
                           "contracts": ln.contract_numbers or "", "link": ln.link}
                          for ln in item.lines],
                "kept_here": item.status == "published" and not item.notice_link,
                "export_url": f"/smedisclosureview/export/{item.id}"}

    @expose("/export/<int:pk>")
    @has_access
    @permission_name("show")
    def export(self, pk: int):
        item = self.datamodel.get(pk)
        if item is None:
            abort(404)
        return reports.send_disclosure(item)


class SmeDashboardView(BaseView):
    route_base = "/sme/dashboard"
    class_permission_name = "SmeDashboard"
    template_folder = TEMPLATE_FOLDER
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        session = db.session
        this = dt.date.today().year
        raw = (request.args.get("year") or "").strip()
        year = this - 1
        error = None
        if raw:
            if raw.isdigit() and 2020 <= int(raw) <= this:
                year = int(raw)
            else:
                error = f"年度应为 2020 至 {this} 之间的四位数字，已显示 {year} 年度"
        data = dashboard.overview(session, year, current_scope().region_ids)
        units = data["units"]
        chart = bar_chart([u["name"] for u in units],
                          {"预留占比（%）": [u["reserved_share"] for u in units],
                           "小微企业占比（%）": [u["small_micro_share"] for u in units]},
                          title=f"{year} 年度各主管预算单位预留占比与小微企业占比", unit="%",
                          horizontal=True) if units else None
        trend = data["trend"]
        trend_chart = line_chart([str(t["year"]) for t in trend],
                                 {"预留占比（%）": [t["reserved_share"] for t in trend],
                                  "小微企业占比（%）": [t["small_micro_share"] for t in trend]},
                                 title="历年预留占比趋势", unit="%") if trend else None
        return self.render_template(f"{T}/dashboard.html", data=data, year=year, error=error,
                                    chart=chart, trend_chart=trend_chart, yuan=fmt_yuan,
                                    pct=pct, years=list(range(this, 2019, -1)))


def register(appbuilder) -> None:
    appbuilder.add_view(SmeDisclosureView, "预留执行情况公开", category=CATEGORY)
    appbuilder.add_view(SmeProjectPolicyView, "项目预留设置", category=CATEGORY)
    appbuilder.add_view(SmeDeclarationView, "中小企业声明函", category=CATEGORY)
    appbuilder.add_view(SmeDashboardView, "预留情况看板", href="/sme/dashboard/", category=CATEGORY)
