"""Benchmark: e-mall order placement through 4 gunicorn workers on PostgreSQL.

Workload: a fresh PostgreSQL database with ``emall`` installed (``erp db init``, install,
``erp tenant enable 220000 emall``), one admitted supplier with ``--listings`` listed
products, and ``--purchasers`` purchaser users (each with a JWT). ``gunicorn -w 4`` serves
``core.wsgi:app`` (as ``tests/core/test_workers.py`` starts it); ``--clients`` threads post
``POST /api/v1/emall_order/`` (1-3 units of a random listing) over HTTP for ``--seconds``.
A fifth of the listings have little stock, so some orders run out on purpose (409
``库存不足``): those are intended stock-outs. Everything else that is not a 201 is an
unexpected error and must be 0.

Prints orders per second, the latency median/p95, intended stock-outs, unexpected errors,
and checks afterwards that no listing's stock went below zero and that the stock consumed
equals the units ordered. Never asserts.

    .venv/bin/python bench/emall_orders.py [--seconds 20] [--clients 16] [--listings 200]
        [--purchasers 8] [--pg-url URL]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common


def setup(url: str, env: dict, n_listings: int, n_purchasers: int) -> list[int]:
    from sqlalchemy import insert, select

    from core.models import Organization
    from core.services.credit_code import make

    rng = random.Random(11)
    with common.workload_connection(url, env, "emall", ["emall"]) as (conn, regions):
        from addons.emall import services
        from addons.emall.models import EmallAdmission, EmallListing, EmallListingRegion

        cat = common.paper_category(conn)
        conn.execute(insert(Organization.__table__), [
            {"name": "基准供应商有限公司", "credit_code": make("91220100MA0BENCH1"), "org_type": "supplier",
             "region_id": regions["220100"], "active": True},
            *common.purchaser_rows(regions, n_purchasers)])
        sup = conn.execute(select(Organization.id).where(Organization.name == "基准供应商有限公司")).scalar_one()
        conn.execute(insert(EmallAdmission.__table__), [{"supplier_id": sup, "status": "admitted", "answers": {}}])
        rows = []
        for i in range(n_listings):
            stock = rng.randint(3, 12) if i % 5 == 0 else 100_000
            rows.append(common.paper_listing(sup, cat, i, "得力", stock,
                                             services.normalize(f"复印纸{i}|得力|B{i}")))
        conn.execute(insert(EmallListing.__table__), rows)
        ids = list(conn.execute(select(EmallListing.id).order_by(EmallListing.id)).scalars())
        conn.execute(insert(EmallListingRegion.__table__),
                     [{"listing_id": i, "region_id": regions["220000"]} for i in ids])
        codes = common.purchaser_codes(conn)
    common.create_purchaser_users(env, codes)
    return ids


def main() -> None:
    ap = common.arg_parser(__doc__, server=True, seconds=20.0, clients=16, listings=200, purchasers=8)
    args = ap.parse_args()

    with common.served_workload(
            args.pg_url, "emall_orders_", "bench-orders-secret-" + "x" * 20,
            lambda url, env: setup(url, env, args.listings, args.purchasers),
            workers=args.workers, ready="/api/v1/emall_catalog/?page_size=1") as run:
        listing_ids, base_url = run.setup, run.base_url
        print(f"setup: emall on PostgreSQL, {args.listings} listings ({args.listings // 5} with 3-12 units), "
              f"{args.purchasers} purchasers, {run.setup_s:.1f}s")
        tokens = common.purchaser_logins(base_url, args.purchasers)
        for h in tokens[:4]:  # warm every worker a little
            common.http(base_url, "/api/v1/emall_order/?q=(page_size:1)", headers=h)

        tally = common.Tally("ok", "stockout")
        units = {"ordered": 0}
        stop = time.monotonic() + args.seconds

        def client(k: int) -> None:
            rng = random.Random(k)
            while time.monotonic() < stop:
                lid = rng.choice(listing_ids)
                qty = rng.randint(1, 3)
                t = time.perf_counter()
                status, body = common.http(base_url, "/api/v1/emall_order/",
                                           {"lines": [{"listing": lid, "quantity": qty}]}, tokens[k % len(tokens)])
                dt_ms = (time.perf_counter() - t) * 1000
                stockout = status == 409 and "库存不足" in json.dumps(body, ensure_ascii=False)
                tally.add(dt_ms, "ok" if status == 201 else "stockout" if stockout else None, status, body)
                if status == 201:
                    with tally.lock:
                        units["ordered"] += qty

        elapsed = common.run_threads(client, args.clients)

        db = common.sql_scalars(
            run.url, negative="SELECT count(*) FROM emall_listing WHERE stock < 0",
            consumed="SELECT coalesce(sum(CASE WHEN stock < 1000 THEN 0 ELSE 100000 - stock END), 0) "
                     "FROM emall_listing",
            low_left="SELECT coalesce(sum(stock), 0) FROM emall_listing WHERE stock < 1000",
            lines="SELECT coalesce(sum(quantity), 0) FROM emall_order_line",
            orders="SELECT count(*) FROM emall_order")
        outcome, latencies = tally.counts, tally.latencies
        total = sum(outcome.values())
        print(f"gunicorn -w {args.workers}, {args.clients} client threads, {elapsed:.1f}s, HTTP on 127.0.0.1")
        print(f"requests: {total}  placed: {outcome['ok']}  ({outcome['ok'] / elapsed:.1f} orders/s)  "
              f"intended stock-outs (409): {outcome['stockout']}  unexpected errors: {outcome['unexpected']} "
              f"{common.verdict(outcome['unexpected'] == 0)}")
        if latencies:
            print(f"latency ms: median {statistics.median(latencies):.1f}  "
                  f"p95 {common.percentile(latencies, 0.95, 'lower'):.1f}  max {max(latencies):.1f}")
        print(f"database: orders {db['orders']} (= placed: {'yes' if db['orders'] == outcome['ok'] else 'NO'}), "
              f"units in order lines {db['lines']} "
              f"(= units ordered: {'yes' if db['lines'] == units['ordered'] else 'NO'}), "
              f"listings below zero: {db['negative']}, stock-out listings left with {db['low_left']} units; "
              f"big-stock consumption {db['consumed']}")
        for s in tally.samples:
            print("  unexpected:", s)


if __name__ == "__main__":
    main()
