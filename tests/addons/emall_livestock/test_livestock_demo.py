"""The pavilion's demo data: admitted suppliers, a few hundred listings that pass emall's
own rules, orders of the livestock units in every state of emall's order flow with
consistent lines, acceptances, contracts and payments; and a deterministic generator."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from core.db import db
from tests.conftest import installer

MODULE_DIR = Path(__file__).resolve().parents[3] / "addons" / "emall_livestock"


def test_demo_covers_the_pavilion_and_every_order_state(app):
    from addons.emall.models import (
        ORDER_STATES,
        EmallAcceptance,
        EmallAdmission,
        EmallListing,
        EmallOrder,
    )
    from addons.emall.services import check_listing_attributes, normalize, search_text_of
    from addons.emall_livestock.services import cold_chain_category, listing_covers
    from addons.procurement_base.models import Contract, Payment
    from addons.procurement_base.services import Errors

    assert "emall_livestock" in installer(app).install(["emall_livestock"], demo=True)
    with app.app_context():
        s = db.session
        listings = list(s.scalars(select(EmallListing).where(EmallListing.pavilion == "livestock")))
        assert 300 <= len(listings) <= 400
        statuses = Counter(x.status for x in listings)
        assert statuses["listed"] > 250 and set(statuses) == {"listed", "draft", "review", "delisted"}
        # every leaf category of the pavilion has listed products
        leaves = {x.category_id for x in listings if x.status == "listed"}
        assert len(leaves) >= 45
        for x in listings:
            errors = Errors()
            assert check_listing_attributes(errors, x.category, dict(x.attributes)) == x.attributes, x.id
            assert not errors.messages, (x.id, errors.messages)
            assert x.search_text == search_text_of(x, x.category)
            assert (x.brand_key, x.model_key) == (normalize(x.brand), normalize(x.model))
            assert x.price <= x.reference_price
            cold = cold_chain_category(s, x.category_id) is not None
            assert x.cold_chain == cold, x.id
        admissions = Counter(a.status for a in s.scalars(select(EmallAdmission)))
        assert admissions["admitted"] >= 9 and admissions["applied"] >= 1 and admissions["suspended"] >= 1

        orders = list(s.scalars(select(EmallOrder).where(EmallOrder.number.like("XMDD%"))))
        assert set(ORDER_STATES) <= {o.status for o in orders}
        cities = {o.region.code[:4] for o in orders}
        assert {"2201", "2202"} <= cities and len({o.supplier_id for o in orders}) >= 2
        for o in orders:
            assert o.amount == sum((ln.amount for ln in o.lines), Decimal("0.00"))
            for ln in o.lines:
                assert ln.amount == ln.unit_price * ln.quantity
                assert ln.supplier_id == o.supplier_id and ln.purchaser_id == o.purchaser_id
                listing = s.get(EmallListing, ln.listing_id)
                assert listing.supplier_id == o.supplier_id
                assert listing_covers(s, listing, o.region_id)
                if cold_chain_category(s, ln.category_id) is not None:
                    assert ln.cold_chain and listing.cold_chain
            acceptance = s.scalar(select(EmallAcceptance).where(EmallAcceptance.order_id == o.id))
            if o.status in ("accepted", "paid"):
                assert acceptance is not None and o.accepted_on == acceptance.accepted_on
                contract = s.get(Contract, o.contract_id)
                assert contract.order_ref == o.number and contract.amount == o.amount
                assert contract.source == "emall"
                assert o.payment_due > o.accepted_on
            else:
                assert acceptance is None and o.contract_id is None
            if o.status == "paid":
                paid = s.scalars(select(Payment.amount).where(Payment.contract_id == o.contract_id)).all()
                assert sum(paid) == o.amount and o.paid_on >= o.accepted_on
            if o.status == "cancelled":
                assert o.cancelled_at is not None
            if o.status == "disputed":
                assert o.disputed_from
        # the livestock-system list: the three bureaus, with their subordinate units
        from addons.emall_livestock.models import LivestockPurchaser

        units = s.scalars(select(LivestockPurchaser)).all()
        assert {u.organization.name for u in units} == {
            "长春市畜牧业管理局", "吉林市畜牧业管理局", "延边州畜牧业管理局"}
        assert all(u.include_subordinates and u.active for u in units)


def test_generator_is_deterministic(tmp_path):
    """Running the generator again rewrites identical files."""
    target = tmp_path / "addons" / "emall_livestock"
    (target / "demo").mkdir(parents=True)
    shutil.copytree(MODULE_DIR / "data", target / "data")
    shutil.copy(MODULE_DIR / "demo" / "generate.py", target / "demo" / "generate.py")
    res = subprocess.run([sys.executable, str(target / "demo" / "generate.py")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    produced = sorted(p.name for p in (target / "demo").glob("*.csv"))
    assert produced and produced == sorted(p.name for p in (MODULE_DIR / "demo").glob("*.csv"))
    for name in produced:
        assert filecmp.cmp(target / "demo" / name, MODULE_DIR / "demo" / name, shallow=False), name
