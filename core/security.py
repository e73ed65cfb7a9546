"""Security: the platform's user model, cached permission checks, the password policy and
the login rate limit (shared by every worker and host).

FAB 5.3 checks permissions with several SQL queries per request and caches nothing. Here
each worker keeps every role's permissions in memory; the cache is dropped whenever the
database's ``modules`` signal moves (install, role sync, enablement) or a role or grant is
changed through the ORM. With the user loaded in one statement (roles eagerly joined), a
list API call costs the user, the count and the page: three statements.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from typing import Any

from flask import current_app, g, request
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
from sqlalchemy import BigInteger, ForeignKey, Integer, String, event, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship
from werkzeug.exceptions import TooManyRequests

from core.db import Model
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


# -- password policy ---------------------------------------------------------------------------
#: passwords refused whatever their length (the most common ones of leaked lists)
COMMON_PASSWORDS = frozenset({
    "12345678", "123456789", "1234567890", "87654321", "password", "password1", "passw0rd",
    "qwertyui", "qwerty123", "1qaz2wsx", "abc12345", "abcd1234", "admin123", "admin1234",
    "iloveyou", "11111111", "00000000", "88888888", "66666666", "a1234567", "aa123456",
    "woaini1314", "qwe123456", "asdfghjk", "zxcvbnm1",
})


def password_problems(password: Any, username: str | None = None) -> list[str]:
    """What is wrong with ``password`` under the platform's one policy ([] = acceptable).

    At least ``ERP_PASSWORD_MIN_LENGTH`` (8) and at most ``ERP_PASSWORD_MAX_LENGTH`` (128)
    characters; not one character repeated; not the username; not a common password.
    """
    try:
        cfg = current_app.config
        low, high = int(cfg.get("ERP_PASSWORD_MIN_LENGTH", 8)), int(
            cfg.get("ERP_PASSWORD_MAX_LENGTH", 128))
    except RuntimeError:  # outside an app
        low, high = 8, 128
    if not isinstance(password, str) or not password:
        return ["请输入密码"]
    out = []
    if len(password) < low:
        out.append(f"密码至少 {low} 位")
    if len(password) > high:
        out.append(f"密码最多 {high} 位")
    if len(set(password)) == 1:
        out.append("密码不能由同一个字符重复组成")
    if username and password.strip().lower() == str(username).strip().lower():
        out.append("密码不能与用户名相同")
    if password.lower() in COMMON_PASSWORDS:
        out.append("密码过于常见，请换一个")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        out.append("密码含有无法保存的字符")
    return out


def password_complexity(password: str) -> None:
    """FAB's ``FAB_PASSWORD_COMPLEXITY_VALIDATOR``: the admin pages and the reset forms."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    problems = password_problems(password)
    if problems:
        raise PasswordComplexityValidationError("；".join(problems))


# -- login rate limit ---------------------------------------------------------------------------
class LoginAttempt(Model):
    """Failed logins counted per key (account or client address) in a fixed window."""

    __tablename__ = "erp_login_attempt"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: epoch seconds when the window ends
    expires: Mapped[int] = mapped_column(BigInteger, nullable=False)


class LoginLocked(TooManyRequests):
    """Too many failed logins for this account or from this address."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(f"登录失败次数过多，请 {minutes} 分钟后再试")
        self.retry_after = max(1, int(retry_after))


def _limit(spec: str) -> tuple[int, int]:
    """"10 per 5 minute" -> (10, 300)."""
    from limits import parse

    item = parse(spec)
    return item.amount, item.get_expiry()


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    return f"login:{kind}:{digest}"


class LoginLimiter:
    """Failed-login counters in the database (default) or Redis, shared by every worker.

    Two counters per attempt: the account (``AUTH_RATE_LIMIT``, e.g. 10 per 5 minutes) and
    the client address (``ERP_LOGIN_ADDRESS_LIMIT``, higher: an office behind one NAT
    address shares it). A locked account does not lock other accounts; a correct login
    clears its account's counter.
    """

    def __init__(self, storage: str) -> None:
        self.storage = storage
        self._redis = None
        if storage.startswith(("redis://", "rediss://", "unix://")):
            import redis

            self._redis = redis.Redis.from_url(storage, socket_timeout=2)

    @staticmethod
    def limits() -> list[tuple[str, int, int]]:
        cfg = current_app.config
        acct = _limit(cfg.get("AUTH_RATE_LIMIT") or "10 per 5 minute")
        addr = _limit(cfg.get("ERP_LOGIN_ADDRESS_LIMIT") or "100 per 5 minute")
        return [("acct", *acct), ("addr", *addr)]

    def _keys(self, username: str) -> list[tuple[str, int, int]]:
        account = (username or "").strip().lower()
        address = request.remote_addr or "unknown"
        out = []
        prefix = current_app.config.get("ERP_RATELIMIT_KEY_PREFIX") or "erp"
        for kind, amount, period in self.limits():
            key = _key(kind, account if kind == "acct" else address)
            out.append((f"{prefix}:{key}"[:80], amount, period))
        return out

    def retry_after(self, username: str) -> int | None:
        """Seconds until a login may be tried again (None: allowed now)."""
        now = time.time()
        keys = self._keys(username)
        wait = 0.0
        if self._redis is not None:
            pipe = self._redis.pipeline()
            for key, _amount, _period in keys:
                pipe.get(key)
                pipe.pttl(key)
            values = pipe.execute()
            for i, (_k, amount, _p) in enumerate(keys):
                count, ttl = values[2 * i], values[2 * i + 1]
                if count is not None and int(count) >= amount and ttl and ttl > 0:
                    wait = max(wait, ttl / 1000)
        else:
            from core.db import db

            rows = db.session.execute(
                select(LoginAttempt.key, LoginAttempt.count, LoginAttempt.expires).where(
                    LoginAttempt.key.in_([k for k, _a, _p in keys]))
            ).all()
            amounts = {k: a for k, a, _p in keys}
            for key, count, expires in rows:
                if expires > now and count >= amounts[key]:
                    wait = max(wait, expires - now)
        return math.ceil(wait) if wait > 0 else None

    def failed(self, username: str) -> None:
        now = int(time.time())
        keys = self._keys(username)
        if self._redis is not None:
            pipe = self._redis.pipeline()
            for key, _amount, period in keys:
                pipe.incr(key)
                pipe.expire(key, period, nx=True)
            pipe.execute()
            return
        from sqlalchemy import case, delete

        from core.db import db

        table = LoginAttempt.__table__
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        for key, _amount, period in keys:
            stmt = insert(table).values(key=key, count=1, expires=now + period)
            expired = table.c.expires <= now
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={"count": case((expired, 1), else_=table.c.count + 1),
                      "expires": case((expired, now + period), else_=table.c.expires)},
            )
            db.session.execute(stmt)
        db.session.execute(delete(table).where(table.c.expires < now - 3600))
        db.session.commit()

    def succeeded(self, username: str) -> None:
        key = self._keys(username)[0][0]
        if self._redis is not None:
            self._redis.delete(key)
            return
        from sqlalchemy import delete

        from core.db import db

        db.session.execute(delete(LoginAttempt.__table__).where(LoginAttempt.key == key))
        db.session.commit()


def login_limiter() -> LoginLimiter:
    storage = (os.environ.get("ERP_RATELIMIT_STORAGE")
               or current_app.config.get("ERP_RATELIMIT_STORAGE") or "database")
    limiter = current_app.extensions.get("erp_login_limiter")
    if limiter is None or limiter.storage != storage:
        limiter = current_app.extensions["erp_login_limiter"] = LoginLimiter(storage)
    return limiter


def login_limited() -> bool:
    cfg = current_app.config
    return bool(cfg.get("RATELIMIT_ENABLED", True) and cfg.get("AUTH_RATE_LIMITED", True))


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

    # -- login: one rate limit for the form and the API, shared by every worker ------------
    @property
    def is_auth_limited(self) -> bool:
        # FAB's own limit (Flask-Limiter, per address, successes counted) is replaced by
        # LoginLimiter in auth_user_db, which the login form and the API login both call
        return False

    def auth_user_db(self, username, password):
        if not login_limited():
            return super().auth_user_db(username, password)
        limiter = login_limiter()
        name = username if isinstance(username, str) else ""
        wait = limiter.retry_after(name)
        if wait is not None:
            raise LoginLocked(wait)
        user = super().auth_user_db(username, password)
        if user is None:
            limiter.failed(name)
        else:
            limiter.succeeded(name)
        return user


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
