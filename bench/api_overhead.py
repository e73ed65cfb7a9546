"""Benchmark: the platform's overhead on a list API, beside plain FAB and raw SQL.

One list call returns 100 region-scoped records to a city user. For each backend
(SQLite, and PostgreSQL when reachable) it measures, in the same run, on the same
database and the same rows:

* **platform**: ``GET /api/v1/fx_doc/?q=(page_size:100)`` of the fixture add-on
  ``fx_scoped`` (``FxDocApi``, model ``FxDoc``) on ``create_app(...)``, as a user of
  长春市 (220100) with a JWT: row scoping (the ``do_orm_execute`` hook), the permission
  cache, module gating by region, the API error envelope: everything a real call goes
  through;
* **plain FAB**: a bare Flask + Flask-AppBuilder app (``AppBuilder`` + FAB's own
  ``SecurityManager``, no platform code: it runs in a child process that never imports
  ``core``, since the platform's hooks are registered on SQLAlchemy's ``Session`` class
  for the whole process) with a ``ModelRestApi`` over the same ``fx_doc`` table through a
  separate mapped class on its own declarative base, restricted to the same regions
  with FAB's own ``base_filters`` (``FilterInFunction``), same list columns, same page
  size, logged in as a plain FAB admin with a JWT;
* **raw SQL**: a SQLAlchemy Core ``select`` of the same 100 rows (the same columns,
  joined to ``erp_region``) and a ``count`` on a pooled connection.

The calls go through the in-process Flask test client (werkzeug's WSGI test client: no
HTTP server, no socket), after warm-up requests, in interleaved rounds (platform, plain
FAB, raw, repeated) so that drift on the machine hits the three alike. SQL statements are
counted per request with a ``before_cursor_execute`` listener on each engine
(transaction control, ``BEGIN``/``COMMIT``/``ROLLBACK``, is counted apart). The aim (the
platform within 1.5x of plain FAB, at most 3 statements per request) is printed with
OK/MISSED, never asserted.

Run from the repository root::

    .venv/bin/python bench/api_overhead.py [--db sqlite|postgresql|both] [--rows N]
        [--requests N] [--warmup N] [--poll-seconds S] [--profile N] [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common

FX_ADDONS = common.ROOT / "tests" / "fixtures" / "addons"
PROVINCE, CITY = "220000", "220100"  # 吉林省, 长春市
PAGE_SIZE = 100
LIST_COLUMNS = ["id", "number", "title", "amount", "region.id", "region.code", "supplier.id"]
PLATFORM_URL = f"/api/v1/fx_doc/?q=(page_size:{PAGE_SIZE})"
PLAIN_URL = f"/api/v1/plain_doc/?q=(page_size:{PAGE_SIZE})"
AIM_RATIO = 1.5
AIM_STATEMENTS = 3
ROUNDS = 10  # interleaving: load bursts on a shared machine hit the three sides alike
PROFILE_REQUESTS = 100
TX_WORDS = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
MARK = "@@bench "  # lines of the plain-FAB child meant for the parent
#: what one call's "time" is: wall-clock, or the CPU time of the calling thread (on a busy
#: machine the CPU figure is steadier); the plain-FAB child reads it from the environment
CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}
CLOCK_ENV = "ERP_BENCH_CLOCK"


# -- figures ----------------------------------------------------------------------------
def is_tx(statement: str) -> bool:
    return statement.lstrip().upper().startswith(TX_WORDS)


def p95(values: list[float]) -> float:
    return common.percentile(values, 0.95, "nearest")


def short_sql(statement: str, width: int = 150) -> str:
    flat = " ".join(statement.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


@dataclass
class Side:
    """Per-request figures of one side (platform, plain FAB, raw SQL) on one backend."""

    name: str
    times: list[float] = field(default_factory=list)  # seconds
    stmts: list[int] = field(default_factory=list)  # per request, without tx control
    tx: list[int] = field(default_factory=list)  # BEGIN/COMMIT/ROLLBACK per request
    polls: list[int] = field(default_factory=list)  # of stmts: module-state poll (erp_signal)
    sample_sql: list[str] = field(default_factory=list)
    returned: int = 0
    count: int = 0
    ids: list[int] = field(default_factory=list)

    def add(self, chunk: dict[str, Any]) -> None:
        self.times += chunk["times"]
        self.stmts += chunk["stmts"]
        self.tx += chunk["tx"]
        self.polls += chunk["polls"]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000

    @property
    def p95_ms(self) -> float:
        return p95(self.times) * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.times) * 1000


class Counter:
    """Counts the statements an engine sends, per request."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def split(self, start: int) -> tuple[int, int, int]:
        new = self.statements[start:]
        tx = sum(1 for s in new if is_tx(s))
        polls = sum(1 for s in new if not is_tx(s) and "erp_signal" in s)
        return len(new) - tx, tx, polls


def run_chunk(call: Callable[[], Any], counter: Counter, n: int) -> dict[str, Any]:
    """``n`` timed calls; per call the time and the statements sent."""
    times: list[float] = []
    stmts: list[int] = []
    tx: list[int] = []
    polls: list[int] = []
    gc.collect()
    perf = CLOCKS[os.environ.get(CLOCK_ENV) or "wall"]
    for _ in range(n):
        start = len(counter.statements)
        t0 = perf()
        call()
        times.append(perf() - t0)
        s, t, p = counter.split(start)
        stmts.append(s)
        tx.append(t)
        polls.append(p)
    del counter.statements[:]
    return {"times": times, "stmts": stmts, "tx": tx, "polls": polls}


def sample(call: Callable[[], Any], counter: Counter) -> tuple[Any, list[str]]:
    start = len(counter.statements)
    out = call()
    sql = [s for s in counter.statements[start:] if not is_tx(s)]
    del counter.statements[:]
    return out, sql


def profile_text(call: Callable[[], Any], n: int, top: int) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(n):
        call()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    total = stats.total_tt  # type: ignore[attr-defined]
    out.write(f"{n} requests, {total:.3f} s profiled ({total / n * 1000:.2f} ms per request "
              "under cProfile)\n\nown time by package:\n")
    by_pkg: dict[str, float] = {}
    for (filename, _line, _func), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_pkg[package_of(filename)] = by_pkg.get(package_of(filename), 0.0) + tt
    for pkg, tt in sorted(by_pkg.items(), key=lambda kv: -kv[1])[:15]:
        out.write(f"  {tt / total * 100:5.1f}%  {tt * 1000 / n:7.3f} ms/request  {pkg}\n")
    out.write("\n")
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def package_of(filename: str) -> str:
    if "site-packages/" in filename:
        rest = filename.split("site-packages/", 1)[1]
        return rest.split("/", 1)[0].removesuffix(".py")
    if filename.startswith(str(common.ROOT)):
        rel = Path(filename).relative_to(common.ROOT)
        return "/".join(rel.parts[:2]) if len(rel.parts) > 2 else str(rel)
    if filename.startswith("<") or "/lib/python3" in filename or filename == "~":
        return "python (stdlib, builtins)"
    return filename


# -- the plain FAB app (child process: never imports core) ------------------------------
def plain_worker() -> int:
    """Serve the parent: build a plain FAB app on the database, answer ``run N``."""
    conf = json.loads(sys.stdin.readline())
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("flask_appbuilder").setLevel(logging.ERROR)
    from flask import Flask
    from flask_appbuilder import AppBuilder, ModelRestApi
    from flask_appbuilder.models.sqla.base import SQLA
    from flask_appbuilder.models.sqla.filters import FilterInFunction
    from flask_appbuilder.models.sqla.interface import SQLAInterface
    from sqlalchemy import ForeignKey, Integer, Numeric, String, event
    from sqlalchemy.orm import DeclarativeBase, mapped_column, relationship

    if "core" in sys.modules:
        raise RuntimeError("the plain FAB process loaded the platform (core)")
    region_ids = list(conf["region_ids"])

    class Base(DeclarativeBase):
        pass

    # no annotations: this module's ``from __future__ import annotations`` would leave them
    # as strings naming these function-local imports
    class PlainRegion(Base):
        __tablename__ = "erp_region"
        id = mapped_column(Integer, primary_key=True)
        code = mapped_column(String(6))
        name = mapped_column(String(64))

    class PlainOrganization(Base):
        __tablename__ = "erp_organization"
        id = mapped_column(Integer, primary_key=True)
        name = mapped_column(String(200))

    class PlainDoc(Base):  # the columns and relationships of FxDoc (RegionScoped)
        __tablename__ = "fx_doc"
        id = mapped_column(Integer, primary_key=True)
        number = mapped_column(String(32), nullable=False)
        title = mapped_column(String(100), nullable=False)
        amount = mapped_column(Numeric(18, 2), nullable=False)
        supplier_id = mapped_column(ForeignKey("erp_organization.id"))
        region_id = mapped_column(ForeignKey("erp_region.id"), nullable=False)
        region = relationship(PlainRegion, lazy="joined", innerjoin=True)
        supplier = relationship(PlainOrganization)

    class PlainDocApi(ModelRestApi):
        resource_name = "plain_doc"
        datamodel = SQLAInterface(PlainDoc)
        list_columns = list(LIST_COLUMNS)
        show_columns = list_columns
        base_filters = [["region_id", FilterInFunction, lambda: region_ids]]

    app = Flask("plain_fab")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=conf["url"],
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        SECRET_KEY=common.SECRET,
        AUTH_TYPE=1,  # AUTH_DB
        AUTH_ROLE_ADMIN="Admin",
        AUTH_ROLE_PUBLIC="Public",
        FAB_API_MAX_PAGE_SIZE=PAGE_SIZE,
    )
    db = SQLA()
    db.init_app(app)
    with app.app_context():
        appbuilder = AppBuilder()
        appbuilder.init_app(app, db.session)
        appbuilder.add_api(PlainDocApi)
        sm = appbuilder.sm
        if sm.find_user(username="plainadmin") is None:
            created = sm.add_user("plainadmin", "Plain", "Admin", "plainadmin@bench.invalid",
                                  sm.find_role("Admin"), password=common.PASSWORD)
            if not created:
                raise RuntimeError("could not create the plain FAB admin")
        engine = db.engine
    client = app.test_client()
    res = client.post("/api/v1/security/login", json={
        "username": "plainadmin", "password": common.PASSWORD, "provider": "db"})
    if res.status_code != 200:
        raise RuntimeError(f"plain FAB login: {res.status_code} {res.get_data(as_text=True)}")
    headers = {"Authorization": f"Bearer {res.json['access_token']}"}
    counter = Counter()
    event.listen(engine, "before_cursor_execute", counter)

    def call() -> Any:
        r = client.get(PLAIN_URL, headers=headers)
        if r.status_code != 200:
            raise RuntimeError(f"plain FAB list: {r.status_code} {r.get_data(as_text=True)}")
        return r

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(MARK + json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"ready": True})
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        try:
            if cmd[0] == "run":
                reply(run_chunk(call, counter, int(cmd[1])))
            elif cmd[0] == "sample":
                r, sql = sample(call, counter)
                body = r.json
                reply({"sql": sql, "returned": len(body["result"]), "count": body["count"],
                       "ids": body["ids"]})
            elif cmd[0] == "profile":
                reply({"text": profile_text(call, int(cmd[1]), int(cmd[2]))})
            elif cmd[0] == "quit":
                break
        except Exception as exc:
            reply({"error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:400]}"})
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return 0


class PlainFab:
    """The parent's handle on the plain FAB child process."""

    def __init__(self, url: str, region_ids: list[int]) -> None:
        self.errlog = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--plain-worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errlog, text=True,
            cwd=str(common.ROOT), env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"url": url, "region_ids": region_ids}) + "\n")
        self.proc.stdin.flush()
        self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARK):
                obj = json.loads(line[len(MARK):])
                if "error" in obj:
                    raise RuntimeError(obj["error"])
                return obj
        self.proc.wait()
        self.errlog.seek(0)
        tail = " ".join(self.errlog.read().split())[-300:]
        raise RuntimeError(f"the plain FAB process ended (exit {self.proc.returncode}): {tail}")

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=20)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        self.errlog.close()


# -- the platform side --------------------------------------------------------------------
@dataclass
class World:
    app: Any
    headers: dict[str, str]
    city_ids: list[int]  # 长春市 and the regions below it
    regions: int
    rows: int  # fx_doc rows in the database
    city_rows: int
    boot: float
    install: float
    load: float


def build_world(url: str, rows: int, poll: float) -> World:
    """create_app, ``erp db init``, install fx_scoped, enable it for 吉林省, a 长春市 user,
    then ``rows`` generated fx_doc rows (Core executemany)."""
    from sqlalchemy import func, insert, select, text

    from core.addons.security import sync_module_roles
    from core.db import db, metadata
    from core.models import Organization, Region

    t0 = time.perf_counter()
    with common.stage("boot (create_app)"):
        app = common.make_app(url, ERP_ADDONS_PATH=[str(FX_ADDONS)], ERP_STATE_POLL_SECONDS=poll)
    boot = time.perf_counter() - t0
    t0 = time.perf_counter()
    with common.stage("erp db init + install fx_scoped + tenant enable + user create"):
        common.setup_modules(app, ["fx_scoped"], enable=["fx_scoped"], demo=True, region=PROVINCE)
        with app.app_context(), db.engine.begin() as conn:
            sync_module_roles(conn, "bench", {"Doc Reader": ("* on FxDocApi",)},
                              app.extensions["erp"].pairs("fx_scoped"), "bench")
        common.cli(app, "user", "create", "--username", "cc", "--password", common.PASSWORD,
                   "--role", "Doc Reader", "--region", CITY)
    install = time.perf_counter() - t0

    t0 = time.perf_counter()
    with common.stage("generating fx_doc rows"), app.app_context():
        fx = metadata.tables["fx_doc"]  # mapped by the add-on (FxDoc)
        with db.engine.begin() as conn:
            regions = conn.execute(select(Region.id, Region.code, Region.parent_id)).all()
            suppliers = [None, *conn.execute(
                select(Organization.id).where(Organization.org_type == "supplier")
                .order_by(Organization.id)).scalars()]
            children: dict[int | None, list[int]] = {}
            by_code = {}
            for rid, code, parent in regions:
                children.setdefault(parent, []).append(rid)
                by_code[code] = rid
            city, todo = set(), [by_code[CITY]]
            while todo:
                r = todo.pop()
                city.add(r)
                todo.extend(children.get(r, ()))
            inside, outside = sorted(city), sorted({r for r, _, _ in regions} - city)
            rng = random.Random(2201)
            first = (conn.execute(select(func.max(fx.c.id))).scalar() or 0) + 1
            batch: list[dict[str, Any]] = []
            for i in range(rows):
                batch.append({
                    "id": first + i,
                    "number": f"BENCH-{i:07d}",
                    "title": f"{'长春' if i % 10 == 0 else '吉林'}政府采购文件 {i}",
                    "amount": f"{rng.randint(100, 9_999_999) / 100:.2f}",
                    "supplier_id": suppliers[i % len(suppliers)],
                    "region_id": rng.choice(inside if i % 10 == 0 else outside),
                })
                if len(batch) == 5000:
                    conn.execute(insert(fx), batch)
                    batch = []
            if batch:
                conn.execute(insert(fx), batch)
        with db.engine.connect() as conn:  # fresh statistics, as autovacuum would give
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                    text("ANALYZE fx_doc"))
            else:
                conn.execute(text("ANALYZE"))
                conn.commit()
            total = conn.execute(select(func.count()).select_from(fx)).scalar_one()
            in_city = conn.execute(select(func.count()).select_from(fx)
                                   .where(fx.c.region_id.in_(inside))).scalar_one()
    load = time.perf_counter() - t0

    client = app.test_client()
    res = client.post("/api/v1/security/login",
                      json={"username": "cc", "password": common.PASSWORD, "provider": "db"})
    if res.status_code != 200:
        raise common.StepFailed(f"platform login as cc: {res.status_code} {res.get_data(as_text=True)}")
    headers = {"Authorization": f"Bearer {res.json['access_token']}"}
    return World(app, headers, inside, len(regions), total, in_city, boot, install, load)


# -- one backend ------------------------------------------------------------------------
@dataclass
class Result:
    backend: str
    where: str
    world: World
    sides: dict[str, Side]
    profile: str = ""
    plain_profile: str = ""


def bench_backend(db: Any, args: argparse.Namespace) -> Result:
    from sqlalchemy import event, func, select

    from core.db import db as sa_db
    from core.db import make_engine, metadata

    world = build_world(db.url, args.rows, args.poll_seconds)
    app = world.app
    client = app.test_client()
    with app.app_context():
        engine = sa_db.engine
    counters = {"platform": Counter(), "raw": Counter()}
    event.listen(engine, "before_cursor_execute", counters["platform"])

    def platform_call() -> Any:
        r = client.get(PLATFORM_URL, headers=world.headers)
        if r.status_code != 200:
            raise RuntimeError(f"platform list: {r.status_code} {r.get_data(as_text=True)}")
        return r

    raw_engine = make_engine(db.url)
    event.listen(raw_engine, "before_cursor_execute", counters["raw"])
    fx = metadata.tables["fx_doc"]
    reg = metadata.tables["erp_region"]
    where = fx.c.region_id.in_(world.city_ids)
    count_q = select(func.count()).select_from(fx).where(where)
    page_q = (
        select(fx.c.id, fx.c.number, fx.c.title, fx.c.amount, reg.c.id.label("region_id"),
               reg.c.code, fx.c.supplier_id)
        .select_from(fx.join(reg, fx.c.region_id == reg.c.id))
        .where(where).limit(PAGE_SIZE).offset(0)
    )

    def raw_call() -> tuple[int, list[Any]]:
        with raw_engine.connect() as conn:
            n = conn.execute(count_q).scalar_one()
            page = conn.execute(page_q).all()
        return n, page

    sides = {k: Side(k) for k in ("platform", "plain", "raw")}
    plain: PlainFab | None = None
    try:
        with common.stage("plain FAB app (child process)"):
            plain = PlainFab(db.url, world.city_ids)
        with common.stage("warm-up"):
            for _ in range(args.warmup):
                platform_call()
                raw_call()
            plain.ask(f"run {args.warmup}")
            del counters["platform"].statements[:], counters["raw"].statements[:]
        with common.stage("sample requests"):
            r, sql = sample(platform_call, counters["platform"])
            body = r.json
            p = sides["platform"]
            p.sample_sql, p.returned, p.count, p.ids = sql, len(body["result"]), body["count"], body["ids"]
            s = plain.ask("sample")
            q = sides["plain"]
            q.sample_sql, q.returned, q.count, q.ids = s["sql"], s["returned"], s["count"], s["ids"]
            (n, page), sql = sample(raw_call, counters["raw"])
            w = sides["raw"]
            w.sample_sql, w.returned, w.count, w.ids = sql, len(page), n, [row.id for row in page]
        per_round = [args.requests // ROUNDS + (1 if i < args.requests % ROUNDS else 0)
                     for i in range(ROUNDS)]
        for i, n in enumerate(per_round, 1):
            if not n:
                continue
            with common.stage(f"round {i} platform"):
                sides["platform"].add(run_chunk(platform_call, counters["platform"], n))
            with common.stage(f"round {i} plain FAB"):
                sides["plain"].add(plain.ask(f"run {n}"))
            with common.stage(f"round {i} raw SQL"):
                sides["raw"].add(run_chunk(raw_call, counters["raw"], n))
            print(f"  round {i:2}/{ROUNDS}: {n} requests per side; medians so far: platform "
                  f"{sides['platform'].median_ms:.2f} ms, plain FAB {sides['plain'].median_ms:.2f}"
                  f" ms, raw SQL {sides['raw'].median_ms:.2f} ms", flush=True)
        result = Result(db.name, db.where(), world, sides)
        if args.profile:
            with common.stage("profile"):
                result.profile = profile_text(platform_call, PROFILE_REQUESTS, args.profile)
                result.plain_profile = plain.ask(
                    f"profile {PROFILE_REQUESTS} {args.profile}")["text"]
        return result
    finally:
        if plain is not None:
            plain.close()
        event.remove(engine, "before_cursor_execute", counters["platform"])
        raw_engine.dispose()
        common.close_app(app)


# -- reporting --------------------------------------------------------------------------
LABELS = {"platform": "platform", "plain": "plain FAB", "raw": "raw SQL"}


def stmt_text(side: Side) -> str:
    med = statistics.median(side.stmts)
    return f"{med:g} (max {max(side.stmts)})"


def print_backend(r: Result) -> None:
    w = r.world
    print(f"\n{r.backend} ({r.where}):")
    print(f"  setup: boot {w.boot:.2f} s, db init + install + user {w.install:.2f} s, "
          f"{w.rows - 4:,} rows generated + ANALYZE {w.load:.2f} s")
    print(f"  rows: fx_doc {w.rows:,} (generated + 4 demo), in 长春市's subtree "
          f"({len(w.city_ids)} of {w.regions} regions) {w.city_rows:,}")
    ids = {k: set(s.ids) for k, s in r.sides.items()}
    for key, side in r.sides.items():
        print(f"  {LABELS[key]:10} returned {side.returned} rows of count {side.count:,}; "
              f"SQL of one request ({len(side.sample_sql)} statements without BEGIN/COMMIT):")
        for i, sql in enumerate(side.sample_sql, 1):
            poll = "erp_signal" in sql and key == "platform"
            print(f"      {i}. {short_sql(sql, 110 if poll else 150)}"
                  f"{'   <- module-state poll (at most once per poll interval)' if poll else ''}")
    same = ids["platform"] == ids["plain"] == ids["raw"]
    counts = {s.count for s in r.sides.values()}
    print(f"  same rows: {'yes' if same else 'NO'} (the 100 ids of the page"
          f"{'' if same else ' differ: no ORDER BY, so the database picks the page'}), "
          f"same count: {'yes' if len(counts) == 1 else 'NO ' + str(sorted(counts))}")


def print_results(results: list[Result]) -> None:
    lines = [["backend", "side", "requests", "median ms", "p95 ms", "mean ms",
              "stmts/req", "+tx ctl", "vs plain", "vs raw"]]
    for r in results:
        plain, raw = r.sides["plain"], r.sides["raw"]
        for key, side in r.sides.items():
            lines.append([
                r.backend if key == "platform" else "", LABELS[key], str(len(side.times)),
                f"{side.median_ms:.2f}", f"{side.p95_ms:.2f}", f"{side.mean_ms:.2f}",
                stmt_text(side), f"{statistics.median(side.tx):g}",
                f"{side.median_ms / plain.median_ms:.2f}x",
                f"{side.median_ms / raw.median_ms:.1f}x",
            ])
    common.print_table(lines, left=2)


def print_aim(results: list[Result], poll: float) -> bool:
    """Print the aim with OK/MISSED per backend; True when every backend met it."""
    print()
    print(f"aim: the platform's list call within {AIM_RATIO:g}x of plain FAB (median "
          f"latency), at most {AIM_STATEMENTS} SQL statements per request (without "
          "BEGIN/COMMIT and the module-state poll of erp_signal, which a worker sends at most "
          f"once per ERP_STATE_POLL_SECONDS = {poll:g} s)")
    met = True
    for r in results:
        p, plain, raw = r.sides["platform"], r.sides["plain"], r.sides["raw"]
        ratio = p.median_ms / plain.median_ms
        own = [s - q for s, q in zip(p.stmts, p.polls, strict=True)]
        polled = sum(1 for q in p.polls if q)
        r_ok = common.verdict(ratio <= AIM_RATIO)
        s_ok = common.verdict(max(own) <= AIM_STATEMENTS)
        print(f"  {r.backend:10}  platform/plain FAB: {ratio:.2f}x vs {AIM_RATIO:g}x  {r_ok:6}  "
              f"statements: at most {max(own)} per request vs {AIM_STATEMENTS}  {s_ok:6}  "
              f"(platform/raw: {p.median_ms / raw.median_ms:.1f}x; poll of erp_signal on "
              f"{polled} of {len(p.stmts)} requests)")
        met = met and r_ok == s_ok == "OK"
    return met


# -- main -------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from config import default

    p = argparse.ArgumentParser(
        description="Time a region-scoped list API call of the platform beside a plain FAB "
        "ModelRestApi and raw SQL on the same rows."
    )
    common.add_db_argument(p)
    p.add_argument("--rows", type=int, default=20_000,
                   help="fx_doc rows to generate, 1 in 10 in 长春市's subtree (default 20000)")
    p.add_argument("--requests", type=int, default=300,
                   help="measured requests per side and backend (default 300)")
    p.add_argument("--warmup", type=int, default=30, help="warm-up requests per side (default 30)")
    p.add_argument("--poll-seconds", type=float, default=float(default.ERP_STATE_POLL_SECONDS),
                   help="ERP_STATE_POLL_SECONDS of the platform app (default: the configured "
                   f"default, {default.ERP_STATE_POLL_SECONDS:g})")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help=f"also cProfile {PROFILE_REQUESTS} requests of the platform and of plain "
                   "FAB per backend and print the top N functions")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                   help="per-call figure: wall-clock (default) or the CPU time of the thread "
                   "that makes the call (steadier on a shared machine)")
    p.add_argument("--traceback", action="store_true", help="print the traceback of a failure")
    p.add_argument("--plain-worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rows < 1000:
        p.error("--rows must be at least 1000 (100 of them in 长春市 for a full page)")
    if args.requests < ROUNDS:
        p.error(f"--requests must be at least {ROUNDS}")
    if args.warmup < 1:
        p.error("--warmup must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    if "--plain-worker" in (argv if argv is not None else sys.argv[1:]):
        return plain_worker()
    args = parse_args(argv)
    os.environ[CLOCK_ENV] = args.clock  # the plain-FAB child inherits it
    os.chdir(common.ROOT)
    pg_url = common.pg_url_from_env()
    backends = common.choose_backends(args.db, pg_url)
    if backends is None:
        return 2

    t_start = time.perf_counter()
    import core.app  # noqa: F401 - loaded before any timing

    print(f"API overhead benchmark: Python {platform.python_version()}, {os.cpu_count()} CPU "
          f"cores, {platform.system()} {platform.machine()}")
    print(f"method: in-process Flask test client (werkzeug WSGI, no HTTP server or socket), "
          f"JWT bearer tokens; {args.warmup} warm-up + {args.requests} measured requests per "
          f"side, interleaved in {ROUNDS} rounds (platform, plain FAB, raw SQL); "
          f"clock: {'CPU time of the calling thread' if args.clock == 'cpu' else 'wall-clock'}")
    print(f"workload: {args.rows:,} generated fx_doc rows (bulk insert) spread over the Jilin "
          f"regions, 1 in 10 in 长春市's subtree; each call returns a page of {PAGE_SIZE} of "
          "长春市's rows and their count")
    print(f"  platform : GET {PLATFORM_URL} as 'cc' (长春市 220100, role Doc Reader), "
          f"create_app() with fx_scoped enabled for 吉林省, ERP_STATE_POLL_SECONDS = "
          f"{args.poll_seconds:g}")
    print(f"  plain FAB: GET {PLAIN_URL} as 'plainadmin' (FAB Admin role): bare Flask + "
          "AppBuilder + ModelRestApi in a child process without platform code, same table "
          "via its own declarative base, base_filters region_id IN 长春市's regions, same "
          "list columns")
    print("  raw SQL  : SQLAlchemy Core count + select of the same columns (join erp_region, "
          f"LIMIT {PAGE_SIZE}) on a pooled connection")

    def measure(name: str, db: Any) -> Result:
        print(f"\n{name}: measuring", flush=True)
        return bench_backend(db, args)

    results, failed = common.run_backends(
        backends, lambda name: common.SqliteDb() if name == "sqlite" else common.PostgresDb(pg_url), measure,
        show_traceback=args.traceback)

    for r in results:
        print_backend(r)
    if results:
        print()
        print("median/p95/mean: latency of one call (ms); stmts/req: SQL statements per request "
              "without BEGIN/COMMIT/ROLLBACK, median (max); +tx ctl: BEGIN/COMMIT/ROLLBACK per "
              "request; vs plain / vs raw: median over the median of plain FAB / raw SQL")
        print()
        print_results(results)
        met = print_aim(results, args.poll_seconds)
        if not met and not args.profile:
            print(f"  (--profile 30 shows where the time goes: cProfile of {PROFILE_REQUESTS} "
                  "requests of the platform and of plain FAB)")
        for r in results:
            if r.profile:
                print(f"\n--- cProfile, platform, {r.backend} ---\n{r.profile}")
                print(f"\n--- cProfile, plain FAB, {r.backend} ---\n{r.plain_profile}")
    common.print_no_figures(failed, args.traceback)
    print(f"\ntotal time {time.perf_counter() - t_start:.1f} s")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
