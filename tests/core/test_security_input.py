# ruff: noqa: F811  (the em fixture is imported from em_world)
"""Issue 12 findings 1 (URL schemes, CSP), 5 (input that caused 500s), 8 (request sizes),
10 (ERP_ENV and the secret key): each on SQLite and PostgreSQL where a database is involved."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.app import ConfigError, create_app
from tests.addons.emall.em_world import em  # noqa: F401
from tests.conftest import query
from tests.core.test_web import jwt

LONG_KEY = "k" * 40


# -- finding 1: URL fields, safe_url, CSP ----------------------------------------------------
def test_safe_url_filter_keeps_http_and_site_paths_only() -> None:
    from core.web_security import safe_url, url_scheme_ok

    assert safe_url("https://example.com/a?b=1") == "https://example.com/a?b=1"
    assert safe_url("http://x.cn") == "http://x.cn"
    assert safe_url("/emall/item/3") == "/emall/item/3"
    for bad in ("javascript:alert(3)", "JaVaScRiPt:alert(3)", " javascript:alert(1)",
                "java\tscript:alert(1)", "data:text/html,<script>1</script>", "vbscript:x",
                "//evil.example/x", "/\\evil.example", "https:", "ftp://x.cn", None, ""):
        assert safe_url(bad) == "#", bad
    assert not url_scheme_ok("javascript://example.com/%0Aalert(1)")


def test_every_url_column_of_every_model_is_checked(app) -> None:
    """Every String column that looks like a URL is a URL column (scheme-checked)."""
    from sqlalchemy import String

    from core.db import is_url_column, metadata

    looks_like_url = [
        f"{t.name}.{c.name}" for t in metadata.tables.values() for c in t.columns
        if isinstance(c.type, String) and re.search(r"(^|_)(url|website|homepage|href)$", c.name)
    ]
    unchecked = [n for n in looks_like_url
                 if not is_url_column(metadata.tables[n.split(".")[0]].c[n.split(".")[1]])]
    assert unchecked == []
    assert "emall_listing.reference_url" in looks_like_url


def test_listing_with_a_javascript_url_is_refused_and_never_rendered(em) -> None:
    from addons.emall.models import EmallListing
    from core.db import db

    em.admit("sup_a", "A0201")
    for bad in ("javascript:alert(3)", "data:text/html;base64,PHNjcmlwdD4=", "ftp://x.cn/a"):
        em.seq += 1
        res = em.call("POST", "emall_listing/", "sup_a", {
            "category": em.cat["A02010105"], "name": "台式计算机", "brand": "长城",
            "model": f"XSS-{em.seq}", "price": "5000.00", "reference_price": "5200.00",
            "stock": 5, "regions": [em.region["220000"]], "reference_url": bad,
            "attributes": __import__("tests.addons.emall.em_world",
                                     fromlist=["DESKTOP_ATTRS"]).DESKTOP_ATTRS})
        assert res.status_code == 422, res.get_data(as_text=True)
        assert res.json["message"]["reference_url"] == ["网址必须以 http:// 或 https:// 开头"]
    lid = em.listing("sup_a", reference_url="https://www.example.com/p/1")
    res = em.call("PUT", f"emall_listing/{lid}", "sup_a", {"reference_url": "javascript:alert(3)"})
    assert res.status_code in (409, 422), res.get_data(as_text=True)
    # a value stored before the rule (or by SQL) is still never rendered as a link
    with em.app.app_context():
        db.session.execute(EmallListing.__table__.update().where(EmallListing.id == lid)
                           .values(reference_url="javascript:alert(3)"))
        db.session.commit()
    page = em.app.test_client().get(f"/emall/item/{lid}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "javascript:alert" not in html
    assert 'href="#"' in html


def test_a_write_of_a_bad_url_by_any_path_is_a_field_error(em) -> None:
    from addons.emall.models import EmallListing
    from core.db import db
    from core.errors import RuleError

    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a")
    with em.app.app_context():
        item = db.session.get(EmallListing, lid, execution_options={"erp_unscoped": True})
        item.reference_url = "javascript:alert(1)"
        with pytest.raises(RuleError) as info:
            db.session.flush()
        assert info.value.messages == {"reference_url": ["网址必须以 http:// 或 https:// 开头"]}
        db.session.rollback()


def test_csp_has_per_request_nonces_and_no_unsafe_inline_scripts(app) -> None:
    client = app.test_client()
    seen = set()
    for _ in range(2):
        res = client.get("/login/")
        csp = res.headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]+)", csp).group(1)
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert "http" not in csp, "no CDN"
        nonce = re.search(r"'nonce-([^']+)'", script_src).group(1)
        assert len(nonce) >= 16 and nonce not in seen
        seen.add(nonce)
        html = res.get_data(as_text=True)
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
        assert not re.search(r"\son[a-z]+=\"", html), "no inline event handlers"


def test_every_core_and_addon_template_script_carries_the_nonce() -> None:
    root = Path(__file__).resolve().parents[2]
    offenders = []
    for path in [*root.glob("core/templates/**/*.html"), *root.glob("addons/*/templates/**/*.html")]:
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "csp_nonce()" not in tag and "get_nonce()" not in tag:
                offenders.append(f"{path.relative_to(root)}: {tag}")
        for m in re.finditer(r"\son(click|change|submit|load|input|keyup|keydown)=", text):
            offenders.append(f"{path.relative_to(root)}: inline handler {m.group(0).strip()}")
        if re.search(r"href=\"javascript:", text):
            offenders.append(f"{path.relative_to(root)}: javascript: link")
    assert offenders == []


# -- finding 5: input that caused 500s ---------------------------------------------------------
def test_q_that_is_not_an_object_is_400_on_every_model_api(app) -> None:
    from tests.conftest import installer

    installer(app).install(["fx_base"])
    client = app.test_client()
    headers = jwt(client)
    apis = [v for v in app.appbuilder.baseviews
            if hasattr(v, "datamodel") and getattr(v, "route_base", "").startswith("/api/v1/")]
    assert apis
    for view in apis:
        for q in ("1e%2B5", "!(1,2)", "'text'", "5", "!t"):
            res = client.get(f"{view.route_base}/?q={q}", headers=headers)
            assert res.status_code in (400, 404), (view.route_base, q, res.status_code)
            if res.status_code == 400:
                assert res.json["status"] == 400 and res.json["code"] == "invalid_query"
    res = client.get("/api/v1/fx_item/?q=" + "(a:" * 200 + ")" * 200, headers=headers)
    assert res.status_code == 400 and res.json["code"] == "invalid_query"


@pytest.mark.parametrize("path", ["/api/v1/security/login", "/api/v1/fx_item/"])
def test_deeply_nested_json_is_refused_not_a_recursion_error(app, path) -> None:
    from tests.conftest import installer

    installer(app).install(["fx_base"])
    client = app.test_client()
    headers = jwt(client) if "fx_item" in path else {}
    body = "[" * 1000 + "]" * 1000
    assert len(body) == 2000
    res = client.post(path, data=body, content_type="application/json", headers=headers)
    assert res.status_code in (400, 422), res.get_data(as_text=True)
    assert res.json["status"] == res.status_code and "嵌套" in str(res.json["message"])
    nested = '{"username": ' + '{"a": ' * 500 + "1" + "}" * 500 + "}"
    res = client.post(path, data=nested, content_type="application/json", headers=headers)
    assert res.status_code in (400, 422)


def test_lone_surrogates_are_refused_at_login_and_anywhere(app) -> None:
    from tests.conftest import installer

    installer(app).install(["fx_base"])
    client = app.test_client()
    raw = '{"username": "\\ud800", "password": "x", "provider": "db"}'
    res = client.post("/api/v1/security/login", data=raw, content_type="application/json")
    assert res.status_code in (400, 422) and res.json["status"] == res.status_code
    headers = jwt(client)
    res = client.post("/api/v1/fx_item/", data='{"code": "S1", "name": "\\udfff"}',
                      content_type="application/json", headers=headers)
    assert res.status_code == 422 and "name" in res.json["message"]
    res = client.get('/api/v1/fx_item/?q=(filters:!((col:name,opr:ct,value:"\\ud800")))',
                     headers=headers)
    assert res.status_code in (200, 400)
    q = '{"filters": [{"col": "name", "opr": "ct", "value": "\\ud800"}]}'
    res = client.get("/api/v1/fx_item/", query_string={"q": q}, headers=headers)
    assert res.status_code == 400 and res.json["code"] == "invalid_query"
    assert query(app, "SELECT COUNT(*) FROM fx_item WHERE code = 'S1'") == [(0,)]


# -- finding 8: request sizes ------------------------------------------------------------------
def test_bodies_over_the_limits_are_413_before_they_are_read(app_factory) -> None:
    from tests.conftest import init_db

    app = app_factory(MAX_CONTENT_LENGTH=1024 * 1024)
    init_db(app)
    client = app.test_client()
    big = b"{" + b" " * (200 * 1024) + b"}"
    res = client.post("/api/v1/security/login", data=big, content_type="application/json")
    assert res.status_code == 413 and res.json["status"] == 413 and res.json["code"] == "too_large"
    assert "64 KB" in res.json["message"]
    res = client.post("/login/", data={"username": "a" * (100 * 1024), "password": "x"})
    assert res.status_code == 413 and "上传内容过大" in res.get_data(as_text=True)
    headers = jwt(client)
    res = client.post("/api/v1/fx_item/", data=b"x" * (2 * 1024 * 1024),
                      content_type="application/octet-stream", headers=headers)
    assert res.status_code == 413 and res.json["code"] == "too_large"

    # the Content-Length alone decides: the body is never read
    read = []

    class Stream:
        def read(self, *args):
            read.append(args)
            return b""

    env = {"CONTENT_LENGTH": str(512 * 1024 * 1024), "CONTENT_TYPE": "multipart/form-data; b=x",
           "wsgi.input": Stream()}
    res = client.post("/api/v1/fx_item/", environ_overrides=env, headers=headers)
    assert res.status_code == 413 and read == []


def test_upload_endpoints_have_their_own_limits(app) -> None:
    """Statement imports (10 MB) and product images (8 MB): 413 from the Content-Length."""
    client = app.test_client()
    headers = jwt(client)
    read = []

    class Stream:
        def read(self, *args):
            read.append(args)
            return b""

    for path, size in (("/api/v1/dl_reconcile/import", 10), ("/api/v1/emall_listing/1/images", 8)):
        env = {"CONTENT_LENGTH": str(size * 1024 * 1024 + 1),
               "CONTENT_TYPE": "multipart/form-data; boundary=x", "wsgi.input": Stream()}
        res = client.post(path, environ_overrides=env, headers=headers)
        assert res.status_code == 413, (path, res.status_code)
        assert res.json["code"] == "too_large" and f"{size} MB" in res.json["message"]
    assert read == []


def test_upload_limit_decorator_is_checked_before_reading(app_factory) -> None:
    from core.web_security import upload_limit
    from tests.conftest import init_db

    app = app_factory(WTF_CSRF_ENABLED=False)
    seen = []

    @upload_limit(lambda: 1000)
    def upload():
        from flask import request

        seen.append(len(request.get_data()))
        return "ok"

    app.add_url_rule("/erp-test-upload", "erp_test_upload", upload, methods=["POST"])
    init_db(app)
    client = app.test_client()
    assert client.post("/erp-test-upload", data=b"y" * 1000).status_code == 200
    res = client.post("/erp-test-upload", data=b"y" * 1001)
    assert res.status_code == 413 and "上传内容过大" in res.get_data(as_text=True)
    assert seen == [1000]


# -- finding 10: ERP_ENV and the secret key ----------------------------------------------------
@pytest.mark.parametrize("env", ["Production", "prod", "PRODUCTION", "dev", "staging", ""])
def test_unknown_erp_env_is_refused(monkeypatch, tmp_path: Path, env: str) -> None:
    monkeypatch.setenv("ERP_ENV", env or " ")
    monkeypatch.setenv("ERP_SECRET_KEY", LONG_KEY)
    with pytest.raises(ConfigError, match="ERP_ENV=.* is not a known environment.*development, "
                                          "production"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})


@pytest.mark.parametrize("key", ["x", "k" * 31, "短密钥" * 3])
def test_production_refuses_a_short_secret_key(monkeypatch, tmp_path: Path, key: str) -> None:
    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.setenv("ERP_SECRET_KEY", key)
    with pytest.raises(ConfigError, match="at least 32"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})


def test_production_accepts_a_32_byte_key_and_development_any(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.setenv("ERP_SECRET_KEY", "k" * 32)
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
                      "ERP_ADDONS_ENTRY_POINTS": False})
    assert app.config["ERP_ENV"] == "production"
    monkeypatch.setenv("ERP_ENV", "development")
    monkeypatch.setenv("ERP_SECRET_KEY", "x")
    create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.db'}",
                "ERP_ADDONS_ENTRY_POINTS": False})
