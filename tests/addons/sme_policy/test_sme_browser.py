"""The competent unit's disclosure job in a real headless Chromium (Playwright) against gunicorn
on the demo data: 吉林市城市管理局's user opens the workbench card 年度公开信息待签发, opens the
disclosure, downloads the Excel, signs it off and publishes it; the disclosure then shows as
published (kept in this module: no notices module is installed). Skipped without Chromium or
Playwright unless ``CI=true`` (see tests/core/test_browser.py)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.conftest import cli, init_db, installer
from tests.core.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, require_browser, serve

pytestmark = pytest.mark.slow


def test_unit_signs_and_publishes_its_disclosure_in_the_browser(
    db_url: str, app_factory: Callable[..., Any], tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    from core.db import db

    app = app_factory(paths=[])
    init_db(app)
    installer(app).install(["sme_policy"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "procurement_base", "sme_policy").exit_code == 0
    assert cli(app, "demo", "users").exit_code == 0
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True, timeout=15_000)
        ctx = browser.new_context(locale="zh-CN", accept_downloads=True)
        page = ctx.new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            page.goto(base + "/login/")
            page.fill("input[name=username]", "sme_unit")
            page.fill("input[name=password]", "demo12345")
            page.click("input[type=submit]")
            page.wait_for_url(lambda url: "/login/" not in url)
            card = page.locator("a.erp-card", has_text="年度公开信息待签发")
            assert card.get_attribute("data-count") == "1"
            card.click()
            page.wait_for_url(re.compile(r"/smedisclosureview/list/"))
            page.locator("a[href*='/smedisclosureview/show/']").first.click()
            page.wait_for_url(re.compile(r"/smedisclosureview/show/\d+"))
            body = page.locator("body").inner_text()
            assert "吉林市城市管理局" in body and "JLZC2025-007" in body
            assert "¥743,200.00" in body and "待签发" in body
            with page.expect_download() as info:
                page.get_by_role("link", name="导出 Excel").click()
            wb = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes()))
            assert wb.sheetnames == ["执行情况", "预留项目清单"]
            page.locator("form.erp-action[data-action='sign'] button").click()
            page.locator(".alert-success").wait_for()
            assert "已签发待公开" in page.locator("body").inner_text()
            page.locator("form.erp-action[data-action='publish'] button").click()
            page.locator(".alert-success").wait_for()
            text = page.locator("body").inner_text()
            assert "已公开" in text and "本页即为公开信息" in text
            assert page.locator("form.erp-action").count() == 0
        except BaseException:
            shot = tmp_path / "failed-sme-disclosure.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot: {shot}")
            raise
        finally:
            ctx.close()
            browser.close()
