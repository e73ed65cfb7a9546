"""The public notice search (anonymous): keyword (the platform's Chinese search,
:mod:`core.services.cjk_search`: bigrams, pinyin, one-typo retry), type, region (with its
subordinate regions), purchaser, publication dates and amount. Newest first.

Only published notices are ever returned, whoever asks (an official logged in sees the
same public site).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import String, cast, func, literal, select
from sqlalchemy.orm import Session

from core.errors import RuleError
from core.models import Organization
from core.notices import NOTICE_KINDS
from core.services.cjk_search import Term, build_terms, fts_query, pg_query, relaxed
from core.tenancy import snapshot

from .models import Notice
from .services import ID_BITS, ID_MASK, sort_second

ARGS = {"q", "kind", "region", "purchaser", "date_from", "date_to", "amount_min", "amount_max",
        "page", "page_size"}
COUNT_CAP = 1_000


@dataclass
class SearchArgs:
    q: str = ""
    kind: str | None = None
    region: str | None = None
    purchaser: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None
    page: int = 0
    page_size: int = 20


@dataclass
class SearchResult:
    count: int
    rows: list[Notice]
    approximate: bool = False
    capped: bool = False
    args: SearchArgs = field(default_factory=SearchArgs)

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.count, COUNT_CAP) // self.args.page_size))


def _date(value: str, name: str, errors: dict[str, list[str]]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[name] = ["请填写日期，格式如 2026-01-31"]
        return None


def _money(value: str, name: str, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        d = Decimal(value)
    except InvalidOperation:
        errors[name] = ["请填写金额（元），如 10000 或 10000.50"]
        return None
    if not d.is_finite() or d < 0 or d > Decimal("1e15"):
        errors[name] = ["金额须为不小于零的金额"]
        return None
    return d


def parse_args(args: Any, *, page_base: int = 0) -> SearchArgs:
    """Checked search arguments; RuleError (422) by field for anything wrong."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(args.keys()) - ARGS)
    if unknown:
        errors["_schema"] = [f"不支持的查询条件：{', '.join(unknown)}"]
    a = SearchArgs()
    a.q = (args.get("q") or "").strip()[:200]
    kind = (args.get("kind") or "").strip()
    if kind:
        if kind not in NOTICE_KINDS:
            errors["kind"] = ["没有这种公告类型"]
        a.kind = kind
    region = (args.get("region") or "").strip()
    if region:
        if region not in snapshot().id_of:
            errors["region"] = ["没有这个地区（请填写行政区划代码，如 220100）"]
        a.region = region
    a.purchaser = (args.get("purchaser") or "").strip()[:100] or None
    for name in ("date_from", "date_to"):
        v = (args.get(name) or "").strip()
        if v:
            setattr(a, name, _date(v, name, errors))
    for name in ("amount_min", "amount_max"):
        v = (args.get(name) or "").strip()
        if v:
            setattr(a, name, _money(v, name, errors))
    if a.date_from and a.date_to and a.date_from > a.date_to:
        errors["date_to"] = ["结束日期不能早于开始日期"]
    if a.amount_min is not None and a.amount_max is not None and a.amount_min > a.amount_max:
        errors["amount_max"] = ["最高金额不能低于最低金额"]
    for name, lo, hi in (("page", page_base, 10_000), ("page_size", 1, 100)):
        v = (args.get(name) or "").strip()
        if v:
            if not v.isdigit() or not lo <= int(v) <= hi:
                errors[name] = [f"请填写 {lo} 到 {hi} 之间的整数"]
            else:
                setattr(a, name, int(v) - (page_base if name == "page" else 0))
    if errors:
        raise RuleError(errors)
    return a


KEYWORD_FIELDS = "{title body}"
#: a region filter is also a tag filter when its subtree has at most this many regions
MAX_REGION_TAGS = 64


def _tag_query(a: SearchArgs, amount: bool = True) -> list[list[str]]:
    """The filter tags a match must carry (each inner list: any of them), from
    :func:`services.filter_tags`: type, region (the regions of the subtree), amount bands
    (not on PostgreSQL: ``amount=False``; a band holds up to a tenth of all notices and the
    GIN intersection with it cost more than the heap check it saved, measured)."""
    from .services import amount_bands

    out: list[list[str]] = []
    if a.kind:
        out.append([f"k{a.kind.replace('_', '')}"])
    if a.region:
        snap = snapshot()
        sub = snap.subtree(snap.id_of[a.region])
        if len(sub) <= MAX_REGION_TAGS:
            out.append([f"r{r}" for r in sorted(sub)])
    if amount and (a.amount_min is not None or a.amount_max is not None):
        bands = amount_bands(a.amount_min, a.amount_max)
        if len(bands) <= 12:
            out.append([f"a{b}" for b in bands])
    return out


def _match(session: Session, terms: list[Term], a: SearchArgs) -> Any:
    """PostgreSQL: the tsquery condition (the words in title and body, weights A and B; the
    filter tags at weight D)."""
    from sqlalchemy.dialects.postgresql import TSQUERY

    q = "(" + pg_query(terms, weight="AB") + ")"
    for group in _tag_query(a, amount=False):
        q += " & (" + " | ".join(f"'{t}':D" for t in group) + ")"
    return Notice.search_vector.op("@@")(cast(literal(q, String), TSQUERY))


def _fts(terms: list[Term], a: SearchArgs) -> str:
    q = fts_query(terms, col=KEYWORD_FIELDS)
    for group in _tag_query(a):
        q += " AND tags : (" + " OR ".join(group) + ")"
    return q


def _filters(session: Session, a: SearchArgs, tagged: bool = False) -> list[Any]:
    """The conditions of the filters. ``tagged`` (PostgreSQL, keyword search): the type and
    region conditions are also tags in the keyword index, so they stay exact conditions on the
    hits but are kept off their btree indexes (``|| ''``, ``+ 0``): a BitmapAnd with a whole
    region's rows costs more than it saves."""
    where: list[Any] = [Notice.status == "published"]
    if a.kind:
        where.append((Notice.kind + "" if tagged else Notice.kind) == a.kind)
    if a.region:
        snap = snapshot()
        sub = sorted(snap.subtree(snap.id_of[a.region]))
        plain = tagged and len(sub) <= MAX_REGION_TAGS
        where.append((Notice.region_id + 0 if plain else Notice.region_id).in_(sub))
    if a.purchaser:
        if a.purchaser.isdigit():
            where.append(Notice.purchaser_org_id == int(a.purchaser))
        else:
            like = "%" + a.purchaser.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(Notice.purchaser_org_id.in_(
                select(Organization.id).where(Organization.name.like(like, escape="\\"))))
    if a.date_from:
        where.append(Notice.published_at >= dt.datetime.combine(a.date_from, dt.time()))
    if a.date_to:
        where.append(Notice.published_at < dt.datetime.combine(a.date_to + dt.timedelta(days=1), dt.time()))
    if a.amount_min is not None:
        where.append(Notice.amount >= a.amount_min)
    if a.amount_max is not None:
        where.append(Notice.amount <= a.amount_max)
    return where


def _sqlite_keys(session: Session, terms: list[Term], a: SearchArgs, where: list[Any], limit: int,
                 key_range: tuple[int, int] | None = None) -> list[int]:
    """SQLite: the sort keys (FTS5 rowids: publication second << 31 | id) of up to ``limit``
    matching notices, newest first: FTS5 walks its doclists backwards in rowid order and stops
    at the limit (CROSS JOIN keeps it the outer loop). Raw SQL, so the public visibility is
    added here: published notices of regions where notice_hub is enabled (what the
    platform's record rule for the public says)."""
    from sqlalchemy import and_, text
    from sqlalchemy.dialects import sqlite

    regions = sorted(snapshot().regions_enabling("notice_hub"))
    cond = and_(*where, Notice.region_id.in_(regions)).compile(
        dialect=sqlite.dialect(paramstyle="named"), compile_kwargs={"render_postcompile": True})
    rng = ""
    params = {k: _sqlite_value(v) for k, v in cond.params.items()}
    lo, hi = key_range or (0, (1 << 63) - 1)
    if a.date_from:  # the publication dates bound the keys too (the exact condition stays)
        lo = max(lo, sort_second(dt.datetime.combine(a.date_from, dt.time())) << ID_BITS)
    if a.date_to:
        end = sort_second(dt.datetime.combine(a.date_to + dt.timedelta(days=1), dt.time()))
        hi = min(hi, ((end + 1) << ID_BITS) - 1)
    if key_range or a.date_from or a.date_to:
        rng = "AND nh_notice_fts.rowid BETWEEN :key_lo AND :key_hi "
        params.update(key_lo=lo, key_hi=hi)
    sql = (f"SELECT nh_notice_fts.rowid FROM nh_notice_fts CROSS JOIN nh_notice "
           f"ON nh_notice.id = (nh_notice_fts.rowid & {ID_MASK}) WHERE nh_notice_fts MATCH :fts_q {rng}"
           f"AND {cond} ORDER BY nh_notice_fts.rowid DESC LIMIT {int(limit)}")
    return list(session.execute(text(sql), {**params, "fts_q": _fts(terms, a)}).scalars())


def _sqlite_page(session: Session, terms: list[Term], a: SearchArgs, where: list[Any],
                 keys: list[int], limit: int) -> list[Notice]:
    """The page of ``keys`` (newest first, ``limit`` asked): the key orders by publication
    second, then id; within one second the order is (published_at, id), so the seconds at the
    page's edges are read whole and sorted exactly."""
    lo, hi = a.page * a.page_size, (a.page + 1) * a.page_size
    if lo >= len(keys):
        return []
    first, last = keys[lo] >> ID_BITS, keys[min(hi, len(keys)) - 1] >> ID_BITS
    chunk = [k for k in keys if last <= k >> ID_BITS <= first]
    if len(keys) == limit and keys[-1] >> ID_BITS == last:  # the last second may go on
        chunk += _sqlite_keys(session, terms, a, where, 1_000_000,
                              (last << ID_BITS, keys[-1] - 1))
    skip = lo - next(i for i, k in enumerate(keys) if k >> ID_BITS == first)
    ids = [k & ID_MASK for k in chunk]
    rows = session.scalars(select(Notice).where(Notice.id.in_(ids))).all()
    rows = sorted(rows, key=lambda n: (n.published_at, n.id), reverse=True)
    return rows[skip:skip + a.page_size]


def _sqlite_value(v: Any) -> Any:
    """A bound value as SQLAlchemy stores it on SQLite (raw SQL skips the column types)."""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def search(session: Session, a: SearchArgs) -> SearchResult:
    """Count (capped at :data:`COUNT_CAP`) and one page, newest first. A keyword search first
    collects up to ``COUNT_CAP + 1`` hits from the keyword index (PostgreSQL: GIN; SQLite:
    FTS5 as the outer loop); a small result is then read by id, a large one (dense: the
    newest page is found at once) by walking the publication-time index."""
    where = _filters(session, a)
    terms = build_terms(a.q) if a.q else []
    approximate = False
    sqlite_ = session.get_bind().dialect.name == "sqlite"
    newest = (Notice.published_at.desc(), Notice.id.desc())

    def page(*extra: Any) -> list[Notice]:
        return list(session.scalars(select(Notice).where(*extra).order_by(*newest)
                                    .offset(a.page * a.page_size).limit(a.page_size)))

    def run(ts: list[Term] | None) -> tuple[int, list[Notice]]:
        if ts is None:
            base = select(Notice.id).where(*where).limit(COUNT_CAP + 1)
            n = session.scalar(select(func.count()).select_from(base.subquery())) or 0
            return n, page(*where)
        if sqlite_:
            limit = max(COUNT_CAP + 1, (a.page + 1) * a.page_size)
            keys = _sqlite_keys(session, ts, a, where, limit)
            return len(keys), _sqlite_page(session, ts, a, where, keys, limit)
        match = _match(session, ts, a)
        tagged = _filters(session, a, tagged=True)
        hits = session.execute(select(Notice.id, Notice.published_at).where(*tagged, match)
                               .limit(COUNT_CAP + 1)).all()
        if len(hits) <= COUNT_CAP:
            return len(hits), page(Notice.id.in_([h.id for h in hits]), *where) if hits else []
        # Many hits: they are a sample of all; the page's last row is at least as new as the
        # sample's n-th newest (n rows of the page and before it), which bounds the walk
        need = (a.page + 1) * a.page_size
        times = sorted((h.published_at for h in hits if h.published_at is not None), reverse=True)
        bound = [Notice.published_at >= times[need - 1]] if need <= len(times) else []
        return len(hits), page(*tagged, match, *bound)

    if a.q and not terms:
        return SearchResult(0, [], args=a)
    count, rows = run(terms or None)
    if terms and count == 0:
        loose = relaxed(terms)
        if loose:
            count, rows = run(loose)
            approximate = count > 0
    return SearchResult(min(count, COUNT_CAP), rows, approximate, count > COUNT_CAP, a)
