"""The draw: :func:`perform_draw` (first and further draws, shortfall), :func:`replay`
(verification), :func:`close_request` (reveal); assignments: :func:`respond` (accept /
decline; a reserve steps in)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from addons.procurement_base.models import Project
from addons.procurement_base.services import RuleError
from core.services import audit, workdays
from core.tenancy import ScopeViolation, current_scope

from .. import draw as algo
from ..models import (
    Assignment,
    Draw,
    DrawExclusion,
    DrawRequest,
    DrawRequestLine,
    Evaluation,
    Expert,
)
from . import common
from .common import ASSIGNMENT_FLOW, MODULE, REQUEST_FLOW, module_settings, setting
from .requests import _now, context_for, eligible_pool, exclusions, window_refusal


def _assert_agency(project: Project) -> None:
    scope = current_scope()
    if not (scope.unrestricted or (scope.actor == "agency"
                                   and project.agency_id in (None, scope.org_id))):
        raise ScopeViolation("request", "只有项目的代理机构可以抽取专家")


def assert_extracting_agency(session: Session, req: DrawRequest) -> Project:
    """403 unless the user is the project's agency (or the platform admin / system): who
    may draw and close (:func:`perform_draw`, :func:`close_request`)."""
    project = session.execute(select(Project).where(Project.id == req.project_id)
                              .execution_options(erp_unscoped=True)).scalar_one()
    _assert_agency(project)
    return project


def _lock_request(session: Session, req: DrawRequest) -> None:
    session.execute(select(DrawRequest.id).where(DrawRequest.id == req.id).with_for_update())


def _line_needs(session: Session, req: DrawRequest, first: bool) -> list[tuple[DrawRequestLine, int, int]]:
    """(line, main picks needed, reserve picks needed) for this draw."""
    out = []
    for ln in req.lines:
        if first:
            out.append((ln, ln.count, ln.reserves))
            continue
        active = session.execute(select(func.count(Assignment.id)).where(
            Assignment.request_id == req.id, Assignment.catalog_id == ln.catalog_id,
            Assignment.reserve.is_(False), Assignment.status.in_(("drawn", "accepted")))
        ).scalar_one()
        out.append((ln, max(ln.count - active, 0), 0))
    return out


def perform_draw(session: Session, req: DrawRequest, *, on: dt.date | None = None,
                 actor: Any = None) -> Draw:
    """The first draw of a request, or a further draw (replacing declined experts), in the
    request's chain. Records the ordered pool, its hash, the result, the exclusions with
    their reasons and any shortfall."""
    _lock_request(session, req)
    session.refresh(req)
    REQUEST_FLOW.check(req, "draw")
    project = session.execute(select(Project).where(Project.id == req.project_id)
                              .execution_options(erp_unscoped=True)).scalar_one()
    _assert_agency(project)
    on = on or common.today()
    values = module_settings(session, project.region_id)
    msg = window_refusal(session, project, req.review_date, on, values)
    if msg:
        raise RuleError({"review_at": [msg]})
    first = not req.draws
    needs = _line_needs(session, req, first)
    if not first and not any(n for _, n, _ in needs):
        raise RuleError({"_schema": ["各评审专业人数已满，无需补充抽取"]})
    seq = len(req.draws) + 1
    ctx = context_for(session, req, project, values)
    pools: list[tuple[int, list[tuple[int, int]]]] = []
    excluded: dict[int, set[str]] = {}
    spec: list[tuple[int, list[tuple[int, int]], int]] = []
    code_ids: dict[str, int] = {}
    for ln, main, reserve in needs:
        pool = eligible_pool(session, ctx, ln.catalog_id, code_ids)
        pools.append((ln.seq, pool))
        spec.append((ln.seq, pool, main + reserve))
        for eid, reasons in exclusions(session, ctx, ln.catalog_id).items():
            excluded.setdefault(eid, set()).update(reasons)
    text = algo.pool_text(pools)
    picks = algo.run(bytes.fromhex(req.seed), seq, spec)
    needed = sum(m + r for _, m, r in needs)
    notes = []
    per_line: dict[int, int] = {}
    for line, _ in picks:
        per_line[line] = per_line.get(line, 0) + 1
    for ln, main, reserve in needs:
        got = per_line.get(ln.seq, 0)
        want = main + reserve
        usable = len([e for e, w in dict(pools)[ln.seq] if w > 0])
        if got < want:
            notes.append(f"第 {ln.seq} 行（{ln.catalog.code} {ln.catalog.name}）：符合条件 {usable} 人，"
                         f"需要 {want} 人（其中备选 {reserve} 人），实际抽取 {got} 人，缺 {want - got} 人")
    d = Draw(request_id=req.id, seq=seq, parent_id=req.draws[-1].id if req.draws else None,
             algorithm=algo.ALGORITHM, pool=text, pool_hash=algo.pool_hash(text),
             pool_size=sum(len(p) for _, p in pools), needed=needed, drawn_count=len(picks),
             shortfall=needed - len(picks), shortfall_note="；".join(notes) or None,
             plan="\n".join(f"{line}|{k}" for line, _, k in spec),
             result="\n".join(f"{line}|{code}" for line, code in picks), drawn_at=_now(),
             drawn_by=audit.resolve_actor(actor)[0], region_id=req.region_id)
    session.add(d)
    session.flush()
    if excluded:
        # multi-row INSERT statements (500 rows each): one round trip per chunk instead of
        # one per row (864 exclusions: ~100 ms -> a few ms on PostgreSQL)
        rows = [{"draw_id": d.id, "expert_id": eid, "reasons": ",".join(sorted(r))}
                for eid, r in sorted(excluded.items())]
        if session.get_bind().dialect.name == "postgresql":
            # three array parameters, one statement, whatever the count
            session.execute(sql_text(
                "INSERT INTO ec_draw_exclusion (draw_id, expert_id, reasons) "
                "SELECT :draw_id, e, r FROM unnest(CAST(:experts AS integer[]), "
                "CAST(:reasons AS varchar[])) AS x(e, r)"),
                {"draw_id": d.id, "experts": [r["expert_id"] for r in rows],
                 "reasons": [r["reasons"] for r in rows]})
        else:
            for i in range(0, len(rows), 500):
                session.execute(DrawExclusion.__table__.insert().values(rows[i:i + 500]))
    picks = [(line, code_ids[code]) for line, code in picks]
    names = dict(session.execute(select(Expert.id, Expert.name).where(
        Expert.id.in_([e for _, e in picks])).execution_options(erp_unscoped=True)).all())
    line_of = {ln.seq: ln for ln in req.lines}
    mains = {ln.seq: m for ln, m, _ in needs}
    position = session.execute(select(func.count(Assignment.id)).where(
        Assignment.request_id == req.id)).scalar_one()
    counted: dict[int, int] = {}
    for line, eid in picks:
        counted[line] = counted.get(line, 0) + 1
        position += 1
        session.add(Assignment(
            request_id=req.id, draw_id=d.id, project_id=req.project_id, expert_id=eid,
            catalog_id=line_of[line].catalog_id, position=position,
            reserve=counted[line] > mains[line], review_date=req.review_date,
            expert_name=names.get(eid, ""), status="drawn", region_id=req.region_id))
    session.flush()
    from ..notices import experts_assigned

    experts_assigned(session, req, [eid for _, eid in picks])
    REQUEST_FLOW.trigger(req, "draw", actor=actor, session=session, draw_id=d.id, seq=seq,
                         pool_hash=d.pool_hash, pool_size=d.pool_size, result=d.result,
                         shortfall=d.shortfall, exclusions=len(excluded))
    return d


@dataclass
class ReplayResult:
    draw_id: int
    ok: bool
    message: str


def replay(session: Session, d: Draw) -> ReplayResult:
    """Re-run a recorded draw from its stored pool and the request's seed."""
    req = session.execute(select(DrawRequest).where(DrawRequest.id == d.request_id)
                          .execution_options(erp_unscoped=True)).scalar_one()
    seed = bytes.fromhex(req.seed)
    if algo.seed_hash(seed) != req.seed_hash:
        return ReplayResult(d.id, False, "种子与公布的哈希不符 / seed does not match its published hash")
    if algo.pool_hash(d.pool) != d.pool_hash:
        return ReplayResult(d.id, False, "备选池与记录的哈希不符 / pool does not match its hash")
    if d.algorithm != algo.ALGORITHM:
        return ReplayResult(d.id, False, f"未知算法版本 {d.algorithm}")
    pools = algo.parse_pool(d.pool)
    recorded = algo.parse_result(d.result)
    plan = [tuple(int(x) for x in row.split("|")) for row in (d.plan or "").splitlines() if row]
    spec = [(line, pools.get(line, []), k) for line, k in plan]
    again = algo.run(seed, d.seq, spec)
    if again != recorded:
        return ReplayResult(d.id, False, f"结果不一致：记录 {recorded}，重放 {again}")
    return ReplayResult(d.id, True, f"一致（{len(recorded)} 人，池 {d.pool_size} 人，"
                                    f"pool {d.pool_hash[:12]}…）")


def close_request(session: Session, req: DrawRequest, *, actor: Any = None) -> None:
    """End the request: no further draws. The audit entry names the seed's hash only: the
    seed itself is disclosed with the award notice (``draw_record.seed_disclosed``)."""
    assert_extracting_agency(session, req)
    REQUEST_FLOW.trigger(req, "close", actor=actor, session=session, seed_hash=req.seed_hash)
    req.seed_revealed_at = _now()


def cancel_request(session: Session, req: DrawRequest, reason: str | None, *,
                   actor: Any = None) -> None:
    """Cancel a request nothing was drawn for (its seed is revealed too)."""
    REQUEST_FLOW.trigger(req, "cancel", actor=actor, reason=reason, session=session,
                         seed_hash=req.seed_hash)
    req.seed_revealed_at = _now()


def seed_visible(req: DrawRequest) -> bool:
    return req.seed_revealed_at is not None


# -- assignments -------------------------------------------------------------------------------
def assignment_labels(session: Session, project_id: int | None,
                      request_id: int | None) -> tuple[str, str]:
    """The 采购项目 and 抽取申请 of an assignment as its expert may read them (the expert
    reaches neither record: read unscoped, only the name, review time and place)."""
    project = request = ""
    if project_id is not None:
        row = session.execute(select(Project.number, Project.name).where(
            Project.id == project_id).execution_options(erp_unscoped=True)).first()
        if row is not None:
            project = " ".join(v for v in row if v)
    if request_id is not None:
        req = session.execute(select(DrawRequest.review_at, DrawRequest.review_place).where(
            DrawRequest.id == request_id).execution_options(erp_unscoped=True)).first()
        if req is not None:
            request = f"抽取申请 {request_id}（评审 {req.review_at:%Y-%m-%d %H:%M}"
            request += f"，{req.review_place}）" if req.review_place else "）"
    return project, request


def pending_assignments(session: Session) -> list[Assignment]:
    """The assignments in the user's reach still waiting for an answer (the expert's own)."""
    return list(session.execute(select(Assignment).where(Assignment.status == "drawn")
                                .order_by(Assignment.review_date, Assignment.id)).scalars())


def respond_refusal(session: Session, a: Assignment) -> str | None:
    """Who may answer an assignment: the drawn expert themself, or the agency recording
    their answer (or the platform admin). Returns why another user may not; raises
    ``ScopeViolation`` for an expert answering someone else's assignment."""
    scope = current_scope()
    if scope.unrestricted or scope.actor == "agency":
        return None
    if scope.actor != "expert":
        return "只有专家本人或代理机构可以答复评审任务"
    own = session.execute(select(Expert.user_id).where(Expert.id == a.expert_id)
                          .execution_options(erp_unscoped=True)).scalar()
    if own != scope.user_id:
        raise ScopeViolation("assignment", "只能答复本人的评审任务")
    return None


def respond(session: Session, a: Assignment, accept: bool, *, reason: str | None = None,
            actor: Any = None, on: dt.date | None = None) -> None:
    """The drawn expert (or the agency recording their phone answer) accepts or declines.
    A declined main expert is replaced by the line's first pending reserve."""
    refusal = respond_refusal(session, a)
    if refusal:
        raise ScopeViolation("assignment", refusal)
    ASSIGNMENT_FLOW.trigger(a, "accept" if accept else "decline", actor=actor,
                            reason=(reason or "").strip() or None, session=session)
    a.responded_at = _now()
    a.decline_reason = None if accept else reason.strip()
    if not accept and not a.reserve:
        reserve = session.execute(select(Assignment).where(
            Assignment.request_id == a.request_id, Assignment.catalog_id == a.catalog_id,
            Assignment.reserve.is_(True), Assignment.status.in_(("drawn", "accepted")))
            .order_by(Assignment.position)).scalars().first()
        if reserve is not None:
            reserve.reserve = False
            audit.record(session, action="update", object_type="ec_assignment",
                         object_id=reserve.id, before={"reserve": True}, after={"reserve": False},
                         reason=f"替补拒绝的专家（任务 {a.id}）", module=MODULE,
                         region_id=reserve.region_id, actor=actor)
            if reserve.status == "accepted":
                ensure_evaluation(session, reserve)
    if accept and not a.reserve:
        ensure_evaluation(session, a)
    session.flush()


def ensure_evaluation(session: Session, a: Assignment) -> Evaluation:
    ev = session.execute(select(Evaluation).where(Evaluation.assignment_id == a.id)).scalar()
    if ev is not None:
        return ev
    project = session.execute(select(Project).where(Project.id == a.project_id)
                              .execution_options(erp_unscoped=True)).scalar_one()
    n = setting("evaluation_due_workdays", project.region_id, session)
    ev = Evaluation(assignment_id=a.id, expert_id=a.expert_id, project_id=a.project_id,
                    evaluator_org_id=project.agency_id or project.purchaser_id,
                    review_date=a.review_date,
                    due_date=workdays.add_working_days(a.review_date, n, session),
                    status="pending", region_id=a.region_id)
    session.add(ev)
    return ev
