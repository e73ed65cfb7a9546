"""A framework-agreement world on top of the e-mall test world (``em``): the provincial
centre (collecting party) publishes a closed goods agreement for desktops in 长春市; three
suppliers respond (4,500 / 4,700 / 4,900 yuan under a 5,000 ceiling); the shortlist of two
is confirmed and the agreement signed. Time is moved by editing the dates directly
(``passed``), as the calendar would."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select, update

from core.db import db
from core.tenancy import SYSTEM, use_scope
from tests import dbcache
from tests.addons.emall.em_world import World
from tests.conftest import cli, installer


@dataclass
class FaWorld:
    em: World
    ag: int
    item: int
    listing: dict[str, int]
    line: dict[str, int]

    @property
    def app(self) -> Any:
        return self.em.app

    def org(self, key: str) -> int:
        return self.em.org[key]


def now() -> dt.datetime:
    from addons.framework_agreement.services.common import now as _now

    return _now()


def draft(session: Any, org: dict[str, int], region: dict[str, int], cat: dict[str, int], **over: Any) -> Any:
    """An unsaved-then-added draft agreement with one desktop item (ceiling 5,000)."""
    from addons.framework_agreement.models import FaAgreement, FaItem
    from addons.framework_agreement.services import AGREEMENT
    from core.models import Organization, Region

    today = now().date()
    values = dict(name="长春市台式计算机框架协议（测试）", kind="goods", form="closed", subject="台式计算机",
                  demand="国产 8 核、16G 内存、512G 固态硬盘，三年上门保修", evaluation="price",
                  methods="direct,competition,rotation", term_start=today + dt.timedelta(days=25),
                  term_end=today + dt.timedelta(days=300), response_deadline=now() + dt.timedelta(days=21),
                  lab_instruments=False)
    values.update(over)
    ag = FaAgreement(**values)
    ag.collector = session.get(Organization, org["inst"])
    ag.eligible_regions = [session.get(Region, region["220100"])]
    AGREEMENT.before_add(session, ag)
    session.add(ag)
    session.flush()
    item = FaItem(agreement=ag, seq=1, category_id=cat["A02010105"], name="台式计算机", unit="台",
                  ceiling_price="5000.00", est_quantity=100, max_quantity=10)
    from addons.framework_agreement.services import ITEM

    ITEM.validate(session, item)
    session.add(item)
    session.flush()
    return ag


def passed(session: Any, ag_id: int, *, deadline: bool = True, term: bool = False) -> None:
    """Time passes: the response deadline is over (and the term has begun)."""
    from addons.framework_agreement.models import FaAgreement

    values: dict[str, Any] = {}
    if deadline:
        values["response_deadline"] = now() - dt.timedelta(minutes=1)
    if term:
        values["term_start"] = now().date()
    session.execute(update(FaAgreement).where(FaAgreement.id == ag_id).values(**values)
                    .execution_options(erp_unscoped=True))
    session.commit()


@pytest.fixture
def fa(em: World) -> FaWorld:
    facts = dbcache.cached(em.app, "world:fa", lambda: _build(em))
    return FaWorld(em=em, ag=facts["ag"], item=facts["item"], listing=facts["listing"], line=facts["line"])


def _build(world: World) -> dict[str, Any]:
    installer(world.app).install(["framework_agreement"])
    assert cli(world.app, "tenant", "enable", "220000", "framework_agreement").exit_code == 0
    listing = {}
    for sup in ("sup_a", "sup_b", "sup_c"):
        world.admit(sup)
        listing[sup] = world.listing(sup, price="5000.00", reference="5200.00", stock=1000)
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement, FaLine

    with world.app.app_context(), use_scope(SYSTEM):
        s = db.session
        ag = draft(s, world.org, world.region, world.cat)
        fs.publish(s, ag)
        item = ag.items[0].id
        for sup, price in (("sup_a", "4500.00"), ("sup_b", "4700.00"), ("sup_c", "4900.00")):
            fs.submit_response(s, ag, world.org[sup], [{"item": item, "listing": listing[sup],
                                                     "unit_price": price, "supply_quantity": 10}])
        s.commit()
        passed(s, ag.id)
        ag = s.get(FaAgreement, ag.id)
        fs.confirm_shortlist(s, ag)
        passed(s, ag.id, deadline=False, term=True)
        ag = s.get(FaAgreement, ag.id)
        fs.sign(s, ag)
        s.commit()
        lines = {sup: s.execute(select(FaLine.id).where(FaLine.supplier_id == world.org[sup])).scalar()
                 for sup in ("sup_a", "sup_b")}
        return {"ag": ag.id, "item": item, "listing": listing, "line": lines}
