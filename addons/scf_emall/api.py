"""REST API of ``scf_emall`` under ``/api/v1/scf_emall_consent/`` (thin over :mod:`.services`),
every write with an ``Idempotency-Key`` (the bank API's helper): supplier ``GET institutions``
(random order), ``POST grant`` (bank), ``<id>/revoke``; institution ``GET <id>/profile``
(403 once revoked) and ``POST <id>/line`` (amount, valid_until, note). The ``<id>/...``
writes are declared actions (:data:`CONSENT_ACTIONS`, :mod:`core.actions`).

``/api/v1/scf_emall_order/``: contract financing (政采贷) on an accepted e-mall order -
supplier ``GET financeable`` (its accepted orders, the amount it may still finance) and
``POST <order id>/apply`` (bank, amount, purpose, contact, phone; ``Idempotency-Key``): the
application on the order's contract, answered like ``POST scf_application/apply``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from sqlalchemy import select

from addons.emall.models import EmallOrder
from addons.supply_chain_finance.api import app_json, caller_org_id, idempotent, idempotent_write
from addons.supply_chain_finance.models import INSTITUTION_KINDS
from core.actions import Action, Actions
from core.api import ErpBaseApi, ErpModelRestApi
from core.db import db
from core.errors import NotFoundError

from . import financing, services
from .models import STATES, Consent


def plain(value: Any) -> Any:
    """JSON-ready: Decimal and dates as text, recursively."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def consent_json(c: Consent) -> dict[str, Any]:
    return plain({"id": c.id, "supplier_id": c.supplier_id,
                  "supplier": c.supplier.name if c.supplier else None, "bank_id": c.bank_id,
                  "bank": c.bank.name if c.bank else None, "status": c.status,
                  "status_label": STATES.get(c.status), "granted_at": c.granted_at,
                  "revoked_at": c.revoked_at, "line_amount": c.line_amount,
                  "line_valid_until": c.line_valid_until, "line_note": c.line_note,
                  "line_decided_at": c.line_decided_at})


_DOC = """
        ---
        post:
          parameters:
          - {{in: path, name: pk, schema: {{type: integer}}}}
          - {{in: header, name: Idempotency-Key, required: true, schema: {{type: string}}}}
          responses:
            200: {{description: {what}}}
            400: {{$ref: '#/components/responses/400'}}
            403: {{$ref: '#/components/responses/403'}}
            404: {{$ref: '#/components/responses/404'}}
            409: {{$ref: '#/components/responses/409'}}
            422: {{$ref: '#/components/responses/422'}}
"""


class LineSchema(Schema):
    """The line an institution set (documented; the service reads and checks it)."""

    amount = fields.String(metadata={"description": "授信额度（元）"})
    valid_until = fields.Date(metadata={"description": "额度有效期至（YYYY-MM-DD）"})
    note = fields.String(metadata={"description": "额度说明"})


#: the consent's record writes: the API hands the services the body as sent (``api_raw``:
#: their own answers, as before the declaration), each with an ``Idempotency-Key``
CONSENT_ACTIONS = Actions(
    Action("revoke", "撤回授权", lambda s, c, b: services.revoke(s, c.id, supplier_id=caller_org_id()),
           permission="grant", api_raw=True, description="供应商撤回对该机构的授权"),
    Action("line", "登记授信额度", lambda s, c, b: services.record_line(
        s, c.id, bank_id=caller_org_id(), amount=b.get("amount"),
        valid_until=b.get("valid_until"), note=b.get("note")), schema=LineSchema,
        permission="decide", api_raw=True, description="机构登记其核定的授信额度"),
    permission="show", result=lambda s, c, value: consent_json(value),
    api_path="/<int:pk>/{name}", idempotent=True, caller_check=caller_org_id,
    not_found="授权记录不存在，或不在您的可见范围内",
)


class ConsentApi(ErpModelRestApi):
    resource_name = "scf_emall_consent"
    datamodel = SQLAInterface(Consent)
    class_permission_name = "ScfEmallConsent"
    include_route_methods = {"get", "get_list", "info", "institutions", "grant", "revoke",
                             "profile", "line", "line_params", "set_line_params"}
    list_columns = ["id", "supplier.name", "bank.name", "status", "granted_at", "revoked_at",
                    "line_amount", "line_valid_until", "line_decided_at", "region.id",
                    "region.name"]
    show_columns = list_columns + ["line_note"]
    search_columns = ["status", "region"]
    base_order = ("id", "desc")
    label_columns = {"supplier": "供应商", "bank": "金融机构", "status": "状态",
                     "granted_at": "授权时间", "revoked_at": "撤回时间", "line_amount": "授信额度",
                     "line_valid_until": "额度有效期至", "line_decided_at": "额度核定时间",
                     "line_note": "额度说明", "region": "所在地区"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in STATES.items())}
    #: ``/<pk>/revoke``, ``/<pk>/line``: declared in :data:`CONSENT_ACTIONS`
    record_actions = CONSENT_ACTIONS

    @expose("/institutions", methods=["GET"])
    @protect()
    @safe
    @permission_name("grant")
    def institutions(self):
        """Supplier: the institutions it may consent to, in a random order (new per call)
        ---
        get:
          responses:
            200: {description: 参与机构（随机顺序）}
            403: {$ref: '#/components/responses/403'}
        """
        def run():
            session = self.datamodel.session
            rows = services.institutions(session, caller_org_id())
            return self.response(200, result=[{"bank": i.org_id, "name": i.org.name,
                                               "kind": INSTITUTION_KINDS.get(i.kind)} for i in rows])

        return self._erp_answer(run)

    @expose("/grant", methods=["POST"])
    @protect()
    @safe
    @permission_name("grant")
    def grant(self):
        return idempotent_write(self, lambda s, b: services.grant(
            s, supplier_id=caller_org_id(), bank_id=b.get("bank")), consent_json, status=201)

    grant.__doc__ = ("Supplier: consent that an institution (bank) sees its e-mall profile"
                     + _DOC.replace("- {in: path, name: pk, schema: {type: integer}}\n          ", "")
                     .format(what="授权记录"))

    @expose("/<int:pk>/profile", methods=["GET"])
    @protect()
    @safe
    @permission_name("decide")
    def profile(self, pk: int):
        """Institution: the supplier's transaction profile (12 and 24 months) and the
        indicative line; 403 once the consent is revoked
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: 交易流水画像}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            session = self.datamodel.session
            if self.datamodel.get(self._erp_pk(pk), self._base_filters) is None:
                raise NotFoundError("授权记录不存在，或不在您的可见范围内")
            consent, data = services.profile_for(session, pk, bank_id=caller_org_id())
            return self.response(200, result={"consent": consent_json(consent), **plain(data)})

        return self._erp_answer(run)


    def _params(self, session: Any) -> dict[str, Any]:
        own = services.own_params(session, caller_org_id())
        return plain({"own": {k: getattr(own, k) if own else None for k in services.PARAMS},
                      "effective": services.line_params(session, None, caller_org_id())})

    @expose("/line_params", methods=["GET"])
    @protect()
    @safe
    @permission_name("decide")
    def line_params(self):
        """Institution: its own parameters of the indicative line (null: the platform
        setting) and the effective ones (platform-wide settings for the blanks)
        ---
        get:
          responses:
            200: {description: 参考额度参数}
            403: {$ref: '#/components/responses/403'}
        """
        return self._erp_answer(lambda: self.response(200, result=self._params(self.datamodel.session)))

    @expose("/line_params", methods=["POST"])
    @protect()
    @safe
    @permission_name("decide")
    def set_line_params(self):
        def run():
            def do(session: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
                services.set_line_params(session, bank_id=caller_org_id(),
                                         line_months=body.get("line_months"),
                                         line_cap=body.get("line_cap"),
                                         min_active_months=body.get("min_active_months"))
                return 200, {"result": self._params(session)}

            return idempotent(self, do)

        return self._erp_answer(run)

    set_line_params.__doc__ = (
        "Institution: set its parameters of the indicative line (line_months, line_cap, "
        "min_active_months; null or blank: the platform setting)"
        + _DOC.replace("- {in: path, name: pk, schema: {type: integer}}\n          ", "")
        .format(what="参考额度参数"))


class OrderFinancingApi(ErpBaseApi):
    """政采贷 on e-mall orders: the supplier's accepted orders and its application by order
    (not a model API: the orders themselves are ``emall_order``'s)."""

    resource_name = "scf_emall_order"
    class_permission_name = "ScfEmallOrder"
    include_route_methods = {"financeable", "apply"}

    @expose("/financeable", methods=["GET"])
    @protect()
    @safe
    @permission_name("apply")
    def financeable(self):
        """Supplier: its accepted e-mall orders, each with the amount it may still finance
        (order amount − paid − financed; null: not financeable now) and its financing
        ---
        get:
          responses:
            200: {description: 已验收的电子卖场订单及可融资余额}
            403: {$ref: '#/components/responses/403'}
        """
        def run():
            session = db.session
            org = caller_org_id()
            rows = session.execute(select(EmallOrder).where(
                EmallOrder.supplier_id == org, EmallOrder.status == "accepted")
                .order_by(EmallOrder.id.desc())).scalars().all()
            return self.response(200, result=[financing.order_json(session, o) for o in rows])

        return self._erp_answer(run)

    @expose("/<int:pk>/apply", methods=["POST"])
    @protect()
    @safe
    @permission_name("apply")
    def apply(self, pk: int):
        """Supplier: apply for contract financing on its own accepted order to an institution
        of its choosing (body: bank, amount, purpose, contact, phone); the order not its own:
        403, not accepted: 422 ``order``, already financed: 409, amount over order amount −
        paid − financed: 422 ``amount``
        ---
        post:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          - {in: header, name: Idempotency-Key, required: true, schema: {type: string}}
          requestBody:
            content:
              application/json:
                schema: {type: object, properties: {bank: {type: integer}, amount: {type: string},
                  purpose: {type: string}, contact: {type: string}, phone: {type: string}}}
          responses:
            201: {description: 已提交的融资申请}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {$ref: '#/components/responses/409'}
            422: {$ref: '#/components/responses/422'}
        """
        return idempotent_write(self, lambda s, b: financing.apply_order(
            s, supplier_id=caller_org_id(), order_id=pk, bank_id=b.get("bank"),
            amount=b.get("amount"), purpose=b.get("purpose"), contact=b.get("contact"),
            phone=b.get("phone")), app_json, status=201)


def register(appbuilder: Any) -> None:
    appbuilder.add_api(ConsentApi)
    appbuilder.add_api(OrderFinancingApi)
