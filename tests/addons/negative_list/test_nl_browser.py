"""The publisher's and the supervisor's main job in a real headless Chromium (Playwright,
``/usr/bin/chromium``) against gunicorn on the demo data, clicking what the pages offer:

* the school's purchaser opens 负面清单检查结果待处理 from the workbench, deletes a flagged
  clause (修改条款) and keeps another with a reason (说明理由);
* 长春市财政局's auditor opens 待审核的理由说明 and accepts the justification (认可理由).

Skipped without Chromium or Playwright unless ``CI=true`` (tests/core/test_browser.py).
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


def test_publisher_resolves_and_supervisor_reviews_in_the_browser(
    db_url: str, app_factory: Callable[..., Any], tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    from core.db import db

    app = app_factory(paths=[])
    init_db(app)
    installer(app).install(["negative_list"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "procurement_base", "negative_list").exit_code == 0
    assert cli(app, "demo", "users").exit_code == 0
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True, timeout=15_000)
        try:
            with journey(browser, tmp_path, "publisher") as page:
                login(page, base, "purchaser")
                card = page.locator("a.erp-card", has_text="负面清单检查结果待处理")
                assert int(card.get_attribute("data-count")) == 6
                card.click()
                page.wait_for_url(re.compile(r"/nlfindingview/list/"))
                page.locator("a[href*='/nlfindingview/show/']").first.click()
                page.wait_for_selector("#nl-finding")
                assert "法律依据" in page.locator("#nl-finding").inner_text()
                form = page.locator("form[data-action=edit]")
                form.locator("input[name=replacement]").fill("（删除）")
                form.locator("button[type=submit]").click()
                page.wait_for_selector("text=已修改条款并重新检查")
                # the next open finding: kept with a reason
                page.goto(base + "/nlfindingview/list/?_flt_3_status=open")
                page.locator("a[href*='/nlfindingview/show/']").first.click()
                form = page.locator("form[data-action=justify]")
                form.locator("input[name=reason]").fill("经费来源为专项资金，按主管部门规定执行（演示）")
                form.locator("button[type=submit]").click()
                page.wait_for_selector("text=已说明理由，等待监督部门审核")

            with journey(browser, tmp_path, "supervisor") as page:
                login(page, base, "auditor")
                card = page.locator("a.erp-card", has_text="待审核的理由说明")
                assert int(card.get_attribute("data-count")) == 2
                card.click()
                page.wait_for_url(re.compile(r"/nlfindingview/list/"))
                page.locator("a[href*='/nlfindingview/show/']").first.click()
                form = page.locator("form[data-action=accept]")
                form.locator("input[name=note]").fill("同意")
                form.locator("button[type=submit]").click()
                page.wait_for_selector("text=已认可该理由说明")
        finally:
            browser.close()
    statuses = dict(query(app, "SELECT status, COUNT(*) FROM nl_finding GROUP BY status"))
    assert statuses.get("accepted") == 2 and statuses.get("justified") == 1, statuses
