"""The demo: two banks and an insurer, financed contracts in every state, consistent with the
no-double-financing rule, and work on the demo ``bank`` login's list."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from tests.conftest import installer


def test_demo_loads_every_state_consistently(app):
    assert "supply_chain_finance" in installer(app).install(["supply_chain_finance"], demo=True)
    from addons.procurement_base.models import Contract
    from addons.supply_chain_finance import services as s
    from addons.supply_chain_finance.models import (
        FINANCED_STATES,
        AccountLock,
        Application,
        Institution,
    )

    with app.app_context():
        kinds = sorted(i.kind for i in db.session.execute(select(Institution)).scalars())
        assert kinds == ["bank", "bank", "insurer"]
        apps = list(db.session.execute(select(Application)).scalars())
        assert {a.status for a in apps} >= {"submitted", "info_requested", "approved", "disbursed",
                                            "repaid", "rejected"}
        for a in apps:
            if a.status in FINANCED_STATES:
                assert a.financing_contract_id == a.contract_id
                contract = db.session.get(Contract, a.contract_id)
                assert a.approved_amount - a.repaid_amount <= s.unpaid_remainder(
                    db.session, contract, exclude_id=a.id)
        assert {lk.status for lk in db.session.execute(select(AccountLock)).scalars()} == {
            "pending", "locked", "released"}
        boc = [a for a in apps if a.bank.credit_code == "91220000123960101R"]
        assert any(a.status == "submitted" for a in boc)
