# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""The Chinese pages: the supplier's apply page (institutions in a random order, a refusal is
a message and nothing is written), the institution's application page with the contract data
and only its own decision buttons, the purchaser's confirmation, the bureau's view with its
chart and Excel export, the workbench cards; who sees which page."""

from __future__ import annotations

import re

from tests.addons.procurement_base.pb_world import PASSWORD
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401
from tests.core.test_web import login_form


def web(scf, user: str = "admin"):
    client = scf.app.test_client()
    login_form(client, user, "admin12345" if user == "admin" else PASSWORD)
    return client


def token(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                     page.get_data(as_text=True)).group(1)


def apps(scf):
    from addons.supply_chain_finance.models import Application

    return scf.count(Application)


def plain(html: str) -> None:
    for word in (">None<", ">True<", ">False<"):
        assert word not in html, word


def test_supplier_applies_on_the_page(scf):
    sup = web(scf, "sup_a")
    html = sup.get("/scf/apply/").get_data(as_text=True)
    assert "HT-001" in html and "测试银行吉林省分行" in html and "第二测试银行吉林分行" in html
    plain(html)
    csrf = token(sup, "/scf/apply/")
    res = sup.post("/scf/apply/", data={"csrf_token": csrf, "contract": scf.ids["contract"],
                                        "bank": scf.org["bank"], "amount": "999999999"},
                   follow_redirects=True)
    assert "未写入任何数据" in res.get_data(as_text=True) and "未付余额" in res.get_data(as_text=True)
    assert apps(scf) == 0
    res = sup.post("/scf/apply/", data={"csrf_token": csrf, "contract": scf.ids["contract"],
                                        "bank": scf.org["bank"], "amount": "300000"},
                   follow_redirects=True)
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "已提交给" in html and "合同信息" in html
    assert apps(scf) == 1
    # other users: no apply page
    assert web(scf, "bank").get("/scf/apply/").status_code in (302, 403, 404)
    assert web(scf, "pur").get("/scf/apply/").status_code in (302, 403, 404)


def test_bank_decides_on_the_page_and_the_purchaser_confirms(scf):
    pk = scf.apply("300000.00")
    bank = web(scf, "bank")
    show = f"/applicationview/show/{pk}"
    html = bank.get(show).get_data(as_text=True)
    assert "合同信息" in html and "HT-001" in html and "批准" in html and "拒绝" in html
    assert scf.code["pur_cc"] in html  # purchaser's credit code from the records
    plain(html)
    # the other bank does not even see it; the supplier sees no decision buttons
    assert web(scf, "bank2").get(show).status_code == 404
    sup_html = web(scf, "sup_a").get(show).get_data(as_text=True)
    assert 'data-action="approve"' not in sup_html and 'data-action="withdraw"' in sup_html
    csrf = token(bank, show)
    res = bank.post(f"/applicationview/act/{pk}/approve", data={
        "csrf_token": csrf, "amount": "300000.00", "rate_percent": "99", "term_months": "6",
        "repayment_account": "6216610200012345"}, follow_redirects=True)
    assert "未写入任何数据" in res.get_data(as_text=True)
    res = bank.post(f"/applicationview/act/{pk}/approve", data={
        "csrf_token": csrf, "amount": "300000.00", "rate_percent": "3.45", "term_months": "6",
        "repayment_account": "6216610200012345", "repayment_bank": "测试银行营业部"},
        follow_redirects=True)
    assert "已批准" in res.get_data(as_text=True)
    pur = web(scf, "pur")
    listing = pur.get("/accountlockview/list/").get_data(as_text=True)
    assert "6216610200012345" in listing and "待采购人确认" in listing
    assert pur.get("/applicationview/list/").status_code in (302, 403, 404)
    from addons.supply_chain_finance.models import AccountLock

    with scf.app.app_context():
        from sqlalchemy import select

        from core.db import db

        lock_id = db.session.execute(select(AccountLock.id)).scalar_one()
    lock_show = f"/accountlockview/show/{lock_id}"
    assert 'data-action="confirm"' not in web(scf, "pur2").get(lock_show).get_data(as_text=True)
    csrf = token(pur, lock_show)
    res = pur.post(f"/accountlockview/act/{lock_id}/confirm", data={"csrf_token": csrf},
                   follow_redirects=True)
    assert "已确认" in res.get_data(as_text=True)
    assert scf.get(AccountLock, lock_id).status == "locked"


def test_bureau_view_chart_export_and_workbench(scf):
    scf.approve(scf.apply("300000.00"))
    auditor = web(scf, "auditor")
    html = auditor.get("/scf/bureau/?start=2000-01-01&end=2100-01-01").get_data(as_text=True)
    assert "<svg" in html and "合计" in html and "100.0%" in html
    plain(html)
    res = auditor.get("/scf/bureau/export?start=2000-01-01&end=2100-01-01")
    assert res.status_code == 200 and res.data[:2] == b"PK"
    assert "格式" in auditor.get("/scf/bureau/?start=bad", follow_redirects=True).get_data(as_text=True)
    assert web(scf, "sup_a").get("/scf/bureau/").status_code in (302, 403, 404)
    home = web(scf, "bank2").get("/", follow_redirects=True).get_data(as_text=True)
    assert "待审批的融资申请" in home
