"""Pages of ``supply_chain_finance`` (menu 供应链金融), thin over :mod:`.services`:

* 融资申请 (``ApplicationView``): the institution's and the supplier's lists; the show page
  carries the contract data from the records and the declared actions (decision,
  disbursement, repayment, release; reply, withdrawal) for whoever may run them;
* 申请融资 (``/scf/apply/``): the supplier's financeable contracts, each with the
  participating institutions in a random order (new per view) - no preferred institution;
* 回款账户 (``AccountLockView``): where a financed contract is paid; the purchaser confirms;
* 金融机构 (``InstitutionView``, platform administrators): the institutions' settings, among
  them the webhook signature scheme (HMAC-SHA256, HMAC-SM3, SM2);
* 平台验签公钥 (``/scf/signing-key/``): the platform's SM2 public key for institutions that
  verify SM2-signed webhooks (the private key is never shown);
* 融资监管 (``/scf/bureau/``): per region and period - applications, approvals, amounts
  financed, share to small and micro firms, average days to decision, overdue - with a chart
  and an Excel export.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from addons.procurement_base.models import Contract
from core.db import db
from core.errors import flash_error, is_page_error
from core.services.charts import bar_chart
from core.services.export import ColumnSpec, XlsxSheet, send_xlsx, write_workbook, write_xlsx
from core.tenancy import current_scope
from core.views.base import ErpModelView, labelled, money_text, parse_date, select_field

from . import services, webhooks
from .actions import APPLICATION_ACTIONS, LOCK_ACTIONS
from .hooks import bureau_sections, contract_sources
from .models import (
    APP_STATES,
    ENTRY_KINDS,
    INSTITUTION_KINDS,
    LOCK_STATES,
    SIGNATURE_SCHEMES,
    AccountLock,
    Application,
    Entry,
    Institution,
)

T = "supply_chain_finance"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")
CATEGORY = "供应链金融"


def _status(value: Any) -> str:
    return APP_STATES.get(value, "—") if value else "—"


class ApplicationView(ErpModelView):
    datamodel = SQLAInterface(Application)
    class_permission_name = "ScfApplicationView"
    base_permissions = ["can_list", "can_show", "can_decide", "can_apply"]
    record_actions = APPLICATION_ACTIONS
    template_folder = TEMPLATE_FOLDER
    show_template = f"{T}/application_show.html"
    list_title = show_title = "政府采购合同融资申请"
    list_columns = ["number", "contract_number", "supplier", "bank", "amount", "status",
                    "submitted_at", "decision_due", "approved_amount"]
    show_columns = ["number", "contract_number", "supplier", "bank", "amount", "purpose",
                    "contact", "phone", "status", "submitted_at", "decision_due", "decided_at",
                    "info_request", "supplier_reply", "reject_reason", "approved_amount",
                    "rate_percent", "term_months", "repayment_account", "repayment_account_name",
                    "repayment_bank", "disbursed_amount", "disbursed_on", "maturity_date",
                    "repaid_amount", "last_repaid_on", "registry_number", "release_reason",
                    "region"]
    search_columns = ["number", "contract_number", "status", "submitted_on", "decision_due"]
    order_columns = ["number", "amount", "submitted_at", "decision_due", "status"]
    base_order = ("id", "desc")
    label_columns = {
        "number": "申请编号", "contract_number": "合同编号", "supplier": "供应商",
        "bank": "金融机构", "amount": "申请金额（元）", "purpose": "资金用途", "contact": "联系人",
        "phone": "联系电话", "status": "状态", "submitted_at": "提交时间",
        "submitted_on": "提交日期", "decision_due": "承诺决定日期", "decided_at": "决定时间",
        "info_request": "要求补充的材料", "supplier_reply": "供应商补充说明",
        "reject_reason": "拒绝理由", "approved_amount": "批准金额（元）",
        "rate_percent": "年利率（%）", "term_months": "期限（月）", "repayment_account": "回款账户",
        "repayment_account_name": "账户名称", "repayment_bank": "开户行",
        "disbursed_amount": "放款金额（元）", "disbursed_on": "放款日期", "maturity_date": "到期日",
        "repaid_amount": "已还金额（元）", "last_repaid_on": "最近还款日期",
        "registry_number": "动产融资登记编号", "release_reason": "解除原因", "region": "所在地区",
    }
    formatters_columns = {"amount": money_text, "approved_amount": money_text,
                          "disbursed_amount": money_text, "repaid_amount": money_text,
                          "status": _status}
    search_form_extra_fields: dict[str, Any] = {}

    def show_context(self, item: Application) -> dict[str, Any]:
        session = self.datamodel.session
        contract = services.contract_of(session, item.contract_id)
        entries = session.execute(select(Entry).where(Entry.application_id == item.id)
                                  .order_by(Entry.id)).scalars().all()
        return {"app": item, "data": services.contract_data(session, contract) if contract else {},
                "sources": contract_sources(session, contract) if contract else [],
                "overdue": services.is_overdue(item), "entries": entries, "kinds": ENTRY_KINDS,
                "erp_status": APP_STATES.get(item.status), "money": money_text}


class AccountLockView(ErpModelView):
    datamodel = SQLAInterface(AccountLock)
    class_permission_name = "ScfAccountLockView"
    base_permissions = ["can_list", "can_show", "can_confirm"]
    record_actions = LOCK_ACTIONS
    list_title = show_title = "融资合同回款账户"
    list_columns = ["contract_number", "bank", "account", "account_name", "account_bank",
                    "status", "confirmed_at", "released_at"]
    show_columns = list_columns + ["release_reason", "region"]
    search_columns = ["contract_number", "status"]
    base_order = ("id", "desc")
    label_columns = {"contract_number": "合同编号", "bank": "金融机构", "account": "回款账户",
                     "account_name": "账户名称", "account_bank": "开户行", "status": "状态",
                     "confirmed_at": "采购人确认时间", "released_at": "解除时间",
                     "release_reason": "解除原因", "region": "所在地区"}
    formatters_columns = {"status": labelled(LOCK_STATES)}

    show_template = f"{T}/lock_show.html"
    template_folder = TEMPLATE_FOLDER

    def show_context(self, item: AccountLock) -> dict[str, Any]:
        """Where to pay: a confirmed lock's purchaser gets 登记付款 (the payment form with the
        contract chosen, the locked account offered and explained); the contract of a record
        behind it (an e-mall order) is paid on that record's page instead."""
        session = self.datamodel.session
        contract = services.contract_of(session, item.contract_id)
        sources = contract_sources(session, contract) if contract is not None else []
        pay_url = None
        if (item.status == "locked" and not sources
                and self.appbuilder.sm.has_access("can_add", "PbPayment")):
            pay_url = url_for("PaymentView.add", _flt_0_contract=item.contract_id)
        return {"erp_status": LOCK_STATES.get(item.status), "scf_pay_url": pay_url,
                "scf_sources": sources}


def _yes_no(value: Any) -> str:
    return "是" if value else "否"


class InstitutionView(ErpModelView):
    """金融机构: the participating institutions' settings (platform administrators)."""

    datamodel = SQLAInterface(Institution)
    class_permission_name = "ScfInstitutionView"
    base_permissions = ["can_list", "can_show", "can_edit"]
    list_title = show_title = "参与政采贷的金融机构"
    edit_title = "修改金融机构设置"
    list_columns = ["org", "kind", "decision_days", "webhook_url", "signature_scheme", "active"]
    show_columns = ["org", "kind", "decision_days", "products", "contact", "phone", "regions",
                    "webhook_url", "signature_scheme", "active"]
    edit_columns = ["kind", "decision_days", "products", "contact", "phone", "webhook_url",
                    "signature_scheme", "active"]
    search_columns = ["kind", "signature_scheme", "active"]
    label_columns = {"org": "机构名称", "kind": "机构类型", "decision_days": "承诺审批时限（工作日）",
                     "products": "融资产品说明", "contact": "联系人", "phone": "联系电话",
                     "regions": "服务地区", "webhook_url": "通知推送地址",
                     "signature_scheme": "通知签名方式", "active": "参与中"}
    description_columns = {
        "decision_days": "留空时使用参数“金融机构审批时限（工作日）”。",
        "webhook_url": "平台向该地址推送签名通知（生产环境须为 HTTPS）。",
        "signature_scheme": "HMAC 两种方式使用与机构约定的共享密钥；SM2 方式由平台私钥签名，"
                            "机构在“平台验签公钥”页面取得平台公钥验签。",
    }
    formatters_columns = {"kind": labelled(INSTITUTION_KINDS),
                          "signature_scheme": labelled(SIGNATURE_SCHEMES), "active": _yes_no,
                          "decision_days": lambda v: "按参数设置" if v is None else f"{v} 个工作日",
                          "regions": lambda v: "、".join(str(r) for r in v) if v else "—"}
    edit_form_extra_fields = {"kind": select_field("机构类型", INSTITUTION_KINDS),
                              "signature_scheme": select_field("通知签名方式", SIGNATURE_SCHEMES)}
    search_form_extra_fields = {"kind": select_field("机构类型", INSTITUTION_KINDS, "全部"),
                                "signature_scheme": select_field("通知签名方式", SIGNATURE_SCHEMES, "全部")}
    base_order = ("id", "asc")


class _Page(BaseView):
    template_folder = TEMPLATE_FOLDER
    default_view = "index"


class ApplyView(_Page):
    """The supplier's apply page: its financeable contracts and the institutions serving
    each contract's region, shuffled for every view."""

    route_base = "/scf/apply"
    class_permission_name = "ScfApplyPage"
    base_permissions = ["can_apply"]

    @expose("/")
    @has_access
    @permission_name("apply")
    def index(self):
        session = db.session
        scope = current_scope()
        rows = []
        contracts = session.execute(select(Contract).where(
            Contract.supplier_id == (scope.org_id or -1),
            Contract.status.in_(("draft", *services.FINANCEABLE))).order_by(Contract.id.desc())
        ).scalars().all()
        for c in contracts:
            try:
                services.check_financeable(session, c)
            except Exception as exc:
                if not is_page_error(exc):
                    raise
                continue
            rows.append({"contract": c, "left": services.unpaid_remainder(session, c),
                         "paid": services.paid_total(session, c.id),
                         "sources": contract_sources(session, c),
                         "banks": services.institutions_for(session, c.region_id)})
        # ?contract=<id> (the link on an e-mall order's page): that contract first, marked
        chosen = request.args.get("contract", "")
        chosen_id = int(chosen) if chosen.isdigit() else None
        rows.sort(key=lambda r: r["contract"].id != chosen_id)
        return self.render_template(f"{T}/apply.html", rows=rows, money=money_text,
                                    chosen=chosen_id,
                                    days=lambda i, c: services.decision_days(session, i, c.region_id))

    @expose("/", methods=["POST"])
    @has_access
    @permission_name("apply")
    def submit(self):
        session = db.session
        try:
            app = services.apply(session, supplier_id=current_scope().org_id or -1,
                                 contract_id=request.form.get("contract"),
                                 bank_id=request.form.get("bank"),
                                 amount=request.form.get("amount"),
                                 purpose=request.form.get("purpose"),
                                 contact=request.form.get("contact"),
                                 phone=request.form.get("phone"))
            session.commit()
        except Exception as exc:
            if not is_page_error(exc):
                raise
            session.rollback()
            flash("融资申请未提交（未写入任何数据）：", "danger")
            flash_error(exc)
            return redirect(url_for("ApplyView.index"))
        flash(f"融资申请 {app.number} 已提交给 {app.bank.name}，机构将在承诺时限内作出决定", "success")
        return redirect(url_for("ApplicationView.show", pk=app.id))


class SigningKeyView(_Page):
    """The platform's SM2 public key, for institutions verifying SM2-signed webhooks."""

    route_base = "/scf/signing-key"
    class_permission_name = "ScfSigningKey"
    base_permissions = ["can_read"]

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        session = db.session
        scope = current_scope()
        inst = None
        if scope.org_id is not None:
            inst = session.execute(select(Institution).where(
                Institution.org_id == scope.org_id)).scalars().first()
        return self.render_template(
            f"{T}/signing_key.html", key=webhooks.public_key_info(),
            scheme=SIGNATURE_SCHEMES.get(inst.signature_scheme) if inst is not None else None,
            tolerance=webhooks.TOLERANCE_SECONDS)


def _period() -> tuple[dt.date, dt.date, list[str]]:
    problems = []
    today = services.today()
    try:
        start = parse_date(request.args.get("start")) or dt.date(today.year, 1, 1)
    except Exception:
        start, _ = dt.date(today.year, 1, 1), problems.append("开始日期格式应为 YYYY-MM-DD，已使用本年1月1日")
    try:
        end = parse_date(request.args.get("end")) or today
    except Exception:
        end, _ = today, problems.append("结束日期格式应为 YYYY-MM-DD，已使用今天")
    if end < start:
        problems.append("结束日期早于开始日期，已对调")
        start, end = end, start
    return start, end, problems


COLUMNS = [
    ColumnSpec("region", "地区"), ColumnSpec("applications", "申请笔数", "int"),
    ColumnSpec("approved", "批准笔数", "int"), ColumnSpec("financed", "融资金额", "money"),
    ColumnSpec("financed_sme", "其中小微企业", "money"),
    ColumnSpec("sme_share", "小微企业占比", "percent", total=False),
    ColumnSpec("avg_decision_days", "平均决定天数", "text"),
    ColumnSpec("overdue", "逾期未决笔数", "int"),
]


class BureauView(_Page):
    """The finance bureau's view of its region (the province: every city)."""

    route_base = "/scf/bureau"
    class_permission_name = "ScfBureau"
    base_permissions = ["can_read"]

    def _figures(self) -> tuple[dict[str, Any], dt.date, dt.date, list[str]]:
        start, end, problems = _period()
        return services.bureau_figures(db.session, start, end), start, end, problems

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        figs, start, end, problems = self._figures()
        for p in problems:
            flash(p, "warning")
        regions = figs["regions"]
        chart = bar_chart([r["region"] for r in regions],
                          {"融资金额": [r["financed"] for r in regions],
                           "其中小微企业": [r["financed_sme"] for r in regions]},
                          title="政采贷融资金额（按地区）", unit="元") if regions else None
        sections = bureau_sections(db.session, start, end)
        return self.render_template(f"{T}/bureau.html", figs=figs, start=start, end=end,
                                    chart=chart, money=money_text, sections=sections)

    @expose("/export")
    @has_access
    @permission_name("read")
    def export(self):
        figs, start, end, _ = self._figures()
        rows = [{**r, "sme_share": (r["sme_share_percent"] / 100) if r["sme_share_percent"] is not None else None,
                 "avg_decision_days": str(r["avg_decision_days"]) if r["avg_decision_days"] is not None else "—"}
                for r in figs["regions"]]
        period = f"{start.isoformat()} 至 {end.isoformat()}"
        sections = bureau_sections(db.session, start, end)
        if not sections:
            data = write_xlsx(rows, COLUMNS, sheet_name="政采贷统计",
                              title=f"政府采购合同融资统计（{period}）")
        else:  # one sheet per section beside the financing figures
            sheets = [XlsxSheet(rows, COLUMNS, "政采贷统计", f"政府采购合同融资统计（{period}）")]
            for sec in sections:
                cols = [ColumnSpec("region", "地区")] + [ColumnSpec(k, label, kind)
                                                         for k, label, kind in sec.columns]
                sheets.append(XlsxSheet([{"region": name, **vals} for name, vals
                                         in sorted(sec.rows.items())],
                                        cols, sec.title[:31], f"{sec.title}（{period}）"))
            buf = io.BytesIO()
            write_workbook(buf, sheets)
            data = buf.getvalue()
        return send_xlsx(data, f"政采贷统计_{start.isoformat()}_{end.isoformat()}.xlsx")


VIEWS = (
    (ApplicationView, "融资申请", "fa-file-text-o"),
    (ApplyView, "申请融资", "fa-hand-o-up"),
    (AccountLockView, "回款账户", "fa-lock"),
    (BureauView, "融资监管", "fa-bar-chart"),
    (InstitutionView, "金融机构", "fa-bank"),
    (SigningKeyView, "平台验签公钥", "fa-key"),
)


def register(appbuilder: Any) -> None:
    for view, name, icon in VIEWS:
        appbuilder.add_view(view, name, icon=icon, category=CATEGORY, category_icon="fa-university")


__all__ = ["ApplicationView", "AccountLockView", "ApplyView", "BureauView", "InstitutionView",
           "SigningKeyView", "register"]
