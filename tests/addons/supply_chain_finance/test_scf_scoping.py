"""Row scoping of every endpoint and page of ``supply_chain_finance``, in the manner of
tests/core/test_scoping.py but limited to this module (so it runs without the other add-ons):
a 长春市 user never sees a 吉林市 record (API by id and list, pages by id and list), a
province user sees both; each supplier sees exactly its own; each institution exactly what is
addressed to it (API and pages), and a purchaser no application at all."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.addons.security import sync_module_roles
from core.db import db
from core.models import Organization
from core.tenancy import Scope
from tests.conftest import cli, installer
from tests.core.test_scoping import list_all, one_record, region_ids, scoped_apis
from tests.core.test_web import jwt, login_form

ROLE = "SCF Scope Tester"
MODULE = "supply_chain_finance"
PAGES = {"ScfApplicationView": "applicationview", "ScfAccountLockView": "accountlockview"}


@pytest.fixture
def world(app):
    inst = installer(app)
    inst.install([MODULE], demo=True)
    assert cli(app, "tenant", "enable", "220000", MODULE).exit_code == 0
    apis = [(m, v) for m, v in scoped_apis(app) if m == MODULE]
    assert {v.resource_name for _, v in apis} == {"scf_application", "scf_account_lock", "scf_entry"}
    grants = tuple(f"* on {view.class_permission_name}" for _, view in apis) + tuple(
        f"* on {p}" for p in PAGES)
    pairs = [p for p in app.extensions["erp"].pairs(MODULE)]
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "tests", {ROLE: grants}, pairs, "test")
    for user, region in (("cc_user", "220100"), ("prov_user", "220000")):
        res = cli(app, "user", "create", "--username", user, "--password", "secret123",
                  "--role", ROLE, "--region", region)
        assert res.exit_code == 0, res.output
    return app, apis


def _org_user(app, client, username: str, code: str, role: str = ROLE) -> dict:
    res = cli(app, "user", "create", "--username", username, "--password", "secret123",
              "--role", role, "--org", code)
    assert res.exit_code == 0, res.output
    return jwt(client, username, "secret123")


def test_region_scoping_of_every_api_and_page(world):
    app, apis = world
    client = app.test_client()
    city = jwt(client, "cc_user", "secret123")
    province = jwt(client, "prov_user", "secret123")
    cc_page, prov_page = app.test_client(), app.test_client()
    login_form(cc_page, "cc_user", "secret123")
    login_form(prov_page, "prov_user", "secret123")
    cc, jl = region_ids(app, "220100"), region_ids(app, "220200")
    for _, view in apis:
        model = view.datamodel.obj
        base = f"/api/v1/{view.resource_name}/"
        jl_id, cc_id = one_record(app, model, jl), one_record(app, model, cc)
        assert client.get(f"{base}{jl_id}", headers=city).status_code == 404, base
        assert client.get(f"{base}{cc_id}", headers=city).status_code == 200, base
        count, ids = list_all(client, base, city)
        assert jl_id not in ids and cc_id in ids and count == len(ids), base
        assert client.get(f"{base}{jl_id}", headers=province).status_code == 200, base
        _, all_ids = list_all(client, base, province)
        assert {jl_id, cc_id} <= all_ids, base
        if view.resource_name == "scf_application":
            assert client.get(f"{base}{jl_id}/contract", headers=city).status_code == 404
            assert client.get(f"{base}{cc_id}/contract", headers=city).status_code == 200
            # a write on another region's record: 404 before anything else
            res = client.post(f"{base}{jl_id}/decision", json={"decision": "reject", "reason": "x"},
                              headers={**city, "Idempotency-Key": "k1"})
            assert res.status_code in (403, 404), res.json
        page = {"Application": "applicationview", "AccountLock": "accountlockview"}.get(model.__name__)
        if page:
            assert cc_page.get(f"/{page}/show/{jl_id}").status_code == 404, page
            assert cc_page.get(f"/{page}/show/{cc_id}").status_code == 200, page
            assert prov_page.get(f"/{page}/show/{jl_id}").status_code == 200, page


def test_suppliers_and_institutions_see_only_their_own(world):
    app, apis = world
    client = app.test_client()
    with app.app_context():
        orgs = db.session.execute(select(Organization.id, Organization.credit_code, Organization.org_type)
                                  .where(Organization.org_type.in_(("supplier", "bank")),
                                         Organization.credit_code.is_not(None))
                                  .order_by(Organization.id)).all()
    checked = {"supplier": 0, "bank": 0}
    for _, view in apis:
        model = view.datamodel.obj
        base = f"/api/v1/{view.resource_name}/"
        for actor in ("supplier", "bank"):
            rule = model.__record_rules__[actor]
            owned = {}
            with app.app_context():
                for org_id, _, kind in orgs:
                    if kind == actor:
                        owned[org_id] = {r for (r,) in db.session.execute(
                            select(model.id).where(rule(model, Scope(actor=actor, org_id=org_id))),
                            execution_options={"erp_unscoped": True})}
            with_records = [(o, c) for o, c, k in orgs if k == actor and owned.get(o)]
            assert len(with_records) >= 2, (view.resource_name, actor)
            for org_id, code in with_records[:2]:
                headers = _org_user(app, client, f"{actor}_{view.resource_name}_{org_id}", code)
                listed = client.get(f"{base}?q=(page_size:100)", headers=headers).json
                assert set(listed["ids"]) == owned[org_id], (view.resource_name, actor, org_id)
                others = set().union(*owned.values()) - owned[org_id]
                for other in sorted(others)[:5]:
                    assert client.get(f"{base}{other}", headers=headers).status_code == 404
                checked[actor] += 1
    assert checked == {"supplier": 6, "bank": 6}


def test_demo_logins_bank_and_purchaser(world):
    app, _ = world
    assert cli(app, "demo", "users").exit_code == 0
    from addons.supply_chain_finance.models import AccountLock, Application

    with app.app_context():
        boc = db.session.execute(select(Organization.id).where(
            Organization.credit_code == "91220000123960101R")).scalar_one()
        mine = {i for (i,) in db.session.execute(select(Application.id).where(Application.bank_id == boc))}
        others = {i for (i,) in db.session.execute(select(Application.id).where(Application.bank_id != boc))}
        locks = db.session.execute(select(AccountLock.id)).scalars().all()
    bank = app.test_client()
    login_form(bank, "bank", "demo12345")
    html = bank.get("/applicationview/list/").get_data(as_text=True)
    assert bank.get("/applicationview/list/").status_code == 200
    for pk in mine:
        assert bank.get(f"/applicationview/show/{pk}").status_code == 200
    for pk in others:
        assert bank.get(f"/applicationview/show/{pk}").status_code == 404
    assert "待审批的融资申请" in bank.get("/", follow_redirects=True).get_data(as_text=True)
    assert "RZ20251120D4E5F6" in html
    pur = app.test_client()
    login_form(pur, "purchaser", "demo12345")
    assert pur.get("/applicationview/list/").status_code in (302, 403, 404)
    listing = pur.get("/accountlockview/list/").get_data(as_text=True)
    assert "CCZC2025-031-HT01" in listing and "JLZC2025-002-HT01" not in listing
    assert len(locks) == 4
