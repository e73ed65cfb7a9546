"""Benchmark: one expert draw (expert_credit) against a large provincial pool.

Workload (per backend, on a fresh database): 100,000 experts in 20 specialties (each
expert 1-2 specialties), 50,000 declared relations (past employment, directorships,
shareholdings, relatives) with 2,000 organisations, some with the project's bidders; 5 %
suspended, 1 % dismissed, 2 % failing score, 300 finance supervisors, 1,000 experts booked
on the review day; one project with 15 bidding suppliers. Generated with bulk inserts
(SQLAlchemy Core executemany).

Timed, ``--repeat`` times each (median and p95 printed):

* **platform**: ``services.perform_draw`` for a request of 7 experts of one specialty —
  eligibility computed in SQL (one statement with NOT EXISTS per rule), the exclusions
  with their reasons (one statement), the draw function, and the writes (draw record,
  exclusion rows, assignments, audit) — each run in a transaction that is rolled back;
* **baseline**: the same decision made by loading the whole pool into Python (every
  expert, specialty row, relation and booking of the day) and filtering there, then the
  same draw function (no writes).

Both sides must draw the same experts (checked, printed). The aim (platform median under
100 ms on PostgreSQL) is printed with OK/MISSED, never asserted.

    .venv/bin/python bench/expert_draw.py [--db sqlite|postgresql|both] [--repeat N]
        [--experts N] [--relations N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common

REVIEW = dt.datetime(2025, 3, 26, 9, 0)
ON = dt.date(2025, 3, 24)
AIM_MS = 100.0


def pct(values: list[float], p: float) -> float:
    return common.percentile(values, p / 100, "rounded")


def build(url: str, n_experts: int, n_relations: int, rng: random.Random) -> dict[str, Any]:
    from sqlalchemy import insert, select

    from core.app import installer_for
    from core.db import db
    from core.models import Organization
    from core.services.credit_code import make

    app = common.make_app(url)
    t0 = time.perf_counter()
    with app.app_context():
        inst = installer_for(app)
        inst.init_core()
        inst.install(["expert_credit"])
    install = time.perf_counter() - t0
    from addons.expert_credit.models import (
        Assignment,
        DrawRequest,
        Expert,
        ExpertRelation,
        ExpertSpecialty,
    )
    from addons.procurement_base.models import Bid, CatalogItem, Package, Project

    t0 = time.perf_counter()
    with app.app_context():
        s = db.session
        regions = common.region_ids(s)
        city = [regions[c] for c in regions if c.startswith(("2201", "2202", "2224"))]
        cats = s.execute(select(CatalogItem.id).where(CatalogItem.level == 3)
                         .order_by(CatalogItem.code)).scalars().all()[:20]
        orgs = [{"name": f"基准单位{i:05d}有限公司", "credit_code": make(f"91220100MB{i:07d}"),
                 "org_type": "supplier" if i else "purchaser", "region_id": regions["220100"],
                 "active": True} for i in range(2000)]
        s.execute(insert(Organization), orgs)
        org_ids = s.execute(select(Organization.id).where(Organization.name.like("基准单位%"))
                            .order_by(Organization.name)).scalars().all()
        purchaser, bidders = org_ids[0], org_ids[1:16]
        s.execute(insert(Project), [{
            "number": "BENCH-001", "name": "基准项目", "purchaser_id": purchaser, "catalog_id": cats[0],
            "method": "public_tender", "budget": "1000000.00", "status": "bidding",
            "region_id": regions["220100"], "sme_measure": "none"}])
        pid = s.execute(select(Project.id).where(Project.number == "BENCH-001")).scalar_one()
        s.execute(insert(Package), [{"project_id": pid, "number": "1", "name": "包1",
                                     "budget": "1000000.00", "sme_reserved": False,
                                     "region_id": regions["220100"]}])
        pkg = s.execute(select(Package.id).where(Package.project_id == pid)).scalar_one()
        s.execute(insert(Bid), [{"project_id": pid, "package_id": pkg, "supplier_id": b,
                                 "price": "900000.00", "status": "submitted",
                                 "region_id": regions["220100"]} for b in bidders])
        experts = []
        for i in range(1, n_experts + 1):
            r = rng.random()
            status, until = "active", None
            if r < 0.01:
                status = "dismissed"
            elif r < 0.06:
                status, until = "suspended", dt.date(2025, 12, 31)
            band = rng.choice(["excellent", "good", "good", "pass", "new"])
            if rng.random() < 0.02:
                band = "fail"
            experts.append({"code": f"ZJ{i:07d}", "name": f"专家{i}", "id_number": f"{i:018d}",
                            "status": status, "suspended_until": until,
                            "finance_supervisor": i % 333 == 0, "credit_band": band,
                            "employer_id": rng.choice(org_ids) if rng.random() < 0.3 else None,
                            "region_id": rng.choice(city)})
        for chunk in range(0, len(experts), 10_000):
            s.execute(insert(Expert), experts[chunk:chunk + 10_000])
        eids = s.execute(select(Expert.id, Expert.region_id).order_by(Expert.id)).all()
        specs, rels = [], []
        for eid, reg in eids:
            for c in rng.sample(cats, rng.choice((1, 1, 2))):
                specs.append({"expert_id": eid, "catalog_id": c, "region_id": reg})
        for _ in range(n_relations):
            eid, reg = rng.choice(eids)
            org = rng.choice(org_ids)
            kind = rng.choice(["employment", "employment", "director", "shareholder", "relative"])
            end = rng.choice([None, dt.date(2019, 6, 30), dt.date(2023, 6, 30)])
            rels.append({"expert_id": eid, "kind": kind, "org_id": org, "org_name": "x",
                         "date_to": end, "region_id": reg})
        for chunk in range(0, len(specs), 20_000):
            s.execute(insert(ExpertSpecialty), specs[chunk:chunk + 20_000])
        for chunk in range(0, len(rels), 20_000):
            s.execute(insert(ExpertRelation), rels[chunk:chunk + 20_000])
        # another request on the same day booked 1,000 experts
        from addons.expert_credit import services

        req0 = services.create_request(s, s.get(Project, pid), REVIEW,
                                       [services.LineSpec(cats[1], 1)], on=ON, seed=b"\1" * 32)
        s.flush()
        booked = rng.sample(eids, 1000)
        req = services.create_request(s, s.get(Project, pid), REVIEW,
                                      [services.LineSpec(cats[0], 7)], on=ON, seed=b"\7" * 32)
        s.commit()
        # bookings need a draw row: one real draw on the other request, then 1,000 experts
        # booked that day through assignments of that draw
        d0 = services.perform_draw(s, req0, on=ON)
        s.flush()
        taken = set(s.execute(select(Assignment.expert_id).where(
            Assignment.request_id == req0.id)).scalars())
        s.execute(insert(Assignment), [{
            "request_id": req0.id, "draw_id": d0.id, "project_id": pid, "expert_id": e,
            "catalog_id": cats[0], "position": 100 + i, "reserve": False,
            "review_date": REVIEW.date(), "expert_name": "x", "status": "accepted",
            "region_id": regions["220100"]} for i, (e, _) in enumerate(booked) if e not in taken])
        s.commit()
        rid = req.id
        if url.startswith("postgresql"):
            from sqlalchemy import text

            s.execute(text("ANALYZE"))
            s.commit()
    load = time.perf_counter() - t0
    return {"app": app, "request_id": rid, "install": install, "load": load,
            "specs": len(specs), "rels": len(rels), "DrawRequest": DrawRequest}


def platform_draw(app: Any, rid: int) -> tuple[float, list[str], int, int]:
    from addons.expert_credit import draw as algo
    from addons.expert_credit import services
    from addons.expert_credit.models import DrawRequest
    from core.db import db

    with app.app_context():
        s = db.session
        req = s.get(DrawRequest, rid)
        t0 = time.perf_counter()
        d = services.perform_draw(s, req, on=ON)
        elapsed = time.perf_counter() - t0
        picks = [c for _, c in algo.parse_result(d.result)]
        out = (elapsed, picks, d.pool_size, len(d.exclusions))
        s.rollback()
    return out


def baseline_draw(app: Any, rid: int) -> tuple[float, list[str], int]:
    """Load the whole pool into Python and filter there (same rules), then draw."""
    from sqlalchemy import select

    from addons.expert_credit import draw as algo
    from addons.expert_credit import services
    from addons.expert_credit.models import (
        Assignment,
        DrawRequest,
        Expert,
        ExpertRelation,
        ExpertSpecialty,
    )
    from core.db import db
    from core.models import Organization

    with app.app_context():
        s = db.session
        req = s.get(DrawRequest, rid)
        seed = bytes.fromhex(req.seed)
        t0 = time.perf_counter()
        ctx = services.context_for(s, req)
        line = req.lines[0]
        regions = set(ctx.pool_regions)
        experts = s.execute(select(Expert.id, Expert.code, Expert.status, Expert.suspended_until,
                                   Expert.credit_band, Expert.finance_supervisor,
                                   Expert.employer_id, Expert.employer_name, Expert.region_id)
                            .execution_options(erp_unscoped=True)).all()
        spec_all = s.execute(select(ExpertSpecialty.expert_id, ExpertSpecialty.catalog_id)).all()
        spec = {e for e, c in spec_all if c == line.catalog_id}
        rels = s.execute(select(ExpertRelation.expert_id, ExpertRelation.kind, ExpertRelation.org_id,
                                ExpertRelation.org_credit_code, ExpertRelation.org_name,
                                ExpertRelation.date_to)).all()
        booked = {e for (e,) in s.execute(select(Assignment.expert_id).where(
            Assignment.review_date == ctx.review_date,
            Assignment.status.in_(("drawn", "accepted")), Assignment.request_id != req.id))}
        mine = {e for (e,) in s.execute(select(Assignment.expert_id).where(
            Assignment.request_id == req.id))}
        finance_orgs = {o for (o,) in s.execute(select(Organization.id).where(
            Organization.org_type == "finance"))}
        t = ctx.targets
        ids, codes, names = set(t.ids), set(t.codes), set(t.names)
        cutoff = services._years_before(ctx.review_date, ctx.avoid_years)
        conflicted = set()
        for e, kind, org, code, name, end in rels:
            if not (org in ids or code in codes or name in names):
                continue
            if (kind == "relative" and (end is None or end >= ctx.review_date)) or (
                    kind != "relative" and (end is None or end >= cutoff)):
                conflicted.add(e)
        pool = []
        for (eid, code, status, until, band, fin, emp, emp_name, reg) in experts:
            if reg not in regions or eid not in spec or eid in conflicted or eid in booked \
                    or eid in mine or fin or emp in finance_orgs:
                continue
            if status == "dismissed" or (status == "suspended" and (
                    until is None or until >= ctx.review_date)):
                continue
            if emp == t.purchaser_id or (emp_name and emp_name == t.purchaser_name) or (
                    emp in ids and emp != t.purchaser_id):
                continue
            w = ctx.weights.get(band, 0)
            if w <= 0:
                continue
            pool.append((code, w))
        pool.sort()
        picks = [c for _, c in algo.run(seed, 1, [(1, pool, line.count)])]
        elapsed = time.perf_counter() - t0
        s.rollback()
    return elapsed, picks, len(pool)


def run_backend(name: str, url: str, args: argparse.Namespace) -> None:
    rng = random.Random(20250326)
    print(f"\n== {name} ==")
    w = build(url, args.experts, args.relations, rng)
    print(f"workload: {args.experts:,} experts, {w['specs']:,} specialty rows (20 specialties), "
          f"{w['rels']:,} relations, 15 bidders + purchaser; draw of 7 "
          f"(install {w['install']:.1f}s, bulk load {w['load']:.1f}s)")
    app, rid = w["app"], w["request_id"]
    plat, base = [], []
    plat_picks = base_picks = None
    pool_size = excl = base_pool = 0
    platform_draw(app, rid)  # warm-up (caches, statement compilation)
    baseline_draw(app, rid)
    for _ in range(args.repeat):
        t, plat_picks, pool_size, excl = platform_draw(app, rid)
        plat.append(t * 1000)
        t, base_picks, base_pool = baseline_draw(app, rid)
        base.append(t * 1000)
    same = plat_picks == base_picks and pool_size >= base_pool
    print(f"eligible pool {pool_size:,} (baseline {base_pool:,}), exclusions recorded {excl:,}; "
          f"same experts drawn: {'yes' if plat_picks == base_picks else 'NO'} {plat_picks}")
    print(f"platform (SQL NOT EXISTS + exclusions + draw + writes, rolled back): "
          f"median {statistics.median(plat):7.1f} ms  p95 {pct(plat, 95):7.1f} ms  (n={len(plat)})")
    print(f"baseline (whole pool into Python, filter, draw; no writes):          "
          f"median {statistics.median(base):7.1f} ms  p95 {pct(base, 95):7.1f} ms  (n={len(base)})")
    if name == "postgresql":
        print(f"aim: platform median under {AIM_MS:.0f} ms on PostgreSQL: "
              f"{common.verdict(statistics.median(plat) < AIM_MS)}")
    if not same:
        print("warning: the platform and the baseline disagree")
    common.close_app(app)


def main() -> int:
    ap = common.arg_parser(__doc__, db=common.ANY_DB, repeat=15, experts=100_000, relations=50_000)
    args = ap.parse_args()
    pg_url = common.pg_url_from_env()
    backends = common.choose_backends(args.db, pg_url)
    if backends is None:
        return 2
    print(f"expert_draw bench, python {sys.version.split()[0]}, {os.cpu_count()} cpu(s)")
    for name in backends:
        with common.open_db(name, pg_url) as store:
            run_backend(name, store.url, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
