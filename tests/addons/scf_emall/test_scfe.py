# ruff: noqa: F811  (pytest fixtures imported from scfe_world)
"""Flow credit (流水信用贷): the profile's figures on a constructed order history, consent and
revocation (the institution then gets 403 and nothing new), who sees what (another institution
nothing), and bad input answered 4xx with the reason and nothing stored."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import db
from tests.addons.scf_emall.scfe_world import TODAY, pb, scf, scfe  # noqa: F401
from tests.addons.supply_chain_finance.test_scf_pages import plain, token, web

API = "scf_emall_consent"


def write(w, path: str, user: str, body: dict | None = None, expect: int | None = None):
    headers = {**w.h(user), "Idempotency-Key": uuid.uuid4().hex}
    res = w.client.post(f"/api/v1/{API}/{path}", json=body or {}, headers=headers)
    if expect is not None:
        assert res.status_code == expect, (path, res.status_code, res.get_data(as_text=True))
    return res


def count(w) -> int:
    from addons.scf_emall.models import Consent

    with w.app.app_context():
        return db.session.execute(select(func.count()).select_from(Consent)
                                  .execution_options(erp_unscoped=True)).scalar_one()


def grant(w, bank: str = "bank") -> int:
    return write(w, "grant", "sup_a", {"bank": w.org[bank]}, expect=201).json["result"]["id"]


def test_profile_figures(scfe):
    from addons.scf_emall import services

    with scfe.app.app_context():
        p = services.profile(db.session, scfe.org["sup_a"], on=TODAY)
    a, b = p["windows"][12], p["windows"][24]
    assert a["settled_amount"] == Decimal("60000.00") and a["settled_count"] == 3
    assert a["monthly_average"] == Decimal("5000.00")
    assert (a["order_count"], a["purchaser_count"]) == (4, 2)  # the cancelled one not counted
    assert (a["on_time_count"], a["delivered_count"], a["on_time_rate"]) == (2, 3, Decimal("66.7"))
    assert (a["acceptance_passed"], a["acceptance_count"]) == (2, 3)
    assert a["dispute_count"] == 2 and a["avg_days_to_payment"] == Decimal("7.0")
    assert a["active_months"] == 4
    assert (a["rating_count"], a["rating_delivery"], a["rating_quality"], a["rating_service"]) == (
        2, Decimal("4.0"), Decimal("4.0"), Decimal("4.5"))
    assert b["settled_amount"] == Decimal("100000.00") and b["settled_count"] == 4
    assert b["monthly_average"] == Decimal("4166.66")
    assert (b["order_count"], b["purchaser_count"], b["on_time_rate"]) == (5, 3, Decimal("75.0"))
    assert b["acceptance_rate"] == Decimal("75.0") and b["avg_days_to_payment"] == Decimal("8.0")
    assert b["active_months"] == 5
    assert len(p["monthly"]) == 24 and p["monthly"][-1]["month"] == TODAY.strftime("%Y-%m")
    assert sum(m["settled_amount"] for m in p["monthly"]) == Decimal("100000.00")
    assert all(isinstance(m["settled_amount"], Decimal) for m in p["monthly"])
    # 5000.00 × 3 months × 66.7 % = 10005, under the cap
    assert p["line"]["amount"] == Decimal("10005.00") and not p["line"]["capped"]


def test_indicative_line_cap_and_minimum(scfe):
    from addons.scf_emall import services
    from core.tenancy import SYSTEM, use_scope

    with scfe.app.app_context(), use_scope(SYSTEM):
        fig = {"monthly_average": Decimal("5000.00"), "on_time_rate": None, "active_months": 2}
        line = services.indicative_line(db.session, fig, None)
        assert line["amount"] is None and "不足 3 个月" in line["reason"]
        fig = {"monthly_average": Decimal("900000.00"), "on_time_rate": Decimal("100.0"),
               "active_months": 12}
        line = services.indicative_line(db.session, fig, None)
        assert line["amount"] == Decimal("1000000.00") and line["capped"]


def test_consent_profile_and_revocation(scfe):
    listed = scfe.call("GET", f"{API}/institutions", "sup_a", expect=200).json["result"]
    assert {r["bank"] for r in listed} == {scfe.org["bank"], scfe.org["bank2"]}
    scfe.call("GET", f"{API}/institutions", "bank", expect=403)
    cid = grant(scfe)
    # listed for the supplier and the institution, not for the other institution
    assert cid in scfe.call("GET", f"{API}/", "sup_a", expect=200).json["ids"]
    assert cid in scfe.call("GET", f"{API}/", "bank", expect=200).json["ids"]
    assert cid not in scfe.call("GET", f"{API}/", "bank2", expect=200).json["ids"]
    res = scfe.call("GET", f"{API}/{cid}/profile", "bank", expect=200)
    assert res.json["result"]["windows"]["12"]["settled_amount"] == "60000.00"
    assert res.json["result"]["line"]["amount"] == "10005.00"
    # another institution and another supplier: not found
    scfe.call("GET", f"{API}/{cid}/profile", "bank2", expect=404)
    scfe.call("GET", f"{API}/{cid}", "bank2", expect=404)
    scfe.call("GET", f"{API}/{cid}", "sup_b", expect=404)
    write(scfe, f"{cid}/revoke", "sup_b", expect=404)
    write(scfe, f"{cid}/line", "bank2", {"amount": "1000", "valid_until": "2099-01-01"}, expect=404)
    # a second consent to the same institution: 409
    write(scfe, "grant", "sup_a", {"bank": scfe.org["bank"]}, expect=409)
    # the institution records its line
    until = (TODAY + dt.timedelta(days=365)).isoformat()
    res = write(scfe, f"{cid}/line", "bank", {"amount": "50000", "valid_until": until,
                                              "note": "纯信用"}, expect=200)
    assert res.json["result"]["line_amount"] == "50000.00"
    # revoked: the institution sees nothing new, records no line
    res = write(scfe, f"{cid}/revoke", "sup_a", expect=200)
    assert res.json["result"]["status"] == "revoked"
    res = scfe.call("GET", f"{API}/{cid}/profile", "bank", expect=403)
    assert "撤回" in res.json["message"]
    write(scfe, f"{cid}/line", "bank", {"amount": "60000", "valid_until": until}, expect=403)
    write(scfe, f"{cid}/revoke", "sup_a", expect=409)
    # pages: the revoked consent's profile redirects, with the reason
    page = web(scfe, "bank").get(f"/scf/emall/bank/{cid}/", follow_redirects=True)
    assert page.status_code == 200 and "撤回" in page.get_data(as_text=True)
    # granted again afterwards: a new consent
    assert grant(scfe) != cid


@pytest.mark.parametrize("bank, field", [(None, "bank"), ("x", "bank"), (987654, "bank"),
                                          ("inactive", "bank")])
def test_consent_refused(scfe, bank, field):
    from addons.supply_chain_finance.models import Institution

    if bank == "inactive":
        with scfe.app.app_context():
            inst = db.session.get(Institution, scfe.inst["bank2"])
            inst.active = False
            db.session.commit()
        bank = scfe.org["bank2"]
    before = count(scfe)
    res = write(scfe, "grant", "sup_a", {"bank": bank}, expect=422)
    assert field in res.json["message"], res.json
    assert count(scfe) == before
    if bank == scfe.org.get("bank2"):
        with scfe.app.app_context():
            db.session.get(Institution, scfe.inst["bank2"]).active = True
            db.session.commit()


def test_bank_cannot_grant_and_bad_line(scfe):
    write(scfe, "grant", "bank", {"bank": scfe.org["bank"]}, expect=403)
    cid = grant(scfe)
    until = (TODAY + dt.timedelta(days=30)).isoformat()
    for body, field in (({"amount": "-5", "valid_until": until}, "amount"),
                        ({"amount": "0", "valid_until": until}, "amount"),
                        ({"amount": "abc", "valid_until": until}, "amount"),
                        ({"amount": "100", "valid_until": "2001-01-01"}, "valid_until"),
                        ({"amount": "100", "valid_until": "明天"}, "valid_until")):
        res = write(scfe, f"{cid}/line", "bank", body, expect=422)
        assert field in res.json["message"], res.json
    from addons.scf_emall.models import Consent

    with scfe.app.app_context():
        assert db.session.get(Consent, cid).line_amount is None
    # the supplier may not record a line, nor read the profile
    write(scfe, f"{cid}/line", "sup_a", {"amount": "100", "valid_until": until}, expect=403)
    scfe.call("GET", f"{API}/{cid}/profile", "sup_a", expect=403)


def test_workbench_card_and_pages(scfe):
    from addons.scf_emall.models import Consent

    with scfe.app.app_context():
        db.session.query(Consent).delete()
        db.session.commit()
    cid = grant(scfe)
    sup = web(scfe, "sup_a")
    page = sup.get("/scf/emall/consent/").get_data(as_text=True)
    assert "流水信用授权" in page and "撤回授权" in page and "第二测试银行吉林分行" in page
    plain(page)
    # a refused grant on the page: the reason, nothing written
    before = count(scfe)
    res = sup.post("/scf/emall/consent/", data={"csrf_token": token(sup, "/scf/emall/consent/"),
                                                "bank": "987654"}, follow_redirects=True)
    assert "未写入任何数据" in res.get_data(as_text=True) and count(scfe) == before
    assert web(scfe, "bank").get("/scf/emall/consent/").status_code in (302, 403, 404)
    bank = web(scfe, "bank")
    home = bank.get("/").get_data(as_text=True)
    assert "新的流水信用授权" in home
    listing = bank.get("/scf/emall/bank/").get_data(as_text=True)
    assert "待核定额度" in listing and f"/scf/emall/bank/{cid}/" in listing
    plain(listing)
    profile = bank.get(f"/scf/emall/bank/{cid}/").get_data(as_text=True)
    assert "近12个月" in profile and "60,000.00" in profile and "<svg" in profile
    plain(profile)
    csrf = token(bank, f"/scf/emall/bank/{cid}/")
    res = bank.post(f"/scf/emall/bank/{cid}/line", data={"csrf_token": csrf, "amount": "-1",
                                                         "valid_until": "2099-01-01"},
                    follow_redirects=True)
    assert "未写入任何数据" in res.get_data(as_text=True)
    with scfe.app.app_context():
        assert db.session.get(Consent, cid).line_amount is None
    res = bank.post(f"/scf/emall/bank/{cid}/line", data={"csrf_token": csrf, "amount": "30000",
                                                         "valid_until": "2099-01-01"},
                    follow_redirects=True)
    assert "已记录授信额度" in res.get_data(as_text=True)
    assert web(scfe, "bank2").get(f"/scf/emall/bank/{cid}/").status_code == 404
    # the supplier revokes on its page: the bank's profile is gone, the card empty
    res = sup.post(f"/scf/emall/consent/{cid}/revoke",
                   data={"csrf_token": token(sup, "/scf/emall/consent/")}, follow_redirects=True)
    assert "已撤回对" in res.get_data(as_text=True)
    assert bank.get(f"/scf/emall/bank/{cid}/").status_code == 302
    assert "交易流水画像" not in bank.get("/scf/emall/bank/").get_data(as_text=True)


def test_openapi_documents_the_endpoints(scfe):
    spec = scfe.call("GET", "_openapi", "admin", expect=200).json
    base = f"/api/v1/{API}"
    paths = {p for p in spec["paths"] if p.startswith(base)}
    assert {f"{base}/grant", f"{base}/institutions", f"{base}/{{pk}}/revoke",
            f"{base}/{{pk}}/line", f"{base}/{{pk}}/profile"} <= paths, paths
    assert "403" in spec["paths"][f"{base}/{{pk}}/profile"]["get"]["responses"]
    assert "422" in spec["paths"][f"{base}/{{pk}}/line"]["post"]["responses"]


def test_bureau_section(scfe):
    from addons.scf_emall import services
    from core.tenancy import SYSTEM, use_scope

    cid = grant(scfe)
    write(scfe, f"{cid}/line", "bank", {"amount": "12345.60",
                                        "valid_until": (TODAY + dt.timedelta(days=9)).isoformat()},
          expect=200)
    grant(scfe, "bank2")
    with scfe.app.app_context(), use_scope(SYSTEM):
        sec = services.consent_section(db.session, TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1))
    (row,) = sec.rows.values()
    assert row == {"consents": 2, "revoked": 0, "lines": 1, "line_amount": Decimal("12345.60")}
    bureau = web(scfe, "auditor").get(f"/scf/bureau/?start={TODAY.year}-01-01&end={TODAY.year}-12-31")
    html = bureau.get_data(as_text=True)
    assert bureau.status_code == 200 and "流水信用贷" in html
    plain(html)


def test_institution_parameters(scfe):
    cid = grant(scfe)
    cid2 = grant(scfe, "bank2")
    res = scfe.call("GET", f"{API}/line_params", "bank", expect=200).json["result"]
    assert res["own"] == {"line_months": None, "line_cap": None, "min_active_months": None}
    assert res["effective"] == {"line_months": 3, "line_cap": "1000000", "min_active_months": 3}
    # refused, nothing stored
    res = write(scfe, "line_params", "bank", {"line_months": 0, "line_cap": "-1",
                                               "min_active_months": "x"}, expect=422)
    assert {"line_months", "line_cap", "min_active_months"} <= set(res.json["message"])
    write(scfe, "line_params", "sup_a", {"line_months": 6}, expect=403)
    assert scfe.call("GET", f"{API}/line_params", "bank", expect=200).json["result"]["own"][
        "line_months"] is None
    # the bank's own: 6 months, capped at 8,000; the other bank keeps the platform's
    res = write(scfe, "line_params", "bank", {"line_months": 6, "line_cap": "8000"}, expect=200)
    assert res.json["result"]["effective"] == {"line_months": 6, "line_cap": "8000.00",
                                               "min_active_months": 3}
    line = scfe.call("GET", f"{API}/{cid}/profile", "bank", expect=200).json["result"]["line"]
    assert line["amount"] == "8000.00" and line["capped"] and line["line_months"] == 6
    line = scfe.call("GET", f"{API}/{cid2}/profile", "bank2", expect=200).json["result"]["line"]
    assert line["amount"] == "10005.00" and line["line_months"] == 3
    # on the page
    bank = web(scfe, "bank")
    html = bank.get("/scf/emall/bank/").get_data(as_text=True)
    assert "参考额度参数" in html and 'value="6"' in html
    plain(html)
    res = bank.post("/scf/emall/bank/params", data={"csrf_token": token(bank, "/scf/emall/bank/"),
                                                    "line_months": "99"}, follow_redirects=True)
    assert "未写入任何数据" in res.get_data(as_text=True)
    res = bank.post("/scf/emall/bank/params", data={"csrf_token": token(bank, "/scf/emall/bank/"),
                                                    "line_months": "", "line_cap": ""},
                    follow_redirects=True)
    assert "已保存" in res.get_data(as_text=True)
    line = scfe.call("GET", f"{API}/{cid}/profile", "bank", expect=200).json["result"]["line"]
    assert line["amount"] == "10005.00"
