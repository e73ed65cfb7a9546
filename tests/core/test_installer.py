"""Platform install / upgrade / uninstall / purge, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from core.addons.manifest import AddonError
from core.addons.security import sync_module_roles
from core.db import db
from tests.conftest import FIXTURES, FX_ADDONS, cli, columns, init_db, installer, query, table_names


def states(app) -> dict[str, str]:
    return {m.name: m.state for m in installer(app).list()}


def role_grants(app, role: str) -> set[tuple[str, str]]:
    return set(
        query(
            app,
            "SELECT p.name, v.name FROM ab_permission_view_role pvr "
            "JOIN ab_role r ON r.id = pvr.role_id "
            "JOIN ab_permission_view pv ON pv.id = pvr.permission_view_id "
            "JOIN ab_permission p ON p.id = pv.permission_id "
            "JOIN ab_view_menu v ON v.id = pv.view_menu_id WHERE r.name = :r",
            r=role,
        )
    )


def snapshot(app) -> dict:
    """Schema (tables and their columns), migration heads and module table."""
    tables = sorted(table_names(app))
    return {
        "tables": {t: columns(app, t) for t in tables},
        "heads": sorted(query(app, "SELECT version_num FROM alembic_version")),
        "modules": sorted(query(app, "SELECT name, state, installed_version FROM erp_module")),
        "items": sorted(query(app, "SELECT code, name FROM fx_item")) if "fx_item" in tables else None,
    }


def test_install_chain_pulls_dependencies_data_roles_and_hook(app) -> None:
    done = installer(app).install(["fx_child"])
    assert done == ["fx_base", "fx_child"]
    st = states(app)
    assert st["fx_base"] == st["fx_child"] == "installed"
    assert st["fx_other"] == st["fx_bridge"] == "uninstalled"
    items = dict(query(app, "SELECT code, note FROM fx_item"))
    assert set(items) == {"A", "B", "C", "F"}
    assert items["A"] == "hooked", "post_install hook ran inside the install"
    qty = dict(query(app, "SELECT i.code, c.qty FROM fx_child c JOIN fx_item i ON i.id = c.item_id"))
    assert qty == {"A": 5, "B": 7}, "references by external id across modules"
    from core.addons.installer import SELF_SERVICE_GRANTS

    self_service = {tuple(g.split(" on ")) for g in SELF_SERVICE_GRANTS}  # 用户信息, 修改密码
    assert role_grants(app, "FX Viewer") == {("can_get", "FxItemApi"),
                                             ("menu_access", "FX Items")} | self_service
    admin = role_grants(app, "Admin")
    assert {("can_get", "FxItemApi"), ("can_list", "FxItemView"), ("can_read", "Modules")} <= admin


def test_auto_install_bridge_installs_when_all_dependencies_are(app) -> None:
    inst = installer(app)
    inst.install(["fx_child"])
    assert states(app)["fx_bridge"] == "uninstalled"
    assert inst.plan_install(["fx_other"]) == ["fx_other", "fx_bridge"]
    assert inst.install(["fx_other"]) == ["fx_other", "fx_bridge"]
    assert states(app)["fx_bridge"] == "installed"
    assert query(app, "SELECT note FROM fx_item WHERE code = 'B'") == [("bridged",)]


def test_uninstall_refused_while_dependents_installed(app) -> None:
    inst = installer(app)
    inst.install(["fx_child"])
    with pytest.raises(AddonError) as info:
        inst.uninstall("fx_base")
    assert str(info.value) == "cannot uninstall 'fx_base': installed modules depend on it: fx_child"
    assert states(app)["fx_base"] == "installed"


def test_uninstall_removes_bridge_keeps_data_and_reinstall_shows_same_records(app) -> None:
    inst = installer(app)
    inst.install(["fx_child", "fx_other"])
    assert states(app)["fx_bridge"] == "installed"
    ids_before = sorted(query(app, "SELECT c.id, i.code FROM fx_child c JOIN fx_item i ON i.id = c.item_id"))
    query_before = sorted(query(app, "SELECT id, qty FROM fx_child"))
    assert inst.uninstall("fx_child") == ["fx_bridge", "fx_child"]
    st = states(app)
    assert st["fx_child"] == st["fx_bridge"] == "uninstalled"
    assert "fx_child" in table_names(app), "uninstall keeps the data"
    assert sorted(query(app, "SELECT id, qty FROM fx_child")) == query_before
    inst.install(["fx_child"])
    assert sorted(query(app, "SELECT id, qty FROM fx_child")) == query_before
    assert sorted(query(app, "SELECT c.id, i.code FROM fx_child c JOIN fx_item i ON i.id = c.item_id")) == ids_before
    assert states(app)["fx_bridge"] == "installed"


def test_uninstall_removes_role_grants(app) -> None:
    inst = installer(app)
    inst.install(["fx_base"])
    assert role_grants(app, "FX Viewer")
    inst.uninstall("fx_base")
    assert role_grants(app, "FX Viewer") == set()


def test_stale_grants_removed_and_other_modules_grants_kept(app) -> None:
    inst = installer(app)
    inst.install(["fx_base"])
    pairs = app.extensions["erp"].pairs("fx_base")
    with app.app_context(), db.engine.begin() as conn:
        # another module grants the same permission: it must survive fx_base dropping it
        sync_module_roles(conn, "fx_other", {"FX Viewer": ("can_get on FxItemApi",)}, pairs, "m")
        sync_module_roles(
            conn, "fx_base", {"FX Viewer": ("can_list on FxItemView",)}, pairs, "m"
        )
    assert role_grants(app, "FX Viewer") == {("can_get", "FxItemApi"), ("can_list", "FxItemView")}
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "fx_other", {}, pairs, "m")
    assert role_grants(app, "FX Viewer") == {("can_list", "FxItemView")}


def test_read_grant_is_the_reading_permissions_the_view_has(app) -> None:
    """``read on X``: those of can_get / can_info / can_list / can_show that X has, nothing
    more (not can_post, can_put, can_delete); a view without any of them is an error."""
    inst = installer(app)
    inst.install(["fx_base"])
    pairs = app.extensions["erp"].pairs("fx_base")
    api_perms = {p for p, v in pairs if v == "FxItemApi"}
    assert {"can_get", "can_post"} <= api_perms
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "fx_base", {"FX Reader": ("read on FxItemApi", "read on FxItemView")},
                          pairs, "m")
    reading = {"can_get", "can_info", "can_list", "can_show"}
    assert role_grants(app, "FX Reader") == (
        {(p, "FxItemApi") for p in api_perms & reading}
        | {(p, v) for p, v in pairs if v == "FxItemView" and p in reading})
    assert ("can_post", "FxItemApi") not in role_grants(app, "FX Reader")
    with app.app_context(), db.engine.begin() as conn:
        with pytest.raises(AddonError, match="names no permission"):
            sync_module_roles(conn, "fx_base", {"R": ("read on FX Items",)}, pairs, "m.py")


def test_unknown_grant_is_an_error(app) -> None:
    pairs = app.extensions["erp"].pairs("fx_base")
    with app.app_context(), db.engine.begin() as conn:
        with pytest.raises(AddonError, match="names no permission"):
            sync_module_roles(conn, "fx_base", {"R": ("can_fly on Nowhere",)}, pairs, "m.py")


def test_purge_dry_run_then_purge(app) -> None:
    inst = installer(app)
    inst.install(["fx_child"])
    inst.uninstall("fx_child")
    before = snapshot(app)
    report = inst.purge_report("fx_child")
    assert report.tables == [("fx_child", 2)] and report.blockers == []
    assert snapshot(app) == before, "the dry run changes nothing"
    res = cli(app, "module", "uninstall", "fx_child", "--purge")
    assert res.exit_code != 0
    assert "table fx_child: 2 rows" in res.stdout
    assert res.stderr.strip() == "error: nothing was changed: add --yes to purge"
    assert snapshot(app) == before
    res = cli(app, "module", "uninstall", "fx_child", "--purge", "--yes")
    assert res.exit_code == 0, res.output
    assert "fx_child" not in table_names(app)
    assert "fx_child" not in states(app) or states(app)["fx_child"] == "uninstalled"
    assert query(app, "SELECT COUNT(*) FROM erp_model_data WHERE module = 'fx_child'") == [(0,)]
    # fx_base untouched, and fx_child can be installed again from scratch
    assert len(query(app, "SELECT id FROM fx_item")) == 4
    inst.install(["fx_child"])
    assert len(query(app, "SELECT id FROM fx_child")) == 2


def test_purge_refused_while_a_dependent_keeps_tables(app) -> None:
    inst = installer(app)
    inst.install(["fx_child"])
    inst.uninstall("fx_child")
    inst.uninstall("fx_base")
    report = inst.purge_report("fx_base")
    assert report.blockers == ["fx_child"]
    with pytest.raises(AddonError, match="purge them first"):
        inst.purge("fx_base")
    assert "fx_item" in table_names(app)


def test_purge_of_installed_module_uninstalls_it(app) -> None:
    inst = installer(app)
    inst.install(["fx_base"])
    report = inst.purge("fx_base")
    assert report.tables == [("fx_item", 4)]
    assert states(app)["fx_base"] == "uninstalled"
    assert "fx_item" not in table_names(app)


def test_demo_load_is_idempotent(app) -> None:
    inst = installer(app)
    inst.install(["fx_base"])
    assert query(app, "SELECT COUNT(*) FROM fx_item WHERE code IN ('X', 'Y')") == [(0,)]
    for _ in range(2):
        res = cli(app, "demo", "load")
        assert res.exit_code == 0, res.output
        assert query(app, "SELECT COUNT(*) FROM fx_item WHERE code IN ('X', 'Y')") == [(2,)]
    assert query(app, "SELECT demo FROM erp_module WHERE name = 'fx_base'") in ([(True,)], [(1,)])


@pytest.mark.parametrize(
    "module, step, reason",
    [
        ("fx_badmig", "fx_badmig: migration failed", "RuntimeError: boom in migration"),
        ("fx_baddata", "fx_baddata: data file data/fx_baddata_t.csv failed", "unknown external id 'fx_base.no_such_item'"),
        ("fx_badhook", "fx_badhook: post_install hook failed", "ValueError: boom in hook"),
    ],
)
def test_failure_restores_previous_state_and_schema(app_factory, module, step, reason) -> None:
    app = app_factory([FX_ADDONS, FIXTURES / "faulty"])
    init_db(app)
    before = snapshot(app)
    # fx_base is pulled in by the same operation: it must not stay half-installed either
    res = cli(app, "module", "install", module)
    assert res.exit_code == 1
    line = res.stderr.strip()
    assert line.startswith(f"error: {step}") and reason in line and "\n" not in line
    assert snapshot(app) == before
    assert states(app)["fx_base"] == "uninstalled"
    # with fx_base already installed, the failure leaves fx_base exactly as it was
    installer(app).install(["fx_base"])
    before = snapshot(app)
    with pytest.raises(AddonError):
        installer(app).install([module])
    assert snapshot(app) == before
    assert states(app)[module] == "uninstalled"


def _copy(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)


def test_upgrade_adds_column_migrates_data_and_syncs_records(app_factory, tmp_path) -> None:
    from core.addons.registry import forget_imports

    addons = tmp_path / "addons"
    addons.mkdir()
    _copy(FIXTURES / "upgrade" / "v1" / "fx_up", addons / "fx_up")
    forget_imports("addons.fx_up")
    app1 = app_factory([addons])
    init_db(app1)
    installer(app1).install(["fx_up"])
    assert "price" not in columns(app1, "fx_up")
    ids = dict(query(app1, "SELECT name, id FROM fx_up"))
    # an admin edits the no-update record: the upgrade must keep the edit
    query_sql = "UPDATE fx_up SET name = 'edited by admin' WHERE name = 'Fixed v1'"
    with app1.app_context(), db.engine.begin() as conn:
        conn.execute(text(query_sql))

    _copy(FIXTURES / "upgrade" / "v2" / "fx_up", addons / "fx_up")
    app2 = app_factory([addons])
    assert {m.name: m.state for m in installer(app2).list()}["fx_up"] == "to_upgrade"
    res = cli(app2, "module", "upgrade", "fx_up")
    assert res.exit_code == 0, res.output
    assert "price" in columns(app2, "fx_up")
    rows = {name: (rid, Decimal(str(price)) if price is not None else None)
            for rid, name, price in query(app2, "SELECT id, name, price FROM fx_up")}
    assert rows["Apple v2"] == (ids["Apple"], Decimal("1.50")), "updated in place, same id"
    assert rows["Cherry"][0] == ids["Cherry"]
    assert "Banana" not in rows, "a record the module no longer ships is removed"
    assert rows["Durian"][1] == Decimal("49.99"), "a new record is added"
    assert rows["edited by admin"] == (ids["Fixed v1"], Decimal("0.01")), (
        "no-update record left alone by data, but migrated by the migration"
    )
    info = {m.name: m for m in installer(app2).list()}["fx_up"]
    assert (info.state, info.installed_version) == ("installed", "1.1")


def test_upgrade_refuses_code_older_than_installed(app) -> None:
    inst = installer(app)
    inst.install(["fx_base"])
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("UPDATE erp_module SET installed_version = '9.0' WHERE name = 'fx_base'"))
    with pytest.raises(AddonError, match="older than the installed version 9.0"):
        inst.upgrade(["fx_base"])


def test_upgrade_all_and_unknown_module(app) -> None:
    installer(app).install(["fx_child"])
    res = cli(app, "module", "upgrade", "--all")
    assert res.exit_code == 0 and "upgraded: base, fx_base, fx_child" in res.stdout
    res = cli(app, "module", "install", "no_such_module")
    assert res.exit_code == 1 and res.stderr.strip() == "error: unknown module 'no_such_module'"


def test_install_with_demo_loads_the_demo_of_installed_dependencies(app) -> None:
    inst = installer(app)
    inst.install(["fx_base"])
    assert query(app, "SELECT COUNT(*) FROM fx_item WHERE code IN ('X', 'Y')") == [(0,)]
    inst.install(["fx_scoped"], demo=True)
    assert query(app, "SELECT COUNT(*) FROM fx_item WHERE code IN ('X', 'Y')") == [(2,)]
    assert len(query(app, "SELECT id FROM fx_doc")) == 4
