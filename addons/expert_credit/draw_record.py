"""The public record of a draw request and its chain of draws (verification page, API and
the draw actions' answers), under the disclosure rules of :mod:`.masking`: the seed, pools
and plans only once disclosed (:func:`seed_disclosed`), expert names only once published."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from addons.procurement_base.models import Project
from core.tenancy import current_scope

from . import draw as algo
from .masking import HIDDEN_NAME, PUBLISHED_STATES, names_visible
from .models import EXCLUSION_REASONS, REQUEST_STATES, Assignment, DrawRequest, Expert


def seed_disclosed(req: DrawRequest, project: Project, scope: Any) -> bool:
    """Whether the seed and everything else that recomputes a draw (each draw's pool and
    plan) may be shown: once the request is closed AND the experts' names are published
    with the award notice (财库〔2016〕198号: names confidential until then); before, only
    the seed's hash. A cancelled request with no draw reveals nothing by its seed. The
    platform admin (and ``erp expert replay-draw``) may verify at any time."""
    if scope.unrestricted:
        return True
    if req.seed_revealed_at is None:
        return False
    if req.status == "cancelled" and not req.draws:
        return True
    return project.award_date is not None and project.status in PUBLISHED_STATES


def request_record(session: Any, req: DrawRequest) -> dict[str, Any]:
    """The public record of a request and its chain of draws (verification page and API):
    the seed, pools and plans only once disclosed (:func:`seed_disclosed`); names per the
    disclosure rules."""
    project = session.execute(select(Project).where(Project.id == req.project_id)
                              .execution_options(erp_unscoped=True)).scalar_one()
    scope = current_scope()
    visible = names_visible(project, scope)
    disclosed = seed_disclosed(req, project, scope)
    status = {a.expert_id: a for a in session.execute(select(Assignment).where(
        Assignment.request_id == req.id).execution_options(erp_unscoped=True)).scalars()}
    codes = dict(session.execute(select(Expert.code, Expert.id).where(
        Expert.id.in_(list(status))).execution_options(erp_unscoped=True)).all()) if status else {}
    draws = []
    for d in req.draws:
        result = []
        for line, code in algo.parse_result(d.result):
            a = status.get(codes.get(code))
            result.append({"line": line, "code": code if visible else None,
                           "expert_name": (a.expert_name if a else "") if visible
                           else HIDDEN_NAME,
                           "reserve": bool(a and a.reserve), "status": a.status if a else None})
        excl = [{"expert_id": x.expert_id if visible else None,
                 "reasons": [EXCLUSION_REASONS.get(r, r) for r in x.reasons.split(",")]}
                for x in d.exclusions]
        draws.append({"id": d.id, "seq": d.seq, "parent_id": d.parent_id, "algorithm": d.algorithm,
                      "pool_hash": d.pool_hash, "pool_size": d.pool_size,
                      "pool": d.pool if disclosed else None,
                      "plan": d.plan if disclosed else None, "needed": d.needed,
                      "drawn": d.drawn_count,
                      "shortfall": d.shortfall, "shortfall_note": d.shortfall_note,
                      "drawn_at": d.drawn_at.isoformat(), "drawn_by": d.drawn_by,
                      "result": result, "exclusions": excl})
    return {"id": req.id, "project_id": req.project_id, "project_number": project.number,
            "project_name": project.name, "review_at": req.review_at.isoformat(),
            "status": req.status, "status_label": REQUEST_STATES[req.status],
            "seed_hash": req.seed_hash,
            "seed": req.seed if disclosed else None,
            "seed_revealed_at": (req.seed_revealed_at.isoformat()
                                 if disclosed and req.seed_revealed_at else None),
            "lines": [{"seq": ln.seq, "catalog_id": ln.catalog_id, "catalog_code": ln.catalog.code,
                       "catalog_name": ln.catalog.name, "count": ln.count, "reserves": ln.reserves}
                      for ln in req.lines],
            "draws": draws}
