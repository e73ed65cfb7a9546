"""The livestock pavilion with its demo data, and users to drive it.

Import the ``xm`` fixture into a test module:
``from tests.addons.emall_livestock.xm_world import xm  # noqa: F401``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.models import ModelData, Organization
from tests import dbcache
from tests.conftest import cli, installer
from tests.core.test_web import jwt, login_form

PASSWORD = "secret123"
#: username: (role, organisation external id or None, region code or None)
USERS = {
    "xm_pur": ("采购人", "emall_livestock.pur_cc_adc"),         # under 长春市畜牧业管理局 (listed)
    "xm_cu": ("采购人", "emall_livestock.cu_cc_livestock"),     # the listed bureau itself
    "xm_jl": ("采购人", "emall_livestock.pur_jl_adc"),          # 吉林市 livestock system
    "school": ("采购人", "base.pur_cc_school"),                  # not in the livestock system
    "xm_sup": ("供应商", "emall_livestock.sup_cc_huamu"),
    "agency": ("采购代理机构", "base.agency_prov"),
}


@dataclass
class XmWorld:
    app: Any
    client: Any
    org: dict[str, int] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)

    def h(self, user: str) -> dict[str, str]:
        if user not in self.headers:
            self.headers[user] = (jwt(self.client) if user == "admin"
                                  else jwt(self.client, user, PASSWORD))
        return self.headers[user]

    def api(self, method: str, path: str, user: str | None = "admin", **kwargs: Any):
        headers = self.h(user) if user else {}
        return self.client.open(f"/api/v1/{path}", method=method, headers=headers, **kwargs)

    def browser(self, user: str | None = None):
        client = self.app.test_client()
        if user is not None:
            login_form(client, user, PASSWORD if user != "admin" else "admin12345")
        return client

    def xmlid(self, ref: str) -> int:
        module, _, name = ref.partition(".")
        with self.app.app_context():
            return db.session.execute(select(ModelData.res_id).where(
                ModelData.module == module, ModelData.name == name)).scalar_one()


@pytest.fixture
def xm(app) -> XmWorld:
    """The pavilion above; restored from a database snapshot when an earlier test built it."""
    facts = dbcache.cached(app, "world:xm", lambda: _build(app))
    return XmWorld(app=app, client=app.test_client(), org=facts["org"])


def _build(app) -> dict[str, Any]:
    assert "emall_livestock" in installer(app).install(["emall_livestock"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "emall_livestock").exit_code == 0
    world = XmWorld(app=app, client=app.test_client())
    for username, (role, ref) in USERS.items():
        org_id = world.xmlid(ref)
        with app.app_context():
            code = db.session.get(Organization, org_id).credit_code
        res = cli(app, "user", "create", "--username", username, "--password", PASSWORD,
                  "--role", role, "--org", code)
        assert res.exit_code == 0, res.output
        world.org[username] = org_id
    return {"org": world.org}
