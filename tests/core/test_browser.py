"""The region admin page in a real headless Chromium (Debian's ``chromium``, driven by
Playwright) against a real HTTP server (gunicorn, two workers): a city admin enables a module
for the city, the menu shows it and its page opens; a user of another city sees neither.

Skipped when ``/usr/bin/chromium`` or the ``playwright`` package is missing, unless
``CI=true`` (then it fails: ``scripts/test`` installs chromium, ``.[test]`` installs
playwright). No ``playwright install``: the system browser is used.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FX_ADDONS, IN_CI, ROOT, cli, init_db, installer

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 10_000  # every explicit wait on a selector or a navigation
START_SECONDS = 60  # gunicorn must answer /login/ within this (a bound, not a speed check)
CITY_ADMIN_ROLE = {
    "地区管理员": (
        "* on RegionModules",
        "menu_access on Region Modules",
        "menu_access on Platform",
        "can_list on FxItemView",
        "menu_access on FX Items",
        "menu_access on FX",
    )
}
FX_LINK = ".navbar a[href$='/fxitemview/list/']"


def _missing(msg: str) -> None:
    if IN_CI:
        pytest.fail(f"{msg} (CI=true: the browser test must run)", pytrace=False)
    pytest.skip(msg)


def require_browser() -> None:
    """Skip (fail under CI=true) when the system Chromium or Playwright is missing."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _missing(f"{CHROMIUM} not found (Debian package 'chromium'; scripts/test installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the 'playwright' package is not installed (pip install -e '.[test]')")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(app: Any) -> None:
    """The platform installs fx_base; the city-admin role and a user in each of two cities."""
    from core.addons.security import sync_module_roles
    from core.db import db

    init_db(app)
    installer(app).install(["fx_base"])
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "tests", CITY_ADMIN_ROLE, [], "test")
    for username, region in (("cc_admin", "220100"), ("jl_user", "220200")):
        res = cli(app, "user", "create", "--username", username, "--password", "secret123",
                  "--role", "地区管理员", "--region", region)
        assert res.exit_code == 0, res.output
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@contextmanager
def serve(db_url: str, tmp_path: Path) -> Iterator[str]:
    """gunicorn -w 2 on a free port of 127.0.0.1; yields the base URL, stops it at the end."""
    settings = tmp_path / "settings.py"
    # 0: both workers see an enablement on their next request (the 2 s staleness bound of
    # the default setting is proven by test_workers.py)
    settings.write_text(
        "ERP_STATE_POLL_SECONDS = 0\nRATELIMIT_ENABLED = False\nERP_ADDONS_ENTRY_POINTS = False\n"
    )
    env = dict(os.environ)
    env.update(
        ERP_DATABASE_URL=db_url,
        ERP_ADDONS_PATH=str(FX_ADDONS),
        ERP_SECRET_KEY="browser-test-secret",
        ERP_CONFIG=str(settings),
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
             "core.wsgi:app"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(base + "/login/", timeout=5) as res:
                    if res.status == 200:
                        break
            except (OSError, urllib.error.URLError):
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def login(page: Any, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.wait_for_selector("input[name=username]")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "secret123")
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    page.wait_for_selector(".navbar a[href*='/logout']", state="attached")


def navbar_text(page: Any) -> str:
    page.wait_for_selector(".navbar", state="attached")
    return page.locator(".navbar").text_content() or ""


def test_city_admin_enables_module_in_browser_other_city_does_not_see_it(
    db_url: str, app_factory: Callable[..., Any], tmp_path: Path
) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    prepare(app_factory())
    asset_errors: list[str] = []

    def watch(page: Any) -> Any:
        page.set_default_timeout(WAIT_MS)
        page.set_default_navigation_timeout(WAIT_MS)
        page.on("response", lambda r: asset_errors.append(f"{r.status} {r.url}") if (
            r.request.resource_type in ("stylesheet", "script", "font") and r.status >= 400
        ) else None)
        return page

    with serve(db_url, tmp_path) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                     headless=True, timeout=15_000)
        try:
            # -- 长春市: the city admin enables fx_base for the city
            ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
            page = watch(ctx.new_page())
            login(page, base, "cc_admin")
            assert "FX Items" not in navbar_text(page)
            assert page.locator(FX_LINK).count() == 0
            assert page.goto(base + "/fxitemview/list/").status == 404

            page.goto(base + "/erp/tenant/220100/")
            row = page.locator("#region-modules tr[data-module='fx_base']")
            row.wait_for()
            assert row.get_attribute("data-enabled") == "no"
            assert "本地区模块：长春市" in page.locator("h2").inner_text()
            row.get_by_role("link", name="启用").click()
            page.wait_for_selector("#confirm-button")
            assert "Fixture base" in page.locator("h2").inner_text()
            page.click("#confirm-button")
            flash = page.locator(".alert-success")
            flash.wait_for()
            assert re.search(r"已为本地区启用：.*Fixture base", flash.inner_text()), flash.inner_text()
            page.wait_for_selector("#region-modules tr[data-module='fx_base'][data-enabled='yes']")
            assert "本级启用" in row.inner_text()
            shot = tmp_path / "city-admin-enabled.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the city admin's page after enabling: {shot}")

            page.reload()
            toggle = page.locator(".navbar .dropdown-toggle").filter(
                has_text=re.compile(r"^\s*FX\s*$")
            )
            toggle.wait_for()
            toggle.click()
            link = page.locator(FX_LINK)
            link.wait_for(state="visible")
            assert link.inner_text().strip() == "FX Items"
            link.click()
            page.wait_for_url(re.compile(r"/fxitemview/list/"))
            page.get_by_role("cell", name="Alpha", exact=True).wait_for()
            assert page.get_by_role("cell", name="Gamma", exact=True).is_visible()
            ctx.close()

            # -- 吉林市: another city's user sees neither the menu nor the page
            ctx = browser.new_context(locale="zh-CN")
            page = watch(ctx.new_page())
            login(page, base, "jl_user")
            assert "FX Items" not in navbar_text(page)
            assert page.locator(FX_LINK).count() == 0
            assert page.goto(base + "/fxitemview/list/").status == 404
            ctx.close()
        finally:
            browser.close()
    assert not asset_errors, f"stylesheets/scripts/fonts that failed to load: {asset_errors}"

