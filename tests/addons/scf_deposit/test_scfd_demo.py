"""The demo: a guarantee company among the institutions, guarantees in every state, each
verified one held in the deposit ledger as an electronic guarantee that passes the checks it
passed; the demo issued guarantee verifies with the shipped file and documented code; work on
the bank's and the purchaser's workbench."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from core.db import db
from tests.conftest import installer

FILE = Path(__file__).resolve().parents[3] / "addons/scf_deposit/demo/files/BOC-LYBH-2025-0031.pdf"


def test_demo_loads_every_state_consistently(app):
    installed = installer(app).install(["supply_chain_finance", "deposit_ledger"], demo=True)
    assert "scf_deposit" in installed
    from addons.scf_deposit import services as s
    from addons.scf_deposit.models import Guarantee
    from addons.supply_chain_finance.models import Institution
    from core.tenancy import Scope

    with app.app_context():
        kinds = sorted(i.kind for i in db.session.execute(select(Institution)).scalars())
        assert kinds == ["bank", "bank", "guarantee", "insurer"]
        rows = list(db.session.execute(select(Guarantee).execution_options(erp_unscoped=True)).scalars())
        assert {g.status for g in rows} == {"requested", "issued", "verified", "released", "declined"}
        for g in rows:
            if g.status in ("verified", "released"):
                dep = g.deposit
                assert dep.form == "guarantee" and dep.guarantee_number == g.number
                assert dep.amount == g.amount and dep.supplier_id == g.supplier_id
                assert dep.status == ("held" if g.status == "verified" else "released")
                limit, _ = s.cap(db.session, g.kind, g.project, g.package, g.contract)
                assert g.amount <= limit
            if g.status == "requested":
                assert g.issuer.name.startswith("中国银行")  # the demo bank has work waiting
        issued = next(g for g in rows if g.status == "issued")
        assert issued.project.purchaser.name == "长春市第一中学"  # the demo purchaser verifies it
        problems = s.verification_problems(db.session, issued, verify_code="YZ-20251021-031",
                                           file_bytes=FILE.read_bytes())
        assert problems == {}, problems
        s.verify(db.session, issued.id, verify_code="YZ-20251021-031", file_bytes=FILE.read_bytes(),
                 scope=Scope(actor="system"))
        assert issued.status == "verified"
        db.session.rollback()
