"""The world of ``scf_world`` plus ``emall`` and the bridge ``scf_emall`` (auto installed)
enabled province-wide, and a constructed order history of ``sup_a`` written straight into the
e-mall's tables (months relative to today, so the figures are known exactly).
Import: ``from tests.addons.scf_emall.scfe_world import scfe, scf, pb  # noqa: F401``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from core.db import db
from core.models import Organization
from tests import dbcache
from tests.addons.supply_chain_finance.scf_world import ScfWorld, pb, scf
from tests.conftest import cli, installer

__all__ = ["scfe", "scf", "pb", "ScfeWorld", "TODAY", "months_ago"]

TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()  # the platform's day (China)


def months_ago(n: int, day: int = 10) -> dt.date:
    """Day ``day`` of the month ``n`` months before this one."""
    from addons.scf_emall.services import month_start

    return month_start(TODAY, n).replace(day=day)


class ScfeWorld:
    def __init__(self, w: ScfWorld, facts: dict[str, Any]) -> None:
        self.w, self.facts = w, facts
        self.app, self.client, self.org = w.app, w.client, w.org

    def __getattr__(self, name: str) -> Any:
        return getattr(self.w, name)


@pytest.fixture
def scfe(scf: ScfWorld) -> ScfeWorld:
    facts = dbcache.cached(scf.app, "world:scfe", lambda: _build(scf))
    return ScfeWorld(scf, facts)


#: (months ago, purchaser, amount, status, days placed→delivered, days accepted→paid, disputed_from)
HISTORY = [
    (1, "pur_cc", "10000.00", "paid", 3, 5, None),
    (2, "pur_cc", "20000.00", "paid", 10, 7, None),        # late delivery
    (3, "pur_jl", "30000.00", "paid", 2, 9, "delivered"),  # disputed at delivery, then accepted
    (14, "pur_cc2", "40000.00", "paid", 5, 11, None),      # in the 24 months only
    (0, "pur_jl", "5000.00", "disputed", None, None, "shipped"),  # placed today
    (0, "pur_cc", "7000.00", "cancelled", None, None, None),
    (30, "pur_cc", "99000.00", "paid", 3, 3, None),        # older than 24 months: ignored
]


def _build(scf: ScfWorld) -> dict[str, Any]:
    app = scf.app
    installed = installer(app).install(["emall"])
    assert "scf_emall" in installed, installed
    for module in ("emall", "scf_emall"):
        assert cli(app, "tenant", "enable", "220000", module).exit_code == 0
    from addons.emall.models import EmallOrder, EmallRating

    orders = []
    with app.app_context():
        for n, (back, pur, amount, status, deliver, pay, disputed) in enumerate(HISTORY, 1):
            placed = dt.datetime.combine(months_ago(back, 3) if back else TODAY, dt.time(0, 5))
            delivered = placed + dt.timedelta(days=deliver) if deliver is not None else None
            accepted = (delivered.date() + dt.timedelta(days=1)) if pay is not None else None
            region = db.session.get(Organization, scf.org[pur]).region_id
            o = EmallOrder(number=f"SCFE-{n:03d}", purchaser_id=scf.org[pur],
                           supplier_id=scf.org["sup_a"], amount=Decimal(amount), status=status,
                           placed_at=placed, delivered_at=delivered, accepted_on=accepted,
                           paid_on=accepted + dt.timedelta(days=pay) if accepted else None,
                           disputed_from=disputed, cancelled_at=placed if status == "cancelled" else None,
                           region_id=region)
            db.session.add(o)
            db.session.flush()
            orders.append(o.id)
        for oid, (d, q, s) in zip(orders[:2], ((5, 4, 5), (3, 4, 4)), strict=True):
            o = db.session.get(EmallOrder, oid)
            db.session.add(EmallRating(order_id=oid, supplier_id=o.supplier_id,
                                       purchaser_id=o.purchaser_id, region_id=o.region_id,
                                       delivery=d, quality=q, service=s,
                                       rated_at=dt.datetime.combine(o.paid_on, dt.time(12))))
        db.session.commit()
    return {"orders": orders}
