"""Audit log (审计日志): an append-only record of state transitions and changes.

Plain Python on SQLAlchemy: :func:`record` inserts one row into ``erp_audit_log`` on the
caller's session or connection, inside the caller's transaction, so the record is
committed (or rolled back) together with the change it describes. Nothing in the
application updates or deletes the log; the database refuses it too (a trigger on
PostgreSQL and on SQLite, created by the core migration ``0003_audit``).

::

    from core.services import audit

    audit.record(session, action="update", object_type="deposit", object_id=dep.id,
                 before={"amount": Decimal("100.00")}, after={"amount": Decimal("80.00")},
                 module="deposit_ledger", region_id=dep.region_id, reason="更正")

``before`` / ``after`` are stored as JSON text: ``Decimal`` as a string (``"80.00"``,
never a float), dates and datetimes in ISO format, sets as sorted lists; anything else
JSON does not know is stored as its ``str()``.

The actor, unless given, is the request's user (session or JWT), else ``"cli"`` inside
an ``erp`` command, else ``"system"``; :func:`acting_as` sets it for a block of code.

State machines (:mod:`core.services.statemachine`) are audited by default: importing
this module installs :func:`transition_hook` as the default hook of every machine that
has none of its own, so a transition of a platform model (``core.db.Model``) that belongs
to a session writes a ``transition:<name>`` record in that session. See
:func:`transition_hook`.
"""

from __future__ import annotations

import base64
import contextvars
import dataclasses
import datetime as dt
import enum
import json
import logging
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import UnmappedInstanceError

from core.db import Model
from core.models import AuditLog, ModuleRecord

__all__ = [
    "ACTION_LABELS",
    "AuditError",
    "acting_as",
    "action_label",
    "dumps",
    "module_snapshot",
    "record",
    "record_enablement",
    "row_dict",
    "transition_hook",
    "utcnow",
]

log = logging.getLogger(__name__)
AL = AuditLog.__table__
MOD = ModuleRecord.__table__

#: Chinese labels of the platform's actions (``transition:<name>`` is labelled by prefix)
ACTION_LABELS: dict[str, str] = {
    "create": "新建",
    "update": "修改",
    "delete": "删除",
    "install_module": "安装模块",
    "upgrade_module": "升级模块",
    "uninstall_module": "卸载模块",
    "purge_module": "清除模块数据",
    "enable_module": "为地区启用模块",
    "disable_module": "为地区停用模块",
    "reset_module": "恢复继承上级的模块设置",
    "setting_set": "修改参数",
    "setting_reset": "恢复参数默认",
    "holiday_change": "修改节假日表",
}

_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("erp_audit_actor",
                                                                     default=None)


class AuditError(RuntimeError):
    """An audit record cannot be written (the change it belongs to must not happen)."""


def action_label(action: str) -> str:
    """The Chinese label of an action (``transition:refund`` -> ``状态变更：refund``)."""
    if action in ACTION_LABELS:
        return ACTION_LABELS[action]
    if action.startswith("transition:"):
        return f"状态变更：{action.split(':', 1)[1]}"
    return action


def utcnow() -> dt.datetime:
    """Now in UTC, naive (the ``at`` column stores UTC without zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# -- JSON ------------------------------------------------------------------------------
def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def dumps(value: Any) -> str | None:
    """JSON text for ``before`` / ``after`` (``None`` stays ``None``)."""
    if value is None:
        return None
    return json.dumps(value, default=_default, ensure_ascii=False, sort_keys=True)


def row_dict(obj: Any, columns: list[str] | None = None) -> dict[str, Any]:
    """The column values of an ORM object (for ``before`` / ``after``)."""
    mapper = inspect(obj).mapper
    keys = columns or [attr.key for attr in mapper.column_attrs]
    return {k: getattr(obj, k) for k in keys}


# -- actor -----------------------------------------------------------------------------
@contextmanager
def acting_as(actor: str) -> Iterator[str]:
    """Record ``actor`` for everything audited in this block (unless given explicitly)."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def _request_user() -> Any | None:
    try:
        from flask import has_request_context
    except ImportError:  # pragma: no cover - flask is a dependency
        return None
    if not has_request_context():
        return None
    from core.security import current_erp_user

    return current_erp_user()


def _in_cli() -> bool:
    try:
        import click
    except ImportError:  # pragma: no cover
        return False
    return click.get_current_context(silent=True) is not None


def resolve_actor(actor: Any = None) -> tuple[str, int | None]:
    """``(name, user id)`` of an explicit actor (a name or a user), else of the context."""
    if actor is not None and not isinstance(actor, str):
        name = getattr(actor, "username", None)
        if name:
            return str(name), getattr(actor, "id", None)
        return str(actor), None
    user = _request_user()
    if actor:
        if user is not None and user.username == actor:
            return actor, user.id
        return actor, None
    if user is not None:
        return user.username, user.id
    explicit = _actor.get()
    if explicit:
        return explicit, None
    return ("cli" if _in_cli() else "system"), None


# -- writing ---------------------------------------------------------------------------
def record(
    session_or_conn: Session | Connection,
    *,
    action: str,
    object_type: str,
    object_id: Any,
    before: Any = None,
    after: Any = None,
    module: str | None = None,
    region_id: int | None = None,
    reason: str | None = None,
    actor: Any = None,
) -> int:
    """Insert one audit record in the caller's transaction; return its id.

    ``actor``: a username, a user object (its ``username`` and ``id`` are kept), or
    ``None`` for the request's user / ``"cli"`` / ``"system"``. ``object_id`` is stored
    as a string. Only inserts: there is no API to change or remove a record.
    """
    if not action or not object_type:
        raise AuditError("an audit record needs an action and an object type")
    name, actor_id = resolve_actor(actor)
    values = {
        "at": utcnow(),
        "actor": name[:128],
        "actor_id": actor_id,
        "region_id": region_id,
        "module": module,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "action": action,
        "before": dumps(before),
        "after": dumps(after),
        "reason": reason,
    }
    stmt = insert(AL).values(**values).returning(AL.c.id)
    return int(session_or_conn.execute(stmt).scalar_one())


# -- helpers for the core's own events ----------------------------------------------------
def module_snapshot(conn: Connection, name: str) -> dict[str, Any] | None:
    """State and version of a module's row in ``erp_module`` (None: no row)."""
    row = conn.execute(
        select(MOD.c.state, MOD.c.installed_version, MOD.c.demo).where(MOD.c.name == name)
    ).first()
    if row is None:
        return None
    return {"state": row.state, "version": row.installed_version, "demo": bool(row.demo)}


_ENABLEMENT_ACTIONS = {True: "enable_module", False: "disable_module", None: "reset_module"}


def record_enablement(
    conn: Connection,
    region_id: int,
    module: str,
    before: bool | None,
    after: bool | None,
    actor: str | None = None,
    region_code: str | None = None,
) -> int | None:
    """Audit a change of a region's row for a module (nothing when nothing changes).

    ``before`` / ``after``: the row's ``enabled`` (``None``: no row, i.e. inherited).
    """
    if before == after:
        return None
    return record(
        conn,
        action=_ENABLEMENT_ACTIONS[after],
        object_type="erp_region_module",
        object_id=f"{region_code or region_id}:{module}",
        before=None if before is None else {"enabled": before},
        after=None if after is None else {"enabled": after},
        module=module,
        region_id=region_id,
        actor=actor,
    )


# -- state machines --------------------------------------------------------------------
def _object_type(obj: Any) -> str:
    table = getattr(obj, "__tablename__", None)
    return table or type(obj).__name__


def _object_module(obj: Any) -> str | None:
    table = getattr(obj, "__table__", None)
    return table.info.get("erp_module") if table is not None else None


def _object_ident(obj: Any, session: Session | None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get("id")
    try:
        state = inspect(obj)
    except Exception:  # not mapped
        return getattr(obj, "id", None)
    if state.identity is None and session is not None and state.pending:
        session.flush()  # the transition of a new document: give it its id
    if state.identity is None:
        return getattr(obj, "id", None)
    ident = state.identity
    return ident[0] if len(ident) == 1 else ",".join(str(i) for i in ident)


def _object_session(obj: Any) -> Session | None:
    try:
        return object_session(obj)
    except UnmappedInstanceError:
        return None


def _is_mapped(obj: Any) -> bool:
    try:
        inspect(obj)
    except Exception:
        return False
    return True


def transition_hook(
    session: Session | Connection | None = None,
    *,
    module: str | None = None,
    object_type: str | None = None,
    strict: bool = True,
):
    """An audit hook for :class:`~core.services.statemachine.StateMachine`.

    Each transition writes ``action="transition:<name>"`` with ``before={"state":
    source}``, ``after={"state": target, ...ctx}``, the transition's actor and reason,
    the object's table (``object_type``), id, region (``region_id`` attribute or key)
    and module (its table's ``erp_module``).

    The record is written on ``ctx["session"]`` (``machine.trigger(obj, name,
    session=s)``), else on ``session``, else on the session the ORM object belongs to.
    With ``strict`` (the default) a transition that cannot be audited fails (and the
    machine restores the previous state). The platform's default hook is not strict: it
    audits the platform's models (``core.db.Model``) that belong to a session, and skips
    what it cannot audit (plain objects and dicts in pure code, other declarative bases).

    ::

        machine = StateMachine(..., on_transition=audit.transition_hook(module="deposit"))
    """

    def hook(obj: Any, name: str, source: Any, target: str, actor: Any,
             reason: str | None, ctx: dict[str, Any]) -> None:
        ctx = dict(ctx)
        target_session = ctx.pop("session", None) or session
        if target_session is None and (strict or isinstance(obj, Model)):
            target_session = _object_session(obj)
        if target_session is None:
            if strict:
                raise AuditError(
                    f"cannot audit transition {name!r} of {_object_type(obj)}: "
                    "the object is in no session (pass session=...)"
                )
            return
        ident = _object_ident(obj, target_session if isinstance(target_session, Session)
                              else None)
        region_id = (obj.get("region_id") if isinstance(obj, Mapping)
                     else getattr(obj, "region_id", None))
        after: dict[str, Any] = {"state": target}
        if ctx:
            after["ctx"] = ctx
        record(
            target_session,
            action=f"transition:{name}",
            object_type=object_type or _object_type(obj),
            object_id=ident,
            before={"state": source},
            after=after,
            module=module or _object_module(obj),
            region_id=region_id,
            reason=reason,
            actor=actor,
        )

    return hook


_default_transition_hook = transition_hook(strict=False)


def _install_default_hook() -> None:
    from core.services import statemachine

    setter = getattr(statemachine, "set_default_audit_hook", None)
    if setter is not None:
        setter(_default_transition_hook)


_install_default_hook()
