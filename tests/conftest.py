"""Test configuration: every database test runs on a fresh database of the chosen backend.

``ERP_TEST_DB=sqlite`` (default): a new SQLite file per test (same path within a worker).
``ERP_TEST_DB=postgresql``: a new database per test (same name within a worker; the previous
one is renamed away and dropped in the background). URL from ``ERP_TEST_PG_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). With ``CI=true`` an
unreachable server fails the run; otherwise PostgreSQL tests are skipped.
In PostgreSQL mode only the tests that use a database run (the rest ran under SQLite).

Database snapshots (``tests/dbcache.py``): the ``app`` fixture, ``installer(app).install(...)``
and the module worlds (``pb``, ``em``, ``xm``, ``dl``, ``ec``) restore a database that an
identical earlier setup saved, instead of migrating and installing again. Every test still
gets its own database; see tests/dbcache.py and docs/decisions.md. The ``app`` fixture hands
a worker's next test the same app object when the test left it unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
FX_ADDONS = FIXTURES / "addons"
BACKEND = os.environ.get("ERP_TEST_DB", "sqlite")
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() == "true"
#: ``scripts/test`` runs a SQLite pass and a PostgreSQL pass: a test marked
#: ``one_backend(name)`` runs in that pass only (alone, a pass runs every test)
BOTH_PASSES = os.environ.get("ERP_TEST_BOTH_PASSES") == "1"
DB_FIXTURES = {"db_url", "app_factory", "app", "pg_url"}
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
#: test files whose tests really migrate and install (no snapshots): the installer's own tests
REAL_INSTALL_FILES = {"test_installer.py"}
#: this worker's test database location (one per backend), see ``db_url``
_WORKER_DB: dict[str, str] = {}
#: apps of the ``app`` fixture kept for the next test: db_url -> (app, fingerprint)
_APP_POOL: dict[str, tuple[Any, Any]] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "real_install: really migrate and install (no database snapshots) in this test"
    )
    config.addinivalue_line(
        "markers", "fresh_app: the app fixture builds a new app (not one kept from an earlier test)"
    )
    config.addinivalue_line(
        "markers", "one_backend(name): when both passes run (ERP_TEST_BOTH_PASSES=1), run in "
        "the 'sqlite' or 'postgresql' pass only; the browser tests (test_*browser*.py) are "
        "one_backend('sqlite') (docs/decisions.md, 'CI: each dialect-blind check once')"
    )


def pytest_report_header(config: pytest.Config) -> str:
    from tests import dbcache

    return (f"erp test database backend: {BACKEND}; database snapshots: "
            f"{dbcache.describe()}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Exit without Python's final garbage collections: at interpreter shutdown each module
    cleared runs a full collection over every object the tests left (apps, mappers, views);
    measured at 10-20 s of CPU per process. Frozen objects are left to the exit."""
    import gc

    gc.freeze()


def pytest_runtest_setup(item: pytest.Item) -> None:
    from tests import dbcache

    dbcache.set_real_install(item.path.name in REAL_INSTALL_FILES
                             or item.get_closest_marker("real_install") is not None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """The test's database exists before its body runs (a body may reach it without
    SQLAlchemy: a subprocess, a raw driver connection)."""
    if BACKEND == "postgresql":
        from tests import dbcache

        dbcache.flush()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """PostgreSQL pass: only the tests that use a database. When both passes run, a test
    marked ``one_backend`` only in its pass (the browser tests: SQLite). Both passes: the
    tests marked ``slow`` first (in collection order), so that xdist hands the long ones out
    at the start and the workers end together on short tests, not one of them on a crawl."""
    selected, deselected = [], []
    for item in items:
        if "browser" in item.path.name and item.get_closest_marker("one_backend") is None:
            item.add_marker(pytest.mark.one_backend("sqlite"))
        keep = True
        if BACKEND == "postgresql" and not DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            keep = False
        only = item.get_closest_marker("one_backend")
        if BOTH_PASSES and only is not None and only.args[0] != BACKEND:
            keep = False
        (selected if keep else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """The maintenance URL of the PostgreSQL server (``ERP_TEST_PG_URL``); checked reachable.

    Test databases dropped during the run are dropped by a background thread; the ones left
    at the end are dropped before the session ends.
    """
    from tests import dbcache

    base = make_url(os.environ.get("ERP_TEST_PG_URL") or DEFAULT_PG)
    try:
        dbcache.pg_admin_check()
    except Exception as exc:
        msg = f"PostgreSQL unreachable at {base.render_as_string(hide_password=True)}: {exc}"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    yield base.render_as_string(hide_password=False)
    dbcache.pg_finish()


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a fresh, empty database.

    The same URL for every test of a worker (SQLite: one file path; PostgreSQL: one database
    name), emptied between tests: the database is new for every test, the URL is not, so
    the ``app`` fixture can hand the same app (its engine bound to that URL) to the next test.
    """
    from tests import dbcache

    if BACKEND == "postgresql":
        server = request.getfixturevalue("pg_server_url")
        name = _WORKER_DB.setdefault("pg", dbcache.scratch_name())
        dbcache.pg_prepare(name)  # created at its first connection (tests/dbcache.py)
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
        dbcache.pg_release(name)
    else:
        if "sqlite" not in _WORKER_DB:
            _WORKER_DB["sqlite"] = str(tmp_path_factory.mktemp("erp-db") / "erp.sqlite3")
        path = Path(_WORKER_DB["sqlite"])
        dbcache.sqlite_discard(path)
        yield f"sqlite:///{path}"
        dbcache.sqlite_discard(path)


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
    from tests import dbcache

    dbcache.forget(db_url)


@pytest.fixture
def app(app_factory: Callable[..., Any], db_url: str, request: pytest.FixtureRequest):
    """An app with the fixture add-ons and an initialised core schema (admin / admin12345).

    The initialised database comes from a snapshot of ``erp db init`` (made by the first test
    that needs it, per code version); tests of files in ``REAL_INSTALL_FILES`` or marked
    ``real_install`` run ``erp db init`` themselves. The app object itself is kept for the
    worker's next test when the test left it as it was built (same config, routes, hooks,
    Jinja globals, extensions: ``_app_fingerprint``); otherwise, or with the ``fresh_app``
    marker or ``ERP_TEST_REUSE_APP=0``, the next test gets a new one.
    """
    from tests import dbcache

    if not dbcache.enabled():
        app = app_factory()
        init_db(app)
        yield app
        return
    key = dbcache.CORE
    reuse = (os.environ.get("ERP_TEST_REUSE_APP", "1") != "0"
             and request.node.get_closest_marker("fresh_app") is None)
    pooled = _APP_POOL.pop(db_url, None) if reuse else None
    if dbcache.restore_url(db_url, key) is None:
        with dbcache.building(key) as done:
            if not done or dbcache.restore_url(db_url, key) is None:
                if pooled is None:
                    app = app_factory()
                    fingerprint = _app_fingerprint(app) if reuse else None
                else:
                    app, fingerprint = pooled
                    _reset_app(app)
                init_db(app)
                dbcache.save(app, key, {})
                pooled = app, fingerprint
    if pooled is not None:
        app, fingerprint = pooled
        _reset_app(app)
    else:
        app = app_factory()
        fingerprint = _app_fingerprint(app) if reuse else None
    dbcache.mark(app, key)
    yield app
    if fingerprint is None:
        return
    from core.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if _app_fingerprint(app) == fingerprint:
        _APP_POOL[db_url] = (app, fingerprint)


def _reset_app(app: Any) -> None:
    """What a request leaves in a kept app: the module cache, permissions, Flask's
    first-request flag."""
    from core.security import clear_permission_cache

    app.extensions["erp"].cache.invalidate()
    clear_permission_cache()
    app._got_first_request = False


def _app_fingerprint(app: Any) -> tuple:
    """Everything a test could change on an app object that the next test would see."""
    def counts(funcs: dict) -> tuple:
        return tuple(sorted((str(k), len(v)) for k, v in funcs.items()))

    state = app.extensions["erp"]
    return (
        tuple(sorted((k, repr(v)) for k, v in app.config.items())),
        tuple(sorted(f"{r.rule} {sorted(r.methods or ())} {r.endpoint}"
                     for r in app.url_map.iter_rules())),
        tuple(sorted(app.view_functions)), tuple(sorted(app.blueprints)),
        counts(app.before_request_funcs), counts(app.after_request_funcs),
        counts(app.teardown_request_funcs), counts(app.template_context_processors),
        # Flask's handler lookup leaves an empty entry for every blueprint and code it looked
        # up (nested defaultdicts): only registered handlers count
        tuple(sorted((str(k), str(sorted((str(c), len(h)) for c, h in v.items() if h)))
                     for k, v in app.error_handler_spec.items() if any(v.values()))),
        tuple(sorted(app.jinja_env.globals)), tuple(sorted(app.jinja_env.filters)),
        tuple(sorted(app.extensions)), len(state.activity_checks), tuple(sorted(state.cli_commands)),
    )


@pytest.fixture
def redis_url() -> str:
    """URL of the Redis server for tests (``ERP_TEST_REDIS_URL``, default
    ``redis://127.0.0.1:6379/0``). Unreachable: the test fails under ``CI=true`` and is
    skipped otherwise."""
    import socket

    url = os.environ.get("ERP_TEST_REDIS_URL") or DEFAULT_REDIS
    parsed = make_url(url)
    host, port = parsed.host or "127.0.0.1", parsed.port or 6379
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(b"PING\r\n")
            answer = sock.recv(64)
    except OSError as exc:
        answer, error = b"", str(exc)
    else:
        error = f"answered {answer[:40]!r} to PING"
    if not answer.startswith((b"+PONG", b"-NOAUTH")):
        msg = f"Redis unreachable at {host}:{port}: {error}"
        if IN_CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    return url


def init_db(app: Any, password: str = "admin12345") -> None:
    from click.testing import CliRunner

    from core.cli import erp

    with app.app_context():
        res = CliRunner().invoke(erp, ["db", "init", "--admin-password", password])
    assert res.exit_code == 0, res.output + str(res.exception)


def installer(app: Any):
    """The platform ``Installer`` of ``app``; its ``install(names, demo=...)`` restores a
    database snapshot when the same install ran before on the same database state."""
    from core.app import installer_for
    from tests import dbcache

    return dbcache.wrap_installer(app, installer_for(app))


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
