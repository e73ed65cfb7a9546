"""Journeys of issue 13 in a real headless Chromium (Playwright, ``/usr/bin/chromium``) against
gunicorn on the demo data of every add-on, clicking only what the pages offer:

* every demo user lands on the workbench (工作台) with their own name in the navbar, and a
  card link opens the list it counts;
* the city admin disables a module for a county from 本地区模块, reading on the confirmation
  which users, units and menus are affected; a user of that county then finds the menu gone
  and an old bookmark saying 本地区未启用该模块 inside the platform's layout;
* the auditor exports the audit log (an xlsx with labels, no codes).

A failed journey leaves a full-page screenshot in the test's tmp_path (printed). Skipped
without Chromium or Playwright unless ``CI=true`` (see tests/core/test_browser.py).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cli, init_db, installer, query
from tests.core.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WAIT_MS,
    require_browser,
    serve,
)
from tests.core.test_every_page import real_addons

pytestmark = pytest.mark.slow
PASSWORD = "demo12345"


def prepare(app: Any) -> None:
    """Every add-on with demo data, enabled for the province; demo users; expert linked."""
    from core.db import db

    init_db(app)
    names = real_addons(app)
    installer(app).install(names, demo=True)
    assert cli(app, "tenant", "enable", "220000", *[n for n in names if n != "base"]).exit_code == 0
    assert cli(app, "demo", "users").exit_code == 0
    assert cli(app, "expert", "link-user", "expert", "ZJ0000074").exit_code == 0
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def journey(browser: Any, tmp_path: Path, name: str, **context: Any) -> Iterator[Any]:
    """A fresh browser context and page; a screenshot of the page if the journey fails."""
    ctx = browser.new_context(locale="zh-CN", **context)
    page = ctx.new_page()
    page.set_default_timeout(WAIT_MS)
    page.set_default_navigation_timeout(WAIT_MS)
    try:
        yield page
    except BaseException:
        shot = tmp_path / f"failed-{name}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failed journey {name!r}: {shot}")
        except Exception as exc:  # the page itself may be gone
            print(f"\nno screenshot of {name!r}: {exc}")
        raise
    finally:
        ctx.close()


def login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.wait_for_selector("#workbench-title")


def test_workbench_module_switch_off_and_audit_export_in_the_browser(
    db_url: str, app_factory: Callable[..., Any], tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    app = app_factory(paths=[])
    prepare(app)
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True, timeout=15_000)
        try:
            # -- the supplier lands on its workbench; a card opens what it counts
            with journey(browser, tmp_path, "supplier-workbench") as page:
                login(page, base, "supplier")
                assert "长春华信科技销售" in page.locator("#erp-user-name").inner_text()
                card = page.locator("a.erp-card", has_text="新订单待确认")
                count = int(card.get_attribute("data-count"))
                card.click()
                page.wait_for_url(re.compile(r"/orderview/list/"))
                assert page.locator("table tbody tr").count() >= count

            # -- the expert is called by the profile's name
            with journey(browser, tmp_path, "expert-name") as page:
                login(page, base, "expert")
                assert "白雷" in page.locator("#erp-user-name").inner_text()

            # -- 长春市's admin switches the expert module off for 南关区 (220102)
            with journey(browser, tmp_path, "city-admin-disable") as page:
                login(page, base, "city_admin")
                page.goto(base + "/erp/tenant/220102/")
                row = page.locator("#region-modules tr[data-module='expert_credit']")
                assert "评审专家与信用评价" in row.inner_text() and "expert_credit" not in row.inner_text()
                row.get_by_role("link", name="停用").click()
                page.wait_for_selector("#disable-impact")
                impact = page.locator("#disable-impact").inner_text()
                assert "用户" in impact and "菜单" in impact
                page.click("#confirm-button")
                page.locator(".alert-success").wait_for()
                assert "评审专家与信用评价" in page.locator(".alert-success").inner_text()

            # a user of 南关区: the menu is gone and a bookmark explains itself
            region = query(app, "SELECT id FROM erp_region WHERE code = '220102'")[0][0]
            res = cli(app, "user", "create", "--username", "ng_agent", "--password", PASSWORD,
                      "--role", "采购代理机构", "--region", "220102")
            assert res.exit_code == 0, res.output
            assert region
            with journey(browser, tmp_path, "county-user-bookmark") as page:
                login(page, base, "ng_agent")
                assert "评审专家" not in (page.locator(".navbar").text_content() or "")
                res = page.goto(base + "/evaluationview/list/")
                assert res.status == 404
                assert "本地区未启用该模块" in page.locator("#erp-error").inner_text()
                assert page.locator(".navbar").count() == 1, "inside the platform's layout"

            # -- the auditor exports the audit log
            with journey(browser, tmp_path, "auditor-export", accept_downloads=True) as page:
                login(page, base, "auditor")
                page.goto(base + "/erp/audit/list/")
                with page.expect_download() as info:
                    page.click("#audit-export")
                path = info.value.path()
                import openpyxl

                ws = openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes())).active
                rows = list(ws.iter_rows(values_only=True))
                assert rows[0][0] == "审计日志" and "变更内容（字段：变更前 → 变更后）" in rows[1]
                body = " ".join(str(c) for r in rows[2:] for c in r if c is not None)
                assert "评审专家与信用评价" in body, "the disable, in words"
                assert "erp_region_module" not in body and "expert_credit" not in body
        finally:
            browser.close()
