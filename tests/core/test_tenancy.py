"""Per-region enablement: inheritance, switching off, dependencies, bridges, CLI, gating."""

from __future__ import annotations

import json

import pytest

from core.addons.manifest import AddonError
from core.tenancy import Enablement
from tests.conftest import cli, installer, query


def modules_of(app, code: str) -> dict[str, dict]:
    res = cli(app, "tenant", "modules", code, "--json")
    assert res.exit_code == 0, res.output
    return {m["name"]: m for m in json.loads(res.stdout)}


def en(app, fn):
    inst = installer(app)
    return inst.transaction(lambda conn: fn(Enablement(conn, inst.registry, inst.installed(conn))))


@pytest.fixture
def tapp(app):
    installer(app).install(["fx_child", "fx_other", "fx_scoped"])  # fx_bridge comes along
    return app


def test_seeded_jilin_region_tree(app) -> None:
    rows = dict(query(app, "SELECT code, name FROM erp_region"))
    assert rows["220000"] == "吉林省" and rows["220100"] == "长春市" and rows["222400"] == "延边朝鲜族自治州"
    assert rows["220184"] == "公主岭市"
    parent = dict(query(app, "SELECT c.code, p.code FROM erp_region c JOIN erp_region p ON p.id = c.parent_id"))
    assert parent["220102"] == "220100" and parent["220100"] == "220000"


def test_enable_inherits_down_the_tree_and_pulls_dependencies(tapp) -> None:
    res = cli(tapp, "tenant", "enable", "220100", "fx_child")
    assert res.exit_code == 0 and res.stdout.strip() == "enabled for 220100: fx_base, fx_child"
    city = modules_of(tapp, "220100")
    assert city["fx_child"] == {**city["fx_child"], "enabled": True, "inherited_from": None}
    assert city["fx_base"]["enabled"] is True
    district = modules_of(tapp, "220102")
    assert district["fx_child"]["enabled"] is True and district["fx_child"]["inherited_from"] == "220100"
    assert modules_of(tapp, "220200")["fx_child"]["enabled"] is False, "吉林市 is not affected"
    assert modules_of(tapp, "220000")["fx_child"]["enabled"] is False


def test_bridge_enabled_when_all_its_dependencies_are(tapp) -> None:
    cli(tapp, "tenant", "enable", "220100", "fx_child")
    assert modules_of(tapp, "220100")["fx_bridge"]["enabled"] is False
    res = cli(tapp, "tenant", "enable", "220100", "fx_other")
    assert res.stdout.strip() == "enabled for 220100: fx_other, fx_bridge"


def test_descendant_switches_inherited_module_off_and_back(tapp) -> None:
    cli(tapp, "tenant", "enable", "220000", "fx_base")
    res = cli(tapp, "tenant", "disable", "220102", "fx_base")
    assert res.exit_code == 0, res.output
    assert modules_of(tapp, "220102")["fx_base"]["enabled"] is False
    assert modules_of(tapp, "220103")["fx_base"]["enabled"] is True, "siblings keep it"
    cli(tapp, "tenant", "enable", "220102", "fx_base")
    m = modules_of(tapp, "220102")["fx_base"]
    assert m["enabled"] is True and m["inherited_from"] == "220000"
    assert query(tapp, "SELECT COUNT(*) FROM erp_region_module WHERE module = 'fx_base'") == [(1,)], (
        "no redundant rows"
    )


def test_disable_refused_while_dependents_enabled_unless_cascade(tapp) -> None:
    cli(tapp, "tenant", "enable", "220000", "fx_base")
    cli(tapp, "tenant", "enable", "220102", "fx_child")  # a district relies on the inherited base
    res = cli(tapp, "tenant", "disable", "220100", "fx_base")
    assert res.exit_code == 1
    assert res.stderr.strip() == (
        "error: cannot disable 'fx_base' for 220100: enabled modules depend on it: "
        "fx_child (220102) (use --cascade to disable them too)"
    )
    assert modules_of(tapp, "220102")["fx_child"]["enabled"] is True, "nothing changed"
    res = cli(tapp, "tenant", "disable", "220100", "fx_base", "--cascade")
    assert res.exit_code == 0, res.output
    assert "fx_child (220102)" in res.stdout
    assert modules_of(tapp, "220102")["fx_child"]["enabled"] is False
    assert modules_of(tapp, "220102")["fx_base"]["enabled"] is False
    assert modules_of(tapp, "220200")["fx_base"]["enabled"] is True


def test_disable_keeps_data_and_enable_again_shows_it(tapp) -> None:
    cli(tapp, "tenant", "enable", "220100", "fx_child")
    before = query(tapp, "SELECT id, qty FROM fx_child ORDER BY id")
    cli(tapp, "tenant", "disable", "220100", "fx_child")
    assert query(tapp, "SELECT id, qty FROM fx_child ORDER BY id") == before
    cli(tapp, "tenant", "enable", "220100", "fx_child")
    assert query(tapp, "SELECT id, qty FROM fx_child ORDER BY id") == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["enable", "999999", "fx_base"], "error: unknown region '999999' (use a 6-digit GB/T 2260 code)"),
        (["enable", "220100", "nope"], "error: unknown module 'nope'"),
        (["modules", "12"], "error: unknown region '12' (use a 6-digit GB/T 2260 code)"),
        (["disable", "220100", "fx_base"], "error: module 'fx_base' is not enabled for 220100"),
    ],
)
def test_cli_errors(tapp, args, message) -> None:
    res = cli(tapp, "tenant", *args)
    assert res.exit_code == 1 and res.stderr.strip() == message


def test_enable_refuses_module_not_installed_on_platform(app) -> None:
    res = cli(app, "tenant", "enable", "220100", "fx_base")
    assert res.exit_code == 1
    assert res.stderr.strip() == "error: module 'fx_base' is not installed on the platform"


def test_enablement_plan_is_pure(tapp) -> None:
    plan = en(tapp, lambda e: e.plan_enable("220100", ["fx_child", "fx_other"]))
    assert plan == ["fx_base", "fx_child", "fx_other", "fx_bridge"]
    assert query(tapp, "SELECT COUNT(*) FROM erp_region_module") == [(0,)]
    with pytest.raises(AddonError):
        en(tapp, lambda e: e.plan_enable("000000", ["fx_base"]))


def test_region_modules_page_city_admin_manages_own_subtree_only(tapp) -> None:
    import re

    from core.addons.security import sync_module_roles
    from core.db import db
    from tests.core.test_web import login_form

    with tapp.app_context(), db.engine.begin() as conn:
        sync_module_roles(
            conn, "tests",
            {"地区管理员": ("* on RegionModules", "menu_access on Region Modules", "menu_access on Platform")},
            [], "test",
        )
    cli(tapp, "user", "create", "--username", "cc_admin", "--password", "secret123",
        "--role", "地区管理员", "--region", "220100")
    client = tapp.test_client()
    login_form(client, "cc_admin", "secret123")
    home = client.get("/erp/tenant/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/erp/tenant/220100/")
    page = client.get("/erp/tenant/220100/").get_data(as_text=True)
    assert "本地区模块：长春市" in page and "未启用" in page and "南关区" in page
    assert "吉林市" not in page, "the picker lists only the admin's own subtree"
    assert client.get("/erp/tenant/220200/").status_code == 404
    assert client.get("/erp/tenant/220200/enable/fx_base").status_code == 404
    confirm = client.get("/erp/tenant/220100/enable/fx_child").get_data(as_text=True)
    # modules by their names (the manifest's name), never by their code
    assert "Fixture base" in confirm and "Fixture child" in confirm
    assert "fx_base" not in confirm.replace('href="', "").split("<form")[0].split("</h2>")[-1]
    token = re.search(r'name="csrf_token" value="([^"]+)"', confirm).group(1)
    res = client.post("/erp/tenant/220100/enable/fx_child", data={"csrf_token": token})
    assert res.status_code == 302
    assert modules_of(tapp, "220102")["fx_child"]["inherited_from"] == "220100"
    assert client.post("/erp/tenant/220200/enable/fx_child", data={"csrf_token": token}).status_code == 404
    assert modules_of(tapp, "220200")["fx_child"]["enabled"] is False
    page = client.get("/erp/tenant/220102/").get_data(as_text=True)
    assert "继承自长春市" in page


def test_broken_record_rule_fails_at_boot_naming_the_model(monkeypatch) -> None:
    from core import tenancy

    class Broken:
        region_id = None
        __record_rules__ = {"supplier": lambda cls, scope: cls.supplier_id == scope.org_id}

    monkeypatch.setattr(tenancy, "_all_scoped_classes", lambda: [Broken])
    with pytest.raises(AddonError, match=r"Broken: record rule for 'supplier' is invalid"):
        tenancy.validate_record_rules()
