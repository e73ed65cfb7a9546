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
from typing import Any

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


def setup(url: str, env: dict, n_items: int, n_suppliers: int, n_purchasers: int, n_hot: int) -> dict:
    import datetime as dt

    from sqlalchemy import insert, select

    erp = [sys.executable, "-m", "core.cli"]
    for args in (["db", "init", "--admin-password", PASSWORD], ["module", "install", "framework_agreement"],
                 ["tenant", "enable", "220000", "emall", "framework_agreement"]):
        subprocess.run([*erp, *args], env=env, cwd=ROOT, check=True, capture_output=True)
    from core.app import create_app
    from core.db import db
    from core.models import Organization, Region
    from core.services.credit_code import make

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ERP_ADDONS_ENTRY_POINTS": False,
                      "SECRET_KEY": env["ERP_SECRET_KEY"], "RATELIMIT_ENABLED": False})
    from addons.emall.models import EmallAdmission, EmallCategory, EmallListing, EmallListingRegion
    from addons.framework_agreement.models import (
        FaAgreement,
        FaItem,
        FaLine,
        FaMember,
        fa_agreement_region,
    )

    today = dt.date.today()
    with app.app_context(), db.engine.begin() as conn:
        regions = dict(conn.execute(select(Region.code, Region.id)).all())
        cat = conn.execute(select(EmallCategory.id).where(EmallCategory.code == "A020210-01")).scalar_one()
        conn.execute(insert(Organization.__table__), [
            {"name": "基准省政府采购中心", "credit_code": make("12220000MA0B30000"), "org_type": "central_procurement",
             "region_id": regions["220000"], "active": True},
            *({"name": f"基准入围供应商{i:02d}有限公司", "credit_code": make(f"91220100MA0B1{i:04d}"),
               "org_type": "supplier", "region_id": regions["220100"], "active": True} for i in range(n_suppliers)),
            *({"name": f"基准采购单位{i}", "credit_code": make(f"12220100MA0B2{i:04d}"), "org_type": "purchaser",
               "region_id": regions["220102" if i % 2 else "220202"], "active": True} for i in range(n_purchasers))])
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
                listings.append({"supplier_id": s, "category_id": cat, "name": f"复印纸{k}", "brand": f"品牌{si}",
                                 "model": f"B{k}", "brand_key": f"品牌{si}", "model_key": f"b{k}", "attributes": {},
                                 "unit": "箱", "price": "150.00", "reference_price": "150.00",
                                 "reference_source": "market", "stock": 1_000_000, "cold_chain": False,
                                 "exclusive_model": False, "status": "listed", "search_text": f"复印纸{k}"})
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
        codes = list(conn.execute(select(Organization.credit_code).where(
            Organization.name.like("基准采购单位%"))).scalars())
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    for i, code in enumerate(codes):
        subprocess.run([*erp, "user", "create", "--username", f"bench_p{i}", "--password", PASSWORD,
                        "--role", "采购人", "--org", code], env=env, cwd=ROOT, check=True, capture_output=True)
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
        status, res = http(base_url, path, body, tokens[k % len(tokens)])
        ms = (time.perf_counter() - t) * 1000
        with lock:
            latencies.append(ms)
            answers.append((status, res))

    threads = [threading.Thread(target=one, args=(k,)) for k in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, sorted(latencies), answers


def p95(lat: list[float]) -> float:
    return lat[int(0.95 * (len(lat) - 1))] if lat else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calloffs", type=int, default=200)
    ap.add_argument("--suppliers", type=int, default=50)
    ap.add_argument("--items", type=int, default=10)
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
    tmp = tempfile.TemporaryDirectory(prefix="framework_calloff_")
    settings_file = Path(tmp.name) / "settings.py"
    settings_file.write_text("RATELIMIT_ENABLED = False\nERP_ADDONS_ENTRY_POINTS = False\n"
                             "ERP_STATE_POLL_SECONDS = 1.0\n")
    env = dict(os.environ, ERP_DATABASE_URL=url, ERP_SECRET_KEY="bench-calloff-secret-" + "x" * 20,
               ERP_CONFIG=str(settings_file), ERP_VAR_DIR=tmp.name)
    server = None
    n_lines = args.items * args.suppliers
    n_hot = max(1, n_lines // 10)
    try:
        t0 = time.perf_counter()
        world = setup(url, env, args.items, args.suppliers, args.purchasers, n_hot)
        print(f"setup: one agreement, {n_lines} lines ({args.items} items x {args.suppliers} shortlisted suppliers; "
              f"{n_hot} lines with 5 units left), {args.purchasers} purchasers, {time.perf_counter() - t0:.1f}s")
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
        for h in tokens:  # warm the workers
            http(base_url, "/api/v1/fa_available/", headers=h)

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

        eng = create_engine(url)
        with eng.connect() as conn:
            over = conn.execute(text("SELECT count(*) FROM fa_line WHERE ordered_quantity > cap_quantity")).scalar()
            mismatch = conn.execute(text(
                "SELECT count(*) FROM fa_line l LEFT JOIN (SELECT line_id, sum(quantity) q, sum(amount) a "
                "FROM fa_calloff WHERE status = 'ordered' GROUP BY line_id) c ON c.line_id = l.id "
                "WHERE l.ordered_quantity <> coalesce(c.q, 0) OR l.ordered_amount <> coalesce(c.a, 0)")).scalar()
            hot_full = conn.execute(text("SELECT count(*) FROM fa_line WHERE cap_quantity = 5 "
                                         "AND ordered_quantity = 5")).scalar()
            orders = conn.execute(text("SELECT count(*) FROM emall_order WHERE channel = 'framework'")).scalar()
            calloffs = conn.execute(text("SELECT count(*) FROM fa_calloff")).scalar()
        eng.dispose()
        violations = over + mismatch
        print(f"gunicorn -w {args.workers}, {args.calloffs} simultaneous requests (one thread each), HTTP on 127.0.0.1")
        print(f"baseline  e-mall direct orders: {b_ok}/{args.calloffs} placed in {b_elapsed:.2f}s "
              f"({b_ok / b_elapsed:.1f} orders/s), latency ms median {statistics.median(b_lat):.1f} p95 {p95(b_lat):.1f}")
        print(f"framework call-offs:            {ok}/{args.calloffs} placed in {elapsed:.2f}s "
              f"({ok / elapsed:.1f} call-offs/s), latency ms median {statistics.median(lat):.1f} p95 {p95(lat):.1f}")
        print(f"intended 409 (ledger exhausted): {intended}; hot lines filled to their cap: {hot_full}")
        print(f"cap violations: {violations} (over cap {over}, ledger != call-offs {mismatch}) "
              f"{'OK' if violations == 0 else 'MISSED'}")
        print(f"unexpected errors: {len(unexpected)} {'OK' if not unexpected else 'MISSED'}")
        print(f"database: call-offs {calloffs}, framework orders {orders} "
              f"(= placed: {'yes' if calloffs == orders == ok else 'NO'})")
        for s, b in unexpected[:5]:
            print("  unexpected:", s, json.dumps(b, ensure_ascii=False)[:200])
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
