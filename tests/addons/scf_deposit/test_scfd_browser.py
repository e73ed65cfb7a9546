# ruff: noqa: F811  (pytest fixtures imported from scfd_world)
"""The institution's main job in a real headless Chromium (Playwright, ``/usr/bin/chromium``)
against gunicorn: the bank opens its workbench card 待出具的电子保函, the request, and issues
the guarantee through the page's form; the agency then picks the received file (its SHA-256
computed in the browser), enters the verification code and accepts it - the deposit ledger
holds it as an electronic guarantee. Skipped without Chromium or Playwright unless CI=true."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from core.db import db
from tests.addons.procurement_base.pb_world import PASSWORD
from tests.addons.scf_deposit.scfd_world import PDF, SHA, pb, scf, scfd  # noqa: F401
from tests.core.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, require_browser, serve

pytestmark = pytest.mark.slow
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def login(page, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_bank_issues_and_agency_verifies_in_the_browser(scfd, db_url: str, tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    gid = scfd.request()
    with scfd.app.app_context():
        db.session.remove()
        db.engine.dispose()
    pdf = tmp_path / "保函.pdf"
    pdf.write_bytes(PDF)
    until = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                                     timeout=15_000)
        try:
            ctx = browser.new_context(locale="zh-CN")
            page = ctx.new_page()
            page.set_default_timeout(WAIT_MS)
            try:
                login(page, base, "bank")
                card = page.locator("a.erp-card", has_text="待出具的电子保函")
                assert int(card.get_attribute("data-count")) == 1
                card.click()
                page.wait_for_url(re.compile(r"/guaranteeview/list/"))
                page.goto(f"{base}/guaranteeview/show/{gid}")
                form = page.locator("form.erp-action[data-action=issue]")
                form.locator("input[name=number]").fill("BOC-E-0001")
                form.locator("input[name=valid_from]").fill("2025-01-01")
                form.locator("input[name=valid_until]").fill(until)
                form.locator("input[name=file_name]").fill("保函.pdf")
                form.locator("input[name=file_sha256]").fill(SHA)
                form.locator("input[name=verify_code]").fill("YZM-778899")
                form.locator("button[type=submit]").click()
                page.locator(".alert-success").wait_for()
                assert "已出具" in page.locator("#erp-actions").inner_text() or \
                    "已出函" in page.content()
                ctx.close()

                ctx = browser.new_context(locale="zh-CN")
                page = ctx.new_page()
                page.set_default_timeout(WAIT_MS)
                login(page, base, "agency")
                page.goto(f"{base}/guaranteeview/show/{gid}")
                form = page.locator("form.erp-action[data-action=verify]")
                # a wrong code is refused with the reason, the guarantee stays unverified
                page.set_input_files("#scfd-file", str(pdf))
                expect(form.locator("input[name=file_sha256]")).to_have_value(HEX64)
                assert form.locator("input[name=file_sha256]").input_value() == SHA
                form.locator("input[name=verify_code]").fill("YZM-000000")
                form.locator("button[type=submit]").click()
                page.locator(".alert-danger").first.wait_for()
                assert "验真码不正确" in page.content()
                form = page.locator("form.erp-action[data-action=verify]")
                page.set_input_files("#scfd-file", str(pdf))
                expect(form.locator("input[name=file_sha256]")).to_have_value(HEX64)
                form.locator("input[name=verify_code]").fill("YZM-778899")
                form.locator("button[type=submit]").click()
                page.locator(".alert-success").wait_for()
                assert "验真通过" in page.locator(".alert-success").inner_text()
            except BaseException:
                shot = tmp_path / "failed-scfd.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot: {shot}")
                raise
            finally:
                ctx.close()
        finally:
            browser.close()
    from addons.scf_deposit.models import Guarantee

    g = scfd.get(Guarantee, gid)
    assert g.status == "verified" and g.deposit_id is not None
