# ruff: noqa: F811  (pytest fixtures imported from dl_world)
"""The Chinese pages: every page answers for the roles that have it (and not for those that
do not), the deposit page's actions write through the services (a refusal is a message,
nothing written), the cleanup's bulk action, the report's chart and Excel download, the
reconciliation upload, the dashboard."""

from __future__ import annotations

import io
import re

from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401
from tests.addons.procurement_base.pb_world import PASSWORD
from tests.core.test_web import login_form

PAGES = ["/depositview/list/", "/deposit/due/", "/deposit/cleanup/", "/deposit/report/",
         "/deposit/reconcile/", "/projectreasonview/list/", "/lprrateview/list/"]


def web(dl, user: str = "admin"):
    client = dl.app.test_client()
    login_form(client, user, "admin12345" if user == "admin" else PASSWORD)
    return client


def token(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                     page.get_data(as_text=True)).group(1)


def test_every_page_answers_for_its_roles(dl):
    dep = dl.deposit().json["id"]
    dl.act(dep, "trigger", trigger="award_notice", date="2025-03-21",
           override_reason="假设的中标通知书日期（计算应退还日期）")
    admin = web(dl)
    for url in [*PAGES, "/deposit/dashboard/", f"/depositview/show/{dep}",
                "/deposit/cleanup/announcement"]:
        res = admin.get(url)
        assert res.status_code == 200, url
    html = admin.get("/deposit/due/").get_data(as_text=True)
    assert "已逾期" in html and "BZJ-001" in html
    agency = web(dl, "agency")
    for url in PAGES:
        assert agency.get(url).status_code == 200, url
    assert agency.get("/deposit/dashboard/").status_code in (302, 403, 404)
    auditor = web(dl, "auditor")
    assert auditor.get("/deposit/dashboard/").status_code == 200
    assert "<svg" in auditor.get("/deposit/dashboard/").get_data(as_text=True)
    supplier = web(dl, "sup_a")
    assert supplier.get("/depositview/list/").status_code == 200
    assert "BZJ-001" not in supplier.get("/depositview/list/").get_data(as_text=True)
    for url in ("/deposit/cleanup/", "/deposit/reconcile/", "/deposit/report/"):
        assert supplier.get(url).status_code in (302, 403, 404), url


def test_deposit_page_actions(dl):
    dep = dl.deposit().json["id"]
    client = web(dl, "agency")
    show = f"/depositview/show/{dep}"
    html = client.get(show).get_data(as_text=True)
    assert "在管余额" in html and "退还" in html and "台账分录" in html
    t = token(client, show)
    res = client.post(f"/depositview/act/{dep}/refund", data={"csrf_token": t, "date": "2025-03-25"},
                      follow_redirects=True)
    assert "银行交易流水号" in res.get_data(as_text=True)  # refused: the reference is required
    assert dl.call("GET", f"dl_deposit/{dep}/entries", "agency").json["deposit"]["status"] == "held"
    res = client.post(f"/depositview/act/{dep}/refund",
                      data={"csrf_token": t, "date": "2025-03-25", "bank_reference": "WEB-1"},
                      follow_redirects=True)
    assert "已退还" in res.get_data(as_text=True)
    res = client.post(f"/depositview/act/{dep}/reverse",
                      data={"csrf_token": t, "date": "2025-03-26", "reason": "退票"},
                      follow_redirects=True)
    assert dl.call("GET", f"dl_deposit/{dep}/entries", "agency").json["deposit"]["status"] == "held"
    assert client.post(f"/depositview/act/{dep}/explode", data={"csrf_token": t}).status_code == 404


def test_add_deposit_page_refuses_over_the_cap_on_the_field(dl):
    client = web(dl, "agency")
    url = "/depositview/add"
    t = token(client, url)
    data = {"csrf_token": t, "number": "WEB-BZJ", "kind": "bid", "project": dl.ids["project"],
            "package": dl.ids["package"], "bid": dl.ids["lost"], "supplier": dl.org["sup_c"],
            "holder": dl.org["agency_cc"], "form": "transfer", "amount": "99999.00",
            "received_date": "2025-03-20", "guarantee_type": "", "trigger": ""}
    res = client.post(url, data=data, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "不得超过" in html and "2％" in html
    res = client.post(url, data={**data, "amount": "5000.00"}, follow_redirects=True)
    assert res.status_code == 200
    listed = dl.call("GET", "dl_deposit/", "agency").json
    assert any(r["number"] == "WEB-BZJ" for r in listed["result"])


def test_report_chart_excel_and_reconcile_upload(dl):
    client = web(dl, "agency")
    html = client.get("/deposit/report/?cutoff=2030-01-01").get_data(as_text=True)
    assert "按地区" in html
    res = client.get("/deposit/report/export?cutoff=2030-01-01")
    assert res.status_code == 200 and res.data[:2] == b"PK"
    t = token(client, "/deposit/reconcile/")
    data = "日期,金额,对方户名,流水号,收支方向\n2025-03-20,10000.00,x,IN-1,收入\n".encode()
    res = client.post("/deposit/reconcile/import", data={"csrf_token": t,
                                                         "file": (io.BytesIO(data), "s.csv")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "已导入 1 行" in res.get_data(as_text=True)
    bad = "日期,金额\n".encode()
    res = client.post("/deposit/reconcile/import", data={"csrf_token": t,
                                                         "file": (io.BytesIO(bad), "s.csv")},
                      content_type="multipart/form-data", follow_redirects=True)
    assert "导入失败" in res.get_data(as_text=True)


def test_a_supplier_sees_its_own_deposits_due_highlighted(dl):
    """Issue 13: 到期提醒 for a supplier lists only its own held deposits, overdue in red; its
    workbench counts them."""
    own = dl.deposit("BZJ-A", supplier="sup_a").json["id"]
    other = dl.deposit("BZJ-C", supplier="sup_c").json["id"]
    for dep, n in ((own, "假设的中标通知书日期（测试）"), (other, "假设的中标通知书日期（测试）")):
        dl.act(dep, "trigger", trigger="award_notice", date="2025-03-21", override_reason=n)
    supplier = web(dl, "sup_a")
    html = supplier.get("/deposit/due/").get_data(as_text=True)
    overdue = html.split('id="due-overdue"')[1].split("<h3")[0]
    assert "BZJ-A" in overdue and 'class="danger due-row"' in overdue
    assert "BZJ-C" not in html, "another supplier's deposit"
    home = supplier.get("/").get_data(as_text=True)
    assert "保证金逾期未退" in home
