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


def test_outside_report_and_multi_item_response_in_the_browser(fa: FaWorld, db_url: str, tmp_path: Path) -> None:
    """The purchaser reports an outside purchase a week late (shown red); a supplier quotes
    both items of a two-item solicitation on 响应框架协议征集."""
    require_browser()
    import datetime as dt

    from playwright.sync_api import sync_playwright
    from sqlalchemy import update

    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement, FaItem
    from tests.addons.framework_agreement.fa_world import now

    em = fa.em
    with fa.app.app_context(), use_scope(SYSTEM):
        s = db.session
        s.execute(update(FaAgreement).where(FaAgreement.id == fa.ag)
                  .values(term_start=now().date() - dt.timedelta(days=30)).execution_options(erp_unscoped=True))
        ag = draft(s, em.org, em.region, em.cat, name="长春市计算机及一体机框架协议（测试）")
        second = FaItem(agreement=ag, seq=2, category_id=em.cat["A02010105"], name="一体式计算机", unit="台",
                        ceiling_price="6000.00", est_quantity=50, max_quantity=5)
        fs.ITEM.validate(s, second)
        s.add(second)
        s.flush()
        fs.publish(s, ag)
        s.commit()
        multi, items = ag.id, [i.id for i in sorted(ag.items, key=lambda i: i.seq)]
        db.session.remove()
        db.engine.dispose()
    week_ago = (now().date() - dt.timedelta(days=7)).isoformat()
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=15_000)
        try:
            ctx = browser.new_context(locale="zh-CN")
            page = ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            try:
                login(page, base, "pur")
                page.goto(base + "/fa/buy/")
                form = page.locator("form.fa-outside").first
                form.locator("select[name=line]").select_option(str(fa.line["sup_a"]))
                form.locator("input[name=outside_supplier]").fill("长春市某电脑城（测试）")
                form.locator("input[name=outside_price]").fill("4300")
                form.locator("input[name=purchase_date]").fill(week_ago)
                form.locator("textarea[name=proof]").fill("同型号报价单 4,300 元/台")
                form.locator("textarea[name=refusal]").fill("入围供应商书面答复不降价")
                form.get_by_role("button", name="报告协议外采购").click()
                page.wait_for_url(re.compile(r"/faoutsideview/show/"))
                assert "记为逾期" in page.locator(".alert-warning").inner_text()
                assert page.locator(".label-danger", has_text="逾期报告").count() == 1
                page.goto(base + "/logout/")

                login(page, base, "sup_a")
                page.goto(base + "/fa/respond/")
                page.locator(f"tr.fa-open[data-agreement='{multi}']").get_by_role("link", name="逐项报价").click()
                page.wait_for_url(re.compile(rf"/fa/respond/{multi}"))
                for item, price in zip(items, ("4600", "5800"), strict=True):
                    page.locator(f"input[name=item_{item}_price]").fill(price)
                page.get_by_role("button", name="提交响应（全部品目）").click()
                page.wait_for_url(re.compile(r"/faresponseview/show/"))
                assert "响应已提交：2 个品目" in page.locator(".alert-success").inner_text()
            except BaseException:
                page.screenshot(path=str(tmp_path / "failed.png"), full_page=True)
                print(f"\nscreenshot: {tmp_path / 'failed.png'}")
                raise
            finally:
                ctx.close()
        finally:
            browser.close()
