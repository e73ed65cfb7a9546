"""Benchmark: the bank API of ``supply_chain_finance`` on PostgreSQL through gunicorn.

Workload (issue 15): a fresh PostgreSQL database with ``supply_chain_finance`` installed and
enabled for the province; ``--suppliers`` suppliers (2,000), ``--contracts`` signed contracts
(10,000, five per supplier) of 50 purchasers, ``--institutions`` institutions (20) serving the
province, one financing application per contract spread over the institutions (so a bank
has ``contracts / institutions`` applications, a fifth of them waiting); bulk-inserted.
``gunicorn -w 4`` serves ``core.wsgi:app``.

1. **Latency** (one bank's JWT, sequential calls over HTTP): the bank's application list
   (``GET /api/v1/scf_application/`` filtered to 待审批, 25 a page) and the contract
   verification call (``GET /api/v1/scf_application/<id>/contract``), ``--calls`` each;
   median and p95 beside a **baseline in the same process**: the same reads as plain SQL
   on one connection (what the database alone costs). Aim: p95 < 50 ms through the API.
2. **Concurrent approvals**: 50 further contracts of 1,000,000.00, each with four
   applications of 600,000.00 to four banks (two approvals would over-finance it); the 200
   approval attempts are shuffled and posted by ``--clients`` threads with their banks'
   JWTs. Exactly one per contract may succeed (200), the others must be refused 409; any
   other answer is an unexpected error. Afterwards the database is checked: contracts with
   more than one financing, and financed amounts above contract amount - paid (aim: 0 and
   0), with the throughput (attempts/s).

Never asserts: prints OK/MISSED.

    .venv/bin/python bench/scf.py [--contracts 10000] [--suppliers 2000] [--institutions 20]
        [--calls 200] [--clients 16] [--workers 4] [--pg-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
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
AIM_P95_MS = 50.0
RACE_CONTRACTS = 50
RACE_BANKS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(base: str, path: str, body: dict | None = None,
         headers: dict | None = None) -> tuple[int, dict]:
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


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def setup(url: str, env: dict, n_contracts: int, n_suppliers: int, n_inst: int) -> dict:
    """Install, enable and bulk-insert the workload; returns ids the steps need."""
    from sqlalchemy import insert, select

    erp = [sys.executable, "-m", "core.cli"]
    for args in (["db", "init", "--admin-password", PASSWORD],
                 ["module", "install", "supply_chain_finance"],
                 ["tenant", "enable", "220000", "supply_chain_finance"]):
        res = subprocess.run([*erp, *args], env=env, cwd=ROOT, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"erp {' '.join(args)}: {res.stdout[-500:]} {res.stderr[-1500:]}")
    from core.app import create_app
    from core.db import db
    from core.models import Organization, Region
    from core.services.credit_code import make

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ERP_ADDONS_ENTRY_POINTS": False,
                      "SECRET_KEY": env["ERP_SECRET_KEY"], "RATELIMIT_ENABLED": False})
    from addons.procurement_base.models import CatalogItem, Contract, Package, Project
    from addons.supply_chain_finance.models import Application, Institution, InstitutionRegion

    rng = random.Random(15)
    signed = dt.date(2025, 6, 2)
    at = dt.datetime(2025, 11, 3, 9, 0)
    with app.app_context(), db.engine.begin() as conn:
        regions = dict(conn.execute(select(Region.code, Region.id)).all())
        cities = [regions[c] for c in ("220102", "220104", "220202", "222401") if c in regions]
        a02 = conn.execute(select(CatalogItem.id).where(CatalogItem.code == "A02")).scalar_one()
        orgs = [{"name": f"基准银行{i:02d}", "credit_code": make(f"91220000MA0BK{i:04d}"),
                 "org_type": "bank", "region_id": regions["220000"], "active": True}
                for i in range(n_inst)]
        orgs += [{"name": f"基准采购单位{i:02d}", "credit_code": make(f"12220100MA0PU{i:04d}"),
                  "org_type": "purchaser", "region_id": cities[i % len(cities)], "active": True}
                 for i in range(50)]
        orgs += [{"name": f"基准供应商{i:04d}有限公司", "credit_code": make(f"91220100MA{i:07d}"),
                  "org_type": "supplier", "region_id": regions["220100"], "active": True,
                  "size": ("small", "micro", "medium", "large")[i % 4]} for i in range(n_suppliers)]
        conn.execute(insert(Organization.__table__), orgs)
        ids = dict(conn.execute(select(Organization.name, Organization.id)).all())
        banks = [ids[f"基准银行{i:02d}"] for i in range(n_inst)]
        purchasers = [(ids[f"基准采购单位{i:02d}"], cities[i % len(cities)]) for i in range(50)]
        suppliers = [ids[f"基准供应商{i:04d}有限公司"] for i in range(n_suppliers)]
        conn.execute(insert(Institution.__table__), [
            {"org_id": b, "kind": "bank", "active": True, "decision_days": 2} for b in banks])
        inst = dict(conn.execute(select(Institution.org_id, Institution.id)).all())
        conn.execute(insert(InstitutionRegion.__table__), [
            {"institution_id": inst[b], "region_id": regions["220000"]} for b in banks])

        total = n_contracts + RACE_CONTRACTS
        projects = []
        for i in range(total):
            pur, reg = purchasers[i % 50]
            projects.append({"number": f"BENCH-{i:06d}", "name": f"基准采购项目{i}",
                             "purchaser_id": pur, "catalog_id": a02, "method": "public_tender",
                             "budget": "2000000.00", "status": "contracted", "region_id": reg,
                             "award_date": signed - dt.timedelta(days=5), "contract_date": signed})
        conn.execute(insert(Project.__table__), projects)
        prj = dict(conn.execute(select(Project.number, Project.id)).all())
        conn.execute(insert(Package.__table__), [
            {"project_id": prj[p["number"]], "number": "1", "name": "第1包", "budget": "2000000.00",
             "region_id": p["region_id"]} for p in projects])
        pkg = dict(conn.execute(select(Package.project_id, Package.id)).all())
        contracts = []
        for i, p in enumerate(projects):
            race = i >= n_contracts
            contracts.append({
                "number": f"BENCH-{i:06d}-HT01", "source": "project",
                "project_id": prj[p["number"]], "package_id": pkg[prj[p["number"]]],
                "purchaser_id": p["purchaser_id"],
                "supplier_id": suppliers[(i // 5) % n_suppliers] if not race else suppliers[i % n_suppliers],
                "amount": "1000000.00" if race else f"{rng.randint(200, 1800) * 1000}.00",
                "signed_date": signed, "status": "signed", "region_id": p["region_id"],
                "sme_label": "small"})
        conn.execute(insert(Contract.__table__), contracts)
        ct = dict(conn.execute(select(Contract.number, Contract.id)).all())
        apps = []
        for i, c in enumerate(contracts[:n_contracts]):
            bank = banks[i % n_inst]
            apps.append({"number": f"RZB{i:08d}", "contract_id": ct[c["number"]],
                         "contract_number": c["number"], "supplier_id": c["supplier_id"],
                         "bank_id": bank, "amount": "100000.00",
                         "status": "submitted" if i % 5 == 0 else "rejected",
                         "submitted_at": at, "submitted_on": at.date(),
                         "decision_due": at.date() + dt.timedelta(days=2),
                         "reject_reason": None if i % 5 == 0 else "基准：不符合准入条件",
                         "disbursed_amount": "0.00", "repaid_amount": "0.00",
                         "region_id": c["region_id"]})
        race_apps = []
        for j, c in enumerate(contracts[n_contracts:]):
            for k in range(RACE_BANKS):
                race_apps.append({"number": f"RZR{j:04d}{k}", "contract_id": ct[c["number"]],
                                  "contract_number": c["number"], "supplier_id": c["supplier_id"],
                                  "bank_id": banks[k], "amount": "600000.00", "status": "submitted", "reject_reason": None,
                                  "submitted_at": at, "submitted_on": at.date(),
                                  "decision_due": at.date() + dt.timedelta(days=2),
                                  "disbursed_amount": "0.00", "repaid_amount": "0.00",
                                  "region_id": c["region_id"]})
        conn.execute(insert(Application.__table__), apps + race_apps)
        bank0_apps = list(conn.execute(select(Application.id).where(
            Application.bank_id == banks[0], Application.number.like("RZB%"))).scalars())
        race = [(a_id, bank) for a_id, bank in conn.execute(select(Application.id, Application.bank_id)
                                                             .where(Application.number.like("RZR%")))]
        codes = dict(conn.execute(select(Organization.id, Organization.credit_code)
                                  .where(Organization.id.in_(banks[:RACE_BANKS]))).all())
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    for k, bank in enumerate(banks[:RACE_BANKS]):
        res = subprocess.run([*erp, "user", "create", "--username", f"bench_bank{k}", "--password",
                              PASSWORD, "--role", "银行", "--org", codes[bank]], env=env, cwd=ROOT,
                             capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"user create bench_bank{k}: {res.stdout[-500:]} {res.stderr[-1500:]}")
    return {"banks": banks, "bank0_apps": bank0_apps, "race": race}


def baseline(url: str, bank: int, app_ids: list[int], calls: int) -> tuple[list[float], list[float]]:
    """The same reads as plain SQL on one connection (no HTTP, no ORM, no JSON)."""
    from sqlalchemy import create_engine, text

    eng = create_engine(url)
    rng = random.Random(7)
    lists, contracts = [], []
    with eng.connect() as conn:
        for _ in range(calls):
            t = time.perf_counter()
            conn.execute(text(
                "SELECT a.*, s.name, b.name, r.name FROM scf_application a "
                "JOIN erp_organization s ON s.id = a.supplier_id "
                "JOIN erp_organization b ON b.id = a.bank_id JOIN erp_region r ON r.id = a.region_id "
                "WHERE a.bank_id = :b AND a.status = 'submitted' ORDER BY a.id DESC LIMIT 25"),
                {"b": bank}).all()
            conn.execute(text("SELECT count(*) FROM scf_application WHERE bank_id = :b "
                              "AND status = 'submitted'"), {"b": bank}).scalar()
            lists.append((time.perf_counter() - t) * 1000)
            a = rng.choice(app_ids)
            t = time.perf_counter()
            conn.execute(text(
                "SELECT c.*, p.number, p.name, p.method, pu.name, pu.credit_code, s.name, s.credit_code "
                "FROM scf_application a JOIN pb_contract c ON c.id = a.contract_id "
                "LEFT JOIN pb_project p ON p.id = c.project_id "
                "JOIN erp_organization pu ON pu.id = c.purchaser_id "
                "JOIN erp_organization s ON s.id = c.supplier_id WHERE a.id = :a"), {"a": a}).all()
            conn.execute(text("SELECT coalesce(sum(p.amount), 0) FROM pb_payment p JOIN scf_application a "
                              "ON a.contract_id = p.contract_id WHERE a.id = :a"), {"a": a}).scalar()
            conn.execute(text("SELECT * FROM pb_payment_plan pp JOIN scf_application a "
                              "ON a.contract_id = pp.contract_id WHERE a.id = :a"), {"a": a}).all()
            contracts.append((time.perf_counter() - t) * 1000)
    eng.dispose()
    return lists, contracts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contracts", type=int, default=10_000)
    ap.add_argument("--suppliers", type=int, default=2_000)
    ap.add_argument("--institutions", type=int, default=20)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--pg-url", default=os.environ.get("ERP_TEST_PG_URL", DEFAULT_PG))
    args = ap.parse_args()
    if args.institutions < RACE_BANKS:
        ap.error(f"--institutions must be at least {RACE_BANKS}")

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(args.pg_url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    dbname = f"erp_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    url = base.set(database=dbname).render_as_string(hide_password=False)
    tmp = tempfile.TemporaryDirectory(prefix="scf_bench_")
    settings_file = Path(tmp.name) / "settings.py"
    settings_file.write_text("RATELIMIT_ENABLED = False\nERP_ADDONS_ENTRY_POINTS = False\n"
                             "ERP_STATE_POLL_SECONDS = 1.0\n")
    env = dict(os.environ, ERP_DATABASE_URL=url, ERP_SECRET_KEY="bench-scf-secret-" + "x" * 24,
               ERP_CONFIG=str(settings_file), ERP_VAR_DIR=tmp.name)
    server = None
    try:
        t0 = time.perf_counter()
        facts = setup(url, env, args.contracts, args.suppliers, args.institutions)
        print(f"setup: supply_chain_finance on PostgreSQL, {args.contracts} contracts "
              f"(+{RACE_CONTRACTS} for the race), {args.suppliers} suppliers, {args.institutions} "
              f"institutions, {args.contracts} applications ({len(facts['bank0_apps'])} of the "
              f"measured bank), {time.perf_counter() - t0:.1f}s")
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(args.workers), "-b",
                                   f"127.0.0.1:{port}", "core.wsgi:app"], env=env, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        tokens: dict[int, dict[str, str]] = {}
        while True:
            try:
                status, body = http(base_url, "/api/v1/security/login",
                                    {"username": "bench_bank0", "password": PASSWORD, "provider": "db"})
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.5)
        for k, bank in enumerate(facts["banks"][:RACE_BANKS]):
            status, body = http(base_url, "/api/v1/security/login",
                                {"username": f"bench_bank{k}", "password": PASSWORD, "provider": "db"})
            if status != 200:
                raise RuntimeError(f"login bench_bank{k}: {status} {body}")
            tokens[bank] = {"Authorization": f"Bearer {body['access_token']}"}
        h0 = tokens[facts["banks"][0]]
        list_path = ("/api/v1/scf_application/?q=(filters:!((col:status,opr:eq,value:submitted)),"
                     "page_size:25)")
        for _ in range(3 * args.workers):  # warm every worker
            http(base_url, list_path, headers=h0)
            http(base_url, f"/api/v1/scf_application/{facts['bank0_apps'][0]}/contract", headers=h0)

        # -- 1. latency through the API, beside plain SQL in this process
        rng = random.Random(3)
        lists, contracts, errors = [], [], 0
        for _ in range(args.calls):
            t = time.perf_counter()
            status, body = http(base_url, list_path, headers=h0)
            lists.append((time.perf_counter() - t) * 1000)
            errors += status != 200
            t = time.perf_counter()
            status, body = http(base_url, f"/api/v1/scf_application/{rng.choice(facts['bank0_apps'])}/contract",
                                headers=h0)
            contracts.append((time.perf_counter() - t) * 1000)
            errors += status != 200
        b_lists, b_contracts = baseline(url, facts["banks"][0], facts["bank0_apps"], args.calls)
        print(f"\n1. latency, {args.calls} calls each, one bank's JWT, HTTP on 127.0.0.1, "
              f"gunicorn -w {args.workers} (errors: {errors})")
        for label, api, raw in (("application list (待审批, 25/page)", lists, b_lists),
                                ("contract verification call", contracts, b_contracts)):
            verdict = "OK" if p95(api) < AIM_P95_MS else "MISSED"
            print(f"  {label}: API median {statistics.median(api):.1f} ms, p95 {p95(api):.1f} ms "
                  f"(aim < {AIM_P95_MS:.0f} ms: {verdict}) | baseline plain SQL median "
                  f"{statistics.median(raw):.2f} ms, p95 {p95(raw):.2f} ms")

        # -- 2. 200 concurrent approval attempts against 50 contracts
        attempts = list(facts["race"])
        random.Random(5).shuffle(attempts)
        lock = threading.Lock()
        outcome = {"approved": 0, "refused_409": 0, "unexpected": 0}
        samples: list[str] = []
        latencies: list[float] = []
        queue = list(attempts)

        def client() -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    app_id, bank = queue.pop()
                body = {"decision": "approve", "amount": "600000.00", "rate_percent": "3.45",
                        "term_months": 6, "repayment_account": "6216610200012345678"}
                t = time.perf_counter()
                status, res = http(base_url, f"/api/v1/scf_application/{app_id}/decision", body,
                                   {**tokens[bank], "Idempotency-Key": uuid.uuid4().hex})
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(ms)
                    if status == 200:
                        outcome["approved"] += 1
                    elif status == 409:
                        outcome["refused_409"] += 1
                    else:
                        outcome["unexpected"] += 1
                        if len(samples) < 5:
                            samples.append(f"{status} {json.dumps(res, ensure_ascii=False)[:200]}")

        t_start = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t_start
        eng = create_engine(url)
        with eng.connect() as conn:
            double = conn.execute(text(
                "SELECT count(*) FROM (SELECT contract_id FROM scf_application "
                "WHERE status IN ('approved', 'disbursed') GROUP BY contract_id "
                "HAVING count(*) > 1) x")).scalar()
            over = conn.execute(text(
                "SELECT count(*) FROM pb_contract c WHERE (SELECT coalesce(sum(a.approved_amount "
                "- a.repaid_amount), 0) FROM scf_application a WHERE a.contract_id = c.id AND "
                "a.status IN ('approved', 'disbursed')) > c.amount - (SELECT coalesce(sum(p.amount), 0) "
                "FROM pb_payment p WHERE p.contract_id = c.id)")).scalar()
            financed = conn.execute(text(
                "SELECT count(DISTINCT contract_id) FROM scf_application WHERE number LIKE 'RZR%' "
                "AND status = 'approved'")).scalar()
        eng.dispose()
        print(f"\n2. {len(attempts)} concurrent approval attempts against {RACE_CONTRACTS} contracts "
              f"({RACE_BANKS} banks each), {args.clients} client threads, gunicorn -w {args.workers}, "
              f"{elapsed:.1f}s: {len(attempts) / elapsed:.1f} attempts/s")
        print(f"  approved {outcome['approved']} (contracts financed: {financed} of {RACE_CONTRACTS}), "
              f"refused 409 {outcome['refused_409']}, unexpected errors {outcome['unexpected']} "
              f"(aim 0: {'OK' if outcome['unexpected'] == 0 else 'MISSED'})")
        print(f"  contracts financed twice: {double}, over-financed contracts: {over} "
              f"(aim 0: {'OK' if double == 0 and over == 0 else 'MISSED'})")
        if latencies:
            print(f"  latency ms: median {statistics.median(latencies):.1f}  p95 {p95(latencies):.1f}")
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
