"""REST API of ``scf_advance`` under ``/api/v1/scf_advance/`` (thin over :mod:`.services`),
every write with an ``Idempotency-Key`` (the bank API's helper): purchaser ``POST agree``
(contract, share_percent, delivery_date), ``<id>/verify`` (file_sha256), ``<id>/pay``
(paid_date, reference, payee_account), ``<id>/release``, ``<id>/claim`` (reason),
``<id>/cancel``; supplier ``<id>/present`` (insurer, policy_number, insured_credit_code,
amount, valid_until, file_sha256). The ``<id>/...`` writes are the actions of
:mod:`.actions`, declared once for the page and this API (``idempotent=True``: core's
:mod:`core.api.idempotency`)."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect

from addons.supply_chain_finance.api import idempotent_write, purchaser_units
from core.api import ErpModelRestApi

from . import services
from .actions import ADVANCE_ACTIONS, advance_json
from .models import STATES, Advance

__all__ = ["AdvanceApi", "advance_json", "register"]


class AdvanceApi(ErpModelRestApi):
    resource_name = "scf_advance"
    datamodel = SQLAInterface(Advance)
    class_permission_name = "ScfAdvance"
    include_route_methods = {"get", "get_list", "info", "agree", "present", "verify", "pay",
                             "release", "claim", "cancel"}
    list_columns = ["id", "contract_id", "contract_number", "purchaser.name", "supplier.name",
                    "share_percent", "amount", "delivery_date", "status", "insurer.name",
                    "policy_number", "policy_amount", "valid_until", "paid_on", "closed_on",
                    "region.id", "region.name"]
    show_columns = list_columns + ["insured_credit_code", "claim_reason", "payment_id"]
    search_columns = ["contract_number", "status", "region"]
    base_order = ("id", "desc")
    label_columns = {"contract_number": "合同编号", "contract_id": "合同", "purchaser": "采购人",
                     "supplier": "供应商", "share_percent": "预付比例", "amount": "预付款",
                     "delivery_date": "交货日期", "status": "状态", "insurer": "保险机构",
                     "policy_number": "保单号", "policy_amount": "保险金额",
                     "valid_until": "保险期间截止日", "paid_on": "支付日期", "closed_on": "结束日期",
                     "region": "所在地区", "insured_credit_code": "被保险人信用代码",
                     "claim_reason": "索赔事由", "payment_id": "付款记录"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in STATES.items())}
    #: ``/<pk>/present``, ``/verify``, ``/pay``, ``/release``, ``/claim``, ``/cancel``:
    #: declared once in :mod:`.actions` (page and API)
    record_actions = ADVANCE_ACTIONS

    @expose("/agree", methods=["POST"])
    @protect()
    @safe
    @permission_name("manage")
    def agree(self):
        """Purchaser: agree an advance (contract, share_percent, delivery_date)
        ---
        post:
          parameters:
          - {in: header, name: Idempotency-Key, required: true, schema: {type: string}}
          responses:
            201: {description: 预付款}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {$ref: '#/components/responses/409'}
            422: {$ref: '#/components/responses/422'}
        """
        return idempotent_write(self, lambda s, b: services.agree(
            s, contract_id=b.get("contract"), share_percent=b.get("share_percent"),
            delivery_date=b.get("delivery_date"), purchaser_ids=purchaser_units(s)),
            advance_json, status=201)


def register(appbuilder: Any) -> None:
    appbuilder.add_api(AdvanceApi)
