"""REST APIs of ``supply_chain_finance`` under ``/api/v1/`` - the bank's interface (thin:
every rule is in :mod:`.services`). OpenAPI at ``/api/v1/_openapi``.

Authentication: an institution's system logs in as one of the institution's users
(``POST /api/v1/security/login`` with ``{"username", "password", "provider": "db"}`` - the
client credentials - and sends ``Authorization: Bearer <access_token>``; refresh with
``/api/v1/security/refresh``). Mutual TLS is terminated by the reverse proxy in front of the
platform (docs/supply_chain_finance.md). Everything an institution reads or writes is
limited to what is addressed to it (record rules).

Every write needs an ``Idempotency-Key`` header (1-100 characters, unique per request of the
caller's organisation): the response is stored with the key in the write's transaction, and
a retry with the same key gets the stored response (header ``Idempotent-Replayed: true``)
and never creates a second record; the same key with another body answers 422.

Resources: ``scf_application`` (list/get; ``GET /<pk>/contract``; supplier: ``POST /apply``,
``/<pk>/reply``, ``/<pk>/withdraw``; bank: ``/<pk>/decision``, ``/<pk>/disbursement``,
``/<pk>/repayment``, ``/<pk>/release``), ``scf_account_lock`` (list/get; purchaser:
``POST /<pk>/confirm``), ``scf_entry`` (list/get), ``scf_institution`` (``GET /choices/<contract>``:
the institutions a supplier may choose, random order). The ``/<pk>/...`` writes are the
actions of :mod:`.actions`, declared once for the pages and this API (``idempotent=True``,
the services' own answers: ``api_raw``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from addons.procurement_base.models import Contract
from core.api import ErpModelRestApi, json_object_body
from core.api.idempotency import IDEMPOTENCY_HEADER  # noqa: F401  (public name, kept)
from core.api.idempotency import idempotent as core_idempotent
from core.db import db
from core.errors import NotFoundError

from . import services
from .actions import (
    APPLICATION_ACTIONS,
    APPLICATION_NOT_FOUND,
    LOCK_ACTIONS,
    app_json,
    caller_org_id,
    current_user_name,  # noqa: F401  (public name, kept)
    lock_json,  # noqa: F401  (public name, kept)
    purchaser_units,  # noqa: F401  (public name, kept: the bridges use it)
)
from .models import (
    APP_STATES,
    ENTRY_KINDS,
    INSTITUTION_KINDS,
    LOCK_STATES,
    AccountLock,
    Application,
    Entry,
    Institution,
)


def _body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    return json_object_body() if raw.strip() else {}


_org_id = caller_org_id

#: public names for the bridges' APIs: caller_org_id, app_json, lock_json (from .actions)


def idempotent(api: Any, do: Callable[[Any, dict[str, Any]], tuple[int, dict[str, Any]]]):
    """Run a write once per ``Idempotency-Key`` of the caller's organisation (the core
    mechanism, :func:`core.api.idempotency.idempotent`; the caller must have one)."""
    return core_idempotent(db.session, lambda session: do(session, _body()), check=_org_id)


def idempotent_write(api: Any, fn: Callable[[Any, dict[str, Any]], Any],
                     to_json: Callable[[Any], dict[str, Any]], *, status: int = 200,
                     check: Callable[[], Any] | None = None):
    """A bridge's write endpoint (scf_deposit, scf_advance, scf_emall): ``check()`` first (the
    record within the caller's reach, else 404), then ``fn(session, body)`` once per
    ``Idempotency-Key`` (:func:`idempotent`), answered ``{"result": to_json(record)}``."""

    def run():
        if check is not None:
            check()

        def do(session: Any, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            return status, {"result": to_json(fn(session, body))}

        return idempotent(api, do)

    return api._erp_answer(run)


class _ListQuery(SQLAInterface):
    """The bank's application list without FAB's per-request query building.

    FAB counts a list by wrapping the whole page query (every list column and the aliased
    outer joins of ``supplier``, ``bank`` and ``region``) in a subquery, and builds those
    aliased joins and per-column load options again on every call: most of a list call's
    time (docs/supply_chain_finance.md, performance). The joins are many-to-one, so they
    never change the number of rows: the count is ``count(id)`` over the filtered base table,
    and the page is the filtered base table with each listed relation joined-eager-loaded
    (only the listed columns). Same rows, same order, same JSON; the record rules still apply
    (:mod:`core.tenancy` adds them to every statement). A filter or order on a dotted column,
    or a listed column that is not a plain column of a many-to-one relation, keeps FAB's way.
    """

    def _plain(self, filters: Any, order_column: str = "",
               select_columns: list[str] | None = None) -> bool:
        if filters is not None and any("." in f.column_name for f in filters.filters):
            return False
        if "." in (order_column or ""):
            return False
        for col in select_columns or ():
            root, _, leaf = col.partition(".")
            if not leaf:
                if self.is_relation(root) or self.is_property_or_function(root):
                    return False
            elif not self.is_relation_many_to_one(root) or "." in leaf:
                return False
        return True

    def query_count(self, query: Any, filters: Any = None, select_columns: Any = None) -> int:
        if not self._plain(filters):
            return super().query_count(query, filters, select_columns)
        counted = self.apply_filters(query, self.get_inner_filters(filters))
        return counted.with_entities(func.count(self.obj.id)).order_by(None).scalar() or 0

    def query(self, filters: Any = None, order_column: str = "", order_direction: str = "",
              page: int | None = None, page_size: int | None = None,
              select_columns: list[str] | None = None, outer_default_load: bool = False) -> Any:
        if not select_columns or not self._plain(filters, order_column, select_columns):
            return super().query(filters, order_column, order_direction, page, page_size,
                                 select_columns, outer_default_load)
        count = self.query_count(self.session.query(self.obj), filters)
        leaves: dict[str, list[str]] = {}
        for col in select_columns:
            root, _, leaf = col.partition(".")
            if leaf:
                leaves.setdefault(root, []).append(leaf)
        loads = []
        for root, cols in leaves.items():
            related = self.get_related_model(root)
            loads.append(joinedload(getattr(self.obj, root)).load_only(
                *(getattr(related, c) for c in cols)))
        page_query = self.apply_filters(self.session.query(self.obj).options(*loads),
                                        self.get_inner_filters(filters))
        page_query = self.apply_order_by(page_query, order_column, order_direction, add_pk=True)
        page_query = self.apply_pagination(page_query, page, page_size)
        return count, page_query.all()


class ApplicationApi(ErpModelRestApi):
    resource_name = "scf_application"
    datamodel = _ListQuery(Application)
    class_permission_name = "ScfApplication"
    include_route_methods = {"get", "get_list", "info", "contract", "apply", "reply", "withdraw",
                             "decision", "disburse", "repay", "release"}
    list_columns = ["id", "number", "contract_id", "contract_number", "supplier.id", "supplier.name",
                    "bank.id", "bank.name", "amount", "status", "submitted_at", "decision_due",
                    "decided_at", "approved_amount", "rate_percent", "term_months",
                    "repayment_account", "repayment_bank", "disbursed_amount", "disbursed_on",
                    "maturity_date", "repaid_amount", "last_repaid_on", "info_request",
                    "supplier_reply", "reject_reason", "registry_number", "region.id", "region.name"]
    show_columns = list_columns + ["purpose", "contact", "phone", "release_reason"]
    search_columns = ["number", "status", "supplier", "bank", "contract_number", "submitted_on",
                      "decision_due", "region"]
    order_columns = ["number", "amount", "submitted_at", "decision_due", "status"]
    base_order = ("id", "desc")
    label_columns = {
        "number": "申请编号", "contract_number": "合同编号", "contract_id": "合同", "supplier": "供应商", "bank": "金融机构",
        "amount": "申请金额", "status": "状态", "submitted_at": "提交时间",
        "decision_due": "承诺决定日期", "decided_at": "决定时间", "approved_amount": "批准金额",
        "rate_percent": "年利率（%）", "term_months": "期限（月）", "repayment_account": "回款账户",
        "repayment_bank": "回款账户开户行", "disbursed_amount": "放款金额", "disbursed_on": "放款日期",
        "maturity_date": "到期日", "repaid_amount": "已还金额", "last_repaid_on": "最近还款日期",
        "info_request": "要求补充的材料", "supplier_reply": "供应商补充说明",
        "reject_reason": "拒绝理由", "registry_number": "动产融资登记编号", "region": "所在地区",
        "purpose": "资金用途", "contact": "联系人", "phone": "联系电话", "release_reason": "解除原因",
    }
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in APP_STATES.items())}
    #: ``/<pk>/reply``, ``/withdraw``, ``/decision``, ``/disbursement``, ``/repayment``,
    #: ``/release``: declared once in :mod:`.actions` (page and API, ``Idempotency-Key``)
    record_actions = APPLICATION_ACTIONS

    def _mine(self, pk: int) -> Application:
        item = self.datamodel.get(self._erp_pk(pk), self._base_filters)
        if item is None:
            raise NotFoundError(APPLICATION_NOT_FOUND)
        return item

    @expose("/<int:pk>/contract", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def contract(self, pk: int):
        """The contract data the bank needs, straight from the platform's records
        ---
        get:
          parameters:
          - {in: path, name: pk, schema: {type: integer}}
          responses:
            200: {description: 合同编号、项目、采购方式、采购人、供应商、金额、签订日期、履行期限、付款计划、已付金额、验收状态、中小企业预留标识、融资状态}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            app = self._mine(pk)
            session = self.datamodel.session
            # one statement for the contract and what contract_data and app_json read of it
            # (project, package, purchaser, supplier; the application's supplier is the
            # contract's) instead of a lazy load each
            contract = session.execute(
                select(Contract).where(Contract.id == app.contract_id)
                .options(joinedload(Contract.project), joinedload(Contract.package),
                         joinedload(Contract.purchaser), joinedload(Contract.supplier))
                .execution_options(erp_unscoped=True)).unique().scalars().one()
            return self.response(200, result={"application": app_json(app),
                                              "contract": services.contract_data(session, contract)})

        return self._erp_answer(run)

    @expose("/apply", methods=["POST"])
    @protect()
    @safe
    @permission_name("apply")
    def apply(self):
        """Supplier: apply on its own contract to an institution of its choosing (body:
        contract, bank, amount, purpose, contact, phone); header Idempotency-Key
        ---
        post:
          parameters:
          - {in: header, name: Idempotency-Key, required: true, schema: {type: string}}
          requestBody:
            content:
              application/json:
                schema: {type: object, properties: {contract: {type: integer}, bank: {type: integer},
                  amount: {type: string}, purpose: {type: string}, contact: {type: string}, phone: {type: string}}}
          responses:
            201: {description: 已提交的申请}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409: {$ref: '#/components/responses/409'}
            422: {$ref: '#/components/responses/422'}
        """
        return idempotent_write(self, lambda s, b: services.apply(
            s, supplier_id=_org_id(), contract_id=b.get("contract"), bank_id=b.get("bank"),
            amount=b.get("amount"), purpose=b.get("purpose"), contact=b.get("contact"),
            phone=b.get("phone")), app_json, status=201)


class AccountLockApi(ErpModelRestApi):
    resource_name = "scf_account_lock"
    datamodel = SQLAInterface(AccountLock)
    class_permission_name = "ScfAccountLock"
    include_route_methods = {"get", "get_list", "info", "confirm"}
    list_columns = ["id", "contract_id", "contract_number", "bank.id", "bank.name", "account",
                    "account_name", "account_bank", "status", "confirmed_at", "released_at",
                    "region.id", "region.name"]
    show_columns = list_columns + ["release_reason"]
    search_columns = ["status", "contract_number", "bank", "region"]
    base_order = ("id", "desc")
    label_columns = {"contract_number": "合同编号", "contract_id": "合同", "bank": "金融机构", "account": "回款账户",
                     "account_name": "账户名称", "account_bank": "开户行", "status": "状态",
                     "confirmed_at": "确认时间", "released_at": "解除时间", "region": "所在地区",
                     "release_reason": "解除原因"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in LOCK_STATES.items())}
    #: ``/<pk>/confirm``: declared once in :mod:`.actions` (page and API)
    record_actions = LOCK_ACTIONS


class EntryApi(ErpModelRestApi):
    resource_name = "scf_entry"
    datamodel = SQLAInterface(Entry)
    class_permission_name = "ScfEntry"
    include_route_methods = {"get", "get_list", "info"}
    list_columns = ["id", "application_id", "kind", "amount", "entry_date",
                    "reference", "region.id", "region.name"]
    show_columns = list_columns
    base_order = ("id", "desc")
    label_columns = {"application_id": "融资申请", "kind": "类型", "amount": "金额",
                     "entry_date": "日期", "reference": "银行流水号", "region": "所在地区"}
    description_columns = {"kind": "、".join(f"{k}={v}" for k, v in ENTRY_KINDS.items())}


class InstitutionApi(ErpModelRestApi):
    resource_name = "scf_institution"
    datamodel = SQLAInterface(Institution)
    class_permission_name = "ScfInstitution"
    include_route_methods = {"choices", "sm2_public_key"}

    @expose("/sm2_public_key", methods=["GET"])
    @protect()
    @safe
    @permission_name("signing_key")
    def sm2_public_key(self):
        """The platform's SM2 public key, to verify webhooks signed with SM2 (never the private
        key); 404 while the platform has no key
        ---
        get:
          responses:
            200: {description: 算法、签名者标识、公钥编号、公钥（十六进制与 PEM）、被签名内容的格式}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            from .webhooks import public_key_info

            info = public_key_info()
            if info is None:
                raise NotFoundError("平台尚未生成 SM2 签名密钥")
            return self.response(200, result=info)

        return self._erp_answer(run)

    @expose("/choices/<int:contract_id>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def choices(self, contract_id: int):
        """The institutions a supplier may choose for a contract, in a random order (never
        sorted by anything a purchaser controls; no preferred institution exists)
        ---
        get:
          parameters:
          - {in: path, name: contract_id, schema: {type: integer}}
          responses:
            200: {description: 参与机构（随机顺序）}
            404: {$ref: '#/components/responses/404'}
        """
        def run():
            session = self.datamodel.session
            contract = session.get(Contract, self._erp_pk(contract_id))
            if contract is None:
                raise NotFoundError("合同不存在")
            rows = services.institutions_for(session, contract.region_id)
            return self.response(200, result=[{
                "bank": i.org_id, "name": i.org.name, "kind": INSTITUTION_KINDS.get(i.kind),
                "decision_days": services.decision_days(session, i, contract.region_id),
                "products": i.products or ""} for i in rows])

        return self._erp_answer(run)


def register(appbuilder: Any) -> None:
    appbuilder.add_api(ApplicationApi)
    appbuilder.add_api(AccountLockApi)
    appbuilder.add_api(EntryApi)
    appbuilder.add_api(InstitutionApi)
