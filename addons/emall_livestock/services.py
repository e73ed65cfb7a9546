"""Business rules of the livestock pavilion (畜牧行业馆), plain Python on a session.

* the pavilion's catalog: the ``emall_category`` rows with ``pavilion = "livestock"``
  (:func:`pavilion_tree`, :func:`pavilion_category_ids`);
* the cold-chain rule (:func:`cold_chain_category`, :func:`check_listing_cold_chain`,
  :func:`check_order_cold_chain`): a listing in a category that requires the cold chain
  (the category or any of its ancestors has ``requires_cold_chain``) must be delivered by
  cold chain, and an order of such a listing is accepted only for a delivery region its
  cold-chain delivery covers. Both implement emall's hooks (``addons.emall.hooks``
  ``LISTING_VALIDATORS`` / ``ORDER_VALIDATORS``): core runs them only where this module is
  installed and, for orders, enabled for the order's region;
* steering (:func:`steering_unit`, :func:`is_steered`): purchasers of the livestock
  system, listed in ``emall_livestock_purchaser`` (a unit, and with
  ``include_subordinates`` the units under it), are sent to the pavilion when they open
  the e-mall;
* :func:`validate_livestock_purchaser`: who may list which unit.

Errors are emall's validation error (``RuleError``: 422 with ``{field: [Chinese
message]}``, nothing written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, object_session

from addons.emall import models as emall_models
from addons.emall import services as emall_services
from addons.emall.hooks import LISTING_VALIDATORS, ORDER_VALIDATORS
from addons.emall.services import DuplicateError, RuleError
from addons.emall.services import search as emall_search
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
    return emall_models


def rule_error(messages: dict[str, list[str]]) -> Exception:
    """emall's validation error (a 422 with field messages)."""
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


def _session_of(*objs: Any) -> Session:
    for obj in objs:
        sess = object_session(obj) if obj is not None else None
        if sess is not None:
            return sess
    from core.db import db

    return db.session


@LISTING_VALIDATORS.implement(MODULE)
def check_listing_cold_chain(listing: Any, category: Any) -> None:
    """emall ``LISTING_VALIDATORS`` hook: a listing in a category that requires the cold
    chain (itself or an ancestor) must deliver by cold chain (``cold_chain``)."""
    if category is None or listing.cold_chain:
        return
    session = _session_of(category, listing)
    if not module_installed(session):
        return
    cat = cold_chain_category(session, category.id)
    if cat is None:
        return
    raise rule_error({"cold_chain": [
        f"“{category.name}”属于须冷链配送的品目（{cat.name}）：请勾选“冷链配送”，"
        "并只选择能冷链送达的供货地区"
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
    """Whether the listing's delivery regions cover ``region_id`` (a city covers its
    counties, 220000 the whole province). For a cold-chain listing they are the regions
    its cold-chain delivery reaches."""
    covered = {r.id for r in (listing.regions or [])}
    return bool(covered.intersection(region_chain(session, region_id)))


@ORDER_VALIDATORS.implement(MODULE)
def check_order_cold_chain(lines: list[Any]) -> None:
    """emall ``ORDER_VALIDATORS`` hook, with the unsaved lines of one order: for each line
    of a cold-chain category the listing must deliver by cold chain, and its cold-chain
    delivery must cover the order's delivery region (the purchaser's region). Such lines
    are marked ``cold_chain``; one message per refused line, nothing is written."""
    if not lines:
        return
    first = lines[0]
    session = _session_of(getattr(first, "listing", None), getattr(first, "category", None))
    if not module_installed(session):
        return
    order = first.order
    region_id = order.region_id
    messages: list[str] = []
    for line in lines:
        listing = line.listing
        category = line.category if line.category is not None else (
            listing.category if listing is not None else None)
        if listing is None or category is None:
            continue
        cat = cold_chain_category(session, category.id)
        if cat is None:
            continue
        label = f"{listing.name}（{listing.brand} {listing.model}）"
        if not listing.cold_chain:
            messages.append(f"{label}属于须冷链配送的品目（{cat.name}），但该商品未提供冷链配送，不能下单")
            continue
        if not listing_covers(session, listing, region_id):
            region = session.get(Region, region_id) if region_id else None
            where = region.name if region is not None else "收货地区"
            messages.append(f"{label}须冷链配送，供应商的冷链配送范围不包括{where}，不能下单")
            continue
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
    return DuplicateError(messages)


def validate_livestock_purchaser_delete(session: Session, obj: LivestockPurchaser) -> None:
    """Removing a unit from the list: only within the writer's regions."""
    scope = current_scope()
    org = obj.organization or session.get(Organization, obj.organization_id)
    if not scope.unrestricted and (org is None or org.region_id not in (scope.region_ids or ())):
        raise rule_error({"organization": ["只能移除您管辖地区（本地区及下级地区）内的单位"]})


# -- the pavilion's search (emall's public catalog search, limited to the pavilion) ----------
#: sort keys of emall's search with their Chinese labels (综合排序 first, the default)
SORTS = emall_search.SORT_LABELS
PAGE_SIZE = 20


@dataclass
class SearchPage:
    items: list[Any]
    count: int
    page: int
    page_size: int
    facets: dict[str, Any] = field(default_factory=lambda: {"categories": [], "price_bands": []})
    approximate: bool = False
    expanded: list[dict[str, Any]] = field(default_factory=list)
    #: more hits than ``count`` (the e-mall search's cap): "2,000+ 件"
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))


def parse_search_args(session: Session, args: Any, *, zero_based: bool = False) -> dict[str, Any]:
    """Query-string arguments of the pavilion search, checked by emall's one set of rules
    (the same as the e-mall's page and API; an unknown argument is refused): bad input
    raises :class:`RuleError` with ``{argument: [Chinese message]}``. ``category`` is a
    category's id or code (another pavilion's: no result, never the general mall);
    ``region`` a region code; ``attr.<key>`` an attribute value (exact); ``page`` counts
    from 1 (from 0 with ``zero_based``, as in the APIs)."""
    return emall_search.parse_args(session, args, page_base=0 if zero_based else 1, pavilion=PAVILION)


def search_page(session: Session, parsed: dict[str, Any], *, prefer_region_id: int | None = None) -> SearchPage:
    """Run a parsed pavilion search: the page (``page`` from 1), count, facets."""
    res = emall_search.catalog_page(session, parsed, prefer_region_id=prefer_region_id)
    return SearchPage(res.rows, res.count, res.page + 1, res.page_size, res.facets, res.approximate,
                      res.expanded, res.capped)


def resolve_category(session: Session, raw: Any) -> Any | None:
    """A pavilion category by id or code (None: not a pavilion category)."""
    Cat = _emall().EmallCategory
    raw = str(raw).strip()
    stmt = select(Cat).where(Cat.pavilion == PAVILION, Cat.active.is_(True))
    if raw.isdigit() and len(raw) < 10:
        stmt = stmt.where(Cat.id == int(raw))
    else:
        stmt = stmt.where(Cat.code == raw.upper())
    return session.scalar(stmt)


def search(session: Session, *, q: str | None = None, category: Any = None,
           price_min: Any = None, price_max: Any = None, supplier_id: int | None = None,
           region_code: str | None = None, cold_chain: bool | None = None,
           attrs: dict[str, str] | None = None, sort: str = "relevance", page: int = 1,
           page_size: int = PAGE_SIZE) -> SearchPage:
    """The pavilion's listed products: emall's public catalog search with the pavilion
    filter (listed, supplier admitted), by keyword, category subtree, price range,
    supplier, delivery region, cold chain and attribute values. ``page`` counts from 1.
    A category or region that does not exist (or is not the pavilion's) gives no result."""
    filters: dict[str, Any] = {"pavilion": PAVILION}
    if category is not None and category != "":
        cat = category if hasattr(category, "id") else resolve_category(session, category)
        if cat is None:
            return SearchPage([], 0, page, page_size)
        filters["category_id"] = cat.id
    if region_code:
        region_id = session.scalar(select(Region.id).where(Region.code == region_code))
        if region_id is None:
            return SearchPage([], 0, page, page_size)
        filters["region_id"] = region_id
    count, items, capped = emall_services.search_listings(
        session, sort=sort, page=max(0, page - 1), page_size=page_size, q=q,
        price_min=price_min, price_max=price_max, supplier_id=supplier_id,
        cold_chain=cold_chain, attrs=attrs or None, **filters)
    return SearchPage(items, count, page, page_size, capped=capped)


def attribute_filters(category: Any) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """The search filters a category's template offers: (``attr.<key>``, label, [(value,
    text)]) for its choice and yes/no attributes (values as emall stores them)."""
    out = []
    for a in (category.attributes or []) if category is not None else []:
        if a.get("type") == "choice" and a.get("choices"):
            out.append((f"attr.{a['key']}", a.get("label") or a["key"],
                        [(c, c) for c in a["choices"]]))
        elif a.get("type") == "bool":
            out.append((f"attr.{a['key']}", a.get("label") or a["key"],
                        [("true", "是"), ("false", "否")]))
    return out


def department_chart(session: Session, tree: list[CategoryNode], counts: dict[int, int]) -> Any:
    """Listed products per department, as a horizontal bar chart (inline SVG)."""
    from core.services.charts import bar_chart

    if not tree:
        return None
    return bar_chart([n.category.name for n in tree],
                     {"在售商品": [counts.get(n.category.id, 0) for n in tree]},
                     title="各类在售商品数量", unit="件", horizontal=True)


def listed_counts(session: Session) -> dict[int, int]:
    """Listed products per pavilion category, each category counting its sub-categories."""
    from sqlalchemy import func

    L = _emall().EmallListing
    stmt = emall_services.search_statement(session, pavilion=PAVILION).subquery()
    rows = session.execute(
        select(L.category_id, func.count()).where(L.id.in_(select(stmt.c.id)))
        .group_by(L.category_id)).all()
    parents = {c.id: c.parent_id for c in pavilion_categories(session, active_only=False)}
    counts: dict[int, int] = {}
    for cat_id, n in rows:
        seen: set[int] = set()
        cur: int | None = cat_id
        while cur is not None and cur in parents and cur not in seen:
            counts[cur] = counts.get(cur, 0) + n
            seen.add(cur)
            cur = parents[cur]
    return counts


def pavilion_suppliers(session: Session) -> list[tuple[int, str]]:
    """(id, name) of the suppliers with listed pavilion products (the search filter)."""
    L = _emall().EmallListing
    ids = emall_services.search_statement(session, pavilion=PAVILION).subquery()
    rows = session.execute(
        select(Organization.id, Organization.name)
        .where(Organization.id.in_(select(L.supplier_id).where(L.id.in_(select(ids.c.id)))))
        .order_by(Organization.name)).all()
    return [(r[0], r[1]) for r in rows]


def delivery_regions(session: Session) -> list[tuple[str, str]]:
    """(code, name) for the delivery-region filter: the province and its cities."""
    rows = session.execute(
        select(Region.code, Region.name).where(Region.active.is_(True),
                                               Region.level.in_(("province", "prefecture")))
        .order_by(Region.code)).all()
    return [(r[0], r[1]) for r in rows]


def node_json(node: CategoryNode) -> dict[str, Any]:
    cat = node.category
    return {
        "id": cat.id, "code": cat.code, "name": cat.name,
        "catalog_code": cat.pb_catalog.code if cat.pb_catalog is not None else None,
        "requires_cold_chain": node.cold_chain, "attributes": cat.attributes or [],
        "children": [node_json(c) for c in node.children],
    }


def fmt_price(value: Any) -> str:
    """A price for the pages, ``1,234.50`` (emall's search hits carry prices as text)."""
    from decimal import Decimal, InvalidOperation

    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def listing_json(listing: Any) -> dict[str, Any]:
    out = emall_services.listing_dict(listing)
    out["url"] = product_url(listing)
    return out


# -- links into emall's pages -------------------------------------------------------------------
#: emall's public landing page (电子卖场首页) and product page, by endpoint
EMALL_LANDING = "EmallPublicView.index"
EMALL_PRODUCT = "EmallPublicView.item"


def _has_endpoint(endpoint: str) -> bool:
    from flask import current_app, has_app_context

    return has_app_context() and endpoint in current_app.view_functions


def emall_landing_endpoints() -> set[str]:
    return {EMALL_LANDING} if _has_endpoint(EMALL_LANDING) else set()


def general_mall_url(*, all_: bool = False) -> str:
    from flask import url_for

    if not _has_endpoint(EMALL_LANDING):
        return "/"
    return url_for(EMALL_LANDING, **({"all": 1} if all_ else {}))


def product_url(listing: Any) -> str:
    """emall's product page of a listing (the pavilion has no product page of its own)."""
    from flask import url_for

    if not _has_endpoint(EMALL_PRODUCT):
        return url_for("LivestockPavilionView.search", q=listing.model)
    return url_for(EMALL_PRODUCT, pk=listing.id)


# -- reports ------------------------------------------------------------------------------------
def cold_chain_violations(session: Session) -> list[Any]:
    """Listings on offer or under review in a category that requires the cold chain
    without cold-chain delivery (e.g. after the institution switched a category's flag
    on): they cannot be ordered until the supplier ticks 冷链配送 or they are delisted."""
    Cat, L = _emall().EmallCategory, _emall().EmallListing
    cold_ids = [c.id for c in session.scalars(select(Cat))
                if cold_chain_category(session, c.id) is not None]
    if not cold_ids:
        return []
    return list(session.scalars(
        select(L).where(L.category_id.in_(cold_ids), L.cold_chain.is_(False),
                        L.status.in_(("listed", "review"))).order_by(L.id)))


# -- audit of the livestock-system list ---------------------------------------------------------
AUDITED = ("organization_id", "include_subordinates", "active", "note")


def _audit_values(target: LivestockPurchaser, *, old: bool = False) -> dict[str, Any]:
    from sqlalchemy import inspect as sa_inspect

    state = sa_inspect(target)
    out = {}
    for key in AUDITED:
        hist = state.attrs[key].history
        if old and hist.deleted:
            out[key] = hist.deleted[0]
        else:
            out[key] = getattr(target, key)
    return out


def _audit(connection: Any, target: LivestockPurchaser, action: str, before: Any, after: Any) -> None:
    from core.services import audit

    region_id = connection.execute(select(Organization.region_id).where(
        Organization.id == target.organization_id)).scalar()
    audit.record(connection, action=action, object_type="emall_livestock_purchaser",
                 object_id=target.id, before=before, after=after, module=MODULE,
                 region_id=region_id)


@event.listens_for(LivestockPurchaser, "after_insert")
def _audit_insert(mapper: Any, connection: Any, target: LivestockPurchaser) -> None:
    _audit(connection, target, "create", None, _audit_values(target))


@event.listens_for(LivestockPurchaser, "after_update")
def _audit_update(mapper: Any, connection: Any, target: LivestockPurchaser) -> None:
    before, after = _audit_values(target, old=True), _audit_values(target)
    if before != after:
        _audit(connection, target, "update", before, after)


@event.listens_for(LivestockPurchaser, "after_delete")
def _audit_delete(mapper: Any, connection: Any, target: LivestockPurchaser) -> None:
    _audit(connection, target, "delete", _audit_values(target), None)
