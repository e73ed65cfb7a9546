"""Every page and every read API of every add-on in ``addons/``, with all demo data loaded,
as the platform admin and as each demo user: nothing answers 5xx, and the pages show words.

One crawl per user (a test each, so xdist spreads them over its workers; each restores the
same platform snapshot), every page fetched once and checked for everything:

- no server error: every menu page; as the admin also up to 8 links of each menu page; each
  ModelView's list / show / edit / add page for a demo record; each ModelRestApi's list /
  info / item with the user's JWT (as a demo user: 200, 401, 403 or 404);
- words, not program values: the landing page, the links of the user's own navbar, every
  ModelView page above, and up to 6 links of each of those show no server error, no English
  error page, and none of ``None``, ``True``, ``False`` or a module's technical name
  (``emall_livestock``) in the text a user reads (the page without its tags, scripts and
  styles, plus the values of buttons and inputs). All failures of a user are reported
  together.

What is visited is discovered (tests/core/crawl.py), so a module added later is covered with
no new test code. Then the forms: every edit form re-posted unchanged saves, every add form
with valid data saves. What the pages show beyond that is each module's own tests' business.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask_appbuilder import ModelView

from tests.conftest import cli
from tests.core.crawl import (  # noqa: F401  (platform, real_addons, first_id: fixture and
    Crawl,  # helpers other test files import from here)
    crawl_users,
    credentials,
    first_id,
    menu_urls,
    module_code_pattern,
    platform,
    real_addons,
    view_urls,
)
from tests.core.test_web import login_form

pytestmark = pytest.mark.slow

#: the platform admin and every demo login, read from the code at collection
USERS = crawl_users()


@pytest.fixture
def crawl_platform(platform):  # noqa: F811
    """The platform with the demo expert login linked to its expert profile (so the expert's
    own pages have content)."""
    from tests import dbcache

    app, users = platform

    def link() -> dict:
        res = cli(app, "expert", "link-user", "expert", "ZJ0000074")
        assert res.exit_code == 0, res.output
        return {}

    dbcache.cached(app, "crawl:expert-link-user:expert:ZJ0000074", link)
    return app, users


def test_every_demo_login_is_crawled(platform) -> None:  # noqa: F811
    """The users crawled (read from the code at collection) are exactly the logins ``erp demo
    users`` made on the platform, one per role at least, and the anonymous role has none."""
    app, users = platform
    assert len(users) >= 7, users
    assert USERS == ["admin", *users]


def _crawl_params() -> list:
    """The admin (who opens every page) on both databases; the demo users alternately on
    SQLite and on PostgreSQL when both passes run (each user's crawl once per CI run, each
    kind of user on both dialects: docs/decisions.md, 'CI: each dialect-blind check once')."""
    out = [pytest.param("admin", id="admin")]
    for i, user in enumerate(u for u in USERS if u != "admin"):
        out.append(pytest.param(user, id=user, marks=pytest.mark.one_backend(
            "sqlite" if i % 2 == 0 else "postgresql")))
    return out


@pytest.mark.parametrize("username", _crawl_params())
def test_every_page_and_read_api_as_each_user(crawl_platform, username: str) -> None:
    app, _ = crawl_platform
    urls = view_urls(app)
    pages = [u for u in urls if not u.startswith("/api/")]
    apis = [u for u in urls if u.startswith("/api/")]
    assert len(pages) >= 100 and len(apis) >= 50, (len(pages), len(apis))
    crawl = Crawl(app, *credentials(username))
    visited = crawl.words_not_values(pages, module_code_pattern(app))
    admin = username == "admin"
    crawl.menu_pages(menu_urls(app), follow=admin)
    for url in pages:  # the display crawl fetched them all; anything it skipped, here
        crawl.no_server_error(url)
    crawl.read_apis(apis, (lambda s: True) if admin else (lambda s: s in (200, 401, 403, 404)))
    assert crawl.get("/").status == 200, "the user lands on the workbench"
    assert visited >= len(set(pages)), f"the crawl visited only {visited} pages"
    assert not crawl.problems, (f"{len(crawl.problems)} problems on {len(crawl.answers)} pages:\n"
                                + "\n".join(crawl.problems))


# -- forms: every edit form re-posted unchanged saves; add forms save -----------------------------
class _Form(HTMLParser):
    """The fields of the page's model form (``<form id="model_form">``): name -> value(s)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_form = False
        self.fields: list[tuple[str, str]] = []
        self.kinds: dict[str, str] = {}
        self.select: str | None = None
        self.select_first: dict[str, str] = {}
        self.selected: dict[str, bool] = {}
        self.first_option: dict[str, str] = {}
        self.multiple: set[str] = set()
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form" and (a.get("id") == "model_form" or "model_form" in a.get("class", "")):
            self.in_form = True
        if not self.in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            self.kinds[name] = kind
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value") or "y"))
            elif kind not in ("submit", "button", "file"):
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self.select = name
            self.kinds[name] = "select"
            self.selected[name] = False
            if "multiple" in a:
                self.multiple.add(name)
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.select not in self.first_option:
                self.first_option[self.select] = value
            if value and self.select not in self.select_first:
                self.select_first[self.select] = value
            if "selected" in a:
                self.fields.append((self.select, value))
                self.selected[self.select] = True
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""
            self.kinds[name] = "textarea"

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.in_form:
            self.in_form = False
        elif tag == "select" and self.select:
            name = self.select
            if not self.selected[name] and name not in self.multiple and name in self.first_option:
                self.fields.append((name, self.first_option[name]))  # what a browser sends
            self.select = None
        elif tag == "textarea" and self.textarea:
            text = self.text  # a browser drops the newline right after <textarea>
            text = text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text
            self.fields.append((self.textarea, text))
            self.textarea = None


def parse_form(html: str) -> _Form:
    form = _Form()
    form.feed(html)
    return form


FIELD_ERROR = re.compile(
    r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"[^>]*>(?:(?!<(?:input|select|textarea)\b).)*?'
    r'<span class="help-block">[^<]*</span>\s*<div class="alert alert-danger">(.*?)</div>', re.S)


def field_errors(html: str) -> dict[str, str]:
    """{field id: the error FAB shows under it}."""
    return {m.group(1): re.sub(r"\s+", " ", m.group(2)).strip()
            for m in FIELD_ERROR.finditer(html)}


def form_errors_of(html: str) -> str:
    found = [f"{k}: {v}" for k, v in field_errors(html).items()]
    found += re.findall(r'class="alert alert-danger[^"]*"[^>]*>\s*<button[^>]*>[^<]*</button>(.*?)</div>',
                        html, re.S)
    return " | ".join(re.sub(r"<[^>]+>|\s+", " ", f).strip() for f in found)


def model_views(app) -> list:
    state = app.extensions["erp"]
    names = set(real_addons(app))
    return [v for module, views in state.views_by_module.items() if module in names
            for v in views if isinstance(v, ModelView) and "can_edit" in (v.base_permissions or ())]


def post_form(client, url: str, data: list[tuple[str, str]]):
    from werkzeug.datastructures import MultiDict

    return client.post(url, data=MultiDict(data))


def resave(client, url: str) -> tuple[int, str]:
    """GET an edit form and post it back unchanged: (status, errors shown)."""
    page = client.get(url)
    if page.status_code != 200:
        return page.status_code, ""
    form = parse_form(page.get_data(as_text=True))
    if not form.fields:
        return 0, "no form"
    res = post_form(client, url, form.fields)
    return res.status_code, form_errors_of(res.get_data(as_text=True)) if res.status_code == 200 else ""


def owners(app, users: list[str], view) -> list[str]:
    """Demo users whose roles may edit the view's records (the roles owning the model)."""
    from core.db import db
    from core.security import ErpUser

    out = []
    with app.app_context():
        for username in users:
            user = db.session.query(ErpUser).filter_by(username=username).one_or_none()
            if user is None:
                continue
            perms = {(p.permission.name, p.view_menu.name) for r in user.roles
                     for p in r.permissions}
            if ("can_edit", view.class_permission_name) in perms:
                out.append(username)
    return out


def test_every_edit_form_resaved_unchanged_saves(platform) -> None:  # noqa: F811
    """As the admin and as a demo user of each role owning the model: an edit form posted back
    exactly as the page drew it saves (checkboxes left unticked, blank optional choices,
    money and dates as shown). Catches required non-null booleans and the like."""
    app, users = platform
    failures = []
    admin = app.test_client()
    login_form(admin)
    clients = {"admin": admin}
    for view in model_views(app):
        with app.app_context():
            ident = first_id(view)
        if ident is None:
            continue
        url = f"{view.route_base}/edit/{ident}"
        who = ["admin", *owners(app, users, view)[:1]]
        for username in who:
            if username not in clients:
                clients[username] = app.test_client()
                login_form(clients[username], username, "demo12345")
            status, errors = resave(clients[username], url)
            if status in (403, 404) and username != "admin":
                continue  # the record is outside this user's reach; the admin covers it
            if status != 302:
                failures.append(f"{username}: {url} -> {status} {errors}")
    assert not failures, "\n".join(failures)


def test_every_add_form_with_valid_data_saves(platform) -> None:  # noqa: F811
    """As the admin: each add form, filled from a demo record's edit form (unique text made
    new) and the add form's own choices, saves; a refusal is a business rule's field message,
    never a form-level trap (a required checkbox, a blank optional choice)."""
    app, _ = platform
    client = app.test_client()
    login_form(client)
    traps = []
    saved = refused = 0
    for n, view in enumerate(model_views(app)):
        if "can_add" not in (view.base_permissions or ()):
            continue
        page = client.get(f"{view.route_base}/add")
        if page.status_code != 200:
            continue
        add = parse_form(page.get_data(as_text=True))
        with app.app_context():
            ident = first_id(view)
        base: dict[str, list[str]] = {}
        if ident is not None:
            edit = client.get(f"{view.route_base}/edit/{ident}")
            if edit.status_code == 200:
                for k, v in parse_form(edit.get_data(as_text=True)).fields:
                    base.setdefault(k, []).append(v)
        data: list[tuple[str, str]] = []
        for name, value in add.fields:
            if name == "csrf_token":
                data.append((name, value))
                continue
            kind = add.kinds.get(name)
            if name in base and kind not in ("checkbox", "password"):
                values = base.pop(name)
                if kind in ("text", "textarea") and values and values[0]:
                    values = [f"{values[0][:40]}T{n}"]  # a unique text made new
                data += [(name, v) for v in values]
            elif kind == "select" and not value and name in add.select_first:
                data.append((name, add.select_first[name]))
            elif kind in ("password",):
                data.append((name, "Test-12345678"))
            elif not value and kind in ("text", "textarea"):
                data.append((name, f"T{n}测试"))  # a field no demo record fills
            elif not value and kind == "email":
                data.append((name, f"t{n}@example.com"))
            elif not value and kind == "date":
                data.append((name, "2025-03-20"))
            elif not value and kind == "number":
                data.append((name, "1"))
            else:
                data.append((name, value))
        for name, first in add.select_first.items():
            if not any(k == name for k, _ in data):
                data.append((name, first))
        res = post_form(client, f"{view.route_base}/add", data)
        assert res.status_code < 500, (view.route_base, res.status_code)
        if res.status_code == 302:
            saved += 1
            continue
        refused += 1
        errors = field_errors(res.get_data(as_text=True))
        for name, text in errors.items():
            if add.kinds.get(name) == "checkbox":
                traps.append(f"{view.route_base}/add: the checkbox {name} was refused: {text}")
            elif any(t in text for t in ("该字段是必填字段", "This field is required",
                                         "不是有效的选择", "Not a valid choice")):
                traps.append(f"{view.route_base}/add: {name}: {text}")
    assert not traps, "\n".join(traps)
    assert saved > 0, "at least the plain add forms save"
