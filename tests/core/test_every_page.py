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
from html.parser import HTMLParser
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


def test_every_edit_form_resaved_unchanged_saves(platform) -> None:
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


def test_every_add_form_with_valid_data_saves(platform) -> None:
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
