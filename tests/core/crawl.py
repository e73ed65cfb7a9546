"""The platform with every add-on and its demo data, and one crawl of its pages per user.

Shared by the crawl test (tests/core/test_every_page.py) and the tests that need the demo
platform (workbench, notices, browser journeys). What is visited is discovered (menu links,
each ModelView's list / show / edit / add pages for a demo record, each ModelRestApi's list
/ info / item, the links one click away), so a module added later is covered with no new
test code; the demo logins are read from the code (``core.cli.demo_logins``) at collection,
so that each user's crawl is a test of its own that xdist can give to any worker.

The ``platform`` fixture restores one database snapshot (tests/dbcache.py): every add-on
installed with its demo data, enabled for Jilin province (220000), the demo users created.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlparse

import pytest
from flask_appbuilder import ModelRestApi, ModelView

from tests import dbcache
from tests.conftest import ROOT, cli, installer
from tests.core.test_web import jwt, login_form

#: links the display crawl never follows: they change state, end the session, or are files
#: / other sites
DISPLAY_SKIP = re.compile(r"logout|/delete/|/action|/download/|/export|lang/|/static/|^#"
                          r"|javascript:|mailto:|/api/|/swagger|/erp-static/|/image/|\.xlsx"
                          r"|/erp/modules/|/transition/|/act/|/run/|/cleanup/bulk|/import"
                          r"|/scan/")
#: links the server-error check never follows: they change state or end the session
SERVER_SKIP = re.compile(r"logout|/delete/|/action|/download/|lang/|/erp/modules/|/static/|^#"
                         r"|javascript:|mailto:|/api/v1/security|/swagger|/erp-static/")
#: links followed from each start page (display crawl) and from each menu page (admin)
LINKS_PER_PAGE = 6
MENU_PAGE_LINKS = 8
ENGLISH_ERRORS = ("Not Found", "Forbidden", "Internal Server Error", "Method Not Allowed",
                  "Too Many Requests", "Bad Request", "Unauthorized", "Access is Denied",
                  "The requested URL")
PROGRAM_VALUES = re.compile(r"(?<![A-Za-z_])(None|True|False)(?![A-Za-z_])")
DEMO_PASSWORD = "demo12345"
ADMIN_PASSWORD = "admin12345"


# -- the add-ons and demo logins in the code -------------------------------------------------
def _is_project_addon(manifest) -> bool:
    return manifest.installable and manifest.path.resolve().parent == (ROOT / "addons").resolve()


def real_addons(app) -> list[str]:
    registry = installer(app).registry
    return [n for n in registry.order if _is_project_addon(registry[n])]


def code_demo_logins() -> list[str]:
    """The usernames ``erp demo users`` creates once every add-on of ``addons/`` is installed,
    read from the manifests and ``demo/users.yaml`` files (no app, no database)."""
    from core.addons.registry import AddonRegistry
    from core.cli import demo_logins

    registry = AddonRegistry((), use_entry_points=False)
    names = [n for n in registry.order if _is_project_addon(registry[n])]
    return [e["username"] for e in demo_logins(registry, names)]


# -- the platform ------------------------------------------------------------------------------
def _platform_setup(app) -> dict:
    names = real_addons(app)
    res = cli(app, "tenant", "enable", "220000", *names)
    assert res.exit_code == 0, res.output
    res = cli(app, "demo", "users")
    assert res.exit_code == 0, res.output
    lines = [line for line in res.stdout.splitlines()[3:] if line.strip()]
    return {"users": [line.split()[1] for line in lines],
            "roles": sorted({line.split()[0] for line in lines})}


@pytest.fixture
def platform(app):
    """(app, demo usernames): every add-on of ``addons/`` installed with its demo data,
    enabled for the province, the demo users created (one snapshot, restored)."""
    installer(app).install(real_addons(app), demo=True)
    meta = dbcache.cached(app, f"platform:{dbcache.source_key(_platform_setup)}",
                          lambda: _platform_setup(app))
    assert "Public" not in meta["roles"], "the anonymous role gets no demo login"
    return app, list(meta["users"])


# -- what to visit -------------------------------------------------------------------------------
def menu_urls(app) -> list[str]:
    """Every leaf of the platform's whole menu (whoever may see it)."""
    menu = app.appbuilder.menu
    out: list[str] = []

    def walk(items) -> None:
        for item in items:
            if item.childs:
                walk(item.childs)
            elif item.name != "-":
                with app.test_request_context():
                    url = item.get_url()
                if url and not SERVER_SKIP.search(url) and url not in out:
                    out.append(url)

    walk(menu.menu)
    return out


def first_id(view) -> object | None:
    """A record the view itself would list (its base filters applied), or None."""
    filters = view.datamodel.get_filters(view.search_columns)
    for flt in view.base_filters or ():
        filters.add_filter(flt[0], flt[1], flt[2])
    _, items = view.datamodel.query(filters, page=0, page_size=1)
    return view.datamodel.get_pk_value(items[0]) if items else None


def view_urls(app) -> list[str]:
    """Each add-on ModelView's list / add / show / edit and each ModelRestApi's list / _info
    / item (``/api/...``), for a record the view would list."""
    state = app.extensions["erp"]
    names = set(real_addons(app))
    out: list[str] = []
    with app.app_context():
        for module, views in state.views_by_module.items():
            if module not in names:
                continue
            for view in views:
                if isinstance(view, ModelView):
                    base = view.route_base
                    out += [f"{base}/list/", f"{base}/add"]
                    ident = first_id(view)
                    if ident is not None:
                        out += [f"{base}/show/{ident}", f"{base}/edit/{ident}"]
                elif isinstance(view, ModelRestApi):
                    base = view.route_base
                    out += [f"{base}/", f"{base}/_info"]
                    ident = first_id(view)
                    if ident is not None:
                        out.append(f"{base}/{ident}")
    return out


def links(page: str, base: str, skip: re.Pattern[str]) -> list[str]:
    found: list[str] = []
    for href in re.findall(r'href="([^"]+)"', page):
        href = htmllib.unescape(href)
        url = urljoin(base, href)
        parsed = urlparse(url)
        if parsed.netloc and parsed.netloc != "localhost":
            continue
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        if path.startswith("/") and not skip.search(path) and path not in found:
            found.append(path)
    return found


# -- what a user reads -------------------------------------------------------------------------
def visible_text(page: str) -> str:
    page = re.sub(r"(?is)<(script|style|noscript)[^>]*>.*?</\1>", " ", page)
    page = re.sub(r"(?s)<!--.*?-->", " ", page)
    buttons = []
    for tag in re.findall(r"(?i)<input[^>]*>", page):
        if re.search(r'(?i)type="(submit|button)"', tag):
            value = re.search(r'(?i)\bvalue="([^"]*)"', tag)
            if value:
                buttons.append(value.group(1))
    extra = " ".join(buttons)
    text = re.sub(r"<[^>]+>", " ", page)
    return htmllib.unescape(f"{text} {extra}")


def module_code_pattern(app) -> re.Pattern[str]:
    codes = sorted((n for n in real_addons(app) if n != "base"), key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z_/.])(" + "|".join(map(re.escape, codes)) + r")(?![A-Za-z_])")


def display_problems(status: int, page: str, module_codes: re.Pattern[str]) -> list[str]:
    """A server error, an English error page, ``None``/``True``/``False`` or a module's
    technical name in the text a user reads."""
    out = []
    if status >= 500:
        out.append(f"{status}")
    text = visible_text(page)
    for english in ENGLISH_ERRORS:
        if english in text:
            out.append(f"English error page ({english!r})")
    for m in PROGRAM_VALUES.finditer(text):
        out.append(f"shows {m.group(1)!r}: …{text[max(m.start() - 40, 0):m.end() + 20].strip()}…")
    for m in module_codes.finditer(text):
        out.append(f"shows the module code {m.group(0)!r}: "
                   f"…{text[max(m.start() - 40, 0):m.end() + 20].strip()}…")
    return out


# -- one crawl per user ------------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    content_type: str = ""
    text: str = ""
    error: str = ""  # the exception a server error raised (TESTING propagates it)


@dataclass
class Crawl:
    """One logged-in user's pages, each fetched once however many checks read it."""

    app: object
    username: str
    password: str
    answers: dict[str, Answer] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = self.app.test_client()
        login_form(self.client, self.username, self.password)

    def get(self, url: str) -> Answer:
        if url not in self.answers:
            try:
                res = self.client.get(url)
            except Exception as exc:  # TESTING propagates a server error: report it, go on
                self.answers[url] = Answer(500, error=f"{type(exc).__name__}: {exc}")
            else:
                self.answers[url] = Answer(res.status_code, res.content_type or "",
                                           res.get_data(as_text=True))
        return self.answers[url]

    def report(self, url: str, what: str) -> None:
        self.problems.append(f"{self.username}: GET {url} -> {what}"[:600])

    def no_server_error(self, url: str) -> Answer:
        answer = self.get(url)
        if answer.status >= 500:
            self.report(url, f"{answer.status} {answer.error}".strip())
        return answer

    def words_not_values(self, extra: list[str], module_codes: re.Pattern[str]) -> int:
        """The display crawl: the landing page, the user's own navbar links, ``extra`` and up
        to LINKS_PER_PAGE links of each of those; every HTML answer shows words. Returns the
        number of pages visited."""
        home = self.get("/")
        start = ["/", *links(home.text, "/", DISPLAY_SKIP), *extra]
        seen: set[str] = set()
        queue = [(u, True) for u in start]
        visited = 0
        while queue:
            url, follow = queue.pop(0)
            if url in seen or DISPLAY_SKIP.search(url):
                continue
            seen.add(url)
            visited += 1
            answer = self.get(url)
            if answer.error:
                self.report(url, f"500 ({answer.error})")
                continue
            if "text/html" not in answer.content_type and answer.status < 500:
                continue
            for p in display_problems(answer.status, answer.text, module_codes):
                self.report(url, p)
            if follow and answer.status == 200:
                for link in links(answer.text, url, DISPLAY_SKIP)[:LINKS_PER_PAGE]:
                    if link not in seen:
                        queue.append((link, False))
        return visited

    def menu_pages(self, menu: list[str], follow: bool) -> None:
        """Every menu page answers below 500; with ``follow`` (the admin, who may open them
        all) each is in Chinese and up to MENU_PAGE_LINKS of its links answer below 500."""
        seen = set(menu)
        for url in menu:
            answer = self.no_server_error(url)
            if not follow or answer.status != 200 or "text/html" not in answer.content_type:
                continue
            page = answer.text
            if not ('lang="zh' in page or "zh_" in page or "首页" in page or "管理" in page):
                self.report(url, "a page not in Chinese")
            for link in links(page, url, SERVER_SKIP)[:MENU_PAGE_LINKS]:
                if link not in seen:
                    seen.add(link)
                    self.no_server_error(link)

    def read_apis(self, api_urls: list[str], allowed: Callable[[int], bool]) -> None:
        """Each read API with the user's JWT: no server error, a status ``allowed``."""
        headers = jwt(self.client, self.username, self.password)
        for url in api_urls:
            try:
                res = self.client.get(url, headers=headers)
            except Exception as exc:
                self.report(f"{url} (API)", f"500 ({type(exc).__name__}: {exc})")
                continue
            if res.status_code >= 500 or not allowed(res.status_code):
                self.report(f"{url} (API)", f"{res.status_code}")


def credentials(username: str) -> tuple[str, str]:
    return username, ADMIN_PASSWORD if username == "admin" else DEMO_PASSWORD


def crawl_users() -> list[str]:
    """Who is crawled: the platform admin and every demo login (from the code)."""
    return ["admin", *code_demo_logins()]
