"""Settings (参数设置): every legal number is a declared setting, overridable per region.

Settings are **declared in code** by the module that uses them, at import time::

    from core.services import settings

    settings.declare(
        "deposit.bid_cap_percent", type="percent", default="2",
        label_zh="投标保证金上限（占采购项目预算的百分比）",
        help_zh="超过上限的投标保证金不予接受。",
        source="《政府采购法实施条例》第三十三条", module="deposit_ledger",
    )

and read where needed::

    cap = settings.get("deposit.bid_cap_percent", region_id=project.region_id)  # Decimal("2")

Resolution of :func:`get` for a region: the region's own value, else its nearest
ancestor's (county -> city -> province 220000), else the platform-wide value
(``region_id`` NULL), else the declared default. Values are typed: ``decimal`` and
``percent`` give :class:`~decimal.Decimal` (never ``float``), ``int`` an ``int``, ``bool``
a ``bool``, ``str`` a ``str``, ``date`` a :class:`~datetime.date`. A ``percent`` is in per
cent, as :func:`core.services.money.percent_of` expects: ``"2"`` or ``"2%"`` is 2 %.

Values are stored JSON-encoded in ``erp_setting_value`` (decimals and dates as strings).
:func:`set` validates (bad input raises :class:`SettingError` with a Chinese message and
writes nothing), writes on the caller's session and audits the change (before/after);
:func:`reset` removes a region's own value. Neither commits: the caller does.

No cache: a lookup is one indexed query on the caller's session (so a transaction sees
its own changes, and every worker sees a committed change at once); the region tree comes
from the tenancy snapshot inside the app, from the database otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.models import Region, SettingValue
from core.services import audit

__all__ = [
    "TYPES",
    "Declaration",
    "Resolution",
    "SettingError",
    "declaration",
    "declare",
    "declared",
    "format_value",
    "get",
    "parse",
    "reset",
    "resolve",
    "resolve_all",
    "set",
    "undeclare",
]

log = logging.getLogger(__name__)
SV = SettingValue.__table__
REG = Region.__table__

SettingType = Literal["decimal", "int", "bool", "str", "date", "percent"]
TYPES: tuple[str, ...] = get_args(SettingType)
TYPE_LABELS = {
    "decimal": "小数",
    "int": "整数",
    "bool": "是/否",
    "str": "文本",
    "date": "日期",
    "percent": "百分比",
}
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_DECIMAL_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_INT_RE = re.compile(r"^[+-]?\d+$")
_TRUE = {"true", "1", "yes", "y", "on", "是", "真"}
_FALSE = {"false", "0", "no", "n", "off", "否", "假"}


class SettingError(ValueError):
    """A setting cannot be read or written; ``str(error)`` is a Chinese message.

    ``code``: ``undeclared``, ``invalid``, ``forbidden``, ``region`` or ``conflict``.
    """

    def __init__(self, message: str, *, code: str = "invalid", key: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.key = key


@dataclass(frozen=True)
class Declaration:
    key: str
    type: str
    default: Any  # typed
    label_zh: str
    help_zh: str
    source: str
    module: str

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.type]


@dataclass(frozen=True)
class Resolution:
    """Where a setting's effective value for a region comes from."""

    key: str
    value: Any
    #: "region" (the region's own), "ancestor", "platform" or "default"
    source: str
    #: the region whose value applies ("region" / "ancestor"), else None
    source_region_id: int | None
    #: the region's own value (None: not overridden at this level)
    own: Any = None


_registry: dict[str, Declaration] = {}
_lock = threading.Lock()


# -- declarations ----------------------------------------------------------------------
def declare(
    key: str,
    *,
    type: SettingType,
    default: Any,
    label_zh: str,
    help_zh: str = "",
    source: str = "",
    module: str,
) -> Declaration:
    """Declare a setting (at import of the module that uses it); returns the declaration.

    Declaring the same key again from the same module replaces the declaration (a
    re-import); a key declared by another module is refused.
    """
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise ValueError(
            f"setting key {key!r} must be dotted lower-case, e.g. 'deposit.bid_cap_percent'"
        )
    if type not in TYPES:
        raise ValueError(f"setting {key!r}: unknown type {type!r}; expected one of {TYPES}")
    if not label_zh:
        raise ValueError(f"setting {key!r}: label_zh is required")
    if not module:
        raise ValueError(f"setting {key!r}: module is required")
    try:
        typed_default = _parse(type, default)
    except SettingError as exc:
        raise ValueError(f"setting {key!r}: bad default {default!r}: {exc}") from None
    decl = Declaration(key, type, typed_default, label_zh, help_zh, source, module)
    with _lock:
        old = _registry.get(key)
        if old is not None and old.module != module:
            raise ValueError(f"setting {key!r} is already declared by module {old.module!r}")
        _registry[key] = decl
    return decl


def undeclare(key: str) -> None:
    """Forget a declaration (tests)."""
    with _lock:
        _registry.pop(key, None)


def declared(module: str | None = None) -> list[Declaration]:
    """Every declaration (of ``module``), by module then key."""
    items = [d for d in _registry.values() if module is None or d.module == module]
    return sorted(items, key=lambda d: (d.module, d.key))


def declaration(key: str) -> Declaration:
    decl = _registry.get(key)
    if decl is None:
        raise SettingError(f"参数“{key}”未声明", code="undeclared", key=key)
    return decl


# -- typed values ----------------------------------------------------------------------
def _bad(kind: str, value: Any, detail: str = "") -> SettingError:
    shown = value if isinstance(value, str) else repr(value)
    return SettingError(f"“{shown}”不是有效的{TYPE_LABELS[kind]}{detail}")


def _parse_decimal(kind: str, value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _bad(kind, value)
    if isinstance(value, float):
        raise SettingError(f"{TYPE_LABELS[kind]}不能使用浮点数，请输入文字形式（如 \"0.02\"）")
    if isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, Decimal):
        d = value
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "")
        if kind == "percent":
            text = text.removesuffix("%").removesuffix("％").strip()
        if not _DECIMAL_RE.match(text):
            raise _bad(kind, value)
        try:
            d = Decimal(text)
        except InvalidOperation:  # pragma: no cover - the pattern excludes it
            raise _bad(kind, value) from None
    else:
        raise _bad(kind, value)
    if not d.is_finite():
        raise _bad(kind, value)
    if kind == "percent" and d < 0:
        raise SettingError(f"百分比不能为负数：{value}")
    return d


def _parse(kind: str, value: Any) -> Any:
    if value is None or (kind != "str" and isinstance(value, str) and not value.strip()):
        raise SettingError(f"请输入{TYPE_LABELS[kind]}")
    if kind in ("decimal", "percent"):
        return _parse_decimal(kind, value)
    if kind == "int":
        if isinstance(value, bool) or isinstance(value, float):
            raise _bad(kind, value)
        if isinstance(value, int):
            return value
        if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral():
            return int(value)
        if isinstance(value, str) and _INT_RE.match(value.strip().replace(",", "")):
            return int(value.strip().replace(",", ""))
        raise _bad(kind, value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE:
            return True
        if isinstance(value, str) and value.strip().lower() in _FALSE:
            return False
        raise _bad(kind, value, "（请填写“是”或“否”）")
    if kind == "str":
        if not isinstance(value, str):
            raise _bad(kind, value)
        return value
    if kind == "date":
        if isinstance(value, dt.datetime):
            raise _bad(kind, value, "（请填写日期，如 2025-01-01）")
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise _bad(kind, value, "（请按 2025-01-01 的格式填写）")
    raise SettingError(f"未知的参数类型：{kind}")  # pragma: no cover - declare() checks


def parse(key: str, value: Any) -> Any:
    """``value`` (typed or text) as the typed value of setting ``key``; SettingError if bad."""
    decl = declaration(key)
    try:
        return _parse(decl.type, value)
    except SettingError as exc:
        raise SettingError(f"{decl.label_zh}：{exc.message}", code="invalid", key=key) from None


def _encode(kind: str, value: Any) -> str:
    if kind in ("decimal", "percent"):
        return json.dumps(format(value, "f"))
    if kind == "date":
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False)


def _decode(kind: str, text: str) -> Any:
    return _parse(kind, json.loads(text))


def format_value(key: str, value: Any) -> str:
    """A typed value as shown to users (``2%``, ``是``, ``2025-01-01``)."""
    kind = declaration(key).type
    if value is None:
        return ""
    if kind == "percent":
        return f"{format(value, 'f')}%"
    if kind == "decimal":
        return format(value, "f")
    if kind == "bool":
        return "是" if value else "否"
    if kind == "date":
        return value.isoformat()
    return str(value)


# -- the region tree -----------------------------------------------------------------
def _session(session: Session | None) -> Session:
    if session is not None:
        return session
    try:
        from core.db import db

        return db.session
    except RuntimeError as exc:  # pragma: no cover - no app context
        raise RuntimeError("settings need a session outside the app context") from exc


def _chain(session: Session, region_id: int | None) -> list[int]:
    """The region and its ancestors, the region first (empty for None)."""
    if region_id is None:
        return []
    try:
        from flask import current_app

        if "erp" in current_app.extensions:
            from core.tenancy import snapshot

            snap = snapshot()
            if region_id in snap.code_of:
                return list(reversed(snap.ancestors(region_id)))
    except RuntimeError:  # no app context: read the tree
        pass
    parent = dict(session.execute(select(REG.c.id, REG.c.parent_id)).tuples().all())
    if region_id not in parent:
        raise SettingError(f"地区 {region_id} 不存在", code="region")
    chain, cur = [], region_id
    while cur is not None and cur not in chain:
        chain.append(cur)
        cur = parent.get(cur)
    return chain


def _rows(session: Session, keys: Iterable[str], chain: list[int]) -> dict[str, dict]:
    """key -> {region id or None: JSON text} for the chain and the platform level."""
    keys = list(keys)
    where = SV.c.region_id.is_(None)
    if chain:
        where = or_(where, SV.c.region_id.in_(chain))
    stmt = select(SV.c.key, SV.c.region_id, SV.c.value).where(and_(SV.c.key.in_(keys), where))
    out: dict[str, dict] = {}
    for key, rid, value in session.execute(stmt):
        out.setdefault(key, {})[rid] = value
    return out


def _resolve(decl: Declaration, rows: dict, chain: list[int]) -> Resolution:
    own = None
    for i, rid in enumerate([*chain, None]):
        text = rows.get(rid)
        if text is None:
            continue
        try:
            value = _decode(decl.type, text)
        except (SettingError, ValueError) as exc:
            log.warning("setting %s: ignoring the invalid stored value %r for region %s: %s",
                        decl.key, text, rid, exc)
            continue
        if i == 0 and chain:
            own = value
        if rid is None:
            return Resolution(decl.key, value, "platform", None, own if chain else value)
        return Resolution(decl.key, value, "region" if i == 0 else "ancestor", rid, own)
    return Resolution(decl.key, decl.default, "default", None, own)


def resolve(key: str, region_id: int | None = None,
            session: Session | None = None) -> Resolution:
    """The effective value of ``key`` for ``region_id`` (None: platform-wide) and its source."""
    decl = declaration(key)
    session = _session(session)
    chain = _chain(session, region_id)
    return _resolve(decl, _rows(session, [key], chain).get(key, {}), chain)


def resolve_all(region_id: int | None = None,
                session: Session | None = None) -> dict[str, Resolution]:
    """:func:`resolve` for every declared setting, in one query."""
    session = _session(session)
    chain = _chain(session, region_id)
    decls = declared()
    rows = _rows(session, [d.key for d in decls], chain) if decls else {}
    return {d.key: _resolve(d, rows.get(d.key, {}), chain) for d in decls}


def get(key: str, region_id: int | None = None, session: Session | None = None) -> Any:
    """The typed effective value of ``key`` for ``region_id`` (see the module docstring)."""
    return resolve(key, region_id, session).value


# -- writing ---------------------------------------------------------------------------
def _check_scope(region_id: int | None, key: str) -> None:
    from core.tenancy import current_scope

    scope = current_scope()
    if scope.unrestricted:
        return
    if region_id is None:
        raise SettingError("只有平台管理员可以修改全省通用的参数", code="forbidden", key=key)
    if scope.actor in ("supplier", "bank", "expert", "public") or region_id not in (
        scope.region_ids or frozenset()
    ):
        raise SettingError("无权修改该地区的参数（只能修改本地区及下级地区）", code="forbidden",
                           key=key)


def _own_row(session: Session, key: str, region_id: int | None):
    cond = SV.c.region_id.is_(None) if region_id is None else SV.c.region_id == region_id
    return session.execute(select(SV.c.id, SV.c.value).where(SV.c.key == key, cond)).first()


def _check_region(session: Session, region_id: int | None, key: str) -> None:
    if region_id is None:
        return
    if session.execute(select(REG.c.id).where(REG.c.id == region_id)).first() is None:
        raise SettingError(f"地区 {region_id} 不存在", code="region", key=key)


def set(
    key: str,
    value: Any,
    region_id: int | None,
    actor: Any = None,
    *,
    session: Session | None = None,
    reason: str | None = None,
) -> Any:
    """Set ``key`` for ``region_id`` (None: platform-wide); returns the typed value.

    Validates first (``SettingError``: nothing is written), then writes the value and an
    audit record (before/after) on ``session`` (default: the app's ``db.session``).
    Does not commit. Outside the platform admin's scope, a user may set only their own
    region and its descendants.
    """
    decl = declaration(key)
    typed = parse(key, value)
    session = _session(session)
    _check_scope(region_id, key)
    _check_region(session, region_id, key)
    row = _own_row(session, key, region_id)
    before = None
    if row is not None:
        try:
            before = _decode(decl.type, row.value)
        except (SettingError, ValueError):
            before = row.value
    text = _encode(decl.type, typed)
    name, _ = audit.resolve_actor(actor)
    now = audit.utcnow()
    try:
        with session.begin_nested():
            if row is None:
                session.execute(SV.insert().values(key=key, region_id=region_id, value=text,
                                                   changed_at=now, changed_by=name))
            else:
                session.execute(update(SV).where(SV.c.id == row.id)
                                .values(value=text, changed_at=now, changed_by=name))
    except IntegrityError:
        raise SettingError("参数已被他人同时修改，请刷新后重试", code="conflict", key=key) from None
    audit.record(
        session,
        action="setting_set",
        object_type="erp_setting_value",
        object_id=key,
        before=None if row is None else {"value": before},
        after={"value": typed},
        module=decl.module,
        region_id=region_id,
        reason=reason,
        actor=actor,
    )
    return typed


def reset(
    key: str,
    region_id: int | None,
    actor: Any = None,
    *,
    session: Session | None = None,
    reason: str | None = None,
) -> bool:
    """Remove ``region_id``'s own value of ``key`` (it inherits again); audited.

    Returns False (and writes nothing) when the region had no value of its own.
    """
    decl = declaration(key)
    session = _session(session)
    _check_scope(region_id, key)
    row = _own_row(session, key, region_id)
    if row is None:
        return False
    try:
        before = _decode(decl.type, row.value)
    except (SettingError, ValueError):
        before = row.value
    session.execute(delete(SV).where(SV.c.id == row.id))
    audit.record(
        session,
        action="setting_reset",
        object_type="erp_setting_value",
        object_id=key,
        before={"value": before},
        after=None,
        module=decl.module,
        region_id=region_id,
        reason=reason,
        actor=actor,
    )
    return True
