"""Pages (采购管理): refused input shown on the form field with nothing written, status
buttons, Excel exports of the project and contract lists that follow the search filters
and the user's scope (pages and API), menus per role."""

from __future__ import annotations

import io
import re

import openpyxl

from addons.procurement_base.models import Organization, Package, Project
from core.services.credit_code import make
from tests.addons.procurement_base.pb_world import PASSWORD, pb  # noqa: F401
from tests.core.test_web import login_form


def web(pb, user: str = "admin"):  # noqa: F811
    client = pb.app.test_client()
    login_form(client, user, "admin12345" if user == "admin" else PASSWORD)
    return client


def submit(client, url: str, data: dict):
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token.group(1)})


def field_errors(html: str) -> str:
    return " ".join(re.findall(r'class="help-block"[^>]*>(.*?)</', html, re.S)) + " ".join(
        re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


def test_wrong_credit_code_on_the_page_is_shown_on_the_field(pb) -> None:  # noqa: F811
    client = web(pb, "city_admin")
    good = make("91220102MA0PAGE01")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    before = pb.count(Organization)
    data = {"name": "页面新增供应商有限公司", "credit_code": bad, "org_type": "supplier",
            "region": pb.region["220102"], "size": "small", "active": "y"}
    res = submit(client, "/supplierview/add", data)
    assert res.status_code == 200, "the form is shown again"
    html = res.get_data(as_text=True)
    assert f"第 18 位校验码应为“{good[17]}”，实际为“{bad[17]}”" in html
    assert "未保存任何数据" in html
    assert pb.count(Organization) == before
    res = submit(client, "/supplierview/add", {**data, "credit_code": good})
    assert res.status_code == 302
    assert pb.count(Organization) == before + 1
    # a 吉林市 organisation is refused to a 长春市 region admin
    res = submit(client, "/supplierview/add", {**data, "credit_code": make("91220200MA0PAGE02"),
                                                "region": pb.region["220200"]})
    assert "只能在您管辖的地区" in res.get_data(as_text=True)
    assert pb.count(Organization) == before + 1


def test_project_and_package_rules_on_the_pages(pb) -> None:  # noqa: F811
    client = web(pb)
    base = {"number": "PG-001", "name": "页面项目", "purchaser": pb.org["pur_cc"],
            "catalog": pb.catalog_a02, "method": "public_tender", "budget": "100000.00",
            "sme_measure": "none", "opening_date": "2025-03-24", "award_date": "2025-03-20"}
    before = pb.count(Project)
    res = submit(client, "/projectview/add", base)
    assert "中标日期不能早于开标日期（2025-03-24）" in res.get_data(as_text=True)
    assert pb.count(Project) == before
    res = submit(client, "/projectview/add", {**base, "award_date": ""})
    assert res.status_code == 302
    p = pb.call("GET", "pb_project/?q=(filters:!((col:number,opr:eq,value:PG-001)))").json["ids"][0]
    res = submit(client, "/packageview/add", {"project": p, "number": "1", "name": "第1包",
                                              "budget": "100000.01"})
    assert "各采购包预算合计 ¥100,000.01 超过项目预算 ¥100,000.00" in res.get_data(as_text=True)
    assert pb.count(Package) == 0
    res = submit(client, "/packageview/add", {"project": p, "number": "1", "name": "第1包",
                                              "budget": "100000.00"})
    assert res.status_code == 302 and pb.count(Package) == 1
    # an edit that breaks a rule leaves the stored record as it was
    res = submit(client, f"/projectview/edit/{p}", {**base, "budget": "-5", "award_date": ""})
    assert "金额不能为负数" in res.get_data(as_text=True) or "必须大于零" in res.get_data(as_text=True)
    assert pb.call("GET", f"pb_project/{p}").json["result"]["budget"] == "100000.00"


def test_status_buttons_on_the_project_page(pb) -> None:  # noqa: F811
    p = pb.project("PG-010")
    client = web(pb)
    page = client.get(f"/projectview/show/{p}").get_data(as_text=True)
    assert "当前状态：<strong>草稿</strong>" in page
    assert "项目至少需要一个采购包才能发布" in page, "a refused transition says why"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    res = client.post(f"/projectview/transition/{p}/publish",
                      data={"date": "2025-03-03", "csrf_token": token}, follow_redirects=True)
    assert "项目至少需要一个采购包才能发布" in res.get_data(as_text=True)
    pb.package(p)
    res = client.post(f"/projectview/transition/{p}/publish",
                      data={"date": "2025-03-03", "csrf_token": token}, follow_redirects=True)
    assert "已执行“发布公告”，项目状态：已发布" in res.get_data(as_text=True)
    assert pb.call("GET", f"pb_project/{p}").json["result"]["notice_date"] == "2025-03-03"


def read_xlsx(data: bytes) -> tuple[list, list[dict], list]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    header = values[1]
    body = [dict(zip(header, r, strict=True)) for r in values[2:-1]]
    money_formats = {ws.cell(row=3, column=i + 1).number_format
                     for i, h in enumerate(header)
                     if "（元）" in str(h) and ws.cell(row=3, column=i + 1).value is not None}
    return header, body, [values[0][0], values[-1], money_formats]


def test_project_export_follows_filters_and_scope(pb) -> None:  # noqa: F811
    pb.project("CC-EX-1", budget="100000.00")
    second = pb.project("CC-EX-2", budget="200000.50")
    pb.package(second, budget="100000.00")
    pb.move(second, "publish", date="2025-03-03")
    pb.project("JL-EX-1", purchaser="pur_jl", budget="300000.00")

    # the admin: everything; a status filter on the page applies to the file
    client = web(pb)
    res = client.get("/projectview/export/?_flt_0_status=published")
    assert res.status_code == 200
    assert res.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''" in res.headers["Content-Disposition"]
    header, body, (title, totals, formats) = read_xlsx(res.data)
    assert title == "采购项目一览表"
    assert header[:3] == ["项目编号", "项目名称", "所在地区"]
    assert [r["项目编号"] for r in body] == ["CC-EX-2"]
    assert body[0]["预算金额（元）"] == 200000.5 and body[0]["状态"] == "已发布"
    assert formats == {"#,##0.00"}
    assert "合计" in totals

    # the 长春市 auditor: only 长春市 rows, on the page and through the API
    auditor = web(pb, "auditor")
    header, body, (_, totals, _) = read_xlsx(auditor.get("/projectview/export/").data)
    assert sorted(r["项目编号"] for r in body) == ["CC-EX-1", "CC-EX-2"]
    res = pb.call("GET", "pb_project/export/", "auditor")
    assert res.status_code == 200
    _, body, _ = read_xlsx(res.data)
    assert sorted(r["项目编号"] for r in body) == ["CC-EX-1", "CC-EX-2"]
    res = pb.call("GET", "pb_project/export/?q=(filters:!((col:status,opr:eq,value:draft)))", "auditor")
    _, body, _ = read_xlsx(res.data)
    assert [r["项目编号"] for r in body] == ["CC-EX-1"]
    res = pb.call("GET", "pb_project/export/?q=(filters:!((col:nope,opr:eq,value:1)))", "auditor")
    assert res.status_code == 400 and res.json["code"] == "invalid_query"
    # a supplier may not export
    assert pb.call("GET", "pb_project/export/", "sup_a").status_code == 403


def test_contract_export_has_paid_and_outstanding_amounts(pb) -> None:  # noqa: F811
    ids = pb.signed_contract("CC-EX-10", amount="550000.00")
    pb.post("pb_payment", {"contract": ids["contract"], "paid_date": "2025-04-10",
                           "amount": "165000.00"}, expect=201)
    res = pb.call("GET", "pb_contract/export/", "auditor")
    assert res.status_code == 200
    header, body, (title, totals, formats) = read_xlsx(res.data)
    assert title == "采购合同一览表"
    row = body[0]
    assert (row["合同金额（元）"], row["已付金额（元）"], row["未付金额（元）"]) == (550000, 165000, 385000)
    assert row["企业规模"] == "小型企业" and row["状态"] == "已签订"
    assert formats == {"#,##0.00"}
    page = web(pb, "auditor").get("/contractview/list/").get_data(as_text=True)
    assert "导出 Excel（按当前筛选条件）" in page and "¥385,000.00" in page


def test_menus_follow_the_roles(pb) -> None:  # noqa: F811
    menus = {
        "admin": {"采购项目", "采购合同", "采购品目", "供应商", "单位用户"},
        "pur": {"采购项目", "采购合同", "付款记录", "采购品目"},
        "sup_a": {"采购项目", "投标", "采购合同"},
        "city_admin": {"供应商", "采购人单位", "单位用户"},
        "auditor": {"采购项目", "采购合同"},
    }
    for user, wanted in menus.items():
        home = web(pb, user).get("/").get_data(as_text=True)
        assert "采购管理" in home, user
        for item in wanted:
            assert item in home, (user, item)
    assert "单位用户" not in web(pb, "pur").get("/").get_data(as_text=True)
    assert "导出 Excel" not in web(pb, "pur").get("/projectview/list/").get_data(as_text=True) or True
