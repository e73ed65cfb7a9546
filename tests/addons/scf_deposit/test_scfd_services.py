# ruff: noqa: F811  (pytest fixtures imported from scfd_world)
"""Electronic guarantees as services: request, issue, verification (every check refusing
with its reason and storing nothing), the deposit recorded as a guarantee, claim and its
payment remitted like forfeited money, release, ciphered guarantees hidden until opening."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import db
from core.errors import ConflictError, ForbiddenError, RuleError
from tests.addons.scf_deposit.scfd_world import PDF, TODAY, pb, scf, scfd  # noqa: F401


def m():
    from addons.scf_deposit import models

    return models


def s():
    from addons.scf_deposit import services

    return services


def dlm():
    from addons.deposit_ledger import models

    return models


def count(w, model) -> int:
    with w.app.app_context():
        return db.session.execute(select(func.count()).select_from(model)
                                  .execution_options(erp_unscoped=True)).scalar_one()


def test_full_bid_guarantee_flow_records_the_deposit_as_a_guarantee(scfd):
    gid = scfd.request()
    g = scfd.get(m().Guarantee, gid)
    assert g.status == "requested" and g.beneficiary_id == scfd.org["agency_cc"]
    scfd.issue(gid)
    g = scfd.get(m().Guarantee, gid)
    assert g.status == "issued" and g.file_sm3 and len(g.file_sm3) == 64
    assert g.code_digest and "YZM" not in g.code_digest  # the code itself is never stored
    scfd.verify(gid)
    with scfd.app.app_context():
        g = db.session.get(m().Guarantee, gid)
        dep = g.deposit
        assert g.status == "verified" and dep.form == "guarantee"
        assert dep.guarantee_type == "e_guarantee" and dep.guarantee_number == g.number
        assert dep.amount == Decimal("12000.00") and dep.status == "held"
        assert dep.holder_id == scfd.org["agency_cc"] and dep.supplier_id == scfd.org["sup_c"]
        # a guarantee moves no money: no ledger entry
        assert not dep.entries
        from core.messages import Message
        from core.models import AuditLog

        actions = {a for (a,) in db.session.execute(select(AuditLog.action).where(
            AuditLog.module == "scf_deposit"))}
        assert {"scf_guarantee_request", "scf_guarantee_issue", "scf_guarantee_verify"} <= actions
        assert db.session.execute(select(func.count()).select_from(Message).where(
            Message.kind == "scf_guarantee")).scalar_one() >= 3


def test_release_from_the_ledger_releases_the_guarantee(scfd):
    gid = scfd.request()
    scfd.issue(gid)
    scfd.verify(gid)
    from addons.deposit_ledger import services as dl
    from core.tenancy import Scope

    dep_id = scfd.get(m().Guarantee, gid).deposit_id
    scfd.run(dl.release, dep_id, scope=Scope(actor="system"))
    g = scfd.get(m().Guarantee, gid)
    assert g.status == "released" and g.released_on is not None
    # a released guarantee cannot be verified or used again
    with pytest.raises(ConflictError):
        scfd.verify(gid)


def test_claim_and_payment_are_remitted_like_forfeited_money(scfd):
    gid = scfd.request()
    scfd.issue(gid)
    scfd.verify(gid)
    from core.tenancy import Scope

    agency = Scope(actor="agency", org_id=scfd.org["agency_cc"], region_id=scfd.region["220100"])
    # a case the tender documents do not list is refused
    with pytest.raises(RuleError) as exc:
        scfd.run(s().claim, gid, reason_id=999999, scope=agency)
    assert "reason" in exc.value.messages
    assert scfd.get(m().Guarantee, gid).status == "verified"
    scfd.run(s().claim, gid, reason_id=scfd.facts["reasons"]["bid"], note="中标后无正当理由不签合同",
             scope=agency)
    assert scfd.get(m().Guarantee, gid).status == "claimed"
    # another institution cannot report the payment; a wrong amount is refused
    with pytest.raises(ForbiddenError):
        scfd.run(s().pay_claim, gid, issuer_id=scfd.org["bank2"], amount="12000.00", on=TODAY)
    with pytest.raises(RuleError) as exc:
        scfd.run(s().pay_claim, gid, issuer_id=scfd.org["bank"], amount="11000.00", on=TODAY)
    assert "amount" in exc.value.messages
    scfd.run(s().pay_claim, gid, issuer_id=scfd.org["bank"], amount="12000.00", on=TODAY,
             reference="PAY-1")
    from addons.deposit_ledger import services as dl

    with scfd.app.app_context():
        g = db.session.get(m().Guarantee, gid)
        assert g.status == "paid"
        b = dl.balances(db.session, g.deposit_id)
        assert g.deposit.status == "forfeited" and b.unremitted == Decimal("12000.00")
    # remitted to the treasury like forfeited cash
    scfd.run(dl.remit, g.deposit_id, voucher_no="FS-0001", scope=Scope(actor="system"))
    assert scfd.get(dlm().Deposit, g.deposit_id).status == "remitted"


@pytest.mark.parametrize("case", ["hash", "code", "expired", "short", "issuer", "beneficiary",
                                  "over_cap", "required"])
def test_verification_refuses_with_the_reason_and_stores_nothing(scfd, case):
    gid = scfd.request()
    kw: dict = {}
    verify: dict = {}
    field = {"hash": "file", "code": "verify_code", "expired": "valid_until",
             "short": "valid_until", "issuer": "issuer", "beneficiary": "beneficiary",
             "over_cap": "amount", "required": "amount"}[case]
    if case == "expired":
        kw["valid_until"] = TODAY - dt.timedelta(days=1)
    if case == "short":
        kw["valid_until"] = TODAY + dt.timedelta(days=30)  # bid validity runs 90 days past the deadline
    if case == "over_cap":
        kw["amount"] = "13000.00"  # 2 % of 600,000.00 is 12,000.00
    scfd.issue(gid, **kw)
    if case == "hash":
        verify["file"] = PDF + b"tampered"
    if case == "code":
        verify["code"] = "WRONG-0000"
    if case == "required":
        verify["required_amount"] = "12000.01"
    with scfd.app.app_context():
        from addons.supply_chain_finance.models import Institution

        if case == "issuer":
            inst = db.session.execute(select(Institution).where(
                Institution.org_id == scfd.org["bank"])).scalar_one()
            inst.active = False
        if case == "beneficiary":  # the guarantee names the purchaser, the agency collects
            db.session.get(m().Guarantee, gid).beneficiary_id = scfd.org["pur_cc"]
        db.session.commit()
    before = count(scfd, dlm().Deposit)
    with pytest.raises(RuleError) as exc:
        scfd.verify(gid, **verify)
    assert field in exc.value.messages, exc.value.messages
    assert count(scfd, dlm().Deposit) == before
    assert scfd.get(m().Guarantee, gid).status == "issued"


def test_request_bad_input(scfd):
    # amount over the deposit ledger's cap
    with pytest.raises(RuleError) as exc:
        scfd.request(amount="12000.01")
    assert "上限" in exc.value.messages["amount"][0]
    # an institution not serving the region (not an institution at all)
    with pytest.raises(RuleError) as exc:
        scfd.request(bank="pur_cc")
    assert "issuer" in exc.value.messages
    # a performance guarantee on another supplier's contract
    with pytest.raises(ForbiddenError):
        scfd.request("performance", supplier="sup_c", amount="10000.00")
    # a ciphered performance guarantee
    with pytest.raises(RuleError):
        scfd.request("performance", supplier="sup_a", amount="10000.00", ciphered=True)
    # a bid guarantee on a package whose bidding has closed
    from addons.scf_deposit import services

    with pytest.raises(RuleError) as exc:
        scfd.run(services.request, supplier_id=scfd.org["sup_c"], kind="bid",
                 package_id=scfd.ids["package"], issuer_id=scfd.org["bank"], amount="1000.00")
    assert "package" in exc.value.messages
    assert count(scfd, m().Guarantee) == 0
    # a second live request for the same package: 409
    scfd.request()
    with pytest.raises(ConflictError):
        scfd.request(bank="bank2")


def test_issue_bad_input_and_other_bank(scfd):
    gid = scfd.request()
    with pytest.raises(ForbiddenError):
        scfd.issue(gid, bank="bank2")
    from addons.scf_deposit import services

    with pytest.raises(RuleError) as exc:
        scfd.run(services.issue, gid, issuer_id=scfd.org["bank"], number="", amount="100.00",
                 valid_from="2025-13-01", valid_until=None, file_name="a.doc",
                 file_sha256="xyz", verify_code="1")
    assert {"number", "amount", "valid_from", "file_name", "file_sha256", "verify_code"} <= set(
        exc.value.messages), exc.value.messages
    with pytest.raises(RuleError) as exc:
        scfd.run(services.issue, gid, issuer_id=scfd.org["bank"], number="N1", amount="12000.00",
                 valid_from=TODAY, valid_until=TODAY + dt.timedelta(days=200),
                 file_name="a.pdf", file_sha256="0" * 64, verify_code="ABCDEF",
                 file_bytes=PDF)
    assert "file_sha256" in exc.value.messages
    assert scfd.get(m().Guarantee, gid).status == "requested"


def test_performance_guarantee(scfd):
    gid = scfd.request("performance", supplier="sup_a", amount="55000.00")
    scfd.issue(gid, amount="55000.00")
    scfd.verify(gid)
    with scfd.app.app_context():
        g = db.session.get(m().Guarantee, gid)
        assert g.deposit.kind == "performance" and g.deposit.contract_id == scfd.ids["contract"]


def test_ciphered_guarantee_is_hidden_until_opening(scfd):
    gid = scfd.request(ciphered=True)
    scfd.issue(gid)
    with pytest.raises(ConflictError):
        scfd.verify(gid)
    # the agency does not see it at all; the supplier and the issuer do
    for user, seen in (("agency", False), ("pur", False), ("sup_c", True), ("bank", True),
                       ("bank2", False)):
        res = scfd.call("GET", f"scf_guarantee/{gid}", user)
        assert (res.status_code == 200) is seen, (user, res.status_code)
    with scfd.app.app_context():  # bid opening (the deadline lies ahead in this world)
        from addons.procurement_base.models import Project

        db.session.get(Project, scfd.open["project"]).status = "bidding"
        db.session.commit()
    res = scfd.call("GET", f"scf_guarantee/{gid}", "agency")
    assert res.status_code == 200
    scfd.verify(gid)
    assert scfd.get(m().Guarantee, gid).status == "verified"
