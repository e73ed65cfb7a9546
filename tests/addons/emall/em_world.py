"""A small e-mall world for the emall tests (independent of the demo data).

Organisations in 长春市 (220100, 南关区 220102) and 吉林市 (220200): the provincial
centralized procurement institution, a commercial agency, a competent unit with two schools,
a hospital in 吉林市, three suppliers, the 长春市 finance bureau; one user per actor; helpers
that admit suppliers and list products through the API. Import the ``em`` fixture:
``from tests.addons.emall.em_world import em  # noqa: F401``.
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

ORGS = {
    "inst": ("吉林省政府采购中心（测试）", "central_procurement", "220000", None, None, "12220000MA0EMT001"),
    "agency_co": ("长春某采购代理（测试）有限公司", "agency", "220100", None, None, "91220100MA0EMT002"),
    "fin_cc": ("长春市财政局（电子卖场测试）", "finance", "220100", None, None, "11220100MA0EMT003"),
    "cu_cc": ("长春市教育局（电子卖场测试）", "competent_unit", "220100", None, None, "11220100MA0EMT004"),
    "pur_cc": ("长春市第八中学（测试）", "purchaser", "220102", "cu_cc", None, "12220102MA0EMT005"),
    "pur_cc2": ("长春市第九中学（测试）", "purchaser", "220102", "cu_cc", None, "12220102MA0EMT006"),
    "pur_jl": ("吉林市第三医院（测试）", "purchaser", "220200", None, None, "12220200MA0EMT007"),
    "sup_a": ("长春甲电子（测试）有限公司", "supplier", "220100", None, "small", "91220100MA0EMT008"),
    "sup_b": ("吉林乙办公（测试）有限公司", "supplier", "220200", None, "micro", "91220200MA0EMT009"),
    "sup_c": ("长春丙商贸（测试）有限公司", "supplier", "220102", None, "medium", "91220102MA0EMT010"),
}
USERS = {
    "inst": ("电子卖场管理", "inst"),
    "agency": ("采购代理机构", "agency_co"),
    "auditor": ("审计监督", "fin_cc"),
    "cu": ("采购人", "cu_cc"),
    "pur": ("采购人", "pur_cc"),
    "pur2": ("采购人", "pur_cc2"),
    "pur_jl": ("采购人", "pur_jl"),
    "sup_a": ("供应商", "sup_a"),
    "sup_b": ("供应商", "sup_b"),
    "sup_c": ("供应商", "sup_c"),
}
ANSWERS = {"license": "营业执照 91220100MA0EMT008", "civil_liability": True, "good_credit": True,
           "performance_capacity": True, "tax_social_security": True, "no_major_violation": True,
           "not_blacklisted": True, "price_commitment": True, "after_sales": True,
           "bank_account": "中国银行长春分行 1234567890"}
DESKTOP_ATTRS = {"cpu": "国产 8 核", "memory_gb": "16", "storage_gb": "512", "os": "国产操作系统"}


@dataclass
class World:
    app: Any
    client: Any
    org: dict[str, int]
    code: dict[str, str]
    region: dict[str, int]
    cat: dict[str, int]
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    seq: int = 0

    def h(self, user: str) -> dict[str, str]:
        if user not in self.headers:
            self.headers[user] = jwt(self.client) if user == "admin" else jwt(self.client, user, PASSWORD)
        return self.headers[user]

    def call(self, method: str, path: str, user: str = "admin", json: Any = None,
             expect: int | None = None, **kw: Any):
        res = self.client.open(f"/api/v1/{path}", method=method, json=json, headers=self.h(user), **kw)
        if expect is not None:
            assert res.status_code == expect, (method, path, res.status_code, res.get_data(as_text=True))
        return res

    def admit(self, supplier: str, *codes: str) -> int:
        cats = [self.cat[c] for c in codes or ("A0201", "A0202")]
        res = self.call("POST", "emall_admission/apply", supplier,
                        {"answers": ANSWERS, "categories": cats}, expect=200)
        adm = res.json["result"]["id"]
        self.call("POST", f"emall_admission/{adm}/transition/approve", "inst", {}, expect=200)
        return adm

    def listing(self, supplier: str, *, code: str = "A02010105", price: str = "5000.00",
                reference: str = "5200.00", stock: int = 100, regions: tuple[str, ...] = ("220000",),
                brand: str = "长城", model: str | None = None, name: str = "台式计算机",
                attributes: dict | None = None, listed: bool = True, **extra: Any) -> int:
        self.seq += 1
        body = {"category": self.cat[code], "name": name, "brand": brand,
                "model": model or f"TEST-{self.seq:04d}", "price": price,
                "reference_price": reference, "stock": stock,
                "attributes": DESKTOP_ATTRS if attributes is None and code == "A02010105" else (attributes or {}),
                "regions": [self.region[r] for r in regions], **extra}
        lid = self.call("POST", "emall_listing/", supplier, body, expect=201).json["id"]
        if listed:
            self.call("POST", f"emall_listing/{lid}/transition/submit", supplier, {}, expect=200)
            self.call("POST", f"emall_listing/{lid}/transition/approve", "inst", {}, expect=200)
        return lid

    def buy(self, user: str, listing: int, quantity: int = 1, expect: int | None = 201):
        return self.call("POST", "emall_order/", user, {"lines": [{"listing": listing, "quantity": quantity}]},
                         expect=expect)

    def move(self, order: int, name: str, user: str, expect: int | None = 200, **body: Any):
        return self.call("POST", f"emall_order/{order}/transition/{name}", user, body, expect=expect)

    def cart(self, user: str, *lines: tuple[int, int]) -> None:
        for listing, qty in lines:
            self.call("POST", "emall_cart/lines", user, {"listing": listing, "quantity": qty}, expect=200)

    def checkout(self, user: str, expect: int | None = 200, **body: Any):
        return self.call("POST", "emall_cart/checkout", user, body, expect=expect)

    def sql(self, stmt: Any) -> Any:
        with self.app.app_context():
            return db.session.execute(stmt, execution_options={"erp_unscoped": True}).all()


@pytest.fixture
def em(app) -> World:
    """The world above; restored from a database snapshot when an earlier test built it."""
    facts = dbcache.cached(app, "world:em", lambda: _build(app))
    return World(app=app, client=app.test_client(), org=facts["org"], code=facts["code"],
                 region=facts["region"], cat=facts["cat"])


def _build(app) -> dict[str, Any]:
    inst = installer(app)
    inst.install(["emall"])
    assert cli(app, "tenant", "enable", "220000", "emall").exit_code == 0
    with app.app_context():
        regions = dict(db.session.execute(select(Region.code, Region.id)).all())
        objs: dict[str, Organization] = {}
        for key, (name, org_type, region, parent, size, first17) in ORGS.items():
            objs[key] = Organization(name=name, org_type=org_type, region_id=regions[region],
                                     parent=objs[parent] if parent else None, size=size,
                                     credit_code=make(first17), active=True,
                                     address=f"{name}地址")
            db.session.add(objs[key])
        db.session.commit()
        org = {k: o.id for k, o in objs.items()}
        code = {k: o.credit_code for k, o in objs.items()}
        from addons.emall.models import EmallCategory

        cats = dict(db.session.execute(select(EmallCategory.code, EmallCategory.id)).all())
    for username, (role, org_key) in USERS.items():
        res = cli(app, "user", "create", "--username", username, "--password", PASSWORD, "--role", role,
                  "--org", code[org_key])
        assert res.exit_code == 0, res.output
    return {"org": org, "code": code, "region": regions, "cat": cats}
