"""A small procurement world for the procurement_base tests (independent of the demo data).

Organisations in 长春市 (220100 and 南关区 220102) and 吉林市 (220200), one user per actor,
and helpers to call the API and to walk a project to any status through the API.
Import the ``pb`` fixture into a test module: ``from tests.addons.procurement_base.pb_world
import pb  # noqa: F401``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.models import Organization, Region
from core.services.credit_code import make
from tests import dbcache
from tests.conftest import cli, installer
from tests.core.test_web import jwt

PASSWORD = "secret123"

#: key: (name, org_type, region code, parent key, size, credit code first 17 characters)
ORGS = {
    "fin_cc": ("长春市财政局（测试）", "finance", "220100", None, None, "11220100MA0TEXT01"),
    "cu_cc": ("长春市教育局（测试）", "competent_unit", "220100", None, None, "11220100MA0TEXT02"),
    "pur_cc": ("长春市第二中学（测试）", "purchaser", "220102", "cu_cc", None, "12220102MA0TEXT03"),
    "pur_cc2": ("长春市第三中学（测试）", "purchaser", "220102", "cu_cc", None, "12220102MA0TEXT04"),
    "pur_jl": ("吉林市第一医院（测试）", "purchaser", "220200", None, None, "12220200MA0TEXT05"),
    "agency_cc": ("长春市采购代理（测试）有限公司", "agency", "220100", None, None, "91220100MA0TEXT06"),
    "sup_a": ("长春甲科技（测试）有限公司", "supplier", "220100", None, "small", "91220100MA0TEXT07"),
    "sup_b": ("吉林乙医疗（测试）有限公司", "supplier", "220200", None, "micro", "91220200MA0TEXT08"),
    "sup_c": ("长春丙设备（测试）有限公司", "supplier", "220102", None, "large", "91220102MA0TEXT09"),
    "bank": ("测试银行吉林省分行", "bank", "220000", None, None, "91220000MA0TEXT10"),
}
#: username: (role, org key or None, region code or None)
USERS = {
    "pur": ("采购人", "pur_cc", None),
    "pur2": ("采购人", "pur_cc2", None),
    "pur_jl": ("采购人", "pur_jl", None),
    "agency": ("采购代理机构", "agency_cc", None),
    "sup_a": ("供应商", "sup_a", None),
    "sup_b": ("供应商", "sup_b", None),
    "auditor": ("审计监督", "fin_cc", None),
    "city_admin": ("地区管理员", None, "220100"),
    "bank": ("银行", "bank", None),
}

NOTICE = "2025-03-03"
DEADLINE = "2025-03-24T09:00:00"
OPENING = "2025-03-24"
AWARD = "2025-03-31"
SIGNED = "2025-04-03"


@dataclass
class World:
    app: Any
    client: Any
    org: dict[str, int]
    code: dict[str, str]
    region: dict[str, int]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    catalog_a02: int = 0

    def h(self, user: str) -> dict[str, str]:
        if user not in self.headers:
            self.headers[user] = (jwt(self.client) if user == "admin"
                                  else jwt(self.client, user, PASSWORD))
        return self.headers[user]

    # -- API helpers ------------------------------------------------------------------------
    def call(self, method: str, path: str, user: str = "admin", json: Any = None,
             expect: int | None = None):
        res = self.client.open(f"/api/v1/{path}", method=method, json=json, headers=self.h(user))
        if expect is not None:
            assert res.status_code == expect, (method, path, res.status_code, res.get_data(as_text=True))
        return res

    def post(self, resource: str, body: dict, user: str = "admin", expect: int | None = None):
        return self.call("POST", f"{resource}/", user, body, expect)

    def put(self, resource: str, pk: int, body: dict, user: str = "admin", expect: int | None = None):
        return self.call("PUT", f"{resource}/{pk}", user, body, expect)

    def move(self, pk: int, name: str, user: str = "admin", expect: int | None = 200, **body: Any):
        return self.call("POST", f"pb_project/{pk}/transition/{name}", user, body, expect)

    def move_contract(self, pk: int, name: str, user: str = "admin", expect: int | None = 200,
                      **body: Any):
        return self.call("POST", f"pb_contract/{pk}/transition/{name}", user, body, expect)

    def count(self, model: Any) -> int:
        with self.app.app_context():
            return len(db.session.execute(select(model.id)).all())

    # -- building blocks ------------------------------------------------------------------------
    def project(self, number: str = "CC-2025-001", *, purchaser: str = "pur_cc",
                budget: str = "1000000.00", user: str = "admin", **extra: Any) -> int:
        body = {"number": number, "name": f"测试项目 {number}", "purchaser": self.org[purchaser],
                "agency": self.org["agency_cc"], "catalog": self.catalog_a02,
                "method": "public_tender", "budget": budget, **extra}
        return self.post("pb_project", body, user, expect=201).json["id"]

    def package(self, project: int, number: str = "1", budget: str = "600000.00",
                user: str = "admin", **extra: Any) -> int:
        body = {"project": project, "number": number, "name": f"第{number}包", "budget": budget,
                **extra}
        return self.post("pb_package", body, user, expect=201).json["id"]

    def bid(self, package: int, supplier: str, price: str, user: str = "admin", **extra: Any) -> int:
        body = {"package": package, "supplier": self.org[supplier], "price": price,
                "submitted_at": "2025-03-20T10:00:00", **extra}
        return self.post("pb_bid", body, user, expect=201).json["id"]

    def awarded_project(self, number: str = "CC-2025-001", *, price: str = "550000.00") -> dict:
        """A project with one package, bids by sup_a (winner) and sup_c, awarded."""
        p = self.project(number, bid_deadline=DEADLINE)
        pkg = self.package(p)
        self.move(p, "publish", date=NOTICE)
        won = self.bid(pkg, "sup_a", price)
        lost = self.bid(pkg, "sup_c", "580000.00")
        self.move(p, "open_bidding", date=OPENING)
        self.move(p, "evaluate")
        self.move(p, "award", date=AWARD, winning_bids=[won])
        return {"project": p, "package": pkg, "won": won, "lost": lost}

    def contract(self, ids: dict, amount: str = "550000.00", number: str = "HT-001",
                 user: str = "admin", expect: int | None = 201, **extra: Any):
        body = {"number": number, "project": ids["project"], "package": ids["package"],
                "purchaser": self.org["pur_cc"], "supplier": self.org["sup_a"], "amount": amount,
                **extra}
        return self.post("pb_contract", body, user, expect=expect)

    def signed_contract(self, number: str = "CC-2025-001", amount: str = "550000.00") -> dict:
        ids = self.awarded_project(number)
        ids["contract"] = self.contract(ids, amount).json["id"]
        self.move_contract(ids["contract"], "sign", date=SIGNED)
        return ids


@pytest.fixture
def pb(app) -> World:
    """The world above; restored from a database snapshot when an earlier test built it."""
    facts = dbcache.cached(app, "world:pb", lambda: _build(app))
    return World(app=app, client=app.test_client(), org=facts["org"], code=facts["code"],
                 region=facts["region"], catalog_a02=facts["catalog_a02"])


def _build(app) -> dict[str, Any]:
    inst = installer(app)
    assert inst.install(["procurement_base"]) == ["procurement_base"]
    assert cli(app, "tenant", "enable", "220000", "procurement_base").exit_code == 0
    with app.app_context():
        regions = dict(db.session.execute(select(Region.code, Region.id)).all())
        objs: dict[str, Organization] = {}
        for key, (name, org_type, region, parent, size, first17) in ORGS.items():
            objs[key] = Organization(name=name, org_type=org_type, region_id=regions[region],
                                     parent=objs[parent] if parent else None, size=size,
                                     credit_code=make(first17), active=True)
            db.session.add(objs[key])
        db.session.commit()
        org = {k: o.id for k, o in objs.items()}
        code = {k: o.credit_code for k, o in objs.items()}
        from addons.procurement_base.models import CatalogItem

        a02 = db.session.execute(select(CatalogItem.id).where(CatalogItem.code == "A02")).scalar_one()
    for username, (role, org_key, region) in USERS.items():
        args = ["user", "create", "--username", username, "--password", PASSWORD, "--role", role]
        if org_key:
            args += ["--org", code[org_key]]
        if region:
            args += ["--region", region]
        res = cli(app, *args)
        assert res.exit_code == 0, res.output
    return {"org": org, "code": code, "region": regions, "catalog_a02": a02}
