"""Test configuration: every database test runs on a fresh database of the chosen backend.

``ERP_TEST_DB=sqlite`` (default): a new SQLite file per test.
``ERP_TEST_DB=postgresql``: one database per run (created here, dropped at the end), a new
schema per test. URL from ``ERP_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). With ``CI=true`` an
unreachable server fails the run; otherwise PostgreSQL tests are skipped.
In PostgreSQL mode only the tests that use a database run (the rest ran under SQLite).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
FX_ADDONS = FIXTURES / "addons"
BACKEND = os.environ.get("ERP_TEST_DB", "sqlite")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() == "true"
DB_FIXTURES = {"db_url", "app_factory", "app", "pg_url"}


def pytest_report_header(config: pytest.Config) -> str:
    return f"erp test database backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if BACKEND != "postgresql":
        return
    selected, deselected = [], []
    for item in items:
        uses_db = DB_FIXTURES & set(getattr(item, "fixturenames", ()))
        (selected if uses_db else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A database created for this run on the PostgreSQL server, dropped at the end."""
    base = make_url(os.environ.get("ERP_TEST_PG_URL") or DEFAULT_PG)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"erp_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        msg = f"PostgreSQL unreachable at {base.render_as_string(hide_password=True)}: {exc}"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    url = base.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, empty database."""
    if BACKEND == "postgresql":
        server = request.getfixturevalue("pg_server_url")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        eng = create_engine(server, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with eng.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        eng.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'erp.sqlite3'}"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A fresh PostgreSQL database URL in any mode (for tests that need PostgreSQL itself)."""
    if BACKEND != "postgresql":
        pytest.skip("PostgreSQL-only test: runs in the PostgreSQL pass (ERP_TEST_DB=postgresql)")
    return request.getfixturevalue("db_url")


@pytest.fixture
def app_factory(db_url: str) -> Iterator[Callable[..., Any]]:
    """Build apps on the test database: ``app_factory(paths=[...], **config)``."""
    from core.db import db

    apps = []

    def make(paths: list[Path | str] | None = None, **config: Any):
        from core.app import create_app

        cfg = {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "ERP_ADDONS_PATH": [str(p) for p in (paths if paths is not None else [FX_ADDONS])],
            "ERP_ADDONS_ENTRY_POINTS": False,
            "ERP_STATE_POLL_SECONDS": 0,
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-of-at-least-thirty-two-bytes",
            "RATELIMIT_ENABLED": False,
        }
        cfg.update(config)
        app = create_app(cfg)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(app_factory: Callable[..., Any]):
    """An app with the fixture add-ons and an initialised core schema (admin / admin12345)."""
    app = app_factory()
    init_db(app)
    return app


def init_db(app: Any, password: str = "admin12345") -> None:
    from click.testing import CliRunner

    from core.cli import erp

    with app.app_context():
        res = CliRunner().invoke(erp, ["db", "init", "--admin-password", password])
    assert res.exit_code == 0, res.output + str(res.exception)


def installer(app: Any):
    from core.app import installer_for

    return installer_for(app)


def table_names(app: Any) -> set[str]:
    from sqlalchemy import inspect

    from core.db import db

    with app.app_context():
        with db.engine.connect() as conn:
            return set(inspect(conn).get_table_names())


def columns(app: Any, table: str) -> list[str]:
    from sqlalchemy import inspect

    from core.db import db

    with app.app_context():
        with db.engine.connect() as conn:
            return [c["name"] for c in inspect(conn).get_columns(table)]


def query(app: Any, sql: str, **params: Any) -> list[tuple]:
    from core.db import db

    with app.app_context():
        with db.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]


def cli(app: Any, *args: str):
    """Run an ``erp`` command in-process on ``app``; returns click's Result."""
    from click.testing import CliRunner

    from core.cli import erp

    with app.app_context():
        return CliRunner().invoke(erp, list(args))
