"""The procurement world of ``pb_world`` plus ``sme_policy`` installed and enabled, a user of
the competent unit 长春市教育局（测试） (``unit``), and helpers. Import the ``sme`` fixture into a
test module: ``from tests.addons.sme_policy.sme_world import pb, sme  # noqa: F401``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from tests import dbcache
from tests.addons.procurement_base.pb_world import (
    AWARD,
    DEADLINE,
    NOTICE,
    OPENING,
    PASSWORD,
    SIGNED,
    World,
    pb,
)
from tests.conftest import cli, installer

__all__ = ["pb", "sme", "SmeWorld", "NOTICE", "DEADLINE", "OPENING", "AWARD", "SIGNED"]


class SmeWorld:
    def __init__(self, w: World, facts: dict[str, Any]) -> None:
        self.w = w
        self.catalog_b = facts["catalog_b"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.w, name)

    def policy(self, project: int, user: str = "admin", expect: int | None = 201, **body: Any):
        return self.w.post("sme_project", {"project": project, **body}, user, expect=expect)

    def declare(self, bid: int, user: str = "sup_a", expect: int | None = 201, **body: Any):
        data = {"bid": bid, "industry": "software", "size": "small",
                "declared_on": "2025-03-20", **body}
        return self.w.post("sme_declaration", data, user, expect=expect)

    def publish(self, project: int, expect: int | None = 200):
        return self.w.move(project, "publish", expect=expect, date=NOTICE)

    def contract_for(self, project: int, package: int, supplier: str, amount: str, number: str,
                     purchaser: str = "pur_cc") -> int:
        """Award ``supplier``'s bid on the package and sign a contract (all through the API)."""
        body = {"number": number, "project": project, "package": package,
                "purchaser": self.w.org[purchaser], "supplier": self.w.org[supplier],
                "amount": amount}
        pk = self.w.post("pb_contract", body, expect=201).json["id"]
        self.w.move_contract(pk, "sign", date=SIGNED)
        return pk


@pytest.fixture
def sme(pb: World) -> SmeWorld:
    facts = dbcache.cached(pb.app, "world:sme", lambda: _build(pb))
    return SmeWorld(pb, facts)


def _build(pb: World) -> dict[str, Any]:
    app = pb.app
    assert installer(app).install(["sme_policy"]) == ["sme_policy"]
    assert cli(app, "tenant", "enable", "220000", "sme_policy").exit_code == 0
    res = cli(app, "user", "create", "--username", "unit", "--password", PASSWORD, "--role",
              "采购人", "--org", pb.code["cu_cc"])
    assert res.exit_code == 0, res.output
    with app.app_context():
        from addons.procurement_base.models import CatalogItem

        b = db.session.execute(select(CatalogItem.id).where(CatalogItem.code == "B01")).scalar_one()
    return {"catalog_b": b}
