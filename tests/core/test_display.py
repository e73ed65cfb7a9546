"""Every page of every add-on, as the platform admin and as every demo user, shows words:
no server error, no English error page, and none of the program values ``None``, ``True``,
``False`` or a module's technical name (``emall_livestock``) in the rendered text.

What is visited is discovered (so a module added later is covered with no new test code):
the landing page, the links of the user's own navbar, every ModelView's list / show / edit /
add pages for a demo record, and the links one click away from each of those pages. The
text checked is what a user reads: the page without its tags, scripts and styles, plus the
values of buttons and inputs. All failures are reported together.
"""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import urljoin, urlparse

import pytest
from flask_appbuilder import ModelView

from tests.conftest import cli
from tests.core.test_every_page import first_id, platform, real_addons  # noqa: F401
from tests.core.test_web import login_form

pytestmark = pytest.mark.slow

#: links never followed: they change state, end the session, or are files / other sites
SKIP = re.compile(r"logout|/delete/|/action|/download/|/export|lang/|/static/|^#|javascript:"
                  r"|mailto:|/api/|/swagger|/erp-static/|/image/|\.xlsx|/erp/modules/"
                  r"|/transition/|/act/|/run/|/cleanup/bulk|/import|/scan/")
LINKS_PER_PAGE = 6
ENGLISH_ERRORS = ("Not Found", "Forbidden", "Internal Server Error", "Method Not Allowed",
                  "Too Many Requests", "Bad Request", "Unauthorized", "Access is Denied",
                  "The requested URL")
PROGRAM_VALUES = re.compile(r"(?<![A-Za-z_])(None|True|False)(?![A-Za-z_])")


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


def problems_of(url: str, status: int, page: str, module_codes: re.Pattern[str]) -> list[str]:
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


def model_view_urls(app) -> list[str]:
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
    return out


def links(page: str, base: str) -> list[str]:
    found: list[str] = []
    for href in re.findall(r'href="([^"]+)"', page):
        href = htmllib.unescape(href)
        url = urljoin(base, href)
        parsed = urlparse(url)
        if parsed.netloc and parsed.netloc != "localhost":
            continue
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        if path.startswith("/") and not SKIP.search(path) and path not in found:
            found.append(path)
    return found


def crawl(app, username: str, password: str, extra: list[str],
          module_codes: re.Pattern[str]) -> tuple[int, list[str]]:
    client = app.test_client()
    login_form(client, username, password)
    home = client.get("/")
    start = ["/", *links(home.get_data(as_text=True), "/"), *extra]
    seen: set[str] = set()
    found: list[str] = []
    queue = [(u, True) for u in start]
    visited = 0
    while queue:
        url, follow = queue.pop(0)
        if url in seen or SKIP.search(url):
            continue
        seen.add(url)
        visited += 1
        try:
            res = client.get(url)
        except Exception as exc:  # TESTING propagates a server error: report it, go on
            found.append(f"{username}: GET {url} -> 500 ({type(exc).__name__}: {exc})"[:300])
            continue
        if "text/html" not in (res.content_type or "") and res.status_code < 500:
            continue
        page = res.get_data(as_text=True)
        for p in problems_of(url, res.status_code, page, module_codes):
            found.append(f"{username}: GET {url} -> {p}")
        if follow and res.status_code == 200:
            for link in links(page, url)[:LINKS_PER_PAGE]:
                if link not in seen:
                    queue.append((link, False))
    return visited, found


def test_every_page_as_every_user_shows_words_not_program_values(platform) -> None:  # noqa: F811
    app, users = platform
    res = cli(app, "expert", "link-user", "expert", "ZJ0000074")
    assert res.exit_code == 0, res.output
    codes = sorted((n for n in real_addons(app) if n != "base"), key=len, reverse=True)
    module_codes = re.compile(r"(?<![A-Za-z_/.])(" + "|".join(map(re.escape, codes)) +
                              r")(?![A-Za-z_])")
    extra = model_view_urls(app)
    problems: list[str] = []
    total = 0
    for username in ["admin", *users]:
        password = "admin12345" if username == "admin" else "demo12345"
        visited, found = crawl(app, username, password, extra, module_codes)
        total += visited
        problems += found
    assert total > 500, f"the crawl visited only {total} pages"
    assert not problems, f"{len(problems)} problems on {total} pages:\n" + "\n".join(problems)
