"""A small expert world on top of procurement_base's test world (``pb``).

``ec`` fixture: expert_credit installed and enabled for the province; a published project
of 长春市第二中学（测试） (purchaser ``pur_cc``) with bids by ``sup_a`` and ``sup_c`` (package
of catalog A02); helpers to add experts with specialties and relations, and to run the
services as a given scope. Review dates are fixed in 2025 (the calendar covers them);
service calls pass ``on=`` explicitly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.models import Organization, Region
from tests import dbcache
from tests.addons.procurement_base.pb_world import PASSWORD, World, pb
from tests.conftest import cli, installer

REVIEW = dt.datetime(2025, 3, 26, 9, 0)  # Wednesday
ON = dt.date(2025, 3, 24)  # Monday: 2 working days before


def id_number(n: int, region: str = "220102", born: str = "19750101") -> str:
    from addons.expert_credit.services import id_check_char

    first17 = f"{region}{born}{n % 1000:03d}"
    return first17 + id_check_char(first17)


@dataclass
class EcWorld:
    pb: World
    project: int
    package: int
    a02: int
    counter: int = 0

    @property
    def app(self):
        return self.pb.app

    def region(self, code: str) -> int:
        return self.pb.region[code]

    def expert(self, name: str | None = None, *, region: str = "220100", specialties=None,
               status: str = "active", until: dt.date | None = None, band: str = "new",
               employer: str | None = None, finance: bool = False, user_id: int | None = None,
               relations: list[dict] | None = None) -> int:
        from addons.expert_credit.models import Expert, ExpertRelation, ExpertSpecialty

        self.counter += 1
        with self.app.app_context():
            e = Expert(code=f"ZJ{self.counter:07d}", name=name or f"专家{self.counter:03d}",
                       id_number=id_number(self.counter),
                       region_id=self.region(region), status=status, suspended_until=until,
                       credit_band=band, finance_supervisor=finance, user_id=user_id,
                       employer_id=self.pb.org[employer] if employer else None)
            db.session.add(e)
            db.session.flush()
            for cat in specialties or [self.a02]:
                db.session.add(ExpertSpecialty(expert_id=e.id, catalog_id=cat,
                                               region_id=e.region_id))
            for r in relations or []:
                r = dict(r)
                org = r.pop("org", None)
                if org:
                    r["org_id"] = self.pb.org[org]
                    r.setdefault("org_name", "x")
                db.session.add(ExpertRelation(expert_id=e.id, region_id=e.region_id, **r))
            db.session.commit()
            return e.id


@pytest.fixture
def ec(pb) -> EcWorld:
    """The world above; restored from a database snapshot when an earlier test built it."""
    facts = dbcache.cached(pb.app, "world:ec", lambda: _build(pb))
    return EcWorld(pb=pb, project=facts["project"], package=facts["package"], a02=facts["a02"])


def _build(pb: World) -> dict[str, Any]:
    assert installer(pb.app).install(["expert_credit"]) == ["expert_credit"]
    assert cli(pb.app, "tenant", "enable", "220000", "expert_credit").exit_code == 0
    p = pb.project("CC-2025-EC1", bid_deadline="2025-03-21T09:00:00")
    pkg = pb.package(p)
    pb.move(p, "publish", date="2025-03-03")
    pb.bid(pkg, "sup_a", "500000.00")
    pb.bid(pkg, "sup_c", "520000.00")
    with pb.app.app_context():
        from addons.procurement_base.models import CatalogItem

        a02 = db.session.execute(select(CatalogItem.id).where(CatalogItem.code == "A02")).scalar_one()
    return {"project": p, "package": pkg, "a02": a02}


def request(ec: EcWorld, count: int = 1, reserves: int = 0, review: dt.datetime = REVIEW,
            on: dt.date = ON, seed: bytes | None = None, catalog: int | None = None) -> int:
    from addons.expert_credit import services as s
    from addons.procurement_base.models import Project

    with ec.app.app_context():
        p = db.session.get(Project, ec.project)
        req = s.create_request(db.session, p, review, [s.LineSpec(catalog or ec.a02, count, reserves)],
                               on=on, seed=seed)
        db.session.commit()
        return req.id


def draw(ec: EcWorld, req_id: int, on: dt.date = ON) -> tuple[int, list[int]]:
    from addons.expert_credit import draw as algo
    from addons.expert_credit import services as s
    from addons.expert_credit.models import DrawRequest, Expert

    with ec.app.app_context():
        req = db.session.get(DrawRequest, req_id)
        d = s.perform_draw(db.session, req, on=on)
        db.session.commit()
        ids = dict(db.session.execute(select(Expert.code, Expert.id)).all())
        return d.id, [ids[code] for _, code in algo.parse_result(d.result)]


def org_code(ec: EcWorld, key: str) -> str:
    return ec.pb.code[key]


def org_obj(key: str, ec: EcWorld) -> Any:
    with ec.app.app_context():
        return db.session.get(Organization, ec.pb.org[key])


def region_obj(code: str) -> Any:
    return db.session.execute(select(Region).where(Region.code == code)).scalar_one()


__all__ = ["ON", "PASSWORD", "REVIEW", "EcWorld", "draw", "ec", "id_number", "pb", "request"]
