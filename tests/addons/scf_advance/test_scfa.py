# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""Advance payments under insurance: the purchaser agrees, the supplier presents the policy,
the purchaser verifies it (every check a reason, nothing stored) and pays the advance as a
payment of the contract, then releases the policy on acceptance or claims; the API with
idempotency keys and visibility; the page; the demo."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal

import pytest

from core.db import db
from core.errors import ConflictError, ForbiddenError, RuleError
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401
from tests.addons.supply_chain_finance.test_scf_pages import plain, token, web
from tests.conftest import cli, installer

SHA = hashlib.sha256(b"policy file").hexdigest()
TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()  # the platform's day (China)


@pytest.fixture
def adv(scf):
    installer(scf.app).install(["scf_advance"])
    assert cli(scf.app, "tenant", "enable", "220000", "scf_advance").exit_code == 0
    return scf


def s():
    from addons.scf_advance import services

    return services


def model():
    from addons.scf_advance.models import Advance

    return Advance


def pur(w) -> set[int]:
    return {w.org["pur_cc"]}


def agree(w, share: str = "30", delivery: dt.date | None = None) -> int:
    return w.run(s().agree, contract_id=w.ids["contract"], share_percent=share,
                 delivery_date=delivery or TODAY + dt.timedelta(days=60), purchaser_ids=pur(w))


def present(w, pk: int, **over) -> int:
    body = {"insurer_id": w.org["bank2"], "policy_number": "PICC-1",
            "insured_credit_code": w.code["pur_cc"], "amount": "165000.00",
            "valid_until": TODAY + dt.timedelta(days=200), "file_sha256": SHA, **over}
    return w.run(s().present, pk, supplier_id=w.org["sup_a"], **body)


def test_advance_flow_pays_the_advance_and_releases_on_acceptance(adv):
    pk = agree(adv)
    a = adv.get(model(), pk)
    assert a.amount == Decimal("165000.00") and a.status == "agreed"
    present(adv, pk)
    adv.run(s().verify, pk, file_sha256=SHA, purchaser_ids=pur(adv))
    adv.run(s().pay, pk, paid_date=TODAY, reference="GKZF-1", purchaser_ids=pur(adv))
    with adv.app.app_context():
        a = db.session.get(model(), pk)
        assert a.status == "paid" and a.payment.amount == Decimal("165000.00")
    # release only after acceptance
    with pytest.raises(ConflictError):
        adv.run(s().release, pk, purchaser_ids=pur(adv))
    with adv.app.app_context():
        from addons.procurement_base.models import Contract

        db.session.get(Contract, adv.ids["contract"]).status = "completed"
        db.session.commit()
    adv.run(s().release, pk, purchaser_ids=pur(adv))
    assert adv.get(model(), pk).status == "released"
    # the bureau sees the advance paid against insurance
    html = web(adv, "auditor").get("/scf/bureau/?start=2000-01-01&end=2100-01-01").get_data(as_text=True)
    assert "预付款保险" in html and "165,000.00" in html


def test_bad_input_refused_with_the_reason_nothing_stored(adv):
    with pytest.raises(RuleError) as exc:
        agree(adv, share="0")
    assert "share_percent" in exc.value.messages
    with pytest.raises(RuleError) as exc:
        agree(adv, share="120")
    with pytest.raises(RuleError) as exc:
        agree(adv, delivery=dt.date(2020, 1, 1))
    assert "delivery_date" in exc.value.messages
    with pytest.raises(ForbiddenError):
        adv.run(s().agree, contract_id=adv.ids["contract"], share_percent="30",
                delivery_date=TODAY, purchaser_ids={adv.org["pur_jl"]})
    assert adv.count(model()) == 0
    pk = agree(adv)
    with pytest.raises(ConflictError):
        agree(adv)
    with pytest.raises(ForbiddenError):
        adv.run(s().present, pk, supplier_id=adv.org["sup_b"], insurer_id=adv.org["bank2"],
                policy_number="X", insured_credit_code=adv.code["pur_cc"], amount="1",
                valid_until=TODAY, file_sha256=SHA)
    # a policy insuring someone else, too small, too short, unknown insurer, wrong file
    present(adv, pk, insured_credit_code=adv.code["pur_jl"], amount="1000.00",
            valid_until=TODAY + dt.timedelta(days=10), insurer_id=adv.org["sup_b"])
    with pytest.raises(RuleError) as exc:
        adv.run(s().verify, pk, file_sha256="0" * 64, purchaser_ids=pur(adv))
    assert {"insurer", "insured_credit_code", "amount", "valid_until", "file"} <= set(exc.value.messages)
    assert adv.get(model(), pk).status == "presented"
    with pytest.raises(ConflictError):  # not verified: no payment
        adv.run(s().pay, pk, paid_date=TODAY, purchaser_ids=pur(adv))


def test_api_with_idempotency_and_visibility(adv):
    h = {**adv.h("pur"), "Idempotency-Key": uuid.uuid4().hex}
    body = {"contract": adv.ids["contract"], "share_percent": "30",
            "delivery_date": (TODAY + dt.timedelta(days=60)).isoformat()}
    first = adv.client.post("/api/v1/scf_advance/agree", json=body, headers=h)
    again = adv.client.post("/api/v1/scf_advance/agree", json=body, headers=h)
    assert first.status_code == 201 and again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    pk = first.json["result"]["id"]
    assert adv.call("GET", f"scf_advance/{pk}", "sup_a").status_code == 200
    assert adv.call("GET", f"scf_advance/{pk}", "sup_b").status_code == 404
    assert adv.call("GET", f"scf_advance/{pk}", "pur_jl").status_code == 404
    res = adv.client.post(f"/api/v1/scf_advance/{pk}/present", headers={
        **adv.h("sup_a"), "Idempotency-Key": uuid.uuid4().hex}, json={
        "insurer": adv.org["bank2"], "policy_number": "P-9", "insured_credit_code": adv.code["pur_cc"],
        "amount": "165000.00", "valid_until": (TODAY + dt.timedelta(days=200)).isoformat(),
        "file_sha256": SHA})
    assert res.status_code == 200, res.json
    # the insurer named sees it; the other bank does not
    assert adv.call("GET", f"scf_advance/{pk}", "bank2").status_code == 200
    assert adv.call("GET", f"scf_advance/{pk}", "bank").status_code == 404
    res = adv.client.post(f"/api/v1/scf_advance/{pk}/verify", headers={
        **adv.h("sup_a"), "Idempotency-Key": uuid.uuid4().hex}, json={"file_sha256": SHA})
    assert res.status_code in (401, 403)
    # the record writes are the declared actions: a key is required, a retry replays
    url = f"/api/v1/scf_advance/{pk}/verify"
    res = adv.client.post(url, headers=adv.h("pur"), json={"file_sha256": SHA})
    assert res.status_code == 400 and res.json["code"] == "idempotency_key_required"
    h = {**adv.h("pur"), "Idempotency-Key": uuid.uuid4().hex}
    first = adv.client.post(url, headers=h, json={"file_sha256": SHA})
    again = adv.client.post(url, headers=h, json={"file_sha256": SHA})
    assert first.status_code == 200 and first.json["result"]["status"] == "verified"
    assert again.get_data() == first.get_data() and again.headers.get("Idempotent-Replayed") == "true"
    spec = adv.call("GET", "_openapi", "admin", expect=200).json
    for name in ("present", "verify", "pay", "release", "claim", "cancel"):
        op = spec["paths"][f"/api/v1/scf_advance/{{pk}}/{name}"]["post"]
        assert any(p["in"] == "header" and p["name"] == "Idempotency-Key" and p["required"]
                   for p in op["parameters"]), name


def test_purchaser_page(adv):
    pur_web = web(adv, "pur")
    html = pur_web.get("/scf/advance/agree/").get_data(as_text=True)
    assert "HT-001" in html and "约定预付款" in html
    plain(html)
    csrf = token(pur_web, "/scf/advance/agree/")
    res = pur_web.post("/scf/advance/agree/", data={"csrf_token": csrf, "contract": adv.ids["contract"],
                                                    "share_percent": "abc", "delivery_date": ""},
                       follow_redirects=True)
    assert "未写入任何数据" in res.get_data(as_text=True)
    res = pur_web.post("/scf/advance/agree/", data={
        "csrf_token": csrf, "contract": adv.ids["contract"], "share_percent": "30",
        "delivery_date": (TODAY + dt.timedelta(days=60)).isoformat()}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "已约定预付款" in html and "取消预付款" in html and 'data-action="present"' not in html
    plain(html)
    assert "待提交预付款保单" in web(adv, "sup_a").get("/").get_data(as_text=True)


def test_demo_advance_under_a_policy(app):
    installed = installer(app).install(["supply_chain_finance"], demo=True)
    assert "scf_advance" in installed
    with app.app_context():
        from sqlalchemy import select

        rows = list(db.session.execute(select(model()).execution_options(erp_unscoped=True)).scalars())
        assert {a.status for a in rows} == {"paid", "released"}
        for a in rows:
            assert a.payment.amount == a.amount and a.payment.contract_id == a.contract_id
            assert a.insured_credit_code == a.purchaser.credit_code and a.policy_amount >= a.amount
            assert a.valid_until >= a.delivery_date
            assert (a.open_contract_id is None) == (a.status == "released")
            assert a.status != "released" or a.contract.status == "completed"
