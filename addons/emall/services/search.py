"""The public catalog: :func:`search_listings` (keyword, category subtree, attributes, price
range, supplier, delivery region, pavilion; relevance and other sorts; pagination).

Keywords are answered by the keyword index (:mod:`addons.emall.search_index`: bigrams and
pinyin in a GIN-indexed ``tsvector`` on PostgreSQL, an FTS5 table on SQLite, synonyms at
query time), never by scanning the listings; :func:`keyword_clause` is the scan it replaced,
kept only as the benchmark's baseline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import String, and_, case, cast, exists, func, literal, literal_column, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from core.models import Organization, Region

from ..models import PAVILIONS, EmallCategory, EmallListing, EmallListingImage, EmallListingRegion
from ..search_index import (
    FTS,
    FTS_TABLE,
    TIERS,
    Term,
    catch_up,
    categories,
    category_chains,
    category_children,
    dialect_of,
    explain,
    fts_category,
    fts_match,
    fts_query,
    fts_text,
    invalidate_categories,
    match_ids,
    parse_query,
    pg_query_anywhere,
    price_query,
    relaxed,
    score_expr,
    subtree,
    term_features,
)
from .admission import blocked_supplier_ids

#: an attribute key (the same rule as catalog.ATTR_KEY; not imported: catalog imports this module)
ATTR_KEY_RULE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

SORTS = {
    "relevance": (EmallListing.id.desc(),),  # without a keyword; with one: the tiers of search()
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


def _children_cached(session: Session) -> dict[int | None, list[int]]:
    """The category tree (parent -> children): the index module's per-worker copy."""
    return category_children(session)


def invalidate_category_tree() -> None:
    invalidate_categories()


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

    terms = parse_query(session, q) if q else []
    if q and not terms:
        return select(EmallListing.id).where(False)
    return base_statement(
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
                    prefer_region_id: int | None = None,
                    **filters: Any) -> tuple[int, list[CatalogRow], bool]:
    """(total, the page's hits as mappings shaped like :func:`listing_dict`, capped: more than
    :data:`COUNT_CAP` hits, ``total`` is the cap). Filters: see
    :func:`search_statement`; ``pavilion`` "" = the general mall only, None = everything.
    ``sort``: relevance (default; see docs/emall.md), newest, price_asc, price_desc, name.
    For facets and the typo fallback use :func:`search`."""

    filters = {k: v for k, v in filters.items() if v is not None}
    res = search(session, sort=sort, page=page, page_size=page_size,
                              prefer_region_id=prefer_region_id, with_facets=False, **filters)
    return res.count, (_page_rows(session, res.ids) if res.ids else []), res.capped


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


# -- searching ------------------------------------------------------------------------------------
#: price bands of the facet (yuan): [low, high)
PRICE_BANDS: tuple[tuple[Decimal, Decimal | None], ...] = (
    (Decimal(0), Decimal(100)), (Decimal(100), Decimal(500)), (Decimal(500), Decimal(1000)),
    (Decimal(1000), Decimal(5000)), (Decimal(5000), Decimal(10000)), (Decimal(10000), Decimal(50000)),
    (Decimal(50000), None))


def band_label(low: Decimal, high: Decimal | None) -> str:
    return f"{low:,.0f} 元以上" if high is None else f"{low:,.0f}–{high:,.0f} 元"


@dataclass
class SearchResult:
    count: int
    ids: list[int]
    facets: dict[str, Any]
    approximate: bool = False
    terms: list[Term] = field(default_factory=list)
    #: more than :data:`COUNT_CAP` hits: ``count`` is the cap, the facets count the first hits
    #: (in index order)
    capped: bool = False


def apply_filters(session: Session, stmt: Any, *, category_id: int | None = None, pavilion: str | None = None,
                  attrs: dict[str, str] | None = None, price_min: Decimal | None = None,
                  price_max: Decimal | None = None, supplier_id: int | None = None,
                  region_id: int | None = None, cold_chain: bool | None = None,
                  blocked: Any = None, covering: list[int] | None = None,
                  price_in_index: bool = False) -> Any:
    L = EmallListing
    stmt = stmt.where(L.status == "listed")
    if blocked is not None:
        stmt = stmt.where(L.supplier_id.not_in(blocked))
    if category_id is not None:
        ids = subtree(session, category_id)
        stmt = stmt.where(L.category_id == ids[0] if len(ids) == 1 else L.category_id.in_(ids))
    if pavilion is not None:
        stmt = stmt.where(L.pavilion.is_(None) if pavilion == "" else L.pavilion == pavilion)
    for key, value in (attrs or {}).items():
        stmt = stmt.where(L.attributes[key].as_string() == value)
    # the keyword index holds the price band (PostgreSQL, :func:`price_query`): the exact range
    # is then checked on the index's hits only; an indexable ``price`` condition would make the
    # planner AND the keyword's bitmap with the (status, price) index's bitmap of a quarter of
    # the catalogue (50 ms at 1,000,000 listings) to save a few hundred row reads
    price = L.price + 0 if price_in_index else L.price
    if price_min is not None:
        stmt = stmt.where(price >= price_min)
    if price_max is not None:
        stmt = stmt.where(price <= price_max)
    if supplier_id is not None:
        stmt = stmt.where(L.supplier_id == supplier_id)
    if cold_chain is not None:
        stmt = stmt.where(L.cold_chain.is_(cold_chain))
    if region_id is not None:
        stmt = stmt.where(exists().where(EmallListingRegion.listing_id == L.id,
                                         EmallListingRegion.region_id.in_(covering or [region_id])))
    return stmt


def base_statement(session: Session, terms: list[Term], **filters: Any) -> Any:
    """SELECT L.id … of a search: from the index when there are terms (SQLite: the FTS5 table
    joined to the listings by rowid, the category's subtree intersected inside the index;
    PostgreSQL: the GIN-indexed tsvector), else the listings."""
    L = EmallListing
    if not terms:
        return apply_filters(session, select(L.id), **filters)
    if dialect_of(session) == "postgresql":
        price_q = price_query(filters.get("price_min"), filters.get("price_max"))
        return apply_filters(session, match_ids(session, terms, price_q), price_in_index=price_q is not None,
                             **filters)
    # the category filter of apply_filters stays: a cheap check of the few rows the index keeps
    match = fts_match(terms, filters.get("category_id"))
    stmt = (select(L.id).select_from(FTS).join(L, L.id == FTS.c.rowid)
            .where(literal_column(FTS_TABLE).op("MATCH")(literal(match, String))))
    return apply_filters(session, stmt, **filters)


#: PostgreSQL, a keyword search's transaction: the cost the planner gives a page read out of
#: order (``SET LOCAL``; the server's default 4.0 prices a disk seek). With 4.0 it read a common
#: word's first 2,001 hits by a sequential scan from the table's start, checking the word on
#: every row until enough matched (疫苗's facets: 55 ms at 1,000,000 listings) instead of its
#: GIN bitmap (18 ms); 1.1 is the value usually set for SSDs and a catalogue held in memory
SEARCH_RANDOM_PAGE_COST = 1.1


#: a search counts its hits up to this many, and its facets count these first hits: a common
#: word matches tens of thousands of a million listings, and aggregating all of them was most
#: of the answer's time (docs/emall.md, "Search performance"); the page says "2,000+ 件"
COUNT_CAP = 2000


def capped_count(session: Session, base: Any) -> tuple[int, bool]:
    """(hits up to :data:`COUNT_CAP`, whether there are more)."""
    n = session.execute(select(func.count()).select_from(base.limit(COUNT_CAP + 1).subquery()),
                        execution_options=UNSCOPED).scalar_one()
    return min(n, COUNT_CAP), n > COUNT_CAP


def facets_of(session: Session, base: Any, *, category_id: int | None) -> tuple[int, dict[str, Any], bool]:
    """(count, facets, capped): matches per category and price band over the first
    :data:`COUNT_CAP` + 1 hits (in index order) in one statement; capped when there were more
    than the cap (the count is then the cap, the facets a sample of the first hits)."""
    L = EmallListing
    hits = base.with_only_columns(L.category_id, L.price).limit(COUNT_CAP + 1).subquery()
    band = case(*[(hits.c.price < hi, i) for i, (_lo, hi) in enumerate(PRICE_BANDS) if hi is not None],
                else_=len(PRICE_BANDS) - 1)
    stmt = select(hits.c.category_id, band, func.count()).group_by(hits.c.category_id, band)
    rows = session.execute(stmt, execution_options=UNSCOPED).all()
    total = 0
    bands = [0] * len(PRICE_BANDS)
    per_cat: dict[int, int] = {}
    for cid, b, n in rows:
        total += n
        per_cat[cid] = per_cat.get(cid, 0) + n
        bands[int(b)] += n
    capped = total > COUNT_CAP
    return min(total, COUNT_CAP), {
        "categories": rollup(session, per_cat, category_id),
        "price_bands": [{"label": band_label(lo, hi), "min": str(lo), "max": str(hi) if hi else None,
                         "count": bands[i]} for i, (lo, hi) in enumerate(PRICE_BANDS)]}, capped


def rollup(session: Session, per_cat: dict[int, int], category_id: int | None) -> list[dict[str, Any]]:
    """Counts per category at the level below the chosen category (or the top level),
    descending while only one category there has hits; largest first."""
    cats = categories(session)
    children = category_children(session)
    chains = category_chains(session)
    top: dict[int, int] = {}
    for cid, n in per_cat.items():
        for c in chains.get(cid, ()):
            top[c] = top.get(c, 0) + n
    level = children.get(category_id, []) if category_id is not None else children.get(None, [])
    while True:
        hit = [c for c in level if top.get(c)]
        if len(hit) == 1 and children.get(hit[0]):
            level = children[hit[0]]
            continue
        break
    out = [{"id": c, "code": cats[c].code, "name": cats[c].name, "count": top[c]} for c in hit]
    out.sort(key=lambda d: (-d["count"], cats[d["id"]].sequence, d["code"]))
    return out[:30]


def search(session: Session, *, q: str | None = None, sort: str = "relevance", page: int = 0,
           page_size: int = 20, prefer_region_id: int | None = None, with_facets: bool = True,
           **filters: Any) -> SearchResult:
    """A catalog search: the ids of the page in order, the count and the facets.

    ``sort``: ``relevance`` (with a keyword: available first, i.e. in stock and delivering to
    ``prefer_region_id`` (or the region filter), then the tier score, then newest; without a
    keyword the same as ``newest``), ``newest``, ``price_asc``, ``price_desc``, ``name``."""

    L = EmallListing
    catch_up(session)
    terms = parse_query(session, q)
    if terms and dialect_of(session) == "postgresql":
        session.execute(sql_text(f"SET LOCAL random_page_cost = {SEARCH_RANDOM_PAGE_COST}"))
    if q and not terms:  # only punctuation: nothing can match
        return SearchResult(0, [], {"categories": [], "price_bands": []}, terms=[])
    filters = dict(filters)
    filters["blocked"] = blocked_supplier_ids(session)
    region_id = filters.get("region_id")
    if region_id is not None:
        filters["covering"] = region_and_ancestors(session, region_id)
    approximate = False

    def counted(base: Any) -> tuple[int, dict[str, Any], bool]:
        if with_facets:
            return facets_of(session, base, category_id=filters.get("category_id"))
        return _count_only(session, base)

    base = base_statement(session, terms, **filters)
    count, facets, capped = counted(base)
    if count == 0 and terms:
        loose = relaxed(terms)
        if loose is not None:
            base2 = base_statement(session, loose, **filters)
            count2, facets2, capped2 = counted(base2)
            if count2:
                terms, base, count, facets, capped, approximate = loose, base2, count2, facets2, capped2, True
    if count == 0:
        return SearchResult(0, [], facets, approximate, terms)
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    offset = max(0, page) * page_size
    if sort == "relevance" and terms:
        prefer = region_id if region_id is not None else prefer_region_id
        if prefer is not None and region_id is None:
            covering = region_and_ancestors(session, prefer)
            avail_cond = and_(L.stock > 0, exists().where(EmallListingRegion.listing_id == L.id,
                                                          EmallListingRegion.region_id.in_(covering)))
        else:
            avail_cond = L.stock > 0
        if len(terms) == 1 and count > TIERED_ABOVE:
            ids = tiered_page(session, terms[0], filters, avail_cond, offset, page_size, dense=capped)
        else:
            avail = case((avail_cond, 1), else_=0)
            score = score_expr(session, terms, category_id=filters.get("category_id"))
            order = (avail.desc(), score.desc(), L.id.desc())
            ids = [r[0] for r in session.execute(base.order_by(*order).limit(page_size).offset(offset),
                                                 execution_options=UNSCOPED)]
    else:
        order = SORTS.get(sort, SORTS["newest"])
        ids = [r[0] for r in session.execute(base.order_by(*order).limit(page_size).offset(offset),
                                             execution_options=UNSCOPED)]
    return SearchResult(count, ids, facets, approximate, terms, capped)


def _count_only(session: Session, base: Any) -> tuple[int, dict[str, Any], bool]:
    n, capped = capped_count(session, base)
    return n, {}, capped


#: above this many hits a one-word relevance search reads its page tier by tier (each tier
#: newest first, stopping when the page is full) instead of scoring every hit
TIERED_ABOVE = 1500


def _tier_exprs(session: Session, term: Term) -> list[str]:
    """The index expressions of the term's tiers (:data:`TIERS`), best first, each excluding
    the others, then the rest (hits whose characters are spread over several fields). A
    one-token term has no phrase tiers (a phrase is its token)."""
    pg = dialect_of(session) == "postgresql"
    f = term_features(session, term)
    out = []
    for present, absent, _points in TIERS:
        pos = [f[k] for k in present]
        neg = list(dict.fromkeys(f[k] for k in absent))
        if set(pos) & set(neg):  # a feature and its absence (one token: Np is N): an empty tier
            continue
        if pg:
            expr = " & ".join(f"({x})" for x in pos) + "".join(f" & !({x})" for x in neg)
        else:
            expr = " AND ".join(f"({x})" for x in pos) + (f" NOT ({' OR '.join(f'({x})' for x in neg)})"
                                                           if neg else "")
        if expr not in out:
            out.append(expr)
    every = [f["N"], f["C"], f["A"]]
    anyq = pg_query_anywhere([term]) if pg else fts_text(fts_query([term]))
    out.append(f"({anyq})" + ("".join(f" & !({x})" for x in every) if pg
                              else f" NOT ({' OR '.join(f'({x})' for x in every)})"))
    return out


#: PostgreSQL, a search with more than :data:`COUNT_CAP` hits: its best tier is read first
#: among the newest this many listing ids (the GIN bitmap and-ed with the primary key's
#: range, so only those heap pages are read); only when that does not fill the page, the
#: rest of the tier and the next tiers are read whole
NEWEST_WINDOW = 30_000


def tiered_page(session: Session, term: Term, filters: dict[str, Any], avail_cond: Any, offset: int,
                limit: int, *, dense: bool = False) -> list[int]:
    """The page of a one-word relevance search without scoring every hit: available first,
    then tier by tier (name phrase, name, category phrase, category, attributes…), newest
    first inside a tier; each statement stops at the rows still needed. ``dense`` (a common
    word, PostgreSQL): the first tier is read among the newest :data:`NEWEST_WINDOW` ids
    first - a GIN match cannot stop early, so without a range every hit of a common word's
    first tier (tens of thousands) is read from the table to sort the newest first."""
    from sqlalchemy.dialects.postgresql import TSQUERY

    L = EmallListing
    pg = dialect_of(session) == "postgresql"
    need = offset + limit
    out: list[int] = []
    category_id = filters.get("category_id")
    price_q = price_query(filters.get("price_min"), filters.get("price_max")) if pg else None
    split = None  # the id above which the newest window lies (a literal: the planner sees it)
    if pg and dense:
        top = session.execute(select(func.max(L.id)), execution_options=UNSCOPED).scalar()
        if top is not None and top > NEWEST_WINDOW:
            split = literal_column(str(int(top) - NEWEST_WINDOW))
    for avail in (True, False):
        for expr in _tier_exprs(session, term):
            if pg:
                expr = f"({expr}) & {price_q}" if price_q else expr
                stmt = select(L.id).where(L.search_vector.op("@@")(cast(literal(expr, String), TSQUERY)))
                order = L.id.desc()
            else:
                if category_id is not None:  # the subtree inside the index (see base_statement)
                    expr = f"({expr}) AND {fts_category(category_id)}"
                stmt = (select(L.id).select_from(FTS).join(L, L.id == FTS.c.rowid)
                        .where(literal_column(FTS_TABLE).op("MATCH")(literal(expr, String))))
                order = FTS.c.rowid.desc()
            stmt = apply_filters(session, stmt, price_in_index=price_q is not None, **filters) \
                .where(avail_cond if avail else ~avail_cond)
            ranges = [None] if split is None else [L.id > split, L.id <= split]
            split = None  # the window is tried on the first tier only
            for id_range in ranges:
                part = stmt if id_range is None else stmt.where(id_range)
                got = [r[0] for r in session.execute(part.order_by(order).limit(need - len(out)),
                                                     execution_options=UNSCOPED)]
                out.extend(got)
                if len(out) >= need:
                    return out[offset:need]
    return out[offset:need]


# -- query-string arguments (pages and APIs alike) -------------------------------------------------
#: sort keys with their Chinese labels (``relevance`` is the default)
SORT_LABELS = {"relevance": "综合排序", "newest": "最新上架", "price_asc": "价格从低到高",
               "price_desc": "价格从高到低", "name": "名称"}
KNOWN_ARGS = {"q", "category", "pavilion", "price_min", "price_max", "supplier", "region", "cold_chain",
              "sort", "page", "page_size", "all"}
PAGE_SIZE = 20
MAX_PAGE = 100_000


def _int(errors: Any, args: Any, name: str, label: str, low: int, high: int) -> int | None:
    raw = str(args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not raw.isascii():
        errors.add(name, f"{label}须为整数")
        return None
    value = int(raw)
    if not low <= value <= high:
        errors.add(name, f"{label}须在 {low}–{high} 之间")
        return None
    return value


def _price(errors: Any, args: Any, name: str, label: str) -> Decimal | None:
    from core.services.money import MoneyError, to_money

    raw = str(args.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = to_money(raw)
    except MoneyError:
        errors.add(name, f"{label}须为金额（元，最多两位小数），如 1000 或 99.50")
        return None
    if value < 0:
        errors.add(name, f"{label}不能为负数")
        return None
    return value


def parse_args(session: Session, args: Any, *, page_base: int = 0, pavilion: Any = ...) -> dict[str, Any]:
    """Query-string arguments of a catalog search, the same rules for the pages and the APIs
    (e-mall and pavilion): every argument checked, an unknown one refused; bad input raises
    ``RuleError({argument: [Chinese message]})`` (422 in the APIs, the message on the pages).

    ``page_base``: 1 on pages (第 1 页), 0 in the APIs. ``pavilion``: fixed by the caller (the
    livestock pavilion) or ``...`` (read from the ``pavilion`` argument: ``general``,
    ``livestock`` or absent for everything). A category (id or code) of another pavilion than
    a fixed one gives no result (``empty``), an unknown one is refused.

    Returns ``q``, ``sort``, ``page`` (0-based), ``page_size``, ``filters`` (for
    :func:`search`), ``category`` (the chosen :class:`CatInfo` or None), ``empty``."""
    from addons.procurement_base.services import Errors


    errors = Errors()
    for key in args:
        if key not in KNOWN_ARGS and not key.startswith("attr."):
            errors.add(key, f"不支持的查询参数“{key}”")
    q = " ".join(str(args.get("q") or "").split())
    if len(q) > 100:
        errors.add("q", "关键词不能超过 100 个字")
    filters: dict[str, Any] = {}
    empty = False
    if pavilion is ...:
        pav = str(args.get("pavilion") or "").strip()
        if pav and pav != "general" and pav not in PAVILIONS:
            errors.add("pavilion", "行业馆只能是 general（综合卖场）或 "
                                   + "、".join(f"{k}（{v}）" for k, v in PAVILIONS.items()))
        elif pav:
            filters["pavilion"] = "" if pav == "general" else pav
    else:
        filters["pavilion"] = pavilion
    category = None
    raw_cat = str(args.get("category") or "").strip()
    if raw_cat:
        cats = categories(session)
        if raw_cat.isdigit() and raw_cat.isascii() and len(raw_cat) < 10:
            category = cats.get(int(raw_cat))
        else:
            code = raw_cat.upper()
            category = next((c for c in cats.values() if c.code == code), None)
        if category is None:
            errors.add("category", "商品分类不存在（请填写分类编号或分类编码，如 A02010105）")
        else:
            pav_of = session.execute(select(EmallCategory.pavilion, EmallCategory.active)
                                     .where(EmallCategory.id == category.id), execution_options=UNSCOPED).one()
            if pavilion is not ... and (pav_of[0] or "") != (pavilion or "") or not pav_of[1]:
                empty = True  # another pavilion's (or a retired) category: nothing, never the rest
            filters["category_id"] = category.id
    price_min = _price(errors, args, "price_min", "最低价")
    price_max = _price(errors, args, "price_max", "最高价")
    if price_min is not None and price_max is not None and price_min > price_max:
        errors.add("price_max", "最高价不能低于最低价")
    filters["price_min"], filters["price_max"] = price_min, price_max
    filters["supplier_id"] = _int(errors, args, "supplier", "供应商编号", 1, 2**31 - 1)
    region = str(args.get("region") or "").strip()
    filters["region_id"] = None
    if region:
        if not (region.isdigit() and region.isascii() and len(region) == 6):
            errors.add("region", "供货地区须为 6 位行政区划代码，如 220100")
        else:
            from core.models import Region

            rid = session.execute(select(Region.id).where(Region.code == region),
                                  execution_options=UNSCOPED).scalar()
            if rid is None:
                errors.add("region", f"地区编码 {region} 不存在（如 220100 长春市）")
            filters["region_id"] = rid
    cold = str(args.get("cold_chain") or "").strip().lower()
    filters["cold_chain"] = None
    if cold in ("1", "true", "yes", "是"):
        filters["cold_chain"] = True
    elif cold in ("0", "false", "no", "否"):
        filters["cold_chain"] = False
    elif cold:
        errors.add("cold_chain", "冷链配送只能是 1（是）或 0（否）")
    attrs = {}
    for key in args:
        if key.startswith("attr."):
            value = str(args.get(key) or "").strip()
            if not ATTR_KEY_RULE.match(key[5:]):
                errors.add(key, "属性标识无效（小写字母开头，字母、数字或下划线）")
            elif len(value) > 200:
                errors.add(key, "属性值不能超过 200 个字符")
            elif value:
                attrs[key[5:]] = value
    filters["attrs"] = attrs or None
    sort = str(args.get("sort") or "").strip() or "relevance"
    if sort not in SORT_LABELS:
        errors.add("sort", "排序只能是：" + "、".join(f"{k}（{v}）" for k, v in SORT_LABELS.items()))
    page = _int(errors, args, "page", "页码", page_base, MAX_PAGE)
    size = _int(errors, args, "page_size", "每页条数", 1, MAX_PAGE_SIZE)
    show_all = str(args.get("all") or "").strip()
    if show_all not in ("", "1"):
        errors.add("all", "all 只能是 1（进入综合卖场）")
    errors.raise_if_any()
    return {"q": q or None, "sort": sort, "page": (page - page_base) if page is not None else 0,
            "page_size": size or PAGE_SIZE, "filters": filters, "category": category, "empty": empty}


def facets_json(facets: dict[str, Any]) -> dict[str, Any]:
    return {"categories": facets.get("categories", []), "price_bands": facets.get("price_bands", [])}


@dataclass
class CatalogPage:
    """A page of a catalog search for the pages and APIs."""

    count: int
    rows: list[Any]
    facets: dict[str, Any]
    approximate: bool
    expanded: list[dict[str, Any]]
    page: int
    page_size: int
    #: more hits than the count says (:data:`COUNT_CAP`): "2,000+ 件"
    capped: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.page_size))


def catalog_page(session: Session, parsed: dict[str, Any], *, prefer_region_id: int | None = None) -> CatalogPage:
    """Run a search parsed by :func:`parse_args`: the page's rows (shaped like
    ``services.listing_dict``), the count, the facets."""

    if parsed.get("empty"):
        return CatalogPage(0, [], {"categories": [], "price_bands": []}, False, [], parsed["page"],
                           parsed["page_size"])
    filters = {k: v for k, v in parsed["filters"].items() if v is not None}
    res = search(session, q=parsed["q"], sort=parsed["sort"], page=parsed["page"], page_size=parsed["page_size"],
                 prefer_region_id=prefer_region_id, **filters)
    rows = _page_rows(session, res.ids) if res.ids else []
    return CatalogPage(res.count, rows, facets_json(res.facets), res.approximate, explain(res.terms),
                       parsed["page"], parsed["page_size"], res.capped)


def purchaser_region(scope: Any) -> int | None:
    """The region whose deliveries rank first: the logged-in purchaser's."""
    return scope.region_id if getattr(scope, "actor", None) == "purchaser" else None


