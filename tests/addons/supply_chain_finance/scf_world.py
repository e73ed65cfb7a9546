"""The procurement world of ``pb_world`` plus ``supply_chain_finance`` installed and enabled,
two banks (the world's ``bank`` and ``bank2``, users ``bank`` and ``bank2``) serving the whole
province, and a signed contract of ``sup_a`` (550,000.00, purchaser ``pur_cc``).
Import: ``from tests.addons.supply_chain_finance.scf_world import scf, pb  # noqa: F401``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.db import db
from core.models import Organization
from core.services.credit_code import make
from tests import dbcache
from tests.addons.procurement_base.pb_world import PASSWORD, World, pb
from tests.conftest import cli, installer

__all__ = ["scf", "pb", "ScfWorld"]


class ScfWorld:
    def __init__(self, w: World, ids: dict[str, int], inst: dict[str, int]) -> None:
        self.w, self.ids, self.inst = w, ids, inst
        self.app, self.client, self.org = w.app, w.client, w.org

    def __getattr__(self, name: str) -> Any:
        return getattr(self.w, name)

    def run(self, fn, *args: Any, **kw: Any) -> Any:
        """Run a service in its own transaction (committed; rolled back on error)."""
        with self.app.app_context():
            try:
                out = fn(db.session, *args, **kw)
                ident = getattr(out, "id", None)
                db.session.commit()
                return ident
            except Exception:
                db.session.rollback()
                raise

    def apply(self, amount: str = "300000.00", bank: str = "bank", supplier: str = "sup_a",
              contract: int | None = None) -> int:
        from addons.supply_chain_finance import services

        return self.run(services.apply, supplier_id=self.org[supplier],
                        contract_id=contract or self.ids["contract"], bank_id=self.org[bank],
                        amount=amount, purpose="采购原材料")

    def approve(self, app_id: int, bank: str = "bank", amount: str = "300000.00") -> int:
        from addons.supply_chain_finance import services

        return self.run(services.decide, app_id, bank_id=self.org[bank], decision="approve",
                        amount=amount, rate_percent="3.45", term_months=6,
                        repayment_account="6216 6102 0001 2345", repayment_bank="测试银行营业部")

    def get(self, model: Any, ident: int) -> Any:
        with self.app.app_context():
            obj = db.session.get(model, ident)
            db.session.expunge_all()
            return obj


@pytest.fixture
def scf(pb: World) -> ScfWorld:
    """The world above; restored from a database snapshot when an earlier test built it."""
    facts = dbcache.cached(pb.app, "world:scf", lambda: _build(pb))
    pb.org["bank2"], pb.code["bank2"] = facts["bank2"]
    return ScfWorld(pb, facts["ids"], facts["inst"])


def _build(pb: World) -> dict[str, Any]:
    app = pb.app
    assert "supply_chain_finance" in installer(app).install(["supply_chain_finance"])
    assert cli(app, "tenant", "enable", "220000", "supply_chain_finance").exit_code == 0
    from addons.supply_chain_finance.models import Institution, InstitutionRegion

    with app.app_context():
        bank2 = Organization(name="第二测试银行吉林分行", org_type="bank",
                             region_id=pb.region["220000"], credit_code=make("91220000MA0TEXT11"),
                             active=True)
        db.session.add(bank2)
        db.session.flush()
        pb.org["bank2"], pb.code["bank2"] = bank2.id, bank2.credit_code
        inst = {}
        for key in ("bank", "bank2"):
            row = Institution(org_id=pb.org[key], kind="bank", active=True,
                              webhook_secret=f"secret-{key}")
            row.regions.append(InstitutionRegion(region_id=pb.region["220000"]))
            db.session.add(row)
            db.session.flush()
            inst[key] = row.id
        db.session.commit()
    res = cli(app, "user", "create", "--username", "bank2", "--password", PASSWORD, "--role", "银行",
              "--org", pb.code["bank2"])
    assert res.exit_code == 0, res.output
    ids = pb.signed_contract("CC-2025-001")
    return {"ids": ids, "inst": inst, "bank2": [pb.org["bank2"], pb.code["bank2"]]}


def one(model: Any, *where: Any) -> Any:
    return db.session.execute(select(model).where(*where)).scalars().first()
