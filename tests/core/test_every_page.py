"""Every page and every read API of every add-on in ``addons/``, with all demo data loaded,
as the platform admin and as each demo user: nothing answers 5xx.

Like the scoping test, this discovers what to visit (menu links, each ModelView's list /
show / edit / add pages for a demo record, each ModelRestApi's list / info / item, and the
links one click away from every menu page), so a module added later is covered with no
new test code. It asserts only "no server error" and "the page is in Chinese"; what the
pages show is each module's own tests' business.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlparse

import pytest
from flask_appbuilder import ModelRestApi, ModelView

from tests.conftest import ROOT, cli, installer
from tests.core.test_web import jwt, login_form

pytestmark = pytest.mark.slow

#: links never followed: they change state or end the session
SKIP = re.compile(r"logout|/delete/|/action|/download/|lang/|/erp/modules/|/static/|^#|javascript:"
                  r"|mailto:|/api/v1/security|/swagger|/erp-static/")
PER_PAGE_LINKS = 8


def real_addons(app) -> list[str]:
    registry = installer(app).registry
    root = (ROOT / "addons").resolve()
    return [n for n in registry.order
            if registry[n].installable and registry[n].path.resolve().parent == root]


@pytest.fixture
def platform(app):
    inst = installer(app)
    inst.install(real_addons(app), demo=True)
    res = cli(app, "tenant", "enable", "220000", *real_addons(app))
    assert res.exit_code == 0, res.output
    res = cli(app, "demo", "users")
    assert res.exit_code == 0, res.output
    users = [line.split()[1] for line in res.stdout.splitlines()[3:] if line.strip()]
    roles = {line.split()[0] for line in res.stdout.splitlines()[3:] if line.strip()}
    assert "Public" not in roles, "the anonymous role gets no demo login"
    return app, users


def menu_urls(app) -> list[str]:
    menu = app.appbuilder.menu
    out: list[str] = []

    def walk(items) -> None:
        for item in items:
            if item.childs:
                walk(item.childs)
            elif item.name != "-":
                with app.test_request_context():
                    url = item.get_url()
                if url and not SKIP.search(url) and url not in out:
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


def check(client, url: str, who: str, headers: dict | None = None):
    res = client.get(url, headers=headers or {})
    assert res.status_code < 500, f"{who}: GET {url} -> {res.status_code}"
    return res


def links(html: str, base: str) -> list[str]:
    found = []
    for href in re.findall(r'href="([^"]+)"', html):
        href = href.replace("&amp;", "&")
        url = urljoin(base, href)
        parsed = urlparse(url)
        if parsed.netloc and parsed.netloc != "localhost":
            continue
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        if path.startswith("/") and not SKIP.search(path) and path not in found:
            found.append(path)
    return found


def test_every_page_and_read_api_as_admin(platform) -> None:
    app, _ = platform
    client = app.test_client()
    login_form(client)
    menu = menu_urls(app)
    seen: set[str] = set(menu)
    for url in menu:
        res = check(client, url, "admin")
        if res.status_code == 200 and "text/html" in res.content_type:
            html = res.get_data(as_text=True)
            assert 'lang="zh' in html or "zh_" in html or "首页" in html or "管理" in html, url
            for link in links(html, url)[:PER_PAGE_LINKS]:
                if link not in seen:
                    seen.add(link)
                    check(client, link, "admin")
    for url in view_urls(app):
        if url.startswith("/api/"):
            continue
        if url not in seen:
            check(client, url, "admin")
    headers = jwt(client)
    for url in view_urls(app):
        if url.startswith("/api/"):
            check(client, url, "admin", headers)


def test_every_menu_page_and_read_api_as_each_demo_user(platform) -> None:
    app, users = platform
    assert len(users) >= 7, users
    for username in users:
        client = app.test_client()
        login_form(client, username, "demo12345")
        for url in menu_urls(app):
            check(client, url, username)
        headers = jwt(client, username, "demo12345")
        for url in view_urls(app):
            if url.startswith("/api/"):
                res = check(client, url, username, headers)
                assert res.status_code in (200, 401, 403, 404), (username, url, res.status_code)
