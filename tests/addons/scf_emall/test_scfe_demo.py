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
