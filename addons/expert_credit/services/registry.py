"""The expert registry: :func:`validate_expert`, :func:`validate_relation`,
:func:`validate_specialty`; relation changes are audited (``after_flush`` listener); the
expert's status (:func:`change_status`: suspend, dismiss, reinstate; expert managers)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.services import Errors, RuleError
from core.models import Organization
from core.services import audit
from core.tenancy import ScopeViolation, current_scope

from ..masking import manages_experts
from ..models import RELATION_KINDS, Expert, ExpertRelation, ExpertSpecialty
from .common import EXPERT_FLOW, MODULE

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


# -- the expert's status ------------------------------------------------------------------------
def status_refusal() -> str | None:
    """Why the user may not change an expert's status (None: may): expert managers only."""
    return None if manages_experts() else "只有专家管理人员可以变更专家状态"


def change_status(session: Session, expert: Expert, name: str, *, reason: str | None = None,
                  until: dt.date | None = None, actor: Any = None) -> None:
    """``suspend`` (until a date), ``dismiss`` or ``reinstate`` an expert (audited
    transition of :data:`EXPERT_FLOW`)."""
    refusal = status_refusal()
    if refusal:
        raise ScopeViolation("status", refusal)
    if name == "suspend":
        if until is None:
            raise RuleError({"until": ["请填写暂停截止日期"]})
        expert.suspended_until = until
    EXPERT_FLOW.trigger(expert, name, actor=actor, reason=reason, session=session,
                        suspended_until=until)
