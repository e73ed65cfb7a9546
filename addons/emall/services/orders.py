"""Orders: the trading rules by amount, :func:`place_order` (one order per supplier, stock
reserved by an atomic conditional UPDATE) and :data:`ORDER_FLOW` (confirm, ship, deliver,
accept with an acceptance record and a contract, pay, cancel, dispute, resolve)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from addons.procurement_base import services as pb
from addons.procurement_base.models import Contract
from addons.procurement_base.services import Errors, RuleError
from core.models import Organization, Region
from core.services import audit, settings, workdays
from core.services.money import fmt_yuan, to_money
from core.services.statemachine import StateMachine, Transition, TransitionError
from core.tenancy import SYSTEM, Scope, use_scope

from ..hooks import ORDER_VALIDATORS, PAYMENT_VALIDATORS, channel_rules, pricing_strategies
from ..models import ORDER_STATES, EmallAcceptance, EmallListing, EmallOrder, EmallOrderLine
from . import notices
from .common import (
    MODULE,
    ZERO,
    ConflictError,
    _actor_scope,
    _own_units,
    _privileged,
    _text,
    now,
    today,
    unit_address,
)


def trading_band(session: Session, amount: Decimal, region_id: int | None) -> str:
    """direct (amount <= direct limit), comparison (<= upper limit) or refused."""
    direct = settings.get("emall.direct_purchase_limit", region_id, session=session)
    upper = settings.get("emall.comparison_upper_limit", region_id, session=session)
    if amount <= direct:
        return "direct"
    if amount <= upper:
        return "comparison"
    return "refused"


def refusal_message(session: Session, amount: Decimal, region_id: int | None) -> str:
    upper = settings.get("emall.comparison_upper_limit", region_id, session=session)
    return (f"本次采购金额 {fmt_yuan(amount)} 超过电子卖场竞价上限 {fmt_yuan(to_money(upper))}，"
            "电子卖场不予受理：请依法开展政府采购项目（如公开招标、竞争性谈判等）")


def _order_number(session: Session, region_id: int) -> str:
    """DM + region code + date + 8 random hex digits (unique across workers without a
    counter row that every order would have to lock)."""
    code = session.execute(select(Region.code).where(Region.id == region_id)).scalar_one()
    return f"DM{code}{now():%Y%m%d}{secrets.token_hex(4).upper()}"


def reserve_stock(session: Session, listing_id: int, quantity: int, name: str) -> None:
    """Atomic conditional decrement: ``stock = stock - n WHERE stock >= n``; 409 when the
    stock is short (the caller's transaction rolls back, so nothing is kept)."""
    res = session.execute(
        update(EmallListing).where(EmallListing.id == listing_id, EmallListing.stock >= quantity)
        .values(stock=EmallListing.stock - quantity).execution_options(synchronize_session=False))
    if res.rowcount != 1:
        left = session.execute(select(EmallListing.stock).where(EmallListing.id == listing_id)).scalar()
        raise ConflictError({"stock": [f"“{name}”库存不足：剩余 {left or 0}，需要 {quantity}"]})


def release_stock(session: Session, order: EmallOrder) -> None:
    for line in order.lines:
        session.execute(update(EmallListing).where(EmallListing.id == line.listing_id)
                        .values(stock=EmallListing.stock + line.quantity)
                        .execution_options(synchronize_session=False))


def place_order(session: Session, purchaser: Organization, supplier: Organization,
                reqs: Sequence[dict[str, Any]], *, channel: str = "direct", pricing: str = "listing",
                source_ref: str | None = None, comparison_id: int | None = None,
                user_id: int | None = None, delivery_address: str | None = None,
                contact: str | None = None, phone: str | None = None, note: str | None = None,
                scope: Scope | None = None, check_band: bool = True) -> EmallOrder:
    """One order with one supplier. ``reqs``: [{"listing": EmallListing, "quantity": n, ...}]
    (a pricing strategy may read more keys). Stock is reserved line by line (listing id
    order, so concurrent orders never deadlock); ORDER_VALIDATORS run before anything is
    written; the trading rule applies when the channel's rule says so."""
    channels = channel_rules(purchaser.region_id)
    strategies = pricing_strategies(purchaser.region_id)
    if channel not in channels:
        raise RuleError({"channel": [f"未知的下单渠道“{channel}”"]})
    if pricing not in strategies:
        raise RuleError({"pricing": [f"未知的定价方式“{pricing}”"]})
    errors = Errors()
    for r in reqs:
        if r["listing"].supplier_id != supplier.id:
            errors.add("lines", f"“{r['listing'].name}”不是该供应商的商品：一个订单只能有一个供应商")
    errors.raise_if_any()
    order = EmallOrder(purchaser_id=purchaser.id, supplier_id=supplier.id, region_id=purchaser.region_id,
                       user_id=user_id, channel=channel, pricing=pricing, source_ref=source_ref,
                       comparison_id=comparison_id, status="placed",
                       delivery_address=_text(delivery_address) or unit_address(session, purchaser),
                       contact=_text(contact) or None, phone=_text(phone) or None,
                       note=_text(note) or None)
    lines = []
    for r in sorted(reqs, key=lambda r: r["listing"].id):
        listing = r["listing"]
        unit_price = to_money(strategies[pricing](r))
        line = EmallOrderLine(order=order, listing_id=listing.id, category_id=listing.category_id,
                              supplier_id=supplier.id, purchaser_id=purchaser.id,
                              region_id=purchaser.region_id, name=listing.name, brand=listing.brand,
                              model=listing.model, unit=listing.unit, quantity=r["quantity"],
                              unit_price=unit_price, listed_price=listing.price,
                              reference_price=listing.reference_price,
                              amount=to_money(unit_price * r["quantity"]), cold_chain=listing.cold_chain)
        line.listing = listing
        line.category = listing.category
        lines.append(line)
    order.amount = sum((ln.amount for ln in lines), ZERO)
    if check_band and channels[channel].amount_bands:
        band = trading_band(session, order.amount, purchaser.region_id)
        if band == "refused":
            raise RuleError({"amount": [refusal_message(session, order.amount, purchaser.region_id)]})
        if band == "comparison":
            direct = settings.get("emall.direct_purchase_limit", purchaser.region_id, session=session)
            raise RuleError({"amount": [
                f"订单金额 {fmt_yuan(order.amount)} 超过直购限额 {fmt_yuan(to_money(direct))}，"
                "须通过购物车结算发起网上竞价"]})
    # the order's region decides which modules' rules apply (core.hooks)
    ORDER_VALIDATORS.call(order.region_id, lines)
    for line in lines:
        reserve_stock(session, line.listing_id, line.quantity, line.name)
    order.number = _order_number(session, purchaser.region_id)
    order.placed_at = now()
    session.add(order)
    session.flush()
    audit.record(session, action="create", object_type="emall_order", object_id=order.id,
                 after={"number": order.number, "amount": order.amount, "channel": channel,
                        "supplier_id": supplier.id, "purchaser_id": purchaser.id},
                 module=MODULE, region_id=order.region_id)
    notices.order_placed(session, order)
    return order


def _g_acceptance(order: EmallOrder, event: Any) -> str | None:
    rec = event.ctx.get("acceptance")
    if not isinstance(rec, dict):
        return "请填写验收记录"
    if not _text(rec.get("inspectors")):
        return "请填写验收人员"
    on = rec.get("accepted_on")
    if not isinstance(on, dt.date):
        return "请填写验收日期"
    if on > today():
        return "验收日期不能晚于今天"
    if order.delivered_at and on < order.delivered_at.date():
        return "验收日期不能早于送达日期"
    if rec.get("quantity_ok") is False or rec.get("quality_ok") is False:
        return "数量或质量不合格的，不能验收通过：请发起争议"
    return None


def _g_paid(order: EmallOrder, event: Any) -> str | None:
    on = event.ctx.get("paid_on")
    if not isinstance(on, dt.date):
        return "请填写付款日期"
    if on > today():
        return "付款日期不能晚于今天"
    if order.accepted_on and on < order.accepted_on:
        return "付款日期不能早于验收日期"
    return None


ORDER_FLOW = StateMachine(
    field="status", states=ORDER_STATES, initial="placed", subject_zh="订单",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("confirm", "placed", "confirmed", label_zh="确认订单"),
        Transition("ship", "confirmed", "shipped", label_zh="发货"),
        Transition("deliver", "shipped", "delivered", label_zh="确认送达"),
        Transition("accept", "delivered", "accepted", guard=_g_acceptance, label_zh="验收"),
        Transition("pay", "accepted", "paid", guard=_g_paid, label_zh="付款"),
        Transition("cancel", ("placed", "confirmed"), "cancelled", require_reason=True,
                   label_zh="取消订单"),
        Transition("dispute", ("confirmed", "shipped", "delivered", "accepted"), "disputed",
                   require_reason=True, label_zh="发起争议"),
        Transition("resume_confirmed", "disputed", "confirmed", require_reason=True,
                   label_zh="争议解决：继续履行"),
        Transition("resume_shipped", "disputed", "shipped", require_reason=True,
                   label_zh="争议解决：继续履行"),
        Transition("resume_delivered", "disputed", "delivered", require_reason=True,
                   label_zh="争议解决：继续履行"),
        Transition("resume_accepted", "disputed", "accepted", require_reason=True,
                   label_zh="争议解决：继续履行"),
        Transition("resolve_cancel", "disputed", "cancelled", require_reason=True,
                   label_zh="争议解决：取消订单"),
    ],
)
#: who may trigger each order transition
ORDER_ACTORS = {"confirm": {"supplier"}, "ship": {"supplier"}, "deliver": {"supplier", "purchaser"},
                "accept": {"purchaser"}, "pay": {"purchaser"}, "cancel": {"supplier", "purchaser"},
                "dispute": {"supplier", "purchaser"}, "resolve": {"agency"}}


def _order_role(session: Session, order: EmallOrder, scope: Scope) -> str | None:
    if _privileged(scope, session):
        return "agency"
    if scope.actor == "supplier" and scope.org_id == order.supplier_id:
        return "supplier"
    if scope.actor == "purchaser" and order.purchaser_id in _own_units(session, scope.org_id):
        return "purchaser"
    return None


def assert_order_part(session: Session, order: EmallOrder, name: str,
                      scope: Scope | None = None) -> None:
    """Whether ``name`` is the user's part in the order (:data:`ORDER_ACTORS`: supplier,
    purchaser; the institution any); raises :class:`RuleError`."""
    role = _order_role(session, order, _actor_scope(scope))
    if role is None or (role != "agency" and role not in ORDER_ACTORS.get(name, ())):
        label = ORDER_FLOW.transition_label(name) if name != "resolve" else "争议处理"
        raise RuleError({"status": [f"您不能对该订单执行“{label}”"]})


def own_step(session: Session, order: EmallOrder, name: str, scope: Scope | None = None) -> bool:
    """Whether ``name`` is the user's own step in the order, what its page offers: a party's
    by :data:`ORDER_ACTORS`, the institution's 争议处理 (the platform's users: every step).
    The institution may still take a party's step (:func:`assert_order_part`)."""
    scope = _actor_scope(scope)
    role = _order_role(session, order, scope)
    if role == "agency" and scope.unrestricted:
        return True
    return role in ORDER_ACTORS.get(name, ())


def lock_order(session: Session, order_id: int) -> EmallOrder | None:
    """The order locked for the transaction (``FOR UPDATE``; SQLite serialises writers)."""
    return session.execute(select(EmallOrder).where(EmallOrder.id == order_id)
                           .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()


def transition_order(session: Session, order: EmallOrder, name: str, *, reason: str | None = None,
                     tracking: str | None = None, acceptance: dict[str, Any] | None = None,
                     paid_on: dt.date | None = None, payment_ref: str | None = None,
                     outcome: str | None = None, scope: Scope | None = None, actor: Any = None,
                     payee_account: str | None = None) -> None:
    """Move an order (audited). ``resolve`` with ``outcome`` continue / cancel picks the
    resolution transition; cancelling releases the reserved stock; acceptance writes the
    acceptance record and the contract; payment the contract's payment to ``payee_account``
    (收款账户), checked first by :data:`~addons.emall.hooks.PAYMENT_VALIDATORS`."""
    scope = _actor_scope(scope)
    if name not in ORDER_ACTORS:
        raise TransitionError(f"未知的操作“{name}”", status=422, code="unknown_transition",
                              transition=name, state=order.status)
    assert_order_part(session, order, name, scope)
    if name == "resolve":
        if outcome not in ("continue", "cancel"):
            raise RuleError({"outcome": ["请选择处理结果：继续履行（continue）或取消订单（cancel）"]})
        if order.status != "disputed":
            raise TransitionError(f"订单状态为“{ORDER_STATES.get(order.status)}”，不能执行“争议处理”",
                                  status=409, code="invalid_state", transition=name, state=order.status)
        name = "resolve_cancel" if outcome == "cancel" else f"resume_{order.disputed_from or 'confirmed'}"
    source = order.status
    ctx: dict[str, Any] = {}
    if name == "accept":
        ctx["acceptance"] = acceptance
    if name == "pay":
        ctx["paid_on"] = paid_on
        payee_account = _text(payee_account) or None
        if payee_account and len(payee_account) > 64:
            raise RuleError({"payee_account": ["收款账户不能超过 64 个字符"]})
        if order.status == "accepted":
            # before anything changes: a refused payment leaves the order as it was
            PAYMENT_VALIDATORS.call(order.region_id, session, order, payee_account)
    ORDER_FLOW.trigger(order, name, actor=actor, reason=_text(reason) or None, session=session,
                       **ctx)
    stamp = now()
    if name == "confirm":
        order.confirmed_at = stamp
    elif name == "ship":
        order.shipped_at = stamp
        order.tracking = _text(tracking) or None
    elif name == "deliver":
        order.delivered_at = stamp
    elif name == "accept":
        _accept(session, order, acceptance or {}, actor)
    elif name == "pay":
        _pay(session, order, paid_on, payment_ref, payee_account)
    elif name == "dispute":
        order.disputed_from = source
    if name in ("cancel", "resolve_cancel"):
        order.cancelled_at = stamp
        release_stock(session, order)
        if order.contract_id:
            contract = session.get(Contract, order.contract_id)
            if contract is not None and contract.status not in ("completed", "terminated"):
                pb.transition_contract(session, contract, "terminate", reason=_text(reason) or "订单取消")
    session.flush()
    notices.order_changed(session, order, name)


def _accept(session: Session, order: EmallOrder, rec: dict[str, Any], actor: Any) -> None:
    on = rec["accepted_on"]
    session.add(EmallAcceptance(order_id=order.id, supplier_id=order.supplier_id,
                                purchaser_id=order.purchaser_id, region_id=order.region_id,
                                accepted_on=on, inspectors=_text(rec.get("inspectors"))[:200],
                                quantity_ok=True, quality_ok=True,
                                note=_text(rec.get("note")) or None,
                                recorded_by=audit.resolve_actor(actor)[0]))
    order.accepted_on = on
    days = settings.get("emall.payment_due_workdays", order.region_id, session=session)
    order.payment_due = workdays.add_working_days(on, days, session)
    if order.contract_id is None:
        order.contract_id = create_contract(session, order).id


def payment_overdue_days(order: EmallOrder, on: dt.date | None = None) -> int:
    """Days an accepted order is unpaid past its 付款期限 (0 when not overdue)."""
    if order.status != "accepted" or order.payment_due is None:
        return 0
    return max(0, ((on or today()) - order.payment_due).days)


def overdue_payments(session: Session, on: dt.date | None = None) -> list[EmallOrder]:
    """Accepted orders in the user's reach not paid by their 付款期限, the oldest due first
    (the purchaser's own units' orders: the order's record rule)."""
    return list(session.execute(select(EmallOrder).where(
        EmallOrder.status == "accepted", EmallOrder.payment_due < (on or today()))
        .order_by(EmallOrder.payment_due, EmallOrder.id)).scalars())


def create_contract(session: Session, order: EmallOrder) -> Contract:
    """The procurement_base contract of an accepted order (source ``emall``), signed on the
    day the order was placed and performing, so that finance and deposits can use it."""
    signed = (order.placed_at or now()).date()
    c = Contract(number=f"HT-{order.number}", source="emall", order_ref=order.number,
                 purchaser_id=order.purchaser_id, supplier_id=order.supplier_id, amount=order.amount,
                 region_id=order.region_id, signed_date=signed, status="draft")
    c.purchaser = session.get(Organization, order.purchaser_id)
    c.supplier = session.get(Organization, order.supplier_id)
    c.region = session.get(Region, order.region_id)
    with use_scope(SYSTEM):
        pb.validate_contract(session, c, scope=SYSTEM)
        session.add(c)
        session.flush()
        pb.transition_contract(session, c, "sign", on=signed)
        pb.transition_contract(session, c, "perform")
    return c


def _pay(session: Session, order: EmallOrder, paid_on: dt.date, ref: str | None,
         payee_account: str | None = None) -> None:
    order.paid_on = paid_on
    order.payment_ref = _text(ref) or None
    if order.contract_id:
        contract = session.get(Contract, order.contract_id)
        with use_scope(SYSTEM):
            pb.record_payment(session, contract, order.amount, paid_on, order.payment_ref,
                              payee_account=payee_account)
            if contract.status in ("signed", "performing"):
                pb.transition_contract(session, contract, "complete")


def validate_order_edit(session: Session, order: EmallOrder, *, scope: Scope | None = None) -> None:
    """PUT of an order: only the purchaser, only while placed, only the delivery details."""
    scope = _actor_scope(scope)
    if _order_role(session, order, scope) not in ("purchaser",) and not scope.unrestricted:
        raise RuleError({"status": ["只有本单位采购人可以修改订单的收货信息"]})
    if order.status != "placed":
        raise ConflictError({"status": [f"订单已{ORDER_STATES.get(order.status)}，不能修改"]})
    if not _text(order.delivery_address):
        order.delivery_address = unit_address(session, session.get(Organization, order.purchaser_id))
