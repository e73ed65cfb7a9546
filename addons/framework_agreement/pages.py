"""Pages beyond the model lists: the purchaser's 采购框架协议产品 (direct selection, second
competition, rotation) and the report per agreement (chart and Excel)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from marshmallow import ValidationError
from sqlalchemy import select

from core.db import db
from core.errors import ErpError
from core.errors import message_text as _message_text
from core.services.export import send_xlsx
from core.services.money import fmt_yuan
from core.tenancy import ScopeViolation, current_scope

from . import services as fs
from .models import METHODS, FaAgreement
from .services import discounts

TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")
REFUSALS = (ErpError, ValidationError, ScopeViolation)


def _int(value: Any, label: str) -> int:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        raise fs.calloffs.RuleError({"quantity": [f"{label}须为正整数"]}) from None
    return n


def _user_id() -> int | None:
    from core.security import current_erp_user

    user = current_erp_user()
    return user.id if user is not None else None


class FaBuyView(BaseView):
    """采购框架协议产品: the agreements in force the user's unit may use."""

    route_base = "/fa/buy"
    template_folder = TEMPLATE_FOLDER
    class_permission_name = "FaBuyPage"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("access")
    def index(self):
        agreements = fs.calloffs.available(db.session, current_scope())
        default_deadline = (dt.datetime.now() + dt.timedelta(days=5)).replace(hour=17, minute=0, second=0,
                                                                              microsecond=0)
        return self.render_template("fa/buy.html", agreements=agreements, fmt=fmt_yuan, methods=METHODS,
                                    default_deadline=default_deadline.strftime("%Y-%m-%dT%H:%M"),
                                    today=fs.calloffs.today().isoformat())

    def _done(self, call: Any, ok: str) -> Any:
        try:
            c = call()
            db.session.commit()
        except REFUSALS as exc:
            db.session.rollback()
            flash(_message_text(exc), "danger")
            return redirect(url_for("FaBuyView.index"))
        msg = ok.format(c=c, amount=fmt_yuan(c.amount) if c.amount is not None else "")
        if c.discount_percent:  # the volume discount applied for this quantity
            msg += (f"（协议价格 {fmt_yuan(c.agreement_price)}，量大优惠 {discounts.pct_text(c.discount_percent)}，"
                    f"成交单价 {fmt_yuan(c.unit_price)}）")
        flash(msg, "success")
        return redirect(url_for("FaCallOffView.show", pk=c.id))

    @expose("/direct", methods=["POST"])
    @has_access
    @permission_name("access")
    def direct(self):
        f = request.form
        return self._done(lambda: fs.direct_select(
            db.session, _int(f.get("agreement"), "框架协议"), _int(f.get("line"), "入围产品"),
            _int(f.get("quantity"), "采购数量"), unit_price=f.get("unit_price") or None, user_id=_user_id(),
            delivery_address=f.get("delivery_address") or None),
            "已直接选定成交 {c.number}，金额 {amount}，已生成电子卖场订单")

    @expose("/competition", methods=["POST"])
    @has_access
    @permission_name("access")
    def competition(self):
        f = request.form

        def run():
            try:
                deadline = dt.datetime.fromisoformat(f.get("deadline") or "")
            except ValueError:
                raise fs.calloffs.RuleError({"deadline": ["请填写报价截止时间"]}) from None
            invited = [_int(v, "供应商") for v in f.getlist("invited")]
            return fs.start_competition(db.session, _int(f.get("agreement"), "框架协议"), _int(f.get("item"), "品目"),
                                        _int(f.get("quantity"), "采购数量"), invited, deadline)

        return self._done(run, "已发起二次竞价 {c.number}，已通知所有受邀入围供应商")

    @expose("/outside", methods=["POST"])
    @has_access
    @permission_name("access")
    def outside(self):
        """协议外采购报告 from the agreement's panel."""
        f = request.form
        try:
            line = _int(f.get("line"), "入围产品")
        except ErpError:
            line = None
        try:
            o = fs.report_outside(db.session, line, outside_supplier=f.get("outside_supplier"),
                                  outside_price=f.get("outside_price"), quantity=(f.get("quantity") or "").strip(),
                                  purchase_date=f.get("purchase_date"), proof=f.get("proof"),
                                  refusal=f.get("refusal"))
            db.session.commit()
        except REFUSALS as exc:
            db.session.rollback()
            flash(_message_text(exc), "danger")
            return redirect(url_for("FaBuyView.index"))
        flash("已报告协议外采购" + ("（已超过 1 个工作日的报告期限，记为逾期）" if o.late else ""),
              "warning" if o.late else "success")
        return redirect(url_for("FaOutsideView.show", pk=o.id))

    @expose("/rotation", methods=["POST"])
    @has_access
    @permission_name("access")
    def rotation(self):
        f = request.form
        return self._done(lambda: fs.rotate(
            db.session, _int(f.get("agreement"), "框架协议"), _int(f.get("item"), "品目"),
            _int(f.get("quantity"), "采购数量"), user_id=_user_id()),
            "已按顺序轮候成交 {c.number}，金额 {amount}")


#: ids and quantities typed on a page: ASCII digits that fit a PostgreSQL integer
_DIGITS = re.compile(r"[0-9]{1,9}")


def _responding_lines(form: Any, ag: FaAgreement) -> list[dict[str, Any]]:
    """The page's row per item (``item_<id>_listing``, ``_price``, ``_quantity``) as the
    service's ``lines``; a row left empty is passed on as empty so the service names it."""
    lines = []
    for item in sorted(ag.items, key=lambda i: i.seq):
        listing = (form.get(f"item_{item.id}_listing") or "").strip()
        line: dict[str, Any] = {"item": item.id, "listing": int(listing) if _DIGITS.fullmatch(listing) else None,
                                "unit_price": (form.get(f"item_{item.id}_price") or "").strip() or None}
        qty = (form.get(f"item_{item.id}_quantity") or "").strip()
        if qty:
            line["supply_quantity"] = int(qty) if _DIGITS.fullmatch(qty) else qty
        lines.append(line)
    return lines


class FaRespondView(BaseView):
    """响应框架协议征集: a supplier quotes a product for every item of an agreement open for
    responses (one row per item; the API takes the same ``lines``)."""

    route_base = "/fa/respond"
    template_folder = TEMPLATE_FOLDER
    class_permission_name = "FaRespondPage"
    default_view = "index"

    def _open(self) -> list[FaAgreement]:
        from .actions import _responding

        rows = db.session.execute(select(FaAgreement).where(
            FaAgreement.status.in_(("published", "evaluated", "active"))).order_by(FaAgreement.id.desc())).scalars()
        return [ag for ag in rows if _responding(db.session, ag) is None]

    @expose("/")
    @has_access
    @permission_name("access")
    def index(self):
        return self.render_template("fa/respond_index.html", agreements=self._open())

    def _listings(self, ag: FaAgreement) -> dict[int, list[tuple[int, str]]]:
        from addons.emall.models import EmallListing

        org_id = current_scope().org_id
        out: dict[int, list[tuple[int, str]]] = {}
        for item in ag.items:
            stmt = select(EmallListing).where(EmallListing.supplier_id == org_id, EmallListing.status == "listed")
            if item.category_id:
                stmt = stmt.where(EmallListing.category_id == item.category_id)
            out[item.id] = [(x.id, f"{x.name}（{x.brand} {x.model}）")
                            for x in db.session.execute(stmt.order_by(EmallListing.id)).scalars()]
        return out

    @expose("/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("access")
    def form(self, pk: int):
        ag = next((a for a in self._open() if a.id == pk), None)
        if ag is None:
            flash("该框架协议不存在、不在您的范围内或当前不接受响应", "danger")
            return redirect(url_for("FaRespondView.index"))
        if request.method == "POST":
            try:
                r = fs.submit_response(db.session, ag, current_scope().org_id, _responding_lines(request.form, ag),
                                       note=(request.form.get("note") or "").strip() or None)
                db.session.commit()
            except REFUSALS as exc:
                db.session.rollback()
                flash(_message_text(exc), "danger")
                return redirect(url_for("FaRespondView.form", pk=pk))
            flash(f"响应已提交：{len(r.lines)} 个品目，评审价 {fmt_yuan(r.evaluated_price)}", "success")
            return redirect(url_for("FaResponseView.show", pk=r.id))
        items = sorted(ag.items, key=lambda i: i.seq)
        return self.render_template("fa/respond.html", ag=ag, items=items, listings=self._listings(ag), fmt=fmt_yuan)


class FaReportView(BaseView):
    """框架协议报表: usage per supplier and purchaser, savings against the ceiling prices."""

    route_base = "/fa/report"
    template_folder = TEMPLATE_FOLDER
    class_permission_name = "FaReportPage"
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("access")
    def index(self):
        rows = db.session.execute(select(FaAgreement).where(FaAgreement.status.in_(("active", "expired")))
                                  .order_by(FaAgreement.id.desc())).scalars().all()
        return self.render_template("fa/report_index.html", agreements=rows)

    def _agreement(self, pk: int) -> FaAgreement | None:
        return db.session.get(FaAgreement, pk)

    @expose("/<int:pk>")
    @has_access
    @permission_name("access")
    def show(self, pk: int):
        ag = self._agreement(pk)
        if ag is None:
            flash("框架协议不存在或不在您的管辖范围内", "danger")
            return redirect(url_for("FaReportView.index"))
        rep = fs.reports.agreement_report(db.session, ag)
        return self.render_template("fa/report.html", ag=ag, rep=rep, chart=fs.reports.chart(rep), fmt=fmt_yuan)

    @expose("/<int:pk>/xlsx")
    @has_access
    @permission_name("access")
    def xlsx(self, pk: int):
        ag = self._agreement(pk)
        if ag is None:
            flash("框架协议不存在或不在您的管辖范围内", "danger")
            return redirect(url_for("FaReportView.index"))
        return send_xlsx(fs.reports.report_xlsx(db.session, ag), f"框架协议报表-{ag.number}")
