# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""Contract financing (政采贷) in a real headless Chromium (Playwright, ``/usr/bin/chromium``)
against the platform's server, every step by clicking what the pages offer: the supplier opens
供应链金融 → 申请融资, picks a bank of its choosing and applies; the bank opens its workbench
card 待审批的融资申请, the application with its contract data, is refused a bad rate field by
field, then approves; the purchaser confirms the repayment account from its card; the bank
records the disbursement. Skipped without Chromium or Playwright unless CI=true."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import db
from tests.addons.procurement_base.pb_world import PASSWORD
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401
from tests.core.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, require_browser, serve

pytestmark = pytest.mark.slow


def login(page, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def no_program_values(page) -> None:
    text = page.locator("body").inner_text()
    for word in ("None", "True", "False"):
        assert not re.search(rf"(?<![A-Za-z]){word}(?![A-Za-z])", text), word


def test_supplier_applies_bank_approves_purchaser_confirms_bank_disburses(
        scf, db_url: str, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    from addons.supply_chain_finance.models import AccountLock, Application

    with scf.app.app_context():
        db.session.remove()
        db.engine.dispose()
    maturity = (dt.date.today() + dt.timedelta(days=180)).isoformat()
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
            # the supplier: 供应链金融 → 申请融资, a bank of its choosing
            ctx, page = as_user("sup_a")
            page.locator("a.dropdown-toggle", has_text="供应链金融").click()
            page.locator("a", has_text="申请融资").first.click()
            page.wait_for_url(re.compile(r"/scf/apply/"))
            contract = page.locator(".scf-contract", has_text="HT-001")
            assert "可融资余额" in contract.inner_text()
            contract.locator("label", has_text="测试银行吉林省分行").locator("input[type=radio]").check()
            contract.locator("input[name=amount]").fill("300000")
            contract.locator("input[name=purpose]").fill("采购原材料")
            contract.locator("button[type=submit]").click()
            page.locator(".alert-success").wait_for()
            assert "已提交给" in page.locator(".alert-success").inner_text()
            no_program_values(page)
            ctx.close()

            # the bank: its workbench card, the application with the contract's data
            ctx, page = as_user("bank")
            card = page.locator("a.erp-card", has_text="待审批的融资申请")
            assert int(card.get_attribute("data-count")) == 1
            card.click()
            page.wait_for_url(re.compile(r"/applicationview/list/"))
            page.locator("a[href*='/applicationview/show/']").first.click()
            page.wait_for_url(re.compile(r"/applicationview/show/\d+"))
            body = page.locator("body").inner_text()
            assert "HT-001" in body and scf.code["pur_cc"] in body and "合同信息" in body
            no_program_values(page)
            form = page.locator("form[data-action=approve]")
            form.locator("input[name=amount]").fill("300000.00")
            form.locator("input[name=rate_percent]").fill("99")
            form.locator("input[name=term_months]").fill("6")
            form.locator("input[name=repayment_account]").fill("6216610200012345")
            form.locator("button[type=submit]").click()
            page.locator(".alert-danger").first.wait_for()
            assert "未写入任何数据" in page.locator("body").inner_text()
            form = page.locator("form[data-action=approve]")
            form.locator("input[name=amount]").fill("300000.00")
            form.locator("input[name=rate_percent]").fill("3.45")
            form.locator("input[name=term_months]").fill("6")
            form.locator("input[name=repayment_account]").fill("6216610200012345")
            form.locator("input[name=repayment_bank]").fill("测试银行营业部")
            form.locator("button[type=submit]").click()
            page.locator(".alert-success").wait_for()
            assert "已批准" in page.locator("body").inner_text()
            show_url = page.url
            ctx.close()

            # the purchaser: its card, the repayment account to confirm
            ctx, page = as_user("pur")
            card = page.locator("a.erp-card", has_text="待确认的融资回款账户")
            assert int(card.get_attribute("data-count")) == 1
            card.click()
            page.wait_for_url(re.compile(r"/accountlockview/list/"))
            assert "6216610200012345" in page.locator("body").inner_text()
            page.locator("a[href*='/accountlockview/show/']").first.click()
            page.locator("form[data-action=confirm] button[type=submit]").click()
            page.locator(".alert-success").wait_for()
            assert "已确认" in page.locator("body").inner_text()
            no_program_values(page)
            ctx.close()

            # the bank records the disbursement on the application
            ctx, page = as_user("bank")
            page.goto(show_url)
            form = page.locator("form[data-action=disburse]")
            form.locator("input[name=amount]").fill("300000.00")
            form.locator("input[name=maturity]").fill(maturity)
            form.locator("button[type=submit]").click()
            page.locator(".alert-success").wait_for()
            assert "已放款" in page.locator("body").inner_text()
            no_program_values(page)
        except BaseException:
            if page is not None:
                shot = tmp_path / "failed-scf.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot: {shot}")
            raise
        finally:
            if ctx is not None:
                ctx.close()
            browser.close()
    with scf.app.app_context():
        a = db.session.execute(select(Application).execution_options(erp_unscoped=True)).scalars().one()
        lock = db.session.execute(select(AccountLock).execution_options(erp_unscoped=True)).scalars().one()
        assert (a.status, str(a.approved_amount), str(a.disbursed_amount)) == (
            "disbursed", "300000.00", "300000.00")
        assert lock.status == "locked" and lock.account == "6216610200012345"
