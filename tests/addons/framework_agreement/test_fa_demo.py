"""The demo installs on top of the e-mall's, tells its story, and obeys the module's rules:
the ledger matches the call-offs, rotation continues in the published order, and every
role has work waiting."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from core.db import db
from core.tenancy import Scope, snapshot, use_scope
from tests.conftest import cli, init_db, installer


def test_demo_story(app_factory) -> None:
    app = app_factory(paths=[])
    init_db(app)
    installer(app).install(["framework_agreement"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "emall", "framework_agreement").exit_code == 0
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement, FaCallOff, FaLine, FaMember
    from core.models import Organization

    with app.app_context():
        s = db.session
        opts = {"erp_unscoped": True}
        pc = s.execute(select(FaAgreement).where(FaAgreement.number == "KJ220000-2026-001"), execution_options=opts).scalar_one()
        car = s.execute(select(FaAgreement).where(FaAgreement.number == "KJ220100-2026-007"), execution_options=opts).scalar_one()
        assert (pc.status, car.status, car.form) == ("active", "active", "open")
        # the ledger equals the call-offs placed on it
        for line in s.execute(select(FaLine), execution_options=opts).scalars():
            qty, amt = s.execute(select(func.coalesce(func.sum(FaCallOff.quantity), 0),
                                        func.coalesce(func.sum(FaCallOff.amount), 0))
                                 .where(FaCallOff.line_id == line.id, FaCallOff.status == "ordered"),
                                 execution_options=opts).one()
            assert (line.ordered_quantity, line.ordered_amount) == (qty, Decimal(amt)), line
        assert s.execute(select(func.count()).select_from(FaMember).where(FaMember.agreement_id == pc.id),
                         execution_options=opts).scalar() == 3
        traffic = s.execute(select(Organization).where(Organization.name == "长春市公安局交通警察支队")).scalar_one()
        scope = Scope(actor="purchaser", org_id=traffic.id, region_id=traffic.region_id,
                      region_ids=frozenset(snapshot().subtree(traffic.region_id)), org_type="purchaser")
        item = car.items[0].id
        with use_scope(scope):
            c = fs.rotate(s, car.id, item, 1)
        third = s.execute(select(FaMember).where(FaMember.agreement_id == car.id, FaMember.rotation_position == 3),
                          execution_options=opts).scalar_one()
        assert c.supplier_id == third.supplier_id, "rotation continues with position 3 of cycle 1"
        s.rollback()
        assert fs.reports.agreement_report(s, pc)["savings"] > 0
        from addons.framework_agreement.models import FaOutside

        outs = s.execute(select(FaOutside).order_by(FaOutside.id), execution_options=opts).scalars().all()
        assert [(o.late, o.outside_price < o.agreement_price, o.agreement_id) for o in outs] == [
            (False, True, pc.id), (True, True, pc.id), (False, True, pc.id)]
