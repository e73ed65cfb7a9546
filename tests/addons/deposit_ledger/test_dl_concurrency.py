# ruff: noqa: F811  (pytest fixtures imported from dl_world)
"""Two refunds of the same deposit at the same time, through the API, on PostgreSQL: both
requests are made to wait on the deposit's row lock, then released together; exactly one
answers 200 and the other 409, and the ledger holds one refund."""

from __future__ import annotations

import threading
import time

from sqlalchemy import create_engine, text

from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401


def test_two_concurrent_refunds_give_one_success_and_one_409(dl, pg_url):
    pk = dl.deposit().json["id"]
    headers = dl.h("agency")
    app = dl.app
    engine = create_engine(pg_url)
    results: list[int] = []
    bodies: list[dict] = []

    def refund(n: int) -> None:
        client = app.test_client()  # its own request, app context, session and connection
        res = client.post(f"/api/v1/dl_deposit/{pk}/refund", headers=headers,
                          json={"date": "2025-03-25", "bank_reference": f"OUT-{n}"})
        results.append(res.status_code)
        bodies.append(res.json)

    monitor = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as blocker:
        tx = blocker.begin()
        blocker.execute(text("SELECT id FROM dl_deposit WHERE id = :id FOR UPDATE"), {"id": pk})
        threads = [threading.Thread(target=refund, args=(n,)) for n in (1, 2)]
        for t in threads:
            t.start()
        # both requests are now inside the refund, waiting for the row lock
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = monitor.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database() AND query LIKE 'SELECT dl_deposit.id%'")).scalar()
            if waiting == 2:
                break
            time.sleep(0.05)
        assert waiting == 2, "both refunds should wait on the deposit's row lock"
        tx.commit()
    for t in threads:
        t.join(60)
    monitor.close()
    engine.dispose()
    assert sorted(results) == [200, 409], bodies
    refused = next(b for b, s in zip(bodies, results, strict=True) if s == 409)
    assert refused["code"] == "invalid_state"
    ents = dl.call("GET", f"dl_deposit/{pk}/entries", "agency", expect=200).json
    assert [e["kind"] for e in ents["result"]] == ["receipt", "refund"]
    assert ents["deposit"]["refunded"] == ents["deposit"]["received"] == "10000.00"


def test_two_concurrent_refunds_on_sqlite_give_one_success_and_one_409(dl, db_url):
    """SQLite (issue 12 finding 6): both refunds wait for the write lock another connection
    holds, then run one after the other: 200 and 409, never 500 "database is locked"."""
    import sqlite3

    import pytest

    if not db_url.startswith("sqlite:///"):
        pytest.skip("the PostgreSQL variant is the test above")
    pk = dl.deposit().json["id"]
    headers = dl.h("agency")
    app = dl.app
    results: list[int] = []
    bodies: list[dict] = []

    def refund(n: int) -> None:
        client = app.test_client()
        res = client.post(f"/api/v1/dl_deposit/{pk}/refund", headers=headers,
                          json={"date": "2025-03-25", "bank_reference": f"OUT-{n}"})
        results.append(res.status_code)
        bodies.append(res.json)

    blocker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    threads = [threading.Thread(target=refund, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    assert results == [], "both refunds wait for the write lock"
    blocker.execute("COMMIT")
    blocker.close()
    for t in threads:
        t.join(60)
    assert sorted(results) == [200, 409], bodies
    refused = next(b for b, s in zip(bodies, results, strict=True) if s == 409)
    assert refused["code"] == "invalid_state"
    ents = dl.call("GET", f"dl_deposit/{pk}/entries", "agency", expect=200).json
    assert [e["kind"] for e in ents["result"]] == ["receipt", "refund"]
