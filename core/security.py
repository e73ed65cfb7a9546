"""Security: the platform's user model, cached permission checks, API login rate limit.

FAB 5.3 checks permissions with several SQL queries per request and caches nothing. Here
each worker keeps every role's permissions in memory; the cache is dropped whenever the
database's ``modules`` signal moves (install, role sync, enablement) or a role or grant is
changed through the ORM. With the user loaded in one statement (roles eagerly joined), a
list API call costs the user, the count and the page: three statements.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app, g
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.sqla.models import (
    Group,
    PermissionView,
    Role,
    User,
    assoc_permissionview_role,
)
from flask_appbuilder.security.views import UserDBModelView
from flask_babel import lazy_gettext as _l
from flask_jwt_extended import verify_jwt_in_request
from sqlalchemy import ForeignKey, Integer, event, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from core.models import Organization, Region


class ErpUser(User):
    """FAB's user with the organisation (and so the region) the user belongs to."""

    __tablename__ = "ab_user"

    organization_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("erp_organization.id"), nullable=True
    )
    #: the user's own region when it differs from the organisation's (e.g. a region admin)
    region_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("erp_region.id"), nullable=True
    )
    organization: Mapped[Organization | None] = relationship(lazy="joined")
    region: Mapped[Region | None] = relationship(lazy="joined")

    @property
    def effective_region_id(self) -> int | None:
        if self.region_id is not None:
            return self.region_id
        return self.organization.region_id if self.organization is not None else None


class ErpUserDBModelView(UserDBModelView):
    label_columns = {
        **UserDBModelView.label_columns,
        "organization": _l("所属单位"),
        "region": _l("所属地区"),
    }
    list_columns = ["first_name", "last_name", "username", "organization", "region", "active", "roles"]
    show_fieldsets = [
        *UserDBModelView.show_fieldsets[:1],
        (_l("单位与地区"), {"fields": ["organization", "region"], "expanded": True}),
        *UserDBModelView.show_fieldsets[1:],
    ]
    add_columns = [*UserDBModelView.add_columns[:6], "organization", "region",
                   *UserDBModelView.add_columns[6:]]
    edit_columns = [*UserDBModelView.edit_columns, "organization", "region"]


class PermissionCache:
    """role id -> {(permission, view)}; public role permissions; per worker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version: Any = object()
        self.by_role: dict[int, frozenset[tuple[str, str]]] = {}
        self.public_role: Role | None = None
        self.public_loaded = False
        self.public_perms: frozenset[tuple[str, str]] = frozenset()

    def clear(self) -> None:
        with self._lock:
            self.version = object()
            self.by_role = {}
            self.public_role = None
            self.public_loaded = False


_cache = PermissionCache()


def clear_permission_cache() -> None:
    _cache.clear()


class ErpSecurityManager(SecurityManager):
    user_model = ErpUser
    userdbmodelview = ErpUserDBModelView

    # -- cache plumbing -------------------------------------------------------------------
    def _fresh(self) -> PermissionCache:
        state = current_app.extensions.get("erp")
        if state is not None:
            state.cache.refresh()
            if _cache.version != state.cache.version:
                _cache.clear()
                _cache.version = state.cache.version
        return _cache

    def _role_perms(self, role_ids: list[int]) -> set[tuple[str, str]]:
        cache = self._fresh()
        missing = [r for r in role_ids if r not in cache.by_role]
        if missing:
            pvr = assoc_permissionview_role
            rows = self.session.execute(
                select(pvr.c.role_id, PermissionView)
                .join(PermissionView, PermissionView.id == pvr.c.permission_view_id)
                .where(pvr.c.role_id.in_(missing))
                .options(joinedload(PermissionView.permission), joinedload(PermissionView.view_menu))
            ).all()
            found: dict[int, set[tuple[str, str]]] = {r: set() for r in missing}
            for role_id, pv in rows:
                found[role_id].add((pv.permission.name, pv.view_menu.name))
            for role_id, perms in found.items():
                cache.by_role[role_id] = frozenset(perms)
        out: set[tuple[str, str]] = set()
        for r in role_ids:
            out |= cache.by_role[r]
        return out

    # -- FAB overrides ------------------------------------------------------------------
    def get_user_by_id(self, pk):
        return self.session.execute(
            select(self.user_model)
            .where(self.user_model.id == pk)
            .options(
                joinedload(self.user_model.roles),
                joinedload(self.user_model.groups).joinedload(Group.roles),
            )
        ).unique().scalar_one_or_none()

    def get_public_role(self):
        cache = self._fresh()
        if not cache.public_loaded:
            role = self.session.execute(
                select(Role).where(Role.name == self.auth_role_public)
            ).scalar_one_or_none()
            if role is not None:
                self.session.expunge(role)
            cache.public_role = role
            cache.public_perms = frozenset(self._role_perms([role.id])) if role else frozenset()
            cache.public_loaded = True
        return cache.public_role

    def is_item_public(self, permission_name, view_name):
        self.get_public_role()
        return (permission_name, view_name) in _cache.public_perms

    def exist_permission_on_roles(self, view_name, permission_name, role_ids) -> bool:
        return (permission_name, view_name) in self._role_perms(list(role_ids))

    def find_roles_permission_view_menus(self, permission_name, role_ids):
        class _PV:  # the two attributes FAB reads
            def __init__(self, view: str) -> None:
                self.view_menu = type("VM", (), {"name": view})()

        return [_PV(v) for p, v in self._role_perms(list(role_ids)) if p == permission_name]

    def load_user_jwt(self, _jwt_header, jwt_data):
        """Load the JWT's user once per request (gating and ``protect`` both verify it)."""
        cached = getattr(g, "_erp_jwt_user", None)
        if cached is not None and str(cached.id) == str(jwt_data["sub"]):
            g.user = cached
            return cached
        user = super().load_user_jwt(_jwt_header, jwt_data)
        if user is not None:
            g._erp_jwt_user = user
        return user

    def register_views(self):
        super().register_views()
        # FAB 5.3 rate-limits the login form only: limit the API login the same way
        if self.is_auth_limited:
            for view in self.appbuilder.baseviews:
                if view.__class__.__name__ == "SecurityApi" and view.blueprint is not None:
                    self.limiter.limit(self.auth_rate_limit, methods=["POST"])(view.blueprint)


def current_erp_user() -> ErpUser | None:
    """The request's user: the session's, or the JWT's (verified here if not yet)."""
    user = getattr(g, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    from flask import request

    if request.headers.get("Authorization", "").startswith("Bearer "):
        try:
            verify_jwt_in_request(optional=True)
        except Exception:  # an invalid token: FAB's protect answers 401 later
            return None
        user = getattr(g, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            return user
    return None


@event.listens_for(Session, "after_flush")
def _security_changed(session: Session, flush_context: Any) -> None:
    """A role or grant changed through the ORM (FAB's admin pages): drop every cache."""
    # users' roles are read fresh with the user on every request: only grants are cached
    changed = list(session.new) + list(session.dirty) + list(session.deleted)
    if any(isinstance(o, (Role, PermissionView)) for o in changed):
        session.info["erp_security_changed"] = True


@event.listens_for(Session, "after_commit")
def _security_committed(session: Session) -> None:
    if session.info.pop("erp_security_changed", False):
        from core.signals import bump

        bump("modules", session)
        clear_permission_cache()
