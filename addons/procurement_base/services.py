"""Business rules of ``procurement_base``: plain Python on a SQLAlchemy session, no Flask
request objects, shared by the pages, the APIs, other modules, the CLI and the tests.

* validators (``validate_<record>(session, obj)``): check an object whose new values are
  set but not yet flushed, fill what the platform derives (region from the parent record,
  a bid's project, a contract's SME label, a catalog item's level and parent), and raise
  :class:`RuleError` (422) with ``{field: [Chinese message]}`` - or :class:`DuplicateError`
  (409) when the only fault is a duplicate - so that nothing is written;
* the status machines of projects and contracts (:data:`PROJECT_FLOW`,
  :data:`CONTRACT_FLOW`), audited through :mod:`core.services.audit`;
* money: a contract's paid and outstanding amounts, payments that never exceed the
  contract amount (the contract row is locked while a payment is checked);
* organisations and their users: :func:`allowed_roles` (an organisation's type decides the
  roles its users may hold), writes restricted to the user's region subtree;
* an audit record for every change of money (budgets, prices, amounts, payments).

Who may write what is decided here with :func:`core.tenancy.current_scope`; what a user
may *read* is decided centrally by the tenancy layer (record rules), never here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, object_session

from core import tenancy
from core.models import ORG_TYPES, SUPPLIER_SIZES, Organization, Region
from core.services import audit
from core.services.credit_code import CreditCodeError
from core.services.credit_code import validate as validate_credit_code
from core.services.money import MoneyError, fmt_yuan, to_money
from core.services.statemachine import StateMachine, Transition, TransitionError
from core.tenancy import Scope, ScopeViolation, current_scope

from .models import (
    BID_STATES,
    CONTRACT_STATES,
    METHODS,
    PROJECT_STATES,
    SME_LABELS,
    SME_MEASURES,
    Bid,
    CatalogItem,
    Contract,
    Package,
    Payment,
    PaymentPlan,
    Project,
)

MODULE = "procurement_base"
#: the tenancy layer's own words for a write outside the user's regions
SCOPE_MESSAGE = tenancy.SCOPE_MESSAGE
ORG_SCOPE_MESSAGE = "只能在您管辖的地区（本地区及下级地区）内新增或修改单位"
CST = dt.timezone(dt.timedelta(hours=8), "CST")
ZERO = Decimal("0.00")

__all__ = [
    "ACTOR_ROLES",
    "CONTRACT_FLOW",
    "ORG_GROUPS",
    "PROJECT_FLOW",
    "DuplicateError",
    "RuleError",
    "all_actor_roles",
    "allowed_roles",
    "assert_manages_contract",
    "assert_manages_project",
    "check_delete",
    "check_region_writable",
    "mark_winner",
    "outstanding",
    "register_actor_role",
    "paid_total",
    "record_payment",
    "transition_contract",
    "transition_project",
    "validate_bid",
    "validate_catalog_item",
    "validate_contract",
    "validate_organization",
    "validate_org_user",
    "validate_package",
    "validate_payment",
    "validate_payment_plan",
    "validate_project",
]


# -- errors ------------------------------------------------------------------------------
class RuleError(ValidationError):
    """A business rule refused the input: ``messages`` is ``{field: [Chinese message]}``.

    A marshmallow ``ValidationError``, so the platform's APIs answer it as a 422
    ``validation_error`` and roll the session back.
    """

    status = 422
    code = "validation_error"


class DuplicateError(RuleError):
    """The input repeats a value that must be unique (answered 409 ``duplicate``)."""

    status = 409
    code = "duplicate"


class Errors:
    """Collects field messages; :meth:`raise_if_any` raises them all at once."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}
        self.duplicates: set[str] = set()

    def add(self, field: str, message: str, *, duplicate: bool = False) -> None:
        self.messages.setdefault(field, []).append(message)
        if duplicate:
            self.duplicates.add(field)

    def __contains__(self, field: str) -> bool:
        return field in self.messages

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        if set(self.messages) <= self.duplicates:
            raise DuplicateError(self.messages)
        raise RuleError(self.messages)


# -- small helpers -------------------------------------------------------------------------
def today() -> dt.date:
    """Today in China (UTC+8)."""
    return dt.datetime.now(CST).date()


def _fmt_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def check_money(errors: Errors, field: str, value: Any, label: str, *,
                required: bool = True, positive: bool = True) -> Decimal | None:
    """Validate an amount: present, a number, at most two decimals (fen), > 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, f"{label}不能为空")
        return None
    try:
        amount = to_money(value)
    except MoneyError as exc:
        text = exc.message.replace("金额", label, 1) if exc.message.startswith("金额") else exc.message
        errors.add(field, text if text.startswith(label) else f"{label}：{text}")
        return None
    if positive and amount < 0:
        errors.add(field, f"{label}不能为负数")
        return None
    if positive and amount == 0:
        errors.add(field, f"{label}必须大于零")
        return None
    return amount


def _money_attr(errors: Errors, obj: Any, attr: str, label: str) -> Decimal | None:
    """Check the amount in ``obj.<attr>`` and store it back as a Decimal of fen."""
    amount = check_money(errors, attr, getattr(obj, attr), label)
    if amount is not None:
        setattr(obj, attr, amount)
    return amount


def _rel(session: Session, obj: Any, rel: str) -> Any:
    """The object ``obj.<rel>`` will refer to once written, whether the relationship or its
    foreign-key column was set (forms and APIs set the relationship)."""
    state = inspect(obj)
    prop = state.mapper.relationships[rel]
    (column,) = prop.local_columns
    key = state.mapper.get_property_by_column(column).key
    rel_hist = state.attrs[rel].history
    if rel_hist.added:
        return rel_hist.added[0]
    col_hist = state.attrs[key].history
    value = state.dict.get(key)
    if col_hist.added or (rel not in state.dict and value is not None):
        # not assigned to ``obj``: a back-reference would enlist a refused object in the
        # parent's collection
        return session.get(prop.mapper.class_, value) if value is not None else None
    return state.dict.get(rel) if rel in state.dict else getattr(obj, rel)


def _old(obj: Any, key: str) -> Any:
    """The stored value of column ``key`` (None for a new object)."""
    state = inspect(obj)
    if not state.persistent:
        return None
    hist = state.attrs[key].history
    if hist.deleted:
        return hist.deleted[0]
    return state.dict.get(key)


def _changed(obj: Any, *keys: str) -> list[str]:
    """Which of ``keys`` (columns or relationships) were given a different value."""
    state = inspect(obj)
    if not state.persistent:
        return list(keys)
    out = []
    for key in keys:
        hist = state.attrs[key].history
        if hist.added and list(hist.added) != list(hist.deleted or ()):
            if key in state.mapper.relationships and not hist.deleted:
                # many-to-one set without the old value loaded: compare the foreign key
                prop = state.mapper.relationships[key]
                (column,) = prop.local_columns
                fk = state.mapper.get_property_by_column(column).key
                new = hist.added[0]
                if (new.id if new is not None else None) == state.dict.get(fk):
                    continue
            out.append(key)
    return out


def _persisted(obj: Any) -> bool:
    return obj is not None and inspect(obj).persistent


def _missing(errors: Errors, field: str, obj: Any, label: str) -> bool:
    """Record an error when a referenced record is absent (or not visible); True if so."""
    if obj is None:
        errors.add(field, f"请选择{label}")
        return True
    if not _persisted(obj):
        errors.add(field, f"所选{label}不存在或不在您的管辖范围内")
        return True
    return False


def _unscoped(stmt: Any) -> Any:
    """Uniqueness checks look at every region (the database constraint does too)."""
    return stmt.execution_options(erp_unscoped=True)


# -- scope -----------------------------------------------------------------------------------
def check_region_writable(region_id: int | None, *, cls: type | None = None,
                          scope: Scope | None = None) -> None:
    """Raise :class:`~core.tenancy.ScopeViolation` (403) for a region outside the scope
    (the tenancy layer's own rule, for this module's records)."""
    tenancy.check_region_writable(cls or Project, region_id, scope=scope)


def _region_of_scope(session: Session, scope: Scope) -> Region | None:
    return session.get(Region, scope.region_id) if scope.region_id is not None else None


def _subtree(session: Session, region_id: int) -> set[int]:
    rows = session.execute(select(Region.id, Region.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for rid, parent in rows:
        children.setdefault(parent, []).append(rid)
    out, todo = set(), [region_id]
    while todo:
        r = todo.pop()
        out.add(r)
        todo.extend(children.get(r, ()))
    return out


def _derive_region(errors: Errors, obj: Any, region: Region | None, parent_region: Region | None,
                   parent_label: str) -> Region | None:
    """A child record lives in its parent's region: filled when missing, refused when other."""
    if parent_region is None:
        return region
    if region is None:
        obj.region = parent_region
        return parent_region
    if region.id != parent_region.id:
        errors.add("region", f"所在地区必须与{parent_label}一致（{parent_region.name}）")
    return region


# -- organisations and their users ------------------------------------------------------------
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
        if not _text(user.username):
            errors.add("username", "用户名不能为空")
        if new and (password is None or len(password) < 8):
            errors.add("password", "密码至少 8 位")
    errors.raise_if_any()


# -- catalog ----------------------------------------------------------------------------------
CATALOG_CODE = re.compile(r"^[ABC](\d{2})*$")
KINDS = {"A": "goods", "B": "works", "C": "services"}
KIND_LABELS = {"goods": "货物", "works": "工程", "services": "服务"}


def catalog_level(code: str) -> int:
    """A → 1, A02 → 2, A0201 → 3, ..."""
    return 1 + (len(code) - 1) // 2


def validate_catalog_item(session: Session, item: CatalogItem) -> None:
    """A catalog code: A/B/C then pairs of digits; level, kind and parent follow from it."""
    errors = Errors()
    with session.no_autoflush:
        code = _text(item.code).upper()
        item.code = code
        item.name = _text(item.name)
        if not item.name:
            errors.add("name", "品目名称不能为空")
        if not code:
            errors.add("code", "品目编码不能为空")
        elif not CATALOG_CODE.match(code) or len(code) > 20:
            errors.add("code", "品目编码格式不正确：以 A（货物）、B（工程）或 C（服务）开头，"
                               "其后每级两位数字，如 A02、A0201")
        else:
            item.kind = KINDS[code[0]]
            item.level = catalog_level(code)
            other = session.execute(_unscoped(select(CatalogItem.id).where(
                CatalogItem.code == code, CatalogItem.id != (item.id or -1)))).first()
            if other is not None:
                errors.add("code", f"品目编码 {code} 已存在", duplicate=True)
            if item.level == 1:
                item.parent = None
            else:
                parent_code = code[:-2] if item.level > 2 else code[0]
                parent = session.execute(
                    select(CatalogItem).where(CatalogItem.code == parent_code)
                ).scalar_one_or_none()
                if parent is None:
                    errors.add("code", f"上级品目 {parent_code} 不存在，请先新增上级品目")
                else:
                    item.parent = parent
        if item.active is None:
            item.active = True
    errors.raise_if_any()


# -- projects ---------------------------------------------------------------------------------
PURCHASER_TYPES = ("purchaser", "competent_unit")
AGENCY_TYPES = ("agency", "central_procurement")
#: what may no longer change once a project is published (a change needs a correction notice)
FROZEN_AFTER_PUBLISH = {
    "budget": "预算金额",
    "method": "采购方式",
    "purchaser": "采购人",
    "catalog": "采购品目",
    "sme_measure": "中小企业预留措施",
    "sme_reserved_amount": "预留金额",
    "region": "所在地区",
}


def _own_units(session: Session, org_id: int) -> set[int]:
    """An organisation and the units below it (a competent unit's budget units)."""
    ids = {org_id}
    todo = [org_id]
    while todo:
        rows = session.execute(
            select(Organization.id).where(Organization.parent_id.in_(todo))
        ).scalars().all()
        todo = [r for r in rows if r not in ids]
        ids.update(todo)
    return ids


def _check_actor_project(session: Session, errors: Errors, project: Project,
                         purchaser: Organization | None, agency: Organization | None,
                         scope: Scope, *, field_prefix: str = "") -> None:
    """A purchaser's user manages the projects of its unit (and units below it); an
    agency's user those entrusted to its agency (filled in when left empty)."""
    if scope.org_id is None or scope.unrestricted:
        return
    if scope.actor == "purchaser":
        own = _own_units(session, scope.org_id)
        old = _old(project, "purchaser_id")
        if (purchaser is not None and purchaser.id not in own) or (old is not None and old not in own):
            errors.add(field_prefix or "purchaser", "只能管理本单位（及所属预算单位）的采购项目")
    elif scope.actor == "agency":
        old = _old(project, "agency_id")
        if agency is None and not field_prefix:
            agency = project.agency = session.get(Organization, scope.org_id)
        if (agency is not None and agency.id != scope.org_id) or (old is not None and old != scope.org_id):
            errors.add(field_prefix or "agency", "只能管理委托给本机构的采购项目")


def _check_project_dates(errors: Errors, p: Project) -> None:
    notice, deadline = p.notice_date, p.bid_deadline
    opening, award, signed = p.opening_date, p.award_date, p.contract_date
    if notice and deadline and deadline.date() < notice:
        errors.add("bid_deadline", f"投标截止时间不能早于公告日期（{_fmt_date(notice)}）")
    if notice and opening and opening < notice:
        errors.add("opening_date", f"开标日期不能早于公告日期（{_fmt_date(notice)}）")
    if deadline and opening and opening < deadline.date():
        errors.add("opening_date", f"开标日期不能早于投标截止时间（{_fmt_date(deadline)}）")
    if award and opening and award < opening:
        errors.add("award_date", f"中标日期不能早于开标日期（{_fmt_date(opening)}）")
    if award and not opening:
        errors.add("award_date", "尚未开标，不能填写中标日期")
    if signed and award and signed < award:
        errors.add("contract_date", f"合同签订日期不能早于中标日期（{_fmt_date(award)}）")
    if signed and not award:
        errors.add("contract_date", "尚未确定中标，不能填写合同签订日期")


def validate_project(session: Session, p: Project, *, scope: Scope | None = None) -> None:
    """采购项目: number unique in its region, purchaser and agency of the right types, money,
    SME set-aside, dates in order, packages within the budget, nothing essential changed
    after publication."""
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        purchaser = _rel(session, p, "purchaser")
        agency = _rel(session, p, "agency")
        catalog = _rel(session, p, "catalog")
        region = _rel(session, p, "region")
        new = not inspect(p).persistent
        if new:
            p.status = "draft"

        p.number = _text(p.number)
        p.name = _text(p.name)
        if not p.number:
            errors.add("number", "项目编号不能为空")
        if not p.name:
            errors.add("name", "项目名称不能为空")
        if not _missing(errors, "purchaser", purchaser, "采购人"):
            if purchaser.org_type not in PURCHASER_TYPES:
                errors.add("purchaser", f"“{purchaser.name}”不是采购人或主管预算单位")
            elif not purchaser.active:
                errors.add("purchaser", f"采购人“{purchaser.name}”已停用")
            if region is None:
                region = p.region = purchaser.region
        if agency is not None and not _missing(errors, "agency", agency, "代理机构"):
            if agency.org_type not in AGENCY_TYPES:
                errors.add("agency", f"“{agency.name}”不是采购代理机构或集中采购机构")
        if not _missing(errors, "catalog", catalog, "采购品目") and not catalog.active:
            errors.add("catalog", f"品目“{catalog}”已停用")
        if not p.method:
            errors.add("method", "请选择采购方式")
        elif p.method not in METHODS:
            errors.add("method", "采购方式不正确，可选：" + "、".join(METHODS.values()))
        budget = _money_attr(errors, p, "budget", "预算金额")

        measure = p.sme_measure or "none"
        p.sme_measure = measure
        if measure not in SME_MEASURES:
            errors.add("sme_measure", "中小企业预留措施不正确，可选：" + "、".join(SME_MEASURES.values()))
        reserved = p.sme_reserved_amount
        if measure == "none":
            if reserved not in (None, "") and reserved != 0:
                errors.add("sme_reserved_amount", "未采取预留措施时不能填写预留金额")
            p.sme_reserved_amount = None
        elif measure == "whole":
            # the whole project is reserved: the set-aside amount is the budget
            if budget is not None:
                p.sme_reserved_amount = budget
        else:
            amount = _money_attr(errors, p, "sme_reserved_amount", "预留金额")
            if amount is not None and budget is not None and amount > budget:
                errors.add("sme_reserved_amount",
                           f"预留金额 {fmt_yuan(amount)} 超过项目预算 {fmt_yuan(budget)}")

        if region is None:
            errors.add("region", "请选择所在地区")
        elif purchaser is not None and _persisted(purchaser) and purchaser.region_id not in _subtree(session, region.id):
            errors.add("purchaser", f"采购人“{purchaser.name}”不在项目所在地区（{region.name}）或其下级地区")
        if region is not None and p.number and "number" not in errors:
            dup = session.execute(_unscoped(select(Project.id).where(
                Project.region_id == region.id, Project.number == p.number,
                Project.id != (p.id or -1)))).first()
            if dup is not None:
                errors.add("number", f"项目编号“{p.number}”在本地区已存在", duplicate=True)

        if not new and budget is not None:
            packaged = session.execute(
                select(func.coalesce(func.sum(Package.budget), 0)).where(Package.project_id == p.id)
            ).scalar_one()
            packaged = to_money(packaged, strict=False) if packaged is not None else ZERO
            if budget < packaged:
                errors.add("budget", f"项目预算不能低于各采购包预算合计 {fmt_yuan(packaged)}")
        if not new and p.status != "draft":
            for key in _changed(p, *FROZEN_AFTER_PUBLISH):
                errors.add(key, f"项目已发布（{PROJECT_STATES.get(p.status, p.status)}），"
                                f"不能再修改{FROZEN_AFTER_PUBLISH[key]}，如需变更请发布更正公告")
        _check_project_dates(errors, p)
        _check_actor_project(session, errors, p, purchaser, agency, scope)
    errors.raise_if_any()


def _packages_total(session: Session, project_id: int, exclude_id: int | None = None) -> Decimal:
    stmt = select(func.coalesce(func.sum(Package.budget), 0)).where(Package.project_id == project_id)
    if exclude_id is not None:
        stmt = stmt.where(Package.id != exclude_id)
    value = session.execute(stmt).scalar_one()
    return to_money(value, strict=False) if value is not None else ZERO


def validate_package(session: Session, pkg: Package, *, scope: Scope | None = None) -> None:
    """采购包: in its project's region, number unique in the project, budgets of all packages
    within the project budget, only while the project is a draft."""
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        project = _rel(session, pkg, "project")
        region = _rel(session, pkg, "region")
        pkg.number = _text(pkg.number)
        pkg.name = _text(pkg.name)
        if not pkg.number:
            errors.add("number", "包号不能为空")
        if not pkg.name:
            errors.add("name", "采购包名称不能为空")
        budget = _money_attr(errors, pkg, "budget", "采购包预算")
        if pkg.sme_reserved is None:
            pkg.sme_reserved = False
        if not _missing(errors, "project", project, "采购项目"):
            _derive_region(errors, pkg, region, project.region, "所属项目")
            if project.status != "draft":
                errors.add("project", f"项目状态为“{PROJECT_STATES.get(project.status)}”，"
                                      "只有草稿状态的项目可以新增或修改采购包")
            if budget is not None and project.budget is not None:
                total = _packages_total(session, project.id, pkg.id) + budget
                if total > project.budget:
                    errors.add("budget", f"各采购包预算合计 {fmt_yuan(total)} 超过项目预算 "
                                         f"{fmt_yuan(project.budget)}")
            if pkg.sme_reserved and project.sme_measure == "none":
                errors.add("sme_reserved", "项目未采取中小企业预留措施，采购包不能标记为专门面向中小企业")
            if pkg.number and "number" not in errors:
                dup = session.execute(_unscoped(select(Package.id).where(
                    Package.project_id == project.id, Package.number == pkg.number,
                    Package.id != (pkg.id or -1)))).first()
                if dup is not None:
                    errors.add("number", f"包号“{pkg.number}”在本项目中已存在", duplicate=True)
            _check_actor_project(session, errors, project, project.purchaser, project.agency,
                                 scope, field_prefix="project")
        elif region is None:
            errors.add("region", "请选择所在地区")
    errors.raise_if_any()


# -- bids -------------------------------------------------------------------------------------
def validate_bid(session: Session, bid: Bid, *, scope: Scope | None = None,
                 now: dt.datetime | None = None) -> None:
    """投标: by a supplier (a supplier's user bids only for itself), on a package of the
    project given, in its region, while the project accepts bids and before the deadline."""
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        package = _rel(session, bid, "package")
        project = _rel(session, bid, "project")
        supplier = _rel(session, bid, "supplier")
        region = _rel(session, bid, "region")
        new = not inspect(bid).persistent
        if new:
            bid.status = "submitted"
        _money_attr(errors, bid, "price", "投标报价")
        if not _missing(errors, "supplier", supplier, "供应商"):
            if supplier.org_type != "supplier":
                kind = ORG_TYPES.get(supplier.org_type, supplier.org_type)
                errors.add("supplier", f"“{supplier.name}”是{kind}，不是供应商，不能投标")
            elif not supplier.active:
                errors.add("supplier", f"供应商“{supplier.name}”已停用")
            if scope.actor == "supplier" and scope.org_id is not None and supplier.id != scope.org_id:
                errors.add("supplier", "只能以本单位名义投标")
        if project is not None and not _persisted(project):
            errors.add("project", "所选采购项目不存在或不在您的管辖范围内")
            project = None
        if not _missing(errors, "package", package, "采购包"):
            if project is None:
                project = bid.project = package.project
            elif package.project_id != project.id:
                errors.add("package", f"采购包“{package.name}”不属于所选项目“{project.number}”")
            _derive_region(errors, bid, region, package.region, "采购包")
            changed = _changed(bid, "price", "package", "supplier", "project")
            if project is not None and changed and package.project_id == project.id:
                if project.status != "published":
                    errors.add("package", f"项目状态为“{PROJECT_STATES.get(project.status)}”，"
                                          "只有已发布、尚未开标的项目接受投标")
                elif not new and bid.status != "submitted":
                    errors.add("price", f"投标状态为“{BID_STATES.get(bid.status)}”，不能修改")
                if new:
                    bid.submitted_at = bid.submitted_at or (now or dt.datetime.now(CST).replace(tzinfo=None))
                    if project.bid_deadline and bid.submitted_at > project.bid_deadline:
                        errors.add("submitted_at", f"已过投标截止时间（{_fmt_date(project.bid_deadline)}），不接受投标")
                if scope.actor in ("purchaser", "agency"):
                    _check_actor_project(session, errors, project, project.purchaser,
                                         project.agency, scope, field_prefix="project")
            if supplier is not None and _persisted(supplier) and "supplier" not in errors:
                dup = session.execute(_unscoped(select(Bid.id).where(
                    Bid.package_id == package.id, Bid.supplier_id == supplier.id,
                    Bid.id != (bid.id or -1)))).first()
                if dup is not None:
                    errors.add("supplier", f"“{supplier.name}”已对该采购包投标", duplicate=True)
        elif region is None:
            errors.add("region", "请选择所在地区")
    errors.raise_if_any()


def mark_winner(session: Session, bid: Bid) -> None:
    """Record ``bid`` as the package's winning bid (中标候选人确定为中标人): the project must be
    evaluated; a previous winner of the same package goes back to "submitted"."""
    project = bid.package.project
    if project.status != "evaluated":
        raise RuleError({"winning_bids": [
            f"项目状态为“{PROJECT_STATES.get(project.status)}”，评审完成后才能确定中标人"]})
    if bid.status not in ("submitted", "won"):
        raise RuleError({"winning_bids": [
            f"“{bid.supplier.name}”的投标状态为“{BID_STATES.get(bid.status)}”，不能确定为中标"]})
    others = session.execute(select(Bid).where(
        Bid.package_id == bid.package_id, Bid.id != bid.id, Bid.status == "won")).scalars()
    for other in others:
        other.status = "submitted"
    bid.status = "won"


# -- contracts, plans, payments ------------------------------------------------------------
def winning_bid(session: Session, package_id: int, supplier_id: int) -> Bid | None:
    return session.execute(select(Bid).where(
        Bid.package_id == package_id, Bid.supplier_id == supplier_id, Bid.status == "won")
    ).scalars().first()


def paid_total(session: Session, contract_id: int, *, exclude_id: int | None = None) -> Decimal:
    """已付金额: the sum of a contract's payments (fresh from the database)."""
    stmt = select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.contract_id == contract_id)
    if exclude_id is not None:
        stmt = stmt.where(Payment.id != exclude_id)
    value = session.execute(stmt).scalar_one()
    return to_money(value, strict=False) if value is not None else ZERO


def outstanding(session: Session, contract: Contract) -> Decimal:
    """未付金额 = 合同金额 − 已付金额 (derived, never stored)."""
    return contract.amount - paid_total(session, contract.id)


def _lock_contract(session: Session, contract_id: int) -> None:
    """Lock the contract row until the transaction ends (PostgreSQL ``FOR UPDATE``; SQLite
    serialises writers anyway), so two payments cannot both pass the outstanding check."""
    session.execute(select(Contract.id).where(Contract.id == contract_id).with_for_update())


def validate_contract(session: Session, c: Contract, *, scope: Scope | None = None) -> None:
    """采购合同: number unique in its region; for a project contract the package of that
    project, the project's purchaser, the package's winning supplier, an amount above the
    winning bid only with a recorded reason, signing on or after the award; never below
    what has been paid."""
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        project = _rel(session, c, "project")
        package = _rel(session, c, "package")
        purchaser = _rel(session, c, "purchaser")
        supplier = _rel(session, c, "supplier")
        region = _rel(session, c, "region")
        new = not inspect(c).persistent
        if new:
            c.status = "draft"
        c.number = _text(c.number)
        if not c.number:
            errors.add("number", "合同编号不能为空")
        c.source = c.source or "project"
        amount = _money_attr(errors, c, "amount", "合同金额")
        if not _missing(errors, "purchaser", purchaser, "采购人") and purchaser.org_type not in PURCHASER_TYPES:
            errors.add("purchaser", f"“{purchaser.name}”不是采购人")
        if not _missing(errors, "supplier", supplier, "供应商"):
            if supplier.org_type != "supplier":
                errors.add("supplier", f"“{supplier.name}”不是供应商")
            elif _changed(c, "supplier") or c.sme_label is None:
                c.sme_label = supplier.size if supplier.size in SME_LABELS else "none"
        reason = _text(c.over_bid_reason) or None
        c.over_bid_reason = reason

        if c.source == "project":
            c.order_ref = _text(c.order_ref) or None
            if not _missing(errors, "project", project, "采购项目"):
                region = _derive_region(errors, c, region, project.region, "所属项目")
                if purchaser is not None and _persisted(purchaser) and purchaser.id != project.purchaser_id:
                    errors.add("purchaser", f"合同采购人必须是项目的采购人“{project.purchaser.name}”")
                if project.status not in ("awarded", "contracted", "completed"):
                    errors.add("project", f"项目状态为“{PROJECT_STATES.get(project.status)}”，"
                                          "确定中标后才能登记合同")
                if c.signed_date and project.award_date and c.signed_date < project.award_date:
                    errors.add("signed_date", f"合同签订日期不能早于中标日期（{_fmt_date(project.award_date)}）")
                if not _missing(errors, "package", package, "采购包"):
                    if package.project_id != project.id:
                        errors.add("package", f"采购包“{package.name}”不属于项目“{project.number}”")
                    elif supplier is not None and _persisted(supplier) and "supplier" not in errors:
                        won = winning_bid(session, package.id, supplier.id)
                        if won is None:
                            errors.add("supplier", f"“{supplier.name}”不是该采购包的中标供应商")
                        elif amount is not None and amount > won.price and not reason:
                            errors.add("over_bid_reason",
                                       f"合同金额 {fmt_yuan(amount)} 高于中标金额 {fmt_yuan(won.price)}，"
                                       "须填写超出原因")
        elif c.source == "emall":
            if not _text(c.order_ref):
                errors.add("order_ref", "电子卖场合同须填写订单号")
            if project is not None or package is not None:
                errors.add("project", "电子卖场合同不关联采购项目")
            if region is None and purchaser is not None and _persisted(purchaser):
                region = c.region = purchaser.region
        else:
            errors.add("source", "合同来源只能是采购项目（project）或电子卖场（emall）")
        if region is None:
            errors.add("region", "请选择所在地区")

        if c.signed_date and c.signed_date > today():
            errors.add("signed_date", "合同签订日期不能晚于今天")
        if c.status != "draft" and not c.signed_date:
            errors.add("signed_date", "已签订的合同须填写签订日期")
        if region is not None and c.number and "number" not in errors:
            dup = session.execute(_unscoped(select(Contract.id).where(
                Contract.region_id == region.id, Contract.number == c.number,
                Contract.id != (c.id or -1)))).first()
            if dup is not None:
                errors.add("number", f"合同编号“{c.number}”在本地区已存在", duplicate=True)
        if not new and amount is not None:
            paid = paid_total(session, c.id)
            if amount < paid:
                errors.add("amount", f"合同金额不能低于已付金额 {fmt_yuan(paid)}")
        if not new and c.status in ("completed", "terminated") and _changed(
                c, "amount", "supplier", "purchaser", "project", "package"):
            errors.add("status", f"合同已{CONTRACT_STATES.get(c.status)}，不能修改")
        if scope.actor == "purchaser" and scope.org_id is not None and purchaser is not None:
            own = _own_units(session, scope.org_id)
            old = _old(c, "purchaser_id")
            if purchaser.id not in own or (old is not None and old not in own):
                errors.add("purchaser", "只能管理本单位（及所属预算单位）的合同")
    errors.raise_if_any()


def validate_payment_plan(session: Session, plan: PaymentPlan, *, scope: Scope | None = None) -> None:
    """付款计划: in the contract's region, period numbers unique, due on or after signing,
    the plans of a contract never above its amount."""
    errors = Errors()
    with session.no_autoflush:
        contract = _rel(session, plan, "contract")
        region = _rel(session, plan, "region")
        amount = _money_attr(errors, plan, "amount", "计划金额")
        if plan.seq is None:
            errors.add("seq", "期次不能为空")
        elif plan.seq < 1:
            errors.add("seq", "期次必须是正整数")
        if plan.due_date is None:
            errors.add("due_date", "计划付款日期不能为空")
        if not _missing(errors, "contract", contract, "合同"):
            _derive_region(errors, plan, region, contract.region, "合同")
            if contract.status == "terminated":
                errors.add("contract", "合同已终止，不能新增或修改付款计划")
            if plan.due_date and contract.signed_date and plan.due_date < contract.signed_date:
                errors.add("due_date", f"计划付款日期不能早于合同签订日期（{_fmt_date(contract.signed_date)}）")
            if amount is not None:
                stmt = select(func.coalesce(func.sum(PaymentPlan.amount), 0)).where(
                    PaymentPlan.contract_id == contract.id, PaymentPlan.id != (plan.id or -1))
                others = to_money(session.execute(stmt).scalar_one() or 0, strict=False)
                if others + amount > contract.amount:
                    errors.add("amount", f"付款计划合计 {fmt_yuan(others + amount)} 超过合同金额 "
                                         f"{fmt_yuan(contract.amount)}")
            if plan.seq is not None and "seq" not in errors:
                dup = session.execute(_unscoped(select(PaymentPlan.id).where(
                    PaymentPlan.contract_id == contract.id, PaymentPlan.seq == plan.seq,
                    PaymentPlan.id != (plan.id or -1)))).first()
                if dup is not None:
                    errors.add("seq", f"第 {plan.seq} 期付款计划已存在", duplicate=True)
        elif region is None:
            errors.add("region", "请选择所在地区")
    del scope
    errors.raise_if_any()


def validate_payment(session: Session, pay: Payment, *, scope: Scope | None = None) -> None:
    """付款: against a signed contract, dated between signing and today, and never above the
    contract amount in total (the contract row is locked while checking)."""
    errors = Errors()
    with session.no_autoflush:
        contract = _rel(session, pay, "contract")
        region = _rel(session, pay, "region")
        amount = _money_attr(errors, pay, "amount", "付款金额")
        pay.reference = _text(pay.reference) or None
        if pay.paid_date is None:
            errors.add("paid_date", "付款日期不能为空")
        elif pay.paid_date > today():
            errors.add("paid_date", "付款日期不能晚于今天")
        if not _missing(errors, "contract", contract, "合同"):
            _derive_region(errors, pay, region, contract.region, "合同")
            if contract.status not in ("signed", "performing", "completed"):
                errors.add("contract", f"合同状态为“{CONTRACT_STATES.get(contract.status)}”，"
                                       "签订后才能登记付款")
            if pay.paid_date and contract.signed_date and pay.paid_date < contract.signed_date:
                errors.add("paid_date", f"付款日期不能早于合同签订日期（{_fmt_date(contract.signed_date)}）")
            if amount is not None and _changed(pay, "amount", "contract"):
                _lock_contract(session, contract.id)
                paid = paid_total(session, contract.id, exclude_id=pay.id)
                if paid + amount > contract.amount:
                    left = contract.amount - paid
                    errors.add("amount", f"累计付款 {fmt_yuan(paid + amount)} 将超过合同金额 "
                                         f"{fmt_yuan(contract.amount)}（未付余额 {fmt_yuan(left)}）")
        elif region is None:
            errors.add("region", "请选择所在地区")
    del scope
    errors.raise_if_any()


def record_payment(session: Session, contract: Contract, amount: Any, paid_date: dt.date,
                   reference: str | None = None) -> Payment:
    """Record a payment (validated, added to the session, flushed); returns it."""
    # by id: a refused payment must not linger in ``contract.payments``
    pay = Payment(contract_id=contract.id, amount=amount, paid_date=paid_date, reference=reference,
                  region_id=contract.region_id)
    validate_payment(session, pay)
    session.add(pay)
    session.flush()
    session.expire(contract, ["paid_amount", "payments"])
    return pay


# -- who manages what ----------------------------------------------------------------------
def assert_manages_project(session: Session, project: Project, *, scope: Scope | None = None) -> None:
    """403 unless the user may act on the project (its region; a purchaser's own units, an
    agency's entrusted projects)."""
    scope = scope or current_scope()
    check_region_writable(project.region_id, scope=scope)
    errors = Errors()
    with session.no_autoflush:
        _check_actor_project(session, errors, project, project.purchaser, project.agency, scope,
                             field_prefix="project")
    if errors.messages:
        raise ScopeViolation("project", errors.messages["project"][0])


def assert_manages_contract(session: Session, contract: Contract, *,
                            scope: Scope | None = None) -> None:
    """403 unless the user may act on the contract (its region; a purchaser's own units)."""
    scope = scope or current_scope()
    check_region_writable(contract.region_id, scope=scope)
    if scope.actor == "purchaser" and scope.org_id is not None and not scope.unrestricted:
        with session.no_autoflush:
            if contract.purchaser_id not in _own_units(session, scope.org_id):
                raise ScopeViolation("purchaser", "只能管理本单位（及所属预算单位）的合同")


# -- deletes ----------------------------------------------------------------------------------
def check_delete(session: Session, obj: Any) -> None:
    """What may be deleted: drafts and records nothing depends on yet."""
    with session.no_autoflush:
        if isinstance(obj, Project):
            if obj.status != "draft":
                raise RuleError({"status": [f"项目状态为“{PROJECT_STATES.get(obj.status)}”，只能删除草稿项目"]})
        elif isinstance(obj, Package):
            if obj.project is not None and obj.project.status != "draft":
                raise RuleError({"project": ["项目已发布，不能删除采购包"]})
        elif isinstance(obj, Bid):
            if obj.status in ("won", "lost") or (obj.project or obj.package.project).status not in ("published",):
                raise RuleError({"status": ["开标后投标记录不能删除"]})
        elif isinstance(obj, Contract):
            if obj.status != "draft":
                raise RuleError({"status": [f"合同状态为“{CONTRACT_STATES.get(obj.status)}”，只能删除草稿合同"]})
        elif isinstance(obj, Payment | PaymentPlan):
            if obj.contract is not None and obj.contract.status in ("completed", "terminated"):
                raise RuleError({"contract": [f"合同已{CONTRACT_STATES.get(obj.contract.status)}，不能删除"]})


# -- state machines ---------------------------------------------------------------------------
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
    n = session.execute(select(func.count(Bid.id)).join(Package, Bid.package_id == Package.id).where(
        Package.project_id == p.id, Bid.status == "submitted")).scalar_one()
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
        Transition("publish", "draft", "published", guard=_g_publish, label_zh="发布公告"),
        Transition("open_bidding", "published", "bidding", guard=_g_open, label_zh="开标"),
        Transition("evaluate", "bidding", "evaluated", guard=_g_evaluate, label_zh="完成评审"),
        Transition("award", "evaluated", "awarded", guard=_g_award, label_zh="确定中标"),
        Transition("contract", "awarded", "contracted", guard=_g_contract, label_zh="签订合同"),
        Transition("complete", "contracted", "completed", guard=_g_complete, label_zh="项目完成"),
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
        return CONTRACT_FLOW.trigger(contract, name, actor=actor, reason=reason, session=session,
                                     on=contract.signed_date if name == "sign" else None)
    except TransitionError:
        contract.signed_date = saved
        raise


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


# -- audit of money ---------------------------------------------------------------------------
#: the money columns of each model; every create, delete and change of them is audited
MONEY_FIELDS: Mapping[type, tuple[str, ...]] = {
    Project: ("budget", "sme_reserved_amount"),
    Package: ("budget",),
    Bid: ("price",),
    Contract: ("amount",),
    PaymentPlan: ("amount",),
    Payment: ("amount",),
}
#: identifying columns stored with the money values
AUDIT_KEYS: Mapping[type, tuple[str, ...]] = {
    Project: ("number",),
    Package: ("project_id", "number"),
    Bid: ("package_id", "supplier_id"),
    Contract: ("number", "supplier_id"),
    PaymentPlan: ("contract_id", "seq", "due_date"),
    Payment: ("contract_id", "paid_date", "reference"),
}


def _audit_values(obj: Any, keys: Iterable[str]) -> dict[str, Any]:
    state = inspect(obj)
    return {k: state.dict.get(k) for k in keys}


def _money_history(obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before, after = {}, {}
    for key in MONEY_FIELDS[type(obj)]:
        hist = state.attrs[key].history
        if hist.added or hist.deleted:
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old != new:
                before[key], after[key] = old, new
    return before, after


def audit_money_changes(session: Session, flush_context: Any) -> None:
    """``after_flush``: one audit record per created, deleted or re-priced money record."""
    if not any(type(o) in MONEY_FIELDS for o in (*session.new, *session.dirty, *session.deleted)):
        return
    conn = session.connection()
    for obj in list(session.new):
        if type(obj) in MONEY_FIELDS:
            values = _audit_values(obj, (*AUDIT_KEYS[type(obj)], *MONEY_FIELDS[type(obj)]))
            audit.record(conn, action="create", object_type=obj.__tablename__, object_id=obj.id,
                         after=values, module=MODULE, region_id=obj.region_id)
    for obj in list(session.dirty):
        if type(obj) in MONEY_FIELDS and session.is_modified(obj, include_collections=False):
            before, after = _money_history(obj)
            if before or after:
                keys = _audit_values(obj, AUDIT_KEYS[type(obj)])
                audit.record(conn, action="update", object_type=obj.__tablename__, object_id=obj.id,
                             before={**keys, **before}, after={**keys, **after}, module=MODULE,
                             region_id=obj.region_id)
    for obj in list(session.deleted):
        if type(obj) in MONEY_FIELDS:
            values = _audit_values(obj, (*AUDIT_KEYS[type(obj)], *MONEY_FIELDS[type(obj)]))
            audit.record(conn, action="delete", object_type=obj.__tablename__, object_id=obj.id,
                         before=values, module=MODULE, region_id=obj.region_id)


def _install_listeners() -> None:
    from sqlalchemy import event

    if not event.contains(Session, "after_flush", audit_money_changes):
        event.listen(Session, "after_flush", audit_money_changes)


_install_listeners()


# -- labels ------------------------------------------------------------------------------------
def label(mapping: Mapping[str, str], value: Any) -> str:
    return mapping.get(value, value or "") if isinstance(value, str) or value is None else str(value)
