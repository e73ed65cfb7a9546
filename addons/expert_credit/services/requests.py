"""Draw requests (:func:`create_request`: window rule, seed) and eligibility in SQL
(:func:`eligible_pool`, NOT EXISTS; :func:`exclusions` with their reasons)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from addons.procurement_base.models import Bid, CatalogItem, Project
from addons.procurement_base.services import Errors
from core.models import Organization, Region
from core.services import audit, workdays
from core.tenancy import current_scope

from .. import draw as algo
from ..models import (
    EXCLUSION_REASONS,
    Assignment,
    DrawRequest,
    DrawRequestLine,
    Expert,
    ExpertRelation,
    ExpertSpecialty,
)
from . import common
from .common import MODULE, band_weights, module_settings


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=8)


def window_refusal(session: Session, project: Project, review_date: dt.date,
                   on: dt.date, values: dict[str, Any] | None = None) -> str | None:
    """Why a draw on ``on`` for a review on ``review_date`` is refused (None: allowed)."""
    if review_date < on:
        return f"评审日期（{review_date.isoformat()}）已过，不能抽取"
    v = values or module_settings(session, project.region_id)
    exempt = {m.strip() for m in str(v["draw_exempt_methods"] or "").split(",") if m.strip()}
    if project.method in exempt:
        return None
    n = v["draw_window_workdays"]
    earliest_ok = workdays.add_working_days(on, n, session)
    if review_date > earliest_ok:
        return (f"抽取不得早于评审日前 {n} 个工作日：评审日期为 {review_date.isoformat()}，"
                f"最早可于其前 {n} 个工作日内抽取（{on.isoformat()} 起 {n} 个工作日为 "
                f"{earliest_ok.isoformat()}）")
    return None


@dataclass
class LineSpec:
    catalog_id: int
    count: int
    reserves: int = 0


def create_request(session: Session, project: Project, review_at: dt.datetime,
                   lines: Sequence[LineSpec], *, pool_region: Region | None = None,
                   review_place: str | None = None, note: str | None = None,
                   on: dt.date | None = None, actor: Any = None,
                   seed: bytes | None = None) -> DrawRequest:
    """A draw request; the 32-byte seed is fixed now and its SHA-256 published with it."""
    errors = Errors()
    on = on or common.today()
    if project is None:
        errors.add("project", "请选择采购项目")
        errors.raise_if_any()
    scope = current_scope()
    if not scope.unrestricted and scope.actor == "agency" and project.agency_id not in (
            None, scope.org_id):
        errors.add("project", "只有受托的代理机构可以为该项目抽取专家")
    if project.status in ("draft", "terminated", "failed", "completed"):
        errors.add("project", "项目当前状态不能抽取专家")
    if review_at is None:
        errors.add("review_at", "请填写评审时间")
    else:
        msg = window_refusal(session, project, review_at.date(), on)
        if msg:
            errors.add("review_at", msg)
    if not lines:
        errors.add("lines", "请至少填写一个评审专业及人数")
    seen = set()
    for i, ln in enumerate(lines, start=1):
        if session.get(CatalogItem, ln.catalog_id) is None:
            errors.add("lines", f"第 {i} 行：品目不存在")
        if ln.catalog_id in seen:
            errors.add("lines", f"第 {i} 行：品目重复")
        seen.add(ln.catalog_id)
        if not isinstance(ln.count, int) or not 1 <= ln.count <= 50:
            errors.add("lines", f"第 {i} 行：人数应在 1 到 50 之间")
        if not isinstance(ln.reserves, int) or not 0 <= ln.reserves <= 20:
            errors.add("lines", f"第 {i} 行：备选人数应在 0 到 20 之间")
    if pool_region is None:
        pool_region = session.execute(select(Region).where(Region.code == "220000")).scalar_one()
    errors.raise_if_any()
    seed = seed or secrets.token_bytes(32)
    if len(seed) != 32:
        raise ValueError("seed must be 32 bytes")
    req = DrawRequest(project=project, project_id=project.id, region_id=project.region_id,
                      review_at=review_at, review_date=review_at.date(), review_place=review_place,
                      pool_region_id=pool_region.id, seed=seed.hex(), seed_hash=algo.seed_hash(seed),
                      status="open", created_at=_now(), note=note,
                      created_by=audit.resolve_actor(actor)[0])
    for i, ln in enumerate(lines, start=1):
        req.lines.append(DrawRequestLine(seq=i, catalog_id=ln.catalog_id, count=ln.count,
                                         reserves=ln.reserves))
    session.add(req)
    session.flush()
    audit.record(session, action="create", object_type="ec_draw_request", object_id=req.id,
                 after={"project_id": project.id, "review_at": review_at, "seed_hash": req.seed_hash,
                        "lines": [(ln.catalog_id, ln.count, ln.reserves) for ln in lines]},
                 module=MODULE, region_id=req.region_id, actor=actor)
    return req


# -- eligibility (SQL) ---------------------------------------------------------------------
@dataclass
class Targets:
    """The organisations an expert must not be related to: the purchaser and each
    supplier bidding on the project (by id, credit code and name)."""

    purchaser_id: int
    purchaser_code: str | None
    purchaser_name: str
    ids: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def targets_of(session: Session, project: Project) -> Targets:
    purchaser = session.execute(select(Organization).where(Organization.id == project.purchaser_id)
                                .execution_options(erp_unscoped=True)).scalar_one()
    rows = session.execute(
        select(Organization.id, Organization.credit_code, Organization.name)
        .where(Organization.id.in_(select(Bid.supplier_id).where(
            Bid.project_id == project.id, Bid.status != "withdrawn")))
        .execution_options(erp_unscoped=True)).all()
    t = Targets(purchaser.id, purchaser.credit_code, purchaser.name)
    for oid, code, name in [(purchaser.id, purchaser.credit_code, purchaser.name), *rows]:
        t.ids.append(oid)
        if code:
            t.codes.append(code)
        if name:
            t.names.append(name)
    return t


@dataclass
class Context:
    """Everything eligibility depends on, for one request."""

    request_id: int | None
    review_date: dt.date
    pool_regions: list[int]
    #: the pool scope is the whole tree (no region filter needed)
    all_regions: bool
    targets: Targets
    weights: dict[str, int]
    avoid_years: int


def context_for(session: Session, req: DrawRequest, project: Project | None = None,
                values: dict[str, Any] | None = None) -> Context:
    from core.tenancy import load_snapshot

    snap = load_snapshot(session.connection())
    project = project or session.execute(select(Project).where(Project.id == req.project_id)
                                         .execution_options(erp_unscoped=True)).scalar_one()
    v = values or module_settings(session, project.region_id)
    return Context(req.id, req.review_date, sorted(snap.subtree(req.pool_region_id)),
                   snap.parent.get(req.pool_region_id) is None,
                   targets_of(session, project), band_weights(session, project.region_id, v),
                   v["avoid_years"])


def _years_before(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year - years)
    except ValueError:  # 29 February
        return d.replace(year=d.year - years, day=28)


RELATION_REASONS = ("employment", "director", "shareholder", "relative")


def _conditions(ctx: Context, E: Any = None) -> dict[str, list[Any]]:
    """reason -> SQL predicates on ``ec_expert``; any one of them excludes the expert.

    Each predicate is NULL-safe (true or false, never NULL), and an EXISTS never sits inside
    an OR: the eligible query is a plain AND of ``NOT`` predicates, so PostgreSQL turns every
    ``NOT EXISTS`` into an anti-join and SQLite probes an index per candidate."""
    E = Expert.__table__ if E is None else E
    R, A = ExpertRelation.__table__, Assignment.__table__
    ORG = Organization.__table__
    t = ctx.targets
    cutoff = _years_before(ctx.review_date, ctx.avoid_years)
    match = or_(R.c.org_id.in_(t.ids), R.c.org_credit_code.in_(t.codes or [""]),
                R.c.org_name.in_(t.names or [""]))
    recent = or_(R.c.date_to.is_(None), R.c.date_to >= cutoff)
    current = or_(R.c.date_to.is_(None), R.c.date_to >= ctx.review_date)

    def rel(kind: str, when: Any) -> Any:
        return exists(select(R.c.id).where(R.c.expert_id == E.c.id, R.c.kind == kind, match,
                                           when))

    #: every relation rule at once (one anti-join over the relations for the pool query)
    any_relation = exists(select(R.c.id).where(
        R.c.expert_id == E.c.id, match,
        or_(and_(R.c.kind.in_(("employment", "director", "shareholder")), recent),
            and_(R.c.kind == "relative", current))))

    zero_bands = [b for b, w in ctx.weights.items() if w <= 0]
    return {
        "dismissed": [E.c.status == "dismissed"],
        "suspended": [and_(E.c.status == "suspended", E.c.suspended_until.is_(None)),
                      and_(E.c.status == "suspended", E.c.suspended_until.isnot(None),
                           E.c.suspended_until >= ctx.review_date)],
        "failing_score": [E.c.credit_band.in_(zero_bands)] if zero_bands else [],
        "finance_supervisor": [E.c.finance_supervisor.is_(True), exists(
            select(ORG.c.id).where(ORG.c.id == E.c.employer_id, ORG.c.org_type == "finance"))],
        "purchaser_staff": [and_(E.c.employer_id.isnot(None), E.c.employer_id == t.purchaser_id),
                            and_(E.c.employer_name.isnot(None),
                                 E.c.employer_name == t.purchaser_name)],
        "booked": [exists(select(A.c.id).where(
            A.c.expert_id == E.c.id, A.c.review_date == ctx.review_date,
            A.c.status.in_(("drawn", "accepted")),
            A.c.request_id != (ctx.request_id or -1)))],
        "declined": [exists(select(A.c.id).where(A.c.expert_id == E.c.id,
                                                 A.c.request_id == (ctx.request_id or -1)))],
        "employment": [and_(E.c.employer_id.isnot(None), E.c.employer_id.in_(t.ids[1:] or [-1])),
                       rel("employment", recent)],
        "director": [rel("director", recent)],
        "shareholder": [rel("shareholder", recent)],
        "relative": [rel("relative", current)],
        "_any_relation": [any_relation],
    }


def _candidates(ctx: Context, catalog_id: int) -> Any:
    """Experts with the specialty (driven by the specialty index), in the pool scope."""
    E, S = Expert.__table__, ExpertSpecialty.__table__
    crit = E.c.id.in_(select(S.c.expert_id).where(S.c.catalog_id == catalog_id))
    if ctx.all_regions:
        return crit
    return and_(crit, E.c.region_id.in_(ctx.pool_regions))


def _candidate_cte(ctx: Context, catalog_id: int) -> Any:
    """The experts of the specialty in the pool scope, materialised once per statement."""
    E = Expert.__table__
    cte = select(E.c.id, E.c.code, E.c.status, E.c.suspended_until, E.c.credit_band,
                 E.c.finance_supervisor, E.c.employer_id, E.c.employer_name
                 ).where(_candidates(ctx, catalog_id)).cte("ec_candidate")
    return cte.prefix_with("MATERIALIZED", dialect="postgresql")


def eligible_pool(session: Session, ctx: Context, catalog_id: int,
                  ids: dict[str, int] | None = None) -> list[tuple[str, int]]:
    """The eligible pool of one specialty, ``(code, weight)`` sorted by code (byte order,
    in Python: no database collation involved), computed in one SQL statement (NOT EXISTS
    for every avoidance and booking rule). ``ids`` receives code -> expert id."""
    C = _candidate_cte(ctx, catalog_id)
    conds = _conditions(ctx, C)
    # the relation rules are checked at once by ``_any_relation``; their last predicate is
    # the per-kind EXISTS (the employer test of "employment" stays)
    nots = [not_(p) for reason, parts in conds.items()
            for p in (parts[:-1] if reason in RELATION_REASONS else parts)]
    stmt = select(C.c.id, C.c.code, C.c.credit_band).where(*nots)
    rows = session.execute(stmt, execution_options={"erp_unscoped": True}).all()
    if ids is not None:
        ids.update((code, eid) for eid, code, _ in rows)
    return sorted((code, ctx.weights.get(band, 0)) for _, code, band in rows)


def exclusions(session: Session, ctx: Context, catalog_id: int) -> dict[int, list[str]]:
    """Experts of the specialty (in the pool scope) who are excluded, with every reason:
    one statement, a UNION ALL of one semi-join per predicate over the candidates."""
    from sqlalchemy import literal, union_all

    C = _candidate_cte(ctx, catalog_id)
    branches = [select(C.c.id, literal(reason).label("reason")).where(p)
                for reason, parts in _conditions(ctx, C).items() if not reason.startswith("_")
                for p in parts]
    out: dict[int, list[str]] = {}
    order = list(EXCLUSION_REASONS)
    for eid, reason in session.execute(union_all(*branches),
                                       execution_options={"erp_unscoped": True}).all():
        reasons = out.setdefault(eid, [])
        if reason not in reasons:
            reasons.append(reason)
    return {eid: sorted(r, key=order.index) for eid, r in sorted(out.items())}
