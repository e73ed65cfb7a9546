"""The cart, :func:`checkout` (direct purchase, online price comparison or refused, by the
trading rules) and :func:`buy_now`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from addons.procurement_base.services import Errors, RuleError
from core.models import Organization
from core.tenancy import Scope

from ..models import EmallCartLine, EmallOrder
from .common import ZERO, _actor_scope, now
from .comparison import publish_comparison
from .orders import place_order, refusal_message, trading_band
from .search import public_listing, region_and_ancestors


def _purchaser_of(session: Session, scope: Scope) -> Organization:
    org = session.get(Organization, scope.org_id) if scope.org_id else None
    if org is None or scope.actor != "purchaser":
        raise RuleError({"purchaser": ["只有采购人可以在电子卖场下单"]})
    return org


def cart_add(session: Session, user_id: int, listing_id: Any, quantity: Any, *,
             scope: Scope | None = None) -> EmallCartLine:
    scope = _actor_scope(scope)
    purchaser = _purchaser_of(session, scope)
    errors = Errors()
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        errors.add("quantity", "数量须为正整数")
    listing = public_listing(session, listing_id) if isinstance(listing_id, int) and not isinstance(
        listing_id, bool) else None
    if listing is None:
        errors.add("listing", "商品不存在或未上架")
    elif not delivers_to(session, listing, purchaser.region_id):
        errors.add("listing", f"“{listing.name}”不向本单位所在地区供货（供货地区："
                              f"{'、'.join(r.name for r in listing.regions) or '—'}），不能加入购物车")
    errors.raise_if_any()
    line = session.execute(select(EmallCartLine).where(
        EmallCartLine.user_id == user_id, EmallCartLine.listing_id == listing.id)).scalar_one_or_none()
    if line is None:
        line = EmallCartLine(user_id=user_id, listing_id=listing.id, quantity=0, added_at=now())
        session.add(line)
    line.quantity = (line.quantity or 0) + quantity
    session.flush()
    return line


def delivers_to(session: Session, listing: Any, region_id: int | None) -> bool:
    """Whether the listing delivers to ``region_id`` (a city covers its counties, the
    province every region)."""
    if region_id is None:
        return False
    return bool(set(region_and_ancestors(session, region_id)) & {r.id for r in listing.regions})


def cart_lines(session: Session, user_id: int) -> list[EmallCartLine]:
    return list(session.execute(select(EmallCartLine).where(EmallCartLine.user_id == user_id)
                                .order_by(EmallCartLine.id)
                                .options(selectinload(EmallCartLine.listing))).scalars())


def _line_requests(session: Session, items: Iterable[dict[str, Any]], region_id: int,
                   errors: Errors) -> list[dict[str, Any]]:
    """[{"listing": id, "quantity": n}] -> checked requests with the listing objects."""
    reqs = []
    covering = set(region_and_ancestors(session, region_id))
    for i, item in enumerate(items, start=1):
        where = f"lines.{i}"
        if not isinstance(item, dict):
            errors.add(where, "每一行须包含商品（listing）和数量（quantity）")
            continue
        lid, qty = item.get("listing"), item.get("quantity")
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            errors.add(f"{where}.quantity", "数量须为正整数")
            continue
        listing = public_listing(session, lid) if isinstance(lid, int) and not isinstance(lid, bool) else None
        if listing is None:
            errors.add(f"{where}.listing", "商品不存在、未上架或供应商资格已暂停")
            continue
        if not covering & {r.id for r in listing.regions}:
            errors.add(f"{where}.listing", f"“{listing.name}”不向本地区供货")
            continue
        reqs.append({"listing": listing, "quantity": qty})
    if not reqs and not errors.messages:
        errors.add("lines", "请至少选择一件商品")
    return reqs


def checkout(session: Session, user_id: int, *, delivery_address: str | None = None,
             contact: str | None = None, phone: str | None = None, note: str | None = None,
             title: str | None = None, requirements: str | None = None,
             deadline: dt.datetime | None = None,
             scope: Scope | None = None) -> dict[str, Any]:
    """The cart -> one order per supplier (direct purchase), or one price comparison (竞价),
    or a refusal, by the trading rule for the cart's total in the purchaser's region (the
    whole checkout counts: splitting a purchase across suppliers does not change its band)."""
    scope = _actor_scope(scope)
    purchaser = _purchaser_of(session, scope)
    lines = cart_lines(session, user_id)
    errors = Errors()
    reqs = _line_requests(session, [{"listing": c.listing_id, "quantity": c.quantity} for c in lines],
                          purchaser.region_id, errors)
    errors.raise_if_any()
    total = sum((r["listing"].price * r["quantity"] for r in reqs), ZERO)
    band = trading_band(session, total, purchaser.region_id)
    if band == "refused":
        raise RuleError({"amount": [refusal_message(session, total, purchaser.region_id)]})
    if band == "comparison":
        comp = publish_comparison(session, purchaser, reqs, user_id=user_id, title=title,
                                  delivery_address=delivery_address, requirements=requirements,
                                  deadline=deadline, scope=scope)
        for c in lines:
            session.delete(c)
        session.flush()
        return {"mode": "comparison", "amount": total, "comparison": comp, "orders": []}
    by_supplier: dict[int, list[dict[str, Any]]] = {}
    for r in reqs:
        by_supplier.setdefault(r["listing"].supplier_id, []).append(r)
    orders = []
    for supplier_id in sorted(by_supplier):
        orders.append(place_order(session, purchaser, session.get(Organization, supplier_id),
                                  by_supplier[supplier_id], user_id=user_id,
                                  delivery_address=delivery_address, contact=contact, phone=phone,
                                  note=note, scope=scope))
    for c in lines:
        session.delete(c)
    session.flush()
    return {"mode": "direct", "amount": total, "orders": orders, "comparison": None}


def buy_now(session: Session, user_id: int, items: list[dict[str, Any]], *,
            delivery_address: str | None = None, contact: str | None = None,
            phone: str | None = None, note: str | None = None,
            scope: Scope | None = None) -> EmallOrder:
    """A direct order of listings of one supplier, without the cart (POST /emall_order/)."""
    scope = _actor_scope(scope)
    purchaser = _purchaser_of(session, scope)
    errors = Errors()
    if not isinstance(items, list):
        errors.add("lines", "请填写订单行：[{listing, quantity}]")
        errors.raise_if_any()
    reqs = _line_requests(session, items, purchaser.region_id, errors)
    errors.raise_if_any()
    suppliers = {r["listing"].supplier_id for r in reqs}
    if len(suppliers) != 1:
        raise RuleError({"lines": ["一个订单只能包含同一供应商的商品；多个供应商请使用购物车结算"]})
    return place_order(session, purchaser, session.get(Organization, suppliers.pop()), reqs,
                       user_id=user_id, delivery_address=delivery_address, contact=contact,
                       phone=phone, note=note, scope=scope)
