"""Evaluations (:func:`submit_evaluation`, :func:`appeal`, :func:`decide_appeal`,
:func:`overdue_evaluations`) and bad records (:func:`record_bad_record`, consequences by
settings)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.models import Project
from addons.procurement_base.services import Errors, RuleError
from core.services import audit, workdays
from core.tenancy import ScopeViolation, current_scope

from ..masking import manages_experts
from ..models import BAD_RECORD_KINDS, BadRecord, Evaluation, Expert
from . import common
from .common import CRITERIA, CRITERIA_LABELS, EVALUATION_FLOW, EXPERT_FLOW, MODULE, TWO, setting
from .score import recompute_score


def criteria_weights(session: Session, region_id: int | None) -> dict[str, int]:
    w = {c: setting(f"criteria_{c}", region_id, session) for c in CRITERIA}
    if sum(w.values()) != 100:
        raise RuleError({"_schema": [f"履职评价权重合计应为 100，当前为 {sum(w.values())}（请在参数设置中调整）"]})
    return w


def total_of(scores: dict[str, Decimal], weights: dict[str, int]) -> Decimal:
    total = sum((Decimal(scores[c]) * weights[c] for c in CRITERIA), Decimal(0)) / 100
    return total.quantize(TWO, ROUND_HALF_UP)


def _scores(raw: dict[str, Any], errors: Errors) -> dict[str, Decimal]:
    out = {}
    for c in CRITERIA:
        v = raw.get(c)
        try:
            d = Decimal(str(v)) if v is not None and not isinstance(v, float | bool) else None
        except ArithmeticError:
            d = None
        if d is None or not d.is_finite() or not 0 <= d <= 100 or d != d.quantize(TWO):
            errors.add(f"score_{c}", f"{CRITERIA_LABELS[c]}得分应为 0 到 100 之间的数（最多两位小数）")
        else:
            out[c] = d
    return out


def _may_evaluate(session: Session, ev: Evaluation) -> None:
    scope = current_scope()
    if scope.unrestricted:
        return
    project = session.execute(select(Project).where(Project.id == ev.project_id)
                              .execution_options(erp_unscoped=True)).scalar_one()
    if scope.actor == "purchaser" and scope.org_id == project.purchaser_id:
        return
    if scope.actor == "agency" and scope.org_id in (project.agency_id,):
        return
    raise ScopeViolation("evaluation", "只有项目的采购人或代理机构可以评价该专家")


def submit_evaluation(session: Session, ev: Evaluation, scores: dict[str, Any],
                      remarks: str | None, *, on: dt.date | None = None, actor: Any = None) -> None:
    on = on or common.today()
    _may_evaluate(session, ev)
    EVALUATION_FLOW.check(ev, "submit")
    errors = Errors()
    values = _scores(scores, errors)
    if on < ev.review_date:
        errors.add("_schema", "评审尚未进行，不能评价")
    errors.raise_if_any()
    weights = criteria_weights(session, ev.region_id)
    for c in CRITERIA:
        setattr(ev, f"score_{c}", values[c])
    ev.total = total_of(values, weights)
    ev.remarks = (remarks or "").strip() or None
    ev.submitted_at = on
    ev.submitted_by = audit.resolve_actor(actor)[0]
    EVALUATION_FLOW.trigger(ev, "submit", actor=actor, session=session, total=ev.total,
                            weights=weights, scores={c: values[c] for c in CRITERIA},
                            late=on > ev.due_date)
    session.flush()
    recompute_score(session, ev.expert_id, on=on, cause=f"履职评价 {ev.id}")


def assert_may_appeal(session: Session, ev: Evaluation) -> None:
    """An expert appeals only their own evaluation."""
    scope = current_scope()
    if scope.actor == "expert":
        own = session.execute(select(Expert.user_id).where(Expert.id == ev.expert_id)
                              .execution_options(erp_unscoped=True)).scalar()
        if own != scope.user_id:
            raise ScopeViolation("evaluation", "只能对本人的评价提出申诉")


def assert_may_decide() -> None:
    """Appeals are decided by expert managers."""
    if not manages_experts():
        raise ScopeViolation("evaluation", "只有专家管理人员可以处理申诉")


def appeal(session: Session, ev: Evaluation, reason: str, *, on: dt.date | None = None,
           actor: Any = None) -> None:
    on = on or common.today()
    assert_may_appeal(session, ev)
    if not (reason or "").strip():
        raise RuleError({"reason": ["请填写申诉理由"]})
    EVALUATION_FLOW.check(ev, "appeal", reason=reason)
    n = setting("appeal_workdays", ev.region_id, session)
    last = workdays.add_working_days(ev.submitted_at, n, session)
    if on > last:
        raise RuleError({"reason": [f"申诉期限已过（评价后 {n} 个工作日，截至 {last.isoformat()}）"]})
    ev.appeal_reason = reason.strip()
    ev.appealed_at = on
    EVALUATION_FLOW.trigger(ev, "appeal", actor=actor, reason=ev.appeal_reason, session=session)


def decide_appeal(session: Session, ev: Evaluation, decision: str, note: str,
                  scores: dict[str, Any] | None = None, *, on: dt.date | None = None,
                  actor: Any = None) -> None:
    """An expert manager decides: ``upheld`` (the evaluation stands) or ``revised``
    (new criteria scores)."""
    on = on or common.today()
    assert_may_decide()
    EVALUATION_FLOW.check(ev, "decide", reason=note or "-")
    errors = Errors()
    if decision not in ("upheld", "revised"):
        errors.add("decision", "处理结果应为 upheld（维持）或 revised（改分）")
    if not (note or "").strip():
        errors.add("note", "请填写处理意见")
    values = _scores(scores or {}, errors) if decision == "revised" else {}
    errors.raise_if_any()
    before_total = ev.total
    if decision == "revised":
        weights = criteria_weights(session, ev.region_id)
        for c in CRITERIA:
            setattr(ev, f"score_{c}", values[c])
        ev.total = total_of(values, weights)
    ev.decision, ev.decision_note, ev.decided_at = decision, note.strip(), on
    EVALUATION_FLOW.trigger(ev, "decide", actor=actor, reason=ev.decision_note, session=session,
                            decision=decision, total_before=before_total, total=ev.total)
    session.flush()
    recompute_score(session, ev.expert_id, on=on, cause=f"申诉处理 {ev.id}")


def overdue_evaluations(session: Session, on: dt.date | None = None) -> list[Evaluation]:
    on = on or common.today()
    return list(session.execute(select(Evaluation).where(
        Evaluation.status == "pending", Evaluation.due_date < on).order_by(Evaluation.due_date))
        .scalars())


# -- bad records ------------------------------------------------------------------------------
def _add_months(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    y, m = d.year + y, m + 1
    import calendar

    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def record_bad_record(session: Session, expert: Expert, kind: str, occurred_on: dt.date | None,
                      evidence: str, *, project: Project | None = None, actor: Any = None,
                      on: dt.date | None = None) -> BadRecord:
    on = on or common.today()
    if not manages_experts():
        raise ScopeViolation("expert", "只有专家管理人员可以登记不良行为记录")
    errors = Errors()
    if kind not in BAD_RECORD_KINDS:
        errors.add("kind", "不良行为类型应为：" + "、".join(BAD_RECORD_KINDS))
    if occurred_on is None:
        errors.add("occurred_on", "请填写发生日期")
    elif occurred_on > on:
        errors.add("occurred_on", "发生日期不能晚于今天")
    if not (evidence or "").strip():
        errors.add("evidence", "请填写事实与证据")
    errors.raise_if_any()
    region = expert.region_id
    dismiss = {k.strip() for k in str(setting("bad_dismiss_kinds", region, session)).split(",")}
    months = setting(f"bad_{kind}_suspend_months", region, session)
    transition, until = None, None
    if expert.status == "dismissed":
        consequence = "专家已解聘（仅记录）"
    elif kind in dismiss:
        transition, consequence = "dismiss", "解聘（不再参加政府采购评审）"
    elif months > 0:
        until = _add_months(on, months)
        if expert.status == "suspended" and expert.suspended_until and expert.suspended_until > until:
            until = expert.suspended_until
        transition, consequence = "suspend", f"暂停抽取至 {until.isoformat()}"
    else:
        consequence = "仅扣减信用分"
    rec = BadRecord(expert_id=expert.id, kind=kind, occurred_on=occurred_on,
                    project_id=project.id if project else None, evidence=evidence.strip(),
                    consequence=consequence, recorded_by=audit.resolve_actor(actor)[0],
                    region_id=region)
    session.add(rec)
    session.flush()
    audit.record(session, action="create", object_type="ec_bad_record", object_id=rec.id,
                 after={"kind": kind, "occurred_on": occurred_on, "consequence": consequence},
                 module=MODULE, region_id=region, actor=actor)
    if transition:
        if until is not None:
            expert.suspended_until = until
        EXPERT_FLOW.trigger(expert, transition, actor=actor, session=session,
                            reason=f"不良行为记录 {rec.id}：{BAD_RECORD_KINDS[kind]}",
                            suspended_until=until)
    recompute_score(session, expert.id, on=on, cause=f"不良行为记录 {rec.id}")
    return rec


def lift_expired_suspensions(session: Session, on: dt.date | None = None) -> int:
    """Suspensions whose date has passed go back to active (audited)."""
    on = on or common.today()
    n = 0
    for e in session.execute(select(Expert).where(Expert.status == "suspended",
                                                  Expert.suspended_until < on)).scalars():
        EXPERT_FLOW.trigger(e, "reinstate", session=session, reason="暂停期满")
        n += 1
    return n
