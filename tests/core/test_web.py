"""Web: gating of module pages/APIs at run time, menus, the Modules admin page."""

from __future__ import annotations

import re

from tests.conftest import installer, query


def jwt(client, username="admin", password="admin12345") -> dict[str, str]:
    res = client.post(
        "/api/v1/security/login",
        json={"username": username, "password": password, "provider": "db"},
    )
    assert res.status_code == 200, res.get_data(as_text=True)
    return {"Authorization": f"Bearer {res.json['access_token']}"}


def login_form(client, username="admin", password="admin12345") -> None:
    page = client.get("/login/")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    assert token, "login form has a CSRF token"
    res = client.post(
        "/login/", data={"username": username, "password": password, "csrf_token": token.group(1)}
    )
    assert res.status_code == 302


def test_api_of_uninstalled_module_is_404_then_200_after_install(app) -> None:
    client = app.test_client()
    headers = jwt(client)
    res = client.get("/api/v1/fx_item/", headers=headers)
    assert res.status_code == 404
    assert res.json["status"] == 404 and res.json["message"]
    installer(app).install(["fx_base"])
    res = client.get("/api/v1/fx_item/", headers=headers)
    assert res.status_code == 200
    assert sorted(r["code"] for r in res.json["result"]) == ["A", "B", "C", "F"]
    installer(app).uninstall("fx_base")
    assert client.get("/api/v1/fx_item/", headers=headers).status_code == 404


def test_pages_and_menu_follow_install_state(app) -> None:
    client = app.test_client()
    login_form(client)
    assert client.get("/fxitemview/list/").status_code == 404
    home = client.get("/").get_data(as_text=True)
    assert "FX Items" not in home
    assert "模块管理" in home, "the admin sees the Modules page in the menu (zh default)"
    installer(app).install(["fx_base"])
    assert client.get("/fxitemview/list/").status_code == 200
    assert "FX Items" in client.get("/").get_data(as_text=True)


def test_role_from_manifest_limits_access(app) -> None:
    installer(app).install(["fx_base"])
    from tests.conftest import cli

    assert cli(app, "tenant", "enable", "220000", "fx_base").exit_code == 0
    res = cli(app, "user", "create", "--username", "viewer", "--password", "viewer123",
              "--role", "FX Viewer", "--region", "220100")
    assert res.exit_code == 0, res.output
    client = app.test_client()
    headers = jwt(client, "viewer", "viewer123")
    assert client.get("/api/v1/fx_item/1", headers=headers).status_code == 200
    assert client.get("/api/v1/fx_item/", headers=headers).status_code == 200
    # only can_get is granted: writes are refused and change nothing
    assert client.delete("/api/v1/fx_item/1", headers=headers).status_code == 403
    assert client.post("/api/v1/fx_item/", json={"code": "Z", "name": "z"}, headers=headers).status_code == 403
    assert query(app, "SELECT COUNT(*) FROM fx_item") == [(4,)]


def test_modules_page_install_with_confirmation_and_csrf(app) -> None:
    client = app.test_client()
    login_form(client)
    page = client.get("/erp/modules/").get_data(as_text=True)
    assert "fx_child" in page and "未安装" in page
    confirm = client.get("/erp/modules/install/fx_child")
    text = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "fx_base" in text and "因依赖或桥接一并安装" in text, "impact lists modules pulled in"
    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
    # without the CSRF token nothing happens
    assert client.post("/erp/modules/install/fx_child").status_code == 400
    assert set(installer(app).installed()) == {"base"}, "only the auto-installed base"
    res = client.post("/erp/modules/install/fx_child", data={"csrf_token": token})
    assert res.status_code == 302
    assert set(installer(app).installed()) == {"base", "fx_base", "fx_child"}
    # uninstall impact: refused while a dependent is installed
    text = client.get("/erp/modules/uninstall/fx_base").get_data(as_text=True)
    assert "不能卸载" in text and "fx_child" in text
    # purge impact lists tables and row counts
    client.post("/erp/modules/uninstall/fx_child", data={"csrf_token": token})
    text = client.get("/erp/modules/purge/fx_child").get_data(as_text=True)
    assert "fx_child" in text and "<td>2</td>" in text


def test_modules_page_needs_admin(app) -> None:
    installer(app).install(["fx_base"])
    from tests.conftest import cli

    cli(app, "user", "create", "--username", "viewer", "--password", "viewer123", "--role", "FX Viewer")
    client = app.test_client()
    login_form(client, "viewer", "viewer123")
    res = client.get("/erp/modules/")
    assert res.status_code in (302, 403)
    res = client.post("/erp/modules/uninstall/fx_base")
    assert res.status_code in (302, 400, 403)
    assert "fx_base" in installer(app).installed()
    assert query(app, "SELECT state FROM erp_module WHERE name = 'fx_base'") == [("installed",)]


def test_failed_install_from_ui_reports_and_changes_nothing(app_factory) -> None:
    from tests.conftest import FIXTURES, FX_ADDONS, init_db

    app = app_factory([FX_ADDONS, FIXTURES / "faulty"], WTF_CSRF_ENABLED=False)
    init_db(app)
    client = app.test_client()
    login_form_nocsrf = client.post("/login/", data={"username": "admin", "password": "admin12345"})
    assert login_form_nocsrf.status_code == 302
    res = client.post("/erp/modules/install/fx_badhook", follow_redirects=True)
    text = res.get_data(as_text=True)
    assert "操作失败，未做任何更改" in text and "boom in hook" in text
    assert set(installer(app).installed()) == {"base"}
