"""Online price comparison (竞价): publish, quote, close, award (lowest compliant quote)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base import services as pb
from addons.procurement_base.services import Errors, RuleError
from core.models import Organization
from core.services import audit, settings, workdays
from core.services.money import fmt_yuan, to_money
from core.tenancy import SYSTEM, Scope, use_scope

from ..models import (
    COMPARISON_STATES,
    EmallCategory,
    EmallComparison,
    EmallListing,
    EmallOrder,
    EmallQuote,
)
from . import notices
from .admission import admitted_supplier_ids, is_admitted
from .common import (
    MODULE,
    ZERO,
    ConflictError,
    _actor_scope,
    _own_units,
    _text,
    now,
    unit_address,
)
from .orders import _order_number, place_order
from .search import region_and_ancestors

#: the latest quote deadline a purchaser may set, in days after publishing
MAX_QUOTE_DAYS = 30


def quote_deadline(session: Session, region_id: int, start: dt.datetime | None = None) -> dt.datetime:
    start = start or now()
    days = settings.get("emall.quote_window_workdays", region_id, session=session)
    end = workdays.add_working_days(start.date(), max(1, days), session)
    return dt.datetime.combine(end, dt.time(17, 0))


def publish_comparison(session: Session, purchaser: Organization, reqs: list[dict[str, Any]], *,
                       user_id: int | None, title: str | None = None,
                       delivery_address: str | None = None, requirements: str | None = None,
                       deadline: dt.datetime | None = None,
                       scope: Scope | None = None) -> EmallComparison:
    """Publish a comparison from checked line requests. ``deadline`` (the purchaser's choice)
    may not be earlier than the unified quote window (``emall.quote_window_workdays``) nor
    more than :data:`MAX_QUOTE_DAYS` days after publishing; None: the window's end."""
    stamp = now()
    earliest = quote_deadline(session, purchaser.region_id, stamp)
    if deadline is not None:
        if deadline < earliest:
            raise RuleError({"quote_deadline": [
                f"报价截止时间不得早于 {earliest:%Y-%m-%d %H:%M}（统一交易规则：发布后至少 "
                f"{settings.get('emall.quote_window_workdays', purchaser.region_id, session=session)} 个工作日）"]})
        if deadline > stamp + dt.timedelta(days=MAX_QUOTE_DAYS):
            raise RuleError({"quote_deadline": [f"报价截止时间不得晚于发布后 {MAX_QUOTE_DAYS} 天"]})
    lines = []
    for i, r in enumerate(reqs, start=1):
        x = r["listing"]
        lines.append({"line": i, "listing_id": x.id, "category_id": x.category_id,
                      "category_code": x.category.code, "name": x.name,
                      "brand": x.brand, "model": x.model, "quantity": r["quantity"], "unit": x.unit,
                      "ceiling_price": str(x.price)})
    budget = sum((r["listing"].price * r["quantity"] for r in reqs), ZERO)
    comp = EmallComparison(
        number="JJ" + _order_number(session, purchaser.region_id)[2:],
        title=_text(title) or f"{purchaser.name}竞价采购{lines[0]['name']}等{len(lines)}项",
        purchaser_id=purchaser.id, user_id=user_id, lines=lines, budget=to_money(budget),
        delivery_address=_text(delivery_address) or unit_address(session, purchaser),
        requirements=_text(requirements) or None, published_at=stamp,
        quote_deadline=deadline or earliest, status="open",
        region_id=purchaser.region_id)
    session.add(comp)
    session.flush()
    audit.record(session, action="create", object_type="emall_comparison", object_id=comp.id,
                 after={"number": comp.number, "budget": comp.budget, "deadline": comp.quote_deadline},
                 module=MODULE, region_id=comp.region_id)
    notices.comparison_opened(session, comp, _qualified_suppliers(session, comp))
    return comp


def quote_count(session: Session, comp: EmallComparison) -> int:
    """How many suppliers have quoted (the number only: the quotes stay sealed until the
    window closes, so it is counted outside the reader's record rules)."""
    from sqlalchemy import func

    with use_scope(SYSTEM):
        return session.execute(select(func.count(EmallQuote.id)).where(
            EmallQuote.comparison_id == comp.id, EmallQuote.status != "withdrawn")
            .execution_options(erp_unscoped=True)).scalar_one()


def need_category(session: Session, need: dict[str, Any]) -> int | None:
    """The category of a need line (its id, else its code)."""
    if need.get("category_id"):
        return need["category_id"]
    return session.execute(select(EmallCategory.id).where(
        EmallCategory.code == need.get("category_code"))).scalar()


def qualified_for(session: Session, comp: EmallComparison, supplier_id: int) -> str | None:
    """Why a supplier may not quote (None: qualified): admitted in every category of the
    need (its listings must also deliver to the purchaser's region, checked per line)."""
    for line in comp.lines:
        cat = need_category(session, line)
        if cat is None or not is_admitted(session, supplier_id, cat):
            return f"未获准在第 {line['line']} 行商品所属分类入驻（或入驻资格已暂停）"
    return None


def _qualified_suppliers(session: Session, comp: EmallComparison) -> list[int]:
    """The admitted suppliers qualified to quote on ``comp`` (invited when it opens)."""
    with use_scope(SYSTEM):
        ids = list(session.execute(admitted_supplier_ids(session)).scalars())
        return [sid for sid in ids if qualified_for(session, comp, sid) is None]


def submit_quote(session: Session, comp: EmallComparison, lines: Any, *, note: str | None = None,
                 scope: Scope | None = None) -> EmallQuote:
    """A supplier's quote (a new one, or a change while the window is open): for each need
    line its own listed listing in the same category delivering to the region, a unit price
    not above that listing's price nor the need's ceiling."""
    scope = _actor_scope(scope)
    if scope.actor != "supplier" or not scope.org_id:
        raise RuleError({"supplier": ["只有供应商可以报价"]})
    supplier_id = scope.org_id
    if comp.status != "open" or now() >= comp.quote_deadline:
        raise ConflictError({"comparison": [f"竞价“{comp.number}”已截止报价"]})
    why = qualified_for(session, comp, supplier_id)
    if why:
        raise RuleError({"supplier": [f"不具备报价资格：{why}"]})
    errors = Errors()
    given = {}
    if not isinstance(lines, list):
        errors.add("lines", "请逐行填写报价：[{line, listing_id, unit_price}]")
        errors.raise_if_any()
    for item in lines:
        if isinstance(item, dict) and isinstance(item.get("line"), int):
            given[item["line"]] = item
    covering = set(region_and_ancestors(session, comp.region_id))
    total = ZERO
    clean = []
    for need in comp.lines:
        n = need["line"]
        item = given.get(n)
        where = f"lines.{n}"
        if item is None:
            errors.add(where, f"请为第 {n} 行（{need['name']}）报价")
            continue
        lid = item.get("listing_id")
        listing = session.get(EmallListing, lid) if isinstance(lid, int) and not isinstance(lid, bool) else None
        if listing is None or listing.supplier_id != supplier_id or listing.status != "listed":
            errors.add(f"{where}.listing_id", "请选择本单位已上架的商品")
            continue
        if listing.category_id != need_category(session, need):
            errors.add(f"{where}.listing_id", f"所选商品须属于需求所在分类（第 {n} 行）")
            continue
        if not covering & {r.id for r in listing.regions}:
            errors.add(f"{where}.listing_id", "所选商品不向采购人所在地区供货")
            continue
        price = pb.check_money(errors, f"{where}.unit_price", item.get("unit_price"), "报价单价")
        if price is None:
            continue
        if price > listing.price:
            errors.add(f"{where}.unit_price", f"报价单价不得高于本单位该商品的挂网价格 {fmt_yuan(listing.price)}")
            continue
        ceiling = to_money(need["ceiling_price"])
        if price > ceiling:
            errors.add(f"{where}.unit_price", f"报价单价不得高于需求最高限价 {fmt_yuan(ceiling)}")
            continue
        total += price * need["quantity"]
        clean.append({"line": n, "listing_id": listing.id, "unit_price": str(price)})
    errors.raise_if_any()
    quote = session.execute(select(EmallQuote).where(
        EmallQuote.comparison_id == comp.id, EmallQuote.supplier_id == supplier_id)).scalar_one_or_none()
    if quote is None:
        quote = EmallQuote(comparison_id=comp.id, supplier_id=supplier_id, region_id=comp.region_id)
        session.add(quote)
    quote.lines = clean
    quote.total = to_money(total)
    quote.note = _text(note) or None
    quote.status = "submitted"
    quote.submitted_at = now()
    session.flush()
    audit.record(session, action="quote", object_type="emall_quote", object_id=quote.id,
                 after={"comparison": comp.number, "total": quote.total}, module=MODULE,
                 region_id=comp.region_id)
    return quote


def close_if_due(session: Session, comp: EmallComparison, at: dt.datetime | None = None) -> bool:
    """Close the quote window once the deadline has passed (lazily, on the next read or
    action, or by ``erp emall close-comparisons``). True if closed now."""
    if comp.status == "open" and (at or now()) >= comp.quote_deadline:
        comp.status = "closed"
        audit.record(session, action="transition:close", object_type="emall_comparison",
                     object_id=comp.id, before={"state": "open"}, after={"state": "closed"},
                     module=MODULE, region_id=comp.region_id)
        session.flush()
        notices.comparison_closed(session, comp)
        return True
    return False


def ranked_quotes(session: Session, comp: EmallComparison) -> list[EmallQuote]:
    """Compliant quotes, lowest total first; equal totals: the earlier quote first."""
    with use_scope(SYSTEM):
        return list(session.execute(select(EmallQuote).where(
            EmallQuote.comparison_id == comp.id, EmallQuote.status.in_(("submitted", "lost")))
            .order_by(EmallQuote.total, EmallQuote.submitted_at, EmallQuote.id)).scalars())


def assert_publisher(session: Session, comp: EmallComparison, doing: str,
                     scope: Scope | None = None) -> None:
    """Award and cancel are the publishing purchaser's (raises :class:`RuleError`)."""
    scope = _actor_scope(scope)
    if not (scope.unrestricted or (scope.actor == "purchaser"
                                   and comp.purchaser_id in _own_units(session, scope.org_id))):
        raise RuleError({"status": [f"只有发布竞价的采购人可以{doing}"]})


def award_comparison(session: Session, comp: EmallComparison, *, reason: str | None = None,
                     scope: Scope | None = None, actor: Any = None) -> EmallOrder:
    """The lowest compliant quote wins and becomes an order (channel ``comparison``). With
    fewer than the minimum number of quotes the purchaser must give a reason to award the
    lowest one (or cancel and publish again); with none the comparison fails."""
    scope = _actor_scope(scope)
    assert_publisher(session, comp, "确定成交", scope)
    close_if_due(session, comp)
    if comp.status == "open":
        raise ConflictError({"status": [f"报价截止时间（{comp.quote_deadline:%Y-%m-%d %H:%M}）未到，不能确定成交"]})
    if comp.status != "closed":
        raise ConflictError({"status": [f"竞价状态为“{COMPARISON_STATES.get(comp.status)}”，不能确定成交"]})
    quotes = ranked_quotes(session, comp)
    if not quotes:
        comp.status = "failed"
        comp.decision_note = "报价截止时无有效报价，竞价失败"
        session.flush()
        raise ConflictError({"status": ["没有供应商有效报价，竞价失败：可重新发布竞价"]})
    least = settings.get("emall.comparison_min_quotes", comp.region_id, session=session)
    if len(quotes) < least and not _text(reason):
        raise RuleError({"reason": [f"有效报价仅 {len(quotes)} 家，少于 {least} 家：须说明理由后确认由最低报价成交，"
                                    "或撤销竞价后重新发布"]})
    purchaser = session.get(Organization, comp.purchaser_id)
    needs = {n["line"]: n for n in comp.lines}
    last_error: ConflictError | None = None
    for quote in quotes:
        supplier = session.get(Organization, quote.supplier_id)
        reqs = []
        for item in quote.lines:
            lid = item.get("listing_id")
            listing = session.get(EmallListing, lid) if isinstance(lid, int) else None
            if listing is None or listing.status != "listed" or item.get("line") not in needs:
                reqs = None  # the quoted listing is gone or delisted: not compliant any more
                break
            reqs.append({"listing": listing, "quantity": needs[item["line"]]["quantity"],
                         "unit_price": item["unit_price"]})
        if not reqs or not is_admitted(session, quote.supplier_id):
            quote.status = "lost"
            continue
        try:
            with session.begin_nested():
                order = place_order(session, purchaser, supplier, reqs, channel="comparison",
                                    pricing="comparison", source_ref=comp.number,
                                    comparison_id=comp.id, user_id=comp.user_id,
                                    delivery_address=comp.delivery_address, scope=scope,
                                    check_band=False)
        except ConflictError as exc:  # the winner ran out of stock: the next lowest
            last_error = exc
            quote.status = "lost"
            continue
        quote.status = "won"
        for other in quotes:
            if other is not quote:
                other.status = "lost"
        comp.status = "awarded"
        comp.winner_quote_id = quote.id
        comp.order_id = order.id
        comp.decision_note = (f"有效报价 {len(quotes)} 家，由最低报价成交" if len(quotes) >= least
                              else f"有效报价 {len(quotes)} 家（少于 {least} 家），采购人确认由最低报价成交：{_text(reason)}")
        session.flush()
        audit.record(session, action="transition:award", object_type="emall_comparison",
                     object_id=comp.id, before={"state": "closed"},
                     after={"state": "awarded", "quote": quote.id, "total": quote.total},
                     module=MODULE, region_id=comp.region_id, reason=_text(reason) or None, actor=actor)
        notices.comparison_awarded(session, comp, quote)
        return order
    raise last_error or ConflictError({"status": ["报价供应商均无法供货"]})


def cancel_comparison(session: Session, comp: EmallComparison, *, reason: str | None,
                      scope: Scope | None = None, actor: Any = None) -> None:
    assert_publisher(session, comp, "撤销竞价", scope)
    if not _text(reason):
        raise RuleError({"reason": ["请填写撤销理由"]})
    if comp.status not in ("open", "closed"):
        raise ConflictError({"status": [f"竞价状态为“{COMPARISON_STATES.get(comp.status)}”，不能撤销"]})
    before = comp.status
    comp.status = "cancelled"
    comp.decision_note = _text(reason)
    audit.record(session, action="transition:cancel", object_type="emall_comparison",
                 object_id=comp.id, before={"state": before}, after={"state": "cancelled"},
                 module=MODULE, region_id=comp.region_id, reason=_text(reason), actor=actor)
    session.flush()
