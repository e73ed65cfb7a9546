"""The e-mall's journeys of issue 13 in a real headless Chromium (Playwright,
``/usr/bin/chromium``) against gunicorn on the e-mall's demo data, clicking only what the
pages offer (a page is opened by its address where a person would use the menu):

1. a supplier applies for admission with its business licence → the institution opens the
   licence and approves → the supplier lists a product with typed attributes and an image →
   the institution sees the image and approves → an anonymous visitor finds it at 375 px
   (no horizontal scrolling) → the purchaser buys it, the supplier confirms, ships and
   delivers, the purchaser accepts, pays and rates → the supplier reads the messages;
2. the purchaser sets up a price comparison (deadline, requirements, address) from the cart →
   two suppliers quote on the quote page → the purchaser sees the number of quotes, not
   their amounts → after the deadline the purchaser awards it;
3. the institution confirms a price anomaly and delists the product.

A failed journey leaves a full-page screenshot in the test's tmp_path (printed). Skipped
without Chromium or Playwright unless ``CI=true``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli, init_db, installer, query
from tests.core.test_browser import CHROMIUM, CHROMIUM_ARGS, require_browser, serve
from tests.core.test_browser_journeys import journey, login

pytestmark = pytest.mark.slow
PASSWORD = "demo12345"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_1PX = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
           b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND"
           b"\xaeB`\x82")


def prepare(app: Any) -> str:
    """The e-mall with its demo data for the province, demo users, and a login for a
    supplier that has not applied yet; its name."""
    from core.db import db

    init_db(app)
    installer(app).install(["emall"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "emall").exit_code == 0
    assert cli(app, "demo", "users").exit_code == 0
    code, name = query(app, "SELECT credit_code, name FROM erp_organization WHERE org_type = 'supplier' "
                            "AND id NOT IN (SELECT supplier_id FROM emall_admission) ORDER BY id")[0]
    res = cli(app, "user", "create", "--username", "new_supplier", "--password", PASSWORD,
              "--role", "供应商", "--org", code)
    assert res.exit_code == 0, res.output
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return name


def execute(app: Any, sql: str, **params: Any) -> None:
    """A change the test makes outside the pages (time passing, a reference price lowered)."""
    from sqlalchemy import text

    from core.db import db

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(sql), params)


def go(page: Any, target: Any) -> None:
    """Click a link or a form's button and wait for the page it leads to."""
    with page.expect_navigation():
        target.click()


def flash(page: Any) -> str:
    return page.locator(".alert").first.inner_text()


def test_emall_journeys_in_the_browser(db_url: str, app_factory: Callable[..., Any], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    app = app_factory(paths=[])
    supplier_name = prepare(app)
    monkeypatch.setenv("ERP_VAR_DIR", str(tmp_path / "var"))
    licence = tmp_path / "营业执照.pdf"
    licence.write_bytes(PDF)
    photo = tmp_path / "front.png"
    photo.write_bytes(PNG_1PX)
    model = "JL-E2E-01"
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                     timeout=15_000)
        try:
            # -- 1. the supplier applies with its licence
            with journey(browser, tmp_path, "supplier-applies") as page:
                login(page, base, "new_supplier")
                page.goto(base + "/admissionview/list/")
                go(page, page.locator("#em-apply"))
                for box in page.locator("input[type=checkbox][name^='answer.']").all():
                    box.check()
                page.set_input_files("input[name='file.license']", str(licence))
                page.fill("input[name='answer.bank_account']", "中国银行长春分行 6222000011112222")
                page.locator("label", has_text="信息化设备").first.locator("input").check()
                page.fill("#em-contact", "王经理")
                go(page, page.locator("#em-apply-submit"))
                page.wait_for_url(re.compile(r"/admissionview/show/\d+"))
                assert "入驻申请已提交" in flash(page)
                assert "已上传文件（见入驻材料）" in page.content()

            # -- the institution opens the licence from its workbench and approves
            with journey(browser, tmp_path, "institution-admits") as page:
                login(page, base, "emall_admin")
                go(page, page.locator("a.erp-card", has_text="入驻申请待审核"))
                page.wait_for_url(re.compile(r"/admissionview/list/"))
                go(page, page.locator("tr", has_text=supplier_name).locator("a[href*='/admissionview/show/']").first)
                page.wait_for_url(re.compile(r"/admissionview/show/\d+"))
                doc = page.locator("#em-documents a").first
                assert "营业执照" in doc.inner_text()
                res = page.request.get(base + doc.get_attribute("href"))
                assert res.status == 200 and res.body() == PDF
                go(page, page.get_by_role("button", name="批准入驻"))
                assert "已批准入驻" in flash(page)

            # -- the supplier lists a product: attribute fields from the template, an image
            with journey(browser, tmp_path, "supplier-lists") as page:
                login(page, base, "new_supplier")
                page.goto(base + "/listingview/list/")
                page.goto(base + "/listingview/add")
                desktop = page.locator("#em-category option", has_text="台式计算机（A02010105）")
                page.select_option("#em-category", desktop.get_attribute("value"))
                go(page, page.locator("#em-category-go"))
                attrs = page.locator("#em-attributes").inner_text()
                assert "内存（GB）" in attrs and "memory_gb" not in attrs
                page.fill("#em-name", "国产台式计算机")
                page.fill("#em-brand", "吉联")
                page.fill("#em-model", model)
                page.fill("#em-attr-cpu", "国产 8 核")
                page.fill("#em-attr-memory_gb", "十六")  # a typing slip: refused on its field
                page.fill("#em-attr-storage_gb", "512")
                page.select_option("#em-attr-os", "国产操作系统")
                page.fill("#em-price", "4800")
                page.fill("#em-reference_price", "5000")
                page.fill("#em-stock", "50")
                page.locator("#em-regions label", has_text="吉林省").locator("input").check()
                page.set_input_files("#em-image-input", str(photo))
                page.wait_for_selector("#em-image-preview img")
                go(page, page.locator("#em-listing-save"))
                assert "内存须为数值" in page.locator("[data-field='attributes.memory_gb']").inner_text()
                page.fill("#em-attr-memory_gb", "16")
                page.set_input_files("#em-image-input", str(photo))
                go(page, page.locator("#em-listing-save"))
                page.wait_for_url(re.compile(r"/listingview/show/\d+"))
                assert page.locator("img.em-listing-image").count() == 1
                go(page, page.get_by_role("button", name="提交审核"))
                assert "待审核" in flash(page)

            # -- the institution sees the image and approves the listing
            with journey(browser, tmp_path, "institution-lists") as page:
                login(page, base, "emall_admin")
                go(page, page.locator("a.erp-card", has_text="商品挂网待审核"))
                go(page, page.locator("tr", has_text=model).locator("a[href*='/listingview/show/']").first)
                page.wait_for_url(re.compile(r"/listingview/show/\d+"))
                assert page.locator("img.em-listing-image").count() == 1
                assert "内存：16GB" in page.content() and "memory_gb" not in page.content()
                go(page, page.get_by_role("button", name="审核通过上架"))
                assert "已上架" in flash(page)

            # -- an anonymous visitor finds it on a phone (375 px)
            with journey(browser, tmp_path, "anonymous-375", viewport={"width": 375, "height": 740}) as page:
                page.goto(base + "/emall/")
                page.fill("input[name=q]", model)
                go(page, page.locator("#em-search button[type=submit]"))
                card = page.locator(".em-card", has_text=model)
                assert card.count() == 1 and card.locator("img").count() == 1
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 375, f"horizontal scrolling at 375 px: {width}"
                page.select_option("#em-region", "220100")  # 长春市 from the dropdown
                go(page, page.locator("#em-search button[type=submit]"))
                assert page.locator(".em-card", has_text=model).count() == 1
                go(page, page.locator(".em-card", has_text=model).locator("a.em-card-name"))
                page.wait_for_url(re.compile(r"/emall/item/\d+"))
                assert page.evaluate("document.documentElement.scrollWidth") <= 375
                item_url = page.url

            # -- the purchaser buys it, accepts, pays and rates; the supplier does its part
            with journey(browser, tmp_path, "purchaser-buys") as page:
                login(page, base, "purchaser")
                page.goto(item_url)
                assert "本单位所在地区可供货" in page.content()
                go(page, page.locator("#em-add-to-cart button"))
                page.wait_for_url(re.compile(r"/emall/cart/"))
                page.fill("#em-address", "长春市朝阳区某路 1 号")
                go(page, page.locator("#em-checkout"))
                assert "已下单" in flash(page)
                order_link = page.locator("tr", has_text=supplier_name).first.locator(
                    "a[href*='/orderview/show/']").first
                order_url = base + order_link.get_attribute("href")
            with journey(browser, tmp_path, "supplier-ships") as page:
                login(page, base, "new_supplier")
                page.goto(order_url)
                go(page, page.get_by_role("button", name="确认订单"))
                page.fill("input[name=tracking]", "SF1234567")
                go(page, page.get_by_role("button", name="发货"))
                go(page, page.get_by_role("button", name="确认送达"))
                assert "已送达" in flash(page)
                assert page.get_by_role("button", name="验收").count() == 0, "the purchaser's button"
            with journey(browser, tmp_path, "purchaser-accepts") as page:
                login(page, base, "purchaser")
                page.goto(order_url)
                page.fill("input[name=inspectors]", "王明、李华")
                go(page, page.get_by_role("button", name="验收"))
                page.fill("input[name=payment_ref]", "ZF-001")
                go(page, page.get_by_role("button", name="付款"))
                assert "已付款" in flash(page)
                form = page.locator("form[data-action=rate]")
                form.locator("select[name=delivery]").select_option("5")
                form.locator("select[name=quality]").select_option("4")
                form.locator("select[name=service]").select_option("5")
                form.locator("input[name=comment]").fill("送货及时")
                go(page, form.locator("button"))
                assert "已评价" in flash(page)
                assert "送货及时" in page.locator("#em-rating").inner_text()
            with journey(browser, tmp_path, "supplier-messages") as page:
                login(page, base, "new_supplier")
                go(page, page.locator("#erp-messages-link a"))
                text = page.locator("#messages-table").inner_text()
                for words in ("入驻审核结果", "商品已上架", "采购人评价"):
                    assert words in text, words

            # -- 2. a price comparison from the cart: deadline, requirements, address
            with journey(browser, tmp_path, "purchaser-publishes") as page:
                login(page, base, "purchaser")
                page.goto(item_url)
                page.fill("#em-add-to-cart input[name=quantity]", "12")  # 57,600 yuan: comparison band
                go(page, page.locator("#em-add-to-cart button"))
                page.wait_for_url(re.compile(r"/emall/cart/"))
                assert page.locator("#em-comparison-setup").count() == 1
                page.fill("#em-requirements", "含安装调试，质保三年")
                page.fill("#em-address", "长春市朝阳区某路 1 号")
                go(page, page.locator("#em-checkout"))
                page.wait_for_url(re.compile(r"/comparisonview/show/\d+"))
                comparison_url = page.url
                assert "已收到报价：0" in page.locator("#em-quote-count").inner_text()
            own_listing = {"supplier": None, "new_supplier": None}
            for user, price in (("supplier", "4700"), ("new_supplier", "4750")):
                with journey(browser, tmp_path, f"{user}-quotes") as page:
                    login(page, base, user)
                    page.goto(comparison_url)
                    assert page.get_by_role("button", name=re.compile("确定成交")).count() == 0
                    go(page, page.locator("#em-quote-link"))
                    select = page.locator("select[name='listing.1']")
                    options = select.locator("option[value]:not([value=''])")
                    assert options.count() >= 1
                    own_listing[user] = options.first.get_attribute("value")
                    select.select_option(own_listing[user])
                    page.fill("input[name='price.1']", price)
                    go(page, page.locator("#em-quote-submit"))
                    page.wait_for_url(re.compile(r"/quoteview/show/\d+"))
                    assert "报价已提交" in flash(page)
            with journey(browser, tmp_path, "purchaser-awards") as page:
                login(page, base, "purchaser")
                page.goto(comparison_url)
                shown = page.locator("#em-quote-count").inner_text()
                assert "已收到报价：2" in shown and "56,400" not in page.content(), "sealed until close"
                number = comparison_url.rstrip("/").rsplit("/", 1)[1]
                # the quote window passes
                execute(app, "UPDATE emall_comparison SET quote_deadline = '2025-01-02 17:00:00' WHERE id = :i",
                        i=int(number))
                page.reload()
                page.fill("input[name=reason]", "有效报价不足三家，价格合理，按最低价成交")
                go(page, page.get_by_role("button", name=re.compile("确定成交")))
                assert "已成交" in flash(page)

            # -- 3. a price anomaly: the institution confirms it and delists the product
            execute(app, "UPDATE emall_listing SET reference_price = 4500 WHERE model = :m", m=model)
            with journey(browser, tmp_path, "institution-price-alert") as page:
                login(page, base, "emall_admin")
                page.goto(base + "/pricealertview/list/")
                go(page, page.locator("#em-scan button"))
                go(page, page.locator("tr", has_text="国产台式计算机").first.locator(
                    "a[href*='/pricealertview/show/']").first)
                form = page.locator("form[data-action=delist]")
                form.locator("input[name=note]").fill("挂网价格高于参考价")
                go(page, form.locator("button"))
                assert "商品已下架" in flash(page)
                go(page, page.get_by_role("link", name="查看商品"))
                assert "已下架" in page.content()
        finally:
            browser.close()
