"""Business rules of the livestock pavilion (畜牧行业馆), plain Python on a session.

* the pavilion's catalog: the ``emall_category`` rows with ``pavilion = "livestock"``
  (:func:`pavilion_tree`, :func:`pavilion_category_ids`);
* the cold-chain rule (:func:`cold_chain_category`, :func:`check_listing_cold_chain`,
  :func:`check_order_cold_chain`): a listing in a category that requires the cold chain
  (the category or any of its ancestors has ``requires_cold_chain``) must be delivered by
  cold chain, and an order of such a listing is accepted only for a delivery region its
  cold-chain delivery covers. Both are appended to emall's ``LISTING_VALIDATORS`` /
  ``ORDER_VALIDATORS`` when this module is imported (see :func:`install_validators`);
* steering (:func:`steering_unit`, :func:`is_steered`): purchasers of the livestock
  system, listed in ``emall_livestock_purchaser`` (a unit, and with
  ``include_subordinates`` the units under it), are sent to the pavilion when they open
  the e-mall;
* :func:`validate_livestock_purchaser`: who may list which unit.

Errors are emall's validation error (``RuleError``: 422 with ``{field: [Chinese
message]}``, nothing written).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import ModuleRecord, Organization, Region
from core.services import settings
from core.tenancy import current_scope

from .models import PAVILION, LivestockPurchaser

MODULE = "emall_livestock"
#: the organisation types whose users buy (and may therefore be steered)
STEERABLE_ORG_TYPES = ("purchaser", "competent_unit")
#: longest parent chain followed (units nest a few levels; guards against cycles)
MAX_DEPTH = 12

settings.declare(
    "emall_livestock.redirect_purchasers",
    type="bool",
    default="true",
    label_zh="畜牧系统采购人进入电子卖场时直接转到畜牧行业馆",
    help_zh=(
        "是：列入“畜牧系统采购单位”的单位（及其下属单位）的用户打开电子卖场首页时自动转到"
        "畜牧行业馆（页面上可点“进入综合卖场”返回）；否：只在电子卖场首页提示并给出行业馆链接。"
    ),
    source="平台选定（非法定参数）",
    module=MODULE,
)


def _emall():
    """emall's models and services, imported when first needed (emall imports first)."""
    from addons.emall import models as emall_models

    return emall_models


def rule_error(messages: dict[str, list[str]]) -> Exception:
    """emall's validation error (a 422 with field messages)."""
    try:
        from addons.emall.services import RuleError
    except ImportError:  # pragma: no cover - emall always exports it
        from addons.procurement_base.services import RuleError
    return RuleError(messages)


# -- the pavilion's catalog -----------------------------------------------------------------
@dataclass
class CategoryNode:
    category: Any
    children: list[CategoryNode] = field(default_factory=list)
    cold_chain: bool = False


def pavilion_categories(session: Session, *, active_only: bool = True) -> list[Any]:
    """Every pavilion category, by sequence then code."""
    Cat = _emall().EmallCategory
    stmt = select(Cat).where(Cat.pavilion == PAVILION)
    if active_only:
        stmt = stmt.where(Cat.active.is_(True))
    return list(session.scalars(stmt.order_by(Cat.sequence, Cat.code)))


def pavilion_category_ids(session: Session) -> set[int]:
    Cat = _emall().EmallCategory
    return set(session.scalars(select(Cat.id).where(Cat.pavilion == PAVILION,
                                                    Cat.active.is_(True))))


def pavilion_tree(session: Session) -> list[CategoryNode]:
    """The pavilion's active categories as a tree. The roots are the categories whose
    parent is not in the pavilion (the seed's 畜牧行业馆 root is skipped: its children are
    the departments shown on the landing page)."""
    cats = pavilion_categories(session)
    nodes = {c.id: CategoryNode(c) for c in cats}
    roots: list[CategoryNode] = []
    for c in cats:
        node = nodes[c.id]
        parent = nodes.get(c.parent_id) if c.parent_id is not None else None
        if parent is not None:
            parent.children.append(node)
        else:
            roots.append(node)

    def mark(node: CategoryNode, inherited: bool) -> None:
        node.cold_chain = inherited or bool(node.category.requires_cold_chain)
        for child in node.children:
            mark(child, node.cold_chain)

    for root in roots:
        mark(root, False)
    # a single pavilion root without attributes of its own: show its children
    if len(roots) == 1 and roots[0].children and not roots[0].category.attributes:
        return roots[0].children
    return roots


# -- cold chain -----------------------------------------------------------------------------
def cold_chain_category(session: Session, category_id: int | None) -> Any | None:
    """The category (itself or the nearest ancestor) that requires the cold chain, else
    None. Inherited so that a sub-category added under 兽用生物制品 cannot lose the rule."""
    Cat = _emall().EmallCategory
    seen: set[int] = set()
    current = session.get(Cat, category_id) if category_id is not None else None
    while current is not None and current.id not in seen and len(seen) < MAX_DEPTH:
        if current.requires_cold_chain:
            return current
        seen.add(current.id)
        current = session.get(Cat, current.parent_id) if current.parent_id is not None else None
    return None


def _category_id(obj: Any) -> int | None:
    cat = obj.__dict__.get("category")
    if cat is not None and getattr(cat, "id", None) is not None:
        return cat.id
    return getattr(obj, "category_id", None)


def check_listing_cold_chain(session: Session, listing: Any, *_: Any, **__: Any) -> None:
    """A listing in a cold-chain category must deliver by cold chain (``cold_chain``)."""
    if listing.cold_chain or not module_installed(session):
        return
    cat = cold_chain_category(session, _category_id(listing))
    if cat is None:
        return
    raise rule_error({"cold_chain": [
        f"品目“{cat.name}”须全程冷链配送：请勾选“冷链配送”，并只在能冷链送达的地区销售"
    ]})


def region_chain(session: Session, region_id: int | None) -> list[int]:
    """The region and its ancestors (county -> city -> province)."""
    chain: list[int] = []
    current = session.get(Region, region_id) if region_id is not None else None
    while current is not None and current.id not in chain and len(chain) < MAX_DEPTH:
        chain.append(current.id)
        current = session.get(Region, current.parent_id) if current.parent_id else None
    return chain


def listing_covers(session: Session, listing: Any, region_id: int | None) -> bool:
    """Whether the listing's (cold-chain) delivery regions cover ``region_id``: a city
    covers its counties, 220000 the whole province."""
    covered = {r.id for r in (listing.regions or [])}
    return bool(covered.intersection(region_chain(session, region_id)))


def check_order_cold_chain(session: Session, order: Any, lines: Iterable[Any] | None = None,
                           *_: Any, **__: Any) -> None:
    """An order with items of a cold-chain category: each such listing must (still) deliver
    by cold chain, and its cold-chain delivery must cover the order's delivery region
    (the purchaser's region). The order line is marked ``cold_chain``."""
    if not module_installed(session):
        return
    emall = _emall()
    lines = list(lines if lines is not None else (order.lines or []))
    region_id = order.__dict__.get("region").id if order.__dict__.get("region") else order.region_id
    messages: list[str] = []
    for line in lines:
        listing = line.__dict__.get("listing")
        if listing is None:
            listing_id = getattr(line, "listing_id", None)
            listing = session.get(emall.EmallListing, listing_id) if listing_id else None
        if listing is None:
            continue
        cat = cold_chain_category(session, _category_id(line) or listing.category_id)
        if cat is None:
            continue
        label = f"{listing.brand} {listing.model}".strip() or listing.name
        if not listing.cold_chain:
            messages.append(
                f"“{label}”属于须冷链配送的品目“{cat.name}”，但该商品未提供冷链配送，不能下单"
            )
            continue
        if not listing_covers(session, listing, region_id):
            region = session.get(Region, region_id) if region_id else None
            where = region.name if region is not None else "收货地区"
            messages.append(
                f"“{label}”须冷链配送，供应商的冷链配送范围不包括{where}，不能下单"
            )
            continue
        if hasattr(line, "cold_chain"):
            line.cold_chain = True
    if messages:
        raise rule_error({"lines": messages})


def module_installed(session: Session) -> bool:
    """Whether this module is installed on the platform (the worker's cached module state
    inside the app, else the ``erp_module`` table on ``session``)."""
    from flask import current_app, has_app_context

    if has_app_context() and "erp" in current_app.extensions:
        return current_app.extensions["erp"].is_installed(MODULE)
    state = session.scalar(select(ModuleRecord.state).where(ModuleRecord.name == MODULE))
    return state == "installed"


def install_validators() -> None:
    """Append the cold-chain checks to emall's validator lists (idempotent). They run for
    every listing and order while this module is installed; they only act on categories
    that require the cold chain."""
    try:
        from addons.emall import services as emall_services
    except ImportError:  # emall's services not importable: nothing to hook into yet
        return

    for name, fn in (("LISTING_VALIDATORS", check_listing_cold_chain),
                     ("ORDER_VALIDATORS", check_order_cold_chain)):
        hooks = getattr(emall_services, name, None)
        if hooks is None:
            return
        if fn not in hooks:
            hooks.append(fn)


# -- steering ---------------------------------------------------------------------------------
def steering_unit(session: Session, org_id: int | None) -> LivestockPurchaser | None:
    """The entry of ``emall_livestock_purchaser`` that steers organisation ``org_id``: its
    own active entry, else the nearest ancestor's active entry with
    ``include_subordinates``; None when the unit is not in the livestock system."""
    if org_id is None:
        return None
    entries = {
        e.organization_id: e
        for e in session.scalars(select(LivestockPurchaser).where(LivestockPurchaser.active.is_(True)))
    }
    if not entries:
        return None
    seen: list[int] = []
    current: int | None = org_id
    while current is not None and current not in seen and len(seen) < MAX_DEPTH:
        entry = entries.get(current)
        if entry is not None and (current == org_id or entry.include_subordinates):
            return entry
        seen.append(current)
        current = session.scalar(select(Organization.parent_id).where(Organization.id == current))
    return None


def is_steered(session: Session, org_id: int | None) -> bool:
    return steering_unit(session, org_id) is not None


def redirect_enabled(session: Session, region_id: int | None) -> bool:
    return bool(settings.get("emall_livestock.redirect_purchasers", region_id=region_id,
                             session=session))


def validate_livestock_purchaser(session: Session, obj: LivestockPurchaser) -> None:
    """A listed unit is a purchaser or competent unit, listed once, in the writer's
    regions (a region user manages only units of their region and below)."""
    errors: dict[str, list[str]] = {}
    org = obj.__dict__.get("organization")
    if org is None and obj.organization_id is not None:
        org = session.get(Organization, obj.organization_id)
    if org is None:
        errors["organization"] = ["请选择单位"]
    else:
        if org.org_type not in STEERABLE_ORG_TYPES:
            errors["organization"] = ["只能列入采购人或主管预算单位"]
        else:
            scope = current_scope()
            if not scope.unrestricted and org.region_id not in (scope.region_ids or ()):
                errors["organization"] = ["只能列入您管辖地区（本地区及下级地区）内的单位"]
            dup = session.scalar(
                select(LivestockPurchaser.id).where(
                    LivestockPurchaser.organization_id == org.id,
                    LivestockPurchaser.id != (obj.id or 0),
                )
            )
            if dup is not None and "organization" not in errors:
                raise _duplicate({"organization": ["该单位已在畜牧系统采购单位名单中"]})
    if obj.note is not None and len(obj.note) > 200:
        errors["note"] = ["备注最多 200 字"]
    if errors:
        raise rule_error(errors)
    if obj.include_subordinates is None:
        obj.include_subordinates = True
    if obj.active is None:
        obj.active = True


def _duplicate(messages: dict[str, list[str]]) -> Exception:
    try:
        from addons.emall.services import DuplicateError
    except ImportError:  # pragma: no cover
        from addons.procurement_base.services import DuplicateError
    return DuplicateError(messages)
