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

from sqlalchemy import String, cast, column, func, literal, literal_column, select, table
from sqlalchemy.orm import Session

from core.errors import RuleError
from core.models import Organization
from core.notices import NOTICE_KINDS
from core.services.cjk_search import Term, build_terms, fts_query, pg_query, relaxed
from core.tenancy import snapshot

from .models import Notice

ARGS = {"q", "kind", "region", "purchaser", "date_from", "date_to", "amount_min", "amount_max",
        "page", "page_size"}
COUNT_CAP = 10_000
FTS = table("nh_notice_fts", column("rowid"))


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


def _match(session: Session, terms: list[Term]) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import TSQUERY

        return Notice.search_vector.op("@@")(cast(literal(pg_query(terms), String), TSQUERY))
    return Notice.id.in_(select(FTS.c.rowid).where(
        literal_column("nh_notice_fts").op("MATCH")(literal(fts_query(terms), String))))


def _filters(session: Session, a: SearchArgs) -> list[Any]:
    where: list[Any] = [Notice.status == "published"]
    if a.kind:
        where.append(Notice.kind == a.kind)
    if a.region:
        snap = snapshot()
        where.append(Notice.region_id.in_(sorted(snap.subtree(snap.id_of[a.region]))))
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


def search(session: Session, a: SearchArgs) -> SearchResult:
    where = _filters(session, a)
    terms = build_terms(a.q) if a.q else []
    approximate = False

    def run(extra: list[Any]) -> tuple[int, list[Notice]]:
        base = select(Notice.id).where(*where, *extra)
        n = session.scalar(select(func.count()).select_from(base.limit(COUNT_CAP + 1).subquery())) or 0
        rows = list(session.scalars(select(Notice).where(*where, *extra)
                                    .order_by(Notice.published_at.desc(), Notice.id.desc())
                                    .offset(a.page * a.page_size).limit(a.page_size)))
        return n, rows

    if a.q and not terms:
        return SearchResult(0, [], args=a)
    count, rows = run([_match(session, terms)] if terms else [])
    if terms and count == 0:
        loose = relaxed(terms)
        if loose:
            count, rows = run([_match(session, loose)])
            approximate = count > 0
    return SearchResult(min(count, COUNT_CAP), rows, approximate, count > COUNT_CAP, a)
