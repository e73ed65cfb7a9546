"""Benchmark: concurrent framework-agreement call-offs through 4 gunicorn workers on PostgreSQL.

Workload: a fresh PostgreSQL database with ``framework_agreement`` installed (and ``emall``,
``procurement_base`` with it), enabled for the province; one active closed agreement with
``--items`` items × ``--suppliers`` shortlisted suppliers = 500 agreement lines (each
supplier's product an e-mall listing), ``--purchasers`` purchaser users (each with a JWT).
``gunicorn -w 4`` serves ``core.wsgi:app``; ``--calloffs`` threads start together (a
barrier) and each posts one direct selection ``POST /api/v1/fa_calloff/direct`` (1-3 units
of a random line). A tenth of the lines (``--hot``) have only 5 units left on their ledger
and half of the call-offs aim at them, so many race for the last units: their 409
``超出协议剩余数量`` are intended. Anything else that is not a 201 is an unexpected error.

Baseline, in the same process against the same workers: as many plain e-mall direct orders
(``POST /api/v1/emall_order/``, channel ``direct``) for the same listings, started alike.

Prints call-offs per second and the latency median/p95 beside the baseline's, intended
409s, unexpected errors (aim 0) and cap violations (aim 0: no line's ordered quantity above
its cap, and every line's ordered quantity and amount equal to the sum of its call-offs).
Never asserts.

    .venv/bin/python bench/framework_calloff.py [--calloffs 200] [--suppliers 50] [--items 10]
        [--purchasers 8] [--workers 4] [--pg-url URL]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common


def setup(url: str, env: dict, n_items: int, n_suppliers: int, n_purchasers: int, n_hot: int) -> dict:
    import datetime as dt

    from sqlalchemy import insert, select

    from core.models import Organization
    from core.services.credit_code import make

    today = dt.date.today()
    with common.workload_connection(url, env, "framework_agreement",
                                    ["emall", "framework_agreement"]) as (conn, regions):
        from addons.emall.models import EmallAdmission, EmallListing, EmallListingRegion
        from addons.framework_agreement.models import (
            FaAgreement,
            FaItem,
            FaLine,
            FaMember,
            fa_agreement_region,
        )

        cat = common.paper_category(conn)
        conn.execute(insert(Organization.__table__), [
            {"name": "基准省政府采购中心", "credit_code": make("12220000MA0B30000"), "org_type": "central_procurement",
             "region_id": regions["220000"], "active": True},
            *({"name": f"基准入围供应商{i:02d}有限公司", "credit_code": make(f"91220100MA0B1{i:04d}"),
               "org_type": "supplier", "region_id": regions["220100"], "active": True} for i in range(n_suppliers)),
            *common.purchaser_rows(regions, n_purchasers)])
        centre = conn.execute(select(Organization.id).where(Organization.name == "基准省政府采购中心")).scalar_one()
        sups = list(conn.execute(select(Organization.id).where(Organization.name.like("基准入围供应商%"))
                                 .order_by(Organization.id)).scalars())
        conn.execute(insert(EmallAdmission.__table__), [{"supplier_id": s, "status": "admitted", "answers": {}}
                                                        for s in sups])
        ag = conn.execute(insert(FaAgreement.__table__).returning(FaAgreement.id), [{
            "number": "KJ-BENCH-001", "name": "基准复印纸框架协议", "collector_id": centre, "kind": "goods",
            "form": "closed", "subject": "复印纸", "demand": "A4 70g", "evaluation": "price",
            "lab_instruments": False, "methods": "direct,competition", "term_start": today - dt.timedelta(days=10),
            "term_end": today + dt.timedelta(days=300), "response_deadline": dt.datetime.now() - dt.timedelta(days=20),
            "status": "active", "round": 1, "rotation_cycle": 1, "region_id": regions["220000"]}]).scalar_one()
        conn.execute(insert(fa_agreement_region), [{"agreement_id": ag, "region_id": regions[c]}
                                                   for c in ("220100", "220200")])
        items = [conn.execute(insert(FaItem.__table__).returning(FaItem.id), [{
            "agreement_id": ag, "seq": k + 1, "category_id": cat, "name": f"复印纸规格{k + 1}", "unit": "箱",
            "ceiling_price": "160.00", "est_quantity": 1000, "max_quantity": 100_000,
            "region_id": regions["220000"]}]).scalar_one() for k in range(n_items)]
        listings = []
        for si, s in enumerate(sups):
            for k in range(n_items):
                listings.append(common.paper_listing(s, cat, k, f"品牌{si}", 1_000_000, f"复印纸{k}"))
        conn.execute(insert(EmallListing.__table__), listings)
        lrows = conn.execute(select(EmallListing.id, EmallListing.supplier_id, EmallListing.model_key)
                             .order_by(EmallListing.id)).all()
        conn.execute(insert(EmallListingRegion.__table__), [{"listing_id": r[0], "region_id": regions["220000"]}
                                                            for r in lrows])
        conn.execute(insert(FaMember.__table__), [{"agreement_id": ag, "supplier_id": s, "rank": i + 1,
                                                   "rotation_position": i + 1, "status": "active",
                                                   "region_id": regions["220000"]} for i, s in enumerate(sups)])
        rows = []
        for n, (lid, sup, model_key) in enumerate(lrows):
            hot = n < n_hot
            rows.append({"agreement_id": ag, "item_id": items[int(model_key[1:])], "supplier_id": sup,
                         "listing_id": lid, "agreement_price": f"{140 + n % 10}.00", "ceiling_price": "160.00",
                         "cap_quantity": 5 if hot else 100_000, "ordered_quantity": 0, "ordered_amount": "0.00",
                         "active": True, "region_id": regions["220000"]})
        conn.execute(insert(FaLine.__table__), rows)
        lines = list(conn.execute(select(FaLine.id, FaLine.listing_id, FaLine.cap_quantity)
                                  .order_by(FaLine.id)).all())
        codes = common.purchaser_codes(conn)
    common.create_purchaser_users(env, codes)
    return {"agreement": ag, "hot": [(ln[0], ln[1]) for ln in lines if ln[2] == 5],
            "cold": [(ln[0], ln[1]) for ln in lines if ln[2] != 5]}


def burst(base_url: str, tokens: list[dict], n: int, make: Any) -> tuple[float, list[float], list[tuple[int, dict]]]:
    """``n`` threads started together, one request each: (elapsed, latencies, answers)."""
    start = threading.Barrier(n)
    lock = threading.Lock()
    latencies: list[float] = []
    answers: list[tuple[int, dict]] = []

    def one(k: int) -> None:
        path, body = make(k)
        start.wait()
        t = time.perf_counter()
        status, res = common.http(base_url, path, body, tokens[k % len(tokens)])
        ms = (time.perf_counter() - t) * 1000
        with lock:
            latencies.append(ms)
            answers.append((status, res))

    return common.run_threads(one, n), sorted(latencies), answers


def p95(lat: list[float]) -> float:
    return common.percentile(lat, 0.95, "lower") if lat else 0.0


def main() -> None:
    ap = common.arg_parser(__doc__, server=True, calloffs=200, suppliers=50, items=10, purchasers=8)
    args = ap.parse_args()

    n_lines = args.items * args.suppliers
    n_hot = max(1, n_lines // 10)
    with common.served_workload(
            args.pg_url, "framework_calloff_", "bench-calloff-secret-" + "x" * 20,
            lambda url, env: setup(url, env, args.items, args.suppliers, args.purchasers, n_hot),
            workers=args.workers, ready="/api/v1/emall_catalog/?page_size=1") as run:
        world, base_url = run.setup, run.base_url
        print(f"setup: one agreement, {n_lines} lines ({args.items} items x {args.suppliers} shortlisted suppliers; "
              f"{n_hot} lines with 5 units left), {args.purchasers} purchasers, {run.setup_s:.1f}s")
        tokens = common.purchaser_logins(base_url, args.purchasers)
        for h in tokens:  # warm the workers
            common.http(base_url, "/api/v1/fa_available/", headers=h)

        rng = random.Random(7)
        plan = [(rng.choice(world["hot"] if rng.random() < 0.5 else world["cold"]), rng.randint(1, 3))
                for _ in range(args.calloffs)]
        ag = world["agreement"]
        # the baseline: plain e-mall direct orders for the same listings (cold ones: no stock-outs)
        b_elapsed, b_lat, b_answers = burst(base_url, tokens, args.calloffs, lambda k: (
            "/api/v1/emall_order/", {"lines": [{"listing": world["cold"][k % len(world["cold"])][1],
                                                "quantity": plan[k][1]}]}))
        b_ok = sum(1 for s, _ in b_answers if s == 201)
        elapsed, lat, answers = burst(base_url, tokens, args.calloffs, lambda k: (
            "/api/v1/fa_calloff/direct", {"agreement": ag, "line": plan[k][0][0], "quantity": plan[k][1]}))
        ok = sum(1 for s, _ in answers if s == 201)
        intended = sum(1 for s, b in answers if s == 409 and "超出协议剩余数量" in json.dumps(b, ensure_ascii=False))
        unexpected = [(s, b) for s, b in answers if s != 201 and not (
            s == 409 and "超出协议剩余数量" in json.dumps(b, ensure_ascii=False))]

        db = common.sql_scalars(
            run.url, over="SELECT count(*) FROM fa_line WHERE ordered_quantity > cap_quantity",
            mismatch="SELECT count(*) FROM fa_line l LEFT JOIN (SELECT line_id, sum(quantity) q, sum(amount) a "
                     "FROM fa_calloff WHERE status = 'ordered' GROUP BY line_id) c ON c.line_id = l.id "
                     "WHERE l.ordered_quantity <> coalesce(c.q, 0) OR l.ordered_amount <> coalesce(c.a, 0)",
            hot_full="SELECT count(*) FROM fa_line WHERE cap_quantity = 5 AND ordered_quantity = 5",
            orders="SELECT count(*) FROM emall_order WHERE channel = 'framework'",
            calloffs="SELECT count(*) FROM fa_calloff")
        over, mismatch, hot_full = db["over"], db["mismatch"], db["hot_full"]
        orders, calloffs = db["orders"], db["calloffs"]
        violations = over + mismatch
        print(f"gunicorn -w {args.workers}, {args.calloffs} simultaneous requests (one thread each), HTTP on 127.0.0.1")
        print(f"baseline  e-mall direct orders: {b_ok}/{args.calloffs} placed in {b_elapsed:.2f}s "
              f"({b_ok / b_elapsed:.1f} orders/s), latency ms median {statistics.median(b_lat):.1f} p95 {p95(b_lat):.1f}")
        print(f"framework call-offs:            {ok}/{args.calloffs} placed in {elapsed:.2f}s "
              f"({ok / elapsed:.1f} call-offs/s), latency ms median {statistics.median(lat):.1f} p95 {p95(lat):.1f}")
        print(f"intended 409 (ledger exhausted): {intended}; hot lines filled to their cap: {hot_full}")
        print(f"cap violations: {violations} (over cap {over}, ledger != call-offs {mismatch}) "
              f"{common.verdict(violations == 0)}")
        print(f"unexpected errors: {len(unexpected)} {common.verdict(not unexpected)}")
        print(f"database: call-offs {calloffs}, framework orders {orders} "
              f"(= placed: {'yes' if calloffs == orders == ok else 'NO'})")
        for s, b in unexpected[:5]:
            print("  unexpected:", s, json.dumps(b, ensure_ascii=False)[:200])


if __name__ == "__main__":
    main()
