# ruff: noqa: F811  (pytest fixtures imported from dl_world)
"""Property-based: random sequences of receipts, refunds, forfeitures, remittances,
conversions, releases and reversals (hypothesis) never break a balance invariant.

After every operation, accepted or refused, for every deposit touched:

* no bucket is negative; refunded + forfeited + converted <= received; remitted <= forfeited;
* settled (refunded, forfeited, remitted, converted) means held == 0 and
  refunded + forfeited + converted == received; held means held == received > 0 (money
  forms); void means received == 0;
* a refused operation writes nothing; a reversal restores the balances from before the
  operation it reverses.
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.db import db
from core.services.statemachine import TransitionError
from core.tenancy import SYSTEM, use_scope
from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401

OPS = st.lists(st.sampled_from(["refund", "forfeit", "remit", "convert", "release", "reverse",
                                "reverse", "receive"]), min_size=1, max_size=12)
_counter = itertools.count()


def _check(session, dep, services):
    b = services.balances(session, dep.id)
    for name, value in b.as_dict().items():
        if name != "held":
            assert value >= 0, (name, value)
    assert b.held >= 0
    assert b.refunded + b.forfeited + b.converted <= b.received
    assert b.remitted <= b.forfeited
    if dep.form == "guarantee":
        assert b.received == 0
        return b
    if dep.status in ("refunded", "forfeited", "remitted", "converted"):
        assert b.held == 0 and b.refunded + b.forfeited + b.converted == b.received > 0
    elif dep.status == "held":
        assert b.held == b.received > 0
    elif dep.status == "void":
        assert b.received == 0 and b.held == 0
    if dep.status == "remitted":
        assert b.remitted == b.forfeited > 0
    if dep.status == "forfeited":
        assert b.unremitted == b.forfeited > 0
    return b


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(ops=OPS, guarantee=st.booleans())
def test_random_operations_keep_every_balance_invariant(dl, ops, guarantee):
    from addons.deposit_ledger import services
    from addons.deposit_ledger.models import Deposit, DepositEntry, ProjectForfeitReason

    with dl.app.app_context(), use_scope(SYSTEM):
        session = db.session
        if not session.execute(select(ProjectForfeitReason.id)).first():
            session.add(ProjectForfeitReason(project_id=dl.ids["project"],
                                             reason_id=dl.reasons["refuse_sign"],
                                             region_id=dl.region["220102"]))
            session.commit()
        n = next(_counter)
        deposits: list[int] = []
        history: dict[int, list] = {}

        def receive() -> None:
            extra = ({"form": "guarantee", "guarantee_type": "bank", "guarantee_number": f"G{n}",
                      "guarantee_issuer": "中国银行", "guarantee_valid_until": dt.date(2025, 12, 31)}
                     if guarantee and not deposits else {"form": "transfer"})
            dep = Deposit(number=f"P{n}-{len(deposits)}", kind="bid", project_id=dl.ids["project"],
                          package_id=dl.ids["package"], bid_id=dl.ids["won"],
                          supplier_id=dl.org["sup_a"], amount="8000.00",
                          received_date=dt.date(2025, 3, 20), payer_account="6222", **extra)
            services.record_deposit(session, dep)
            deposits.append(dep.id)
            history[dep.id] = []

        receive()
        for op in ops:
            dep_id = deposits[-1] if op != "reverse" else deposits[n % len(deposits)]
            before = services.balances(session, dep_id)
            count = session.execute(select(DepositEntry.id)).all().__len__()
            sp = session.begin_nested()
            try:
                if op == "receive":
                    receive()
                elif op == "refund":
                    services.refund(session, dep_id, on=dt.date(2025, 3, 25), bank_reference="R")
                elif op == "forfeit":
                    services.forfeit(session, dep_id, reason_id=dl.reasons["refuse_sign"],
                                     on=dt.date(2025, 3, 25))
                elif op == "remit":
                    services.remit(session, dep_id, voucher_no="V", on=dt.date(2025, 3, 26))
                elif op == "convert":
                    perf = services.convert(session, dep_id, contract_id=dl.ids["contract"],
                                            on=dt.date(2025, 4, 3), number=f"P{n}-LY{len(deposits)}")
                    deposits.append(perf.id)
                    history[perf.id] = []
                elif op == "release":
                    services.release(session, dep_id, on=dt.date(2025, 4, 1))
                elif op == "reverse":
                    services.reverse(session, dep_id, reason="测试冲销", on=dt.date(2025, 4, 5))
                sp.commit()
                accepted = True
            except (services.RuleError, TransitionError):
                sp.rollback()
                accepted = False
            session.expire_all()
            for d in deposits:
                _check(session, session.get(Deposit, d), services)
            after = services.balances(session, dep_id)
            if not accepted:
                assert after == before
                assert session.execute(select(DepositEntry.id)).all().__len__() == count
            elif op == "reverse":
                if history[dep_id]:
                    assert after == history[dep_id].pop()
            elif op not in ("receive",):
                history[dep_id].append(before)
        session.commit()
