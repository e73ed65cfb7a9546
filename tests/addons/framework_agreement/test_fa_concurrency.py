"""Concurrent call-offs racing for the last units of an agreement line: exactly as many
succeed as the ledger's cap allows, the others get a clear 409 and nothing of theirs is
kept (threads, each with its own app context and database session; run it on PostgreSQL
with ``ERP_TEST_DB=postgresql``, where it is the row lock that decides)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from core.db import db
from core.errors import ConflictError
from core.tenancy import Scope, snapshot, use_scope
from tests.conftest import init_db


@pytest.fixture
def app(app_factory):
    app = app_factory(SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "pool_size": 40,
                                                 "max_overflow": 40, "pool_timeout": 60},
                      ERP_SQLITE_BUSY_TIMEOUT=120)
    init_db(app)
    return app


def test_thirty_call_offs_for_the_last_seven_units(fa, pg_url) -> None:
    from addons.emall.models import EmallOrder
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaCallOff, FaLine
    from core.models import Organization

    app = fa.app
    line_id = fa.line["sup_a"]
    with app.app_context():
        line = db.session.get(FaLine, line_id)
        line.ordered_quantity = 3  # 7 left of 10
        db.session.commit()
        org = db.session.get(Organization, fa.org("pur_cc"))
        scope = Scope(actor="purchaser", org_id=org.id, region_id=org.region_id,
                      region_ids=frozenset(snapshot().subtree(org.region_id)), org_type="purchaser")
    n = 30
    start = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def call_off() -> None:
        with app.app_context(), use_scope(scope):
            start.wait()
            try:
                fs.direct_select(db.session, fa.ag, line_id, 1)
                db.session.commit()
                outcome = "ok"
            except ConflictError as exc:
                db.session.rollback()
                outcome = "409" if "超出协议剩余数量" in str(exc.messages if hasattr(exc, "messages") else exc) \
                    or "剩余" in repr(exc) else f"409?{exc!r}"
            except Exception as exc:
                db.session.rollback()
                outcome = f"error {exc!r}"
            finally:
                db.session.remove()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=call_off) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert sorted(results).count("ok") == 7, results
    assert results.count("409") == n - 7, results
    with app.app_context():
        line = db.session.get(FaLine, line_id)
        assert line.ordered_quantity == 10
        calloffs = db.session.execute(select(func.count()).select_from(FaCallOff).where(FaCallOff.line_id == line_id),
                                      execution_options={"erp_unscoped": True}).scalar()
        orders = db.session.execute(select(func.count()).select_from(EmallOrder).where(EmallOrder.channel == "framework"),
                                    execution_options={"erp_unscoped": True}).scalar()
        assert calloffs == 7 and orders == 7
