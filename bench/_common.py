"""Shared pieces of the benchmarks in ``bench/``.

Every script imports what it needs from here instead of carrying its own copy:

* **paths and defaults**: :data:`ROOT` (the repository root, put on ``sys.path``),
  :data:`DEFAULT_PG`, :func:`pg_url_from_env`, :data:`PASSWORD`, :data:`SECRET`;
* **figures**: :func:`percentile` (the four rank rules the scripts use, so each keeps its
  figures), :func:`verdict` (``OK``/``MISSED``), :func:`fmt_ratio`, :func:`print_table`;
* **memory and time**: :func:`rss_mb`, :func:`reset_peak`, :class:`Timer`;
* **command line**: :func:`arg_parser`, :func:`add_db_argument`, :func:`add_sizes`,
  :func:`add_server_arguments`;
* **steps**: :class:`StepFailed`, :func:`stage`, :func:`one_line`, :func:`run_backends`,
  :func:`print_no_figures`;
* **throwaway databases**: :class:`SqliteDb`, :class:`PostgresDb` (``erp_bench_<random>``,
  dropped at the end), :func:`open_db`, :func:`pg_error`, :func:`pg_reachable`,
  :func:`choose_backends`;
* **the platform in this process**: :func:`make_app`, :func:`close_app`, :func:`cli`,
  :func:`setup_modules`, :func:`region_ids`, :func:`purchaser_rows`,
  :func:`purchaser_codes`, :func:`paper_category`, :func:`paper_listing`, :func:`bulk_rows`,
  :func:`reset_serial`;
* **the platform behind gunicorn** (HTTP on 127.0.0.1): :func:`served_workload`,
  :func:`served_database`, :func:`erp_cmd`, :func:`erp_setup`, :func:`workload_connection`,
  :func:`create_users`, :func:`create_purchaser_users`, :class:`Gunicorn`, :func:`free_port`,
  :func:`http`, :func:`login`, :func:`purchaser_logins`, :func:`run_threads`, :class:`Tally`,
  :func:`sql_scalars`.

A script run as ``python bench/x.py`` has ``bench/`` first on ``sys.path``; each one puts
the repository root there before ``from bench import _common as common``. Nothing here imports
the platform (``core``, ``addons``) at module level: the child process of
``api_overhead.py`` that must never load ``core`` imports this module too.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: the PostgreSQL server of the tests; ``$ERP_TEST_PG_URL`` overrides it
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
#: the password of every user a benchmark creates (the platform's password policy accepts it)
PASSWORD = "bench-secret-123"
#: ``SECRET_KEY`` of the benchmark apps: >= 32 bytes, so PyJWT does not warn
SECRET = "bench-secret-" + "x" * 40

T = TypeVar("T")


def pg_url_from_env() -> str:
    """``$ERP_TEST_PG_URL``, or :data:`DEFAULT_PG` when it is unset or empty."""
    return os.environ.get("ERP_TEST_PG_URL") or DEFAULT_PG


# -- figures ----------------------------------------------------------------------------
Method = Literal["linear", "lower", "nearest", "rounded"]


def percentile(values: Iterable[float], q: float, method: Method = "linear") -> float:
    """The ``q`` quantile (0 <= q <= 1) of ``values``; NaN when there are none.

    ``linear``: interpolated between the two closest ranks (numpy's default);
    ``lower``: ``sorted[int(q * (n - 1))]``; ``nearest``: the nearest-rank rule,
    ``sorted[ceil(q * n) - 1]``; ``rounded``: ``sorted[round(q * n) - 1]``, clamped.
    Each script keeps the rule it was written with, so its figures stay comparable.
    """
    s = sorted(values)
    n = len(s)
    if not n:
        return float("nan")
    if method == "linear":
        k = (n - 1) * q
        lo, hi = int(k), min(int(k) + 1, n - 1)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)
    if method == "lower":
        return s[int(q * (n - 1))]
    if method == "nearest":
        return s[max(0, math.ceil(q * n) - 1)]
    return s[min(n - 1, max(0, round(q * n) - 1))]


def verdict(ok: bool) -> str:
    """The word of an aim line: ``OK`` or ``MISSED`` (the benchmarks never assert)."""
    return "OK" if ok else "MISSED"


def fmt_ratio(a: float, b: float) -> str:
    """``a / b`` as ``1.2x``; ``n/a`` when ``b`` is not positive."""
    return f"{a / b:.1f}x" if b > 0 else "n/a"


def print_table(lines: Sequence[Sequence[str]], left: int = 1) -> None:
    """Print ``lines`` (the head first) in aligned columns, a rule under the head; the first
    ``left`` columns are left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in lines) for i in range(len(lines[0]))]
    for i, row in enumerate(lines):
        print("  ".join(c.ljust(w) if j < left else c.rjust(w)
                        for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))


# -- command line -----------------------------------------------------------------------
#: the ``--db`` choices of a script that runs on either backend or both
ANY_DB = ("sqlite", "postgresql", "both")
#: the ``--db`` choices of a script that runs on one backend
ONE_DB = ("sqlite", "postgresql")


def arg_parser(doc: str | None, *, paragraph: bool = False, db: Sequence[str] = (),
               db_default: str | None = None, keep: bool = False, server: bool = False,
               **sizes: float) -> argparse.ArgumentParser:
    """The parser of a script, described by the first line of its docstring (``paragraph``:
    by its first paragraph), with, in this order: ``--db`` of the choices ``db`` (see
    :func:`add_db_argument`), the sizes (:func:`add_sizes`), ``--keep`` with ``keep``, and
    the options of a gunicorn benchmark with ``server`` (:func:`add_server_arguments`)."""
    text = doc or ""
    p = argparse.ArgumentParser(description=text.split("\n\n" if paragraph else "\n")[0])
    if db:
        add_db_argument(p, db, db_default)
    add_sizes(p, **sizes)
    if keep:
        p.add_argument("--keep", action="store_true", help="keep the SQLite file / PG database")
    if server:
        add_server_arguments(p)
    return p


def add_db_argument(p: argparse.ArgumentParser, choices: Sequence[str] = ANY_DB,
                    default: str | None = None) -> None:
    """``--db``, read by :func:`choose_backends` (``None``: SQLite, plus PostgreSQL when
    reachable)."""
    p.add_argument("--db", choices=list(choices), default=default,
                   help="default: sqlite, plus postgresql when reachable" if default is None
                   else f"default: {default}")


def add_sizes(p: argparse.ArgumentParser, **defaults: float) -> None:
    """An option ``--NAME`` (underscores as dashes) per keyword, of its default's type (int
    or float): the sizes of a workload."""
    for name, default in defaults.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(default), default=default,
                       help=f"default {default}")


def add_server_arguments(p: argparse.ArgumentParser, pg_url: str | None = None) -> None:
    """``--workers`` (gunicorn workers, default 4) and ``--pg-url`` (the PostgreSQL server
    of the throwaway database; default ``$ERP_TEST_PG_URL`` or :data:`DEFAULT_PG`)."""
    p.add_argument("--workers", type=int, default=4, help="gunicorn workers (default 4)")
    p.add_argument("--pg-url", default=pg_url or pg_url_from_env(),
                   help="PostgreSQL server (default $ERP_TEST_PG_URL or the tests' server)")


# -- memory and time --------------------------------------------------------------------
def rss_mb() -> float:
    """The process's peak resident set size since the last :func:`reset_peak` (MB): Linux
    ``VmHWM``; elsewhere ``getrusage``'s ``ru_maxrss`` (the peak of the process's life)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux: ``echo 5 > /proc/self/clear_refs``);
    False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Timer:
    """Wall time, CPU time and the process's peak RSS of a step, printed as one line at its
    end (tracemalloc is not used: it slows allocation-heavy code such as xlsxwriter about
    tenfold).

    ``width`` pads the label; ``show_cpu`` adds ``(CPU x s)`` after the wall time.
    """

    def __init__(self, label: str, *, width: int = 46, show_cpu: bool = False) -> None:
        self.label = label
        self.width = width
        self.show_cpu = show_cpu
        self.seconds = self.cpu = self.peak_mb = 0.0
        self.reset = False

    def __enter__(self) -> Timer:
        gc.collect()
        self.reset = reset_peak()
        self.cpu0 = time.process_time()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.cpu0
        self.peak_mb = rss_mb()
        what = "peak RSS in this step" if self.reset else "process peak RSS so far"
        cpu = f" (CPU {self.cpu:6.2f} s)" if self.show_cpu else ""
        print(f"  {self.label:<{self.width}} {self.seconds:8.2f} s{cpu}   {what} "
              f"{self.peak_mb:8.1f} MB", flush=True)


# -- steps ------------------------------------------------------------------------------
class StepFailed(Exception):
    """A step failed: the message names the step, the error type and the reason."""


def one_line(exc: BaseException, limit: int = 200) -> str:
    """The message of ``exc`` on one line, at most ``limit`` characters (its type's name
    when it has none)."""
    return " ".join(str(exc).split())[:limit] or type(exc).__name__


@contextmanager
def stage(name: str, limit: int = 400) -> Iterator[None]:
    """Turn any error inside into :class:`StepFailed` naming the step ``name``."""
    try:
        yield
    except StepFailed:
        raise
    except Exception as exc:
        raise StepFailed(f"{name} failed: {type(exc).__name__}: {one_line(exc, limit)}") from exc


def run_backends(backends: Sequence[str], open_: Callable[[str], Any],
                 measure: Callable[[str, Any], T], *, show_traceback: bool
                 ) -> tuple[list[T], list[str]]:
    """``measure(name, db)`` on a database ``open_(name)`` of each backend, closed after.
    A backend whose database cannot be made or whose measure raises :class:`StepFailed` is
    reported on stderr (``error: name: ...``, the traceback with ``show_traceback``) and
    listed in the second value."""
    results: list[T] = []
    failed: list[str] = []
    for name in backends:
        try:
            db = open_(name)
        except Exception as exc:
            print(f"error: {name}: creating the database: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        try:
            results.append(measure(name, db))
        except StepFailed as exc:
            sys.stdout.flush()
            if show_traceback:
                traceback.print_exc()
            print(f"error: {name}: {exc}", file=sys.stderr, flush=True)
            failed.append(name)
        finally:
            db.close()
    return results, failed


def print_no_figures(failed: Sequence[str], show_traceback: bool) -> None:
    """The closing line naming the backends without figures (nothing when there are none)."""
    if failed:
        print(f"\nno figures for: {', '.join(failed)} (see the error above"
              f"{'' if show_traceback else '; --traceback shows where'})")


# -- throwaway databases ----------------------------------------------------------------
class SqliteDb:
    """A SQLite database file ``bench.sqlite3`` in a temporary folder (``var/`` is never
    touched), removed by :meth:`close` unless ``keep``. :meth:`fresh` gives further files in
    the same folder."""

    name = "sqlite"

    def __init__(self, prefix: str = "erp_bench_", *, keep: bool = False) -> None:
        self.keep = keep
        self.folder = tempfile.mkdtemp(prefix=prefix)
        self.path = Path(self.folder) / "bench.sqlite3"
        self.url = f"sqlite:///{self.path}"

    def fresh(self, tag: str) -> str:
        """The URL of another, empty database file ``<tag>.sqlite3`` in the folder."""
        return f"sqlite:///{Path(self.folder) / (tag + '.sqlite3')}"

    def where(self, files: str = "a temporary file") -> str:
        return f"{files} in {self.folder}"

    def close(self) -> None:
        if not self.keep:
            import shutil

            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> SqliteDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PostgresDb:
    """A throwaway database ``<prefix><random>`` (default ``erp_bench_<random>``) on the
    server of ``base_url``, dropped (``WITH (FORCE)``) by :meth:`close` unless ``keep``.
    :meth:`fresh` gives a fresh schema inside it."""

    name = "postgresql"

    def __init__(self, base_url: str, prefix: str = "erp_bench_", *, keep: bool = False,
                 hex_digits: int = 10) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        self.keep = keep
        self.base = make_url(base_url)
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT",
                                   connect_args={"connect_timeout": 5})
        self.dbname = f"{prefix}{uuid.uuid4().hex[:hex_digits]}"
        try:
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.dbname}"'))
        except Exception:
            self.admin.dispose()
            raise
        self.server = self.base.set(database=self.dbname)
        self.url = self.server.render_as_string(hide_password=False)
        self._schemas: Any = None

    def fresh(self, tag: str) -> str:
        """The URL of a new schema ``tag`` in the database (as ``search_path``)."""
        from sqlalchemy import create_engine, text

        if self._schemas is None:
            self._schemas = create_engine(self.server, isolation_level="AUTOCOMMIT")
        with self._schemas.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{tag}"'))
        url = self.server.update_query_dict({"options": f"-csearch_path={tag}"})
        return url.render_as_string(hide_password=False)

    def where(self, files: str = "") -> str:
        return (f"database {self.dbname} on "
                f"{self.base.set(database=None).render_as_string(hide_password=True)}")

    def close(self) -> None:
        from sqlalchemy import text

        if self._schemas is not None:
            self._schemas.dispose()
        if not self.keep:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)'))
        self.admin.dispose()

    def __enter__(self) -> PostgresDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_db(kind: str, pg_url: str, *, sqlite_prefix: str = "erp_bench_",
            pg_prefix: str = "erp_bench_", keep: bool = False) -> SqliteDb | PostgresDb:
    """A throwaway database of ``kind`` (``sqlite`` or ``postgresql``)."""
    if kind == "sqlite":
        return SqliteDb(sqlite_prefix, keep=keep)
    return PostgresDb(pg_url, pg_prefix, keep=keep)


def pg_error(url: str) -> Exception | None:
    """None when the PostgreSQL server of ``url`` answers ``SELECT 1`` (3 s to connect),
    else the error."""
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(url, connect_args={"connect_timeout": 3})
        try:
            with eng.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            eng.dispose()
    except Exception as exc:  # any failure means "not reachable"
        return exc
    return None


def pg_reachable(url: str) -> str | None:
    """None when the server answers, else the reason on one line."""
    exc = pg_error(url)
    return None if exc is None else one_line(exc)


def choose_backends(choice: str | None, pg_url: str) -> list[str] | None:
    """The backends of a ``--db`` choice: ``None`` is SQLite, plus PostgreSQL when it
    answers (else a ``postgresql: skipped`` line); ``postgresql`` and ``both`` need the
    server: when it does not answer, an ``error:`` line on stderr and None (exit 2)."""
    backends = ["sqlite"] if choice in (None, "sqlite", "both") else []
    if choice in ("postgresql", "both"):
        reason = pg_reachable(pg_url)
        if reason:
            print(f"error: PostgreSQL unreachable at {pg_url}: {reason}", file=sys.stderr)
            return None
        backends.append("postgresql")
    elif choice is None:
        reason = pg_reachable(pg_url)
        if reason:
            print(f"postgresql: skipped, not reachable ({reason})")
        else:
            backends.append("postgresql")
    return backends


# -- the platform in this process -------------------------------------------------------
def make_app(url: str, **config: Any) -> Any:
    """``create_app`` on ``url`` without entry-point add-ons and rate limits, with
    :data:`SECRET`; ``config`` adds or overrides keys."""
    from core.app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "ERP_ADDONS_ENTRY_POINTS": False,
                       "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False, **config})


def close_app(app: Any) -> None:
    """Drop the app's session and close its pooled connections."""
    from core.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def cli(app: Any, *args: str) -> str:
    """Run ``erp ARGS`` in this process (click's runner) on ``app``; its output. Raises
    RuntimeError with the output when it fails."""
    from click.testing import CliRunner

    from core.cli import erp

    with app.app_context():
        res = CliRunner().invoke(erp, list(args))
    if res.exit_code != 0:
        raise RuntimeError(f"erp {' '.join(args[:3])}: {res.output.strip()} {res.exception or ''}")
    return res.output


def setup_modules(app: Any, modules: Sequence[str], *, enable: Sequence[str] = (),
                  demo: bool = False, admin_password: str = PASSWORD,
                  region: str = "220000") -> None:
    """``erp db init`` (with an admin user), install ``modules`` (``demo``: with their demo
    data), then ``erp tenant enable REGION ENABLE...`` when ``enable`` names any."""
    from core.app import installer_for

    cli(app, "db", "init", "--admin-password", admin_password)
    installer_for(app).install(list(modules), demo=demo)
    if enable:
        cli(app, "tenant", "enable", region, *enable)


def region_ids(conn: Any) -> dict[str, int]:
    """Region code -> id, read on ``conn`` (a connection or a session)."""
    from sqlalchemy import select

    from core.models import Region

    return dict(conn.execute(select(Region.code, Region.id)).all())


def purchaser_rows(regions: dict[str, int], n: int) -> list[dict[str, Any]]:
    """``n`` purchaser organisations ``基准采购单位<i>`` (rows of ``erp_organization``), in
    长春市's and 吉林市's districts by turns; :func:`purchaser_codes` reads their codes back."""
    from core.services.credit_code import make

    return [{"name": f"基准采购单位{i}", "credit_code": make(f"12220100MA0B2{i:04d}"),
             "org_type": "purchaser", "region_id": regions["220102" if i % 2 else "220202"],
             "active": True} for i in range(n)]


def purchaser_codes(conn: Any) -> list[str]:
    """The credit codes of the purchasers of :func:`purchaser_rows`."""
    from sqlalchemy import select

    from core.models import Organization

    return list(conn.execute(select(Organization.credit_code).where(
        Organization.name.like("基准采购单位%")).order_by(Organization.id)).scalars())


def paper_category(conn: Any) -> int:
    """The id of the e-mall category of copy paper (``A020210-01``, seeded by ``emall``)."""
    from sqlalchemy import select

    from addons.emall.models import EmallCategory

    return conn.execute(select(EmallCategory.id).where(EmallCategory.code == "A020210-01")).scalar_one()


def paper_listing(supplier: int, category: int, k: int, brand: str, stock: int,
                  search_text: str) -> dict[str, Any]:
    """A listed e-mall listing of copy paper ``复印纸<k>`` (model ``B<k>``) at 150.00 a box
    (a row of ``emall_listing``)."""
    return {"supplier_id": supplier, "category_id": category, "name": f"复印纸{k}", "brand": brand,
            "model": f"B{k}", "brand_key": brand, "model_key": f"b{k}", "attributes": {},
            "unit": "箱", "price": "150.00", "reference_price": "150.00",
            "reference_source": "market", "stock": stock, "cold_chain": False,
            "exclusive_model": False, "status": "listed", "search_text": search_text}


def bulk_rows(conn: Any, table: str, cols: Sequence[str], rows: Sequence[tuple]) -> None:
    """Rows through the driver: ``COPY`` on PostgreSQL, ``executemany`` on SQLite (where
    Decimal and date values are written as text, as the platform's types store them)."""
    import datetime as dt
    from decimal import Decimal

    raw = conn.connection.driver_connection
    names = ", ".join(cols)
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        return
    kinds = (Decimal, dt.date)
    if any(isinstance(v, kinds) for r in rows[:1] for v in r):
        rows = [tuple(str(v) if isinstance(v, kinds) else v for v in r) for r in rows]
    conn.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(cols))})",
                         rows)


def reset_serial(conn: Any, table: str, column: str = "id") -> None:
    """PostgreSQL: move the sequence of ``table.column`` past its highest value (rows
    copied with explicit ids leave it behind). Nothing on SQLite."""
    from sqlalchemy import text

    if conn.dialect.name == "postgresql":
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                          f"(SELECT max({column}) FROM {table}))"))


# -- the platform behind gunicorn -------------------------------------------------------
@contextmanager
def served_database(pg_url: str, prefix: str, secret: str) -> Iterator[tuple[str, dict[str, str]]]:
    """A throwaway PostgreSQL database and the environment of ``erp``/gunicorn processes
    on it: ``(url, env)``. A settings file in a temporary folder turns rate limits and
    entry-point add-ons off and polls the module state every second; both go at the end."""
    db = PostgresDb(pg_url)
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    try:
        settings_file = Path(tmp.name) / "settings.py"
        settings_file.write_text("RATELIMIT_ENABLED = False\nERP_ADDONS_ENTRY_POINTS = False\n"
                                 "ERP_STATE_POLL_SECONDS = 1.0\n")
        yield db.url, dict(os.environ, ERP_DATABASE_URL=db.url, ERP_SECRET_KEY=secret,
                           ERP_CONFIG=str(settings_file), ERP_VAR_DIR=tmp.name)
    finally:
        db.close()
        tmp.cleanup()


def erp_cmd(env: dict[str, str], *args: str) -> str:
    """Run ``python -m core.cli ARGS`` in a child process with ``env``; its output. Raises
    RuntimeError with the end of its output when it fails."""
    res = subprocess.run([sys.executable, "-m", "core.cli", *args], env=env, cwd=ROOT,
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"erp {' '.join(args)}: {res.stdout[-500:]} {res.stderr[-1500:]}")
    return res.stdout


def erp_setup(env: dict[str, str], install: str, enable: Sequence[str],
              region: str = "220000") -> None:
    """``erp db init`` (admin password :data:`PASSWORD`), ``erp module install INSTALL``,
    ``erp tenant enable REGION ENABLE...`` in child processes."""
    erp_cmd(env, "db", "init", "--admin-password", PASSWORD)
    erp_cmd(env, "module", "install", install)
    erp_cmd(env, "tenant", "enable", region, *enable)


@contextmanager
def workload_connection(url: str, env: dict[str, str], install: str,
                        enable: Sequence[str]) -> Iterator[tuple[Any, dict[str, int]]]:
    """:func:`erp_setup` in child processes, then one transaction on the database through an
    app of this process, for the bulk inserts of a workload: ``(connection, region ids)``.
    Import the add-ons' models inside the block (the app is made by then); the app's
    connections are closed after it."""
    erp_setup(env, install, enable)
    from core.db import db

    app = make_app(url, SECRET_KEY=env["ERP_SECRET_KEY"])
    try:
        with app.app_context(), db.engine.begin() as conn:
            yield conn, region_ids(conn)
    finally:
        close_app(app)


def create_users(env: dict[str, str], users: Iterable[tuple[str, str, str]]) -> None:
    """``erp user create`` of each ``(username, role, organisation credit code)``, with
    :data:`PASSWORD`."""
    for username, role, org in users:
        erp_cmd(env, "user", "create", "--username", username, "--password", PASSWORD,
                "--role", role, "--org", org)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(base: str, path: str, body: dict | None = None,
         headers: dict | None = None) -> tuple[int, dict]:
    """One JSON request (POST with ``body``, else GET) over urllib: ``(status, JSON body)``;
    an answer that is not JSON comes back as ``{"raw": first 200 characters}``."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as res:
            return res.status, json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"{}")
        except ValueError:
            return exc.code, {"raw": raw[:200].decode("utf-8", "replace")}


def login(base_url: str, username: str, password: str = PASSWORD) -> dict[str, str]:
    """The ``Authorization`` header of a JWT from ``/api/v1/security/login``."""
    status, body = http(base_url, "/api/v1/security/login",
                        {"username": username, "password": password, "provider": "db"})
    if status != 200:
        raise RuntimeError(f"login {username}: {status} {body}")
    return {"Authorization": f"Bearer {body['access_token']}"}


class Gunicorn:
    """``gunicorn -w WORKERS core.wsgi:app`` on a free port of 127.0.0.1 (as
    ``tests/core/test_workers.py`` starts it), with ``env``; :attr:`base_url`. Its stderr
    goes to a temporary file, shown when it does not start. Stopped by :meth:`stop` (or at
    the end of a ``with`` block)."""

    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.errlog = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b",
             f"127.0.0.1:{self.port}", "core.wsgi:app"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=self.errlog)

    def wait(self, ready: Callable[[], bool], timeout: float = 90, poll: float = 0.3) -> None:
        """Call ``ready()`` until it is true (connection errors count as not yet); raise
        RuntimeError after ``timeout`` seconds or when gunicorn ends."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if ready():
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.errlog.seek(0)
                tail = self.errlog.read().decode("utf-8", "replace")[-1500:]
                raise RuntimeError(f"gunicorn did not start: {tail}")
            time.sleep(poll)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errlog.close()

    def __enter__(self) -> Gunicorn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Served:
    """What :func:`served_workload` gives: the database URL, the environment of the
    processes, the setup's result and seconds, and the running server."""

    url: str
    env: dict[str, str]
    setup: Any
    setup_s: float
    server: Gunicorn

    @property
    def base_url(self) -> str:
        return self.server.base_url


@contextmanager
def served_workload(pg_url: str, prefix: str, secret: str, setup: Callable[[str, dict[str, str]], Any],
                    *, workers: int, ready: str | Callable[[str], bool], timeout: float = 90,
                    poll: float = 0.3) -> Iterator[Served]:
    """A throwaway database (:func:`served_database`), ``setup(url, env)`` on it (timed),
    then gunicorn with ``workers`` serving it, once ready: ``ready`` is a path that must
    answer 200 to a GET, or a function of the base URL. Everything goes at the end."""
    with served_database(pg_url, prefix, secret) as (url, env):
        t0 = time.perf_counter()
        result = setup(url, env)
        setup_s = time.perf_counter() - t0
        with Gunicorn(env, workers) as server:
            check = ready if callable(ready) else (
                lambda base: http(base, str(ready))[0] == 200)
            server.wait(lambda: check(server.base_url), timeout=timeout, poll=poll)
            yield Served(url, env, result, setup_s, server)


def purchaser_logins(base_url: str, n: int) -> list[dict[str, str]]:
    """The ``Authorization`` headers of the purchaser users ``bench_p0..n-1`` of
    :func:`create_purchaser_users`."""
    return [login(base_url, f"bench_p{i}") for i in range(n)]


def create_purchaser_users(env: dict[str, str], codes: Sequence[str]) -> None:
    """A user ``bench_p<i>`` (role 采购人) of each purchaser of :func:`purchaser_codes`."""
    create_users(env, ((f"bench_p{i}", "采购人", code) for i, code in enumerate(codes)))


def run_threads(target: Callable[[int], None], n: int) -> float:
    """Run ``target(k)`` for k in 0..n-1 in ``n`` threads at once; the seconds until the
    last one ends."""
    threads = [threading.Thread(target=target, args=(k,)) for k in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


class Tally:
    """Outcomes of concurrent requests, safe to add to from many threads: a count per kind
    (plus ``unexpected``), the latencies (ms) and the first five unexpected answers."""

    def __init__(self, *kinds: str) -> None:
        self.lock = threading.Lock()
        self.counts = dict.fromkeys((*kinds, "unexpected"), 0)
        self.latencies: list[float] = []
        self.samples: list[str] = []

    def add(self, ms: float, kind: str | None, status: int, body: Any) -> None:
        """One answer of ``kind`` (None: unexpected, ``status`` and ``body`` kept as a sample)."""
        with self.lock:
            self.latencies.append(ms)
            self.counts[kind or "unexpected"] += 1
            if kind is None and len(self.samples) < 5:
                self.samples.append(f"{status} {json.dumps(body, ensure_ascii=False)[:200]}")


def sql_scalars(url: str, **queries: str) -> dict[str, Any]:
    """The scalar answer of each SQL query, on one connection to ``url``."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    try:
        with eng.connect() as conn:
            return {name: conn.execute(text(sql)).scalar() for name, sql in queries.items()}
    finally:
        eng.dispose()
