"""The demo: consents of two e-mall suppliers in 长春市 and 吉林市, the demo bank (中国银行) with
consents waiting for its line, a recorded line and a revoked consent; the profiles of the demo
suppliers are computed from the e-mall demo orders (every settled order of theirs counted)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core.db import db
from tests.conftest import installer


def test_demo_consents_and_profiles(app):
    installed = installer(app).install(["supply_chain_finance", "emall"], demo=True)
    assert "scf_emall" in installed
    from addons.emall.models import EmallOrder
    from addons.scf_emall import services
    from addons.scf_emall.models import Consent

    with app.app_context():
        rows = list(db.session.execute(select(Consent).execution_options(erp_unscoped=True)).scalars())
        assert {c.status for c in rows} == {"active", "revoked"}
        assert len({c.supplier_id for c in rows}) >= 2
        assert {c.region.code[:4] for c in rows} == {"2201", "2202"}
        waiting = [c for c in rows if c.status == "active" and c.line_amount is None]
        assert waiting and all(c.bank.name.startswith("中国银行") for c in waiting)
        for c in rows:
            p = services.profile(db.session, c.supplier_id)
            paid = db.session.execute(select(func.coalesce(func.sum(EmallOrder.amount), 0)).where(
                EmallOrder.supplier_id == c.supplier_id, EmallOrder.status == "paid",
                EmallOrder.paid_on >= p["windows"][24]["start"])
                .execution_options(erp_unscoped=True)).scalar_one()
            assert p["windows"][24]["settled_amount"] == Decimal(paid)
            assert sum(m["settled_amount"] for m in p["monthly"]) == Decimal(paid)


def test_demo_financed_order_obeys_the_rules(app):
    """The demo's financed e-mall order: accepted and unpaid, financed within order amount −
    paid, its lock confirmed; paying it to another account is refused, to the locked one not."""
    installer(app).install(["supply_chain_finance", "emall"], demo=True)
    from addons.emall.models import EmallOrder
    from addons.procurement_base.models import Contract
    from addons.scf_emall import financing
    from addons.supply_chain_finance import services as s
    from addons.supply_chain_finance.models import AccountLock, Application
    from core.errors import RuleError

    with app.app_context():
        order = db.session.execute(select(EmallOrder).where(
            EmallOrder.number == "DM220102202507140000000D")
            .execution_options(erp_unscoped=True)).scalar_one()
        assert order.status == "accepted" and order.contract_id
        contract = db.session.get(Contract, order.contract_id)
        app_ = s.active_financing(db.session, contract.id)
        assert isinstance(app_, Application) and app_.status == "disbursed"
        assert app_.supplier_id == order.supplier_id == contract.supplier_id
        assert app_.approved_amount - app_.repaid_amount <= s.unpaid_remainder(
            db.session, contract, exclude_id=app_.id)
        lock = s.active_lock(db.session, contract.id)
        assert isinstance(lock, AccountLock) and lock.status == "locked"
        assert lock.account == app_.repayment_account
        assert financing.order_source(db.session, contract).data()["order_number"] == order.number
        try:
            financing.locked_order_payments(db.session, order, "6222000011112222")
        except RuleError as exc:
            assert "回款账户已锁定为" in exc.messages["payee_account"][0]
        else:
            raise AssertionError("a payment to another account must be refused")
        financing.locked_order_payments(db.session, order, lock.account)
        db.session.rollback()
