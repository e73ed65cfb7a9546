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

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-secret-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(base: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
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


def setup(url: str, env: dict, n_listings: int, n_purchasers: int) -> list[int]:
    from sqlalchemy import insert, select

    erp = [sys.executable, "-m", "core.cli"]
    for args in (["db", "init", "--admin-password", PASSWORD], ["module", "install", "emall"],
                 ["tenant", "enable", "220000", "emall"]):
        subprocess.run([*erp, *args], env=env, cwd=ROOT, check=True, capture_output=True)
    from core.app import create_app
    from core.db import db
    from core.models import Organization, Region
    from core.services.credit_code import make

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ERP_ADDONS_ENTRY_POINTS": False,
                      "SECRET_KEY": env["ERP_SECRET_KEY"], "RATELIMIT_ENABLED": False})
    from addons.emall import services
    from addons.emall.models import EmallAdmission, EmallCategory, EmallListing, EmallListingRegion

    rng = random.Random(11)
    with app.app_context(), db.engine.begin() as conn:
        regions = dict(conn.execute(select(Region.code, Region.id)).all())
        cat = conn.execute(select(EmallCategory.id).where(EmallCategory.code == "A020210-01")).scalar_one()
        conn.execute(insert(Organization.__table__), [
            {"name": "基准供应商有限公司", "credit_code": make("91220100MA0BENCH1"), "org_type": "supplier",
             "region_id": regions["220100"], "active": True},
            *({"name": f"基准采购单位{i}", "credit_code": make(f"12220100MA0BEN{i:03d}"), "org_type": "purchaser",
               "region_id": regions["220102" if i % 2 else "220202"], "active": True} for i in range(n_purchasers))])
        sup = conn.execute(select(Organization.id).where(Organization.name == "基准供应商有限公司")).scalar_one()
        conn.execute(insert(EmallAdmission.__table__), [{"supplier_id": sup, "status": "admitted", "answers": {}}])
        rows = []
        for i in range(n_listings):
            stock = rng.randint(3, 12) if i % 5 == 0 else 100_000
            rows.append({"supplier_id": sup, "category_id": cat, "name": f"复印纸{i}", "brand": "得力",
                         "model": f"B{i}", "brand_key": "得力", "model_key": f"b{i}", "attributes": {},
                         "unit": "箱", "price": "150.00", "reference_price": "150.00",
                         "reference_source": "market", "stock": stock, "cold_chain": False,
                         "exclusive_model": False, "status": "listed",
                         "search_text": services.normalize(f"复印纸{i}|得力|B{i}")})
        conn.execute(insert(EmallListing.__table__), rows)
        ids = list(conn.execute(select(EmallListing.id).order_by(EmallListing.id)).scalars())
        conn.execute(insert(EmallListingRegion.__table__),
                     [{"listing_id": i, "region_id": regions["220000"]} for i in ids])
        codes = list(conn.execute(select(Organization.credit_code).where(
            Organization.name.like("基准采购单位%"))).scalars())
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    for i, code in enumerate(codes):
        subprocess.run([*erp, "user", "create", "--username", f"bench_p{i}", "--password", PASSWORD,
                        "--role", "采购人", "--org", code], env=env, cwd=ROOT, check=True, capture_output=True)
    return ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--listings", type=int, default=200)
    ap.add_argument("--purchasers", type=int, default=8)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--pg-url", default=os.environ.get("ERP_TEST_PG_URL", DEFAULT_PG))
    args = ap.parse_args()

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(args.pg_url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    dbname = f"erp_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    url = base.set(database=dbname).render_as_string(hide_password=False)
    tmp = tempfile.TemporaryDirectory(prefix="emall_orders_")
    settings_file = Path(tmp.name) / "settings.py"
    settings_file.write_text("RATELIMIT_ENABLED = False\nERP_ADDONS_ENTRY_POINTS = False\n"
                             "ERP_STATE_POLL_SECONDS = 1.0\n")
    env = dict(os.environ, ERP_DATABASE_URL=url, ERP_SECRET_KEY="bench-orders-secret-" + "x" * 20,
               ERP_CONFIG=str(settings_file), ERP_VAR_DIR=tmp.name)
    server = None
    try:
        t0 = time.perf_counter()
        listing_ids = setup(url, env, args.listings, args.purchasers)
        print(f"setup: emall on PostgreSQL, {args.listings} listings ({args.listings // 5} with 3-12 units), "
              f"{args.purchasers} purchasers, {time.perf_counter() - t0:.1f}s")
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b",
                                   f"127.0.0.1:{port}", "core.wsgi:app"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if http(base_url, "/api/v1/emall_catalog/?page_size=1")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.3)
        tokens = []
        for i in range(args.purchasers):
            status, body = http(base_url, "/api/v1/security/login",
                                {"username": f"bench_p{i}", "password": PASSWORD, "provider": "db"})
            if status != 200:
                raise RuntimeError(f"login bench_p{i}: {status} {body}")
            tokens.append({"Authorization": f"Bearer {body['access_token']}"})
        for h in tokens[:4]:  # warm every worker a little
            http(base_url, "/api/v1/emall_order/?q=(page_size:1)", headers=h)

        lock = threading.Lock()
        latencies: list[float] = []
        outcome = {"ok": 0, "stockout": 0, "unexpected": 0}
        units = {"ordered": 0}
        samples: list[str] = []
        stop = time.monotonic() + args.seconds

        def client(k: int) -> None:
            rng = random.Random(k)
            while time.monotonic() < stop:
                lid = rng.choice(listing_ids)
                qty = rng.randint(1, 3)
                t = time.perf_counter()
                status, body = http(base_url, "/api/v1/emall_order/",
                                    {"lines": [{"listing": lid, "quantity": qty}]}, tokens[k % len(tokens)])
                dt_ms = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(dt_ms)
                    if status == 201:
                        outcome["ok"] += 1
                        units["ordered"] += qty
                    elif status == 409 and "库存不足" in json.dumps(body, ensure_ascii=False):
                        outcome["stockout"] += 1
                    else:
                        outcome["unexpected"] += 1
                        if len(samples) < 5:
                            samples.append(f"{status} {json.dumps(body, ensure_ascii=False)[:200]}")

        t_start = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t_start

        eng = create_engine(url)
        with eng.connect() as conn:
            negative = conn.execute(text("SELECT count(*) FROM emall_listing WHERE stock < 0")).scalar()
            consumed = conn.execute(text(
                "SELECT coalesce(sum(CASE WHEN stock < 1000 THEN 0 ELSE 100000 - stock END), 0) "
                "FROM emall_listing")).scalar()
            low_left = conn.execute(text("SELECT coalesce(sum(stock), 0) FROM emall_listing WHERE stock < 1000")).scalar()
            lines = conn.execute(text("SELECT coalesce(sum(quantity), 0) FROM emall_order_line")).scalar()
            orders = conn.execute(text("SELECT count(*) FROM emall_order")).scalar()
        eng.dispose()
        total = sum(outcome.values())
        print(f"gunicorn -w {args.workers}, {args.clients} client threads, {elapsed:.1f}s, HTTP on 127.0.0.1")
        print(f"requests: {total}  placed: {outcome['ok']}  ({outcome['ok'] / elapsed:.1f} orders/s)  "
              f"intended stock-outs (409): {outcome['stockout']}  unexpected errors: {outcome['unexpected']} "
              f"{'OK' if outcome['unexpected'] == 0 else 'MISSED'}")
        if latencies:
            lat = sorted(latencies)
            print(f"latency ms: median {statistics.median(lat):.1f}  p95 {lat[int(0.95 * (len(lat) - 1))]:.1f}  "
                  f"max {lat[-1]:.1f}")
        print(f"database: orders {orders} (= placed: {'yes' if orders == outcome['ok'] else 'NO'}), "
              f"units in order lines {lines} (= units ordered: {'yes' if lines == units['ordered'] else 'NO'}), "
              f"listings below zero: {negative}, stock-out listings left with {low_left} units; "
              f"big-stock consumption {consumed}")
        for s in samples:
            print("  unexpected:", s)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()
        tmp.cleanup()


if __name__ == "__main__":
    main()
