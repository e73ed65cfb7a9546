"""Benchmark: installing every shipped add-on with demo data into a fresh database.

For each backend (SQLite, and PostgreSQL when reachable) and each repeat it times, on a
fresh database:

* ``create_app`` (boot: printed, not counted);
* ``installer.init_core()`` (what ``erp db init`` does: "core schema", counted apart);
* ``installer.install(modules, demo=True)`` (the add-on install: the measured figure);

and, on another fresh database of the same kind, a raw baseline: one transaction doing
``metadata.create_all()`` of the same tables (core + add-on) and a SQLAlchemy Core
executemany of the same rows. The rows are read back from the first real install: every
row of the installed database (the add-ons' tables, ``erp_model_data``, and the platform
rows: permissions, roles, grants, module records, ``alembic_version``; the few rows the
core schema step wrote are included, since the rows of the install refer to them), so
both sides write the same row count. Medians over ``--repeat`` runs. The ratio of the aim
compares the whole install (core schema + add-ons) with the baseline, since the baseline
builds the core tables too; the add-on install alone over the baseline is shown beside
it. The aim (whole install under 5 s on a 2-core machine, within 3x of the raw baseline)
is printed with OK/MISSED, never asserted.

Run from the repository root::

    .venv/bin/python bench/module_install.py [--db sqlite|postgresql|both] [--repeat N]
        [--modules a,b] [--addons-path PATH ...] [--profile N]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import platform
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common

FX_ADDONS = common.ROOT / "tests" / "fixtures" / "addons"
AIM_SECONDS = 5.0
AIM_RATIO = 3.0


# -- workload ---------------------------------------------------------------------------
@dataclass
class Workload:
    paths: list[str]  # ERP_ADDONS_PATH
    modules: list[str]  # asked for (install() adds dependencies and bridges)
    label: str
    files: int = 0
    file_bytes: int = 0
    migrations: int = 0


def choose_workload(extra_paths: list[str], wanted: list[str] | None) -> Workload:
    from core.addons.registry import PROJECT_ADDONS, AddonRegistry

    paths = [str(Path(p).resolve()) for p in extra_paths]
    reg = AddonRegistry(paths, use_entry_points=False)
    if wanted:
        missing = [n for n in wanted if n not in reg]
        if missing:
            raise SystemExit(f"error: unknown module(s): {', '.join(missing)} (add their folder "
                             "with --addons-path, e.g. --addons-path tests/fixtures/addons)")
        return Workload(paths, wanted, f"the modules asked for ({', '.join(wanted)})")
    shipped = [
        n for n in reg.order
        if reg[n].installable and reg[n].path.resolve().parent == PROJECT_ADDONS.resolve()
    ]
    extra = [n for n in reg.order if reg[n].installable and n not in shipped]
    if shipped or extra:
        label = f"every installable add-on in addons/ ({len(shipped)})"
        if extra:
            label += f" and in --addons-path ({len(extra)})"
        return Workload(paths, shipped + extra, label)
    print("addons/ ships no installable add-on yet.")
    fx = AddonRegistry([*paths, FX_ADDONS], use_entry_points=False)
    mods = [n for n in fx.order if fx[n].installable]
    return Workload(
        [*paths, str(FX_ADDONS)], mods,
        "THE TEST FIXTURE ADD-ONS (tests/fixtures/addons), not shipped add-ons",
    )


def measure_files(work: Workload, registry: Any, installed: list[str]) -> None:
    for name in installed:
        m = registry[name]
        for rel in [*m.data, *m.demo]:
            work.files += 1
            work.file_bytes += (m.path / rel).stat().st_size
        if m.migrations_dir is not None:
            work.migrations += len(list(m.migrations_dir.glob("*.py")))


# -- the rows the install wrote ---------------------------------------------------------
@dataclass
class Snapshot:
    tables: list[Any]  # Table objects of every table in the installed database
    module_tables: list[str]
    rows: dict[str, list[dict[str, Any]]]  # table -> every row of the installed database
    core_rows: dict[str, int]  # table -> of those, rows there after the core schema step
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def added(self, pred: Callable[[str], bool]) -> int:
        """Rows the add-on install wrote into the tables matching ``pred``."""
        return sum(len(r) - self.core_rows.get(t, 0) for t, r in self.rows.items() if pred(t))


def _table_objects(conn: Any, names: set[str]) -> tuple[dict[str, Any], list[str]]:
    from sqlalchemy import MetaData, Table

    from core.db import metadata

    reflected = MetaData()
    out: dict[str, Any] = {}
    notes = []
    for name in sorted(names):
        t = metadata.tables.get(name)
        if t is None:
            t = Table(name, reflected, autoload_with=conn)
            if name != "alembic_version":
                notes.append(f"table {name} has no model in the metadata (reflected)")
        out[name] = t
    return out, notes


def _pk_key(table: Any, row: Any) -> tuple:
    cols = list(table.primary_key.columns) or list(table.c)
    return tuple(row._mapping[c] for c in cols)


def keys_before(engine: Any) -> dict[str, set[tuple]]:
    """Primary keys of every row of every table (after the core schema, before the install)."""
    from sqlalchemy import inspect, select

    with engine.connect() as conn:
        objs, _ = _table_objects(conn, set(inspect(conn).get_table_names()))
        return {n: {_pk_key(t, r) for r in conn.execute(select(t))} for n, t in objs.items()}


def snapshot(engine: Any, before: dict[str, set[tuple]], modules: list[str]) -> Snapshot:
    from sqlalchemy import MetaData, inspect, select

    from core.db import metadata

    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
        objs, notes = _table_objects(conn, names)
        module_tables = sorted(names - set(before))
        rows: dict[str, list[dict[str, Any]]] = {}
        core_rows: dict[str, int] = {}
        for name, t in objs.items():
            old = before.get(name, set())
            order = list(t.primary_key.columns) or list(t.c)
            got = []
            for r in conn.execute(select(t).order_by(*order)):
                got.append(dict(r._mapping))
                if _pk_key(t, r) in old:
                    core_rows[name] = core_rows.get(name, 0) + 1
            if got:
                rows[name] = got
    owned = {n for n, t in metadata.tables.items() if t.info.get("erp_module") in modules}
    for name in sorted(owned - names):
        notes.append(f"model table {name} of an installed module was not created by its "
                     "migrations")
    for name in module_tables:
        if name in metadata.tables and metadata.tables[name].info.get("erp_module") is None:
            notes.append(f"table {name} was created by the install but is not tagged with an "
                         "installed module (erp_module)")
    # one MetaData holding a copy of every table, so create_all and sort_tables see every
    # foreign key (reflected tables refer to reflected copies of their parents)
    combined = MetaData()
    tables = [objs[n].to_metadata(combined) for n in sorted(objs)]
    return Snapshot(tables, module_tables, rows, core_rows, notes)


def baseline(url: str, snap: Snapshot) -> float:
    """create_all of the same tables + executemany of the same rows, in one transaction."""
    from sqlalchemy import insert

    from core.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect():  # open the pool's first connection outside the timing
            pass
        meta = snap.tables[0].metadata
        ordered = [t for t in meta.sorted_tables if snap.rows.get(t.name)]
        gc.collect()
        t0 = time.perf_counter()
        with engine.begin() as conn:
            meta.create_all(conn, tables=snap.tables, checkfirst=False)  # fresh database
            for t in ordered:
                conn.execute(insert(t), snap.rows[t.name])
        return time.perf_counter() - t0
    finally:
        engine.dispose()


# -- one real install -------------------------------------------------------------------
@contextmanager
def booted(url: str, work: Workload) -> Iterator[tuple[Any, float]]:
    gc.collect()
    t0 = time.perf_counter()
    with common.stage("boot (create_app)", limit=300):
        app = common.make_app(url, ERP_ADDONS_PATH=work.paths, ERP_STATE_POLL_SECONDS=0)
    boot = time.perf_counter() - t0
    try:
        yield app, boot
    finally:
        common.close_app(app)


@dataclass
class Run:
    boot: float
    core: float
    install: float
    baseline: float = 0.0

    @property
    def whole(self) -> float:
        return self.core + self.install


def real_install(url: str, work: Workload, *, want_snapshot: bool
                 ) -> tuple[Run, list[str], Snapshot | None, Any]:
    from core.app import installer_for

    with booted(url, work) as (app, boot):
        inst = installer_for(app)
        gc.collect()
        t0 = time.perf_counter()
        with common.stage("core schema (installer.init_core)", limit=300):
            inst.init_core()
        core = time.perf_counter() - t0
        before = keys_before(inst.engine) if want_snapshot else {}
        gc.collect()
        t0 = time.perf_counter()
        with common.stage("add-on install (installer.install)", limit=300):
            done = inst.install(work.modules, demo=True)
        install = time.perf_counter() - t0
        with common.stage("reading the installed database", limit=300):
            snap = snapshot(inst.engine, before, done) if want_snapshot else None
        return Run(boot, core, install), done, snap, inst.registry


def profile_install(url: str, work: Workload, top: int) -> str:
    from core.app import installer_for

    with booted(url, work) as (app, _):
        inst = installer_for(app)
        inst.init_core()
        prof = cProfile.Profile()
        prof.enable()
        inst.install(work.modules, demo=True)
        prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# -- reporting --------------------------------------------------------------------------
@dataclass
class Result:
    backend: str
    where: str
    runs: list[Run]
    installed: list[str]
    snap: Snapshot

    def med(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)


def print_results(results: list[Result]) -> None:
    lines = [["backend", "modules", "tables", "rows", "boot(s)", "core(s)", "install(s)",
              "whole(s)", "baseline(s)", "install/base", "whole/base"]]
    for r in results:
        base = r.med("baseline")
        lines.append([
            r.backend, str(len(r.installed)), str(len(r.snap.tables)), str(r.snap.total),
            f"{r.med('boot'):.3f}", f"{r.med('core'):.3f}", f"{r.med('install'):.3f}",
            f"{r.med('whole'):.3f}", f"{base:.3f}", common.fmt_ratio(r.med("install"), base),
            common.fmt_ratio(r.med("whole"), base),
        ])
    common.print_table(lines)


def print_aim(results: list[Result]) -> None:
    print()
    print(f"aim: whole install (core schema + add-ons with demo) under {AIM_SECONDS:g} s on a "
          f"2-core machine, within {AIM_RATIO:g}x of the raw baseline "
          f"(this machine: {os.cpu_count()} CPU cores)")
    for r in results:
        whole, base = r.med("whole"), r.med("baseline")
        ratio = whole / base if base > 0 else float("inf")
        t_ok = common.verdict(whole < AIM_SECONDS)
        r_ok = common.verdict(ratio <= AIM_RATIO)
        print(f"  {r.backend:10}  time: {whole:.3f} s vs {AIM_SECONDS:g} s  {t_ok:6}  "
              f"ratio: {common.fmt_ratio(whole, base)} vs {AIM_RATIO:g}x  {r_ok}"
              f"   (add-on install alone: {common.fmt_ratio(r.med('install'), base)})")


# -- main -------------------------------------------------------------------------------
def bench_backend(dbs: Any, work: Workload, repeat: int, profile: int) -> Result:
    runs: list[Run] = []
    snap: Snapshot | None = None
    installed: list[str] = []
    tag = uuid.uuid4().hex[:6]
    for i in range(1, repeat + 1):
        run, done, s, registry = real_install(dbs.fresh(f"i{i}_{tag}"), work,
                                              want_snapshot=snap is None)
        if snap is None:
            snap, installed = s, done
            if not work.files and not work.migrations:
                measure_files(work, registry, done)
        assert snap is not None
        with common.stage("baseline (create_all + executemany)", limit=300):
            run.baseline = baseline(dbs.fresh(f"b{i}_{tag}"), snap)
        runs.append(run)
        print(f"  {dbs.name} run {i}/{repeat}: boot {run.boot:.3f} s, core schema "
              f"{run.core:.3f} s, add-on install {run.install:.3f} s, "
              f"baseline {run.baseline:.3f} s", flush=True)
    assert snap is not None
    if profile:
        print(f"\n--- cProfile of one add-on install on {dbs.name} (top {profile}) ---")
        print(profile_install(dbs.fresh(f"p_{tag}"), work, profile))
    return Result(dbs.name, dbs.where("temporary files"), runs, installed, snap)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Time installing every shipped add-on with demo data, beside a raw "
        "create_all + bulk insert baseline of the same tables and rows."
    )
    common.add_db_argument(p)
    p.add_argument("--addons-path", action="append", default=[], metavar="PATH",
                   help="an extra folder of add-ons (repeatable)")
    p.add_argument("--modules", default=None, metavar="a,b",
                   help="modules to install (default: every installable shipped add-on)")
    p.add_argument("--repeat", type=int, default=3, help="runs per backend; the median is "
                   "reported (default 3)")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="also profile one install per backend and print the top N functions")
    p.add_argument("--traceback", action="store_true", help="print the traceback of a failure")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(common.ROOT)
    t0 = time.perf_counter()
    import core.app  # noqa: F401 - import time is shown apart from boot

    import_s = time.perf_counter() - t0
    pg_url = common.pg_url_from_env()
    backends = common.choose_backends(args.db, pg_url)
    if backends is None:
        return 2

    wanted = [m.strip() for m in args.modules.split(",") if m.strip()] if args.modules else None
    work = choose_workload(args.addons_path, wanted)
    print(f"module install benchmark: Python {platform.python_version()}, "
          f"{os.cpu_count()} CPU cores, {platform.system()} {platform.machine()}; "
          f"median of {args.repeat} run(s); import of core.app {import_s:.3f} s")
    print(f"workload: {work.label}")
    print(f"asked for: {', '.join(work.modules)}")

    def measure(name: str, dbs: Any) -> Result:
        print(f"\n{name}: {dbs.where('temporary files')}", flush=True)
        return bench_backend(dbs, work, args.repeat, args.profile)

    results, failed = common.run_backends(
        backends, lambda name: common.SqliteDb() if name == "sqlite" else common.PostgresDb(pg_url), measure,
        show_traceback=args.traceback)
    common.print_no_figures(failed, args.traceback)
    if not results:
        return 1

    first = results[0]
    snap = first.snap
    print()
    print(f"installed ({len(first.installed)}): {', '.join(first.installed)}")
    print(
        f"workload size: {len(first.installed)} modules, {len(snap.module_tables)} add-on "
        f"tables + {len(snap.tables) - len(snap.module_tables)} core tables, "
        f"{work.migrations} migration files, {work.files} data/demo files "
        f"({work.file_bytes / 1024:.1f} KiB)"
    )
    mt = set(snap.module_tables)
    addon_rows = snap.added(lambda t: t in mt)
    md_rows = snap.added(lambda t: t == "erp_model_data")
    other = snap.added(lambda t: t not in mt and t != "erp_model_data")
    print(
        f"rows in the installed database (all written by the baseline too): {snap.total} = "
        f"{addon_rows} in add-on tables + {md_rows} erp_model_data + {other} other platform "
        f"rows (permissions, roles, grants, erp_module, alembic_version) written by the add-on "
        f"install + {sum(snap.core_rows.values())} written by the core schema step"
    )
    for note in snap.notes:
        print(f"note: {note}")
    print()
    print("boot = create_app (not counted); core = init_core (erp db init); install = "
          "install(all, demo=True), the measured figure;")
    print("whole = core + install; baseline = create_all of the same tables + executemany "
          "of the same rows, in one transaction on a fresh database. Medians.")
    print()
    print_results(results)
    print_aim(results)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
