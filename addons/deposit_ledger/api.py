"""REST APIs of ``deposit_ledger`` under ``/api/v1/`` (thin: every rule is in ``services``).

Resources: ``dl_deposit`` (CRUD without money edits; actions refund, forfeit, remit,
convert, release, reverse, trigger; entries, balance, due lists), ``dl_project_reason``,
``dl_forfeit_reason`` (read), ``dl_lpr_rate`` (admin), ``dl_cleanup`` (classification,
report, xlsx, bulk actions, announcement list), ``dl_reconcile`` (statement import,
matches, confirm / reject / correct).
"""

from __future__ import annotations

import datetime as dt

from flask import request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from marshmallow import validate as mv
from sqlalchemy import select

from core.api import ApiError, ErpBaseApi, ErpModelRestApi, json_object_body
from core.services.export import send_xlsx

from . import cleanup, reconcile, services, withdrawal  # noqa: F401  (withdrawal: hook)
from . import rules as dl_rules
from .actions import DATE, DEPOSIT_ACTIONS, MATCH_ACTIONS, TEXT, _iso, deposit_state, entry_json
from .models import (
    FORMS,
    GUARANTEE_TYPES,
    KINDS,
    STATES,
    TRIGGERS,
    Deposit,
    DepositEntry,
    ForfeitReason,
    LprRate,
    ProjectForfeitReason,
)

DEPOSIT_LABELS = {
    "number": "保证金编号", "kind": "保证金类型", "project": "采购项目", "package": "采购包",
    "bid": "投标", "contract": "采购合同", "supplier": "供应商", "holder": "收取单位",
    "form": "缴纳形式", "guarantee_type": "保函类型", "guarantee_number": "保函编号",
    "guarantee_issuer": "出具机构", "guarantee_valid_until": "保函有效期至", "amount": "金额",
    "received_date": "收取日期", "payer_account": "缴纳账户", "payer_bank": "开户银行",
    "receipt_reference": "收款流水号", "trigger": "退还事由", "trigger_date": "触发事件日期",
    "due_date": "应退还日期", "supplier_fault": "供应商自身原因延误",
    "supplier_fault_reason": "延误原因", "status": "状态", "settled_date": "结清日期",
    "note": "备注", "region": "所在地区",
}


class DepositApi(ErpModelRestApi):
    title = "保证金"
    resource_name = "dl_deposit"
    datamodel = SQLAInterface(Deposit)
    class_permission_name = "DlDeposit"
    rules = dl_rules.DEPOSIT
    record_actions = DEPOSIT_ACTIONS
    list_columns = ["id", "number", "kind", "project_id", "package_id", "bid_id", "contract_id",
                    "supplier.id", "supplier.name", "holder.id", "holder.name", "form",
                    "guarantee_type", "guarantee_number", "guarantee_issuer",
                    "guarantee_valid_until", "amount", "received_date", "payer_account",
                    "payer_bank", "receipt_reference", "trigger", "trigger_date", "due_date",
                    "supplier_fault", "supplier_fault_reason", "status", "settled_date",
                    "converted_to_id", "note", "region.id", "region.name"]
    show_columns = list_columns
    add_columns = ["number", "kind", "project", "package", "bid", "contract", "supplier",
                   "holder", "form", "guarantee_type", "guarantee_number", "guarantee_issuer",
                   "guarantee_valid_until", "amount", "received_date", "payer_account",
                   "payer_bank", "receipt_reference", "trigger", "trigger_date",
                   "supplier_fault", "supplier_fault_reason", "note", "region"]
    edit_columns = ["payer_account", "payer_bank", "trigger", "trigger_date", "supplier_fault",
                    "supplier_fault_reason", "guarantee_valid_until", "note"]
    search_columns = ["number", "kind", "project", "package", "contract", "supplier", "holder",
                      "form", "status", "trigger", "due_date", "received_date", "amount", "region"]
    order_columns = ["number", "amount", "received_date", "due_date", "status"]
    base_order = ("id", "desc")
    optional_on_add = ("region", "package", "bid", "contract", "holder", "supplier",
                       "supplier_fault", "trigger", "trigger_date")
    label_columns = DEPOSIT_LABELS
    description_columns = {
        "kind": "、".join(f"{k}={v}" for k, v in KINDS.items()),
        "form": "、".join(f"{k}={v}" for k, v in FORMS.items()),
        "guarantee_type": "、".join(f"{k}={v}" for k, v in GUARANTEE_TYPES.items()),
        "trigger": "、".join(f"{k}={v}" for k, v in TRIGGERS.items()),
        "status": "、".join(f"{k}={v}" for k, v in STATES.items()),
    }

    @expose("/<int:pk>/entries", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def entries(self, pk: int):
        """The deposit's ledger entries (oldest first) and balances
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: entries}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            item = self.datamodel.get(self._erp_pk(pk), self._base_filters)
            if item is None:
                raise ApiError(404)
            session = self.datamodel.session
            rows = session.execute(select(DepositEntry).where(DepositEntry.deposit_id == item.id)
                                   .order_by(DepositEntry.id)).scalars()
            fee = services.accrued_late_fee(session, item)
            accrued = {"fee": str(fee[0]), "days": fee[1]} if fee is not None else None
            return self.response(200, result=[entry_json(e) for e in rows],
                                 deposit=deposit_state(session, item), accrued_late_fee=accrued)

        return self._erp_answer(run)

    @expose("/export/", methods=["GET"])
    @protect()
    @safe
    @permission_name("export")
    def export(self):
        """Every deposit the user may see, with its balances, as an xlsx (streamed rows,
        constant memory)
        ---
        get:
          responses:
            200: {description: xlsx}
        """
        return self._erp_answer(lambda: send_xlsx(cleanup.ledger_xlsx(self.datamodel.session),
                                                  f"保证金台账_{services.today().isoformat()}.xlsx"))

    @expose("/due/<string:which>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def due(self, which: str):
        """Held deposits due ``today``, ``soon`` or ``overdue``
        ---
        get:
          parameters:
          - {in: path, name: which, schema: {type: string, enum: [today, soon, overdue]}}
          responses:
            200: {description: deposits}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            if which not in ("today", "soon", "overdue"):
                raise ApiError(404)
            session = self.datamodel.session
            on, until = services.due_window(session)
            rows = session.execute(services.due_query(which, on, until).limit(1000)).scalars()
            return self.response(200, result=[
                {"id": d.id, "number": d.number, "supplier": d.supplier.name,
                 "amount": str(d.amount), "due_date": _iso(d.due_date),
                 "overdue_days": max(0, (on - d.due_date).days)} for d in rows],
                on=on.isoformat(), soon_until=until.isoformat())

        return self._erp_answer(run)


class ProjectReasonApi(ErpModelRestApi):
    title = "项目不予退还情形"
    resource_name = "dl_project_reason"
    datamodel = SQLAInterface(ProjectForfeitReason)
    class_permission_name = "DlProjectReason"
    rules = dl_rules.PROJECT_REASON
    list_columns = ["id", "project_id", "reason.id", "reason.name", "clause", "region.id",
                    "region.name"]
    show_columns = list_columns
    add_columns = ["project", "reason", "clause", "region"]
    edit_columns = ["clause"]
    search_columns = ["project", "reason", "region"]
    order_columns = ["id"]
    base_order = ("id", "asc")
    label_columns = {"project": "采购项目", "reason": "不予退还事由", "clause": "招标文件条款",
                     "region": "所在地区"}


class ForfeitReasonApi(ErpModelRestApi):
    title = "不予退还事由"
    resource_name = "dl_forfeit_reason"
    datamodel = SQLAInterface(ForfeitReason)
    class_permission_name = "DlForfeitReason"
    include_route_methods = {"get", "get_list", "info"}
    list_columns = ["id", "code", "name", "kind", "source", "active"]
    show_columns = list_columns
    order_columns = ["id", "code"]
    base_order = ("id", "asc")
    label_columns = {"code": "代码", "name": "事由", "kind": "适用", "source": "依据",
                     "active": "启用"}


class LprRateApi(ErpModelRestApi):
    title = "一年期LPR"
    resource_name = "dl_lpr_rate"
    datamodel = SQLAInterface(LprRate)
    class_permission_name = "DlLprRate"
    rules = dl_rules.LPR
    list_columns = ["id", "effective_date", "rate_percent", "source"]
    show_columns = list_columns
    add_columns = ["effective_date", "rate_percent", "source"]
    edit_columns = add_columns
    order_columns = ["effective_date"]
    base_order = ("effective_date", "desc")
    label_columns = {"effective_date": "生效日期", "rate_percent": "一年期LPR（%）",
                     "source": "来源"}
    max_page_size = 200


# -- cleanup -----------------------------------------------------------------------------------------
def _cutoff_arg() -> dt.date | None:
    raw = (request.args.get("cutoff") or "").strip()
    if not raw:
        return None
    try:
        return services.parse_iso_date(raw)
    except ValueError:
        raise ApiError(400, {"cutoff": ["日期格式不正确，应为 YYYY-MM-DD"]}, "bad_request") from None


class CleanupApi(ErpBaseApi):
    resource_name = "dl_cleanup"
    class_permission_name = "DlCleanup"
    openapi_spec_tag = "保证金清理"

    def _params(self):
        from core.db import db

        session = db.session
        cutoff = _cutoff_arg() or cleanup.default_cutoff(session)
        region = (request.args.get("region") or "").strip() or None
        try:
            region_ids = cleanup.region_filter(session, region)
        except ValueError as exc:
            raise ApiError(400, {"region": [str(exc)]}, "bad_request") from None
        return session, cutoff, region_ids

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def classify(self):
        """Deposits to clean up (?cutoff=YYYY-MM-DD&region=CODE&category=...&page=0)
        ---
        get:
          responses:
            200: {description: classified deposits and totals}
            400: {$ref: '#/components/responses/400'}
        """
        def run():
            session, cutoff, region_ids = self._params()
            df = cleanup.classify(session, cutoff, region_ids=region_ids)
            category = request.args.get("category")
            if category:
                df = df[df["category"] == category]
            page = int(request.args.get("page", "0") or 0) if str(request.args.get("page", "0")).isdigit() else 0
            rows = df.iloc[page * 100:(page + 1) * 100]
            return self.response(200, cutoff=cutoff.isoformat(), count=len(df),
                                 summary=cleanup.summary(df),
                                 result=[cleanup.row_json(r) for r in rows.itertuples()])

        return self._erp_answer(run)

    @expose("/report", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def report(self):
        """The report per agency and per region (?cutoff=&region=)
        ---
        get:
          responses:
            200: {description: report}
            400: {$ref: '#/components/responses/400'}
        """
        def run():
            session, cutoff, region_ids = self._params()
            rep = cleanup.report(session, cutoff, region_ids=region_ids)
            return self.response(200, cutoff=cutoff.isoformat(),
                                 by_agency=cleanup.frame_json(rep.by_agency),
                                 by_region=cleanup.frame_json(rep.by_region))

        return self._erp_answer(run)

    @expose("/export", methods=["GET"])
    @protect()
    @safe
    @permission_name("export")
    def export(self):
        """The cleanup report as xlsx (per agency, per region, detail)
        ---
        get:
          responses:
            200: {description: xlsx}
            400: {$ref: '#/components/responses/400'}
        """
        def run():
            session, cutoff, region_ids = self._params()
            body = cleanup.report_xlsx(session, cutoff, region_ids=region_ids)
            return send_xlsx(body, f"保证金清理报表_{cutoff.isoformat()}.xlsx")

        return self._erp_answer(run)

    @expose("/announcement", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def announcement(self):
        """The public announcement list of unrefundable deposits (before remittance)
        ---
        get:
          responses:
            200: {description: list}
        """
        def run():
            session, cutoff, region_ids = self._params()
            df = cleanup.announcement(session, cutoff, region_ids=region_ids)
            return self.response(200, cutoff=cutoff.isoformat(), result=cleanup.frame_json(df))

        return self._erp_answer(run)

    @expose("/bulk", methods=["POST"])
    @protect()
    @safe
    @permission_name("operate")
    def bulk(self):
        """Bulk action on deposits: refund / release / remit (body: action, ids, date,
        bank_reference_prefix, voucher_no); each deposit in its own savepoint
        ---
        post:
          responses:
            200: {description: done and refused, per deposit}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            from core.db import db

            body = BulkSchema().load(json_object_body())
            done, refused = cleanup.bulk(db.session, body["action"], body["ids"], on=body["date"],
                                         bank_reference=body["bank_reference"],
                                         voucher_no=body["voucher_no"])
            db.session.commit()
            return self.response(200, done=done, refused=refused)

        return self._erp_answer(run)


class BulkSchema(Schema):
    action = fields.String(required=True, validate=mv.OneOf(
        ["refund", "release", "remit"], error="操作只能是 refund、release、remit"),
        error_messages={"required": "请选择操作"})
    ids = fields.List(fields.Integer(strict=True), required=True,
                      validate=mv.Length(min=1, max=1000, error="请选择 1 至 1000 条保证金"),
                      error_messages={"required": "请选择保证金", "invalid": "请填写保证金编号列表"})
    date = fields.Date(load_default=None, error_messages=DATE)
    bank_reference = fields.String(load_default=None, validate=TEXT)
    voucher_no = fields.String(load_default=None, validate=TEXT)


# -- reconciliation -------------------------------------------------------------------------------------
class MatchSchema(Schema):
    line = fields.Integer(required=True, strict=True, error_messages={"required": "请选择流水"})
    entry = fields.Integer(required=True, strict=True, error_messages={"required": "请选择台账分录"})


class ReconcileApi(ErpBaseApi):
    resource_name = "dl_reconcile"
    class_permission_name = "DlReconcile"
    openapi_spec_tag = "银行对账"
    #: ``POST /match/<pk>/<decision>`` (confirm | reject a proposed match; core.actions)
    record_actions = MATCH_ACTIONS

    @expose("/import", methods=["POST"])
    @protect()
    @safe
    @permission_name("operate")
    def import_(self):
        """Import a bank statement (multipart ``file``: CSV or XLSX with columns 日期, 金额,
        对方户名, 流水号, 收支方向; ``region`` code optional) and propose matches
        ---
        post:
          responses:
            200: {description: lines imported and matches proposed}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            from core.db import db

            f = request.files.get("file")
            if f is None or not f.filename:
                raise ApiError(422, {"file": ["请选择对账单文件（CSV 或 XLSX）"]}, "validation_error")
            result = reconcile.import_statement(db.session, f.filename, f.read(),
                                                region_code=request.form.get("region"),
                                                account=request.form.get("account") or "")
            db.session.commit()
            return self.response(200, **result)

        return self._erp_answer(run)

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def status(self):
        """Matches and what is unmatched on each side (?batch=)
        ---
        get:
          responses:
            200: {description: reconciliation state}
        """
        def run():
            from core.db import db

            return self.response(200, **reconcile.state(db.session, request.args.get("batch")))

        return self._erp_answer(run)

    @expose("/match", methods=["POST"])
    @protect()
    @safe
    @permission_name("operate")
    def correct(self):
        """Match a line to an entry by hand (a correction, confirmed and audited)
        ---
        post:
          responses:
            200: {description: the match}
            422: {$ref: '#/components/responses/422'}
        """
        def run():
            from core.db import db

            body = MatchSchema().load(json_object_body())
            m = reconcile.manual_match(db.session, body["line"], body["entry"])
            db.session.commit()
            return self.response(200, result=reconcile.match_json(m))

        return self._erp_answer(run)


APIS = (DepositApi, ProjectReasonApi, ForfeitReasonApi, LprRateApi, CleanupApi, ReconcileApi)


def register(appbuilder) -> None:
    for api in APIS:
        appbuilder.add_api(api)
