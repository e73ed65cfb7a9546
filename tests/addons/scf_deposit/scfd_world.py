"""The world of ``scf_world`` plus ``deposit_ledger`` and the bridge ``scf_deposit`` (auto
installed) enabled province-wide, an open tender (``open``: package budget 600,000.00, bid
deadline 20 days ahead, forfeiture cases listed) and helpers to request, issue and verify
guarantees. Import: ``from tests.addons.scf_deposit.scfd_world import scfd, scf, pb  # noqa: F401``."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from tests import dbcache
from tests.addons.procurement_base.pb_world import PASSWORD
from tests.addons.supply_chain_finance.scf_world import ScfWorld, pb, scf
from tests.conftest import cli, installer

__all__ = ["scfd", "scf", "pb", "ScfdWorld", "PDF", "SHA"]

PDF = b"%PDF-1.7\n% demo guarantee file\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
SHA = hashlib.sha256(PDF).hexdigest()
TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()  # the platform's day (China)


class ScfdWorld:
    def __init__(self, w: ScfWorld, facts: dict[str, Any]) -> None:
        self.w, self.facts = w, facts
        self.app, self.client, self.org = w.app, w.client, w.org
        self.open = facts["open"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.w, name)

    def request(self, kind: str = "bid", *, supplier: str = "sup_c", bank: str = "bank",
                amount: str = "12000.00", ciphered: bool = False) -> int:
        from addons.scf_deposit import services

        target = ({"package_id": self.open["package"]} if kind == "bid"
                  else {"contract_id": self.ids["contract"]})
        return self.run(services.request, supplier_id=self.org[supplier], kind=kind,
                        issuer_id=self.org[bank], amount=amount, ciphered=ciphered, **target)

    def issue(self, gid: int, *, bank: str = "bank", number: str | None = None,
              amount: str = "12000.00", valid_from: dt.date | None = None,
              valid_until: dt.date | None = None, code: str = "YZM-123456") -> int:
        from addons.scf_deposit import services

        return self.run(services.issue, gid, issuer_id=self.org[bank],
                        number=number or f"BOC-{gid:05d}", amount=amount,
                        valid_from=valid_from or dt.date(2025, 1, 1),
                        valid_until=valid_until or TODAY + dt.timedelta(days=400),
                        file_name="保函.pdf", file_sha256=SHA, verify_code=code, file_bytes=PDF)

    def verify(self, gid: int, *, code: str = "YZM-123456", file: bytes = PDF, **kw: Any) -> int:
        from addons.scf_deposit import services
        from core.tenancy import Scope

        scope = Scope(actor="agency", org_id=self.org["agency_cc"], region_id=self.region["220100"],
                      region_ids=None)
        return self.run(services.verify, gid, verify_code=code, file_bytes=file, scope=scope, **kw)


@pytest.fixture
def scfd(scf: ScfWorld) -> ScfdWorld:
    facts = dbcache.cached(scf.app, "world:scfd", lambda: _build(scf))
    return ScfdWorld(scf, facts)


def _build(scf: ScfWorld) -> dict[str, Any]:
    app = scf.app
    installed = installer(app).install(["deposit_ledger"])
    assert "scf_deposit" in installed, installed
    for module in ("deposit_ledger", "scf_deposit"):
        assert cli(app, "tenant", "enable", "220000", module).exit_code == 0
    res = cli(app, "user", "create", "--username", "sup_c", "--password", PASSWORD, "--role",
              "供应商", "--org", scf.code["sup_c"])
    assert res.exit_code == 0, res.output
    deadline = (dt.datetime.combine(TODAY + dt.timedelta(days=20), dt.time(9, 0))).isoformat()
    p = scf.project("CC-2026-010", bid_deadline=deadline)
    pkg = scf.package(p)
    scf.move(p, "publish", date=TODAY.isoformat())
    from addons.deposit_ledger.models import ForfeitReason

    with app.app_context():
        rows = db.session.execute(select(ForfeitReason.kind, ForfeitReason.id)
                                  .order_by(ForfeitReason.id)).all()
    listed: dict[str, int] = {}
    for kind, rid in rows:
        listed.setdefault(kind, rid)
    for rid in listed.values():
        for project in (p, scf.ids["project"]):
            scf.post("dl_project_reason", {"project": project, "reason": rid}, "agency", expect=201)
    return {"open": {"project": p, "package": pkg}, "reasons": listed}
