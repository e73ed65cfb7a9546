"""Stage 2: call-offs (第二阶段) through the e-mall's order channel ``framework``.

* direct selection (直接选定): the purchaser picks a shortlisted product at or below its
  agreement price;
* second competition (二次竞价): every eligible shortlisted supplier is invited, bids at or
  below the agreement price, the lowest wins after the response window;
* rotation (顺序轮候): awards in the published order, one per supplier per cycle.

Every award reserves quantity on the agreement line's ledger with one conditional UPDATE
(``ordered = ordered + n WHERE cap - ordered >= n``): concurrent call-offs never exceed
the cap (PostgreSQL's row lock and READ COMMITTED re-check; SQLite serialises writers).
The order is then placed by ``emall.services.place_order`` (channel and pricing
``framework``; the e-mall's amount bands do not apply)."""

from __future__ import annotations

import contextvars
import datetime as dt
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from addons.emall.models import EmallListing, EmallOrder
from addons.emall.services import orders as emall_orders
from addons.emall.services.common import ConflictError as EmallConflict
from core.jobs import periodic
from core.models import Organization, Region
from core.services import audit, workdays
from core.services.money import MoneyError, fmt_yuan, to_money
from core.tenancy import Scope

from ..models import METHODS, FaAgreement, FaBid, FaCallOff, FaItem, FaLine, FaMember
from . import discounts, notices
from .common import (
    MODULE,
    UNSCOPED,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RuleError,
    actor_scope,
    entitled,
    get_agreement,
    is_platform,
    now,
    own_unit_ids,
    setting,
    text,
    today,
)

#: set while this module places an order: the e-mall refuses framework orders from elsewhere
PLACING: contextvars.ContextVar[FaCallOff | None] = contextvars.ContextVar("fa_placing", default=None)


@contextmanager
def _placing(calloff: FaCallOff) -> Iterator[None]:
    token = PLACING.set(calloff)
    try:
        yield
    finally:
        PLACING.reset(token)


def _qty(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise RuleError({"quantity": ["采购数量应为正整数"]})
    return value


def _purchaser(session: Session, scope: Scope, purchaser_id: int | None) -> Organization:
    pid = purchaser_id or scope.org_id
    if pid is None:
        raise RuleError({"purchaser": ["请选择采购人"]})
    if not is_platform(scope) and pid not in own_unit_ids(session, scope.org_id):
        raise ForbiddenError("只能以本单位（或下属单位）名义采购")
    org = session.get(Organization, pid, execution_options=UNSCOPED)
    if org is None:
        raise RuleError({"purchaser": ["采购人不存在"]})
    return org


def _check_usable(session: Session, ag: FaAgreement, purchaser: Organization, method: str) -> None:
    """The agreement is in force, names the method, and the purchaser is entitled."""
    if ag.status != "active":
        raise ConflictError("框架协议未生效或已终止，不能采购")
    day = today()
    if day < ag.term_start or day > ag.term_end:
        raise RuleError({"agreement": [f"不在框架协议有效期内（{ag.term_start:%Y-%m-%d} 至 "
                                       f"{ag.term_end:%Y-%m-%d}）：协议期满后不得继续成交"]})
    if method not in ag.method_list:
        raise RuleError({"method": [f"征集文件未规定“{METHODS.get(method, method)}”方式，不能采用"]})
    if not entitled(session, ag, purchaser):
        raise ForbiddenError(f"{purchaser.name}不在该框架协议的适用范围内（适用采购人或地区），不能采购")


def _item(session: Session, ag: FaAgreement, item_id: Any) -> FaItem:
    item = session.get(FaItem, item_id, execution_options=UNSCOPED) if isinstance(item_id, int) else None
    if item is None or item.agreement_id != ag.id:
        raise RuleError({"item": ["请选择本框架协议的品目"]})
    return item


def _number(session: Session, region_id: int) -> str:
    code = session.execute(select(Region.code).where(Region.id == region_id)).scalar_one()
    return f"KX{code}{now():%Y%m%d}{secrets.token_hex(4).upper()}"


def _above(price: Decimal, line: FaLine, quantity: int, ceiling: Decimal, pct: Decimal) -> str:
    """成交单价 ¥… 超过协议价格 ¥…（with the volume discount for this quantity when one applies)."""
    if pct:
        return (f"单价 {fmt_yuan(price)} 超过协议价格：协议价格 {fmt_yuan(line.agreement_price)}，"
                f"采购数量 {quantity} 享受量大优惠 {discounts.pct_text(pct)}，单价不得高于 {fmt_yuan(ceiling)}")
    return f"单价 {fmt_yuan(price)} 超过协议价格 {fmt_yuan(line.agreement_price)}"


def reserve(session: Session, line: FaLine, quantity: int, amount: Decimal) -> None:
    """The ledger's cap: one conditional UPDATE; 409 with what is left when it is short."""
    res = session.execute(
        update(FaLine).where(FaLine.id == line.id, FaLine.active.is_(True),
                             FaLine.cap_quantity - FaLine.ordered_quantity >= quantity)
        .values(ordered_quantity=FaLine.ordered_quantity + quantity,
                ordered_amount=FaLine.ordered_amount + amount)
        .execution_options(synchronize_session=False, erp_unscoped=True))
    if res.rowcount != 1:
        row = session.execute(select(FaLine.cap_quantity - FaLine.ordered_quantity, FaLine.active)
                              .where(FaLine.id == line.id), execution_options=UNSCOPED).first()
        if row is not None and not row[1]:
            raise ConflictError("该入围产品已失效（供应商已退出或被清退），不能采购")
        left = row[0] if row else 0
        raise ConflictError(f"超出协议剩余数量：该入围产品剩余 {left}，本次需要 {quantity}（框架协议采购台账）",
                            code="ledger_exceeded", remaining=left)


def _order(session: Session, calloff: FaCallOff, line: FaLine, purchaser: Organization,
           unit_price: Decimal, *, user_id: int | None, delivery_address: str | None) -> EmallOrder:
    listing = session.get(EmallListing, line.listing_id, execution_options=UNSCOPED)
    supplier = session.get(Organization, line.supplier_id, execution_options=UNSCOPED)
    ceiling, pct = discounts.line_ceiling(line, calloff.quantity, session)
    if unit_price > ceiling:  # the methods check first; this guards every path
        raise RuleError({"unit_price": [_above(unit_price, line, calloff.quantity, ceiling, pct)]})
    amount = to_money(unit_price * calloff.quantity)
    reserve(session, line, calloff.quantity, amount)
    with _placing(calloff):
        order = emall_orders.place_order(
            session, purchaser, supplier, [{"listing": listing, "quantity": calloff.quantity,
                                            "unit_price": unit_price, "fa_line": line}],
            channel="framework", pricing="framework", source_ref=calloff.agreement.number,
            user_id=user_id, delivery_address=delivery_address, check_band=False,
            note=f"框架协议采购 {calloff.number}（{METHODS[calloff.method]}）：协议价格 "
                 f"{fmt_yuan(line.agreement_price)}，量大优惠 {discounts.pct_text(pct)}，"
                 f"成交单价 {fmt_yuan(unit_price)}")
    calloff.order_id = order.id
    calloff.agreement_price = line.agreement_price
    calloff.discount_percent = pct
    calloff.supplier_id = line.supplier_id
    calloff.line_id = line.id
    calloff.unit_price = unit_price
    calloff.amount = amount
    calloff.status = "ordered"
    calloff.awarded_on = today()
    return order


def _new_calloff(session: Session, ag: FaAgreement, item: FaItem, purchaser: Organization, method: str,
                 quantity: int, note: str | None) -> FaCallOff:
    c = FaCallOff(number=_number(session, purchaser.region_id), agreement_id=ag.id, item_id=item.id,
                  agreement_name=ag.name, item_name=item.name,
                  purchaser_id=purchaser.id, method=method, quantity=quantity, region_id=purchaser.region_id,
                  created_at=now(), note=text(note) or None, status="ordered")
    c.agreement = ag
    c.item = item
    return c


def direct_select(session: Session, agreement_id: Any, line_id: Any, quantity: Any, *,
                  unit_price: Any = None, purchaser_id: int | None = None, user_id: int | None = None,
                  delivery_address: str | None = None, note: str | None = None,
                  scope: Scope | None = None) -> FaCallOff:
    """直接选定: a shortlisted product at (or below) its agreement price."""
    scope = actor_scope(scope)
    ag = get_agreement(session, agreement_id)
    purchaser = _purchaser(session, scope, purchaser_id)
    _check_usable(session, ag, purchaser, "direct")
    quantity = _qty(quantity)
    line = session.get(FaLine, line_id, execution_options=UNSCOPED) if isinstance(line_id, int) else None
    if line is None or line.agreement_id != ag.id:
        raise RuleError({"line": ["请选择本框架协议的入围产品"]})
    if not line.active:
        raise ConflictError("该入围产品已失效（供应商已退出或被清退），不能采购")
    ceiling, pct = discounts.line_ceiling(line, quantity, session)
    price = ceiling
    if unit_price not in (None, ""):
        try:
            price = to_money(unit_price)
        except (MoneyError, TypeError):
            raise RuleError({"unit_price": ["成交单价须为金额（元，最多两位小数）"]}) from None
        if price <= 0:
            raise RuleError({"unit_price": ["成交单价应大于 0"]})
        if price > ceiling:
            raise RuleError({"unit_price": ["成交" + _above(price, line, quantity, ceiling, pct)
                                            + "：直接选定不得高于入围产品的协议价格（含量大优惠）"]})
    item = session.get(FaItem, line.item_id, execution_options=UNSCOPED)
    c = _new_calloff(session, ag, item, purchaser, "direct", quantity, note)
    session.add(c)
    session.flush()
    _order(session, c, line, purchaser, price, user_id=user_id, delivery_address=delivery_address)
    session.flush()
    audit.record(session, action="create", object_type="fa_calloff", object_id=c.id,
                 after={"method": "direct", "line": line.id, "quantity": quantity, "amount": c.amount},
                 module=MODULE, region_id=c.region_id)
    return c


def eligible_lines(session: Session, ag: FaAgreement, item: FaItem, quantity: int) -> list[FaLine]:
    """Shortlisted products able to meet the need: active, enough left on their ledger."""
    rows = session.execute(select(FaLine).join(FaMember, (FaMember.agreement_id == FaLine.agreement_id)
                                               & (FaMember.supplier_id == FaLine.supplier_id))
                           .where(FaLine.item_id == item.id, FaLine.active.is_(True), FaMember.status == "active",
                                  FaLine.cap_quantity - FaLine.ordered_quantity >= quantity)
                           .order_by(FaMember.rotation_position), execution_options=UNSCOPED).scalars()
    return list(rows)


def start_competition(session: Session, agreement_id: Any, item_id: Any, quantity: Any,
                      invited: list[int] | None, deadline: Any, *, purchaser_id: int | None = None,
                      note: str | None = None, scope: Scope | None = None) -> FaCallOff:
    """二次竞价: invite every eligible shortlisted supplier; bids close at ``deadline``."""
    scope = actor_scope(scope)
    ag = get_agreement(session, agreement_id)
    purchaser = _purchaser(session, scope, purchaser_id)
    _check_usable(session, ag, purchaser, "competition")
    quantity = _qty(quantity)
    item = _item(session, ag, item_id)
    lines = eligible_lines(session, ag, item, quantity)
    if not lines:
        raise ConflictError("没有能够满足本次需求的入围供应商")
    eligible = {ln.supplier_id: ln for ln in lines}
    chosen = set(invited or [])
    missing = [ln.supplier.name for sid, ln in eligible.items() if sid not in chosen]
    if missing:
        raise RuleError({"invited": ["二次竞价须邀请所有能够满足需求的入围供应商，未邀请：" + "、".join(missing)]})
    strangers = chosen - set(eligible)
    if strangers:
        raise RuleError({"invited": ["只能邀请本框架协议中能够满足需求的入围供应商"]})
    if not isinstance(deadline, dt.datetime):
        raise RuleError({"deadline": ["请填写报价截止时间"]})
    days = int(setting(session, "competition_window_workdays", purchaser.region_id))
    earliest = workdays.add_working_days(today(), days, session)
    if deadline.date() < earliest:
        raise RuleError({"deadline": [f"二次竞价应给予合理的响应时间：报价截止不得早于 {earliest:%Y-%m-%d}"]})
    if deadline.date() > ag.term_end:
        raise RuleError({"deadline": ["报价截止不得晚于协议期满"]})
    c = _new_calloff(session, ag, item, purchaser, "competition", quantity, note)
    c.status = "competing"
    c.bid_deadline = deadline
    session.add(c)
    session.flush()
    for sid, ln in eligible.items():
        session.add(FaBid(calloff_id=c.id, supplier_id=sid, line_id=ln.id, region_id=c.region_id))
    session.flush()
    audit.record(session, action="create", object_type="fa_calloff", object_id=c.id,
                 after={"method": "competition", "invited": sorted(eligible), "deadline": deadline},
                 module=MODULE, region_id=c.region_id)
    from core.messages import notify

    pct = discounts.percent_for(discounts.stored(ag.discount_tiers), quantity)
    for sid in eligible:
        notify(session, org_id=sid, kind="framework_agreement.competition",
               title=f"框架协议二次竞价邀请：{ag.name}",
               body=f"{purchaser.name}就“{item.name}”{quantity}{item.unit}发起二次竞价，"
                    f"报价截止 {deadline:%Y-%m-%d %H:%M}，报价不得高于协议价格"
                    + (f"按量大优惠 {discounts.pct_text(pct)} 后的价格。" if pct else "。"),
               link=f"/facalloffview/show/{c.id}")
    return c


def submit_bid(session: Session, calloff: FaCallOff, unit_price: Any, *, supplier_id: int | None = None,
               scope: Scope | None = None) -> FaBid:
    """An invited supplier bids at or below its agreement price, before the deadline."""
    scope = actor_scope(scope)
    sid = supplier_id or scope.org_id
    if not is_platform(scope) and sid != scope.org_id:
        raise ForbiddenError("只能以本供应商名义报价")
    bid = session.execute(select(FaBid).where(FaBid.calloff_id == calloff.id, FaBid.supplier_id == sid),
                          execution_options=UNSCOPED).scalar_one_or_none()
    if bid is None:
        raise ForbiddenError("该供应商未受邀参加本次二次竞价")
    if calloff.status != "competing" or now() > calloff.bid_deadline:
        raise ConflictError("二次竞价已截止，不能报价")
    try:
        price = to_money(unit_price)
    except (MoneyError, TypeError):
        raise RuleError({"unit_price": ["报价须为金额（元，最多两位小数）"]}) from None
    if price <= 0:
        raise RuleError({"unit_price": ["报价应大于 0"]})
    line = session.get(FaLine, bid.line_id, execution_options=UNSCOPED)
    ceiling, pct = discounts.line_ceiling(line, calloff.quantity, session)
    if price > ceiling:
        raise RuleError({"unit_price": ["报价" + _above(price, line, calloff.quantity, ceiling, pct)[2:]
                                        + "：二次竞价报价不得高于协议价格（含量大优惠）"]})
    bid.unit_price = price
    bid.submitted_at = now()
    session.flush()
    return bid


def award_competition(session: Session, calloff: FaCallOff, *, user_id: int | None = None,
                      delivery_address: str | None = None, scope: Scope | None = None) -> FaCallOff:
    """After the deadline (or when every invited supplier has bid) the lowest bid wins;
    equal bids: the earlier. The deal notice is due within 2 working days."""
    scope = actor_scope(scope)
    purchaser = _purchaser(session, scope, calloff.purchaser_id)
    if calloff.status != "competing":
        raise ConflictError("该二次竞价已结束")
    bids = list(session.execute(select(FaBid).where(FaBid.calloff_id == calloff.id),
                                execution_options=UNSCOPED).scalars())
    valid = [b for b in bids if b.unit_price is not None]
    if now() <= calloff.bid_deadline and len(valid) < len(bids):
        raise ConflictError(f"报价截止（{calloff.bid_deadline:%Y-%m-%d %H:%M}）前且仍有受邀供应商未报价，不能确定成交")
    ag = get_agreement(session, calloff.agreement_id)
    calloff.agreement = ag
    calloff.item = session.get(FaItem, calloff.item_id, execution_options=UNSCOPED)
    if not valid:
        calloff.status = "failed"
        audit.record(session, action="transition:fail", object_type="fa_calloff", object_id=calloff.id,
                     module=MODULE, region_id=calloff.region_id)
        return calloff
    valid.sort(key=lambda b: (b.unit_price, b.submitted_at, b.id))
    last: ConflictError | None = None
    for bid in valid:
        try:
            with session.begin_nested():
                line = session.get(FaLine, bid.line_id, execution_options=UNSCOPED)
                _order(session, calloff, line, purchaser, bid.unit_price, user_id=user_id,
                       delivery_address=delivery_address)
            break
        except (ConflictError, EmallConflict) as exc:  # that supplier ran short meanwhile: next lowest
            last = exc  # type: ignore[assignment]
    else:
        raise last or ConflictError("没有可以成交的报价")
    session.flush()
    audit.record(session, action="transition:award", object_type="fa_calloff", object_id=calloff.id,
                 after={"supplier": calloff.supplier_id, "unit_price": calloff.unit_price}, module=MODULE,
                 region_id=calloff.region_id)
    _deal_notice(session, ag, calloff)
    return calloff


def rotation_next(session: Session, ag: FaAgreement, item: FaItem, quantity: int) -> tuple[FaLine | None, int]:
    """The next supplier in the published order not yet awarded in the current cycle."""
    members = list(session.execute(select(FaMember).where(FaMember.agreement_id == ag.id,
                                                          FaMember.status == "active")
                                   .order_by(FaMember.rotation_position), execution_options=UNSCOPED).scalars())
    cycle = session.execute(select(func.coalesce(func.max(FaCallOff.rotation_cycle), 1))
                            .where(FaCallOff.agreement_id == ag.id, FaCallOff.method == "rotation",
                                   FaCallOff.status == "ordered"), execution_options=UNSCOPED).scalar()
    for _ in range(2):
        awarded = set(session.execute(select(FaCallOff.supplier_id).where(
            FaCallOff.agreement_id == ag.id, FaCallOff.method == "rotation", FaCallOff.status == "ordered",
            FaCallOff.rotation_cycle == cycle), execution_options=UNSCOPED).scalars())
        lines = {ln.supplier_id: ln for ln in eligible_lines(session, ag, item, quantity)}
        for m in members:
            if m.supplier_id not in awarded and m.supplier_id in lines:
                return lines[m.supplier_id], cycle
        cycle += 1  # everyone able has had its turn: a new cycle
    return None, cycle


def rotate(session: Session, agreement_id: Any, item_id: Any, quantity: Any, *, purchaser_id: int | None = None,
           user_id: int | None = None, delivery_address: str | None = None, note: str | None = None,
           scope: Scope | None = None) -> FaCallOff:
    """顺序轮候: the award goes to the next supplier in the published order."""
    scope = actor_scope(scope)
    ag = get_agreement(session, agreement_id, lock=True)  # one rotation at a time per agreement
    purchaser = _purchaser(session, scope, purchaser_id)
    _check_usable(session, ag, purchaser, "rotation")
    quantity = _qty(quantity)
    item = _item(session, ag, item_id)
    line, cycle = rotation_next(session, ag, item, quantity)
    if line is None:
        raise ConflictError("没有能够满足本次需求的入围供应商")
    c = _new_calloff(session, ag, item, purchaser, "rotation", quantity, note)
    c.rotation_cycle = cycle
    session.add(c)
    session.flush()
    price, _pct = discounts.line_ceiling(line, quantity, session)
    _order(session, c, line, purchaser, price, user_id=user_id, delivery_address=delivery_address)
    session.flush()
    audit.record(session, action="create", object_type="fa_calloff", object_id=c.id,
                 after={"method": "rotation", "cycle": cycle, "supplier": line.supplier_id}, module=MODULE,
                 region_id=c.region_id)
    _deal_notice(session, ag, c)
    return c


def _deal_notice(session: Session, ag: FaAgreement, c: FaCallOff) -> None:
    notices.issue(session, ag, "framework_deal", f"calloff:{c.id}", f"{ag.name} 成交结果公告（{c.number}）",
                  f"采购人：{c.purchaser.name}\n成交方式：{METHODS[c.method]}\n成交供应商：{c.supplier.name}\n"
                  f"品目：{c.item.name}，数量 {c.quantity}{c.item.unit}，成交单价 {fmt_yuan(c.unit_price)}，"
                  f"成交金额 {fmt_yuan(c.amount)}", event_date=today(), amount=c.amount,
                  purchaser_id=c.purchaser_id, region_id=c.region_id)


def ledger(session: Session, ag: FaAgreement) -> list[dict[str, Any]]:
    """Per agreement line: cap, ordered, accepted, remaining (quantity and amount)."""
    accepted = dict(session.execute(
        select(FaCallOff.line_id, func.sum(FaCallOff.quantity))
        .join(EmallOrder, EmallOrder.id == FaCallOff.order_id)
        .where(FaCallOff.agreement_id == ag.id, EmallOrder.status.in_(("accepted", "paid")))
        .group_by(FaCallOff.line_id), execution_options=UNSCOPED).all())
    accepted_amt = dict(session.execute(
        select(FaCallOff.line_id, func.sum(FaCallOff.amount))
        .join(EmallOrder, EmallOrder.id == FaCallOff.order_id)
        .where(FaCallOff.agreement_id == ag.id, EmallOrder.status.in_(("accepted", "paid")))
        .group_by(FaCallOff.line_id), execution_options=UNSCOPED).all())
    out = []
    for ln in session.execute(select(FaLine).where(FaLine.agreement_id == ag.id).order_by(FaLine.item_id, FaLine.id),
                              execution_options=UNSCOPED).scalars():
        out.append({"line": ln.id, "item": ln.item.name, "supplier": ln.supplier.name,
                    "agreement_price": ln.agreement_price, "ceiling_price": ln.ceiling_price,
                    "cap_quantity": ln.cap_quantity, "ordered_quantity": ln.ordered_quantity,
                    "ordered_amount": ln.ordered_amount, "accepted_quantity": int(accepted.get(ln.id) or 0),
                    "accepted_amount": to_money(accepted_amt.get(ln.id) or 0),
                    "remaining_quantity": ln.cap_quantity - ln.ordered_quantity,
                    "remaining_amount": to_money(ln.agreement_price * (ln.cap_quantity - ln.ordered_quantity)),
                    "active": ln.active})
    return out


@periodic("framework_agreement.release_cancelled", module=MODULE, every="5m",
          doc="电子卖场订单取消后，将框架协议采购数量退回协议台账")
def release_cancelled(session: Session) -> int:
    """Idempotent: each cancelled call-off's quantity goes back once (``released``)."""
    rows = session.execute(select(FaCallOff).join(EmallOrder, EmallOrder.id == FaCallOff.order_id)
                           .where(EmallOrder.status == "cancelled", FaCallOff.released.is_(False))
                           .with_for_update(of=FaCallOff, skip_locked=True),
                           execution_options=UNSCOPED).scalars().all()
    for c in rows:
        session.execute(update(FaLine).where(FaLine.id == c.line_id)
                        .values(ordered_quantity=FaLine.ordered_quantity - c.quantity,
                                ordered_amount=FaLine.ordered_amount - c.amount)
                        .execution_options(synchronize_session=False, erp_unscoped=True))
        c.released = True
        c.status = "cancelled"
        audit.record(session, action="release", object_type="fa_calloff", object_id=c.id,
                     after={"quantity": c.quantity}, module=MODULE, region_id=c.region_id)
    return len(rows)


def find_calloff(session: Session, pk: int) -> FaCallOff:
    c = session.get(FaCallOff, pk)
    if c is None:
        raise NotFoundError()
    return c


def available(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Agreements in force the scope's unit may call off, with their active lines."""
    if scope.org_id is None:
        return []
    purchaser = session.get(Organization, scope.org_id, execution_options=UNSCOPED)
    day = today()
    out = []
    for ag in session.execute(select(FaAgreement).where(FaAgreement.status == "active",
                                                        FaAgreement.term_start <= day, FaAgreement.term_end >= day)
                              .order_by(FaAgreement.id), execution_options=UNSCOPED).scalars():
        if purchaser is None or not entitled(session, ag, purchaser):
            continue
        lines = session.execute(select(FaLine, FaItem.name, Organization.name)
                                .join(FaItem, FaItem.id == FaLine.item_id)
                                .join(Organization, Organization.id == FaLine.supplier_id)
                                .where(FaLine.agreement_id == ag.id, FaLine.active.is_(True))
                                .order_by(FaLine.item_id, FaLine.agreement_price), execution_options=UNSCOPED).all()
        out.append({"id": ag.id, "number": ag.number, "name": ag.name, "methods": ag.method_list,
                    "term_end": ag.term_end.isoformat(), "discount_tiers": ag.discount_tiers,
                    "discount_tiers_label": discounts.label(ag.discount_tiers),
                    "lines": [{"id": ln.id, "item_id": ln.item_id, "item": item, "supplier_id": ln.supplier_id,
                               "supplier": supplier, "agreement_price": ln.agreement_price,
                               "remaining_quantity": ln.cap_quantity - ln.ordered_quantity}
                              for ln, item, supplier in lines]})
    return out
