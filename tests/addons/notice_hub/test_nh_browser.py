"""In a real headless Chromium (Playwright) against gunicorn on notice_hub's demo data: the
publishing official of 长春市第一中学 opens the drafts from the workbench card, publishes one,
and an anonymous visitor on a 375 px phone finds it with the public search and reads it.
Skipped without Chromium or Playwright unless ``CI=true`` (tests/core/test_browser.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli, init_db, installer
from tests.core.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, require_browser, serve

pytestmark = pytest.mark.slow
TITLE = "长春市第一中学多媒体教学设备采购项目中标（成交）结果公告"


def prepare(app: Any) -> None:
    from core.db import db

    init_db(app)
    installer(app).install(["notice_hub"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "notice_hub").exit_code == 0
    assert cli(app, "demo", "users").exit_code == 0
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_official_publishes_a_draft_and_the_public_finds_it(db_url: str, app_factory: Any,
                                                            tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    prepare(app_factory())
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                     timeout=15_000)
        shot = tmp_path / "failed.png"
        page = None
        try:
            ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
            page = ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(base + "/login/")
            page.fill("input[name=username]", "notice_publisher")
            page.fill("input[name=password]", "demo12345")
            page.click("input[type=submit]")
            page.wait_for_url(lambda url: "/login/" not in url)
            # the workbench card leads to the drafts waiting for review
            page.get_by_text("待审核发布的公告").first.wait_for()
            page.locator("a[href*='/noticeview/list/?_flt_0_status=draft']").first.click()
            page.wait_for_url(lambda url: "/noticeview/list/" in url)
            assert "吉林市中心医院" not in page.content()  # another unit's drafts are not shown
            page.locator("tr", has_text=TITLE).locator("a[href*='/noticeview/show/']").first.click()
            page.wait_for_url(lambda url: "/noticeview/show/" in url)
            page.get_by_role("button", name="审核发布").click()
            flash = page.locator(".alert-success")
            flash.wait_for()
            assert "已发布，公告编号 JLGG-220102-" in flash.inner_text()
            assert page.get_by_role("button", name="审核发布").count() == 0
            ctx.close()

            # the public, on a 375 px phone
            ctx = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 740},
                                      is_mobile=True, has_touch=True)
            page = ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            page.goto(base + "/notices/")
            page.fill("input[name=q]", "duomeiti")  # pinyin of 多媒体
            page.get_by_role("button", name="查询").click()
            page.wait_for_url(lambda url: "q=duomeiti" in url)
            link = page.locator("#nh-results a", has_text=TITLE)
            link.wait_for()
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            link.click()
            page.wait_for_url(lambda url: "/notices/" in url and "q=" not in url)
            body = page.locator("#nh-notice").inner_text()
            assert "JLGG-220102-" in body and "¥386,500.00" in body and "None" not in body
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            ctx.close()
        except BaseException:
            if page is not None:
                try:
                    page.screenshot(path=str(shot), full_page=True)
                    print(f"\nscreenshot: {shot}")
                except Exception:
                    pass
            raise
        finally:
            browser.close()
