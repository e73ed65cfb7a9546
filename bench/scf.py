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

import datetime as dt
import random
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common

AIM_P95_MS = 50.0
RACE_CONTRACTS = 50
RACE_BANKS = 4


def p95(values: list[float]) -> float:
    return common.percentile(values, 0.95, "lower")


def setup(url: str, env: dict, n_contracts: int, n_suppliers: int, n_inst: int) -> dict:
    """Install, enable and bulk-insert the workload; returns ids the steps need."""
    from sqlalchemy import insert, select

    from core.models import Organization
    from core.services.credit_code import make

    rng = random.Random(15)
    signed = dt.date(2025, 6, 2)
    at = dt.datetime(2025, 11, 3, 9, 0)
    with common.workload_connection(url, env, "supply_chain_finance",
                                    ["supply_chain_finance"]) as (conn, regions):
        from addons.procurement_base.models import CatalogItem, Contract, Package, Project
        from addons.supply_chain_finance.models import Application, Institution, InstitutionRegion

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
    common.create_users(env, ((f"bench_bank{k}", "银行", codes[bank])
                              for k, bank in enumerate(banks[:RACE_BANKS])))
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
    ap = common.arg_parser(__doc__, server=True, contracts=10_000, suppliers=2_000, institutions=20,
                           calls=200, clients=16)
    args = ap.parse_args()
    if args.institutions < RACE_BANKS:
        ap.error(f"--institutions must be at least {RACE_BANKS}")

    def bank0_logs_in(base_url: str) -> bool:
        return common.http(base_url, "/api/v1/security/login", {
            "username": "bench_bank0", "password": common.PASSWORD, "provider": "db"})[0] == 200

    with common.served_workload(
            args.pg_url, "scf_bench_", "bench-scf-secret-" + "x" * 24,
            lambda url, env: setup(url, env, args.contracts, args.suppliers, args.institutions),
            workers=args.workers, ready=bank0_logs_in, timeout=120, poll=0.5) as run:
        facts, url, base_url = run.setup, run.url, run.base_url
        print(f"setup: supply_chain_finance on PostgreSQL, {args.contracts} contracts "
              f"(+{RACE_CONTRACTS} for the race), {args.suppliers} suppliers, {args.institutions} "
              f"institutions, {args.contracts} applications ({len(facts['bank0_apps'])} of the "
              f"measured bank), {run.setup_s:.1f}s")
        tokens = {bank: common.login(base_url, f"bench_bank{k}")
                  for k, bank in enumerate(facts["banks"][:RACE_BANKS])}
        h0 = tokens[facts["banks"][0]]
        list_path = ("/api/v1/scf_application/?q=(filters:!((col:status,opr:eq,value:submitted)),"
                     "page_size:25)")
        for _ in range(3 * args.workers):  # warm every worker
            common.http(base_url, list_path, headers=h0)
            common.http(base_url, f"/api/v1/scf_application/{facts['bank0_apps'][0]}/contract", headers=h0)

        # -- 1. latency through the API, beside plain SQL in this process
        rng = random.Random(3)
        lists, contracts, errors = [], [], 0
        for _ in range(args.calls):
            t = time.perf_counter()
            status, body = common.http(base_url, list_path, headers=h0)
            lists.append((time.perf_counter() - t) * 1000)
            errors += status != 200
            t = time.perf_counter()
            status, body = common.http(base_url, f"/api/v1/scf_application/{rng.choice(facts['bank0_apps'])}/contract",
                                       headers=h0)
            contracts.append((time.perf_counter() - t) * 1000)
            errors += status != 200
        b_lists, b_contracts = baseline(url, facts["banks"][0], facts["bank0_apps"], args.calls)
        print(f"\n1. latency, {args.calls} calls each, one bank's JWT, HTTP on 127.0.0.1, "
              f"gunicorn -w {args.workers} (errors: {errors})")
        for label, api, raw in (("application list (待审批, 25/page)", lists, b_lists),
                                ("contract verification call", contracts, b_contracts)):
            print(f"  {label}: API median {statistics.median(api):.1f} ms, p95 {p95(api):.1f} ms "
                  f"(aim < {AIM_P95_MS:.0f} ms: {common.verdict(p95(api) < AIM_P95_MS)}) | baseline plain SQL median "
                  f"{statistics.median(raw):.2f} ms, p95 {p95(raw):.2f} ms")

        # -- 2. 200 concurrent approval attempts against 50 contracts
        attempts = list(facts["race"])
        random.Random(5).shuffle(attempts)
        tally = common.Tally("approved", "refused_409")
        queue = list(attempts)
        lock = threading.Lock()

        def client(_k: int) -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    app_id, bank = queue.pop()
                body = {"decision": "approve", "amount": "600000.00", "rate_percent": "3.45",
                        "term_months": 6, "repayment_account": "6216610200012345678"}
                t = time.perf_counter()
                status, res = common.http(base_url, f"/api/v1/scf_application/{app_id}/decision", body,
                                          {**tokens[bank], "Idempotency-Key": uuid.uuid4().hex})
                ms = (time.perf_counter() - t) * 1000
                kind = {200: "approved", 409: "refused_409"}.get(status)
                tally.add(ms, kind, status, res)

        elapsed = common.run_threads(client, args.clients)
        db = common.sql_scalars(
            url, double="SELECT count(*) FROM (SELECT contract_id FROM scf_application "
                        "WHERE status IN ('approved', 'disbursed') GROUP BY contract_id HAVING count(*) > 1) x",
            over="SELECT count(*) FROM pb_contract c WHERE (SELECT coalesce(sum(a.approved_amount "
                 "- a.repaid_amount), 0) FROM scf_application a WHERE a.contract_id = c.id AND "
                 "a.status IN ('approved', 'disbursed')) > c.amount - (SELECT coalesce(sum(p.amount), 0) "
                 "FROM pb_payment p WHERE p.contract_id = c.id)",
            financed="SELECT count(DISTINCT contract_id) FROM scf_application WHERE number LIKE 'RZR%' "
                     "AND status = 'approved'")
        double, over, financed = db["double"], db["over"], db["financed"]
        outcome, latencies = tally.counts, tally.latencies
        print(f"\n2. {len(attempts)} concurrent approval attempts against {RACE_CONTRACTS} contracts "
              f"({RACE_BANKS} banks each), {args.clients} client threads, gunicorn -w {args.workers}, "
              f"{elapsed:.1f}s: {len(attempts) / elapsed:.1f} attempts/s")
        print(f"  approved {outcome['approved']} (contracts financed: {financed} of {RACE_CONTRACTS}), "
              f"refused 409 {outcome['refused_409']}, unexpected errors {outcome['unexpected']} "
              f"(aim 0: {common.verdict(outcome['unexpected'] == 0)})")
        print(f"  contracts financed twice: {double}, over-financed contracts: {over} "
              f"(aim 0: {common.verdict(double == 0 and over == 0)})")
        if latencies:
            print(f"  latency ms: median {statistics.median(latencies):.1f}  p95 {p95(latencies):.1f}")
        for s in tally.samples:
            print("  unexpected:", s)


if __name__ == "__main__":
    main()
