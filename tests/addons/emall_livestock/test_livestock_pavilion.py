# ruff: noqa: F811 - the ``xm`` fixture is imported, then requested by name
"""The pavilion's landing page and search: public (anonymous), in Chinese, and only the
pavilion's listings — never a general-mall product, even one matching the keyword."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from core.db import db
from core.models import Region
from tests.addons.emall_livestock.xm_world import xm  # noqa: F401
from tests.conftest import query

DEPARTMENTS = ["兽用生物制品（疫苗）", "兽药", "饲料及饲料添加剂", "种畜禽", "消毒剂及防疫用品",
               "兽医诊断检测试剂", "兽医检测仪器", "畜牧机械", "冷链设备"]


def _general_listing(xm, name: str) -> int:
    """A listed general-mall product of an admitted supplier (not in the pavilion)."""
    from addons.emall.models import EmallCategory, EmallListing

    sup = xm.xmlid("emall_livestock.sup_cc_huamu")
    with xm.app.app_context():
        cat = db.session.scalar(select(EmallCategory).where(EmallCategory.code == "A02010105"))
        province = db.session.scalar(select(Region).where(Region.code == "220000"))
        x = EmallListing(supplier_id=sup, category_id=cat.id, pavilion=None, name=name,
                         brand="联想", model="M-1", brand_key="联想", model_key="m-1",
                         unit="台", price=Decimal("4000.00"), reference_price=Decimal("4200.00"),
                         stock=5, status="listed", search_text=f"{name}|联想|m-1|台式计算机")
        x.regions = [province]
        db.session.add(x)
        db.session.commit()
        return x.id


def test_landing_page_is_public_and_chinese(xm):
    client = xm.browser()  # anonymous
    res = client.get("/livestock/")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert "畜牧行业馆" in html and "最新上架" in html and "冷链配送" in html
    for name in DEPARTMENTS:
        assert name in html, name
    # department counts are the pavilion's listed products
    assert 'id="xm-departments"' in html
    assert 'id="xm-steering"' not in html  # nobody to steer
    # framework_agreement_livestock is not installed here: no link to its page
    assert 'id="xm-link-framework"' not in html and "/livestock/framework/" not in html


def test_search_shows_only_pavilion_listings(xm):
    general = _general_listing(xm, "疫苗接种登记用台式计算机")
    client = xm.browser()
    res = client.get("/livestock/search?q=疫苗")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert "疫苗接种登记用台式计算机" not in html
    assert f'data-listing="{general}"' not in html
    assert "口蹄疫" in html or "禽流感" in html
    # the public API: the same search, JSON
    body = xm.api("GET", "emall_livestock/search?q=疫苗&page_size=100", user=None).json
    assert body["count"] > 0 and body["result"]
    assert all(r["pavilion"] == "livestock" for r in body["result"])
    assert general not in {r["id"] for r in body["result"]}
    # ... while emall's general catalog does find it
    body = xm.api("GET", "emall_catalog/?q=疫苗接种登记", user=None).json
    assert [r["id"] for r in body["result"]] == [general]


def test_search_filters_category_price_region_and_cold_chain(xm):
    api = lambda qs: xm.api("GET", f"emall_livestock/search?{qs}&page_size=100", user=None)  # noqa: E731
    vaccines = api("category=A070505").json
    assert vaccines["count"] > 0
    assert all(r["category"]["code"].startswith("A070505") and r["cold_chain"]
               for r in vaccines["result"])
    fmd = api("category=A070505-01").json
    assert 0 < fmd["count"] < vaccines["count"]
    cheap = api("price_max=100.00").json
    assert cheap["count"] > 0 and all(Decimal(r["price"]) <= 100 for r in cheap["result"])
    band = api("price_min=100&price_max=500&sort=price_asc").json
    prices = [Decimal(r["price"]) for r in band["result"]]
    assert prices == sorted(prices) and all(100 <= p <= 500 for p in prices)
    # delivery region: a 吉林市 search finds no cold-chain product whose cold chain only
    # reaches 长春市
    jl = api("region=220200&cold_chain=1").json
    cc_only = set(r[0] for r in query(
        xm.app, "SELECT l.id FROM emall_listing l WHERE l.cold_chain = :t AND l.pavilion = 'livestock' "
                "AND NOT EXISTS (SELECT 1 FROM emall_listing_region lr JOIN erp_region g ON g.id = lr.region_id "
                "WHERE lr.listing_id = l.id AND g.code IN ('220200', '220000'))", t=True))
    assert cc_only and jl["count"] > 0
    assert not cc_only & {r["id"] for r in jl["result"]}
    # a general-mall category code is not the pavilion's: nothing, not the general mall
    assert api("category=A02010105").json["count"] == 0
    # the category tree with templates and the (inherited) cold-chain flag
    tree = xm.api("GET", "emall_livestock/categories", user=None).json["result"]
    assert [n["name"] for n in tree] == DEPARTMENTS
    bio = tree[0]
    assert bio["code"] == "A070505" and bio["catalog_code"] == "A070505"
    assert all(c["requires_cold_chain"] for c in bio["children"])
    assert {"species", "antigen", "doses_per_vial", "storage_temp"} <= {
        a["key"] for a in bio["children"][0]["attributes"]}


def test_bad_search_input_is_refused_in_chinese(xm):
    res = xm.api("GET", "emall_livestock/search?price_min=abc&sort=cheap&page=-1", user=None)
    assert res.status_code == 422
    msg = res.json["message"]
    assert "最低价" in msg["price_min"][0] and "排序" in msg["sort"][0] and "页码" in msg["page"][0]
    res = xm.api("GET", "emall_livestock/search?price_min=500&price_max=100", user=None)
    assert res.status_code == 422 and res.json["message"]["price_max"] == ["最高价不能低于最低价"]
    page = xm.browser().get("/livestock/search?price_min=abc")
    assert page.status_code == 400
    assert "最低价须为金额" in page.get_data(as_text=True)


def test_pagination(xm):
    client = xm.browser()
    first = client.get("/livestock/search?page_size=10").get_data(as_text=True)
    second = client.get("/livestock/search?page_size=10&page=2").get_data(as_text=True)
    assert 'id="xm-pages"' in first and "第 2 /" in second
    api1 = xm.api("GET", "emall_livestock/search?page_size=10&page=0", user=None).json
    api2 = xm.api("GET", "emall_livestock/search?page_size=10&page=1", user=None).json
    assert api1["page"] == 0 and api2["page"] == 1 and api1["count"] == api2["count"] > 10
    assert not {r["id"] for r in api1["result"]} & {r["id"] for r in api2["result"]}


def test_pages_answer_404_until_enabled(app):
    from tests.conftest import installer

    installer(app).install(["emall_livestock"])
    client = app.test_client()
    assert client.get("/livestock/").status_code == 404  # installed, enabled nowhere
    assert client.get("/api/v1/emall_livestock/search").status_code == 404


def test_purchaser_list_pages(xm):
    admin = xm.browser("admin")
    res = admin.get("/livestockpurchaserview/list/")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert "畜牧系统采购单位" in html and "长春市畜牧业管理局" in html and "主管预算单位" in html
    assert admin.get("/livestockpurchaserview/add").status_code == 200
    pk = query(xm.app, "SELECT id FROM emall_livestock_purchaser ORDER BY id LIMIT 1")[0][0]
    assert admin.get(f"/livestockpurchaserview/show/{pk}").status_code == 200
    assert admin.get(f"/livestockpurchaserview/edit/{pk}").status_code == 200
    # the menu of a purchaser shows the pavilion, not the list
    page = xm.browser("school").get("/livestock/").get_data(as_text=True)
    assert 'href="/livestock/"' in page and "/livestockpurchaserview/list/" not in page
    assert xm.browser("school").get("/livestockpurchaserview/list/").status_code in (302, 403)


def test_attribute_filters_of_a_category(xm):
    client = xm.browser()
    html = client.get("/livestock/search?category=A070505-01").get_data(as_text=True)
    assert 'id="xm-attr-form"' in html and "适用动物" in html and "储存温度" in html
    all_fmd = xm.api("GET", "emall_livestock/search?category=A070505-01&page_size=100", user=None).json
    pigs = xm.api("GET", "emall_livestock/search?category=A070505-01&attr.species=猪&page_size=100",
                  user=None).json
    assert 0 < pigs["count"] < all_fmd["count"]
    page = client.get("/livestock/search?category=A070505-01&attr.species=猪").get_data(as_text=True)
    assert f"共 <strong>{pigs['count']}</strong> 件商品" in page
    # the landing page's chart: listed products per department
    assert "各类在售商品数量" in client.get("/livestock/").get_data(as_text=True)


def test_a_livestock_product_page_keeps_the_pavilion_context(xm):
    """Issue 13: emall's product page of a pavilion product leads back to the pavilion
    (emall's hook PAVILION_PAGES); a general product back to the e-mall."""
    body = xm.api("GET", "emall_livestock/search?q=疫苗&page_size=1", user=None).json
    vaccine = body["result"][0]["id"]
    general = _general_listing(xm, "办公用台式计算机")
    client = xm.browser()
    html = client.get(f"/emall/item/{vaccine}").get_data(as_text=True)
    assert "← 返回畜牧行业馆" in html and 'href="/livestock/"' in html
    html = client.get(f"/emall/item/{general}").get_data(as_text=True)
    assert "← 返回电子卖场" in html and "em-pavilion-link" not in html
