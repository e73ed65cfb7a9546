"""Ratings (评价): after acceptance the purchaser rates the order's supplier on delivery,
quality and service (1–5 each) with a comment; one rating per order, kept per supplier and
shown to the e-mall institution (:func:`supplier_rating`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from addons.procurement_base.services import RuleError
from core.services import audit
from core.tenancy import SYSTEM, Scope, use_scope

from ..models import RATING_ASPECTS, EmallOrder, EmallRating
from . import notices
from .common import MODULE, ConflictError, _actor_scope, _own_units, _text, now

#: orders that can be rated: accepted (and later paid)
RATEABLE = ("accepted", "paid")


def unrated() -> ColumnElement[bool]:
    """The orders waiting for their purchaser's rating: accepted (or paid) and not rated
    (the workbench card 已验收待评价 and the order list it opens)."""
    return and_(EmallOrder.status.in_(RATEABLE),
                ~exists().where(EmallRating.order_id == EmallOrder.id))


def rating_of(session: Session, order: EmallOrder) -> EmallRating | None:
    return session.execute(select(EmallRating).where(EmallRating.order_id == order.id)).scalar_one_or_none()


def may_rate(session: Session, order: EmallOrder, scope: Scope | None = None) -> str | None:
    """Why the current user may not rate ``order`` (None: may): only the ordering unit."""
    scope = _actor_scope(scope)
    if scope.actor != "purchaser" or order.purchaser_id not in _own_units(session, scope.org_id):
        return "只有下单的采购人可以评价"
    return None


def rate_order(session: Session, order: EmallOrder, *, delivery: Any, quality: Any, service: Any,
               comment: str | None = None, scope: Scope | None = None,
               actor: Any = None) -> EmallRating:
    """Rate an accepted order once (audited; the supplier is told)."""
    scope = _actor_scope(scope)
    why = may_rate(session, order, scope)
    if why:
        raise RuleError({"order": [why]})
    errors: dict[str, list[str]] = {}
    scores = {}
    for key, value in (("delivery", delivery), ("quality", quality), ("service", service)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            errors[key] = [f"{RATING_ASPECTS[key]}评分须为 1～5 的整数"]
        scores[key] = value
    text = _text(comment)
    if len(text) > 1000:
        errors["comment"] = ["评语不能超过 1000 个字符"]
    if errors:
        raise RuleError(errors)
    if order.status not in RATEABLE:
        raise ConflictError({"status": ["订单验收后才能评价"]})
    if rating_of(session, order) is not None:
        raise ConflictError({"order": ["该订单已评价"]})
    rating = EmallRating(order_id=order.id, supplier_id=order.supplier_id,
                         purchaser_id=order.purchaser_id, region_id=order.region_id,
                         comment=text or None, rated_at=now(),
                         rated_by=audit.resolve_actor(actor)[0], **scores)
    session.add(rating)
    session.flush()
    audit.record(session, action="rate", object_type="emall_order", object_id=order.id,
                 after={**scores, "comment": rating.comment}, module=MODULE,
                 region_id=order.region_id, actor=actor)
    notices.order_rated(session, rating)
    return rating


def supplier_rating(session: Session, supplier_id: int) -> dict[str, Any] | None:
    """A supplier's ratings over all orders (every region): count and averages (one
    decimal), or None without ratings. Read by the institution's pages."""
    with use_scope(SYSTEM):
        row = session.execute(select(
            func.count(EmallRating.id), func.avg(EmallRating.delivery), func.avg(EmallRating.quality),
            func.avg(EmallRating.service)).where(EmallRating.supplier_id == supplier_id)
            .execution_options(erp_unscoped=True)).one()
    if not row[0]:
        return None
    return {"count": row[0], **{k: f"{float(v):.1f}" for k, v in zip(RATING_ASPECTS, row[1:], strict=True)}}
