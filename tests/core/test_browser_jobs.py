"""The platform admin's job page in a real headless Chromium, as ``./scripts/run`` runs it:
gunicorn and ``erp worker`` side by side on the embedded SQLite queue. The admin opens
平台管理 → 定时任务, reads that a job has not run yet, clicks 立即运行 and, once the worker
has run it, reads its result in words.

Skipped without Chromium or Playwright unless ``CI=true`` (see tests/core/test_browser.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FX_ADDONS, ROOT, init_db, installer
from tests.core.test_browser import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, require_browser, serve

pytestmark = pytest.mark.slow


def test_admin_runs_a_job_from_the_jobs_page(
        db_url: str, app_factory: Callable[..., Any], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    from core.db import db

    app = app_factory()
    init_db(app)
    installer(app).install(["fx_base"])
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    broker = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    monkeypatch.setenv("ERP_JOBS_BROKER", broker)  # serve() passes the environment on
    env = dict(os.environ, ERP_DATABASE_URL=db_url, ERP_ADDONS_PATH=str(FX_ADDONS),
               ERP_SECRET_KEY="browser-test-secret", ERP_JOBS_BROKER=broker)
    worker_log = tmp_path / "worker.log"
    with serve(db_url, tmp_path) as base, open(worker_log, "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-c", "from core.cli import main; main()", "worker"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                             headless=True, timeout=15_000)
                try:
                    page = browser.new_context(locale="zh-CN").new_page()
                    page.set_default_timeout(WAIT_MS)
                    page.goto(base + "/login/")
                    page.fill("input[name=username]", "admin")
                    page.fill("input[name=password]", "admin12345")
                    page.click("input[type=submit]")
                    page.wait_for_url(lambda url: "/login/" not in url)
                    page.locator(".navbar .dropdown-toggle").filter(
                        has_text=re.compile(r"^\s*平台管理\s*$")).click()
                    page.locator(".navbar a[href$='/erp/jobs/']").click()
                    row = page.locator("tr[data-job='fx_base.count_items']")
                    row.wait_for()
                    assert "清点测试条目" in row.inner_text() and "每小时" in row.inner_text()
                    assert "尚未运行" in row.inner_text()
                    row.get_by_role("button", name="立即运行").click()
                    flash = page.locator(".alert-success")
                    flash.wait_for()
                    assert "已排队：清点测试条目" in flash.inner_text()
                    deadline = time.monotonic() + 60  # the worker boots, then polls every 2 s
                    while "成功" not in row.inner_text():
                        assert worker.poll() is None, worker_log.read_text()[-3000:]
                        assert time.monotonic() < deadline, worker_log.read_text()[-3000:]
                        time.sleep(1)
                        page.reload()
                        row = page.locator("tr[data-job='fx_base.count_items']")
                    text = row.inner_text()
                    assert re.search(r"成功：处理 \d+ 项，用时", text), text
                    assert "手动" in text
                    shot = tmp_path / "jobs-page.png"
                    page.screenshot(path=str(shot), full_page=True)
                    print(f"\nscreenshot of the jobs page: {shot}")
                finally:
                    browser.close()
        finally:
            worker.send_signal(2)  # SIGINT: graceful stop, as ./scripts/run does
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=5)
    assert "Consumer exiting" in worker_log.read_text()
