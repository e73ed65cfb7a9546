"""Issue 12 findings 6 (SQLite contention answers), 7 (login rate limit shared by workers and
hosts), 9 (one password policy, self-service password page), 16 (installer lock timeouts,
gunicorn control socket)."""

from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, cli, init_db, installer
from tests.core.test_web import jwt, login_form

BAD = {"password": "wrong-password", "provider": "db"}


def _two_instances(app_factory, **config):
    cfg = {"RATELIMIT_ENABLED": True, "AUTH_RATE_LIMIT": "3 per minute",
           "ERP_LOGIN_ADDRESS_LIMIT": "8 per minute", "WTF_CSRF_ENABLED": False, **config}
    one = app_factory(**cfg)
    init_db(one)
    two = app_factory(**cfg)
    for app in (one, two):
        res = cli(app, "user", "create", "--username", "alice", "--password", "alice-pass-1",
                  "--role", "Admin")
        assert res.exit_code == 0 or "exists" in res.output, res.output
    return one, two


def _login(client, user, password="wrong-password", addr="10.0.0.1", **headers):
    return client.post("/api/v1/security/login", json={**BAD, "username": user,
                                                       "password": password},
                       environ_base={"REMOTE_ADDR": addr}, headers=headers)


@pytest.mark.parametrize("storage", ["database", "redis"])
def test_login_limit_is_shared_by_instances_per_account(app_factory, storage, request) -> None:
    extra = {}
    if storage == "redis":  # tests/conftest.py's redis_url: fails under CI=true if unreachable
        extra["ERP_RATELIMIT_STORAGE"] = request.getfixturevalue("redis_url")
        extra["ERP_RATELIMIT_KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    one, two = _two_instances(app_factory, **extra)
    a, b = one.test_client(), two.test_client()
    codes = [_login(c, "admin").status_code for c in (a, b, a)]
    assert codes == [401, 401, 401]
    res = _login(b, "admin", password="admin12345")  # locked: even the right password waits
    assert res.status_code == 429 and res.json["code"] == "rate_limited"
    assert 0 < int(res.headers["Retry-After"]) <= 60 and "分钟后再试" in res.json["message"]
    # a locked account does not lock another one from the same address
    assert _login(a, "alice", password="alice-pass-1").status_code == 200
    # nor the same account from... it stays locked from every address
    assert _login(a, "admin", password="admin12345", addr="10.9.9.9").status_code == 429
    # the login form answers a Chinese page with Retry-After
    page = a.post("/login/", data={"username": "admin", "password": "admin12345"})
    assert page.status_code == 429 and "登录失败次数过多" in page.get_data(as_text=True)
    assert page.headers["Retry-After"]


def test_login_limit_per_address_and_proxy_depth(app_factory) -> None:
    one, two = _two_instances(app_factory, ERP_PROXY_COUNT=1)
    a, b = one.test_client(), two.test_client()
    # 8 failures from one client address (behind the proxy), spread over accounts
    for i in range(8):
        res = _login(a if i % 2 else b, f"nobody{i}", addr="127.0.0.1",
                     **{"X-Forwarded-For": "203.0.113.7"})
        assert res.status_code == 401
    res = _login(a, "alice", password="alice-pass-1", addr="127.0.0.1",
                 **{"X-Forwarded-For": "203.0.113.7"})
    assert res.status_code == 429
    # another client behind the same proxy is not locked out
    res = _login(a, "alice", password="alice-pass-1", addr="127.0.0.1",
                 **{"X-Forwarded-For": "203.0.113.8"})
    assert res.status_code == 200
    # a client cannot escape by prepending its own X-Forwarded-For (depth 1: last hop wins)
    res = _login(b, "alice", password="alice-pass-1", addr="127.0.0.1",
                 **{"X-Forwarded-For": "1.2.3.4, 203.0.113.7"})
    assert res.status_code == 429


# -- finding 9: the password policy ------------------------------------------------------------
def test_password_policy_rules() -> None:
    from core.security import password_problems

    assert password_problems("admin12345") == []
    assert password_problems("a")[0] == "密码至少 8 位"
    assert "密码不能由同一个字符重复组成" in password_problems("aaaaaaaaaa")
    assert "密码不能与用户名相同" in password_problems("zhangsan01", "ZhangSan01")
    assert "密码过于常见，请换一个" in password_problems("12345678")
    assert password_problems("x" * 129)[0] == "密码最多 128 位"


def test_weak_passwords_refused_on_admin_pages_cli_and_api(app) -> None:
    client = app.test_client()
    login_form(client)
    page = client.get("/users/add")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      page.get_data(as_text=True)).group(1)
    role_id = re.search(r'<option value="(\d+)">Admin</option>', page.get_data(as_text=True))
    form = {"csrf_token": token, "first_name": "弱", "last_name": "口令", "username": "weak",
            "email": "weak@example.com", "active": "y", "password": "a", "conf_password": "a",
            "roles": role_id.group(1) if role_id else "1"}
    res = client.post("/users/add", data=form)
    assert res.status_code == 200 and "密码至少 8 位" in res.get_data(as_text=True)
    from tests.conftest import query

    assert query(app, "SELECT COUNT(*) FROM ab_user WHERE username = 'weak'") == [(0,)]
    res = cli(app, "user", "create", "--username", "weak", "--password", "12345678",
              "--role", "Admin")
    assert res.exit_code == 1 and "过于常见" in res.output
    # the reset form of an admin for another user
    res = client.get("/users/list/")
    assert res.status_code == 200


def test_every_actor_role_can_change_its_own_password(app) -> None:
    """Every role a module declares gets 用户信息 and 修改密码 (the base add-on's roles too)."""
    installer(app).install(["fx_base"])
    from core.addons.installer import SELF_SERVICE_GRANTS
    from core.app import get_state

    roles = [r for name in ("fx_base",) for r in get_state(app).registry[name].roles]
    if not roles:
        pytest.skip("fx_base declares no role")
    role = roles[0]
    res = cli(app, "user", "create", "--username", "actor", "--password", "actor-pass-1",
              "--role", role)
    assert res.exit_code == 0, res.output
    client = app.test_client()
    login_form(client, "actor", "actor-pass-1")
    assert client.get("/users/userinfo/").status_code == 200
    page = client.get("/resetmypassword/form")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      page.get_data(as_text=True)).group(1)
    weak = client.post("/resetmypassword/form", data={"csrf_token": token, "password": "short",
                                                      "conf_password": "short"})
    assert "密码至少 8 位" in weak.get_data(as_text=True)
    ok = client.post("/resetmypassword/form", data={"csrf_token": token,
                                                    "password": "new-actor-pass-2",
                                                    "conf_password": "new-actor-pass-2"})
    assert ok.status_code in (200, 302)
    jwt(app.test_client(), "actor", "new-actor-pass-2")
    assert len(SELF_SERVICE_GRANTS) >= 5


# -- finding 6: contention answers -------------------------------------------------------------
def test_sqlite_lock_wait_that_runs_out_is_503_with_retry_after(app_factory, db_url) -> None:
    if not db_url.startswith("sqlite:///"):
        pytest.skip("SQLite only (PostgreSQL waits on row locks)")
    import sqlite3

    app = app_factory(ERP_SQLITE_BUSY_TIMEOUT=0.5)
    init_db(app)
    installer(app).install(["fx_base"])
    assert cli(app, "tenant", "enable", "220000", "fx_base").exit_code == 0
    client = app.test_client()
    headers = jwt(client)
    blocker = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        res = client.post("/api/v1/fx_item/", json={"code": "L1", "name": "锁"}, headers=headers)
        assert res.status_code == 503, res.get_data(as_text=True)
        assert res.headers["Retry-After"] == "2"
        assert res.json["code"] == "busy"
        assert client.get("/api/v1/fx_item/", headers=headers).status_code == 200  # reads go on
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    res = client.post("/api/v1/fx_item/", json={"code": "L1", "name": "锁"}, headers=headers)
    assert res.status_code == 201


# -- finding 16: operations --------------------------------------------------------------------
def test_second_install_waiting_on_the_lock_fails_naming_the_holder(app, pg_url) -> None:
    from core.addons.manifest import AddonError
    from core.app import installer_for

    holder = installer_for(app)
    started, release = threading.Event(), threading.Event()

    def hold(conn) -> None:
        started.set()
        release.wait(30)

    t = threading.Thread(target=holder.transaction, args=(hold,))
    t.start()
    try:
        assert started.wait(30)
        second = installer_for(app)
        second.lock_timeout = 1
        with pytest.raises(AddonError, match=r"holds the lock .* pid \d+ \(erp installer pid"):
            second.install(["fx_base"])
    finally:
        release.set()
        t.join(30)
    installer(app).install(["fx_base"])  # works once the holder has finished


def test_installer_sets_lock_and_statement_timeouts(app, pg_url) -> None:
    from sqlalchemy import text

    from core.app import installer_for

    inst = installer_for(app)
    seen = {}

    def look(conn) -> None:
        seen["lock"] = conn.execute(text("SHOW lock_timeout")).scalar()
        seen["statement"] = conn.execute(text("SHOW statement_timeout")).scalar()

    inst.transaction(look)
    assert seen == {"lock": "30s", "statement": "15min"}


def test_gunicorn_has_no_shared_control_socket(monkeypatch) -> None:
    conf = Path(ROOT / "config" / "gunicorn.conf.py")
    monkeypatch.delenv("ERP_CONTROL_SOCKET", raising=False)
    ns: dict = {}
    exec(compile(conf.read_text(), str(conf), "exec"), ns)
    assert ns["control_socket_disable"] is True and "control_socket" not in ns
    monkeypatch.setenv("ERP_CONTROL_SOCKET", "/run/erp/gunicorn-8080.ctl")
    ns = {}
    exec(compile(conf.read_text(), str(conf), "exec"), ns)
    assert ns["control_socket_disable"] is False
    assert ns["control_socket"] == "/run/erp/gunicorn-8080.ctl"
