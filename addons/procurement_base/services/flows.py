"""The status machines of projects and contracts (:data:`PROJECT_FLOW`, :data:`CONTRACT_FLOW`),
audited through :mod:`core.services.audit`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from core.hooks import Hook
from core.services import audit
from core.services.money import fmt_yuan
from core.services.statemachine import StateMachine, Transition, TransitionError

from ..models import BID_STATES, CONTRACT_STATES, PROJECT_STATES, Bid, Contract, Package, Project
from .common import MODULE, Errors, RuleError, _fmt_date, _unscoped, today
from .contracts import validate_contract
from .projects import _packages_total, mark_winner

#: extension point: other modules refuse a project's transition for their own rules (e.g.
#: ``sme_policy``: the SME set-aside is checked at publication, a reserved package needs three
#: SME bids at bid opening). Runs after procurement_base's own guard, where the implementing
#: module is enabled for the project's region.
PROJECT_GUARDS = Hook(
    "procurement_base.project_guards",
    doc="fn(session, project, transition: str) -> str | None: the refusal shown as the "
        "transition's guard message (422 guard_refused), or None to allow; change nothing.",
)


def _hooked(name: str) -> Any:
    """The guard that asks :data:`PROJECT_GUARDS` about transition ``name``."""

    def guard(p: Project, event: Any) -> str | None:
        session = _session_of(p, event)
        for refusal in PROJECT_GUARDS.call(p.region_id, session, p, name):
            if refusal:
                return refusal
        return None

    guard.__name__ = f"project_guards_{name}"
    return guard


def _session_of(obj: Any, event: Any = None) -> Session:
    session = (event.ctx.get("session") if event is not None else None) or object_session(obj)
    if session is None:
        raise RuntimeError("the document is in no session")
    return session


def _g_publish(p: Project, event: Any) -> str | None:
    session = _session_of(p, event)
    if not p.packages:
        return "项目至少需要一个采购包才能发布"
    total = _packages_total(session, p.id)
    if total > p.budget:
        return f"各采购包预算合计 {fmt_yuan(total)} 超过项目预算 {fmt_yuan(p.budget)}"
    if p.notice_date is None:
        return "请填写公告日期"
    if p.bid_deadline is not None and p.bid_deadline.date() < p.notice_date:
        return "投标截止时间不能早于公告日期"
    return None


def _g_open(p: Project, event: Any) -> str | None:
    if p.opening_date is None:
        return "请填写开标日期"
    if p.notice_date and p.opening_date < p.notice_date:
        return f"开标日期（{_fmt_date(p.opening_date)}）不能早于公告日期（{_fmt_date(p.notice_date)}）"
    if p.bid_deadline and p.opening_date < p.bid_deadline.date():
        return f"开标日期（{_fmt_date(p.opening_date)}）不能早于投标截止时间（{_fmt_date(p.bid_deadline)}）"
    session = _session_of(p, event)
    # the bids are sealed until this very moment (core.tenancy SecretUntil): opening counts
    # them unscoped, for a project the user may move
    n = session.execute(_unscoped(select(func.count(Bid.id)).join(
        Package, Bid.package_id == Package.id).where(
        Package.project_id == p.id, Bid.status == "submitted"))).scalar_one()
    if not n:
        return "没有有效投标，不能开标（可执行“废标”）"
    return None


def _g_evaluate(p: Project, event: Any) -> str | None:
    session = _session_of(p, event)
    n = session.execute(select(func.count(Bid.id)).join(Package, Bid.package_id == Package.id).where(
        Package.project_id == p.id, Bid.status.in_(("submitted", "won")))).scalar_one()
    return None if n else "没有有效投标，不能评审（可执行“废标”）"


def _g_award(p: Project, event: Any) -> str | None:
    session = _session_of(p, event)
    won = session.execute(select(func.count(Bid.id)).join(Package, Bid.package_id == Package.id).where(
        Package.project_id == p.id, Bid.status == "won")).scalar_one()
    if not won:
        return "尚未确定中标供应商（至少一个采购包须有中标投标）"
    if p.award_date is None:
        return "请填写中标日期"
    if p.opening_date is None or p.award_date < p.opening_date:
        return f"中标日期（{_fmt_date(p.award_date)}）不能早于开标日期（{_fmt_date(p.opening_date)}）"
    if p.award_date > today():
        return "中标日期不能晚于今天"
    return None


def _g_contract(p: Project, event: Any) -> str | None:
    session = _session_of(p, event)
    signed = first_signing(session, p)
    if signed is None:
        return "项目尚无已签订的合同"
    if p.contract_date is None:
        return "请填写合同签订日期"
    if p.award_date and p.contract_date < p.award_date:
        return f"合同签订日期（{_fmt_date(p.contract_date)}）不能早于中标日期（{_fmt_date(p.award_date)}）"
    return None


def first_signing(session: Session, p: Project) -> dt.date | None:
    """The earliest signing date of the project's signed contracts."""
    return session.execute(select(func.min(Contract.signed_date)).where(
        Contract.project_id == p.id, Contract.status.in_(("signed", "performing", "completed")))
    ).scalar_one()


def _g_complete(p: Project, event: Any) -> str | None:
    session = _session_of(p, event)
    states = session.execute(select(Contract.status).where(Contract.project_id == p.id)).scalars().all()
    open_ = [s for s in states if s not in ("completed", "terminated")]
    if open_:
        return f"还有 {len(open_)} 个合同未履行完毕"
    if "completed" not in states:
        return "项目尚无履行完毕的合同"
    return None


PROJECT_FLOW = StateMachine(
    field="status",
    states=PROJECT_STATES,
    initial="draft",
    subject_zh="采购项目",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("publish", "draft", "published", guard=(_g_publish, _hooked("publish")), label_zh="发布公告"),
        Transition("open_bidding", "published", "bidding", guard=(_g_open, _hooked("open_bidding")), label_zh="开标"),
        Transition("evaluate", "bidding", "evaluated", guard=(_g_evaluate, _hooked("evaluate")), label_zh="完成评审"),
        Transition("award", "evaluated", "awarded", guard=(_g_award, _hooked("award")), label_zh="确定中标"),
        Transition("contract", "awarded", "contracted", guard=(_g_contract, _hooked("contract")), label_zh="签订合同"),
        Transition("complete", "contracted", "completed", guard=(_g_complete, _hooked("complete")), label_zh="项目完成"),
        Transition("terminate", ("draft", "published", "bidding", "evaluated", "awarded", "contracted"),
                   "terminated", require_reason=True, label_zh="终止"),
        Transition("fail", ("published", "bidding", "evaluated"), "failed", require_reason=True,
                   label_zh="废标"),
    ],
)
#: the date a transition records, and whether it defaults to today
PROJECT_DATES = {"publish": "notice_date", "open_bidding": "opening_date", "award": "award_date",
                 "contract": "contract_date"}


def transition_project(session: Session, project: Project, name: str, *, on: dt.date | None = None,
                       reason: str | None = None, winning_bids: Iterable[int] | None = None,
                       actor: Any = None) -> Any:
    """Move a project by a named transition (audited). ``on`` is the date the transition
    records (公告日期、开标日期、中标日期、合同签订日期; default: the date already entered, else
    today; for "contract" the earliest signing date). ``winning_bids`` (award): the ids of
    the bids that win, one per package. On refusal nothing changes and the
    :class:`~core.services.statemachine.TransitionError` (409/422) or :class:`RuleError`
    (422) propagates."""
    winning_bids = list(winning_bids) if winning_bids is not None else None
    date_field = PROJECT_DATES.get(name)
    saved = {date_field: getattr(project, date_field)} if date_field else {}
    saved_bids: dict[Bid, str] = {}
    try:
        if date_field and on is not None:
            setattr(project, date_field, on)
        elif date_field and getattr(project, date_field) is None:
            default = first_signing(session, project) if name == "contract" else today()
            setattr(project, date_field, default)
        if name == "award" and winning_bids is not None:
            if project.status != "evaluated":
                PROJECT_FLOW.check(project, name)  # raises the state error (409)
            _apply_winners(session, project, winning_bids, saved_bids)
        ctx: dict[str, Any] = {"on": getattr(project, date_field) if date_field else None}
        if winning_bids is not None:
            ctx["winning_bids"] = list(winning_bids)
        event = PROJECT_FLOW.trigger(project, name, actor=actor, reason=reason, session=session,
                                     **ctx)
    except (TransitionError, RuleError):
        for key, value in saved.items():
            setattr(project, key, value)
        for bid, status in saved_bids.items():
            bid.status = status
        raise
    if name == "award":
        for bid in session.execute(select(Bid).join(Package, Bid.package_id == Package.id).where(
                Package.project_id == project.id, Bid.status == "submitted")).scalars():
            bid.status = "lost"
    from .public_notices import project_moved

    project_moved(session, project, name)
    return event


def _apply_winners(session: Session, project: Project, ids: Iterable[int],
                   saved: dict[Bid, str]) -> None:
    errors = Errors()
    seen_packages: set[int] = set()
    for raw in ids:
        bid = session.get(Bid, raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
        if bid is None or bid.package.project_id != project.id:
            errors.add("winning_bids", f"投标 {raw} 不存在或不属于本项目")
            continue
        if bid.package_id in seen_packages:
            errors.add("winning_bids", f"采购包“{bid.package.name}”只能确定一个中标投标")
            continue
        seen_packages.add(bid.package_id)
        if bid.status not in ("submitted", "won"):
            errors.add("winning_bids", f"“{bid.supplier.name}”的投标状态为“{BID_STATES.get(bid.status)}”，"
                                       "不能确定为中标")
    errors.raise_if_any()
    for raw in ids:
        bid = session.get(Bid, raw)
        for other in session.execute(select(Bid).where(Bid.package_id == bid.package_id)).scalars():
            saved.setdefault(other, other.status)
        mark_winner(session, bid)


def _g_sign(c: Contract, event: Any) -> str | None:
    session = _session_of(c, event)
    if c.signed_date is None:
        return "请填写合同签订日期"
    if c.signed_date > today():
        return "合同签订日期不能晚于今天"
    try:
        validate_contract(session, c)
    except RuleError as exc:
        return "；".join(m for msgs in exc.messages.values() for m in msgs)
    return None


CONTRACT_FLOW = StateMachine(
    field="status",
    states=CONTRACT_STATES,
    initial="draft",
    subject_zh="合同",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("sign", "draft", "signed", guard=_g_sign, label_zh="签订"),
        Transition("perform", "signed", "performing", label_zh="开始履行"),
        Transition("complete", ("signed", "performing"), "completed", label_zh="履行完毕"),
        Transition("terminate", ("draft", "signed", "performing"), "terminated",
                   require_reason=True, label_zh="终止"),
    ],
)


def transition_contract(session: Session, contract: Contract, name: str, *,
                        on: dt.date | None = None, reason: str | None = None,
                        actor: Any = None) -> Any:
    """Move a contract by a named transition (audited); ``on`` is the signing date (sign)."""
    saved = contract.signed_date
    if name == "sign":
        if on is not None:
            contract.signed_date = on
        elif contract.signed_date is None:
            contract.signed_date = today()
    try:
        event = CONTRACT_FLOW.trigger(contract, name, actor=actor, reason=reason, session=session,
                                      on=contract.signed_date if name == "sign" else None)
    except TransitionError:
        contract.signed_date = saved
        raise
    from .public_notices import contract_moved

    contract_moved(session, contract, name)
    return event


def transitions_from(machine: StateMachine, obj: Any) -> list[Transition]:
    """The transitions declared from the document's current state (for buttons)."""
    state = machine.get_state(obj)
    return [t for t in machine.transitions if t.allows_from(state)]


#: transition -> (the date it records, its label), per machine
TRANSITION_DATES: dict[int, dict[str, tuple[str, str]]] = {
    id(PROJECT_FLOW): {"publish": ("notice_date", "公告日期"), "open_bidding": ("opening_date", "开标日期"),
                       "award": ("award_date", "中标日期"), "contract": ("contract_date", "合同签订日期")},
    id(CONTRACT_FLOW): {"sign": ("signed_date", "签订日期")},
}


def transition_options(machine: StateMachine, obj: Any, session: Session) -> list[dict[str, Any]]:
    """One entry per transition from the current status: whether it would pass now and why
    not. A date not yet entered is tried with the date the transition would propose
    (today; for "contract" the earliest signing), as the forms do; nothing is changed."""
    dates = TRANSITION_DATES.get(id(machine), {})
    out = []
    for t in transitions_from(machine, obj):
        field, label = dates.get(t.name, (None, None))
        current = getattr(obj, field) if field else None
        proposed = None
        if field:
            proposed = current or (first_signing(session, obj) if t.name == "contract" else None) or today()
        with session.no_autoflush:
            if field and current is None:
                setattr(obj, field, proposed)
            try:
                machine.check(obj, t.name, reason="-", session=session)
                allowed, refusal = True, None
            except TransitionError as exc:
                allowed, refusal = False, exc.message
            finally:
                if field and current is None:
                    setattr(obj, field, None)
        out.append({"name": t.name, "label": t.label, "allowed": allowed, "refusal": refusal,
                    "require_reason": t.require_reason, "date_field": field, "date_label": label,
                    "date_value": proposed.isoformat() if proposed else None})
    return out
