"""Database snapshots for the tests: an identical setup is restored, not rebuilt.

Most tests start from the same few databases: core initialised (``erp db init``), then the
same add-ons installed (often with demo data), then the same small world of organisations
and users (``pb``, ``em``, ``xm``, ``dl``, ``ec``). The first test that builds such a state
saves a snapshot of its database; later tests with the same starting point restore it:

- SQLite: a copy of the database file (``sqlite3`` backup API, so WAL content is included);
  restoring is a file copy over the test's own file.
- PostgreSQL: every test has its own database (``db_url``: one name per worker, created
  anew for each test). A snapshot is a template
  database (``CREATE DATABASE erp_tpl_<code>_<state> TEMPLATE <test db>``); restoring renames
  the test's database away and creates it again with ``TEMPLATE erp_tpl_...``. Databases
  are dropped by a background thread (a ``DROP DATABASE`` waits for a checkpoint, 1-2 s).
  The snapshot's facts (meta) are kept in the template's comment.
  Creating a database is the expensive step (100-150 ms), and a test's fixtures restore up
  to three states in a row (core, the installed add-ons, the world) before anything reads
  them: a restore only *prepares* the database (``pg_prepare``), which is created from the
  last prepared template when something first connects to it (a ``do_connect`` listener on
  every engine), before the test's body runs (``flush``, from conftest), or before a save.
  One ``CREATE DATABASE`` per test instead of four.

States are named by a chain of steps from ``core``: ``core|install:emall:demo|world:em``. A
state is known only while nothing else wrote to the database: a listener on every engine
forgets the state of a database at the first statement that is not a read, so an install
after the test's own writes really installs. SQLite snapshots live in
``$ERP_TEST_CACHE_DIR`` (default ``<tmp>/erp-test-dbcache-<uid>``) under a directory named
after a hash of everything that shapes a database (core, addons, test fixtures, this file,
the world modules, setup.cfg); PostgreSQL templates carry the hash in their name. Editing any
of those files starts a new cache; caches of other code are removed after a day (SQLite) or
an hour (PostgreSQL templates).
A file lock per state lets one xdist worker build a state while the others wait for it.
``ERP_TEST_DBCACHE=0`` turns snapshots off; tests of ``REAL_INSTALL_FILES`` (conftest) or
marked ``real_install`` always migrate and install for real.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url

ROOT = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("ERP_TEST_DB", "sqlite")
CORE = "core"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: statements that do not change a database's content
_READS = ("SELECT", "PRAGMA", "SHOW", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE",
          "EXPLAIN", "SET ", "RESET")
_HASHED = ("core", "addons", "tests/fixtures")
_HASHED_FILES = ("tests/dbcache.py", "tests/conftest.py", "setup.cfg", "pyproject.toml")

_state = {"real_install": False}
#: normalised database URL -> name of the state it is known to be in
_tracked: dict[str, str] = {}
_url_of_engine: dict[int, tuple[Any, str]] = {}


# -- switches ---------------------------------------------------------------------------------
def set_real_install(flag: bool) -> None:
    _state["real_install"] = flag


def enabled() -> bool:
    return os.environ.get("ERP_TEST_DBCACHE", "1") != "0" and not _state["real_install"]


def describe() -> str:
    if os.environ.get("ERP_TEST_DBCACHE", "1") == "0":
        return "off (ERP_TEST_DBCACHE=0)"
    return f"on ({cache_dir()})"


# -- where snapshots live --------------------------------------------------------------------
@lru_cache(maxsize=1)
def code_hash() -> str:
    digest = hashlib.sha256(BACKEND.encode())
    files: list[Path] = []
    for top in _HASHED:
        files += [p for p in (ROOT / top).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    files += sorted((ROOT / "tests" / "addons").glob("*/*_world.py"))
    files += [ROOT / f for f in _HASHED_FILES if (ROOT / f).is_file()]
    for path in sorted(set(files)):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:  # removed while we looked (an editor's temporary file)
            continue
    return digest.hexdigest()


@lru_cache(maxsize=1)
def cache_dir() -> Path:
    base = Path(os.environ.get("ERP_TEST_CACHE_DIR")
                or Path(tempfile.gettempdir()) / f"erp-test-dbcache-{os.getuid()}")
    here = base / f"{BACKEND}-{code_hash()[:16]}"
    here.mkdir(parents=True, exist_ok=True)
    os.utime(here)
    for old in base.iterdir():  # caches of older code, unused for a day
        if old != here and old.is_dir() and time.time() - old.stat().st_mtime > 86400:
            shutil.rmtree(old, ignore_errors=True)
    return here


def _files(key: str) -> tuple[Path, Path, Path]:
    name = hashlib.sha256(key.encode()).hexdigest()[:32]
    d = cache_dir()
    return d / (name + ".sqlite3"), d / (name + ".json"), d / (name + ".lock")


def _template(key: str) -> str:
    return f"erp_tpl_{code_hash()[:12]}_{hashlib.sha256(key.encode()).hexdigest()[:24]}"


def _meta(key: str) -> dict[str, Any] | None:
    if BACKEND == "postgresql":
        with pg_admin().connect() as conn:
            raw = conn.execute(text(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                " WHERE datname = :n"), {"n": _template(key)}).scalar()
        if not raw:
            return None
        return json.loads(raw.split(" ", 2)[2])["meta"]
    meta_file = _files(key)[1]
    if not meta_file.is_file():
        return None
    return json.loads(meta_file.read_text(encoding="utf-8"))["meta"]


def exists(key: str) -> bool:
    return _meta(key) is not None


@contextlib.contextmanager
def building(key: str) -> Iterator[bool]:
    """Hold the state's lock while it is built; yields True when it exists meanwhile.

    A file lock for SQLite snapshots; a PostgreSQL advisory lock for templates (shared by
    every run on the server)."""
    if BACKEND == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(_template(key).encode()).digest()[:8], "big",
                                 signed=True)
        with pg_admin().connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_id})
            try:
                yield exists(key)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_id})
        return
    lock = _files(key)[2]
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield exists(key)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- which database is in which state ----------------------------------------------------------
def _norm(url: Any) -> str:
    return make_url(url).render_as_string(hide_password=False)


def _engine_url(engine: Engine) -> str:
    hit = _url_of_engine.get(id(engine))
    if hit is None or hit[0] is not engine:
        hit = (engine, _norm(engine.url))
        _url_of_engine[id(engine)] = hit
    return hit[1]


@event.listens_for(Engine, "before_cursor_execute")
def _forget_on_write(conn, cursor, statement, parameters, context, executemany) -> None:
    if not _tracked:
        return
    head = statement.lstrip()[:10].upper()
    if head.startswith(_READS):
        if not head.startswith("SELECT"):
            return
        low = statement.lower()
        if "nextval(" not in low and "setval(" not in low:
            return
    _tracked.pop(_engine_url(conn.engine), None)


def _uri(app: Any) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


def mark(app: Any, key: str) -> None:
    _tracked[_norm(_uri(app))] = key


def state(app: Any) -> str | None:
    """The name of the state ``app``'s database is known to be in, or None."""
    return _tracked.get(_norm(_uri(app)))


def forget(url: str) -> None:
    _tracked.pop(_norm(url), None)


# -- save and restore -------------------------------------------------------------------------
def _release(app: Any) -> None:
    from core.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# -- PostgreSQL databases ---------------------------------------------------------------------
_pg: dict[str, Any] = {}


def pg_admin() -> Engine:
    """An AUTOCOMMIT engine on the server's maintenance database (``ERP_TEST_PG_URL``)."""
    if "admin" not in _pg:
        url = os.environ.get("ERP_TEST_PG_URL") or DEFAULT_PG
        _pg["admin"] = create_engine(url, isolation_level="AUTOCOMMIT", pool_size=3)
    return _pg["admin"]


def pg_admin_check() -> None:
    """Connect once (raises when the server is unreachable); drop stale snapshot templates."""
    with pg_admin().connect() as conn:
        stale = conn.execute(text(
            "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database"
            " WHERE datname LIKE 'erp_tpl_%' AND datname NOT LIKE :mine"),
            {"mine": f"erp_tpl_{code_hash()[:12]}_%"}).all()
    for name, comment in stale:  # other code's templates, unused for an hour
        try:
            made = float((comment or "0 0").split(" ", 2)[1])
        except ValueError:
            made = 0.0
        if time.time() - made > 3600:
            pg_drop_later(name)
    with pg_admin().connect() as conn:
        scratch = conn.execute(text(
            "SELECT datname FROM pg_database WHERE datname ~ '^erp_(t|old)_[0-9]+_'")).scalars().all()
    for name in scratch:  # test databases left by earlier runs, older than an hour
        if time.time() - int(name.split("_")[2]) > 3600:
            pg_drop_later(name)


def pg_create(name: str, template: str = "template0") -> None:
    with pg_admin().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))


#: test database name -> the template it is to be created from at its first connection
_prepared: dict[str, str] = {}
#: test databases that exist on the server under their name (created, not yet discarded)
_made: set[str] = set()
_prepare_lock = threading.RLock()


def pg_prepare(name: str, template: str = "template0") -> None:
    """Make database ``name`` a copy of ``template`` from its next connection on: whatever is
    there now is discarded then, not now (see the module's docstring)."""
    with _prepare_lock:
        _prepared[name] = template


def flush(name: str | None = None) -> None:
    """Create the prepared database ``name`` (every prepared one when None) now."""
    with _prepare_lock:
        for db_name in [name] if name is not None else list(_prepared):
            template = _prepared.pop(db_name, None)
            if template is None:
                continue
            if db_name in _made:
                pg_discard(db_name)
            pg_create(db_name, template)
            _made.add(db_name)


def pg_release(name: str) -> None:
    """The test is over: discard database ``name`` (or forget its preparation)."""
    with _prepare_lock:
        _prepared.pop(name, None)
        if name in _made:
            _made.discard(name)
            pg_discard(name)


@event.listens_for(Engine, "do_connect")
def _create_prepared(dialect, conn_rec, cargs, cparams) -> None:
    if _prepared:
        name = cparams.get("dbname")
        if name in _prepared:
            flush(name)


def _drop(name: str) -> None:
    try:
        with _pg["dropper_engine"].connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception:
        pass


def _dropper() -> None:
    """Drop queued databases; several of these threads run, so that the checkpoints of
    concurrent drops coalesce. Daemon threads: a drop still running at exit is abandoned
    (a later run drops what is left)."""
    q: queue.Queue = _pg["queue"]
    while True:
        name = q.get()
        try:
            _drop(name)
        finally:
            q.task_done()


def pg_drop_later(name: str) -> None:
    """Drop database ``name`` in a background thread (each DROP DATABASE waits for a
    checkpoint)."""
    if "queue" not in _pg:
        from sqlalchemy.pool import NullPool

        _pg["dropper_engine"] = create_engine(pg_admin().url, isolation_level="AUTOCOMMIT",
                                              poolclass=NullPool)
        _pg["queue"] = queue.Queue()
        for n in range(4):
            threading.Thread(target=_dropper, name=f"erp-test-dropdb-{n}", daemon=True).start()
    _pg["queue"].put(name)


def pg_discard(name: str) -> None:
    """Move the test database ``name`` out of the way: renamed at once and dropped in the
    background (dropped at once when a connection to it is still open)."""
    old = scratch_name("erp_old")
    with pg_admin().connect() as conn:
        try:
            conn.execute(text(f'ALTER DATABASE "{name}" RENAME TO "{old}"'))
        except Exception:  # someone still connected
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
    pg_drop_later(old)


def sqlite_discard(path: Path) -> None:
    for extra in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        extra.unlink(missing_ok=True)


def scratch_name(prefix: str = "erp_t") -> str:
    """A database name that says when it was made (``erp_t_<epoch>_<random>``), so that a
    later run can drop what an interrupted one left."""
    return f"{prefix}_{int(time.time())}_{uuid.uuid4().hex[:10]}"


def pg_finish(wait: float = 5.0) -> None:
    """At the end of the session: give the background drops ``wait`` seconds; what is left
    is dropped by a later run (``pg_admin_check``)."""
    q = _pg.get("queue")
    deadline = time.monotonic() + wait
    while q is not None and q.unfinished_tasks and time.monotonic() < deadline:
        time.sleep(0.2)


def _busy(app: Any) -> bool:
    """True while a connection of ``app`` is in use (a session open around the call)."""
    from core.db import db

    with app.app_context():
        pool = db.engine.pool
    checkedout = getattr(pool, "checkedout", None)
    return bool(checkedout and checkedout() > 0)


def save(app: Any, key: str, meta: dict[str, Any]) -> None:
    """Save ``app``'s database as state ``key`` with ``meta`` (JSON), and mark it."""
    _release(app)
    url = _uri(app)
    record = json.dumps({"key": key, "meta": meta}, ensure_ascii=False)
    if BACKEND == "postgresql":
        name, tpl = make_url(url).database, _template(key)
        flush(name)
        draft = scratch_name("erp_old")
        comment = f"erp-test-snapshot {time.time():.0f} {record}".replace("'", "''")
        with pg_admin().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{draft}" TEMPLATE "{name}"'))
            conn.execute(text(f"COMMENT ON DATABASE \"{draft}\" IS '{comment}'"))
            try:  # published complete, under its name, in one step
                conn.execute(text(f'ALTER DATABASE "{draft}" RENAME TO "{tpl}"'))
            except Exception:  # a template without facts, left by an interrupted run
                conn.execute(text(f'DROP DATABASE IF EXISTS "{tpl}" WITH (FORCE)'))
                conn.execute(text(f'ALTER DATABASE "{draft}" RENAME TO "{tpl}"'))
    else:
        data, meta_file, _ = _files(key)
        tmp = data.with_name(f"{data.name}.{os.getpid()}.tmp")
        src = sqlite3.connect(make_url(url).database)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        os.replace(tmp, data)
        tmp_meta = meta_file.with_name(f"{meta_file.name}.{os.getpid()}.tmp")
        tmp_meta.write_text(record, encoding="utf-8")
        os.replace(tmp_meta, meta_file)  # written last: it marks a complete snapshot
    mark(app, key)


def restore_url(url: str, key: str) -> dict[str, Any] | None:
    """Put state ``key`` into the database at ``url`` (no open connections); its meta or None."""
    meta = _meta(key)
    if meta is None:
        return None
    if BACKEND == "postgresql":
        pg_prepare(make_url(url).database, _template(key))
    else:
        path = Path(make_url(url).database)
        sqlite_discard(path)
        shutil.copyfile(_files(key)[0], path)
    _tracked[_norm(url)] = key
    return meta


def restore(app: Any, key: str) -> dict[str, Any] | None:
    """Replace ``app``'s database by state ``key``; its meta, or None when not saved yet."""
    if not exists(key):
        return None
    _release(app)
    meta = restore_url(_uri(app), key)
    if meta is None:
        return None
    from core.security import clear_permission_cache

    app.extensions["erp"].cache.invalidate()
    clear_permission_cache()
    return meta


def cached(app: Any, step: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``build`` on ``app``'s database, or restore what an identical earlier run saved.

    ``build`` returns JSON-able facts about what it made (ids, codes); they are returned
    again on a restore. Without a known starting state (or with snapshots off) it just builds.
    """
    parent = state(app)
    if parent is None or not enabled() or _busy(app):
        return build()
    key = f"{parent}|{step}"
    meta = restore(app, key)
    if meta is not None:
        return meta
    with building(key) as done:
        if done:
            meta = restore(app, key)
            assert meta is not None
            return meta
        meta = build()
        save(app, key, meta)
        return meta


def source_key(*objs: Any) -> str:
    """A short digest of the source code of ``objs`` (functions), for a step name: the test
    modules that build a state are not in ``code_hash``, so a step named with this gets a new
    snapshot when its build code changes."""
    import inspect

    digest = hashlib.sha256()
    for obj in objs:
        digest.update(inspect.getsource(obj).encode())
    return digest.hexdigest()[:12]


class CachingInstaller:
    """The platform installer; ``install`` goes through ``cached``, the rest is delegated."""

    def __init__(self, app: Any, inner: Any) -> None:
        self._app, self._inner = app, inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def install(self, names: Any, *, demo: bool = False) -> list[str]:
        names = list(names)
        step = f"install:{','.join(names)}:{'demo' if demo else 'nodemo'}"
        meta = cached(self._app, step,
                      lambda: {"result": self._inner.install(names, demo=demo)})
        return list(meta["result"])


def wrap_installer(app: Any, inner: Any) -> Any:
    return CachingInstaller(app, inner) if enabled() else inner
