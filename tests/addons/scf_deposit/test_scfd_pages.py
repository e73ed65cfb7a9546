# ruff: noqa: F811  (pytest fixtures imported from scfd_world)
"""The Chinese pages: the supplier's request page (institutions in a random order, a refusal
is a message and nothing is written), the guarantee page with only the buttons its viewer may
use (issue for the issuer, verify for the beneficiary), a refused verification on the page,
the workbench cards."""

from __future__ import annotations

from tests.addons.scf_deposit.scfd_world import SHA, pb, scf, scfd  # noqa: F401
from tests.addons.supply_chain_finance.test_scf_pages import plain, token, web


def guarantees(w) -> int:
    from addons.scf_deposit.models import Guarantee

    return w.count(Guarantee)


def test_supplier_requests_on_the_page(scfd):
    sup = web(scfd, "sup_c")
    html = sup.get("/scf/guarantee/request/").get_data(as_text=True)
    assert "CC-2026-010" in html and "测试银行吉林省分行" in html and "第二测试银行吉林分行" in html
    assert "密文保函" in html
    plain(html)
    csrf = token(sup, "/scf/guarantee/request/")
    form = {"csrf_token": csrf, "kind": "bid", "target": scfd.open["package"],
            "issuer": scfd.org["bank"]}
    res = sup.post("/scf/guarantee/request/", data={**form, "amount": "50000"}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "未写入任何数据" in html and "上限" in html
    assert guarantees(scfd) == 0
    res = sup.post("/scf/guarantee/request/", data={**form, "amount": "12000", "ciphered": "on"},
                   follow_redirects=True)
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "已提交给" in html and "密文保函" in html
    assert "撤回申请" in html and "出具保函" not in html
    assert guarantees(scfd) == 1
    # no request page for the bank or the purchaser
    assert web(scfd, "bank").get("/scf/guarantee/request/").status_code in (302, 403, 404)
    assert web(scfd, "pur").get("/scf/guarantee/request/").status_code in (302, 403, 404)


def test_issuer_and_beneficiary_see_only_their_buttons(scfd):
    gid = scfd.request()
    bank = web(scfd, "bank")
    html = bank.get(f"/guaranteeview/show/{gid}").get_data(as_text=True)
    assert "出具保函" in html and "不予出函" in html and "验真并入账" not in html
    assert "待出函" in html
    plain(html)
    assert web(scfd, "bank2").get(f"/guaranteeview/show/{gid}").status_code == 404
    wb = bank.get("/").get_data(as_text=True)
    assert "待出具的电子保函" in wb
    scfd.issue(gid)
    agency = web(scfd, "agency")
    html = agency.get(f"/guaranteeview/show/{gid}").get_data(as_text=True)
    assert "验真并入账" in html and "出具保函" not in html and "scfd-file" in html
    plain(html)
    assert "待验真的电子保函" in agency.get("/").get_data(as_text=True)
    csrf = token(agency, f"/guaranteeview/show/{gid}")
    res = agency.post(f"/guaranteeview/act/{gid}/verify", data={
        "csrf_token": csrf, "verify_code": "YZM-123456", "file_sha256": "a" * 64,
        "required_amount": "12000.00"}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "SHA-256" in html and "不一致" in html
    res = agency.post(f"/guaranteeview/act/{gid}/verify", data={
        "csrf_token": csrf, "verify_code": "YZM-123456", "file_sha256": SHA,
        "required_amount": "12000.00"}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "验真通过" in html and "已验真入账" in html
    assert "索赔" in html and "解除保函" in html
    # the list pages speak Chinese
    html = web(scfd, "auditor").get("/guaranteeview/list/").get_data(as_text=True)
    assert "投标保函" in html and "已验真入账" in html
    plain(html)


def test_bureau_view_shows_guarantees_in_place_of_cash(scfd):
    gid = scfd.request()
    scfd.issue(gid)
    scfd.verify(gid)
    auditor = web(scfd, "auditor")
    html = auditor.get("/scf/bureau/?start=2000-01-01&end=2100-01-01").get_data(as_text=True)
    assert "电子保函替代保证金" in html and "释放现金" in html and "12,000.00" in html
    plain(html)
    res = auditor.get("/scf/bureau/export?start=2000-01-01&end=2100-01-01")
    assert res.status_code == 200
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(res.data))
    assert wb.sheetnames[0] == "政采贷统计" and "电子保函替代保证金" in wb.sheetnames
    cells = [c.value for row in wb["电子保函替代保证金"].iter_rows() for c in row]
    assert "释放现金（免缴保证金）" in cells and 12000 in cells
