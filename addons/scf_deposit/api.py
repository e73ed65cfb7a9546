"""REST API of ``scf_deposit`` under ``/api/v1/scf_guarantee/`` (thin over :mod:`.services`;
OpenAPI at ``/api/v1/_openapi``). Authentication and ``Idempotency-Key`` on every write as
the bank API of ``supply_chain_finance`` (core's mechanism, :mod:`core.api.idempotency`: a
retry never creates a second record). The record writes are the actions of
:mod:`.actions`, declared once for the page and this API (``idempotent=True``).

* supplier: ``GET /issuers/<project>`` (institutions in a random order), ``POST /request``,
  ``POST /<pk>/withdraw``;
* institution: ``POST /<pk>/issue`` (number, amount, valid_from, valid_until, file_name,
  file_sha256, verify_code, optional ``file_base64``: the PDF/OFD, checked against the
  SHA-256), ``/<pk>/decline``, ``/<pk>/claim_payment``;
* beneficiary (the project's purchaser or agency): ``POST /<pk>/verify`` (verify_code,
  file_sha256 or file_base64, required_amount), ``/<pk>/claim``, ``/<pk>/release``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect

from addons.procurement_base.models import Project
from addons.supply_chain_finance.api import caller_org_id, idempotent_write
from addons.supply_chain_finance.models import INSTITUTION_KINDS
from core.api import ErpModelRestApi
from core.errors import NotFoundError

from . import services
from .actions import GUARANTEE_ACTIONS, guarantee_json
from .models import KINDS, STATES, Guarantee

__all__ = ["GuaranteeApi", "guarantee_json", "register"]


class GuaranteeApi(ErpModelRestApi):
    resource_name = "scf_guarantee"
    datamodel = SQLAInterface(Guarantee)
    class_permission_name = "ScfGuarantee"
    include_route_methods = {"get", "get_list", "info", "issuers", "request_", "withdraw",
                             "issue", "decline", "pay_claim", "verify", "claim", "release"}
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
    #: ``/<pk>/withdraw``, ``/issue``, ``/decline``, ``/claim_payment``, ``/verify``,
    #: ``/claim``, ``/release``: declared once in :mod:`.actions` (page and API)
    record_actions = GUARANTEE_ACTIONS

    def _write(self, fn: Callable[[Any, dict[str, Any]], Guarantee], status: int = 200):
        return idempotent_write(self, fn, guarantee_json, status=status)

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
        return self._write(lambda s, b: services.request(
            s, supplier_id=caller_org_id(), kind=b.get("kind"), issuer_id=b.get("issuer"),
            amount=b.get("amount"), package_id=b.get("package"), contract_id=b.get("contract"),
            ciphered=b.get("ciphered", False)), status=201)


def register(appbuilder: Any) -> None:
    appbuilder.add_api(GuaranteeApi)
