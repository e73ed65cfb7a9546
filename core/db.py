"""Database objects shared by the whole platform.

All models (core, FAB's security tables and every add-on) use Flask-AppBuilder's
declarative base :class:`flask_appbuilder.Model`, so they live in one ``MetaData`` and
FAB's ``SQLAInterface`` works with them. ``db`` is Flask-SQLAlchemy's extension (FAB's
``SQLA`` subclass); its scoped ``db.session`` is the session FAB views use.

SQLite: pysqlite commits implicitly before DDL, which would make migrations
non-transactional. The engine listeners below switch pysqlite to autocommit mode and emit
``BEGIN`` ourselves (the recipe from the SQLAlchemy docs), so on SQLite too a failed
install rolls back its ``CREATE``/``ALTER`` statements.

SQLite under concurrent writes (issue 12 finding 6): a ``BEGIN`` (deferred) transaction that
has read and then writes fails at once with "database is locked" (``SQLITE_BUSY_SNAPSHOT``)
when another writer committed in between: the busy timeout cannot help. So the request
session of every request that may write (POST, PUT, PATCH, DELETE) begins with
``BEGIN IMMEDIATE``: it takes the write lock before its first read and waits for it at most
``ERP_SQLITE_BUSY_TIMEOUT`` seconds. Two racing writers then run one after the other, and
the second one reads what the first committed (the loser of a race sees the new state and
gets its 409 from the service rules, as on PostgreSQL with ``SELECT ... FOR UPDATE``). Other
connections (caches, reads of GET requests) stay deferred. ``contention_status`` maps what
is left (the wait ran out: 503 with ``Retry-After``; a stale snapshot: 409), so a client
never sees a 500 for contention. An engine connection can ask for the write lock up front
with ``execution_options(sqlite_immediate=True)`` (the installer does).
"""

from __future__ import annotations

import contextlib
import contextvars
import sqlite3
from collections.abc import Iterator
from typing import Any

from flask import has_request_context, request
from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import String, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TypeDecorator

db = SQLA()
metadata = Model.metadata

__all__ = ["Model", "db", "metadata", "make_engine", "is_sqlite", "contention_status",
           "set_sqlite_busy_timeout", "sqlite_writer_elsewhere", "sqlite_session_writes",
           "SAFE_METHODS", "Url",
           "is_url_column"]


class Url(TypeDecorator):
    """A URL a user supplies (stored as VARCHAR): only ``http``/``https`` is accepted.

    The API schema converter adds the scheme check to the field (422), a flush check refuses
    any other value on every path (pages, services: a field error), and templates render
    such values through the ``safe_url`` filter. ``info={"url": True}`` on a ``String``
    column, or a column named ``url``/``*_url``, means the same.
    """

    impl = String
    cache_ok = True


def is_url_column(column: Any) -> bool:
    """Whether a mapped column holds a user-supplied URL (see :class:`Url`)."""
    if getattr(column, "type", None) is None or not hasattr(column, "info"):
        return False
    if isinstance(column.type, Url) or column.info.get("url"):
        return True
    name = getattr(column, "key", None) or getattr(column, "name", "") or ""
    return isinstance(column.type, String) and (name == "url" or name.endswith("_url"))

#: requests that do not write: their session begins deferred (reads never wait in WAL mode)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: milliseconds a SQLite connection waits for a lock (``ERP_SQLITE_BUSY_TIMEOUT``)
_busy_timeout_ms = 10_000
#: SQLite result codes (extended): busy, locked, stale WAL snapshot
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_BUSY_SNAPSHOT = 5, 6, 517


#: set while a platform operation (the installer) holds the write lock on its own connection
#: inside a request: the request session then stays deferred (it may read meanwhile)
_own_connection_writes: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "erp_own_connection_writes", default=False)


@contextlib.contextmanager
def sqlite_writer_elsewhere() -> Iterator[None]:
    """Within this block the request session does not take SQLite's write lock up front:
    another connection of this same request (the installer's) is the writer."""
    token = _own_connection_writes.set(True)
    try:
        yield
    finally:
        _own_connection_writes.reset(token)


#: set while a background job runs (core.worker): the session outside any request takes
#: SQLite's write lock up front, like a writing request
_session_writes: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "erp_session_writes", default=False)


@contextlib.contextmanager
def sqlite_session_writes() -> Iterator[None]:
    """Within this block ``db.session`` (outside a request) begins with ``BEGIN IMMEDIATE``
    on SQLite: a job that reads and then writes waits for the lock instead of failing."""
    token = _session_writes.set(True)
    try:
        yield
    finally:
        _session_writes.reset(token)


def set_sqlite_busy_timeout(seconds: float) -> None:
    """The bounded wait for SQLite's write lock, for connections opened from now on."""
    global _busy_timeout_ms
    _busy_timeout_ms = max(0, int(seconds * 1000))


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={_busy_timeout_ms}")
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:  # pragma: no cover - read-only media
            pass
        cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        if conn.get_execution_options().get("sqlite_immediate"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


@event.listens_for(FlaskSession, "after_begin")
def _sqlite_write_request_takes_the_lock(session: Any, transaction: Any, conn: Connection) -> None:
    """The request session of a writing request holds SQLite's write lock from its start.

    Runs right after ``BEGIN``, before the session's first statement: nothing has been read,
    so ending the empty deferred transaction and beginning an immediate one is the same
    transaction with the lock taken up front (waiting at most the busy timeout).
    """
    if conn.dialect.name != "sqlite" or transaction.nested:
        return
    if not has_request_context():
        if not _session_writes.get():
            return
    elif request.method in SAFE_METHODS or _own_connection_writes.get():
        return
    conn.exec_driver_sql("COMMIT")
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def contention_status(exc: BaseException) -> int | None:
    """409 or 503 when ``exc`` is SQLite lock contention, else None.

    503: the bounded wait for the write lock ran out (the client may retry after a moment);
    409: a deferred transaction read a snapshot that another writer has since changed.
    """
    orig = getattr(exc, "orig", None) if isinstance(exc, OperationalError) else exc
    if not isinstance(orig, sqlite3.OperationalError):
        cause = getattr(exc, "__cause__", None)
        if cause is not None and cause is not exc:
            return contention_status(cause)
        return None
    code = getattr(orig, "sqlite_errorcode", None)
    if code == SQLITE_BUSY_SNAPSHOT:
        return 409
    if code in (SQLITE_BUSY, SQLITE_LOCKED) or "database is locked" in str(orig):
        return 503
    return None


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def make_engine(url: str, **options: Any) -> Engine:
    """An engine outside Flask (CLI helpers, benchmarks), with the same listeners."""
    return create_engine(url, **options)
