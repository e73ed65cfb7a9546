"""Pages of ``scf_emall`` (menu 供应链金融), thin over :mod:`.services`:

* 流水信用授权记录 (``ConsentView``): the consents each party may see (supplier: its own;
  institution: those given to it; finance bureau: its region);
* 流水信用授权 (``/scf/emall/consent/``): the supplier grants consent to an institution (the
  active institutions serving its region, in a random order, new per view) or revokes one;
* 流水信用客户 (``/scf/emall/bank/``): the institution's consenting suppliers, each profile
  (12 / 24 months, the monthly table and chart, the indicative line) and the form recording
  its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from core.db import db
from core.errors import flash_error, is_page_error
from core.services.charts import bar_chart
from core.tenancy import current_scope
from core.views.base import ErpModelView, labelled, money_text

from . import services
from .models import STATES, Consent

T = "scf_emall"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")
CATEGORY = "供应链金融"


def _dash(value: Any) -> str:
    return "—" if value is None else str(value)


def _pct(value: Any) -> str:
    return "—" if value is None else f"{value}%"


def _money(value: Any) -> str:
    return "—" if value is None else money_text(value)


def _when(value: Any) -> str:
    if value is None:
        return "—"
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "hour") else value.isoformat()


class ConsentView(ErpModelView):
    datamodel = SQLAInterface(Consent)
    class_permission_name = "ScfEmallConsentView"
    base_permissions = ["can_list", "can_show"]
    list_title = show_title = "流水信用授权记录"
    list_columns = ["supplier", "bank", "status", "granted_at", "revoked_at", "line_amount",
                    "line_valid_until"]
    show_columns = ["supplier", "bank", "status", "granted_at", "revoked_at", "line_amount",
                    "line_valid_until", "line_note", "line_decided_at", "region"]
    search_columns = ["status"]
    base_order = ("id", "desc")
    label_columns = {"supplier": "供应商", "bank": "金融机构", "status": "状态",
                     "granted_at": "授权时间", "revoked_at": "撤回时间",
                     "line_amount": "授信额度（元）", "line_valid_until": "额度有效期至",
                     "line_note": "额度说明", "line_decided_at": "额度核定时间",
                     "region": "所在地区"}
    formatters_columns = {"status": labelled(STATES), "line_amount": _money,
                          "granted_at": _when, "revoked_at": _when, "line_decided_at": _when,
                          "line_valid_until": _when, "line_note": _dash}


class _Page(BaseView):
    template_folder = TEMPLATE_FOLDER
    default_view = "index"


def _fail(exc: Exception, what: str) -> None:
    if not is_page_error(exc):
        raise exc
    db.session.rollback()
    flash(f"{what}（未写入任何数据）：", "danger")
    flash_error(exc)


class ConsentPage(_Page):
    """The supplier's page: grant consent to an institution, revoke a consent."""

    route_base = "/scf/emall/consent"
    class_permission_name = "ScfEmallConsentView"

    @expose("/")
    @has_access
    @permission_name("grant")
    def index(self):
        session = db.session
        org = current_scope().org_id or -1
        consents = session.execute(select(Consent).where(Consent.supplier_id == org)
                                   .order_by(Consent.id.desc())).scalars().all()
        given = {c.bank_id for c in consents if c.status == "active"}
        banks = [i for i in services.institutions(session, org) if i.org_id not in given]
        return self.render_template(f"{T}/consent.html", consents=consents, banks=banks,
                                    states=STATES, money=_money, when=_when)

    @expose("/", methods=["POST"])
    @has_access
    @permission_name("grant")
    def submit(self):
        session = db.session
        try:
            c = services.grant(session, supplier_id=current_scope().org_id,
                               bank_id=request.form.get("bank"))
            session.commit()
        except Exception as exc:
            _fail(exc, "未授权")
            return redirect(url_for("ConsentPage.index"))
        flash(f"已授权 {c.bank.name} 查看贵单位的电子卖场交易流水，可随时撤回", "success")
        return redirect(url_for("ConsentPage.index"))

    @expose("/<int:pk>/revoke", methods=["POST"])
    @has_access
    @permission_name("grant")
    def revoke(self, pk: int):
        session = db.session
        try:
            c = services.revoke(session, pk, supplier_id=current_scope().org_id)
            session.commit()
        except Exception as exc:
            _fail(exc, "未撤回")
            return redirect(url_for("ConsentPage.index"))
        flash(f"已撤回对 {c.bank.name} 的授权，该机构不能再查看贵单位的交易流水", "success")
        return redirect(url_for("ConsentPage.index"))


class BankPage(_Page):
    """The institution's pages: its consenting suppliers, a profile, the line form."""

    route_base = "/scf/emall/bank"
    class_permission_name = "ScfEmallConsentView"

    @expose("/")
    @has_access
    @permission_name("decide")
    def index(self):
        session = db.session
        org = current_scope().org_id or -1
        rows = session.execute(select(Consent).where(Consent.bank_id == org)
                               .order_by(Consent.status, Consent.id.desc())).scalars().all()
        own = services.own_params(session, org)
        return self.render_template(f"{T}/bank.html", rows=rows, states=STATES, money=_money,
                                    when=_when, own=own, labels=services.PARAM_LABELS,
                                    platform=services.line_params(session, None))

    @expose("/params", methods=["POST"])
    @has_access
    @permission_name("decide")
    def params(self):
        session = db.session
        try:
            services.set_line_params(session, bank_id=current_scope().org_id,
                                     line_months=request.form.get("line_months"),
                                     line_cap=request.form.get("line_cap"),
                                     min_active_months=request.form.get("min_active_months"))
            session.commit()
        except Exception as exc:
            _fail(exc, "参数未保存")
            return redirect(url_for("BankPage.index"))
        flash("已保存贵机构的参考额度参数", "success")
        return redirect(url_for("BankPage.index"))

    @expose("/<int:pk>/")
    @has_access
    @permission_name("decide")
    def show(self, pk: int):
        session = db.session
        try:
            consent, data = services.profile_for(session, pk, bank_id=current_scope().org_id)
        except Exception as exc:
            if not is_page_error(exc):
                raise
            if getattr(exc, "status", 404) == 403:
                flash(str(exc), "warning")
                return redirect(url_for("BankPage.index"))
            abort(404)
        months = [m["month"] for m in data["monthly"]]
        chart = bar_chart(months, {"结算金额": [m["settled_amount"] for m in data["monthly"]]},
                          title="近24个月每月结算金额", unit="元")
        return self.render_template(f"{T}/profile.html", c=consent, p=data, chart=chart,
                                    money=_money, pct=_pct, dash=_dash, when=_when,
                                    today=services.today())

    @expose("/<int:pk>/line", methods=["POST"])
    @has_access
    @permission_name("decide")
    def line(self, pk: int):
        session = db.session
        try:
            c = services.record_line(session, pk, bank_id=current_scope().org_id,
                                     amount=request.form.get("amount"),
                                     valid_until=request.form.get("valid_until"),
                                     note=request.form.get("note"))
            session.commit()
        except Exception as exc:
            _fail(exc, "额度未记录")
            return redirect(url_for("BankPage.show", pk=pk))
        flash(f"已记录授信额度 {money_text(c.line_amount)}", "success")
        return redirect(url_for("BankPage.show", pk=pk))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(ConsentView, "流水信用授权记录", icon="fa-list", category=CATEGORY,
                        category_icon="fa-university")
    appbuilder.add_view(ConsentPage, "流水信用授权", icon="fa-check-square-o", category=CATEGORY,
                        category_icon="fa-university")
    appbuilder.add_view(BankPage, "流水信用客户", icon="fa-line-chart", category=CATEGORY,
                        category_icon="fa-university")
