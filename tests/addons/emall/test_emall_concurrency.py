"""On SQLite and PostgreSQL, 50 concurrent orders for the last 10 units: exactly 10 succeed, the stock
never goes below zero, the others get a clear 409 (threads, each with its own test client
and database session, against a real PostgreSQL database)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from core.db import db
from tests.conftest import init_db


@pytest.fixture
def app(app_factory):
    """A connection pool large enough for 50 simultaneous requests (a request may hold two
    connections: its session and the platform's state checks)."""
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": 60,
                                                 "max_overflow": 60, "pool_timeout": 60},
                      ERP_SQLITE_BUSY_TIMEOUT=120)  # SQLite: 50 writers wait in turn
    init_db(app)
    return app


def test_fifty_concurrent_orders_for_the_last_ten_units(em, db_url) -> None:
    """SQLite (write lock taken up front) and PostgreSQL: 50 threads, each with its own client and session, order 1 unit of a
    listing with 10 left: exactly 10 orders, stock 0 (never below), 40 clear 409s."""
    from addons.emall.models import EmallListing, EmallOrder

    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a", price="100.00", reference="100.00")
    with em.app.app_context():
        db.session.get(EmallListing, lid).stock = 10
        db.session.commit()
    token = em.h("pur")
    start = threading.Barrier(50)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def order() -> None:
        client = em.app.test_client()
        start.wait()
        res = client.post("/api/v1/emall_order/", json={"lines": [{"listing": lid, "quantity": 1}]},
                          headers=token)
        with lock:
            results.append((res.status_code, res.json))

    threads = [threading.Thread(target=order) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    codes = sorted(c for c, _ in results)
    assert codes.count(201) == 10 and codes.count(409) == 40, codes
    for code, body in results:
        if code == 409:
            assert body["code"] == "conflict" and "库存不足" in body["message"]["stock"][0]
    with em.app.app_context():
        assert db.session.get(EmallListing, lid).stock == 0
        n = db.session.execute(select(EmallOrder.id).where(EmallOrder.status == "placed"),
                               execution_options={"erp_unscoped": True}).all()
        assert len(n) == 10
