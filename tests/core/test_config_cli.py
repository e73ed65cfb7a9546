"""The app factory's settings and the CLI's contract (JSON, exit codes, one-line errors)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.app import ConfigError, create_app
from tests.conftest import FX_ADDONS, ROOT, cli, installer


def test_production_refuses_default_secret_key(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.delenv("ERP_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="ERP_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})


def test_production_starts_with_a_secret_key_from_env(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.setenv("ERP_SECRET_KEY", "a-real-secret-from-the-environment")
    monkeypatch.setenv("ERP_DATABASE_URL", f"sqlite:///{tmp_path / 'p.db'}")
    app = create_app({"ERP_ADDONS_ENTRY_POINTS": False})
    assert app.config["SECRET_KEY"] == "a-real-secret-from-the-environment"
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("p.db")


def test_settings_file_overrides_defaults(monkeypatch, tmp_path: Path) -> None:
    settings = tmp_path / "settings.py"
    settings.write_text("APP_NAME = '测试平台'\nERP_STATE_POLL_SECONDS = 7\n", encoding="utf-8")
    monkeypatch.setenv("ERP_CONFIG", str(settings))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'c.db'}"})
    assert app.config["APP_NAME"] == "测试平台" and app.config["ERP_STATE_POLL_SECONDS"] == 7
    monkeypatch.setenv("ERP_CONFIG", str(tmp_path / "missing.py"))
    with pytest.raises(ConfigError, match="does not exist"):
        create_app()


def test_module_list_json(app) -> None:
    installer(app).install(["fx_child"])
    res = cli(app, "module", "list", "--json")
    assert res.exit_code == 0, res.output
    mods = {m["name"]: m for m in json.loads(res.stdout)}
    assert mods["fx_child"]["state"] == "installed"
    assert mods["fx_child"]["version"] == "1.0" and mods["fx_child"]["installed_version"] == "1.0"
    assert mods["fx_child"]["depends"] == ["fx_base"]
    assert mods["fx_bridge"]["auto_install"] is True
    assert mods["fx_other"]["state"] == "uninstalled" and mods["fx_other"]["installed_version"] is None


def test_module_graph(app) -> None:
    res = cli(app, "module", "graph")
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert "fx_child -> fx_base" in lines
    assert lines.index("fx_base -> (none)") < lines.index("fx_child -> fx_base")
    assert "fx_bridge (auto_install) -> fx_child, fx_other" in lines


def test_uninstall_refusal_is_one_line_and_nonzero(app) -> None:
    installer(app).install(["fx_child"])
    res = cli(app, "module", "uninstall", "fx_base")
    assert res.exit_code == 1
    assert res.stderr == "error: cannot uninstall 'fx_base': installed modules depend on it: fx_child\n"


def test_user_create_errors(app) -> None:
    res = cli(app, "user", "create", "--username", "u1", "--password", "short", "--role", "Admin")
    assert res.exit_code == 1 and "at least 8 characters" in res.stderr
    res = cli(app, "user", "create", "--username", "u1", "--password", "longenough", "--role", "Nope")
    assert res.exit_code == 1 and res.stderr.strip() == "error: role 'Nope' does not exist"


def test_console_script_and_flask_cli_reach_the_same_commands(db_url: str, tmp_path: Path) -> None:
    env = {
        "ERP_DATABASE_URL": db_url,
        "ERP_ADDONS_PATH": str(FX_ADDONS),
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(tmp_path),
    }
    erp = str(Path(sys.executable).parent / "erp")
    res = subprocess.run([erp, "module", "list"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stderr.strip() == "error: the database is not initialised: run 'erp db init' first"
    res = subprocess.run([erp, "db", "init"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    flask = str(Path(sys.executable).parent / "flask")
    res = subprocess.run([flask, "--app", "core.app", "erp", "module", "list", "--json"], env=env,
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert {m["name"] for m in json.loads(res.stdout)} >= {"fx_base", "fx_child"}


def test_addon_commands_join_the_erp_group(app) -> None:
    """An add-on's cli.py exports ``cli``; it runs as ``erp <name>`` and may demand its module."""
    res = cli(app, "fx", "ping")
    assert res.exit_code == 1
    assert res.stderr == "error: module 'fx_base' is not installed (erp module install fx_base)\n"
    installer(app).install(["fx_base"])
    res = cli(app, "fx", "ping")
    assert res.exit_code == 0 and res.stdout == "pong\n"
    listing = cli(app, "--help")
    assert "fx" in listing.stdout.split() and "module" in listing.stdout.split()
    assert cli(app, "nope").exit_code == 2
