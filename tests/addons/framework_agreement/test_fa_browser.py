"""In a real headless Chromium against gunicorn (the harness of tests/core/test_browser.py):
the purchaser buys by direct selection on 采购框架协议产品, and the collecting party confirms
a shortlist from the agreement's page, clicking only what the pages offer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.db import db
from core.tenancy import SYSTEM, use_scope
from tests.addons.emall.em_world import PASSWORD
from tests.addons.framework_agreement.fa_world import FaWorld, draft, passed
from tests.core.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, require_browser, serve

pytestmark = pytest.mark.slow


def login(page, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_direct_selection_and_shortlisting_in_the_browser(fa: FaWorld, db_url: str, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    from addons.framework_agreement import services as fs

    em = fa.em
    with fa.app.app_context(), use_scope(SYSTEM):  # a second solicitation, past its deadline
        s = db.session
        ag = draft(s, em.org, em.region, em.cat, name="长春市便携式计算机框架协议（测试）")
        fs.publish(s, ag)
        item = ag.items[0].id
        for sup, price in (("sup_a", "4400.00"), ("sup_b", "4450.00"), ("sup_c", "4600.00")):
            fs.submit_response(s, ag, em.org[sup], [{"item": item, "listing": fa.listing[sup], "unit_price": price}])
        s.commit()
        new_ag = ag.id
        passed(s, new_ag)
        db.session.remove()
        db.engine.dispose()
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=15_000)
        try:
            ctx = browser.new_context(locale="zh-CN")
            page = ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            try:
                # -- the purchaser: workbench card -> 采购框架协议产品 -> direct selection of 2 desktops
                login(page, base, "pur")
                page.locator("a", has_text="可用的框架协议").first.click()
                page.wait_for_url(re.compile(r"/fa/buy/"))
                row = page.locator(f"tr.fa-line[data-line='{fa.line['sup_b']}']")
                assert "¥4,700.00" in row.inner_text()
                row.locator("input[name=quantity]").fill("2")
                row.locator("input[name=unit_price]").fill("4800")  # above the agreement price
                row.get_by_role("button", name="直接选定下单").click()
                page.locator(".alert-danger").wait_for()
                assert "超过协议价格" in page.locator(".alert-danger").inner_text()
                row = page.locator(f"tr.fa-line[data-line='{fa.line['sup_b']}']")
                row.locator("input[name=quantity]").fill("2")
                row.get_by_role("button", name="直接选定下单").click()
                page.wait_for_url(re.compile(r"/facalloffview/show/"))
                assert "已直接选定成交" in page.locator(".alert-success").inner_text()
                body = page.locator("body").inner_text()
                assert "直接选定" in body and "¥9,400.00" in body
                page.goto(base + "/logout/")

                # -- the collecting party confirms the shortlist of the second solicitation
                login(page, base, "inst")
                page.goto(base + f"/faagreementview/show/{new_ag}")
                form = page.locator("form.erp-action[data-action=shortlist]")
                form.get_by_role("button", name="确定入围供应商").click()
                page.locator(".alert-success").wait_for()
                assert "入围结果已确定" in page.locator(".alert-success").inner_text()
                page.goto(base + f"/faagreementview/show/{new_ag}")
                assert "入围已确定" in page.locator("body").inner_text()
                assert "签订框架协议" in page.locator("#erp-actions").inner_text()
                page.goto(base + "/famemberview/list/")
                listed = page.locator("body").inner_text()
                assert "吉林乙办公（测试）有限公司" in listed
                page.goto(base + "/fanoticeview/list/")
                assert "长春市便携式计算机框架协议（测试） 入围结果公告" in page.locator("body").inner_text()
            except BaseException:
                page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
                print(f"\nscreenshot: {tmp_path / 'failed.png'}")
                raise
            finally:
                ctx.close()
        finally:
            browser.close()
