# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""The bank API: idempotency keys on every write, who sees what, the bank's decision flow,
bad input (4xx with the reason, nothing stored) and, on PostgreSQL, two banks approving
against one contract at the same moment: exactly one succeeds, the other gets 409."""

from __future__ import annotations

import threading
import time
import uuid

from sqlalchemy import create_engine, text

from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401

APPROVE = {"decision": "approve", "amount": "300000.00", "rate_percent": "3.45",
           "term_months": 6, "repayment_account": "6216610200012345"}


def write(scf, path: str, user: str, body: dict, key: str | None = None, expect: int | None = None):
    headers = {**scf.h(user), "Idempotency-Key": key or uuid.uuid4().hex}
    res = scf.client.post(f"/api/v1/{path}", json=body, headers=headers)
    if expect is not None:
        assert res.status_code == expect, (path, res.status_code, res.get_data(as_text=True))
    return res


def apply(scf, bank: str = "bank", amount: str = "300000.00", key: str | None = None,
          expect: int | None = 201):
    return write(scf, "scf_application/apply", "sup_a",
                 {"contract": scf.ids["contract"], "bank": scf.org[bank], "amount": amount}, key, expect)


def count_apps(scf) -> int:
    from addons.supply_chain_finance.models import Application

    return scf.count(Application)


def test_a_retried_apply_never_creates_a_second_record(scf):
    key = uuid.uuid4().hex
    first = apply(scf, key=key)
    again = apply(scf, key=key)
    assert again.json == first.json and again.headers.get("Idempotent-Replayed") == "true"
    assert count_apps(scf) == 1
    # the same key for another body is refused; a missing key too
    res = apply(scf, amount="1000.00", key=key, expect=422)
    assert "Idempotency-Key" in res.json["message"]
    res = scf.client.post("/api/v1/scf_application/apply", headers=scf.h("sup_a"),
                          json={"contract": scf.ids["contract"], "bank": scf.org["bank"], "amount": "1"})
    assert res.status_code == 400 and "Idempotency-Key" in res.json["message"]
    assert count_apps(scf) == 1


def test_institution_choices_and_contract_data(scf):
    res = scf.call("GET", f"scf_institution/choices/{scf.ids['contract']}", "sup_a", expect=200)
    assert {r["bank"] for r in res.json["result"]} == {scf.org["bank"], scf.org["bank2"]}
    pk = apply(scf).json["result"]["id"]
    data = scf.call("GET", f"scf_application/{pk}/contract", "bank", expect=200).json["result"]
    assert data["contract"]["amount"] == "550000.00"
    assert data["contract"]["purchaser_credit_code"] == scf.code["pur_cc"]
    assert data["application"]["status_label"] == "待审批"


def test_visibility_bank_supplier_purchaser(scf):
    mine = apply(scf, bank="bank").json["result"]["id"]
    # the other bank sees nothing and cannot decide: 404 with the reason, nothing changed
    assert scf.call("GET", f"scf_application/{mine}", "bank2").status_code == 404
    assert scf.call("GET", "scf_application/", "bank2", expect=200).json["count"] == 0
    res = write(scf, f"scf_application/{mine}/decision", "bank2", APPROVE, expect=404)
    assert "不是向贵机构" in res.json["message"]
    assert scf.call("GET", "scf_application/", "bank", expect=200).json["count"] == 1
    # another supplier sees nothing; the purchaser never sees applications
    assert scf.call("GET", "scf_application/", "sup_b", expect=200).json["count"] == 0
    assert scf.call("GET", "scf_application/", "pur").status_code in (401, 403)
    # a supplier cannot decide, a bank cannot apply
    assert write(scf, f"scf_application/{mine}/decision", "sup_a", APPROVE).status_code in (401, 403)
    assert apply(scf, expect=None).status_code == 409  # already applied to that bank
    res = write(scf, "scf_application/apply", "bank", {"contract": scf.ids["contract"],
                                                       "bank": scf.org["bank"], "amount": "1"})
    assert res.status_code in (401, 403)


def test_full_flow_through_the_api(scf):
    from addons.supply_chain_finance import services

    pk = apply(scf).json["result"]["id"]
    res = write(scf, f"scf_application/{pk}/decision", "bank", {**APPROVE, "amount": "550000.01"},
                expect=422)
    assert "未付余额" in str(res.json["message"])
    approved = write(scf, f"scf_application/{pk}/decision", "bank", APPROVE, expect=200).json
    assert approved["result"]["status"] == "approved"
    locks = scf.call("GET", "scf_account_lock/", "pur", expect=200).json
    assert locks["count"] == 1 and locks["result"][0]["account"] == "6216610200012345"
    lock_id = locks["ids"][0]
    assert write(scf, f"scf_account_lock/{lock_id}/confirm", "pur2", {}).status_code == 404
    write(scf, f"scf_account_lock/{lock_id}/confirm", "pur", {}, expect=200)
    day = services.today().isoformat()
    write(scf, f"scf_application/{pk}/disbursement", "bank",
          {"amount": "300000.00", "date": day, "maturity": "2099-01-01"}, expect=200)
    res = write(scf, f"scf_application/{pk}/repayment", "bank", {"amount": "300000.00", "date": day},
                expect=200)
    assert res.json["result"]["status"] == "repaid"
    assert scf.call("GET", "scf_entry/", "sup_a", expect=200).json["count"] == 2
    assert scf.call("GET", "scf_entry/", "bank2", expect=200).json["count"] == 0


def test_two_banks_approving_one_contract_at_the_same_moment(scf, pg_url):
    a = apply(scf, bank="bank").json["result"]["id"]
    b = apply(scf, bank="bank2").json["result"]["id"]
    app = scf.app
    headers = {"bank": scf.h("bank"), "bank2": scf.h("bank2")}
    results: dict[str, int] = {}
    bodies: dict[str, dict] = {}

    def approve(user: str, pk: int) -> None:
        client = app.test_client()
        res = client.post(f"/api/v1/scf_application/{pk}/decision", json=APPROVE,
                          headers={**headers[user], "Idempotency-Key": uuid.uuid4().hex})
        results[user], bodies[user] = res.status_code, res.json

    engine = create_engine(pg_url)
    monitor = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as blocker:
        tx = blocker.begin()
        blocker.execute(text("SELECT id FROM pb_contract WHERE id = :id FOR UPDATE"),
                        {"id": scf.ids["contract"]})
        threads = [threading.Thread(target=approve, args=args) for args in (("bank", a), ("bank2", b))]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        waiting = 0
        while time.monotonic() < deadline:
            waiting = monitor.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database() AND query LIKE '%pb_contract%FOR UPDATE%'")).scalar()
            if waiting == 2:
                break
            time.sleep(0.05)
        assert waiting == 2, "both approvals should wait on the contract's row lock"
        tx.commit()
    for t in threads:
        t.join(60)
    monitor.close()
    engine.dispose()
    assert sorted(results.values()) == [200, 409], bodies
    loser = next(u for u, s in results.items() if s == 409)
    assert "重复融资" in str(bodies[loser]["message"])
    from addons.supply_chain_finance.models import Application

    with app.app_context():
        from sqlalchemy import select

        from core.db import db

        states = sorted(s for (s,) in db.session.execute(select(Application.status)))
    assert states == ["approved", "submitted"]


def test_procurement_base_payment_api_refuses_a_locked_contract(scf):
    from addons.procurement_base.models import Payment

    pk = apply(scf).json["result"]["id"]
    write(scf, f"scf_application/{pk}/decision", "bank", APPROVE, expect=200)
    lock_id = scf.call("GET", "scf_account_lock/", "pur", expect=200).json["ids"][0]
    body = {"contract": scf.ids["contract"], "paid_date": "2025-04-10", "amount": "1000.00"}
    # before the purchaser confirms, payments are not restricted
    scf.post("pb_payment", body, "pur", expect=201)
    write(scf, f"scf_account_lock/{lock_id}/confirm", "pur", {}, expect=200)
    before = scf.count(Payment)
    res = scf.post("pb_payment", body, "pur", expect=422)
    assert "回款账户已锁定为" in res.json["message"]["payee_account"][0]
    assert scf.count(Payment) == before


def test_openapi_documents_the_bank_api(scf):
    spec = scf.call("GET", "_openapi", "admin", expect=200).json
    paths = spec["paths"]
    decision = paths["/api/v1/scf_application/{pk}/decision"]["post"]
    assert any(p.get("name") == "Idempotency-Key" for p in decision["parameters"])
    assert "409" in decision["responses"] and "422" in decision["responses"]
    assert "/api/v1/scf_application/apply" in paths
    assert "/api/v1/scf_account_lock/{pk}/confirm" in paths
    assert "/api/v1/scf_institution/choices/{contract_id}" in paths
