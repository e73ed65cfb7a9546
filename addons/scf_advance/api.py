"""REST API of ``scf_advance`` under ``/api/v1/scf_advance/`` (thin over :mod:`.services`),
every write with an ``Idempotency-Key`` (the bank API's helper): purchaser ``POST agree``
(contract, share_percent, delivery_date), ``<id>/verify`` (file_sha256), ``<id>/pay``
(paid_date, reference, payee_account), ``<id>/release``, ``<id>/claim`` (reason),
``<id>/cancel``; supplier ``<id>/present`` (insurer, policy_number, insured_credit_code,
amount, valid_until, file_sha256)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect

from addons.supply_chain_finance.api import caller_org_id, idempotent_write, purchaser_units
from core.api import ErpModelRestApi
from core.errors import NotFoundError

from . import services
from .models import STATES, Advance


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def advance_json(a: Advance) -> dict[str, Any]:
    return {"id": a.id, "contract_id": a.contract_id, "contract_number": a.contract_number,
            "status": a.status, "status_label": STATES.get(a.status),
            "share_percent": str(a.share_percent), "amount": str(a.amount),
            "delivery_date": _iso(a.delivery_date),
            "insurer": a.insurer.name if a.insurer else None, "policy_number": a.policy_number,
            "policy_amount": None if a.policy_amount is None else str(a.policy_amount),
            "valid_until": _iso(a.valid_until), "payment_id": a.payment_id,
            "paid_on": _iso(a.paid_on), "closed_on": _iso(a.closed_on)}


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

    def _write(self, pk: int | None, fn: Callable[[Any, dict[str, Any]], Advance], status: int = 200):
        def check() -> None:
            if pk is not None and self.datamodel.get(self._erp_pk(pk), self._base_filters) is None:
                raise NotFoundError("预付款记录不存在，或不在您的可见范围内")

        return idempotent_write(self, fn, advance_json, status=status, check=check)

    @expose("/agree", methods=["POST"])
    @protect()
    @safe
    @permission_name("manage")
    def agree(self):
        return self._write(None, lambda s, b: services.agree(
            s, contract_id=b.get("contract"), share_percent=b.get("share_percent"),
            delivery_date=b.get("delivery_date"), purchaser_ids=purchaser_units(s)), status=201)

    agree.__doc__ = ("Purchaser: agree an advance (contract, share_percent, delivery_date)"
                     + _DOC.replace("- {in: path, name: pk, schema: {type: integer}}\n          ", "")
                     .format(what="预付款"))

    @expose("/<int:pk>/present", methods=["POST"])
    @protect()
    @safe
    @permission_name("present")
    def present(self, pk: int):
        return self._write(pk, lambda s, b: services.present(
            s, pk, supplier_id=caller_org_id(), insurer_id=b.get("insurer"),
            policy_number=b.get("policy_number"), insured_credit_code=b.get("insured_credit_code"),
            amount=b.get("amount"), valid_until=b.get("valid_until"),
            file_sha256=b.get("file_sha256")))

    present.__doc__ = "Supplier: present the policy" + _DOC.format(what="预付款")

    @expose("/<int:pk>/verify", methods=["POST"])
    @protect()
    @safe
    @permission_name("manage")
    def verify(self, pk: int):
        return self._write(pk, lambda s, b: services.verify(
            s, pk, file_sha256=b.get("file_sha256"), purchaser_ids=purchaser_units(s)))

    verify.__doc__ = "Purchaser: verify the policy (file_sha256)" + _DOC.format(what="预付款")

    @expose("/<int:pk>/pay", methods=["POST"])
    @protect()
    @safe
    @permission_name("manage")
    def pay(self, pk: int):
        return self._write(pk, lambda s, b: services.pay(
            s, pk, paid_date=b.get("paid_date"), reference=b.get("reference"),
            payee_account=b.get("payee_account"), purchaser_ids=purchaser_units(s)))

    pay.__doc__ = "Purchaser: pay the advance (paid_date, reference, payee_account)" + _DOC.format(what="预付款")

    @expose("/<int:pk>/release", methods=["POST"])
    @protect()
    @safe
    @permission_name("manage")
    def release(self, pk: int):
        return self._write(pk, lambda s, b: services.release(s, pk, purchaser_ids=purchaser_units(s)))

    release.__doc__ = "Purchaser: release the policy after acceptance" + _DOC.format(what="预付款")

    @expose("/<int:pk>/claim", methods=["POST"])
    @protect()
    @safe
    @permission_name("manage")
    def claim(self, pk: int):
        return self._write(pk, lambda s, b: services.claim(s, pk, reason=b.get("reason"),
                                                           purchaser_ids=purchaser_units(s)))

    claim.__doc__ = "Purchaser: claim on non-performance (reason)" + _DOC.format(what="预付款")

    @expose("/<int:pk>/cancel", methods=["POST"])
    @protect()
    @safe
    @permission_name("manage")
    def cancel(self, pk: int):
        return self._write(pk, lambda s, b: services.cancel(s, pk, purchaser_ids=purchaser_units(s)))

    cancel.__doc__ = "Purchaser: cancel before payment" + _DOC.format(what="预付款")


def register(appbuilder: Any) -> None:
    appbuilder.add_api(AdvanceApi)
