"""The procurement world of ``pb_world`` plus ``deposit_ledger`` installed and enabled, and
helpers to record deposits and act on them through the API. Import the ``dl`` fixture into
a test module: ``from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from tests import dbcache
from tests.addons.procurement_base.pb_world import World, pb
from tests.conftest import cli, installer

__all__ = ["dl", "pb", "DlWorld"]


class DlWorld:
    def __init__(self, w: World, ids: dict[str, int]) -> None:
        self.w, self.ids = w, ids
        self.app, self.client, self.org = w.app, w.client, w.org
        self.reasons: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.w, name)

    def deposit(self, number: str = "BZJ-001", *, supplier: str = "sup_c", kind: str = "bid",
                amount: str = "10000.00", user: str = "agency", expect: int | None = 201,
                **extra: Any):
        body = {"number": number, "kind": kind, "project": self.ids["project"],
                "supplier": self.org[supplier], "form": "transfer", "amount": amount,
                "received_date": "2025-03-20", "payer_account": "6222020200001234567",
                "receipt_reference": f"IN-{number}"}
        if kind == "bid":
            body["package"] = self.ids["package"]
            body["bid"] = self.ids["lost" if supplier == "sup_c" else "won"]
        else:
            body["contract"] = self.ids["contract"]
        body.update(extra)
        return self.w.post("dl_deposit", body, user, expect=expect)

    def act(self, pk: int, action: str, user: str = "agency", expect: int | None = 200, **body: Any):
        return self.w.call("POST", f"dl_deposit/{pk}/{action}", user, body, expect)


@pytest.fixture
def dl(pb: World) -> DlWorld:
    """The world above; restored from a database snapshot when an earlier test built it."""
    facts = dbcache.cached(pb.app, "world:dl", lambda: _build(pb))
    world = DlWorld(pb, facts["ids"])
    world.reasons = facts["reasons"]
    return world


def _build(pb: World) -> dict[str, Any]:
    app = pb.app
    assert installer(app).install(["deposit_ledger"]) == ["deposit_ledger"]
    assert cli(app, "tenant", "enable", "220000", "deposit_ledger").exit_code == 0
    ids = pb.signed_contract("CC-2025-001")
    from addons.deposit_ledger.models import ForfeitReason

    with app.app_context():
        reasons = dict(db.session.execute(select(ForfeitReason.code, ForfeitReason.id)).all())
    return {"ids": ids, "reasons": reasons}
