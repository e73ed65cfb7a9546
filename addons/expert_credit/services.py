"""Business rules of ``expert_credit``, as plain Python on a SQLAlchemy ``Session``.

* registry: :func:`validate_expert`, :func:`validate_relation`, :func:`validate_specialty`;
  relation changes are audited (``after_flush`` listener);
* draws: :func:`create_request` (window rule, seed), :func:`eligible_pool` (SQL, NOT
  EXISTS), :func:`exclusions` (SQL, reasons), :func:`perform_draw` (first and further
  draws, shortfall), :func:`replay` (verification), :func:`close_request` (reveal);
* assignments: :func:`respond` (accept / decline; a reserve steps in);
* evaluations: :func:`submit_evaluation`, :func:`appeal`, :func:`decide_appeal`,
  :func:`overdue_evaluations`;
* bad records: :func:`record_bad_record` (consequences by settings);
* credit score: :func:`compute_score`, :func:`recompute_score`.

Every refusal is a :class:`RuleError` (422, ``{field: [Chinese message]}``) or a
:class:`~core.services.statemachine.TransitionError` (409/422); nothing is written then.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import and_, exists, func, not_, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from addons.procurement_base.models import Bid, CatalogItem, Project
from addons.procurement_base.services import DuplicateError, Errors, RuleError, today
from core.models import Organization, Region
from core.services import audit, settings, workdays
from core.services.statemachine import StateMachine, Transition, TransitionError
from core.tenancy import SYSTEM, ScopeViolation, current_scope, use_scope

from . import draw as algo
from .models import (
    ASSIGNMENT_STATES,
    BAD_RECORD_KINDS,
    EVALUATION_STATES,
    EXCLUSION_REASONS,
    EXPERT_STATES,
    RELATION_KINDS,
    REQUEST_STATES,
    Assignment,
    BadRecord,
    CreditScore,
    Draw,
    DrawExclusion,
    DrawRequest,
    DrawRequestLine,
    Evaluation,
    Expert,
    ExpertRelation,
    ExpertSpecialty,
)

MODULE = "expert_credit"
MANAGER_ROLE = "专家管理"
HIDDEN_NAME = "（评审结果公告前保密）"
PUBLISHED_STATES = ("awarded", "contracted", "completed")
TWO = Decimal("0.01")

__all__ = ["DuplicateError", "RuleError", "TransitionError"]

# -- state machines (every transition audited, strict) ------------------------------------
_HOOK = audit.transition_hook(module=MODULE)
REQUEST_FLOW = StateMachine(field="status", states=REQUEST_STATES, initial="open",
                            subject_zh="抽取申请", on_transition=_HOOK, transitions=[
    Transition("draw", ("open", "drawn"), "drawn", label_zh="抽取"),
    Transition("close", "drawn", "closed", label_zh="结束抽取并公开种子"),
    Transition("cancel", "open", "cancelled", require_reason=True, label_zh="取消"),
])
ASSIGNMENT_FLOW = StateMachine(field="status", states=ASSIGNMENT_STATES, initial="drawn",
                               subject_zh="评审任务", on_transition=_HOOK, transitions=[
    Transition("accept", "drawn", "accepted", label_zh="接受"),
    Transition("decline", "drawn", "declined", require_reason=True, label_zh="拒绝"),
])
EVALUATION_FLOW = StateMachine(field="status", states=EVALUATION_STATES, initial="pending",
                               subject_zh="履职评价", on_transition=_HOOK, transitions=[
    Transition("submit", "pending", "submitted", label_zh="提交评价"),
    Transition("appeal", "submitted", "appealed", require_reason=True, label_zh="申诉"),
    Transition("decide", "appealed", "decided", require_reason=True, label_zh="处理申诉"),
])
EXPERT_FLOW = StateMachine(field="status", states=EXPERT_STATES, initial="active",
                           subject_zh="评审专家", on_transition=_HOOK, transitions=[
    Transition("suspend", ("active", "suspended"), "suspended", require_reason=True,
               label_zh="暂停"),
    Transition("dismiss", ("active", "suspended"), "dismissed", require_reason=True,
               label_zh="解聘"),
    Transition("reinstate", "suspended", "active", label_zh="恢复"),
])


# -- settings ------------------------------------------------------------------------------
_S = "《政府采购评审专家管理办法》（财库〔2016〕198号）"


def _declare(key: str, type_: str, default: Any, label: str, help_: str = "",
             source: str = "平台评分模型（无官方评分模型，平台自定，可按地区调整）") -> None:
    settings.declare(f"expert.{key}", type=type_, default=default, label_zh=label,
                     help_zh=help_, source=source, module=MODULE)


_declare("draw_window_workdays", "int", "2", "抽取时间窗口（评审前工作日数）",
         "抽取不得早于评审日前该数量的工作日（谈判类采购方式除外）。", f"{_S}（check：来源为二手资料）")
_declare("draw_exempt_methods", "str", "competitive_negotiation,competitive_consultation,single_source",
         "不受抽取时间窗口限制的采购方式", "逗号分隔的采购方式代码（谈判类）。", f"{_S}（check）")
_declare("avoid_years", "int", "3", "回避年限（年）",
         "评审前该年数内曾在供应商或采购人任职、任董事监事高管或为控股股东的专家须回避。", _S)
_declare("weight_excellent", "int", "12", "抽取权重：优秀", "整数相对权重。")
_declare("weight_good", "int", "10", "抽取权重：良好", "整数相对权重。")
_declare("weight_pass", "int", "6", "抽取权重：合格", "整数相对权重。")
_declare("weight_new", "int", "10", "抽取权重：暂无评价（新入库专家）", "整数相对权重。")
_declare("band_excellent", "decimal", "85", "信用等级“优秀”下限（分）")
_declare("band_good", "decimal", "75", "信用等级“良好”下限（分）")
_declare("band_pass", "decimal", "60", "信用等级“合格”下限（分）；低于此分为不合格，不参与抽取")
_declare("criteria_ethics", "int", "20", "履职评价权重：职业道德（%）")
_declare("criteria_competence", "int", "50", "履职评价权重：专业能力（%）")
_declare("criteria_discipline", "int", "20", "履职评价权重：评审纪律（%）")
_declare("criteria_integrity", "int", "10", "履职评价权重：廉洁自律（%）")
_declare("evaluation_due_workdays", "int", "5", "履职评价期限（评审后工作日数）",
         "采购人或代理机构应在评审结束后该数量的工作日内完成评价。", f"{_S}（check）")
_declare("appeal_workdays", "int", "10", "专家申诉期限（评价后工作日数）")
_declare("score_window_days", "int", "730", "信用分统计窗口（天）")
_declare("score_half_life_days", "int", "365", "评价分时间衰减半衰期（天）")
_declare("score_initial", "decimal", "80", "无评价时的基础分")
BAD_DEFAULTS = {  # kind: (penalty points, suspension months)
    "not_independent": (20, 6), "leak": (30, 12), "no_withdrawal": (30, 12),
    "improper_benefit": (100, 0), "false_material": (100, 0), "refuse_assist": (15, 3),
    "damage_credibility": (20, 6),
}
for _kind, (_pen, _months) in BAD_DEFAULTS.items():
    _declare(f"bad_{_kind}_penalty", "int", str(_pen), f"不良记录扣分：{BAD_RECORD_KINDS[_kind][:20]}",
             "统计窗口内每条记录扣减的分数。", _S)
    _declare(f"bad_{_kind}_suspend_months", "int", str(_months),
             f"不良记录暂停抽取月数：{BAD_RECORD_KINDS[_kind][:20]}", "0 表示不暂停。", _S)
_declare("bad_dismiss_kinds", "str", "improper_benefit,false_material", "直接解聘的不良记录类型",
         "逗号分隔的不良记录类型代码。", _S)

CRITERIA = ("ethics", "competence", "discipline", "integrity")
CRITERIA_LABELS = {"ethics": "职业道德", "competence": "专业能力", "discipline": "评审纪律",
                   "integrity": "廉洁自律"}


def setting(key: str, region_id: int | None, session: Session) -> Any:
    return settings.get(f"expert.{key}", region_id, session)


def module_settings(session: Session, region_id: int | None) -> dict[str, Any]:
    """Every ``expert.*`` setting for a region, in one query (key without the prefix)."""
    return {k[len("expert."):]: r.value for k, r in settings.resolve_all(region_id, session).items()
            if k.startswith("expert.")}


def band_weights(session: Session, region_id: int | None,
                 values: dict[str, Any] | None = None) -> dict[str, int]:
    v = values or module_settings(session, region_id)
    return {"excellent": v["weight_excellent"], "good": v["weight_good"],
            "pass": v["weight_pass"], "new": v["weight_new"], "fail": 0}


def band_of(score: Decimal | None, session: Session, region_id: int | None) -> str:
    if score is None:
        return "new"
    if score >= setting("band_excellent", region_id, session):
        return "excellent"
    if score >= setting("band_good", region_id, session):
        return "good"
    if score >= setting("band_pass", region_id, session):
        return "pass"
    return "fail"


# -- who may see what ----------------------------------------------------------------------
MANAGE_PERMISSION = ("can_manage", "EcExpert")


def _has_permission(permission: str, view_menu: str) -> bool:
    from flask import has_request_context

    if not has_request_context():
        return False
    from core.security import current_erp_user

    user = current_erp_user()
    for role in getattr(user, "roles", ()) or ():
        for pv in role.permissions:
            if pv.permission.name == permission and pv.view_menu.name == view_menu:
                return True
    return False


def manages_experts(scope: Any = None) -> bool:
    """Platform admin, CLI/system, or a user granted ``can_manage on EcExpert`` (the
    专家管理 role): may see full ID numbers, edit profiles, record bad records, decide
    appeals."""
    scope = scope or current_scope()
    if scope.unrestricted:
        return True
    return _has_permission(*MANAGE_PERMISSION)


def names_visible(project: Project | None, scope: Any = None) -> bool:
    """Expert names are hidden from purchasers and suppliers until the award notice is
    published; the extracting agency, expert managers and supervisors see them."""
    scope = scope or current_scope()
    if scope.unrestricted or scope.actor in ("agency", "finance", "region") or manages_experts(scope):
        return True
    if project is None:
        return False
    return project.award_date is not None and project.status in PUBLISHED_STATES


# -- registry --------------------------------------------------------------------------------
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str | None) -> str | None:
    """The Chinese message when ``value`` is not an 18-character resident ID (GB 11643)."""
    v = (value or "").strip().upper()
    if len(v) != 18 or not v[:17].isdigit() or not (v[17].isdigit() or v[17] == "X"):
        return "身份证号码应为 18 位（前 17 位为数字，末位为数字或 X）"
    try:
        dt.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return "身份证号码中的出生日期无效"
    if id_check_char(v[:17]) != v[17]:
        return f"身份证号码校验位应为“{id_check_char(v[:17])}”，实际为“{v[17]}”"
    return None


def validate_expert(session: Session, e: Expert) -> None:
    errors = Errors()
    e.name = (e.name or "").strip()
    if not e.name:
        errors.add("name", "请填写专家姓名")
    msg = validate_id_number(e.id_number)
    if msg:
        errors.add("id_number", msg)
    else:
        e.id_number = e.id_number.strip().upper()
        dup = session.execute(select(Expert.id).where(Expert.id_number == e.id_number)
                              .execution_options(erp_unscoped=True)).scalar()
        if dup is not None and dup != e.id:
            errors.add("id_number", "该身份证号码的专家已在库中", duplicate=True)
    if e.status not in ("active", "suspended", "dismissed"):
        errors.add("status", "状态应为 active、suspended 或 dismissed")
    if e.status == "suspended" and e.suspended_until is None:
        errors.add("suspended_until", "暂停状态须填写暂停截止日期")
    if e.title_years is not None and not 0 <= e.title_years <= 70:
        errors.add("title_years", "从业年限应在 0 到 70 之间")
    if e.employer_id is not None or e.employer is not None:
        emp = e.employer or session.get(Organization, e.employer_id)
        if emp is not None:
            e.employer_name = emp.name
            if emp.org_type == "finance":
                e.finance_supervisor = True
    if not e.code:
        e.code = next_code(session)
    elif not re.fullmatch(r"[A-Z0-9]{4,16}", e.code):
        errors.add("code", "专家编号应为 4 到 16 位大写字母或数字")
    if e.finance_supervisor is None:
        e.finance_supervisor = False
    if not e.credit_band:
        e.credit_band = "new"
    errors.raise_if_any()


def next_code(session: Session) -> str:
    """The next registration number "ZJ" + 7 digits (unique constraint guards races: 409)."""
    codes = session.execute(select(Expert.code).where(Expert.code.like("ZJ%"))
                            .execution_options(erp_unscoped=True)).scalars().all()
    n = max((int(c[2:]) for c in codes if c[2:].isdigit()), default=0)
    return f"ZJ{n + 1:07d}"


def _own_profile_check(session: Session, expert: Expert | None, field_: str = "expert") -> None:
    """An expert may only change their own profile's relations and specialties."""
    scope = current_scope()
    if scope.actor == "expert" and (expert is None or expert.user_id != scope.user_id):
        raise ScopeViolation(field_, "只能维护本人的专家档案")


def _same_region(errors: Errors, obj: Any, expert: Expert) -> None:
    """A specialty or relation lives in its expert's region (filled in when left out)."""
    region = obj.__dict__.get("region")
    given = region.id if region is not None else obj.region_id
    if given is not None and given != expert.region_id:
        errors.add("region", "所属地区随专家确定，应与专家的所属地区一致（可不填）")
    obj.region_id = expert.region_id
    if region is not None and region.id != expert.region_id:
        obj.region = None


def validate_relation(session: Session, r: ExpertRelation) -> None:
    errors = Errors()
    expert = r.expert or (session.get(Expert, r.expert_id) if r.expert_id else None)
    if expert is None:
        errors.add("expert", "请选择专家")
        errors.raise_if_any()
    _own_profile_check(session, expert)
    _same_region(errors, r, expert)
    if r.kind not in RELATION_KINDS:
        errors.add("kind", "关系类型应为：" + "、".join(f"{k}（{v}）" for k, v in RELATION_KINDS.items()))
    org = r.org or (session.get(Organization, r.org_id) if r.org_id else None)
    code = (r.org_credit_code or "").strip().upper() or None
    if org is None and code:
        org = session.execute(select(Organization).where(Organization.credit_code == code)).scalar()
    if org is not None:
        r.org, r.org_id = org, org.id
        r.org_credit_code = org.credit_code
        r.org_name = org.name
    else:
        if code:
            from core.services.credit_code import CreditCodeError, validate

            try:
                code = validate(code)
            except CreditCodeError as exc:
                errors.add("org_credit_code", str(exc))
        r.org_credit_code = code
        r.org_name = (r.org_name or "").strip()
        if not r.org_name:
            errors.add("org_name", "请选择单位，或填写单位名称（及统一社会信用代码）")
    if r.date_from and r.date_to and r.date_to < r.date_from:
        errors.add("date_to", "结束日期不能早于开始日期")
    errors.raise_if_any()


def validate_specialty(session: Session, s: ExpertSpecialty) -> None:
    errors = Errors()
    expert = s.expert or (session.get(Expert, s.expert_id) if s.expert_id else None)
    if expert is None:
        errors.add("expert", "请选择专家")
    if s.catalog is None and s.catalog_id is None:
        errors.add("catalog", "请选择品目")
    errors.raise_if_any()
    _own_profile_check(session, expert)
    _same_region(errors, s, expert)
    cat_id = s.catalog.id if s.catalog is not None else s.catalog_id
    dup = session.execute(select(ExpertSpecialty.id).where(
        ExpertSpecialty.expert_id == expert.id, ExpertSpecialty.catalog_id == cat_id)).scalar()
    if dup is not None and dup != s.id:
        errors.add("catalog", "该专家已有此评审专业", duplicate=True)
    errors.raise_if_any()


RELATION_AUDIT_KEYS = ("expert_id", "kind", "org_id", "org_credit_code", "org_name", "detail",
                       "date_from", "date_to")


def audit_relation_changes(session: Session, flush_context: Any) -> None:
    """``after_flush``: every created, changed or deleted relation is audited."""
    objs = [o for o in (*session.new, *session.dirty, *session.deleted)
            if isinstance(o, ExpertRelation)]
    if not objs:
        return
    from sqlalchemy import inspect

    conn = session.connection()
    for obj in objs:
        state = inspect(obj)
        values = {k: state.dict.get(k) for k in RELATION_AUDIT_KEYS}
        if obj in session.new:
            audit.record(conn, action="create", object_type="ec_expert_relation", object_id=obj.id,
                         after=values, module=MODULE, region_id=obj.region_id)
        elif obj in session.deleted:
            audit.record(conn, action="delete", object_type="ec_expert_relation", object_id=obj.id,
                         before=values, module=MODULE, region_id=obj.region_id)
        elif session.is_modified(obj, include_collections=False):
            before = {}
            for k in RELATION_AUDIT_KEYS:
                hist = state.attrs[k].history
                before[k] = hist.deleted[0] if hist.deleted else values[k]
            if before != values:
                audit.record(conn, action="update", object_type="ec_expert_relation",
                             object_id=obj.id, before=before, after=values, module=MODULE,
                             region_id=obj.region_id)


def _install_listeners() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "after_flush", audit_relation_changes):
        event.listen(Session, "after_flush", audit_relation_changes)


_install_listeners()


def link_user(session: Session, expert: Expert, user: Any) -> None:
    before = expert.user_id
    expert.user_id = user.id if user is not None else None
    audit.record(session, action="update", object_type="ec_expert", object_id=expert.id,
                 before={"user_id": before}, after={"user_id": expert.user_id}, module=MODULE,
                 region_id=expert.region_id, reason="关联登录账号")


# -- draw requests ---------------------------------------------------------------------------
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
    on = on or today()
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


# -- the draw ----------------------------------------------------------------------------------
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
    on = on or today()
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


def assert_extracting_agency(session: Session, req: DrawRequest) -> Project:
    """403 unless the user is the project's agency (or the platform admin / system)."""
    project = session.execute(select(Project).where(Project.id == req.project_id)
                              .execution_options(erp_unscoped=True)).scalar_one()
    scope = current_scope()
    if not (scope.unrestricted or (scope.actor == "agency"
                                   and project.agency_id in (None, scope.org_id))):
        raise ScopeViolation("request", "只有项目的代理机构可以抽取专家")
    return project


def close_request(session: Session, req: DrawRequest, *, actor: Any = None) -> None:
    """End the request: no further draws; the seed is revealed."""
    REQUEST_FLOW.trigger(req, "close", actor=actor, session=session, seed=req.seed)
    req.seed_revealed_at = _now()


def cancel_request(session: Session, req: DrawRequest, reason: str | None, *,
                   actor: Any = None) -> None:
    """Cancel a request nothing was drawn for (its seed is revealed too)."""
    REQUEST_FLOW.trigger(req, "cancel", actor=actor, reason=reason, session=session,
                         seed=req.seed)
    req.seed_revealed_at = _now()


def seed_visible(req: DrawRequest) -> bool:
    return req.seed_revealed_at is not None


# -- assignments -------------------------------------------------------------------------------
def respond(session: Session, a: Assignment, accept: bool, *, reason: str | None = None,
            actor: Any = None, on: dt.date | None = None) -> None:
    """The drawn expert (or the agency recording their phone answer) accepts or declines.
    A declined main expert is replaced by the line's first pending reserve."""
    scope = current_scope()
    if scope.actor == "expert":
        own = session.execute(select(Expert.user_id).where(Expert.id == a.expert_id)
                              .execution_options(erp_unscoped=True)).scalar()
        if own != scope.user_id:
            raise ScopeViolation("assignment", "只能答复本人的评审任务")
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


# -- evaluations ------------------------------------------------------------------------------
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
    on = on or today()
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


def appeal(session: Session, ev: Evaluation, reason: str, *, on: dt.date | None = None,
           actor: Any = None) -> None:
    on = on or today()
    scope = current_scope()
    if scope.actor == "expert":
        own = session.execute(select(Expert.user_id).where(Expert.id == ev.expert_id)
                              .execution_options(erp_unscoped=True)).scalar()
        if own != scope.user_id:
            raise ScopeViolation("evaluation", "只能对本人的评价提出申诉")
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
    on = on or today()
    if not manages_experts():
        raise ScopeViolation("evaluation", "只有专家管理人员可以处理申诉")
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
    on = on or today()
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
    on = on or today()
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
    on = on or today()
    n = 0
    for e in session.execute(select(Expert).where(Expert.status == "suspended",
                                                  Expert.suspended_until < on)).scalars():
        EXPERT_FLOW.trigger(e, "reinstate", session=session, reason="暂停期满")
        n += 1
    return n


# -- credit score ------------------------------------------------------------------------------
@dataclass
class ScoreResult:
    score: Decimal
    band: str
    base: Decimal
    penalty: Decimal
    evaluations: int


def compute_score(evals: Iterable[tuple[dt.date, Decimal]], bad: Iterable[tuple[dt.date, int]],
                  on: dt.date, *, window_days: int, half_life_days: int, initial: Decimal
                  ) -> tuple[Decimal, Decimal, Decimal, int]:
    """(score, base, penalty, n): the time-decayed weighted mean of the evaluation totals in
    the window ``(on - window_days, on]``, each weighted ``0.5 ** (age_days / half_life)``,
    minus the penalty points of the bad records in the window; clamped to [0, 100], two
    decimals, ROUND_HALF_UP. Without evaluations the base is ``initial``. Decimal only."""
    start = on - dt.timedelta(days=window_days)
    num = den = Decimal(0)
    n = 0
    half = Decimal(half_life_days)
    for d, total in evals:
        if start < d <= on:
            w = Decimal("0.5") ** (Decimal((on - d).days) / half)
            num += w * Decimal(total)
            den += w
            n += 1
    base = (num / den) if den else Decimal(initial)
    base = base.quantize(TWO, ROUND_HALF_UP)
    penalty = Decimal(sum(p for d, p in bad if start < d <= on)).quantize(TWO)
    score = min(max(base - penalty, Decimal(0)), Decimal(100)).quantize(TWO, ROUND_HALF_UP)
    return score, base, penalty, n


def recompute_score(session: Session, expert_id: int, *, on: dt.date | None = None,
                    cause: str | None = None) -> ScoreResult:
    on = on or today()
    session.flush()  # the user's own changes, checked against the user's regions
    # the score is a consequence the platform writes (the expert may belong to another
    # region than the evaluator): as the system
    with use_scope(SYSTEM):
        return _recompute(session, expert_id, on, cause)


def _recompute(session: Session, expert_id: int, on: dt.date, cause: str | None) -> ScoreResult:
    e = session.execute(select(Expert).where(Expert.id == expert_id)
                        .execution_options(erp_unscoped=True)).scalar_one()
    region = e.region_id
    evals = session.execute(select(Evaluation.review_date, Evaluation.total).where(
        Evaluation.expert_id == expert_id, Evaluation.status.in_(("submitted", "appealed", "decided")),
        Evaluation.total.isnot(None)).execution_options(erp_unscoped=True)).all()
    bads = [(d, setting(f"bad_{k}_penalty", region, session)) for d, k in session.execute(
        select(BadRecord.occurred_on, BadRecord.kind).where(BadRecord.expert_id == expert_id)
        .execution_options(erp_unscoped=True)).all()]
    score, base, penalty, n = compute_score(
        evals, bads, on, window_days=setting("score_window_days", region, session),
        half_life_days=setting("score_half_life_days", region, session),
        initial=setting("score_initial", region, session))
    band = band_of(score, session, region) if (n or penalty) else "new"
    old = (e.credit_score, e.credit_band)
    e.credit_score, e.credit_band = (score if (n or penalty) else None), band
    session.add(CreditScore(expert_id=expert_id, as_of=on, score=score, band=band, base=base,
                            penalty=penalty, evaluations=n, cause=cause, region_id=region))
    if old != (e.credit_score, e.credit_band):
        audit.record(session, action="update", object_type="ec_expert", object_id=expert_id,
                     before={"credit_score": old[0], "credit_band": old[1]},
                     after={"credit_score": e.credit_score, "credit_band": band}, reason=cause,
                     module=MODULE, region_id=region)
    session.flush()
    return ScoreResult(score, band, base, penalty, n)
