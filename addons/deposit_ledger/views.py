"""Pages of ``deposit_ledger`` (menu 保证金管理), in Chinese: the deposit ledger (list,
detail with its entries and the actions 退还 / 不予退还 / 上缴国库 / 转为履约保证金 / 解除保函 /
冲销 / 退还事由), due today / soon / overdue, the cleanup (classification, bulk actions,
announcement list), the cleanup report (tables, chart, Excel), bank reconciliation, the
finance bureau's dashboard, the project forfeiture reasons and the LPR table.

Every page calls the services; a refusal is shown as a message and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from marshmallow import ValidationError
from sqlalchemy import select

from core.db import db
from core.errors import message_text
from core.services.charts import bar_chart, line_chart
from core.services.export import send_xlsx
from core.tenancy import ScopeViolation
from core.views.base import (
    ErpListActions,
    ErpModelView,
    labelled,
    money_text,
    parse_date,
    select_field,
)

from . import cleanup, reconcile, services
from . import rules as dl_rules
from .actions import DEPOSIT_ACTIONS, MATCH_ACTIONS
from .models import (
    ENTRY_KINDS,
    FORMS,
    GUARANTEE_TYPES,
    KINDS,
    STATES,
    TRIGGERS,
    Deposit,
    DepositEntry,
    LprRate,
    ProjectForfeitReason,
    StatementMatch,
)

CATEGORY = "保证金管理"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")
T = "deposit_ledger"


_money = money_text
_labelled = labelled
_select = select_field
_message_text = message_text
_date_arg = parse_date


def _yuan(fen: Any) -> str:
    return _money(Decimal(int(fen)).scaleb(-2))


class DepositView(ErpModelView):
    datamodel = SQLAInterface(Deposit)
    class_permission_name = "DlDepositView"
    export_permission = "DlDepositView"
    rules = dl_rules.DEPOSIT
    record_actions = DEPOSIT_ACTIONS
    template_folder = TEMPLATE_FOLDER
    show_template = f"{T}/deposit_show.html"
    list_title = show_title = "保证金台账"
    add_title = "登记收取保证金"
    edit_title = "修改保证金（退还事由、账户、备注）"
    list_columns = ["number", "kind", "project", "supplier", "holder", "form", "amount",
                    "received_date", "due_date", "status"]
    show_columns = ["number", "kind", "project", "package", "bid", "contract", "supplier",
                    "holder", "form", "guarantee_type", "guarantee_number", "guarantee_issuer",
                    "guarantee_valid_until", "amount", "received_date", "payer_account",
                    "payer_bank", "receipt_reference", "trigger", "trigger_date", "due_date",
                    "supplier_fault", "supplier_fault_reason", "status", "settled_date",
                    "converted_to", "note", "region"]
    add_columns = ["number", "kind", "project", "package", "bid", "contract", "supplier",
                   "holder", "form", "guarantee_type", "guarantee_number", "guarantee_issuer",
                   "guarantee_valid_until", "amount", "received_date", "payer_account",
                   "payer_bank", "receipt_reference", "trigger", "trigger_date", "note"]
    edit_columns = ["payer_account", "payer_bank", "trigger", "trigger_date", "supplier_fault",
                    "supplier_fault_reason", "guarantee_valid_until", "note"]
    search_columns = ["number", "kind", "project", "supplier", "holder", "form", "status",
                      "due_date", "received_date", "amount", "region"]
    order_columns = ["number", "amount", "received_date", "due_date", "status"]
    base_order = ("id", "desc")
    label_columns = {
        "number": "保证金编号", "kind": "类型", "project": "采购项目", "package": "采购包",
        "bid": "投标", "contract": "采购合同", "supplier": "供应商", "holder": "收取单位",
        "form": "缴纳形式", "guarantee_type": "保函类型", "guarantee_number": "保函编号",
        "guarantee_issuer": "出具机构", "guarantee_valid_until": "保函有效期至",
        "amount": "金额（元）", "received_date": "收取日期", "payer_account": "缴纳账户",
        "payer_bank": "开户银行", "receipt_reference": "收款流水号", "trigger": "退还事由",
        "trigger_date": "触发事件日期", "due_date": "应退还日期",
        "supplier_fault": "供应商自身原因延误", "supplier_fault_reason": "延误原因",
        "status": "状态", "settled_date": "结清日期", "converted_to": "转为履约保证金",
        "note": "备注", "region": "所在地区",
    }
    description_columns = {
        "amount": "投标保证金不超过项目（采购包）预算的2％；履约保证金不超过合同金额的10％（参数设置）",
        "form": "不收取现金；保函（银行、保险、电子保函）不退还资金，办理解除",
        "trigger": "填写后按工作日自动计算应退还日期（事件当日不计入）",
    }
    formatters_columns = {"amount": _money, "kind": _labelled(KINDS), "form": _labelled(FORMS),
                          "status": _labelled(STATES), "trigger": _labelled(TRIGGERS),
                          "guarantee_type": _labelled(GUARANTEE_TYPES)}
    add_form_extra_fields = {
        "kind": _select("类型", KINDS), "form": _select("缴纳形式", FORMS),
        "guarantee_type": _select("保函类型", GUARANTEE_TYPES, "（非保函不填）"),
        "trigger": _select("退还事由", TRIGGERS, "（尚未发生）"),
    }
    edit_form_extra_fields = {"trigger": _select("退还事由", TRIGGERS, "（尚未发生）")}
    search_form_extra_fields = {"status": _select("状态", STATES, "全部"),
                                "kind": _select("类型", KINDS, "全部"),
                                "form": _select("缴纳形式", FORMS, "全部")}

    @expose("/export/")
    @has_access
    @permission_name("export")
    def export(self):
        """Every deposit the user may see, with its balances, as xlsx."""
        return send_xlsx(cleanup.ledger_xlsx(self.datamodel.session),
                         f"保证金台账_{services.today().isoformat()}.xlsx")

    def show_context(self, item: Deposit) -> dict[str, Any]:
        session = self.datamodel.session
        try:
            accrued = services.accrued_late_fee(session, item)
        except ValidationError:  # the LPR table lacks a rate: the page says nothing
            accrued = None
        entries = session.execute(select(DepositEntry).where(DepositEntry.deposit_id == item.id)
                                  .order_by(DepositEntry.id)).scalars().all()
        return {"dep": item, "entries": entries, "balances": services.balances(session, item.id),
                "accrued": accrued, "kinds": ENTRY_KINDS, "states": STATES, "money": _money}


class ProjectReasonView(ErpModelView):
    datamodel = SQLAInterface(ProjectForfeitReason)
    class_permission_name = "DlProjectReasonView"
    rules = dl_rules.PROJECT_REASON
    list_title = show_title = "项目不予退还情形"
    add_title = "登记招标文件载明的不予退还情形"
    edit_title = "修改条款"
    list_columns = ["project", "reason", "clause", "region"]
    show_columns = list_columns
    add_columns = ["project", "reason", "clause"]
    edit_columns = ["clause"]
    search_columns = ["project", "reason", "region"]
    label_columns = {"project": "采购项目", "reason": "不予退还事由", "clause": "招标文件条款",
                     "region": "所在地区"}


class LprRateView(ErpModelView):
    datamodel = SQLAInterface(LprRate)
    class_permission_name = "DlLprRateView"
    rules = dl_rules.LPR
    list_title = show_title = "一年期贷款市场报价利率（LPR）"
    add_title = "新增LPR"
    edit_title = "修改LPR"
    list_columns = ["effective_date", "rate_percent", "source"]
    show_columns = list_columns
    add_columns = list_columns
    edit_columns = list_columns
    order_columns = ["effective_date"]
    base_order = ("effective_date", "desc")
    page_size = 50
    label_columns = {"effective_date": "生效日期", "rate_percent": "一年期LPR（％）", "source": "来源"}
    description_columns = {
        "effective_date": "每月20日（遇节假日顺延）全国银行间同业拆借中心公布，当日起适用",
        "rate_percent": "百分比，如 3.00 表示 3.00％",
    }


# -- pages that are not model lists ----------------------------------------------------------------
class _Page(BaseView):
    template_folder = TEMPLATE_FOLDER
    default_view = "index"

    def _cutoff(self) -> dt.date:
        raw = request.args.get("cutoff")
        try:
            return _date_arg(raw) or cleanup.default_cutoff(db.session)
        except ValidationError:
            flash("截止日期格式不正确，应为 YYYY-MM-DD；已使用默认值", "warning")
            return cleanup.default_cutoff(db.session)

    def _region(self) -> tuple[str, frozenset[int] | None]:
        code = (request.args.get("region") or "").strip()
        try:
            return code, cleanup.region_filter(db.session, code or None)
        except ValueError as exc:
            flash(str(exc), "warning")
            return "", None


class DueView(_Page):
    route_base = "/deposit/due"
    class_permission_name = "DlDue"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        session = db.session
        on, until = services.due_window(session)
        lists = {}
        for which, label in (("overdue", "已逾期"), ("today", "今日到期"), ("soon", "即将到期")):
            rows = session.execute(services.due_query(which, on, until).limit(500)).scalars().all()
            lists[which] = (label, rows)
        return self.render_template(f"{T}/due.html", lists=lists, on=on, until=until,
                                    money=_money, states=STATES, triggers=TRIGGERS)


class CleanupView(_Page):
    route_base = "/deposit/cleanup"
    class_permission_name = "DlCleanupView"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        cutoff = self._cutoff()
        code, region_ids = self._region()
        df = cleanup.classify(db.session, cutoff, region_ids=region_ids)
        category = request.args.get("category") or "refundable"
        part = df[df["category"] == category].head(500)
        return self.render_template(
            f"{T}/cleanup.html", cutoff=cutoff, region=code, summary=cleanup.summary(df),
            category=category, categories=cleanup.CATEGORIES,
            rows=[cleanup.row_json(r) for r in part.itertuples()], total=len(df),
            shown=len(part), today=services.today().isoformat())

    @expose("/announcement")
    @has_access
    @permission_name("read")
    def announcement(self):
        cutoff = self._cutoff()
        code, region_ids = self._region()
        df = cleanup.announcement(db.session, cutoff, region_ids=region_ids)
        return self.render_template(f"{T}/announcement.html", cutoff=cutoff, region=code,
                                    rows=df.to_dict("records"), yuan=_yuan)

    @expose("/announcement/submit", methods=["POST"])
    @has_access
    @permission_name("operate")
    def submit_announcement(self):
        """Submit the announcement as public notices (core.notices), one per holding unit."""
        f = request.form
        back = url_for("CleanupView.announcement", cutoff=f.get("cutoff"), region=f.get("region"))
        try:
            cutoff = _date_arg(f.get("cutoff")) or cleanup.default_cutoff(db.session)
            region_ids = cleanup.region_filter(db.session, (f.get("region") or "").strip() or None)
            refs = cleanup.announce(db.session, cutoff, region_ids=region_ids)
        except (ValidationError, ValueError, services.RuleError) as exc:
            db.session.rollback()
            flash(_message_text(exc) if isinstance(exc, ValidationError) else str(exc), "danger")
            return redirect(back)
        db.session.commit()
        taken = [r for r in refs if r is not None]
        if not refs:
            flash("没有需要公告的保证金", "info")
        elif taken:
            flash(f"已提交 {len(taken)} 份保证金清理公告，待发布单位审核发布", "success")
        else:
            flash("本地区未启用公告发布模块：请以本页清单对外公告", "info")
        return redirect(back)

    @expose("/bulk", methods=["POST"])
    @has_access
    @permission_name("operate")
    def bulk(self):
        f = request.form
        action = f.get("action")
        ids = services.ids(f.getlist("ids"))
        back = url_for("CleanupView.index", cutoff=f.get("cutoff"), region=f.get("region"),
                       category=f.get("category"))
        if action not in ("refund", "release", "remit") or not ids:
            flash("请选择操作和至少一条保证金", "warning")
            return redirect(back)
        try:
            on = _date_arg(f.get("date"))
        except ValidationError as exc:
            flash(_message_text(exc), "danger")
            return redirect(back)
        done, refused = cleanup.bulk(db.session, action, ids, on=on,
                                     bank_reference=f.get("bank_reference") or None,
                                     voucher_no=f.get("voucher_no") or None)
        db.session.commit()
        if done:
            flash(f"已处理 {len(done)} 笔", "success")
        for dep_id, msg in list(refused.items())[:20]:
            flash(f"保证金 #{dep_id} 未处理：{msg}", "danger")
        return redirect(back)


class ReportView(_Page):
    route_base = "/deposit/report"
    class_permission_name = "DlReport"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        cutoff = self._cutoff()
        code, region_ids = self._region()
        rep = cleanup.report(db.session, cutoff, region_ids=region_ids)
        by_city = rep.by_region
        chart = bar_chart(
            [str(c) for c in by_city["city"]],
            {label: [Decimal(int(v)).scaleb(-2) for v in by_city[f"{key}_fen"]]
             for key, label in cleanup.CATEGORIES.items()},
            title="清理保证金金额（按市州、类别）", unit="元", stacked=True) if len(by_city) else None
        return self.render_template(f"{T}/report.html", cutoff=cutoff, region=code, rep=rep,
                                    chart=chart, yuan=_yuan, categories=cleanup.CATEGORIES,
                                    agency=rep.by_agency.to_dict("records"),
                                    cities=by_city.to_dict("records"))

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        cutoff = self._cutoff()
        _, region_ids = self._region()
        body = cleanup.report_xlsx(db.session, cutoff, region_ids=region_ids)
        return send_xlsx(body, f"保证金清理报表_{cutoff.isoformat()}.xlsx")


class DashboardView(_Page):
    route_base = "/deposit/dashboard"
    class_permission_name = "DlDashboard"

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        data = cleanup.dashboard(db.session)
        by_city = data["by_city"]
        chart = bar_chart(
            [str(c) for c in by_city["city"]],
            {"在管": [Decimal(int(v)).scaleb(-2) for v in by_city["held_fen"]],
             "即将到期": [Decimal(int(v)).scaleb(-2) for v in by_city["due_fen"]],
             "已逾期": [Decimal(int(v)).scaleb(-2) for v in by_city["overdue_fen"]]},
            title="保证金在管、即将到期与逾期金额（按市州）", unit="元") if len(by_city) else None
        prog = data["progress"]
        progress_chart = None
        if len(prog):
            months = sorted(set(prog["month"]))
            series = {}
            for status, label in (("refunded", "已退还"), ("remitted", "已上缴国库"),
                                  ("released", "保函已解除"), ("converted", "已转履约")):
                part = prog[prog["status"] == status].set_index("month")["count"]
                if len(part):
                    series[label] = [int(part.get(m, 0)) for m in months]
            progress_chart = line_chart(months, series, title="保证金清理进度（逐月办结笔数）",
                                        unit="笔") if series else None
        return self.render_template(f"{T}/dashboard.html", data=data, chart=chart,
                                    progress_chart=progress_chart, yuan=_yuan,
                                    agency=data["by_agency"].to_dict("records"),
                                    cities=by_city.to_dict("records"))


class ReconcileView(ErpListActions, _Page):
    """Bank reconciliation; each proposed match has the buttons of :data:`MATCH_ACTIONS` the
    user may use (``POST /deposit/reconcile/decide/<pk>/<decision>``, core.actions)."""

    route_base = "/deposit/reconcile"
    class_permission_name = "DlReconcileView"
    record_actions = MATCH_ACTIONS

    @expose("/")
    @has_access
    @permission_name("read")
    def index(self):
        batch = request.args.get("batch") or None
        st = reconcile.state(db.session, batch)
        options = {m["id"]: self.action_options(db.session.get(StatementMatch, m["id"]))
                   for m in st["matches"] if m["state"] == "proposed"}  # decided: no action
        return self.render_template(f"{T}/reconcile.html", st=st, batch=batch or "",
                                    kinds=ENTRY_KINDS, options=options,
                                    action_endpoint=self.action_endpoint)

    def action_back(self, obj: StatementMatch) -> str:
        return url_for("ReconcileView.index", batch=request.form.get("batch") or None)

    @expose("/import", methods=["POST"])
    @has_access
    @permission_name("operate")
    def upload(self):
        f = request.files.get("file")
        try:
            if f is None or not f.filename:
                raise services.RuleError({"file": ["请选择对账单文件（CSV 或 XLSX）"]})
            result = reconcile.import_statement(db.session, f.filename, f.read(),
                                                region_code=request.form.get("region") or None,
                                                account=request.form.get("account") or "")
            db.session.commit()
            flash(f"已导入 {result['imported']} 行（重复跳过 {result['skipped_duplicates']} 行），"
                  f"系统建议匹配 {result['proposed']} 条，请逐条确认", "success")
            return redirect(url_for("ReconcileView.index", batch=result["batch"]))
        except (ValidationError, ScopeViolation) as exc:
            db.session.rollback()
            flash(f"导入失败，未写入任何数据：{_message_text(exc)}", "danger")
            return redirect(url_for("ReconcileView.index"))

    @expose("/match", methods=["POST"])
    @has_access
    @permission_name("operate")
    def match(self):
        f = request.form
        try:
            line, entry = f.get("line", ""), f.get("entry", "")
            if not (line.isdigit() and entry.isdigit()):
                raise services.RuleError({"entry": ["请填写流水编号和台账分录编号"]})
            reconcile.manual_match(db.session, int(line), int(entry))
            db.session.commit()
            flash("已人工匹配并确认", "success")
        except (ValidationError, ScopeViolation) as exc:
            db.session.rollback()
            flash(f"匹配未完成：{_message_text(exc)}", "danger")
        return redirect(url_for("ReconcileView.index", batch=f.get("batch") or None))


VIEWS = (
    (DepositView, "保证金台账", "fa-book"),
    (DueView, "到期提醒", "fa-bell"),
    (CleanupView, "保证金清理", "fa-eraser"),
    (ReportView, "清理报表", "fa-bar-chart"),
    (DashboardView, "财政监管看板", "fa-dashboard"),
    (ReconcileView, "银行对账", "fa-exchange"),
    (ProjectReasonView, "项目不予退还情形", "fa-list"),
    (LprRateView, "LPR利率表", "fa-percent"),
)


def register(appbuilder) -> None:
    for view, name, icon in VIEWS:
        appbuilder.add_view(view, name, icon=icon, category=CATEGORY, category_icon="fa-money")

