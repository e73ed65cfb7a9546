"""Money columns, passwords, cookies, headers, CSRF, login rate limits (form and API)."""

from __future__ import annotations

from sqlalchemy import Float

from core.db import metadata
from tests.conftest import query


def test_no_model_of_any_addon_stores_money_in_a_float_column(app) -> None:
    # every module in the code is imported at boot, so its tables are in the metadata
    floats = [
        f"{t.name}.{c.name}"
        for t in metadata.tables.values()
        for c in t.columns
        if isinstance(c.type, Float)
    ]
    assert floats == [], f"use Numeric(18, 2) / core.services.money.Money for money: {floats}"


def test_passwords_are_hashed(app) -> None:
    from werkzeug.security import check_password_hash

    (pw,) = query(app, "SELECT password FROM ab_user WHERE username = 'admin'")[0]
    assert "admin12345" not in pw
    assert check_password_hash(pw, "admin12345") and not check_password_hash(pw, "admin1234")


def test_security_headers_and_cookie_flags(app) -> None:
    client = app.test_client()
    res = client.get("/login/")
    assert res.headers["X-Content-Type-Options"] == "nosniff"
    assert res.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "default-src 'self'" in res.headers["Content-Security-Policy"]
    cookie = res.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie, "Secure only when configured"


def test_login_form_needs_csrf(app) -> None:
    client = app.test_client()
    res = client.post("/login/", data={"username": "admin", "password": "admin12345"})
    assert res.status_code == 400


def test_login_rate_limited_on_form_and_api(app_factory) -> None:
    from tests.conftest import init_db

    app = app_factory(RATELIMIT_ENABLED=True, AUTH_RATE_LIMIT="3 per minute",
                      WTF_CSRF_ENABLED=False)
    init_db(app)
    client = app.test_client()
    body = {"username": "admin", "password": "wrong-password", "provider": "db"}
    codes = [client.post("/api/v1/security/login", json=body).status_code for _ in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]
    codes = [client.post("/login/", data=body).status_code for _ in range(5)]
    assert codes[-1] == 429
