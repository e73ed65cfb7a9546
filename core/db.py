"""Database objects shared by the whole platform.

All models (core, FAB's security tables and every add-on) use Flask-AppBuilder's
declarative base :class:`flask_appbuilder.Model`, so they live in one ``MetaData`` and
FAB's ``SQLAInterface`` works with them. ``db`` is Flask-SQLAlchemy's extension (FAB's
``SQLA`` subclass); its scoped ``db.session`` is the session FAB views use.

SQLite: pysqlite commits implicitly before DDL, which would make migrations
non-transactional. The engine listeners below switch pysqlite to autocommit mode and emit
``BEGIN`` ourselves (the recipe from the SQLAlchemy docs), so on SQLite too a failed
install rolls back its ``CREATE``/``ALTER`` statements.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

db = SQLA()
metadata = Model.metadata

__all__ = ["Model", "db", "metadata", "make_engine", "is_sqlite"]


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:  # pragma: no cover - read-only media
            pass
        cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def make_engine(url: str, **options: Any) -> Engine:
    """An engine outside Flask (CLI helpers, benchmarks), with the same listeners."""
    return create_engine(url, **options)
