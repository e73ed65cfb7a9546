"""Organisations and their users: organisation types, :func:`allowed_roles` (an organisation's
type decides the roles its users may hold), actor roles registered by modules, writes
restricted to the user's region subtree."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from core.models import ORG_TYPES, SUPPLIER_SIZES, Organization, Region
from core.services.credit_code import CreditCodeError
from core.services.credit_code import validate as validate_credit_code
from core.tenancy import Scope, ScopeViolation, current_scope, grant_problems

from .common import (
    ORG_SCOPE_MESSAGE,
    Errors,
    _old,
    _persisted,
    _region_of_scope,
    _rel,
    _subtree,
    _text,
    _unscoped,
)

#: the organisation types each organisation page manages
ORG_GROUPS: dict[str, tuple[str, ...]] = {
    "purchaser": ("purchaser", "competent_unit"),
    "agency": ("agency", "central_procurement"),
    "supplier": ("supplier",),
    "bank": ("bank", "insurer"),
}
#: an organisation's parent: a purchaser's competent budget unit (主管预算单位); a branch's
#: head office of the same type
PARENT_TYPES: dict[str, frozenset[str]] = {
    "purchaser": frozenset({"competent_unit"}),
    "competent_unit": frozenset({"competent_unit"}),
    "agency": frozenset({"agency"}),
    "central_procurement": frozenset({"central_procurement"}),
    "supplier": frozenset({"supplier"}),
    "bank": frozenset({"bank"}),
    "insurer": frozenset({"insurer"}),
    "finance": frozenset({"finance"}),
    "expert_body": frozenset(),
}
#: the actor roles declared by ``base`` that an organisation's users may hold, by its type
ACTOR_ROLES: dict[str, tuple[str, ...]] = {
    "supplier": ("供应商",),
    "bank": ("银行",),
    "insurer": ("银行",),
    "purchaser": ("采购人",),
    "competent_unit": ("采购人",),
    "agency": ("采购代理机构",),
    "central_procurement": ("采购代理机构",),
    "finance": ("地区管理员", "审计监督"),
    "expert_body": ("评审专家",),
}


def register_actor_role(org_type: str, role: str) -> None:
    """Let users of ``org_type`` organisations hold ``role`` too: for modules that add an
    actor role (emall's 电子卖场管理 for centralized procurement institutions). Idempotent."""
    roles = ACTOR_ROLES.get(org_type, ())
    if role not in roles:
        ACTOR_ROLES[org_type] = (*roles, role)


def all_actor_roles() -> tuple[str, ...]:
    """Every role some organisation type allows, in declaration order."""
    return tuple(dict.fromkeys(r for roles in ACTOR_ROLES.values() for r in roles))


def allowed_roles(org_type: str | None) -> frozenset[str]:
    """The roles a user of an organisation of this type may hold (empty: unknown type).

    supplier → 供应商; bank, insurer → 银行; purchaser, competent_unit → 采购人;
    agency, central_procurement → 采购代理机构; finance → 地区管理员, 审计监督;
    expert_body → 评审专家.
    """
    return frozenset(ACTOR_ROLES.get(org_type or "", ()))


def check_user_roles(org_type: str | None, role_names: Iterable[str]) -> list[str]:
    """Messages for the roles a user of an organisation of ``org_type`` may not hold."""
    allowed = allowed_roles(org_type)
    wrong = [r for r in role_names if r not in allowed]
    if not wrong:
        return []
    kind = ORG_TYPES.get(org_type or "", org_type or "未知类型")
    may = "、".join(sorted(allowed)) or "无"
    return [f"“{kind}”单位的用户只能拥有以下角色：{may}；不能拥有：{'、'.join(wrong)}"]


def _org_region_writable(org: Organization, region_id: int | None, scope: Scope) -> None:
    if scope.unrestricted:
        return
    if region_id is None or region_id not in (scope.region_ids or frozenset()):
        raise ScopeViolation("region", ORG_SCOPE_MESSAGE)


def validate_organization(session: Session, org: Organization, *,
                          org_types: Iterable[str] | None = None,
                          scope: Scope | None = None) -> None:
    """An organisation of the directory (采购人、代理机构、供应商、银行…).

    Credit code per GB 32100-2015 (the message names the wrong character), unique; a
    supplier declares its size (SME declaration); a purchaser's parent is its competent
    budget unit, at the same or a higher region; a region user writes only organisations
    of their region subtree (403 otherwise), before and after the change.
    """
    scope = scope or current_scope()
    errors = Errors()
    types = tuple(org_types) if org_types else tuple(ORG_TYPES)
    with session.no_autoflush:
        region = _rel(session, org, "region")
        if region is None and scope.region_id is not None:
            region = _region_of_scope(session, scope)
            org.region = region
        old_region = _old(org, "region_id")
        if inspect(org).persistent:
            _org_region_writable(org, old_region, scope)
        if region is not None:
            _org_region_writable(org, region.id, scope)

        org.name = _text(org.name)
        if not org.name:
            errors.add("name", "单位名称不能为空")
        org_type = _text(org.org_type)
        if not org_type:
            errors.add("org_type", "请选择单位类型")
        elif org_type not in types:
            allowed = "、".join(ORG_TYPES[t] for t in types)
            errors.add("org_type", f"单位类型不正确，此处只能登记：{allowed}")
        if region is None:
            errors.add("region", "请选择所在地区")

        code = _text(org.credit_code)
        if not code:
            if org_type != "expert_body":
                errors.add("credit_code", "统一社会信用代码不能为空")
            org.credit_code = None
        else:
            try:
                code = validate_credit_code(code)
            except CreditCodeError as exc:
                errors.add("credit_code", str(exc))
            else:
                org.credit_code = code
                other = session.execute(_unscoped(
                    select(Organization.id, Organization.name)
                    .where(Organization.credit_code == code, Organization.id != (org.id or -1))
                )).first()
                if other is not None:
                    errors.add("credit_code", f"统一社会信用代码 {code} 已被“{other.name}”使用",
                               duplicate=True)

        size = _text(org.size) or None
        if org_type == "supplier":
            if size is None:
                errors.add("size", "供应商须声明企业规模（大型、中型、小型、微型）")
            elif size not in SUPPLIER_SIZES:
                errors.add("size", "企业规模只能是：大型、中型、小型、微型")
        elif size is not None:
            errors.add("size", "只有供应商填写企业规模（中小企业声明）")
        org.size = size

        parent = _rel(session, org, "parent")
        if parent is not None:
            _check_org_parent(session, errors, org, org_type, parent, region)
    errors.raise_if_any()


def _check_org_parent(session: Session, errors: Errors, org: Organization, org_type: str,
                      parent: Organization, region: Region | None) -> None:
    if not _persisted(parent):
        errors.add("parent", "所选上级单位不存在")
        return
    if org.id is not None and parent.id == org.id:
        errors.add("parent", "上级单位不能是本单位")
        return
    seen, cur = set(), parent
    while cur is not None and cur.id not in seen:
        if org.id is not None and cur.id == org.id:
            errors.add("parent", "上级单位不能是本单位的下级单位")
            return
        seen.add(cur.id)
        cur = cur.parent
    wanted = PARENT_TYPES.get(org_type, frozenset())
    if parent.org_type not in wanted:
        if org_type == "purchaser":
            errors.add("parent", "采购人的上级单位必须是主管预算单位")
        elif not wanted:
            errors.add("parent", f"“{ORG_TYPES.get(org_type, org_type)}”没有上级单位")
        else:
            names = "、".join(ORG_TYPES[t] for t in sorted(wanted))
            errors.add("parent", f"上级单位的类型必须是：{names}")
        return
    if org_type in ("purchaser", "competent_unit") and region is not None:
        if region.id not in _subtree(session, parent.region_id):
            errors.add("parent", f"主管预算单位“{parent.name}”不在本单位所在地区或其上级地区")


def validate_org_user(session: Session, user: Any, *, scope: Scope | None = None,
                      password: str | None = None, new: bool = False) -> None:
    """A user linked to an organisation on this module's page or API: the organisation in
    the writer's region subtree, and only roles the organisation's type allows."""
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        org = _rel(session, user, "organization")
        old_org_id = _old(user, "organization_id")
        if old_org_id is not None and not scope.unrestricted:
            old = session.get(Organization, old_org_id)
            if old is None or old.region_id not in (scope.region_ids or frozenset()):
                raise ScopeViolation("organization", "该用户的单位不在您的管辖范围内")
        if org is None:
            errors.add("organization", "请选择所属单位")
        elif not _persisted(org):
            errors.add("organization", "所选单位不存在")
        else:
            if not scope.unrestricted and org.region_id not in (scope.region_ids or frozenset()):
                raise ScopeViolation("organization", "只能为您管辖地区内的单位设置用户")
            if not org.active:
                errors.add("organization", f"单位“{org.name}”已停用")
            roles = [r.name for r in (user.roles or [])]
            if not roles:
                errors.add("roles", "请至少选择一个角色")
            for message in check_user_roles(org.org_type, roles):
                errors.add("roles", message)
            # a role reaches no further than the grantor (core.tenancy, issue 12 finding 3)
            for message in grant_problems(roles, org.org_type, scope):
                errors.add("roles", message)
        if not _text(user.username):
            errors.add("username", "用户名不能为空")
        if new:  # the platform's one password policy (core.security)
            from core.security import password_problems

            for message in password_problems(password, user.username):
                errors.add("password", message)
    errors.raise_if_any()
