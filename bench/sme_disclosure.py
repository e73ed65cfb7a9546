"""Benchmark: the annual SME disclosure of every competent budget unit (``sme_policy``).

On a fresh database (SQLite by default; PostgreSQL with ``--db postgresql``) it installs
``sme_policy``, generates ``--units`` competent units (default 400) with 10 budget units
each, 5,000 suppliers of every size, ``--contracts`` contracts (default 1,000,000: 80 %
from projects of every set-aside measure, 20 % from e-mall orders) signed in 2025, and a
中小企业声明函 for a third of the project contracts' winning bids (bulk inserts), then times:

1. **the disclosure of every competent unit** (``disclosure.compute_all(session, 2025)``: the
   figures of every unit and its reserved-project list, one grouped query over the contracts
   joined with projects, packages, settings and declarations, rolled up in Python);
2. **baseline, same process, same rows**: the cheapest possible pass over the same contracts
   (``SELECT purchaser_id, SUM(amount) FROM pb_contract WHERE year GROUP BY purchaser_id``):
   the floor any computation of these figures pays.

Printed: wall time, the process's peak resident memory during the step (Linux VmHWM, reset
before each step), and the aim: the disclosure under 10 s (OK/MISSED, never asserted).

    .venv/bin/python bench/sme_disclosure.py [--db sqlite|postgresql] [--contracts 1000000]
        [--units 400] [--keep] [--reuse FILE]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
YEAR = 2025
AIM_SECONDS = 10.0
BATCH = 20_000


def rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Timer:
    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self):
        gc.collect()
        self.reset = reset_peak()
        self.cpu0 = time.process_time()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
        self.cpu = time.process_time() - self.cpu0
        self.peak_mb = rss_mb()
        what = "peak RSS in this step" if self.reset else "process peak RSS so far"
        print(f"  {self.label:<52} {self.seconds:8.2f} s (CPU {self.cpu:6.2f} s)   {what} "
              f"{self.peak_mb:8.1f} MB", flush=True)


def make_app(url: str):
    from click.testing import CliRunner

    from core.app import create_app, installer_for
    from core.cli import erp

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": url, "ERP_ADDONS_PATH": [], "ERP_ADDONS_ENTRY_POINTS": False,
        "SECRET_KEY": "bench-secret-key-of-at-least-thirty-two-bytes", "ERP_STATE_POLL_SECONDS": 0,
    })
    with app.app_context():
        res = CliRunner().invoke(erp, ["db", "init"])
        assert res.exit_code == 0, res.output
    installer_for(app).install(["sme_policy"])
    return app


def _insert(conn, table, rows: list[dict]) -> None:
    """executemany in batches; every row gets the same keys (missing ones are NULL)."""
    keys = {k for r in rows for k in r}
    rows = [{k: r.get(k) for k in keys} for r in rows]
    for i in range(0, len(rows), BATCH):
        conn.execute(table.insert(), rows[i:i + BATCH])


def generate(app, n_contracts: int, n_units: int) -> dict[str, int]:
    """Bulk-insert organisations, projects, packages, bids, declarations and contracts."""
    from sqlalchemy import func, select

    from addons.procurement_base.models import Bid, CatalogItem, Contract, Package, Project
    from addons.sme_policy.models import Declaration, ProjectPolicy
    from core.db import db
    from core.models import Organization, Region

    rng = random.Random(18)
    org, prj, pkg, bid, ctr = (Organization.__table__, Project.__table__, Package.__table__,
                               Bid.__table__, Contract.__table__)
    decl, pol = Declaration.__table__, ProjectPolicy.__table__
    with app.app_context(), db.engine.begin() as conn:
        cities = [r for (r,) in conn.execute(select(Region.id).where(Region.level == "prefecture"))]
        catalog = conn.execute(select(CatalogItem.id).where(CatalogItem.code == "A02")).scalar_one()
        start = (conn.execute(select(func.max(org.c.id))).scalar() or 0) + 1
        oid = start
        units, purchasers, unit_region = [], [], {}
        rows = []
        for _ in range(n_units):
            region = rng.choice(cities)
            rows.append({"id": oid, "name": f"主管预算单位{oid}", "org_type": "competent_unit",
                         "region_id": region, "active": True})
            units.append(oid)
            unit_region[oid] = region
            oid += 1
        for u in units:
            for _ in range(10):
                rows.append({"id": oid, "name": f"预算单位{oid}", "org_type": "purchaser",
                             "region_id": unit_region[u], "parent_id": u, "active": True})
                purchasers.append((oid, unit_region[u]))
                oid += 1
        sizes = ["large"] * 2 + ["medium"] * 3 + ["small"] * 3 + ["micro"] * 2
        suppliers = []
        for _ in range(5000):
            size = rng.choice(sizes)
            rows.append({"id": oid, "name": f"供应商{oid}", "org_type": "supplier",
                         "region_id": rng.choice(cities), "size": size, "active": True})
            suppliers.append((oid, size))
            oid += 1
        _insert(conn, org, rows)

        n_project_contracts = n_contracts * 4 // 5
        n_projects = max(1, n_project_contracts // 8)
        measures = ["whole"] * 40 + ["package"] * 20 + ["consortium"] * 5 + ["subcontract"] * 5 \
            + ["none"] * 28 + ["framework"] * 2
        projects, packages, policies = [], [], []
        project_info = []
        for i in range(n_projects):
            pid = i + 1
            purchaser, region = rng.choice(purchasers)
            measure = rng.choice(measures)
            method = "framework_agreement" if measure == "framework" else "public_tender"
            measure = "none" if measure == "framework" else measure
            budget = rng.randrange(100_000, 20_000_000)
            reserved = {"whole": budget, "none": None}.get(measure, budget * 3 // 10)
            projects.append({"id": pid, "number": f"B{pid}", "name": f"基准项目{pid}",
                             "purchaser_id": purchaser, "catalog_id": catalog, "method": method,
                             "budget": budget, "sme_measure": measure,
                             "sme_reserved_amount": reserved, "status": "contracted",
                             "region_id": region})
            packages.append({"id": pid, "project_id": pid, "number": "1", "name": "第1包",
                             "budget": budget, "sme_reserved": measure in ("whole", "package"),
                             "region_id": region})
            if measure == "none" and rng.random() < 0.5:
                policies.append({"id": len(policies) + 1, "project_id": pid, "suits_sme": False,
                                 "reason": "不适宜", "region_id": region})
            project_info.append((pid, purchaser, region))
        _insert(conn, prj, projects)
        _insert(conn, pkg, packages)
        _insert(conn, pol, policies)
        del projects, packages, policies

        contracts, bids, decls = [], [], []
        seen: set[tuple[int, int]] = set()
        day0 = dt.date(YEAR, 1, 1)
        for i in range(n_contracts):
            cid = i + 1
            supplier, size = rng.choice(suppliers)
            label = size if size != "large" else "none"
            signed = day0 + dt.timedelta(days=rng.randrange(365))
            amount = f"{rng.randrange(1_000, 2_000_000)}.{rng.randrange(100):02d}"
            if i < n_project_contracts:
                pid, purchaser, region = project_info[i % n_projects]
                contracts.append({"id": cid, "number": f"HT{cid}", "source": "project",
                                  "order_ref": None, "project_id": pid, "package_id": pid, "purchaser_id": purchaser,
                                  "supplier_id": supplier, "amount": amount, "signed_date": signed,
                                  "sme_label": label, "status": "completed", "region_id": region})
                if size != "large" and rng.random() < 0.33 and (pid, supplier) not in seen:
                    seen.add((pid, supplier))
                    bids.append({"id": len(bids) + 1, "project_id": pid, "package_id": pid,
                                 "supplier_id": supplier, "price": amount, "status": "won",
                                 "region_id": region})
                    decls.append({"id": len(decls) + 1, "bid_id": len(bids), "package_id": pid,
                                  "supplier_id": supplier, "industry": "software", "size": size,
                                  "arrangement": "single", "region_id": region})
            else:
                purchaser, region = rng.choice(purchasers)
                contracts.append({"id": cid, "number": f"HT{cid}", "source": "emall",
                                  "order_ref": f"DD{cid}", "project_id": None,
                                  "package_id": None, "purchaser_id": purchaser,
                                  "supplier_id": supplier, "amount": amount, "signed_date": signed,
                                  "sme_label": label, "status": "completed", "region_id": region})
            if len(contracts) >= BATCH * 5:
                _insert(conn, ctr, contracts)
                contracts = []
        _insert(conn, ctr, contracts)
        _insert(conn, bid, bids)
        _insert(conn, decl, decls)
    with app.app_context(), db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return {"units": n_units, "purchasers": len(purchasers), "projects": n_projects,
            "declarations": len(decls)}


def run(url: str, dialect: str, n_contracts: int, n_units: int, reuse: bool = False) -> None:
    from sqlalchemy import func, select

    from addons.procurement_base.models import Contract
    from addons.sme_policy import disclosure
    from core.db import db
    from core.tenancy import SYSTEM, use_scope

    print(f"\n== {dialect}")
    if reuse:
        from core.app import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ERP_ADDONS_PATH": [],
                          "ERP_ADDONS_ENTRY_POINTS": False, "ERP_STATE_POLL_SECONDS": 0,
                          "SECRET_KEY": "bench-secret-key-of-at-least-thirty-two-bytes"})
        print(f"  reusing {url}")
    else:
        app = make_app(url)
        t0 = time.perf_counter()
        facts = generate(app, n_contracts, n_units)
        print(f"  generated {n_contracts:,} contracts, {facts['projects']:,} projects, "
              f"{facts['declarations']:,} declarations, {facts['units']} competent units with "
              f"{facts['purchasers']:,} budget units in {time.perf_counter() - t0:.1f} s")
    with app.app_context(), use_scope(SYSTEM):
        session = db.session
        c = Contract.__table__
        # both steps read the same pages: warm the cache once so neither pays the first read
        session.execute(select(func.count()).select_from(c)).scalar()
        with Timer("baseline: one GROUP BY over the same contracts") as base:
            # "+ 0": a full scan in storage order, the cheapest plan (the purchaser index
            # would make SQLite hop through the table)
            key = (c.c.purchaser_id + 0).label("purchaser")
            rows = session.execute(select(key, func.sum(c.c.amount)).where(
                c.c.signed_date >= dt.date(YEAR, 1, 1), c.c.signed_date <= dt.date(YEAR, 12, 31))
                .group_by(key)).all()
        with Timer("disclosure of every competent unit (compute_all)") as full:
            figures = disclosure.compute_all(session, YEAR)
        total = sum(f.contracts for f in figures.values())
        lines = sum(len(f.projects) for f in figures.values())
        print(f"  {len(figures)} units, {total:,} contracts counted, {lines:,} reserved-project "
              f"lines; baseline groups {len(rows):,}")
        print(f"  disclosure / baseline: {full.seconds / max(base.seconds, 1e-9):.1f}x wall, "
              f"{full.cpu / max(base.cpu, 1e-9):.1f}x CPU; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time waits for them)")
        verdict = "OK" if full.seconds < AIM_SECONDS else "MISSED"
        print(f"  aim: disclosure of every unit under {AIM_SECONDS:.0f} s: {full.seconds:.2f} s "
              f"{verdict}; peak RSS {full.peak_mb:.0f} MB")
    with app.app_context():
        db.engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--contracts", type=int, default=1_000_000)
    ap.add_argument("--units", type=int, default=400)
    ap.add_argument("--keep", action="store_true", help="keep the SQLite file / PG database")
    ap.add_argument("--reuse", metavar="FILE", help="time again on a SQLite file kept by --keep")
    args = ap.parse_args()
    from sqlalchemy import create_engine, make_url, text

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; contracts "
          f"{args.contracts:,}, competent units {args.units}, year {YEAR}")
    if args.reuse:
        run(f"sqlite:///{Path(args.reuse).resolve()}", "sqlite", args.contracts, args.units,
            reuse=True)
        return 0
    if args.db == "sqlite":
        tmp = tempfile.mkdtemp(prefix="sme_bench_")
        run(f"sqlite:///{tmp}/bench.sqlite3", "sqlite", args.contracts, args.units)
        if args.keep:
            print(f"kept {tmp}/bench.sqlite3 (time again with --reuse)")
        else:
            os.remove(f"{tmp}/bench.sqlite3")
        return 0
    base = make_url(os.environ.get("ERP_TEST_PG_URL") or DEFAULT_PG)
    name = f"sme_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"PostgreSQL unreachable ({exc.__class__.__name__})")
        return 2
    try:
        run(base.set(database=name).render_as_string(hide_password=False), "postgresql",
            args.contracts, args.units)
    finally:
        if not args.keep:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
