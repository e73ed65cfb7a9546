"""The API error envelope: every error under /api/ is {status, message, code}; never a 500
for anything a client can send. Runs on SQLite and PostgreSQL (ERP_TEST_DB=postgresql)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import BACKEND, cli, installer, query
from tests.core.test_web import jwt

ITEMS = "/api/v1/fx_item/"


@pytest.fixture
def api(app):
    """(client, admin headers) with fx_base installed and enabled for Jilin (220000)."""
    installer(app).install(["fx_base"])
    res = cli(app, "tenant", "enable", "220000", "fx_base")
    assert res.exit_code == 0, res.output
    client = app.test_client()
    return client, jwt(client)


def envelope(res, status: int, code: str | None = None) -> dict:
    assert res.status_code == status, res.get_data(as_text=True)
    assert res.mimetype == "application/json"
    body = res.json
    assert set(body) >= {"status", "message", "code"}, body
    assert body["status"] == status
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], (str, dict)) and body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


def item_id(app, code: str) -> int:
    return query(app, "SELECT id FROM fx_item WHERE code = :c", c=code)[0][0]


def test_duplicate_code_on_post_is_409_naming_the_field_and_writes_nothing(app, api) -> None:
    client, headers = api
    before = query(app, "SELECT COUNT(*) FROM fx_item")
    res = client.post(ITEMS, json={"code": "A", "name": "again"}, headers=headers)
    body = envelope(res, 409, "duplicate")
    assert body["message"] == {"code": ["该值已存在"]}
    assert query(app, "SELECT COUNT(*) FROM fx_item") == before
    # the session is usable afterwards: a good POST goes through
    res = client.post(ITEMS, json={"code": "NEW", "name": "new"}, headers=headers)
    assert res.status_code == 201, res.get_data(as_text=True)
    assert query(app, "SELECT name FROM fx_item WHERE code = 'NEW'") == [("new",)]


def test_duplicate_code_on_put_is_409_and_changes_nothing(app, api) -> None:
    client, headers = api
    pk = item_id(app, "B")
    res = client.put(f"{ITEMS}{pk}", json={"code": "A", "name": "renamed"}, headers=headers)
    body = envelope(res, 409, "duplicate")
    assert body["message"] == {"code": ["该值已存在"]}
    assert query(app, "SELECT code, name FROM fx_item WHERE id = :i", i=pk)[0][0] == "B"
    assert query(app, "SELECT COUNT(*) FROM fx_item WHERE name = 'renamed'") == [(0,)]


def test_missing_required_field_is_422_with_field_message(app, api) -> None:
    client, headers = api
    before = query(app, "SELECT COUNT(*) FROM fx_item")
    res = client.post(ITEMS, json={"name": "no code"}, headers=headers)
    body = envelope(res, 422, "validation_error")
    assert list(body["message"]) == ["code"]
    assert isinstance(body["message"]["code"], list) and body["message"]["code"]
    # a value longer than the column, an unknown field: field messages too
    res = client.post(ITEMS, json={"code": "X" * 21, "name": "n", "bogus": 1}, headers=headers)
    body = envelope(res, 422, "validation_error")
    assert set(body["message"]) == {"code", "bogus"}
    # explicit null for a NOT NULL column
    res = client.post(ITEMS, json={"code": None, "name": "n"}, headers=headers)
    assert "code" in envelope(res, 422)["message"]
    assert query(app, "SELECT COUNT(*) FROM fx_item") == before


def test_bad_json_and_wrong_content_type_are_400(app, api) -> None:
    client, headers = api
    json_headers = {**headers, "Content-Type": "application/json"}
    res = client.post(ITEMS, data="{not json", headers=json_headers)
    envelope(res, 400, "invalid_json")
    res = client.put(f"{ITEMS}{item_id(app, 'A')}", data="{", headers=json_headers)
    envelope(res, 400, "invalid_json")
    res = client.post(ITEMS, data="code=A", headers={**headers,
                      "Content-Type": "application/x-www-form-urlencoded"})
    envelope(res, 400, "not_json")
    # valid JSON, but not an object
    res = client.post(ITEMS, json=["code", "A"], headers=headers)
    assert envelope(res, 422)["message"] == {"_schema": ["请求体必须是 JSON 对象"]}
    res = client.put(f"{ITEMS}{item_id(app, 'A')}", json="A", headers=headers)
    envelope(res, 422)
    # strings no database stores
    res = client.post(ITEMS, json={"code": "N\x00UL", "name": "n"}, headers=headers)
    assert list(envelope(res, 422)["message"]) == ["code"]
    res = client.post(ITEMS, data='{"code": "\\ud800", "name": "n"}', headers=json_headers)
    assert list(envelope(res, 422)["message"]) == ["code"]
    assert query(app, "SELECT COUNT(*) FROM fx_item WHERE code NOT IN ('A','B','C','F')") == [(0,)]


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_non_numeric_unknown_and_huge_ids_are_404(app, api, method) -> None:
    client, headers = api
    for pk in ("abc", "1.5", "999999", "99999999999999999999999", "-1", "%00"):
        kwargs = {"json": {"name": "x"}} if method == "put" else {}
        res = getattr(client, method)(f"{ITEMS}{pk}", headers=headers, **kwargs)
        envelope(res, 404, "not_found")
    assert query(app, "SELECT COUNT(*) FROM fx_item") == [(4,)]


def test_page_size_and_query_arguments_out_of_range_are_400(app, api) -> None:
    client, headers = api
    ok = client.get(f"{ITEMS}?q=(page:0,page_size:100)", headers=headers)
    assert ok.status_code == 200
    for q in ("(page_size:101)", "(page_size:100000000)", "(page_size:0)", "(page_size:-5)",
              "(page:-1)", "(page:99999999999999999999,page_size:10)"):
        body = envelope(client.get(f"{ITEMS}?q={q}", headers=headers), 400, "invalid_query")
        assert set(body["message"]) <= {"page", "page_size"}, body
    cases = [
        "(filters:!((col:nope,opr:eq,value:x)))",  # unknown filter column
        "(filters:!((col:code,opr:bogus,value:x)))",  # unknown operator
        "(filters:!((col:code,opr:sw,value:!(a))))",  # a list for a text operator
        "(filters:!((col:id,opr:eq,value:1)))",  # not a search column
        "(filters:!((col:code,opr:in,value:x)))",  # "in" needs a list
        "(filters:!((col:code,opr:eq,value:'a\x00')))",  # NUL
        "(filters:!((col:code,opr:eq)))",  # no value
        "(order_column:nope)",  # unknown order column
        "(order_direction:sideways)",
        "(columns:!(code),select_columns:!(code))",
        "(page:'x')",
        "not-rison(",
    ]
    for q in cases:
        envelope(client.get(f"{ITEMS}?q={q}", headers=headers), 400)
    # a number for a text column is compared as text
    res = client.get(f"{ITEMS}?q=(filters:!((col:code,opr:eq,value:5)))", headers=headers)
    assert res.status_code == 200 and res.json["count"] == 0
    res = client.get(f"{ITEMS}?q=(filters:!((col:code,opr:in,value:!(A,B,7))))", headers=headers)
    assert res.status_code == 200 and res.json["count"] == 2


def test_wrong_method_is_405_envelope_with_allow_header(app, api) -> None:
    client, headers = api
    res = client.patch(f"{ITEMS}{item_id(app, 'A')}", json={}, headers=headers)
    envelope(res, 405, "method_not_allowed")
    assert "PUT" in res.headers["Allow"]
    envelope(client.delete(ITEMS, headers=headers), 405, "method_not_allowed")


def test_no_token_or_bad_token_is_401_envelope(app, api) -> None:
    client, _ = api
    envelope(client.get(ITEMS), 401, "unauthorized")
    envelope(client.post(ITEMS, json={"code": "Z", "name": "z"}), 401, "unauthorized")
    envelope(client.get(ITEMS, headers={"Authorization": "Bearer not-a-token"}), 401,
             "invalid_token")
    envelope(client.get("/api/v1/_openapi"), 401)
    assert query(app, "SELECT COUNT(*) FROM fx_item WHERE code = 'Z'") == [(0,)]


def test_login_errors_are_in_the_envelope(app) -> None:
    client = app.test_client()
    res = client.post("/api/v1/security/login",
                      json={"username": "admin", "password": "wrong", "provider": "db"})
    envelope(res, 401, "unauthorized")
    res = client.post("/api/v1/security/login", json={"username": "admin", "provider": "db"})
    assert "password" in envelope(res, 400)["message"]
    # FAB 5.3 answers 500 (KeyError) when "provider" is left out
    res = client.post("/api/v1/security/login", json={"username": "admin", "password": "x"})
    assert envelope(res, 400)["message"] == {"provider": ["该字段为必填项"]}
    res = client.post("/api/v1/security/login", data="x")
    envelope(res, 400, "not_json")
    res = client.post("/api/v1/security/login", data="{", content_type="application/json")
    envelope(res, 400, "invalid_json")
    res = client.post("/api/v1/security/login",
                      json={"username": "ad\x00min", "password": "x", "provider": "db"})
    assert res.status_code in (401, 422), res.get_data(as_text=True)
    envelope(res, res.status_code)


def test_forbidden_and_unknown_paths_are_in_the_envelope(app, api) -> None:
    client, _ = api
    res = cli(app, "user", "create", "--username", "viewer", "--password", "viewer123",
              "--role", "FX Viewer", "--region", "220100")
    assert res.exit_code == 0, res.output
    headers = jwt(client, "viewer", "viewer123")
    envelope(client.post(ITEMS, json={"code": "Z", "name": "z"}, headers=headers), 403,
             "forbidden")
    envelope(client.get("/api/v1/no_such_api/", headers=headers), 404, "not_found")


def test_delete_then_get_is_404_and_delete_twice_is_404(app, api) -> None:
    client, headers = api
    pk = item_id(app, "C")
    res = client.delete(f"{ITEMS}{pk}", headers=headers)
    assert res.status_code == 200
    envelope(client.get(f"{ITEMS}{pk}", headers=headers), 404)
    envelope(client.delete(f"{ITEMS}{pk}", headers=headers), 404)


def test_deleting_a_referenced_record_is_409_in_use(app, api) -> None:
    client, headers = api
    installer(app).install(["fx_child"])  # its rows refer to items A and B
    pk = item_id(app, "A")
    res = client.delete(f"{ITEMS}{pk}", headers=headers)
    envelope(res, 409, "in_use")
    assert query(app, "SELECT COUNT(*) FROM fx_item WHERE id = :i", i=pk) == [(1,)]
    assert client.delete(f"{ITEMS}{item_id(app, 'C')}", headers=headers).status_code == 200


def test_integrity_errors_name_the_column(app) -> None:
    """The central handler maps each backend's constraint errors to fields."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from core.api import describe_integrity_error
    from core.db import db

    installer(app).install(["fx_child"])  # fx_child.item_id -> fx_item.id
    statements = {
        "INSERT INTO fx_item (code, name) VALUES ('A', 'dup')": (409, "duplicate", "code"),
        "INSERT INTO fx_item (code) VALUES ('Q')": (422, "validation_error", "name"),
        # SQLite's "FOREIGN KEY constraint failed" names no column
        "INSERT INTO fx_child (item_id, qty) VALUES (99999, 1)":
            (422, "invalid_reference", "item_id" if BACKEND == "postgresql" else "_schema"),
    }
    with app.test_request_context(ITEMS, method="POST"):
        for sql, (status, code, field) in statements.items():
            with pytest.raises(IntegrityError) as info:
                db.session.execute(text(sql))
            db.session.rollback()
            got = describe_integrity_error(info.value)
            assert got[:2] == (status, code)
            assert list(got[2]) == [field], got


def test_unexpected_error_is_500_envelope_with_request_id(app, api, caplog) -> None:
    client, headers = api

    view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "FxItemApi")

    def boom(item):
        raise RuntimeError("a bug")

    view.pre_add = boom
    res = client.post(ITEMS, json={"code": "Z", "name": "z"}, headers={**headers,
                      "X-Request-ID": "req-123"})
    body = envelope(res, 500, "internal_error")
    assert body["request_id"] == "req-123" == res.headers["X-Request-ID"]
    assert "a bug" not in res.get_data(as_text=True)
    assert any("req-123" in r.getMessage() for r in caplog.records)
    del view.pre_add


def test_plain_model_rest_api_is_adopted(app) -> None:
    """A module's API on FAB's plain ModelRestApi gets the same behaviour."""
    from flask_appbuilder.api import BaseApi

    from core.api import ErpApiMixin

    apis = [v for v in app.appbuilder.baseviews if isinstance(v, BaseApi)]
    assert apis and all(isinstance(v, ErpApiMixin) for v in apis)
    names = {type(v).__name__ for v in apis}
    assert {"SecurityApi", "OpenApi", "FxItemApi"} <= names


def test_swagger_ui_and_openapi_are_served_locally(app) -> None:
    """Swagger UI at /swagger/v1 (login required) loads only local assets (no CDN)."""
    import re

    from tests.core.test_web import login_form

    client = app.test_client()
    assert client.get("/swagger/v1").status_code == 302  # to the login page
    login_form(client)
    page = client.get("/swagger/v1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "SwaggerUIBundle" in html and "/api/v1/_openapi" in html
    refs = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assets = [r for r in refs if r.endswith((".js", ".css"))]
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert not [r for r in refs if re.match(r"^(https?:)?//", r)], "no external assets"
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    spec = client.get("/api/v1/_openapi")  # the browser session is enough here
    assert spec.status_code == 200 and spec.json["openapi"].startswith("3.")
    responses = spec.json["components"]["responses"]
    assert {"400", "401", "404", "409", "422", "500"} <= set(responses)
    schema = responses["409"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["status", "message", "code"]


# -- the ``q`` argument: core's rison decorator answers as FAB's did (issue 11) -------------------
def _fab_schema_message(q: str, schema: dict) -> str:
    """The error FAB's ``@rison`` reported (``jsonschema.validate`` on every call: it must
    refuse ``q`` too), said in Chinese."""
    import prison
    from jsonschema import ValidationError, validators

    from core.api.rison import schema_message

    with pytest.raises(ValidationError) as err:  # not the jsonschema.validate patched below
        validators.validate(instance=prison.loads(q), schema=schema)
    return schema_message(err.value)


def test_bad_rison_gets_the_same_400_envelope_as_fabs_decorator(app, api, monkeypatch) -> None:
    import flask_appbuilder.api as fab_api
    from flask_appbuilder.api.schemas import get_info_schema, get_item_schema, get_list_schema

    client, headers = api
    calls: list[object] = []  # FAB's per-call jsonschema.validate must no longer run
    real = fab_api.jsonschema.validate
    monkeypatch.setattr(fab_api.jsonschema, "validate",
                        lambda *a, **k: calls.append(a or k) or real(*a, **k))
    pk = item_id(app, "A")
    # not rison, not JSON: the message in Chinese, code invalid_query
    # ("(page_size:" and "!" make prison raise TypeError/IndexError: FAB answered 500)
    for q in ("(", "(page_size:", "not-rison(", "!(", "(page:1,,)", "!", "(a:!(b:"):
        body = envelope(client.get(f"{ITEMS}?q={q}", headers=headers), 400, "invalid_query")
        assert body["message"] == "查询参数 q 不是有效的 rison 或 JSON 值", (q, body)
    body = envelope(client.get(f"{ITEMS}{pk}?q=(", headers=headers), 400, "invalid_query")
    assert body["message"] == "查询参数 q 不是有效的 rison 或 JSON 值"
    # wrong types, values outside an enum, unknown entries of "keys": the schema's message
    cases = [
        (ITEMS, "(page:'x')", get_list_schema),
        (ITEMS, "(page_size:!(1))", get_list_schema),
        (ITEMS, "(order_column:5)", get_list_schema),
        (ITEMS, "(order_direction:up)", get_list_schema),
        (ITEMS, "(keys:!(bogus))", get_list_schema),
        (ITEMS, "(columns:code)", get_list_schema),
        (ITEMS, "(filters:!((col:code,opr:eq)))", get_list_schema),
        (ITEMS, "(filters:!((col:code,opr:eq,value:(a:1))))", get_list_schema),
        (f"{ITEMS}{pk}", "(keys:!(list_columns))", get_item_schema),
        (f"{ITEMS}{pk}", "(columns:!(1))", get_item_schema),
        (f"{ITEMS}_info", "(keys:!(nope))", get_info_schema),
        (f"{ITEMS}_info", "(add_columns:(region:(page:x)))", get_info_schema),
    ]
    for url, q, schema in cases:
        body = envelope(client.get(f"{url}?q={q}", headers=headers), 400, "invalid_query")
        assert body["message"] == _fab_schema_message(q, schema), (url, q, body)
    body = envelope(client.get(f"{ITEMS}?q=(page:'x')", headers=headers), 400, "invalid_query")
    assert body == {"status": 400, "code": "invalid_query",
                    "message": "查询参数 q 不符合要求：page 应为整数"}
    said = {q: envelope(client.get(f"{url}?q={q}", headers=headers), 400, "invalid_query")["message"]
            for url, q, _ in cases}
    assert said["(order_direction:up)"] == "查询参数 q 不符合要求：order_direction 只能是 asc、desc 之一"
    assert said["(filters:!((col:code,opr:eq)))"] == "查询参数 q 不符合要求：filters/0 缺少 value"
    assert not any(re.search(r"[A-Za-z]{3,} (is|are) ", m) for m in said.values()), said
    # a q that is not an object is refused before FAB's decorator (core.web_security)
    body = envelope(client.get(f"{ITEMS}?q=!(1,2)", headers=headers), 400, "invalid_query")
    assert list(body["message"]) == ["q"]
    # what the schema accepts is still accepted: unknown top-level keys, JSON instead of rison
    res = client.get(f"{ITEMS}?q=(bogus:1,page_size:2)", headers=headers)
    assert res.status_code == 200 and len(res.json["result"]) == 2, res.json
    as_json = '{"page_size":3,"order_column":"code","order_direction":"asc"}'
    res = client.get(f"{ITEMS}?q={as_json}", headers=headers)
    assert res.status_code == 200 and res.json["result"][0]["code"] == "A", res.json
    res = client.get(f"{ITEMS}{pk}?q=(keys:!(show_columns),columns:!(code))", headers=headers)
    assert res.status_code == 200 and res.json["result"] == {"code": "A"}, res.json
    res = client.get(f"{ITEMS}_info?q=(keys:!(permissions))", headers=headers)
    assert res.status_code == 200 and "permissions" in res.json, res.json
    assert calls == []


def test_adopted_plain_fab_api_checks_q_the_same_way(app, monkeypatch) -> None:
    """``FxDocApi`` is a plain FAB ``ModelRestApi``: adopted, its read routes answer bad ``q``
    as FAB did, without FAB's per-call ``jsonschema.validate``."""
    import flask_appbuilder.api as fab_api
    from flask_appbuilder.api.schemas import get_list_schema

    installer(app).install(["fx_scoped"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "fx_scoped").exit_code == 0
    client = app.test_client()
    headers = jwt(client)
    calls: list[object] = []
    real = fab_api.jsonschema.validate
    monkeypatch.setattr(fab_api.jsonschema, "validate",
                        lambda *a, **k: calls.append(a or k) or real(*a, **k))
    docs = "/api/v1/fx_doc/"
    for q in ("(page:'x')", "(keys:!(bogus))", "(order_direction:up)"):
        body = envelope(client.get(f"{docs}?q={q}", headers=headers), 400, "invalid_query")
        assert body["message"] == _fab_schema_message(q, get_list_schema), (q, body)
    body = envelope(client.get(f"{docs}?q=(page_size:", headers=headers), 400, "invalid_query")
    assert body["message"] == "查询参数 q 不是有效的 rison 或 JSON 值"
    res = client.get(f"{docs}?q=(page_size:2)", headers=headers)
    assert res.status_code == 200 and len(res.json["result"]) == 2, res.json
    pk = res.json["ids"][0]
    envelope(client.get(f"{docs}{pk}?q=(keys:!(nope))", headers=headers), 400, "invalid_query")
    assert client.get(f"{docs}{pk}?q=(columns:!(title))", headers=headers).status_code == 200
    envelope(client.get(f"{docs}_info?q=(keys:!(nope))", headers=headers), 400, "invalid_query")
    assert calls == []
