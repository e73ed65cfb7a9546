"""REST API of ``scf_deposit`` under ``/api/v1/scf_guarantee/`` (thin over :mod:`.services`;
OpenAPI at ``/api/v1/_openapi``). Authentication and ``Idempotency-Key`` on every write as
the bank API of ``supply_chain_finance`` (the same helper: a retry never creates a second
record).

* supplier: ``GET /issuers/<project>`` (institutions in a random order), ``POST /request``,
  ``POST /<pk>/withdraw``;
* institution: ``POST /<pk>/issue`` (number, amount, valid_from, valid_until, file_name,
  file_sha256, verify_code, optional ``file_base64``: the PDF/OFD, checked against the
  SHA-256), ``/<pk>/decline``, ``/<pk>/claim_payment``;
* beneficiary (the project's purchaser or agency): ``POST /<pk>/verify`` (verify_code,
  file_sha256 or file_base64, required_amount), ``/<pk>/claim``, ``/<pk>/release``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from typing import Any

from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect

from addons.procurement_base.models import Project
from addons.supply_chain_finance.api import caller_org_id, current_user_name, idempotent_write
from addons.supply_chain_finance.models import INSTITUTION_KINDS
from core.api import ErpModelRestApi
from core.errors import NotFoundError, RuleError
from core.tenancy import current_scope

from . import services
from .models import KINDS, STATES, Guarantee


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def guarantee_json(g: Guarantee) -> dict[str, Any]:
    return {
        "id": g.id, "request_number": g.request_number, "kind": g.kind,
        "kind_label": KINDS.get(g.kind), "status": g.status, "status_label": STATES.get(g.status),
        "project_id": g.project_id, "package_id": g.package_id, "contract_id": g.contract_id,
        "supplier": g.supplier.name if g.supplier else None,
        "supplier_credit_code": g.supplier.credit_code if g.supplier else None,
        "issuer": g.issuer.name if g.issuer else None,
        "issuer_credit_code": g.issuer.credit_code if g.issuer else None,
        "beneficiary": g.beneficiary.name if g.beneficiary else None,
        "requested_amount": _s(g.requested_amount), "ciphered": g.ciphered,
        "number": g.number, "amount": _s(g.amount), "valid_from": _iso(g.valid_from),
        "valid_until": _iso(g.valid_until), "file_name": g.file_name,
        # the registered digests: to the issuer and the applicant; the beneficiary checks the
        # file it received against them and is never shown them
        **({"file_sha256": g.file_sha256, "file_sm3": g.file_sm3}
           if current_scope().org_id in (g.issuer_id, g.supplier_id) else {}),
        "deposit_id": g.deposit_id,
        "decline_reason": g.decline_reason, "claimed_on": _iso(g.claimed_on),
        "claim_paid_amount": _s(g.claim_paid_amount), "claim_paid_on": _iso(g.claim_paid_on),
        "released_on": _iso(g.released_on),
    }


def _file(body: dict[str, Any]) -> bytes | None:
    raw = body.get("file_base64")
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        raise RuleError({"file_base64": ["文件内容须为 Base64 文本"]})
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise RuleError({"file_base64": ["文件内容不是有效的 Base64"]}) from None
    if len(data) > 20 * 1024 * 1024:
        raise RuleError({"file_base64": ["保函文件不能超过 20 MB"]})
    return data


_WRITE_DOC = """
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


class GuaranteeApi(ErpModelRestApi):
    resource_name = "scf_guarantee"
    datamodel = SQLAInterface(Guarantee)
    class_permission_name = "ScfGuarantee"
    include_route_methods = {"get", "get_list", "info", "issuers", "request_", "withdraw",
                             "issue", "decline", "claim_payment", "verify", "claim", "release"}
    list_columns = ["id", "request_number", "kind", "status", "project_id", "package_id",
                    "contract_id", "supplier.id", "supplier.name", "issuer.id", "issuer.name",
                    "beneficiary.id", "beneficiary.name", "requested_amount", "ciphered",
                    "number", "amount", "valid_from", "valid_until", "file_name", "requested_at", "issued_at", "verified_at", "deposit_id",
                    "claimed_on", "claim_paid_amount", "claim_paid_on", "released_on",
                    "region.id", "region.name"]
    show_columns = list_columns + ["decline_reason", "claim_note", "claim_reference"]
    search_columns = ["request_number", "number", "kind", "status", "supplier", "issuer",
                      "beneficiary", "region"]
    order_columns = ["request_number", "number", "requested_at", "status"]
    base_order = ("id", "desc")
    label_columns = {
        "request_number": "申请编号", "kind": "保函类型", "status": "状态", "project_id": "采购项目",
        "package_id": "采购包", "contract_id": "合同", "supplier": "申请人（供应商）",
        "issuer": "出函机构", "beneficiary": "受益人", "requested_amount": "申请金额",
        "ciphered": "密文保函", "number": "保函编号", "amount": "保函金额",
        "valid_from": "有效期起始日", "valid_until": "有效期截止日", "file_name": "保函文件",
        "file_sha256": "文件SHA-256", "file_sm3": "文件SM3", "requested_at": "申请时间",
        "issued_at": "出函时间", "verified_at": "验真时间", "deposit_id": "保证金台账记录",
        "claimed_on": "索赔日期", "claim_paid_amount": "赔付金额", "claim_paid_on": "赔付日期",
        "released_on": "解除日期", "region": "所在地区", "decline_reason": "不予出函理由",
        "claim_note": "索赔说明", "claim_reference": "赔付流水号",
    }
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in STATES.items()),
                           "kind": "、".join(f"{k}={v}" for k, v in KINDS.items())}

    def _mine(self, pk: int) -> Guarantee:
        item = self.datamodel.get(self._erp_pk(pk), self._base_filters)
        if item is None:
            raise NotFoundError("保函不存在，或不在您的可见范围内")
        return item

    def _write(self, pk: int | None, fn: Callable[[Any, dict[str, Any]], Guarantee],
               status: int = 200):
        return idempotent_write(self, fn, guarantee_json, status=status,
                                check=(lambda: self._mine(pk)) if pk is not None else None)

    @expose("/issuers/<int:project_id>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def issuers(self, project_id: int):
        """The institutions a supplier may ask for a guarantee, in a random order
        ---
        get:
          parameters:
          - {in: path, name: project_id, schema: {type: integer}}
          responses:
            200: {description: 出函机构（随机顺序）}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            session = self.datamodel.session
            project = session.get(Project, self._erp_pk(project_id))
            if project is None:
                raise NotFoundError("采购项目不存在")
            return self.response(200, result=[{
                "issuer": i.org_id, "name": i.org.name, "kind": INSTITUTION_KINDS.get(i.kind),
                "products": i.products or ""} for i in services.issuers_for(session, project.region_id)])

        return self._erp_answer(run)

    @expose("/request", methods=["POST"])
    @protect()
    @safe
    @permission_name("request")
    def request_(self):
        """Supplier: ask an institution of its choosing for a guarantee (body: kind = bid |
        performance, package or contract, issuer, amount, ciphered); header Idempotency-Key
        ---
        post:
          parameters:
          - {in: header, name: Idempotency-Key, required: true, schema: {type: string}}
          requestBody:
            content:
              application/json:
                schema: {type: object, properties: {kind: {type: string}, package: {type: integer},
                  contract: {type: integer}, issuer: {type: integer}, amount: {type: string},
                  ciphered: {type: boolean}}}
          responses:
            201: {description: 已提交的保函申请}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
            409: {$ref: '#/components/responses/409'}
            422: {$ref: '#/components/responses/422'}
        """
        return self._write(None, lambda s, b: services.request(
            s, supplier_id=caller_org_id(), kind=b.get("kind"), issuer_id=b.get("issuer"),
            amount=b.get("amount"), package_id=b.get("package"), contract_id=b.get("contract"),
            ciphered=b.get("ciphered", False)), status=201)

    @expose("/<int:pk>/withdraw", methods=["POST"])
    @protect()
    @safe
    @permission_name("request")
    def withdraw(self, pk: int):
        return self._write(pk, lambda s, b: services.withdraw(s, pk, supplier_id=caller_org_id()))

    withdraw.__doc__ = "Supplier: withdraw a request not yet answered" + _WRITE_DOC.format(what="保函")

    @expose("/<int:pk>/issue", methods=["POST"])
    @protect()
    @safe
    @permission_name("issue")
    def issue(self, pk: int):
        return self._write(pk, lambda s, b: services.issue(
            s, pk, issuer_id=caller_org_id(), number=b.get("number"), amount=b.get("amount"),
            valid_from=b.get("valid_from"), valid_until=b.get("valid_until"),
            file_name=b.get("file_name"), file_sha256=b.get("file_sha256"),
            verify_code=b.get("verify_code"), file_bytes=_file(b)))

    issue.__doc__ = ("Institution: issue the guarantee (number, amount, valid_from, valid_until, "
                     "file_name, file_sha256, verify_code, file_base64)" + _WRITE_DOC.format(what="已出具的保函"))

    @expose("/<int:pk>/decline", methods=["POST"])
    @protect()
    @safe
    @permission_name("issue")
    def decline(self, pk: int):
        return self._write(pk, lambda s, b: services.decline(s, pk, issuer_id=caller_org_id(),
                                                             reason=b.get("reason")))

    decline.__doc__ = "Institution: decline with the reason (body: reason)" + _WRITE_DOC.format(what="保函")

    @expose("/<int:pk>/claim_payment", methods=["POST"])
    @protect()
    @safe
    @permission_name("issue")
    def claim_payment(self, pk: int):
        return self._write(pk, lambda s, b: services.pay_claim(
            s, pk, issuer_id=caller_org_id(), amount=b.get("amount"), on=b.get("date"),
            reference=b.get("reference")))

    claim_payment.__doc__ = ("Institution: report the claim paid (body: amount, date, reference)"
                             + _WRITE_DOC.format(what="保函"))

    @expose("/<int:pk>/verify", methods=["POST"])
    @protect()
    @safe
    @permission_name("verify")
    def verify(self, pk: int):
        return self._write(pk, lambda s, b: services.verify(
            s, pk, verify_code=b.get("verify_code"), file_sha256=b.get("file_sha256"),
            file_bytes=_file(b), required_amount=b.get("required_amount"),
            actor=current_user_name() or None))

    verify.__doc__ = ("Beneficiary: verify and accept (body: verify_code, file_sha256 or "
                      "file_base64, required_amount); every failed check is a reason in the 422"
                      + _WRITE_DOC.format(what="已验真入账的保函"))

    @expose("/<int:pk>/claim", methods=["POST"])
    @protect()
    @safe
    @permission_name("verify")
    def claim(self, pk: int):
        return self._write(pk, lambda s, b: services.claim(s, pk, reason_id=b.get("reason"),
                                                           note=b.get("note")))

    claim.__doc__ = ("Beneficiary: claim under a listed forfeiture case (body: reason, note)"
                     + _WRITE_DOC.format(what="保函"))

    @expose("/<int:pk>/release", methods=["POST"])
    @protect()
    @safe
    @permission_name("verify")
    def release(self, pk: int):
        return self._write(pk, lambda s, b: services.release(s, pk, note=b.get("note")))

    release.__doc__ = "Beneficiary: release (return) the guarantee" + _WRITE_DOC.format(what="保函")


def register(appbuilder: Any) -> None:
    appbuilder.add_api(GuaranteeApi)
