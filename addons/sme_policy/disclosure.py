"""The annual disclosure of SME set-asides (中小企业预留项目执行情况公开) per competent budget
unit (主管预算单位), computed from the contracts signed in the year (project contracts and
accepted e-mall orders, both ``pb_contract``; purchases recorded elsewhere come through
:data:`EXTRA_AMOUNTS`), reviewed and signed off by the unit, published as a notice by 31 March
of the next year (46号 art. 19 (check)).

How the figures are counted (docs/sme_policy.md):

* a contract belongs to the competent unit above its purchaser (the unit itself when it buys);
* total = every contract signed in the year; suitable = total less the contracts of projects
  marked as not suiting SMEs and of framework agreements (exempt);
* reserved: whole project → the contract; a reserved package → the contract of that package;
  consortium / subcontract → the contract × the project's reserved amount ÷ its budget;
* the supplier's size at the time: the bid's 中小企业声明函 when there is one, else the contract's
  SME label (procurement_base records the supplier's declared size when the contract is made);
* shares: reserved ÷ suitable (target 30 %), small and micro in the reserved amount ÷ reserved
  (target 60 %), SME ÷ total.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy import BigInteger, and_, case, cast, false, func, select, true
from sqlalchemy.orm import Session

from addons.procurement_base.models import Contract, Package, Project
from core.errors import ConflictError, ForbiddenError, RuleError
from core.hooks import Hook
from core.models import Organization
from core.notices import NoticeDraft, submit
from core.services import audit, settings
from core.services.money import fmt_yuan
from core.services.statemachine import StateMachine, Transition
from core.tenancy import current_scope

from .models import DISCLOSURE_STATES, SIZES, SMALL_MICRO, Declaration, Disclosure, DisclosureLine
from .policy import MODULE, measure_label

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
MEASURES = ("whole", "package", "consortium", "subcontract")
SME_SIZES = tuple(SIZES)
SIGNED_STATES = ("signed", "performing", "completed")

settings.declare("sme.disclosure_due", type="str", default="03-31",
                 label_zh="年度公开截止日（月-日，次年）",
                 source="《政府采购促进中小企业发展管理办法》（财库〔2020〕46号）第十九条（check）",
                 module=MODULE)
settings.declare("sme.reminder_days", type="int", default=30,
                 label_zh="截止前多少天开始提醒主管预算单位公开", module=MODULE)

#: purchases not recorded as ``pb_contract`` (e.g. e-mall orders placed but not yet accepted:
#: a module that keeps them implements this; e-mall orders that are accepted are contracts)
EXTRA_AMOUNTS: Hook[Any] = Hook(
    "sme_policy.extra_amounts",
    doc="fn(session, year: int) -> iterable of (purchaser_org_id, size, amount: Decimal): "
        "purchases of that year not recorded as pb_contract, with the supplier's size at the "
        "time ('large', 'medium', 'small', 'micro' or sme_policy.models.SIZES); never a "
        "purchase that also has a contract.",
)


@dataclass
class Figures:
    """A unit's figures for a year (money as Decimal)."""

    total: Decimal = ZERO
    suitable: Decimal = ZERO
    reserved: dict[str, Decimal] = field(default_factory=lambda: {m: ZERO for m in MEASURES})
    reserved_small_micro: Decimal = ZERO
    sme: Decimal = ZERO
    small_micro: Decimal = ZERO
    contracts: int = 0
    #: project_id -> [number, name, measure, contract amount, reserved amount, n, first contract]
    projects: dict[int, list[Any]] = field(default_factory=dict)

    @property
    def reserved_total(self) -> Decimal:
        return sum(self.reserved.values(), ZERO)

    @property
    def reserved_share(self) -> Decimal:
        return share(self.reserved_total, self.suitable)

    @property
    def sme_share(self) -> Decimal:
        return share(self.sme, self.total)

    @property
    def small_micro_share(self) -> Decimal:
        return share(self.reserved_small_micro, self.reserved_total)


def share(part: Decimal, whole: Decimal) -> Decimal:
    if not whole:
        return ZERO
    return (part * HUNDRED / whole).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def _part(fen: int, reserved: Any, budget: Any) -> int:
    """``fen`` × reserved ÷ budget, to the fen (half up): a project's reserved share."""
    if not budget:
        return 0
    value = Decimal(fen) * Decimal(str(reserved or 0)) / Decimal(str(budget))
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


def _money(value: Any) -> Decimal:
    if value is None:
        return ZERO
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# -- the organisation tree -------------------------------------------------------------------
def unit_map(session: Session) -> dict[int, int]:
    """purchaser id -> its competent budget unit's id (the nearest competent unit above it,
    itself for a competent unit). Purchasers with none are left out."""
    rows = session.execute(select(Organization.id, Organization.parent_id, Organization.org_type)
                           .where(Organization.org_type.in_(("purchaser", "competent_unit")))
                           ).all()
    parent = {r.id: r.parent_id for r in rows}
    kind = {r.id: r.org_type for r in rows}
    out: dict[int, int] = {}
    for start in parent:
        node, seen = start, set()
        while node is not None and node not in seen:
            if node in out:
                out[start] = out[node]
                break
            if kind.get(node) == "competent_unit":
                out[start] = node
                break
            seen.add(node)
            node = parent.get(node)
    return out


# -- the computation ---------------------------------------------------------------------------
def _query(year: int, purchaser_ids: Iterable[int] | None) -> Any:
    """Two levels: the contracts of the year grouped by purchaser, project, package and the
    supplier's size at the time (one join: the declaration); then those groups joined with
    their project, package and SME settings and grouped by purchaser, measure, suitability
    and (for reserved measures only) project, with the SME and small-micro amounts as
    conditional sums. Rows: a few per purchaser plus one per reserved project."""
    from .models import ProjectPolicy

    c, p, k, d = (Contract.__table__, Project.__table__, Package.__table__,
                  Declaration.__table__)
    pol = ProjectPolicy.__table__
    size = func.coalesce(d.c.size, c.c.sme_label)
    # amounts in fen as integers: exact sums in SQL and plain int arithmetic in Python
    fen = cast(func.round(c.c.amount * 100), BigInteger)
    inner = (
        select(c.c.purchaser_id, c.c.project_id, c.c.package_id, size.label("size"),
               func.sum(fen).label("amount"), func.count().label("n"),
               func.min(c.c.number).label("first"))
        .select_from(c)
        .outerjoin(d, and_(d.c.package_id == c.c.package_id, d.c.supplier_id == c.c.supplier_id))
        .where(c.c.status.in_(SIGNED_STATES),
               c.c.signed_date >= dt.date(year, 1, 1), c.c.signed_date <= dt.date(year, 12, 31))
        # the size (an expression) first: no index orders the groups, so the database scans
        # the table in storage order instead of hopping through the purchaser index (on
        # SQLite 2-3x faster for a year of contracts)
        .group_by(size, c.c.purchaser_id, c.c.project_id, c.c.package_id)
    )
    if purchaser_ids is not None:
        inner = inner.where(c.c.purchaser_id.in_(list(purchaser_ids)))
    g = inner.subquery("g")
    measure = case(
        (p.c.id.is_(None), "none"),
        (p.c.method == "framework_agreement", "exempt"),
        (p.c.sme_measure == "whole", "whole"),
        (k.c.sme_reserved == true(), "package"),
        (p.c.sme_measure.in_(("consortium", "subcontract")), p.c.sme_measure),
        else_="none")
    suits = case((pol.c.suits_sme == false(), 0), else_=1)
    project_key = case((measure.in_(MEASURES), g.c.project_id), else_=None)

    def part(sizes: tuple[str, ...]) -> Any:
        return func.sum(case((g.c.size.in_(sizes), g.c.amount), else_=0))

    stmt = (
        select(g.c.purchaser_id, measure.label("measure"), suits.label("suits"),
               project_key.label("project_id"),
               func.sum(g.c.amount).label("amount"),
               part(SME_SIZES).label("sme"), part(SMALL_MICRO).label("small_micro"),
               func.sum(g.c.n).label("n"), func.min(g.c.first).label("first"),
               func.max(p.c.number).label("number"), func.max(p.c.name).label("name"),
               func.max(p.c.budget).label("budget"),
               func.max(p.c.sme_reserved_amount).label("reserved_amount"))
        .select_from(g)
        .outerjoin(p, p.c.id == g.c.project_id)
        .outerjoin(k, k.c.id == g.c.package_id)
        .outerjoin(pol, pol.c.project_id == g.c.project_id)
        .group_by(g.c.purchaser_id, measure, suits, project_key)
    )
    return stmt.execution_options(erp_unscoped=True)


def compute_all(session: Session, year: int, *, units: Iterable[int] | None = None,
                with_extra: bool = True) -> dict[int, Figures]:
    """The figures of every competent unit (or of ``units``) for ``year``: one grouped query
    over the contracts, rolled up to the units in Python."""
    owner = unit_map(session)
    wanted = set(units) if units is not None else None
    purchasers = None
    if wanted is not None:
        purchasers = [pid for pid, uid in owner.items() if uid in wanted]
    # per unit, in fen: total, suitable, sme, small-micro, contracts, reserved small-micro,
    # and reserved by measure
    acc: dict[int, list[Any]] = {}
    lines: dict[int, dict[Any, list[Any]]] = defaultdict(dict)
    for row in session.execute(_query(year, purchasers)):
        uid = owner.get(row.purchaser_id)
        if uid is None or (wanted is not None and uid not in wanted):
            continue
        a = acc.get(uid)
        if a is None:
            a = acc[uid] = [0, 0, 0, 0, 0, 0, dict.fromkeys(MEASURES, 0)]
        amount, small = int(row.amount or 0), int(row.small_micro or 0)
        a[0] += amount
        if row.suits and row.measure != "exempt":
            a[1] += amount
        a[2] += int(row.sme or 0)
        a[3] += small
        a[4] += row.n
        if row.measure not in MEASURES:
            continue
        reserved, reserved_small = amount, small
        if row.measure in ("consortium", "subcontract"):
            reserved = _part(amount, row.reserved_amount, row.budget)
            reserved_small = _part(small, row.reserved_amount, row.budget)
        a[6][row.measure] += reserved
        a[5] += reserved_small
        line = lines[uid].get(row.project_id)
        if line is None:
            line = lines[uid][row.project_id] = [row.number or "", row.name or "", row.measure,
                                                 0, 0, 0, row.first]
        line[3] += amount
        line[4] += reserved
        line[5] += row.n
        line[6] = min(line[6], row.first)
    figures: dict[int, Figures] = defaultdict(Figures)
    for uid, a in acc.items():
        f = figures[uid]
        f.total, f.suitable, f.sme, f.small_micro = (_yuan(a[0]), _yuan(a[1]), _yuan(a[2]),
                                                     _yuan(a[3]))
        f.contracts, f.reserved_small_micro = a[4], _yuan(a[5])
        f.reserved = {m: _yuan(v) for m, v in a[6].items()}
        f.projects = {pid: [ln[0], ln[1], ln[2], _yuan(ln[3]), _yuan(ln[4]), ln[5], ln[6]]
                      for pid, ln in lines[uid].items()}
    if with_extra:
        for rows in EXTRA_AMOUNTS.call(None, session, year):
            for purchaser_id, size, amount in rows or ():
                uid = owner.get(purchaser_id)
                if uid is None or (wanted is not None and uid not in wanted):
                    continue
                f = figures[uid]
                amount = _money(amount)
                f.total += amount
                f.suitable += amount
                f.contracts += 1
                if size in SME_SIZES:
                    f.sme += amount
                if size in SMALL_MICRO:
                    f.small_micro += amount
    return dict(figures)


def contract_link(number: str) -> str:
    """The contract's entry on the platform (the contract notice's page when the notices
    module publishes contracts; the contract list searched by its number otherwise)."""
    return f"/contractview/list/?_flt_0_number={quote(number)}" if number else ""


def compute(session: Session, unit_id: int, year: int) -> Figures:
    return compute_all(session, year, units=[unit_id]).get(unit_id, Figures())


def targets(session: Session, region_id: int) -> tuple[Decimal, Decimal]:
    return (settings.get("sme.reserve_percent", region_id, session=session),
            settings.get("sme.small_micro_percent", region_id, session=session))


def due_date(session: Session, year: int, region_id: int | None) -> dt.date:
    text = settings.get("sme.disclosure_due", region_id, session=session)
    try:
        month, day = (int(x) for x in str(text).split("-"))
        return dt.date(year + 1, month, day)
    except ValueError:
        return dt.date(year + 1, 3, 31)


def _check_unit(session: Session, unit: Organization | None) -> Organization:
    if unit is None:
        raise RuleError({"unit": ["请选择主管预算单位"]})
    if unit.org_type != "competent_unit":
        raise RuleError({"unit": [f"“{unit.name}”不是主管预算单位"]})
    scope = current_scope()
    if scope.actor in ("purchaser", "agency", "supplier", "bank", "expert", "public") and \
            scope.org_id != unit.id:
        raise ForbiddenError("只能生成本单位的公开信息")
    return unit


def _check_year(year: Any) -> int:
    if isinstance(year, bool) or not isinstance(year, int):
        try:
            year = int(str(year).strip())
        except ValueError:
            raise RuleError({"year": ["年度应为四位数字，例如 2025"]}) from None
    this = dt.date.today().year
    if year < 2020 or year > this:
        raise RuleError({"year": [f"年度应在 2020 至 {this} 之间"]})
    return year


def _fill(session: Session, item: Disclosure, fig: Figures) -> None:
    item.total_amount = fig.total
    item.suitable_amount = fig.suitable
    item.reserved_whole = fig.reserved["whole"]
    item.reserved_package = fig.reserved["package"]
    item.reserved_consortium = fig.reserved["consortium"]
    item.reserved_subcontract = fig.reserved["subcontract"]
    item.reserved_total = fig.reserved_total
    item.sme_amount = fig.sme
    item.small_micro_amount = fig.small_micro
    item.reserved_share = fig.reserved_share
    item.sme_share = fig.sme_share
    item.small_micro_share = fig.small_micro_share
    item.target_reserved, item.target_small_micro = targets(session, item.region_id)
    item.computed_at = dt.datetime.now().replace(microsecond=0)
    item.lines = [
        DisclosureLine(project_id=pid, project_number=line[0][:50], project_name=line[1][:200],
                       measure=line[2], contract_amount=line[3], reserved_amount=line[4],
                       contract_numbers=f"共 {line[5]} 份合同", link=contract_link(line[6]),
                       region_id=item.region_id)
        for pid, line in sorted(fig.projects.items(), key=lambda kv: kv[1][0])
    ]


def prepare_new(session: Session, item: Disclosure) -> None:
    """Fill a new disclosure (unit and year chosen) from the records; a year without any
    contract of the unit is refused."""
    unit = item.unit if item.unit is not None else (
        session.get(Organization, item.unit_id) if item.unit_id else None)
    unit = _check_unit(session, unit)
    year = _check_year(item.year)
    dup = session.execute(select(Disclosure.id).where(
        Disclosure.unit_id == unit.id, Disclosure.year == year)
        .execution_options(erp_unscoped=True)).first()
    if dup is not None:
        from core.errors import DuplicateError

        raise DuplicateError({"year": [f"“{unit.name}”{year} 年度的公开信息已存在"]})
    fig = compute(session, unit.id, year)
    if not fig.contracts:
        raise RuleError({"year": [f"“{unit.name}”及所属预算单位 {year} 年度没有已签订的合同，"
                                  "无法生成公开信息"]})
    item.unit, item.unit_id, item.year = unit, unit.id, year
    item.region_id = unit.region_id
    item.region = unit.region
    item.status = "draft"
    item.due_date = due_date(session, year, unit.region_id)
    item.shortfall_explanation = (item.shortfall_explanation or "").strip() or None
    _fill(session, item, fig)


def create(session: Session, unit: Organization, year: int,
           explanation: str | None = None) -> Disclosure:
    item = Disclosure(unit=unit, unit_id=unit.id, year=year, shortfall_explanation=explanation)
    prepare_new(session, item)
    session.add(item)
    session.flush()
    audit.record(session, action="create", object_type="sme_disclosure", object_id=item.id,
                 after=_audit_values(item), module=MODULE, region_id=item.region_id)
    return item


def _audit_values(item: Disclosure) -> dict[str, Any]:
    return {"year": item.year, "total_amount": str(item.total_amount),
            "reserved_total": str(item.reserved_total), "sme_amount": str(item.sme_amount),
            "small_micro_amount": str(item.small_micro_amount)}


def recompute(session: Session, item: Disclosure) -> Disclosure:
    if item.status != "draft":
        raise ConflictError(f"公开信息状态为“{DISCLOSURE_STATES[item.status]}”，只有待复核的可以重新计算")
    before = _audit_values(item)
    fig = compute(session, item.unit_id, item.year)
    if not fig.contracts:
        raise RuleError({"year": [f"{item.year} 年度已没有已签订的合同，无法重新计算"]})
    item.lines.clear()
    session.flush()
    _fill(session, item, fig)
    session.flush()
    audit.record(session, action="recompute", object_type="sme_disclosure", object_id=item.id,
                 before=before, after=_audit_values(item), module=MODULE,
                 region_id=item.region_id)
    return item


# -- review, sign-off, publication -------------------------------------------------------------
def is_unit_user(item: Disclosure) -> bool:
    scope = current_scope()
    return scope.unrestricted or scope.org_id == item.unit_id


def actor_refusal(session: Session, item: Disclosure) -> str | None:
    return None if is_unit_user(item) else "只有本主管预算单位可以复核、签发和公开"


def _g_review(item: Disclosure, event: Any) -> str | None:
    if item.below_target and not (item.shortfall_explanation or "").strip():
        return ("预留比例或小微企业比例未达到目标，须先填写未完成目标的原因说明"
                f"（预留 {item.reserved_share}% / 目标 {item.target_reserved}%，"
                f"小微 {item.small_micro_share}% / 目标 {item.target_small_micro}%）")
    return None


FLOW = StateMachine(
    field="status", states=DISCLOSURE_STATES, initial="draft", subject_zh="公开信息",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("review", "draft", "reviewed", guard=_g_review, label_zh="复核通过"),
        Transition("return", "reviewed", "draft", require_reason=True, label_zh="退回重算"),
        Transition("sign", "reviewed", "signed", label_zh="单位签发"),
        Transition("publish", "signed", "published", label_zh="公开"),
    ],
)


def notice_body(item: Disclosure) -> str:
    lines = [
        f"{item.unit.name} {item.year} 年度政府采购预留份额执行情况",
        f"采购总额：{fmt_yuan(item.total_amount)}；适宜由中小企业提供的采购金额："
        f"{fmt_yuan(item.suitable_amount)}。",
        f"预留总额：{fmt_yuan(item.reserved_total)}（整体预留 {fmt_yuan(item.reserved_whole)}，"
        f"设置专门采购包 {fmt_yuan(item.reserved_package)}，要求联合体 "
        f"{fmt_yuan(item.reserved_consortium)}，要求分包 {fmt_yuan(item.reserved_subcontract)}），"
        f"占比 {item.reserved_share}%（目标 {item.target_reserved}%）。",
        f"授予中小企业合同金额：{fmt_yuan(item.sme_amount)}（{item.sme_share}%）；"
        f"授予小微企业合同金额：{fmt_yuan(item.small_micro_amount)}；"
        f"预留份额中小微企业占比 {item.small_micro_share}%（目标 {item.target_small_micro}%）。",
    ]
    if item.shortfall_explanation:
        lines.append(f"未完成目标的原因：{item.shortfall_explanation}")
    lines.append("预留项目：")
    for line in item.lines:
        lines.append(f"{line.project_number} {line.project_name}，{measure_label(line.measure)}，"
                     f"预留金额 {fmt_yuan(line.reserved_amount)}，合同公告：{line.link}")
    return "\n\n".join(lines)


def transition(session: Session, item: Disclosure, name: str, *, reason: str | None = None,
               actor: Any = None, on: dt.date | None = None) -> Any:
    refusal = actor_refusal(session, item)
    if refusal:
        raise ForbiddenError(refusal)
    event = FLOW.trigger(item, name, reason=reason, session=session, actor=actor)
    now = dt.datetime.now().replace(microsecond=0)
    scope = current_scope()
    if name == "review":
        item.reviewed_at = now
    elif name == "sign":
        item.signed_at = now
        user = session.get(_user_model(), scope.user_id) if scope.user_id else None
        item.signed_by = (f"{user.last_name or ''}{user.first_name or ''}".strip() or user.username
                          if user is not None else "系统")[:100]
    elif name == "publish":
        item.published_on = on or dt.date.today()
        ref = submit(session, NoticeDraft(
            kind="sme_disclosure", region_id=item.region_id,
            title=f"{item.unit.name}{item.year}年度中小企业预留项目执行情况公开",
            body=notice_body(item), source="sme_policy.sme_disclosure", source_id=item.id,
            event_date=item.published_on, publisher_org_id=item.unit_id,
            due_date=item.due_date, amount=item.reserved_total,
            data={"year": item.year, "reserved_total": str(item.reserved_total),
                  "sme_amount": str(item.sme_amount),
                  "small_micro_amount": str(item.small_micro_amount)},
            link=f"/smedisclosureview/show/{item.id}"))
        item.notice_link = ref.url if ref is not None else None
    session.flush()
    return event


def _user_model() -> Any:
    from flask_appbuilder.security.sqla.models import User

    return User


# -- who has not published ----------------------------------------------------------------------
def unpublished_units(session: Session, year: int,
                      region_ids: Iterable[int] | None = None) -> list[tuple[Organization, str]]:
    """Competent units (of ``region_ids``; None: all) whose disclosure of ``year`` is not
    published, with where they stand."""
    stmt = select(Organization).where(Organization.org_type == "competent_unit",
                                      Organization.active.is_(True))
    if region_ids is not None:
        stmt = stmt.where(Organization.region_id.in_(list(region_ids)))
    units = session.execute(stmt.order_by(Organization.region_id, Organization.name)).scalars().all()
    states = dict(session.execute(select(Disclosure.unit_id, Disclosure.status).where(
        Disclosure.year == year).execution_options(erp_unscoped=True)).all())
    return [(u, DISCLOSURE_STATES.get(states[u.id], "") if u.id in states else "未生成")
            for u in units if states.get(u.id) != "published"]
