"""Pages of ``scf_deposit`` (menu 供应链金融), thin over :mod:`.services`:

* 电子保函 (``GuaranteeView``): every party's list of the guarantees it may see; the show page
  carries the declared actions (issue / decline / claim paid for the institution; verify,
  claim, release for the beneficiary; withdraw for the applicant) and, for verification, a
  file picker that computes the received file's SHA-256 in the browser;
* 申请电子保函 (``/scf/guarantee/request/``): the supplier's open packages and contracts, each
  with the institutions serving the region in a random order (new per view).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select

from addons.procurement_base.models import Contract, Package, Project
from core.db import db
from core.errors import flash_error, is_page_error
from core.tenancy import current_scope
from core.views.base import ErpModelView, labelled, money_text

from . import services
from .actions import GUARANTEE_ACTIONS
from .models import KINDS, STATES, Guarantee

T = "scf_deposit"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")
CATEGORY = "供应链金融"


def _yes_no(value: Any) -> str:
    return "是" if value else "否"


class GuaranteeView(ErpModelView):
    datamodel = SQLAInterface(Guarantee)
    class_permission_name = "ScfGuaranteeView"
    base_permissions = ["can_list", "can_show", "can_issue", "can_verify", "can_request"]
    record_actions = GUARANTEE_ACTIONS
    template_folder = TEMPLATE_FOLDER
    show_template = f"{T}/guarantee_show.html"
    list_title = show_title = "电子保函"
    list_columns = ["request_number", "kind", "supplier", "issuer", "beneficiary",
                    "requested_amount", "number", "amount", "valid_until", "status"]
    show_columns = ["request_number", "kind", "project", "package", "contract", "supplier",
                    "issuer", "beneficiary", "requested_amount", "ciphered", "status",
                    "requested_at", "number", "amount", "valid_from", "valid_until", "file_name",
                    "issued_at", "decline_reason", "required_amount",
                    "verified_at", "deposit", "claimed_on", "claim_note", "claim_paid_amount",
                    "claim_paid_on", "claim_reference", "released_on", "region"]
    search_columns = ["request_number", "number", "kind", "status"]
    order_columns = ["request_number", "number", "valid_until", "status"]
    base_order = ("id", "desc")
    label_columns = {
        "request_number": "申请编号", "kind": "保函类型", "project": "采购项目", "package": "采购包",
        "contract": "合同", "supplier": "申请人（供应商）", "issuer": "出函机构",
        "beneficiary": "受益人", "requested_amount": "申请金额（元）", "ciphered": "密文保函",
        "status": "状态", "requested_at": "申请时间", "number": "保函编号",
        "amount": "保函金额（元）", "valid_from": "有效期起始日", "valid_until": "有效期截止日",
        "file_name": "保函文件", "file_sha256": "文件 SHA-256 摘要", "file_sm3": "文件 SM3 摘要",
        "issued_at": "出函时间", "decline_reason": "不予出函理由",
        "required_amount": "应缴保证金（元）", "verified_at": "验真时间", "deposit": "保证金台账记录",
        "claimed_on": "索赔日期", "claim_note": "索赔说明", "claim_paid_amount": "赔付金额（元）",
        "claim_paid_on": "赔付日期", "claim_reference": "赔付流水号", "released_on": "解除日期",
        "region": "所在地区",
    }
    formatters_columns = {"kind": labelled(KINDS), "status": labelled(STATES),
                          "requested_amount": money_text, "amount": money_text,
                          "required_amount": money_text, "claim_paid_amount": money_text,
                          "ciphered": _yes_no}

    def show_context(self, item: Guarantee) -> dict[str, Any]:
        # the registered digests only to the issuer and the applicant (the beneficiary checks
        # the file it received and is never shown what it should hash to)
        org = current_scope().org_id
        return {"erp_status": STATES.get(item.status), "g": item,
                "digests": org in (item.issuer_id, item.supplier_id)}


class RequestView(BaseView):
    """The supplier's request page: open packages (bidding not closed) and its contracts,
    with the institutions serving the region, shuffled for every view."""

    route_base = "/scf/guarantee/request"
    class_permission_name = "ScfGuaranteeRequestPage"
    base_permissions = ["can_request"]
    template_folder = TEMPLATE_FOLDER
    default_view = "index"

    @expose("/")
    @has_access
    @permission_name("request")
    def index(self):
        session = db.session
        scope = current_scope()
        now = services.now()
        packages = session.execute(select(Package).join(Project).where(
            Project.status == "published",
            (Project.bid_deadline.is_(None)) | (Project.bid_deadline > now))
            .order_by(Project.bid_deadline, Package.id).limit(100)).scalars().all()
        contracts = session.execute(select(Contract).where(
            Contract.supplier_id == (scope.org_id or -1), Contract.project_id.is_not(None),
            Contract.status.in_(("draft", "signed", "performing"))).order_by(Contract.id.desc())
        ).scalars().all()
        rows = []
        for p in packages:
            limit, _ = services.cap(session, "bid", p.project, p, None)
            rows.append({"kind": "bid", "target": p, "label": f"{p.project.number} {p.project.name} 第{p.number}包",
                         "deadline": p.project.bid_deadline, "cap": limit,
                         "issuers": services.issuers_for(session, p.project.region_id)})
        for c in contracts:
            limit, _ = services.cap(session, "performance", c.project, None, c)
            rows.append({"kind": "performance", "target": c, "label": f"合同 {c.number}",
                         "deadline": None, "cap": limit,
                         "issuers": services.issuers_for(session, c.region_id)})
        return self.render_template(f"{T}/request.html", rows=rows, money=money_text, kinds=KINDS)

    @expose("/", methods=["POST"])
    @has_access
    @permission_name("request")
    def submit(self):
        session = db.session
        kind = request.form.get("kind")
        try:
            g = services.request(session, supplier_id=current_scope().org_id or -1, kind=kind,
                                 issuer_id=request.form.get("issuer"),
                                 amount=request.form.get("amount"),
                                 package_id=request.form.get("target") if kind == "bid" else None,
                                 contract_id=request.form.get("target") if kind != "bid" else None,
                                 ciphered=request.form.get("ciphered") == "on")
            session.commit()
        except Exception as exc:
            if not is_page_error(exc):
                raise
            session.rollback()
            flash("保函申请未提交（未写入任何数据）：", "danger")
            flash_error(exc)
            return redirect(url_for("RequestView.index"))
        flash(f"保函申请 {g.request_number} 已提交给 {g.issuer.name}", "success")
        return redirect(url_for("GuaranteeView.show", pk=g.id))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(GuaranteeView, "电子保函", icon="fa-shield", category=CATEGORY,
                        category_icon="fa-university")
    appbuilder.add_view(RequestView, "申请电子保函", icon="fa-hand-o-up", category=CATEGORY,
                        category_icon="fa-university")


__all__ = ["GuaranteeView", "RequestView", "register"]
