# ruff: noqa: F811  (pytest fixtures imported from scfe_world)
"""Flow credit in a real headless Chromium (Playwright, ``/usr/bin/chromium``) against
gunicorn: the supplier consents on 流水信用授权; the bank opens its workbench card
新的流水信用授权, the supplier's profile (figures, monthly table, chart, indicative line) and
records its line through the form. Skipped without Chromium or Playwright unless CI=true."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from core.db import db
from tests.addons.procurement_base.pb_world import PASSWORD
from tests.addons.scf_emall.scfe_world import pb, scf, scfe  # noqa: F401
from tests.core.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, require_browser, serve

pytestmark = pytest.mark.slow


def login(page, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_supplier_consents_and_bank_records_its_line(scfe, db_url: str, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    with scfe.app.app_context():
        db.session.remove()
        db.engine.dispose()
    until = (dt.date.today() + dt.timedelta(days=365)).isoformat()
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                     timeout=15_000)
        try:
            ctx = browser.new_context(locale="zh-CN")
            page = ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            try:
                login(page, base, "sup_a")
                page.goto(f"{base}/scf/emall/consent/")
                page.select_option("#scfe-bank", label="测试银行吉林省分行")
                page.locator("#scfe-grant button[type=submit]").click()
                page.locator(".alert-success").wait_for()
                assert "撤回授权" in page.locator("#scfe-consents").inner_text()
                ctx.close()

                ctx = browser.new_context(locale="zh-CN")
                page = ctx.new_page()
                page.set_default_timeout(WAIT_MS)
                login(page, base, "bank")
                card = page.locator("a.erp-card", has_text="新的流水信用授权")
                assert int(card.get_attribute("data-count")) == 1
                card.click()
                page.wait_for_url(re.compile(r"/scf/emall/bank/"))
                page.locator("#scfe-bank a", has_text="交易流水画像").click()
                page.locator("#scfe-figures").wait_for()
                assert "60,000.00" in page.locator("#scfe-figures").inner_text()
                assert "10,005.00" in page.locator("#scfe-line").inner_text()
                assert page.locator("svg[role=img]").count() >= 1
                form = page.locator("#scfe-line-form")
                form.locator("input[name=amount]").fill("-100")
                form.locator("input[name=valid_until]").fill(until)
                form.locator("button[type=submit]").click()
                page.locator(".alert-danger").first.wait_for()
                assert "未写入任何数据" in page.content()
                form = page.locator("#scfe-line-form")
                form.locator("input[name=amount]").fill("50000")
                form.locator("input[name=valid_until]").fill(until)
                form.locator("button[type=submit]").click()
                page.locator(".alert-success").wait_for()
                assert "已记录授信额度" in page.locator(".alert-success").inner_text()
            except BaseException:
                shot = tmp_path / "failed-scfe.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot: {shot}")
                raise
            finally:
                ctx.close()
        finally:
            browser.close()
    from addons.scf_emall.models import Consent

    with scfe.app.app_context():
        from sqlalchemy import select

        c = db.session.execute(select(Consent).execution_options(erp_unscoped=True)).scalars().one()
        assert str(c.line_amount) == "50000.00"
