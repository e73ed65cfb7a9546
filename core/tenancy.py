"""Tenancy: regions, per-region module enablement, and row scoping.

* A region inherits the modules its ancestors enabled, and may switch an inherited module
  off for itself (a row with ``enabled = False``). The nearest row up the tree decides.
* Region-scoped models (``RegionScoped``) carry ``region_id``. One central hook
  (``do_orm_execute`` + ``with_loader_criteria``) restricts every ORM read of the current
  user to the regions they may see; ``before_flush`` refuses writes outside them.
* Cross-region actors (suppliers, banks and insurers, experts) see records through the
  record rules a model declares for them (``__record_rules__``), limited to regions
  where the model's module is enabled; with no rule for an actor, they see nothing.
* Visibility has three reaches (:attr:`Scope.reach`): ``own`` (purchasers, private
  procurement agencies, suppliers, banks, experts: the business records of their own
  organisation), ``region`` (region admins, auditors, centralized procurement
  institutions: their region subtree), ``province`` (platform admins). A model holding
  business records declares who owns a record with the rule ``"own"``
  (``OWN_RULE``); it is added to the region rule for every region user of reach ``own``.
* Records the law keeps secret until a moment (bids before opening) declare
  ``__secret_until__ = SecretUntil(moment=..., opened=..., known_to=...)``: before the
  moment only the actors it names (the bidder) see them, whatever their reach, the
  platform admin included; only code outside a request (``SYSTEM``) reads them.
"""

from __future__ import annotations

import contextvars
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Integer, delete, event, false, insert, select, true, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    relationship,
    with_loader_criteria,
)

from core.addons.manifest import AddonError
from core.models import Region, RegionModule

REG = Region.__table__
RM = RegionModule.__table__

#: org_type -> actor kind
ACTOR_OF_ORG_TYPE = {
    "finance": "finance",
    "purchaser": "purchaser",
    "competent_unit": "purchaser",
    "central_procurement": "agency",
    "agency": "agency",
    "supplier": "supplier",
    "bank": "bank",
    "insurer": "bank",
    "expert_body": "expert",
}
CROSS_REGION_ACTORS = frozenset({"supplier", "bank", "expert"})

#: the three reaches of visibility (ARCHITECTURE "Visibility has three reaches"), narrow first
REACH_OWN, REACH_REGION, REACH_PROVINCE = "own", "region", "province"
REACHES = (REACH_OWN, REACH_REGION, REACH_PROVINCE)
REACH_LABELS = {REACH_OWN: "本单位", REACH_REGION: "本地区及下级地区", REACH_PROVINCE: "全省"}
#: the key of the record rule that says which records an organisation owns
OWN_RULE = "own"
#: organisation types whose users see only their own organisation's business records
#: (a competent budget unit also those of its subordinate units: ``own_units``)
OWN_REACH_ORG_TYPES = frozenset({"purchaser", "competent_unit", "agency"})
#: the reach of each role a user may be granted: what its holder may see and act on.
#: 电子卖场管理 reviews admissions and listings of the one provincial e-mall: province-wide.
#: A role not listed reaches as far as its holder's organisation type allows.
ROLE_REACH: dict[str, str] = {
    "采购人": REACH_OWN,
    "采购代理机构": REACH_OWN,  # a centralized procurement institution's users: region
    "供应商": REACH_OWN,
    "银行": REACH_OWN,
    "评审专家": REACH_OWN,
    "审计监督": REACH_REGION,
    "地区管理员": REACH_REGION,
    "专家管理": REACH_REGION,
    "电子卖场管理": REACH_PROVINCE,
}


class ScopeViolation(Exception):
    """A write outside the user's regions (answered 403 with a field message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RegionScoped:
    """Mixin for region-scoped models: ``region_id`` plus optional record rules.

    ``__record_rules__`` maps an actor kind ("supplier", "bank", "expert", "purchaser",
    "agency", "finance", "public") to ``fn(cls, scope) -> SQL criteria``. For a
    cross-region actor the rule replaces the region rule; for a region actor it is added.
    """

    __record_rules__: ClassVar[dict[str, Callable[[Any, Scope], Any]]] = {}

    @declared_attr
    def region_id(cls) -> Mapped[int]:
        return mapped_column(Integer, ForeignKey("erp_region.id"), nullable=False, index=True)

    @declared_attr
    def region(cls) -> Mapped[Region]:
        """FAB forms and APIs work with the relationship (FK columns are not exposed).

        An inner join (``region_id`` is NOT NULL; PostgreSQL refuses ``FOR UPDATE`` on the
        nullable side of an outer join). Caution: an API column ``rel.x`` over a nullable
        relation to a region-scoped model makes FAB outer-join ``rel`` with contains_eager,
        and this inner join chained to it drops every row whose ``rel`` is empty: list the
        foreign key (``rel_id``) instead (tests/core/test_scoping.py checks every API)."""
        return relationship(Region, lazy="joined", innerjoin=True)


@dataclass(frozen=True)
class SecretUntil:
    """A record kept secret by law until a moment, declared next to the model::

        class Bid(RegionScoped, Model):
            __secret_until__ = SecretUntil(
                moment="开标", source="招标投标法第二十二条；财政部令第87号",
                opened=lambda cls: ...,                       # SQL: the moment has come
                known_to={"supplier": lambda cls, scope: cls.supplier_id == scope.org_id},
            )

    Before the moment a record exists only for the actors ``known_to`` names (its
    existence included): every other user, whatever their reach (the platform admin
    too), neither lists nor finds it. After the moment the model's usual rules apply.
    """

    moment: str
    opened: Callable[[Any], Any]
    known_to: dict[str, Callable[[Any, Any], Any]] = field(default_factory=dict)
    source: str = ""

    def criteria(self, cls: Any, scope: Scope) -> Any:
        crit = self.opened(cls)
        rule = self.known_to.get(scope.actor)
        return crit if rule is None else (crit | rule(cls, scope))


def own_units(scope: Scope) -> Any:
    """SQL: the ids of the organisations whose business records ``scope`` owns: its own
    organisation and, for a competent budget unit (主管预算单位), its subordinate units."""
    from sqlalchemy import or_

    from core.models import Organization

    # never correlated: the outer query may itself select from erp_organization
    return select(Organization.id).where(
        or_(Organization.id == scope.org_id, Organization.parent_id == scope.org_id)
    ).correlate(None)


def role_reach(role: str, org_type: str | None = None) -> str | None:
    """The reach of a role held by a user of an organisation of ``org_type`` (None: the
    role is not listed; it reaches as far as the holder's own reach)."""
    reach = ROLE_REACH.get(role)
    if reach == REACH_OWN and role == "采购代理机构" and org_type == "central_procurement":
        return REACH_REGION
    return reach


def grant_problems(roles: Iterable[str], org_type: str | None,
                   scope: Scope | None = None) -> list[str]:
    """Messages for the roles ``scope`` may not grant to a user of an organisation of
    ``org_type`` (empty: all may be granted). A user grants only roles whose reach is
    within their own: the platform admin any; a region admin roles of their organisation
    or region reach (the organisation must be in their subtree, checked by the caller), and
    a province-wide role (电子卖场管理) only when their region is the province itself."""
    scope = scope or current_scope()
    if scope.unrestricted:
        return []
    snap = snapshot()
    covers_province = scope.region_id is not None and snap.parent.get(scope.region_id) is None
    mine = REACH_PROVINCE if covers_province and scope.reach == REACH_REGION else scope.reach
    where = snap.name_of.get(scope.region_id or -1, "本单位")
    out = []
    for role in roles:
        reach = role_reach(role, org_type) or REACH_OWN
        if REACHES.index(reach) <= REACHES.index(mine):
            continue
        if reach == REACH_PROVINCE:
            out.append(f"不能授予角色“{role}”：该角色的范围是全省，超出您的管辖范围（{where}及下级地区）；"
                       "只有省级地区管理员或平台管理员可以授予")
        else:
            out.append(f"不能授予角色“{role}”：该角色的范围是{REACH_LABELS[reach]}，"
                       f"超出您本人的范围（{REACH_LABELS[mine]}）")
    return out


# -- the region tree and enablement, cached per worker ----------------------------------
@dataclass
class TenancySnapshot:
    version: Any
    code_of: dict[int, str]
    id_of: dict[str, int]
    name_of: dict[int, str]
    parent: dict[int, int | None]
    children: dict[int, list[int]]
    rows: dict[int, dict[str, bool]]  # region -> module -> enabled
    _subtree: dict[int, frozenset[int]] = field(default_factory=dict)
    _effective: dict[int, dict[str, int]] = field(default_factory=dict)

    def ancestors(self, region_id: int) -> list[int]:
        """Root first, the region itself last."""
        chain = []
        cur: int | None = region_id
        while cur is not None:
            chain.append(cur)
            cur = self.parent.get(cur)
        return list(reversed(chain))

    def subtree(self, region_id: int) -> frozenset[int]:
        if region_id not in self._subtree:
            out, todo = set(), [region_id]
            while todo:
                r = todo.pop()
                out.add(r)
                todo.extend(self.children.get(r, ()))
            self._subtree[region_id] = frozenset(out)
        return self._subtree[region_id]

    def effective(self, region_id: int) -> dict[str, int]:
        """module -> id of the region whose row enables it here."""
        if region_id not in self._effective:
            eff: dict[str, int] = {}
            for r in self.ancestors(region_id):
                for module, enabled in self.rows.get(r, {}).items():
                    if enabled:
                        eff[module] = r
                    else:
                        eff.pop(module, None)
            self._effective[region_id] = eff
        return self._effective[region_id]

    def regions_enabling(self, module: str) -> frozenset[int]:
        return frozenset(r for r in self.code_of if module in self.effective(r))


def load_snapshot(conn: Connection, version: Any = None) -> TenancySnapshot:
    code_of, id_of, name_of, parent, children = {}, {}, {}, {}, {}
    for r in conn.execute(select(REG.c.id, REG.c.code, REG.c.name, REG.c.parent_id)):
        code_of[r.id], id_of[r.code], name_of[r.id], parent[r.id] = (
            r.code, r.id, r.name, r.parent_id
        )
        children.setdefault(r.parent_id, []).append(r.id)
    rows: dict[int, dict[str, bool]] = {}
    for r in conn.execute(select(RM.c.region_id, RM.c.module, RM.c.enabled)):
        rows.setdefault(r.region_id, {})[r.module] = bool(r.enabled)
    return TenancySnapshot(version, code_of, id_of, name_of, parent, children, rows)


_STATE_TOKENS = itertools.count(1)


class TenancyCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.snapshot: TenancySnapshot | None = None

    def get(self, state: Any) -> TenancySnapshot:
        state.cache.refresh()
        # keyed on the app's state too: two apps in one process (tests, benches) on two
        # databases may show the same counter value, and must not share a snapshot
        token = getattr(state, "_erp_tenancy_token", None)
        if token is None:
            token = state._erp_tenancy_token = next(_STATE_TOKENS)
        version = (token, state.cache.generation, state.cache.version)
        snap = self.snapshot
        if snap is None or snap.version != version:
            with self._lock:
                with state.cache.engine_getter().connect() as conn:
                    snap = load_snapshot(conn, version)
                self.snapshot = snap
        return snap


_tenancy = TenancyCache()


def snapshot() -> TenancySnapshot:
    from flask import current_app

    return _tenancy.get(current_app.extensions["erp"])


# -- scope of the current user ---------------------------------------------------------------
@dataclass(frozen=True)
class Scope:
    actor: str  # system / platform / finance / purchaser / agency / supplier / bank / expert / public
    user_id: int | None = None
    org_id: int | None = None
    region_id: int | None = None
    #: regions whose records the user may read and write; None = unrestricted
    region_ids: frozenset[int] | None = None
    #: the type of the user's organisation (decides the reach of region users)
    org_type: str | None = None

    @property
    def unrestricted(self) -> bool:
        return self.region_ids is None and self.actor in ("system", "platform")

    @property
    def reach(self) -> str:
        """``own``, ``region`` or ``province`` (see the module docstring)."""
        if self.unrestricted:
            return REACH_PROVINCE
        if self.actor in CROSS_REGION_ACTORS or self.actor == "public":
            return REACH_OWN
        if self.org_type is not None:
            return REACH_OWN if self.org_type in OWN_REACH_ORG_TYPES else REACH_REGION
        # a scope built by hand (services, tests): purchasers and agencies own, others region
        return REACH_OWN if self.actor in ("purchaser", "agency") else REACH_REGION


SYSTEM = Scope(actor="system")
_explicit: contextvars.ContextVar[Scope | None] = contextvars.ContextVar("erp_scope", default=None)
_resolving: contextvars.ContextVar[bool] = contextvars.ContextVar("erp_scope_resolving", default=False)


@contextmanager
def use_scope(scope: Scope) -> Iterator[Scope]:
    """Run code (services, tests, CLI) as a given scope."""
    token = _explicit.set(scope)
    try:
        yield scope
    finally:
        _explicit.reset(token)


def scope_for_user(user: Any, snap: TenancySnapshot, admin_role: str = "Admin") -> Scope:
    if user is None or not getattr(user, "is_authenticated", False):
        return Scope(actor="public", region_ids=frozenset())
    if any(r.name == admin_role for r in user.roles):
        return Scope(actor="platform", user_id=user.id)
    org = getattr(user, "organization", None)
    region_id = getattr(user, "effective_region_id", None)
    actor = ACTOR_OF_ORG_TYPE.get(org.org_type, "region") if org is not None else "region"
    org_type = getattr(org, "org_type", None)
    if region_id is None or region_id not in snap.code_of:
        return Scope(actor=actor, user_id=user.id, org_id=getattr(org, "id", None),
                     region_ids=frozenset(), org_type=org_type)
    return Scope(
        actor=actor,
        user_id=user.id,
        org_id=getattr(org, "id", None),
        region_id=region_id,
        region_ids=snap.subtree(region_id),
        org_type=org_type,
    )


def current_scope() -> Scope:
    explicit = _explicit.get()
    if explicit is not None:
        return explicit
    from flask import current_app, g, has_request_context

    if not has_request_context():
        return SYSTEM
    cached = getattr(g, "_erp_scope", None)
    if cached is not None:
        return cached
    if _resolving.get():
        # the queries that load the user themselves (ab_user, roles) are not region-scoped
        return SYSTEM
    from core.security import current_erp_user

    token = _resolving.set(True)
    try:
        user = current_erp_user()
        scope = scope_for_user(user, snapshot(), current_app.config["AUTH_ROLE_ADMIN"])
    finally:
        _resolving.reset(token)
    if user is not None:  # anonymous scope may still become a user later in the request
        g._erp_scope = scope
    return scope


def validate_record_rules() -> None:
    """Build every record rule of every region-scoped class once (at boot), so a broken
    rule stops the platform with a message naming it instead of failing every query."""
    from sqlalchemy.exc import SQLAlchemyError

    probe = Scope(actor="probe", user_id=0, org_id=0, region_id=0, region_ids=frozenset({0}))
    for cls in _all_scoped_classes():
        for actor, rule in (getattr(cls, "__record_rules__", {}) or {}).items():
            try:
                rule(cls, probe)
            except (AttributeError, TypeError, SQLAlchemyError) as exc:
                raise AddonError(
                    f"{cls.__module__}.{cls.__name__}: record rule for {actor!r} is invalid: {exc}"
                ) from exc
        secret = getattr(cls, "__secret_until__", None)
        if secret is not None:
            try:
                for actor in (*secret.known_to, "probe"):
                    secret.criteria(cls, Scope(actor=actor, user_id=0, org_id=0, region_id=0,
                                               region_ids=frozenset({0})))
            except (AttributeError, TypeError, SQLAlchemyError) as exc:
                raise AddonError(
                    f"{cls.__module__}.{cls.__name__}: __secret_until__ is invalid: {exc}"
                ) from exc


def _module_of(cls: type) -> str | None:
    table = getattr(cls, "__table__", None)
    module = table.info.get("erp_module") if table is not None else None
    if module is None:
        # a model imported before the registry tagged its table (a test module importing
        # the add-on's models at collection): the add-on is the package it is defined in
        parts = getattr(cls, "__module__", "").split(".")
        if len(parts) > 2 and parts[0] == "addons":
            module = parts[1]
    return module


def criteria_for(cls: Any, scope: Scope, *, with_region: bool = True) -> Any | None:
    """The WHERE criteria scoping ``cls`` for ``scope`` (None: no restriction).
    ``with_region=False``: for a region user, only what the record rules add to the
    region rule."""
    secret = getattr(cls, "__secret_until__", None)
    if scope.unrestricted:
        # the platform admin in a request still does not see what the law keeps secret;
        # code outside a request (SYSTEM: CLI, jobs) does
        if secret is not None and scope.actor == "platform":
            return secret.criteria(cls, scope)
        return None
    rules = getattr(cls, "__record_rules__", {}) or {}
    rule = rules.get(scope.actor)
    if scope.actor in CROSS_REGION_ACTORS or scope.actor == "public":
        if rule is None:
            return false()
        module = _module_of(cls)
        crit = rule(cls, scope)
        if module is not None:
            regions = snapshot().regions_enabling(module)
            crit = crit & cls.region_id.in_(sorted(regions))
    else:
        crit = cls.region_id.in_(sorted(scope.region_ids or ())) if with_region else true()
        if rule is not None:
            crit = crit & rule(cls, scope)
        own = rules.get(OWN_RULE)
        if own is not None and scope.reach == REACH_OWN:
            crit = crit & own(cls, scope)
    if secret is not None:
        crit = crit & secret.criteria(cls, scope)
    return crit


def has_special_rules(cls: Any, scope: Scope) -> bool:
    """Whether ``cls`` is scoped for ``scope`` by more than its region."""
    rules = getattr(cls, "__record_rules__", {}) or {}
    return (
        scope.actor in CROSS_REGION_ACTORS
        or scope.actor == "public"
        or scope.actor in rules
        or getattr(cls, "__secret_until__", None) is not None
        or (OWN_RULE in rules and scope.reach == REACH_OWN)
    )


_scoped_classes_cache: tuple[int, list[type]] = (-1, [])


def _all_scoped_classes() -> list[type]:
    """Every mapped RegionScoped class (a statement may reach them through subqueries,
    e.g. ``Query.count()``, where ``all_mappers`` does not show them). Cached until a
    new class is mapped."""
    global _scoped_classes_cache
    from core.db import Model

    mappers = Model.registry.mappers
    if _scoped_classes_cache[0] != len(mappers):
        _scoped_classes_cache = (
            len(mappers),
            [m.class_ for m in mappers if issubclass(m.class_, RegionScoped)],
        )
    return _scoped_classes_cache[1]


_reach_cache: tuple[int, dict[str, frozenset[type]]] = (-1, {})


def _reach_by_table() -> dict[str, frozenset[type]]:
    """table name -> the region-scoped classes a statement reading that table may load: its
    own class, and every class reachable from it through relationships (eager joins, loader
    options of any depth) and through the tables its column properties read. Cached until
    a new class is mapped."""
    global _reach_cache
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.selectable import TableClause

    from core.db import Model

    mappers = Model.registry.mappers
    if _reach_cache[0] == len(mappers):
        return _reach_cache[1]
    by_table: dict[str, type] = {}
    for m in mappers:
        for table in m.tables:
            by_table.setdefault(table.name, m.class_)
    scoped = set(_all_scoped_classes())

    def neighbours(cls: type) -> set[type]:
        mapper = sa_inspect(cls)
        out = {rel.mapper.class_ for rel in mapper.relationships}
        for prop in mapper.column_attrs:
            for expr in prop.columns:
                for el in visitors.iterate(expr):
                    if isinstance(el, TableClause) and el.name in by_table:
                        out.add(by_table[el.name])
        return out

    reach: dict[str, frozenset[type]] = {}
    for name, cls in by_table.items():
        seen, todo = {cls}, [cls]
        while todo:
            for nxt in neighbours(todo.pop()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        reach[name] = frozenset(c for c in seen if c in scoped)
    _reach_cache = (len(mappers), reach)
    return reach


def _statement_classes(statement: Any, classes: list[type]) -> list[type]:
    """The region-scoped classes among ``classes`` that ``statement`` may load (see
    :func:`_reach_by_table`): the criteria are attached for those only. Compiling a
    statement's cache key costs in proportion to its options, and a region user's statement
    carried one or two per scoped class of the platform (measured: 40 % of a purchaser's
    page time). A statement whose tables are not found (text) keeps every class."""
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.selectable import TableClause

    reach = _reach_by_table()
    found: set[type] = set()
    any_table = False
    for el in visitors.iterate(statement):
        if isinstance(el, TableClause):
            any_table = True
            found |= reach.get(el.name, frozenset())
    if not any_table:
        return classes
    return [c for c in classes if c in found]


_criteria_cache: dict[tuple[Scope, type, Any], Any] = {}


def _criteria_cached(cls: type, scope: Scope, with_region: bool = True) -> Any:
    # enablement changes which regions a cross-region actor reaches: key on its version
    version = snapshot().version if scope.actor in CROSS_REGION_ACTORS or scope.actor == "public" else None
    key = (scope, cls, version, with_region)
    if key not in _criteria_cache:
        if len(_criteria_cache) > 4096:
            _criteria_cache.clear()
        _criteria_cache[key] = criteria_for(cls, scope, with_region=with_region)
    return _criteria_cache[key]


@event.listens_for(Session, "do_orm_execute")
def _scope_reads(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("erp_unscoped"):
        return
    classes = _all_scoped_classes()
    if not classes:
        return
    scope = current_scope()
    if scope.unrestricted:
        if scope.actor != "platform":
            return
        # the platform admin: unrestricted but for records secret until a moment
        classes = [c for c in classes if getattr(c, "__secret_until__", None) is not None]
    classes = _statement_classes(state.statement, classes)
    if not classes:
        return
    options = []
    region_ids = tuple(sorted(scope.region_ids or ()))
    for cls in classes:
        if not scope.unrestricted and not has_special_rules(cls, scope):
            # the common case, as a lambda so that aliases of the class (FAB joins a related
            # model under an alias for dotted list columns) get the criteria too; the region
            # ids are a tracked closure variable, bound as a parameter on every execution
            options.append(
                with_loader_criteria(
                    cls, lambda c: c.region_id.in_(region_ids), include_aliases=True
                )
            )
            continue
        if scope.unrestricted or scope.actor in CROSS_REGION_ACTORS or scope.actor == "public":
            crit = _criteria_cached(cls, scope)
            if crit is not None:
                options.append(with_loader_criteria(cls, crit, include_aliases=not scope.unrestricted))
            continue
        # a region user's region rule reaches aliases too (a lambda, adapted per alias);
        # the record rules (own reach, secret until a moment) apply to the entity itself: a
        # fixed expression is not adapted to an alias (FAB joins related models under an
        # alias only to show or sort by their columns)
        options.append(
            with_loader_criteria(cls, lambda c: c.region_id.in_(region_ids), include_aliases=True)
        )
        crit = _criteria_cached(cls, scope, with_region=False)
        if crit is not None:
            options.append(with_loader_criteria(cls, crit, include_aliases=False))
    if options:
        state.statement = state.statement.options(*options)


SCOPE_MESSAGE = "所选地区不在您的管辖范围内，未保存任何数据"
OUT_OF_SCOPE_MESSAGE = "该记录不在您的管辖范围内"


def writable_regions(cls: type, scope: Scope | None = None) -> frozenset[int] | None:
    """Regions where ``scope`` may write records of ``cls`` (None: everywhere): a region
    user in their region subtree, a cross-region actor where the model's module is enabled."""
    scope = scope or current_scope()
    if scope.unrestricted:
        return None
    if scope.actor in CROSS_REGION_ACTORS:
        module = _module_of(cls)
        return snapshot().regions_enabling(module) if module else frozenset()
    return scope.region_ids or frozenset()


def check_region_writable(cls: type, region_id: int | None, *, field: str = "region_id",
                          scope: Scope | None = None) -> None:
    """Raise :class:`ScopeViolation` when ``region_id`` is outside the writable regions.

    The flush hook calls it for every write; APIs call it on the posted region before they
    validate the body, so validation messages never tell about another region's data."""
    if region_id is None:
        return
    allowed = writable_regions(cls, scope)
    if allowed is not None and region_id not in allowed:
        raise ScopeViolation(field, SCOPE_MESSAGE)


@event.listens_for(Session, "before_flush")
def _scope_writes(session: Session, flush_context: Any, instances: Any) -> None:
    objs = [o for o in list(session.new) + list(session.dirty) if isinstance(o, RegionScoped)]
    if not objs:
        return
    scope = current_scope()
    if scope.unrestricted:
        return
    for obj in objs:
        # forms and APIs set the relationship; the FK column follows only at flush
        region = obj.__dict__.get("region")
        if region is not None:
            obj.region_id = region.id
        if obj.region_id is None and obj in session.new and scope.region_id is not None:
            obj.region_id = scope.region_id
        if obj.region_id is None:
            raise ScopeViolation("region_id", SCOPE_MESSAGE)
        check_region_writable(type(obj), obj.region_id, scope=scope)
    for obj in session.deleted:
        if isinstance(obj, RegionScoped) and scope.region_ids is not None:
            if scope.actor not in CROSS_REGION_ACTORS and obj.region_id not in scope.region_ids:
                raise ScopeViolation("region_id", OUT_OF_SCOPE_MESSAGE)


# -- module gating by region ---------------------------------------------------------------
def module_allowed_for_request(module: str) -> bool:
    """Whether the current user may reach a module's pages and APIs."""
    scope = current_scope()
    if scope.unrestricted:
        return True
    snap = snapshot()
    if scope.actor in CROSS_REGION_ACTORS or scope.actor == "public":
        return bool(snap.regions_enabling(module))
    if scope.region_id is None:
        return False
    return module in snap.effective(scope.region_id)


# -- enablement service ------------------------------------------------------------------
@dataclass
class EnablementChange:
    region: str
    enabled: list[str] = field(default_factory=list)
    disabled: list[tuple[str, str]] = field(default_factory=list)  # (region code, module)
    blockers: list[tuple[str, str]] = field(default_factory=list)  # (region code, module)


class Enablement:
    """Enable / disable installed modules for regions (on the caller's connection)."""

    def __init__(self, conn: Connection, registry: Any, installed: Iterable[str]) -> None:
        self.conn = conn
        self.registry = registry
        self.installed = set(installed)
        self.snap = load_snapshot(conn)

    def is_plumbing(self, name: str) -> bool:
        """An auto-install module without dependencies (e.g. ``base``): nothing to enable."""
        m = self.registry[name]
        return m.auto_install and not m.depends

    def region(self, code: str) -> int:
        rid = self.snap.id_of.get(code)
        if rid is None:
            raise AddonError(f"unknown region {code!r} (use a 6-digit GB/T 2260 code)")
        return rid

    def _check_module(self, name: str) -> None:
        if name not in self.registry:
            raise AddonError(f"unknown module {name!r}")
        if name not in self.installed:
            raise AddonError(f"module {name!r} is not installed on the platform")

    def _set(self, region_id: int, module: str, enabled: bool | None, actor: str | None) -> None:
        """Write the row for (region, module): True/False, or None to delete it."""
        rows = self.snap.rows.setdefault(region_id, {})
        __import__("core.services.audit", fromlist=["audit"]).record_enablement(self.conn, region_id, module, rows.get(module), enabled, actor, self.snap.code_of.get(region_id))
        cond = (RM.c.region_id == region_id) & (RM.c.module == module)
        if enabled is None:
            if module in rows:
                self.conn.execute(delete(RM).where(cond))
                del rows[module]
        elif module in rows:
            if rows[module] != enabled:
                self.conn.execute(update(RM).where(cond).values(enabled=enabled, changed_by=actor))
                rows[module] = enabled
        else:
            self.conn.execute(
                insert(RM).values(region_id=region_id, module=module, enabled=enabled,
                                  changed_by=actor)
            )
            rows[module] = enabled
        self.snap._effective.clear()

    def _violations(self, region_id: int) -> list[tuple[int, str]]:
        """(region, module) effective somewhere in the subtree without all its dependencies."""
        out = []
        for r in sorted(self.snap.subtree(region_id)):
            eff = self.snap.effective(r)
            for m in eff:
                if m in self.registry and any(
                    d not in eff and not self.is_plumbing(d) for d in self.registry[m].depends
                ):
                    out.append((r, m))
        return out

    def plan_enable(self, code: str, modules: Iterable[str]) -> list[str]:
        rid = self.region(code)
        for m in modules:
            self._check_module(m)
        eff = set(self.snap.effective(rid))
        want = set(self.registry.closure(modules))
        missing = [m for m in want if m not in self.installed]
        if missing:
            raise AddonError(
                f"cannot enable: dependencies not installed on the platform: {', '.join(sorted(missing))}"
            )
        while True:
            # bridges (auto_install with dependencies); an auto_install module without
            # dependencies is platform plumbing, enabled nowhere in particular
            bridges = [
                b for b in self.registry.bridges_ready(eff | want)
                if b in self.installed and b not in want and self.registry[b].depends
            ]
            if not bridges:
                break
            want.update(bridges)
        return self.registry.sort(m for m in want - eff if not self.is_plumbing(m))

    def enable(self, code: str, modules: Iterable[str], actor: str | None = None) -> list[str]:
        rid = self.region(code)
        plan = self.plan_enable(code, modules)
        parent = self.snap.parent.get(rid)
        for m in plan:
            inherited = parent is not None and m in self.snap.effective(parent)
            self._set(rid, m, None if inherited else True, actor)
            if m not in self.snap.effective(rid):  # still off: an explicit row is needed
                self._set(rid, m, True, actor)
        return plan

    def plan_disable(self, code: str, module: str) -> EnablementChange:
        rid = self.region(code)
        self._check_module(module)
        change = EnablementChange(region=code)
        saved = {r: dict(v) for r, v in self.snap.rows.items()}
        try:
            self._disable_here(rid, module)
            for r, m in self._violations(rid):
                item = (self.snap.code_of[r], m)
                if self.registry[m].auto_install:
                    change.disabled.append(item)
                else:
                    change.blockers.append(item)
        finally:
            self.snap.rows = saved
            self.snap._effective.clear()
        return change

    def _disable_here(self, rid: int, module: str) -> None:
        rows = self.snap.rows.setdefault(rid, {})
        rows.pop(module, None)
        self.snap._effective.clear()
        if module in self.snap.effective(rid):
            rows[module] = False
        self.snap._effective.clear()

    def disable(self, code: str, module: str, *, cascade: bool = False,
                actor: str | None = None) -> EnablementChange:
        rid = self.region(code)
        change = self.plan_disable(code, module)
        if change.blockers and not cascade:
            names = ", ".join(f"{m} ({c})" for c, m in change.blockers)
            raise AddonError(
                f"cannot disable {module!r} for {code}: enabled modules depend on it: {names} "
                "(use --cascade to disable them too)"
            )
        if module not in self.snap.effective(rid):
            raise AddonError(f"module {module!r} is not enabled for {code}")
        self._apply_disable(rid, module, actor)
        done = [(code, module)]
        while True:
            violations = self._violations(rid)
            if not violations:
                break
            for r, m in violations:
                self._apply_disable(r, m, actor)
                done.append((self.snap.code_of[r], m))
        change.disabled = done
        return change

    def _apply_disable(self, rid: int, module: str, actor: str | None) -> None:
        self._set(rid, module, None, actor)
        if module in self.snap.effective(rid):
            self._set(rid, module, False, actor)

    def modules(self, code: str) -> list[dict[str, Any]]:
        rid = self.region(code)
        eff = self.snap.effective(rid)
        out = []
        for name in self.registry.order:
            if name not in self.installed or self.is_plumbing(name):
                continue
            source = eff.get(name)
            out.append(
                {
                    "name": name,
                    "enabled": source is not None,
                    "inherited_from": (
                        self.snap.code_of[source] if source is not None and source != rid else None
                    ),
                    "explicit": self.snap.rows.get(rid, {}).get(name),
                    "depends": list(self.registry[name].depends),
                    "summary": self.registry[name].summary,
                }
            )
        return out
