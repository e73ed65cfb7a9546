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

import datetime as dt
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common

CUTOFF = dt.date(2022, 5, 1)
AS_OF = dt.date(2025, 11, 27)
PER_PROJECT = 10


def installed_app(url: str) -> Any:
    app = common.make_app(url, ERP_ADDONS_PATH=[], ERP_STATE_POLL_SECONDS=0)
    common.setup_modules(app, ["deposit_ledger"])
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
        conn = db.session.connection()
        common.bulk_rows(conn, "dl_deposit", dep_cols, deposits)
        common.bulk_rows(conn, "dl_entry", ent_cols, entries)
        common.reset_serial(conn, "dl_deposit")
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
    app = installed_app(url)
    print(f"  app + install: {time.perf_counter() - t0:.1f} s", flush=True)
    n_dep, n_ent = generate(app, n, dialect)
    with app.app_context(), use_scope(SYSTEM):
        s = db.session
        with common.Timer("classification (SQL CASE + fees)") as t_cls:
            df = cleanup.classify(s, CUTOFF, as_of=AS_OF)
        print(f"    {len(df):,} deposits to clean up: "
              + ", ".join(f"{k} {v}" for k, v in df["category"].value_counts().items()))
        del df
        with common.Timer("report per agency and region (incl. classif.)") as t_rep:
            rep = cleanup.report(s, CUTOFF, as_of=AS_OF)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.xlsx"
            with common.Timer(f"Excel export ({len(rep.rows):,} detail rows)") as t_x:
                with open(path, "wb") as f:
                    cleanup.write_report(f, rep)
            size = path.stat().st_size / 2**20
        print(f"    xlsx {size:.1f} MB; report rows: {len(rep.by_agency)} agencies, "
              f"{len(rep.by_region)} cities")
        del rep
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ledger.xlsx"
            with common.Timer("Excel export of the whole ledger") as t_l:
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
          f"{common.verdict(both < 10)}")
    print(f"  aim peak memory < 1 GB: highest peak RSS of the measured steps {peak:.0f} MB "
          f"{common.verdict(peak < 1024)}")
    print(f"  aim {n_dep:,}-row export < 20 s: {t_l.seconds:.2f} s "
          f"{common.verdict(t_l.seconds < 20)} (peak RSS {t_l.peak_mb:.0f} MB "
          f"while streaming; the cleanup report's export: {t_x.seconds:.2f} s)")
    print(f"  speed-up over the per-row baseline (classification + report): "
          f"{scaled / max(t_rep.seconds, 1e-9):.0f}x")
    common.close_app(app)


def main() -> int:
    ap = common.arg_parser(__doc__, db=common.ANY_DB, keep=True, deposits=200_000, sample=10_000)
    args = ap.parse_args()
    backends = common.choose_backends(args.db, common.pg_url_from_env())
    if backends is None:
        return 2
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; deposits {args.deposits:,}, "
          f"sample {args.sample:,}; cut-off {CUTOFF}, as of {AS_OF}")
    for backend in backends:
        with common.open_db(backend, common.pg_url_from_env(), sqlite_prefix="dl_bench_",
                            pg_prefix="dl_bench_", keep=args.keep) as store:
            run(store.url, backend, args.deposits, args.sample)
            if args.keep:
                print(f"kept {store.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
