"""The public catalog: :func:`search_listings` (keyword, category subtree, attributes, price
range, supplier, delivery region, pavilion; relevance and other sorts; pagination).

Keywords are answered by the keyword index (:mod:`addons.emall.search_index`: bigrams and
pinyin in a GIN-indexed ``tsvector`` on PostgreSQL, an FTS5 table on SQLite, synonyms at
query time), never by scanning the listings; :func:`keyword_clause` is the scan it replaced,
kept only as the benchmark's baseline."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Organization, Region

from .. import search_index  # importing it installs the index's session listeners
from ..models import EmallCategory, EmallListing, EmallListingImage
from .admission import blocked_supplier_ids

SORTS = {
    "relevance": (EmallListing.id.desc(),),  # without a keyword; with one: search_index.search
    "newest": (EmallListing.id.desc(),),
    "price_asc": (EmallListing.price.asc(), EmallListing.id.asc()),
    "price_desc": (EmallListing.price.desc(), EmallListing.id.desc()),
    "name": (EmallListing.name.asc(), EmallListing.id.asc()),
}
MAX_PAGE_SIZE = 100


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


UNSCOPED = {"erp_unscoped": True}  # listings, categories, organisations: not region-scoped


def region_and_ancestors(session: Session, region_id: int) -> list[int]:
    """The region and its ancestors (the worker's cached region tree inside the app)."""
    try:
        from flask import has_app_context

        if has_app_context():
            from core.tenancy import snapshot

            snap = snapshot()
            return snap.ancestors(region_id) if region_id in snap.code_of else []
    except (ImportError, KeyError, AttributeError):
        pass
    parents = dict(session.execute(select(Region.id, Region.parent_id)).all())
    out, cur = [], region_id
    while cur is not None and cur not in out:
        out.append(cur)
        cur = parents.get(cur)
    return out


_TREE_CACHE: dict[str, Any] = {"at": -1.0, "children": {}, "db": None}
TREE_TTL = 30.0  # seconds a worker trusts its copy of the category tree


def _children_cached(session: Session) -> dict[int | None, list[int]]:
    """The category tree (parent -> children) of this worker: re-read when a category was
    added (count or highest id changed), after a category is saved in this worker, and at
    least every :data:`TREE_TTL` seconds (a parent changed in another worker)."""
    import time

    now_ = time.monotonic()
    # a new category anywhere (another worker, a module install) changes count or max(id)
    stamp = tuple(session.execute(select(func.count(EmallCategory.id), func.max(EmallCategory.id)),
                                  execution_options={"erp_unscoped": True}).one())
    db_key = (str(session.get_bind().url), stamp)
    if now_ - _TREE_CACHE["at"] > TREE_TTL or _TREE_CACHE["db"] != db_key:
        children: dict[int | None, list[int]] = {}
        for cid, parent in session.execute(select(EmallCategory.id, EmallCategory.parent_id),
                                           execution_options={"erp_unscoped": True}):
            children.setdefault(parent, []).append(cid)
        _TREE_CACHE.update(at=now_, children=children, db=db_key)
    return _TREE_CACHE["children"]


def invalidate_category_tree() -> None:
    _TREE_CACHE["at"] = -1.0


def subtree_ids(session: Session, category_id: int) -> list[int]:
    """A category and its descendants, as literal ids: the planner then uses the
    ``(status, category_id, price)`` index on both databases."""
    children = _children_cached(session)
    out, todo = [], [category_id]
    while todo:
        c = todo.pop()
        if c in out:
            continue
        out.append(c)
        todo.extend(children.get(c, ()))
    return out


def keyword_clause(session: Session, term: str) -> Any:
    """The scan the keyword index replaced (benchmark baseline only): ``search_text``
    contains the normalised term, ``instr`` on SQLite, ``LIKE '%term%'`` on PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return func.instr(EmallListing.search_text, term) > 0
    return EmallListing.search_text.like(f"%{_like_escape(term)}%", escape="\\")


def search_statement(session: Session, *, q: str | None = None, category_id: int | None = None,
                     pavilion: str | None = None, attrs: dict[str, str] | None = None,
                     price_min: Decimal | None = None, price_max: Decimal | None = None,
                     supplier_id: int | None = None, region_id: int | None = None,
                     cold_chain: bool | None = None) -> Any:
    """A catalog search (listed, supplier admitted, filters) as a SELECT of ids; keywords
    through the keyword index (synonyms and pinyin applied, all words must match)."""

    terms = search_index.parse_query(session, q) if q else []
    if q and not terms:
        return select(EmallListing.id).where(False)
    return search_index.base_statement(
        session, terms, category_id=category_id, pavilion=pavilion, attrs=attrs, price_min=price_min,
        price_max=price_max, supplier_id=supplier_id, region_id=region_id, cold_chain=cold_chain,
        blocked=blocked_supplier_ids(session),
        covering=region_and_ancestors(session, region_id) if region_id is not None else None)


class CatalogRow(dict):
    """A search hit as a mapping that code and templates can also read with dots
    (``x.category.name``), like the listing object it stands for."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _page_rows(session: Session, ids: list[int]) -> list[CatalogRow]:
    """The listings of a result page in two statements (listing + category + supplier,
    then images)."""
    L, C = EmallListing, EmallCategory
    rows = session.execute(
        select(L.id, L.name, L.brand, L.model, L.unit, L.price, L.reference_price, L.reference_source,
               L.stock, L.cold_chain, L.pavilion, C.id, C.code, C.name, Organization.id, Organization.name)
        .join(C, C.id == L.category_id).join(Organization, Organization.id == L.supplier_id)
        .where(L.id.in_(ids)), execution_options=UNSCOPED).all()
    images: dict[int, list[str]] = {}
    for img_id, lid in session.execute(
            select(EmallListingImage.id, EmallListingImage.listing_id)
            .where(EmallListingImage.listing_id.in_(ids))
            .order_by(EmallListingImage.sequence, EmallListingImage.id), execution_options=UNSCOPED):
        images.setdefault(lid, []).append(f"/emall/image/{img_id}")
    out = {}
    for (lid, name, brand, model, unit, price, ref, src, stock, cold, pav, cid, ccode, cname, sid,
         sname) in rows:
        out[lid] = CatalogRow(
            id=lid, name=name, brand=brand, model=model, unit=unit, price=str(price),
            reference_price=str(ref), reference_source=src, stock=stock, cold_chain=cold, pavilion=pav,
            category=CatalogRow(id=cid, code=ccode, name=cname), supplier=CatalogRow(id=sid, name=sname),
            images=images.get(lid, []))
    return [out[i] for i in ids if i in out]


def search_listings(session: Session, *, sort: str = "relevance", page: int = 0, page_size: int = 20,
                    prefer_region_id: int | None = None, **filters: Any) -> tuple[int, list[CatalogRow]]:
    """(total, the page's hits as mappings shaped like :func:`listing_dict`). Filters: see
    :func:`search_statement`; ``pavilion`` "" = the general mall only, None = everything.
    ``sort``: relevance (default; see docs/emall.md), newest, price_asc, price_desc, name.
    For facets and the typo fallback use :func:`addons.emall.search_index.search`."""

    filters = {k: v for k, v in filters.items() if v is not None}
    res = search_index.search(session, sort=sort, page=page, page_size=page_size,
                              prefer_region_id=prefer_region_id, with_facets=False, **filters)
    return res.count, (_page_rows(session, res.ids) if res.ids else [])


def public_listing(session: Session, listing_id: int) -> EmallListing | None:
    """A listing as the public sees it (listed, supplier admitted), else None."""
    stmt = search_statement(session).where(EmallListing.id == listing_id)
    if session.execute(stmt, execution_options=UNSCOPED).first() is None:
        return None
    return session.get(EmallListing, listing_id)


def listing_dict(x: EmallListing, *, detail: bool = False) -> dict[str, Any]:
    if isinstance(x, CatalogRow):
        return dict(x, category=dict(x.category), supplier=dict(x.supplier))
    out = {
        "id": x.id, "name": x.name, "brand": x.brand, "model": x.model, "unit": x.unit,
        "price": str(x.price), "reference_price": str(x.reference_price),
        "reference_source": x.reference_source, "stock": x.stock, "cold_chain": x.cold_chain,
        "pavilion": x.pavilion,
        "category": {"id": x.category.id, "code": x.category.code, "name": x.category.name},
        "supplier": {"id": x.supplier.id, "name": x.supplier.name},
        "images": [f"/emall/image/{i.id}" for i in x.images],
    }
    if detail:
        template = {a["key"]: a for a in (x.category.attributes or []) if "key" in a}
        out["attributes"] = [
            {"key": k, "label": template.get(k, {}).get("label", k), "value": v,
             "unit": template.get(k, {}).get("unit")}
            for k, v in (x.attributes or {}).items()]
        out["description"] = x.description
        out["regions"] = [{"id": r.id, "code": r.code, "name": r.name} for r in x.regions]
        out["reference_url"] = x.reference_url
    return out
