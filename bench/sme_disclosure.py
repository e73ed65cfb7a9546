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

import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common

YEAR = 2025
AIM_SECONDS = 10.0
BATCH = 20_000


def app_on(url: str) -> Any:
    return common.make_app(url, ERP_ADDONS_PATH=[], ERP_STATE_POLL_SECONDS=0)


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
    app = app_on(url)
    if reuse:
        print(f"  reusing {url}")
    else:
        common.setup_modules(app, ["sme_policy"])
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
        with common.Timer("baseline: one GROUP BY over the same contracts", width=52, show_cpu=True) as base:
            # "+ 0": a full scan in storage order, the cheapest plan (the purchaser index
            # would make SQLite hop through the table)
            key = (c.c.purchaser_id + 0).label("purchaser")
            rows = session.execute(select(key, func.sum(c.c.amount)).where(
                c.c.signed_date >= dt.date(YEAR, 1, 1), c.c.signed_date <= dt.date(YEAR, 12, 31))
                .group_by(key)).all()
        with common.Timer("disclosure of every competent unit (compute_all)", width=52, show_cpu=True) as full:
            figures = disclosure.compute_all(session, YEAR)
        total = sum(f.contracts for f in figures.values())
        lines = sum(len(f.projects) for f in figures.values())
        print(f"  {len(figures)} units, {total:,} contracts counted, {lines:,} reserved-project "
              f"lines; baseline groups {len(rows):,}")
        print(f"  disclosure / baseline: {full.seconds / max(base.seconds, 1e-9):.1f}x wall, "
              f"{full.cpu / max(base.cpu, 1e-9):.1f}x CPU; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time waits for them)")
        print(f"  aim: disclosure of every unit under {AIM_SECONDS:.0f} s: {full.seconds:.2f} s "
              f"{common.verdict(full.seconds < AIM_SECONDS)}; peak RSS {full.peak_mb:.0f} MB")
    common.close_app(app)


def main() -> int:
    ap = common.arg_parser(__doc__, db=common.ONE_DB, db_default="sqlite", keep=True,
                           contracts=1_000_000, units=400)
    ap.add_argument("--reuse", metavar="FILE", help="time again on a SQLite file kept by --keep")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; contracts "
          f"{args.contracts:,}, competent units {args.units}, year {YEAR}")
    if args.reuse:
        run(f"sqlite:///{Path(args.reuse).resolve()}", "sqlite", args.contracts, args.units,
            reuse=True)
        return 0
    if common.choose_backends(args.db, common.pg_url_from_env()) is None:
        return 2
    with common.open_db(args.db, common.pg_url_from_env(), sqlite_prefix="sme_bench_", pg_prefix="sme_bench_",
                        keep=args.keep) as store:
        run(store.url, args.db, args.contracts, args.units)
        if args.keep and args.db == "sqlite":
            print(f"kept {store.path} (time again with --reuse)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
