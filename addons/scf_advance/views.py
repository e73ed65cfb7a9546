"""Pages of ``scf_advance`` (menu 供应链金融 → 预付款保险): the list and the record with its
declared actions; the purchaser agrees an advance from 约定预付款 ``/scf/advance/agree/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from addons.procurement_base.models import Contract
from addons.supply_chain_finance.api import purchaser_units
from core.db import db
from core.errors import flash_error, is_page_error
from core.services import settings
from core.views.base import ErpModelView, labelled, money_text

from . import services
from .actions import ADVANCE_ACTIONS
from .models import STATES, Advance

CATEGORY = "供应链金融"


class AdvanceView(ErpModelView):
    datamodel = SQLAInterface(Advance)
    class_permission_name = "ScfAdvanceView"
    base_permissions = ["can_list", "can_show", "can_manage", "can_present"]
    record_actions = ADVANCE_ACTIONS
    list_title = show_title = "预付款保险"
    list_columns = ["contract_number", "supplier", "share_percent", "amount", "delivery_date",
                    "insurer", "policy_number", "status"]
    show_columns = ["contract_number", "purchaser", "supplier", "share_percent", "amount",
                    "delivery_date", "status", "agreed_at", "insurer", "policy_number",
                    "insured_credit_code", "policy_amount", "valid_until", "presented_at",
                    "verified_at", "paid_on", "closed_on", "claim_reason", "region"]
    search_columns = ["contract_number", "status"]
    base_order = ("id", "desc")
    label_columns = {
        "contract_number": "合同编号", "purchaser": "采购人", "supplier": "供应商",
        "share_percent": "预付比例（%）", "amount": "预付款（元）", "delivery_date": "交货日期",
        "status": "状态", "agreed_at": "约定时间", "insurer": "保险机构",
        "policy_number": "保单（保函）号", "insured_credit_code": "被保险人信用代码",
        "policy_amount": "保险金额（元）", "valid_until": "保险期间截止日",
        "presented_at": "提交保单时间", "verified_at": "验真时间", "paid_on": "预付款支付日期",
        "closed_on": "结束日期", "claim_reason": "索赔事由", "region": "所在地区",
    }
    formatters_columns = {"status": labelled(STATES), "amount": money_text,
                          "policy_amount": money_text}

    def show_context(self, item: Advance) -> dict[str, Any]:
        return {"erp_status": STATES.get(item.status)}


class AgreeView(BaseView):
    """The purchaser's page: its signed or performing contracts without an open advance."""

    template_folder = str(Path(__file__).resolve().parent / "templates")
    route_base = "/scf/advance/agree"
    class_permission_name = "ScfAdvanceView"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("manage")
    def index(self):
        session = db.session
        units = purchaser_units(session)
        stmt = select(Contract).where(Contract.status.in_(("signed", "performing")))
        if units is not None:
            stmt = stmt.where(Contract.purchaser_id.in_(units or {-1}))
        rows = [c for c in session.execute(stmt.order_by(Contract.id.desc()).limit(200)).scalars()
                if services.open_advance(session, c.id) is None]
        floor = {c.region_id: settings.get("scf.advance_share_percent", region_id=c.region_id,
                                           session=session) for c in rows}
        return self.render_template("scf_advance/agree.html", rows=rows, money=money_text,
                                    floor=floor)

    @expose("/", methods=["POST"])
    @has_access
    @permission_name("manage")
    def submit(self):
        session = db.session
        try:
            adv = services.agree(session, contract_id=request.form.get("contract"),
                                 share_percent=request.form.get("share_percent"),
                                 delivery_date=request.form.get("delivery_date"),
                                 purchaser_ids=purchaser_units(session))
            session.commit()
        except Exception as exc:
            if not is_page_error(exc):
                raise
            session.rollback()
            flash("预付款未约定（未写入任何数据）：", "danger")
            flash_error(exc)
            return redirect(url_for("AgreeView.index"))
        flash(f"已约定预付款 {money_text(adv.amount)}，请供应商提交保单", "success")
        return redirect(url_for("AdvanceView.show", pk=adv.id))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(AdvanceView, "预付款保险", icon="fa-umbrella", category=CATEGORY,
                        category_icon="fa-university")
    appbuilder.add_view(AgreeView, "约定预付款", icon="fa-handshake-o", category=CATEGORY,
                        category_icon="fa-university")
