"""An accepted e-mall order as a financeable contract (政采贷 on an e-mall order), and its
payments under the repayment-account lock.

Accepting an order writes its ``procurement_base`` contract (``HT-<order number>``, source
``emall``; :func:`addons.emall.services.orders.create_contract`): financing the order is
financing that contract, so every rule of ``supply_chain_finance`` holds unchanged - one
active financing (UNIQUE column), amount ≤ order amount − paid − financed with the contract row
locked (``SELECT ... FOR UPDATE``) at applying and approving, the purchaser's confirmation,
the lock, disbursement and repayment. This module adds what the order knows, through hooks:

* ``supply_chain_finance.financeable_checks``: only an accepted order (not disputed, not yet
  paid) is financeable - at applying and again at approval;
* ``supply_chain_finance.contract_sources``: the order's data for the bank (order number,
  status, delivery, acceptance, payment due, amount paid) and its acceptance status;
* ``supply_chain_finance.lock_changes``: every change of the lock is audited on the order too;
* ``emall.payment_validators`` / ``emall.payee_account_hints``: the order's payment (the
  ``pay`` step, page and API) goes to the locked account, refused otherwise (422 on
  ``payee_account``, nothing stored); the pay form offers the locked account;
* ``emall.order_links``: 申请融资 on the supplier's accepted order, the financing and the
  repayment account on the order page.

:func:`apply_order` is the supplier's application by order (API ``scf_emall_order``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.emall.hooks import ORDER_LINKS, PAYEE_ACCOUNT_HINTS, PAYMENT_VALIDATORS
from addons.emall.models import (
    ORDER_CHANNELS,
    ORDER_STATES,
    EmallAcceptance,
    EmallOrder,
    EmallOrderLine,
)
from addons.procurement_base.models import Contract
from addons.supply_chain_finance import services as scf
from addons.supply_chain_finance.hooks import (
    CONTRACT_SOURCES,
    FINANCEABLE_CHECKS,
    LOCK_CHANGES,
    ContractSource,
)
from addons.supply_chain_finance.models import APP_STATES, LOCK_STATES, AccountLock, Application
from core.errors import ConflictError, ForbiddenError, RuleError
from core.services import audit

from .models import MODULE

UNSCOPED = {"erp_unscoped": True}
ORDER_KIND = "emall_order"


def _date(value: Any) -> str:
    if value is None:
        return ""
    return (value.date() if hasattr(value, "hour") else value).isoformat()


def order_of_contract(session: Session, contract: Contract) -> EmallOrder | None:
    """The e-mall order whose acceptance wrote ``contract`` (None for any other contract)."""
    if contract is None or contract.source != "emall":
        return None
    with session.no_autoflush:
        return session.execute(select(EmallOrder).where(EmallOrder.contract_id == contract.id)
                               .execution_options(**UNSCOPED)).scalars().first()


def _contract(session: Session, contract_id: int | None) -> Contract | None:
    if contract_id is None:
        return None
    return scf.contract_of(session, contract_id)


def order_refusal(order: EmallOrder) -> str | None:
    """Why the order cannot be financed (None: it can, as far as the order goes)."""
    if order.status == "accepted" and order.contract_id is not None:
        return None
    state = ORDER_STATES.get(order.status, "")
    if order.status in ("placed", "confirmed", "shipped", "delivered"):
        return f"订单 {order.number} 状态为“{state}”，验收通过后才能申请融资"
    if order.status == "disputed":
        return f"订单 {order.number} 存在争议，争议解决前不能申请融资"
    if order.status == "paid":
        return f"订单 {order.number} 已付款，无可融资的应收账款"
    return f"订单 {order.number} 状态为“{state}”，不能申请融资"


# -- supply_chain_finance's hooks -------------------------------------------------------------
@FINANCEABLE_CHECKS.implement(MODULE)
def accepted_orders_only(session: Session, contract: Contract) -> None:
    order = order_of_contract(session, contract)
    if order is None:
        return
    reason = order_refusal(order)
    if reason:
        raise RuleError({"contract": [reason]})


def _acceptance(session: Session, order: EmallOrder) -> str:
    if order.accepted_on is None:
        return "未验收"
    rec = session.execute(select(EmallAcceptance).where(EmallAcceptance.order_id == order.id)
                          .execution_options(**UNSCOPED)).scalars().first()
    who = f"，验收人员：{rec.inspectors}" if rec is not None and rec.inspectors else ""
    return f"已验收（{order.accepted_on.isoformat()}，数量、质量合格{who}）"


@CONTRACT_SOURCES.implement(MODULE)
def order_source(session: Session, contract: Contract) -> ContractSource | None:
    """What the bank sees of the order behind the contract, straight from the e-mall."""
    order = order_of_contract(session, contract)
    if order is None:
        return None
    with session.no_autoflush:
        paid = scf.paid_total(session, contract.id)
        purchaser = order.purchaser
        rows = session.execute(select(EmallOrderLine).where(EmallOrderLine.order_id == order.id)
                               .order_by(EmallOrderLine.id).execution_options(**UNSCOPED)).scalars()
        lines = "；".join(f"{ln.name} × {ln.quantity}{ln.unit}" for ln in rows)
    acceptance = _acceptance(session, order)
    delivered = (f"已送达（{_date(order.delivered_at)}）" if order.delivered_at is not None
                 else "未送达")
    return ContractSource(
        kind=ORDER_KIND, title=f"电子卖场订单 {order.number}",
        fields=[
            ("order_number", "订单号", order.number),
            ("order_status", "订单状态", ORDER_STATES.get(order.status, "")),
            ("accepted_on", "验收日期", _date(order.accepted_on)),
            ("channel", "下单渠道", ORDER_CHANNELS.get(order.channel, "")),
            ("purchaser_name", "采购人", purchaser.name if purchaser else ""),
            ("purchaser_credit_code", "采购人统一社会信用代码",
             (purchaser.credit_code or "") if purchaser else ""),
            ("placed_on", "下单日期", _date(order.placed_at)),
            ("delivery_status", "送达情况", delivered),
            ("acceptance_status", "验收情况", acceptance),
            ("order_amount", "订单金额", str(order.amount)),
            ("paid_amount", "已付金额", str(paid)),
            ("payment_due", "付款期限", _date(order.payment_due)),
            ("paid_on", "付款日期", _date(order.paid_on)),
            ("lines", "商品", lines),
        ],
        overrides={"acceptance_status": acceptance,
                   "performance_period": (f"{_date(order.placed_at)} 至 {_date(order.accepted_on)}"
                                          if order.placed_at and order.accepted_on else "")},
    )


@LOCK_CHANGES.implement(MODULE)
def audit_order_lock(session: Session, lock: AccountLock, change: str, reason: str | None) -> None:
    """Every change of a financed order's repayment-account lock, audited on the order."""
    contract = _contract(session, lock.contract_id)
    order = order_of_contract(session, contract)
    if order is None:
        return
    audit.record(session, action=f"scf_lock_{change}", object_type="emall_order",
                 object_id=order.id, module=MODULE, region_id=order.region_id, reason=reason,
                 after={"订单": order.number, "合同": lock.contract_number,
                        "回款账户": f"{lock.account_bank or ''} {lock.account}".strip(),
                        "状态": LOCK_STATES.get(lock.status, "")})


# -- the e-mall's hooks -------------------------------------------------------------------------
def order_lock(session: Session, order: EmallOrder) -> AccountLock | None:
    """The order's confirmed repayment-account lock (None: none, or not confirmed yet)."""
    if order.contract_id is None:
        return None
    with session.no_autoflush:
        lock = scf.active_lock(session, order.contract_id)
    return lock if lock is not None and lock.status == "locked" else None


def _account(value: str | None) -> str:
    return (value or "").replace(" ", "")


@PAYMENT_VALIDATORS.implement(MODULE)
def locked_order_payments(session: Session, order: EmallOrder, payee_account: str | None) -> None:
    """A financed order whose repayment account the purchaser confirmed is paid only there."""
    lock = order_lock(session, order)
    if lock is None or _account(payee_account) == _account(lock.account):
        return
    raise RuleError({"payee_account": [
        f"该订单已办理政府采购合同融资（合同 {lock.contract_number}），回款账户已锁定为 "
        f"{lock.account_bank or ''} {lock.account}，付款只能付至该账户，付款时须注明付至该收款账户"]})


@PAYEE_ACCOUNT_HINTS.implement(MODULE)
def locked_order_hint(session: Session, order: EmallOrder) -> tuple[str, str] | None:
    lock = order_lock(session, order)
    if lock is None:
        return None
    bank = f"（{lock.account_bank}）" if lock.account_bank else ""
    return lock.account, (f"该订单已办理政府采购合同融资，回款账户已锁定为 {lock.account}{bank}，"
                          "付款只能付至该账户")


def financeable(session: Session, order: EmallOrder) -> Decimal | None:
    """The amount the supplier may still finance on the order (None: not financeable now)."""
    if order_refusal(order):
        return None
    contract = _contract(session, order.contract_id)
    if contract is None:
        return None
    try:
        scf.check_financeable(session, contract)
    except (RuleError, ConflictError):
        return None
    left = scf.unpaid_remainder(session, contract)
    return left if left > 0 else None


@ORDER_LINKS.implement(MODULE)
def financing_links(session: Session, order: EmallOrder, scope: Any) -> list[tuple[str, str]]:
    """申请融资 for the supplier of a financeable order; the financing (supplier) and the
    repayment account (supplier, purchaser) of a financed one."""
    if order.contract_id is None:
        return []
    out: list[tuple[str, str]] = []
    actor = getattr(scope, "actor", None)
    with session.no_autoflush:
        financing = scf.active_financing(session, order.contract_id)
        lock = scf.active_lock(session, order.contract_id)
    if actor == "supplier" and scope.org_id == order.supplier_id:
        if financing is not None:
            out.append((f"融资申请 {financing.number}（{APP_STATES[financing.status]}）",
                        url_for("ApplicationView.show", pk=financing.id)))
        elif financeable(session, order) is not None:
            out.append(("申请融资（政采贷）", url_for("ApplyView.index", contract=order.contract_id)
                        + f"#scf-contract-{order.contract_id}"))
    if lock is not None and actor in ("supplier", "purchaser"):
        out.append((f"回款账户（{LOCK_STATES[lock.status]}）",
                    url_for("AccountLockView.show", pk=lock.id)))
    return out


# -- applying by order --------------------------------------------------------------------------
def apply_order(session: Session, *, supplier_id: int, order_id: Any, bank_id: Any, amount: Any,
                purpose: Any = None, contact: Any = None, phone: Any = None) -> Application:
    """The supplier applies on its own accepted order to an institution of its choosing: the
    order is checked here (its own: 403; accepted: 422), the rest is
    :func:`supply_chain_finance.services.apply` on the order's contract (locked row, no double
    financing: 409, amount over order amount − paid − financed: 422)."""
    try:
        oid = scf.record_id(order_id)
    except (TypeError, ValueError):
        raise RuleError({"order": ["请选择订单"]}) from None
    order = session.execute(select(EmallOrder).where(EmallOrder.id == oid)
                            .execution_options(**UNSCOPED)).scalars().first()
    if order is None:
        raise RuleError({"order": ["订单不存在"]})
    if order.supplier_id != supplier_id:
        raise ForbiddenError({"order": ["该订单不是贵单位的订单，不能申请融资"]})
    reason = order_refusal(order)
    if reason:
        raise RuleError({"order": [reason]})
    return scf.apply(session, supplier_id=supplier_id, contract_id=order.contract_id,
                     bank_id=bank_id, amount=amount, purpose=purpose, contact=contact, phone=phone)


def order_json(session: Session, order: EmallOrder) -> dict[str, Any]:
    contract = _contract(session, order.contract_id)
    financing = scf.active_financing(session, order.contract_id) if order.contract_id else None
    left = financeable(session, order)
    return {"id": order.id, "number": order.number, "status": order.status,
            "status_label": ORDER_STATES.get(order.status), "amount": str(order.amount),
            "purchaser": order.purchaser.name if order.purchaser else None,
            "accepted_on": _date(order.accepted_on) or None, "contract_id": order.contract_id,
            "contract_number": contract.number if contract else None,
            "paid_amount": str(scf.paid_total(session, contract.id)) if contract else "0.00",
            "financeable_amount": str(left) if left is not None else None,
            "financing": financing.number if financing else None,
            "financing_status": APP_STATES[financing.status] if financing else None}


__all__ = ["apply_order", "financeable", "order_lock", "order_of_contract", "order_refusal",
           "order_source"]
