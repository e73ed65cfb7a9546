"""Benchmark: the deposit cleanup at scale (``deposit_ledger``).

On a fresh database (SQLite, and PostgreSQL when reachable) it installs ``deposit_ledger``,
generates ``--deposits`` deposits (default 200,000) of 10 per project with about 5 ledger
entries each (~1,000,000; bulk inserts: executemany on SQLite, COPY on PostgreSQL), then
times, with the process's peak resident memory during each step (Linux VmHWM, reset
before each step):

1. the cleanup classification (``cleanup.classify``: one SQL statement with ``CASE``, the
   accrued late fee of every row with exact integer arithmetic in numpy/Python ints);
2. the report per agency and per region (``cleanup.report``: classification + pandas
   group-bys);
3. the Excel export of the cleanup report (per agency, per region, one detail row per
   deposit to clean up) and of the whole ledger (one row per deposit, balances summed in
   SQL, rows streamed with ``yield_per``), both with ``core.services.export`` in
   constant-memory mode;
4. a naive per-row ORM baseline on a ``--sample`` (default 10,000) deposit sample: load
   each deposit, its project, its balances and late fee one by one and classify in Python,
   scaled to the full workload.

Aims (printed with OK/MISSED, never asserted): classification + report under 10 s, peak
memory under 1 GB, the export under 20 s.

    .venv/bin/python bench/deposit_cleanup.py [--db sqlite|postgresql|both]
        [--deposits 200000] [--sample 10000] [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CUTOFF = dt.date(2022, 5, 1)
AS_OF = dt.date(2025, 11, 27)
PER_PROJECT = 10


def rss_mb() -> float:
    """The process's peak resident set size since the last :func:`reset_peak` (MB)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Timer:
    """Wall time and the process's peak RSS of a step (tracemalloc is not used for the
    timing: it slows allocation-heavy code such as xlsxwriter about tenfold)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self):
        gc.collect()
        self.reset = reset_peak()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.peak_mb = rss_mb()
        what = "peak RSS in this step" if self.reset else "process peak RSS so far"
        print(f"  {self.label:<46} {self.seconds:8.2f} s   {what} {self.peak_mb:8.1f} MB",
              flush=True)


def make_app(url: str):
    from click.testing import CliRunner

    from core.app import create_app
    from core.cli import erp

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "ERP_ADDONS_PATH": [], "ERP_ADDONS_ENTRY_POINTS": False,
        "SECRET_KEY": "bench-secret-key-of-at-least-thirty-two-bytes", "ERP_STATE_POLL_SECONDS": 0,
    })
    with app.app_context():
        res = CliRunner().invoke(erp, ["db", "init"])
        assert res.exit_code == 0, res.output
    from core.app import installer_for

    installer_for(app).install(["deposit_ledger"])
    return app


def generate(app, n_deposits: int, dialect: str) -> tuple[int, int]:
    """Bulk-insert organisations, projects, packages, deposits and entries."""
    from sqlalchemy import select

    from addons.deposit_ledger.models import Deposit
    from addons.procurement_base.models import CatalogItem, Package, Project
    from core.db import db
    from core.models import Organization, Region
    from core.services.calendar import default_calendar

    rng = random.Random(7)
    cal = default_calendar()
    due_cache: dict[dt.date, dt.date] = {}

    def due(d: dt.date) -> dt.date:
        if d not in due_cache:
            due_cache[d] = cal.add_working_days(d, 5)
        return due_cache[d]

    with app.app_context():
        conn = db.session.connection()
        regions = [r for r, c in conn.execute(select(Region.id, Region.code))
                   if len(c) == 6 and c[4:] != "00" and c.startswith(("2201", "2202", "2203", "2224"))]
        catalog = conn.execute(select(CatalogItem.id).where(CatalogItem.code == "A02")).scalar_one()
        orgs = []
        for i in range(300):
            kind = "agency" if i < 60 else ("purchaser" if i < 150 else "supplier")
            orgs.append({"name": f"压测单位{i:04d}", "org_type": kind, "region_id": rng.choice(regions),
                         "size": "small" if kind == "supplier" else None, "active": True,
                         "credit_code": None})
        conn.execute(Organization.__table__.insert(), orgs)
        ids = [i for (i,) in conn.execute(select(Organization.id).where(
            Organization.name.like("压测单位%")).order_by(Organization.id))]
        agencies, purchasers, suppliers = ids[:60], ids[60:150], ids[150:]
        n_projects = n_deposits // PER_PROJECT
        projects, start = [], dt.date(2019, 9, 1)
        for p in range(n_projects):
            award = start + dt.timedelta(days=rng.randrange(0, 2200))
            status = rng.choice(["completed", "completed", "contracted", "terminated", "awarded"])
            projects.append({
                "number": f"YC{p:07d}", "name": f"压测项目{p}", "purchaser_id": rng.choice(purchasers),
                "agency_id": rng.choice(agencies), "catalog_id": catalog, "method": "public_tender",
                "budget": Decimal("1000000.00"), "sme_measure": "none", "notice_date": award - dt.timedelta(days=30),
                "award_date": award, "contract_date": award + dt.timedelta(days=10), "status": status,
                "region_id": rng.choice(regions)})
        for i in range(0, len(projects), 20000):
            conn.execute(Project.__table__.insert(), projects[i:i + 20000])
        prj = conn.execute(select(Project.id, Project.region_id, Project.agency_id, Project.award_date)
                           .where(Project.number.like("YC%")).order_by(Project.id)).all()
        conn.execute(Package.__table__.insert(), [
            {"project_id": p.id, "number": "1", "name": "包1", "budget": Decimal("1000000.00"),
             "sme_reserved": False, "region_id": p.region_id} for p in prj])
        db.session.commit()

        dep_cols = ["id", "number", "kind", "project_id", "supplier_id", "holder_id", "form", "amount",
                    "received_date", "trigger", "trigger_date", "due_date", "supplier_fault",
                    "status", "settled_date", "region_id"]
        ent_cols = ["deposit_id", "kind", "reversed_kind", "amount", "entry_date", "late_fee",
                    "overdue_days", "region_id", "bank_reference"]
        first_id = (db.session.execute(select(Deposit.id).order_by(Deposit.id.desc())).scalar() or 0) + 1
        deposits, entries = [], []
        did = first_id
        for p in prj:
            for _k in range(PER_PROJECT):
                amount = Decimal(rng.randrange(2000, 20000))
                received = p.award_date - dt.timedelta(days=20)
                r = rng.random()
                status = ("held" if r < 0.4 else "refunded" if r < 0.8 else
                          "forfeited" if r < 0.9 else "remitted")
                trig = p.award_date if rng.random() < 0.8 else None
                form = "guarantee" if rng.random() < 0.05 else "transfer"
                deposits.append((did, f"D{did:08d}", "bid", p.id, rng.choice(suppliers), p.agency_id,
                                 form, amount, received, "award_notice" if trig else None, trig,
                                 due(trig) if trig else None, rng.random() < 0.02, status,
                                 None if status == "held" else p.award_date + dt.timedelta(days=3),
                                 p.region_id))
                if form != "guarantee":
                    day = received
                    pattern = {"held": ["receipt", "refund", "reversal", "refund", "reversal",
                                        "refund", "reversal"],
                               "refunded": ["receipt", "refund", "reversal", "refund"],
                               "forfeited": ["receipt", "refund", "reversal", "forfeiture"],
                               "remitted": ["receipt", "forfeiture", "remittance", "reversal",
                                            "remittance"]}[status]
                    prev = None
                    for kind in pattern:
                        entries.append((did, kind, prev if kind == "reversal" else None, amount, day,
                                        Decimal("0.00"), 0, p.region_id, f"R{did}-{len(entries)}"))
                        prev = kind
                did += 1
        t0 = time.perf_counter()
        raw = db.session.connection().connection.driver_connection
        if dialect == "postgresql":
            with raw.cursor() as cur:
                with cur.copy(f"COPY dl_deposit ({', '.join(dep_cols)}) FROM STDIN") as cp:
                    for row in deposits:
                        cp.write_row(row)
                with cur.copy(f"COPY dl_entry ({', '.join(ent_cols)}) FROM STDIN") as cp:
                    for row in entries:
                        cp.write_row(row)
                cur.execute("SELECT setval(pg_get_serial_sequence('dl_deposit', 'id'), "
                            "(SELECT max(id) FROM dl_deposit))")
        else:
            def conv(row):
                return tuple(str(v) if isinstance(v, Decimal | dt.date) else v for v in row)

            cur = raw.cursor()
            cur.executemany(f"INSERT INTO dl_deposit ({', '.join(dep_cols)}) VALUES "
                            f"({', '.join('?' * len(dep_cols))})", map(conv, deposits))
            cur.executemany(f"INSERT INTO dl_entry ({', '.join(ent_cols)}) VALUES "
                            f"({', '.join('?' * len(ent_cols))})", map(conv, entries))
        db.session.commit()
        if dialect == "postgresql":
            db.session.execute(__import__("sqlalchemy").text("ANALYZE"))
            db.session.commit()
        print(f"  bulk insert of {len(deposits):,} deposits and {len(entries):,} entries: "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        return len(deposits), len(entries)


def naive_baseline(app, sample: int) -> float:
    """Per-row ORM: each deposit, its project, balances and late fee loaded one by one."""
    from sqlalchemy import select

    from addons.deposit_ledger import services
    from addons.deposit_ledger.models import Deposit
    from core.db import db

    with app.app_context():
        s = db.session
        from sqlalchemy import func

        candidates = s.execute(select(func.count(Deposit.id)).where(
            Deposit.status.in_(("held", "forfeited")))).scalar()
        ids = s.execute(select(Deposit.id).where(Deposit.status.in_(("held", "forfeited")))
                        .order_by(Deposit.id).limit(sample)).scalars().all()
        periods = services.lpr_periods(s)
        t0 = time.perf_counter()
        out: dict[tuple[str, str], list] = {}
        for i in ids:
            d = s.get(Deposit, i)
            p = d.project
            finished = p.contract_date or p.award_date or p.opening_date or p.notice_date
            if p.status not in ("awarded", "contracted", "completed", "terminated", "failed") \
                    or finished is None or finished >= CUTOFF:
                continue
            b = services.balances(s, d.id)
            cat = "to_remit" if d.status == "forfeited" else ("refundable" if d.trigger_date else "review")
            fee = Decimal(0)
            if cat == "refundable" and d.form != "guarantee" and not d.supplier_fault and d.due_date:
                fee = services.late_fee(s, b.held, d.due_date, AS_OF, periods=periods).fee
            agg = out.setdefault((d.holder.name, cat), [0, Decimal(0), Decimal(0)])
            agg[0] += 1
            agg[1] += d.amount
            agg[2] += fee
        secs = time.perf_counter() - t0
        s.rollback()
        return secs, len(ids), candidates


def run(url: str, dialect: str, n: int, sample: int) -> None:
    from addons.deposit_ledger import cleanup
    from core.db import db
    from core.tenancy import SYSTEM, use_scope

    print(f"\n== {dialect}: {n:,} deposits", flush=True)
    t0 = time.perf_counter()
    app = make_app(url)
    print(f"  app + install: {time.perf_counter() - t0:.1f} s", flush=True)
    n_dep, n_ent = generate(app, n, dialect)
    with app.app_context(), use_scope(SYSTEM):
        s = db.session
        with Timer("classification (SQL CASE + fees)") as t_cls:
            df = cleanup.classify(s, CUTOFF, as_of=AS_OF)
        print(f"    {len(df):,} deposits to clean up: "
              + ", ".join(f"{k} {v}" for k, v in df["category"].value_counts().items()))
        del df
        with Timer("report per agency and region (incl. classif.)") as t_rep:
            rep = cleanup.report(s, CUTOFF, as_of=AS_OF)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.xlsx"
            with Timer(f"Excel export ({len(rep.rows):,} detail rows)") as t_x:
                with open(path, "wb") as f:
                    cleanup.write_report(f, rep)
            size = path.stat().st_size / 2**20
        print(f"    xlsx {size:.1f} MB; report rows: {len(rep.by_agency)} agencies, "
              f"{len(rep.by_region)} cities")
        del rep
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ledger.xlsx"
            with Timer("Excel export of the whole ledger") as t_l:
                with open(path, "wb") as f:
                    rows = cleanup.write_ledger(f, s)
            print(f"    {rows:,} rows (one per deposit, balances summed in SQL), "
                  f"xlsx {path.stat().st_size / 2**20:.1f} MB")
        s.rollback()
    base, m, candidates = naive_baseline(app, sample)
    scaled = base * candidates / max(m, 1)
    print(f"  naive per-row ORM baseline: {m:,} held/forfeited deposits in {base:.2f} s "
          f"-> scaled to all {candidates:,} held/forfeited: {scaled:.1f} s")
    both = t_rep.seconds  # cleanup.report classifies and groups: both, in one call
    peak = max(t_cls.peak_mb, t_rep.peak_mb, t_x.peak_mb, t_l.peak_mb)
    print(f"  workload: {n_dep:,} deposits, {n_ent:,} ledger entries")
    print(f"  aim classification + report < 10 s: {both:.2f} s (one cleanup.report call, which "
          f"classifies then groups; classification alone {t_cls.seconds:.2f} s) "
          f"{'OK' if both < 10 else 'MISSED'}")
    print(f"  aim peak memory < 1 GB: highest peak RSS of the measured steps {peak:.0f} MB "
          f"{'OK' if peak < 1024 else 'MISSED'}")
    print(f"  aim {n_dep:,}-row export < 20 s: {t_l.seconds:.2f} s "
          f"{'OK' if t_l.seconds < 20 else 'MISSED'} (peak RSS {t_l.peak_mb:.0f} MB "
          f"while streaming; the cleanup report's export: {t_x.seconds:.2f} s)")
    print(f"  speed-up over the per-row baseline (classification + report): "
          f"{scaled / max(t_rep.seconds, 1e-9):.0f}x")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default=None)
    ap.add_argument("--deposits", type=int, default=200_000)
    ap.add_argument("--sample", type=int, default=10_000)
    ap.add_argument("--keep", action="store_true", help="keep the SQLite file / PG database")
    args = ap.parse_args()
    from sqlalchemy import create_engine, make_url, text

    backends = []
    if args.db in (None, "sqlite", "both"):
        backends.append("sqlite")
    pg_base = make_url(os.environ.get("ERP_TEST_PG_URL") or DEFAULT_PG)
    pg_ok = False
    if args.db in (None, "postgresql", "both"):
        try:
            eng = create_engine(pg_base, isolation_level="AUTOCOMMIT")
            with eng.connect():
                pg_ok = True
            eng.dispose()
        except Exception as exc:
            print(f"PostgreSQL unreachable ({exc.__class__.__name__}); skipped")
            if args.db in ("postgresql", "both"):
                return 2
        if pg_ok:
            backends.append("postgresql")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; deposits {args.deposits:,}, "
          f"sample {args.sample:,}; cut-off {CUTOFF}, as of {AS_OF}")
    for backend in backends:
        if backend == "sqlite":
            tmp = tempfile.mkdtemp(prefix="dl_bench_")
            url = f"sqlite:///{tmp}/bench.sqlite3"
            run(url, "sqlite", args.deposits, args.sample)
            if not args.keep:
                os.remove(f"{tmp}/bench.sqlite3")
        else:
            name = f"dl_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                run(pg_base.set(database=name).render_as_string(hide_password=False), "postgresql",
                    args.deposits, args.sample)
            finally:
                if not args.keep:
                    with admin.connect() as c:
                        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
