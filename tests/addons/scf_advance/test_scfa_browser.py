# ruff: noqa: F811  (pytest fixtures imported from scf_world and test_scfa)
"""An advance payment under insurance in a real headless Chromium (Playwright,
``/usr/bin/chromium``), every step by clicking what the pages offer: the purchaser agrees the
advance on 供应链金融 → 约定预付款; the supplier opens 预付款保险 and presents its policy; the
purchaser's verification refuses a policy insuring another unit with the reason (nothing
stored); the supplier presents the right one, the purchaser verifies it against the file it
received (its SHA-256) and pays the advance. Skipped without
Chromium or Playwright unless CI=true."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import db
from tests.addons.scf_advance.test_scfa import SHA, TODAY, adv  # noqa: F401
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401
from tests.addons.supply_chain_finance.test_scf_browser import login, no_program_values
from tests.core.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, require_browser, serve

pytestmark = pytest.mark.slow


def test_purchaser_agrees_supplier_presents_purchaser_verifies_and_pays(
        adv, db_url: str, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    from addons.scf_advance.models import Advance

    with adv.app.app_context():
        db.session.remove()
        db.engine.dispose()
    delivery = (TODAY + dt.timedelta(days=60)).isoformat()
    valid_until = (TODAY + dt.timedelta(days=200)).isoformat()
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                     timeout=15_000)

        def as_user(username: str):
            ctx = browser.new_context(locale="zh-CN")
            page = ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            login(page, base, username)
            return ctx, page

        ctx = page = None
        try:
            # the purchaser agrees the advance on its contract
            ctx, page = as_user("pur")
            page.locator("a.dropdown-toggle", has_text="供应链金融").click()
            page.locator("a", has_text="约定预付款").first.click()
            page.wait_for_url(re.compile(r"/scf/advance/agree/"))
            row = page.locator("#scfa-contracts tr", has_text="HT-001")
            row.locator("input[name=share_percent]").fill("30")
            row.locator("input[name=delivery_date]").fill(delivery)
            row.locator("button[type=submit]").click()
            page.locator(".alert-success").wait_for()
            assert "已约定预付款" in page.locator(".alert-success").inner_text()
            show_url = page.url
            no_program_values(page)
            ctx.close()

            # the supplier presents its policy from 预付款保险
            ctx, page = as_user("sup_a")
            page.locator("a.dropdown-toggle", has_text="供应链金融").click()
            page.locator("a", has_text="预付款保险").first.click()
            page.locator("a[href*='/advanceview/show/']").first.click()
            page.wait_for_url(re.compile(r"/advanceview/show/\d+"))
            assert page.url.split("?")[0].rstrip("/") == show_url.split("?")[0].rstrip("/")

            def present(credit_code: str) -> None:
                form = page.locator("form[data-action=present]")
                form.locator("select[name=insurer]").select_option(label="第二测试银行吉林分行")
                form.locator("input[name=policy_number]").fill("PICC-2026-001")
                form.locator("input[name=insured_credit_code]").fill(credit_code)
                form.locator("input[name=valid_until]").fill(valid_until)
                form.locator("input[name=file_sha256]").fill(SHA)
                form.locator("button[type=submit]").click()

            present(adv.code["pur_cc2"])  # a policy insuring another unit: verified later
            page.locator(".alert-success").wait_for()
            no_program_values(page)
            ctx.close()

            # the purchaser's verification refuses it with the reason (nothing stored)
            ctx, page = as_user("pur")
            page.goto(show_url)

            def verify() -> None:
                form = page.locator("form[data-action=verify]")
                form.locator("input[name=file_sha256]").fill(SHA)
                form.locator("button[type=submit]").click()

            verify()
            page.locator(".alert-danger").first.wait_for()
            text = page.locator("body").inner_text()
            assert "未写入任何数据" in text and "被保险人" in text
            ctx.close()

            # the supplier presents the right policy; the purchaser verifies it and pays
            ctx, page = as_user("sup_a")
            page.goto(show_url)
            present(adv.code["pur_cc"])
            page.locator(".alert-success").wait_for()
            ctx.close()
            ctx, page = as_user("pur")
            page.goto(show_url)
            verify()
            page.locator(".alert-success").wait_for()
            form = page.locator("form[data-action=pay]")
            form.locator("input[name=paid_date]").fill(TODAY.isoformat())
            form.locator("input[name=reference]").fill("GKZF-2026-1")
            form.locator("button[type=submit]").click()
            page.locator(".alert-success").wait_for()
            assert "已支付" in page.locator("body").inner_text()
            no_program_values(page)
        except BaseException:
            if page is not None:
                shot = tmp_path / "failed-scfa.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot: {shot}")
            raise
        finally:
            if ctx is not None:
                ctx.close()
            browser.close()
    with adv.app.app_context():
        a = db.session.execute(select(Advance).execution_options(erp_unscoped=True)).scalars().one()
        assert a.status == "paid" and a.policy_number == "PICC-2026-001"
        assert a.payment is not None and a.payment.amount == Decimal("165000.00")
