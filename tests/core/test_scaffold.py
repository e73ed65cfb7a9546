"""``erp module scaffold``: the module it writes installs, passes its own test and purges."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

from core.cli import erp
from tests.conftest import ROOT, cli, init_db, installer

NAME = "sc_sample"


def scaffold(*args: str):
    return CliRunner().invoke(erp, ["module", "scaffold", *args])


def test_scaffold_refuses_bad_input(tmp_path: Path) -> None:
    res = scaffold("Bad-Name", "--path", str(tmp_path))
    assert res.exit_code == 1 and "bad module name 'Bad-Name'" in res.stderr
    res = scaffold(NAME, "--path", str(tmp_path), "--depends", "nope")
    assert res.exit_code == 1 and "depends on 'nope', which is not an available module" in res.stderr
    assert not (tmp_path / NAME).exists()
    assert scaffold(NAME, "--path", str(tmp_path)).exit_code == 0
    res = scaffold(NAME, "--path", str(tmp_path))
    assert res.exit_code == 1 and "exists already" in res.stderr


@pytest.mark.real_install
def test_scaffolded_module_installs_passes_its_test_and_purges(app_factory, tmp_path: Path) -> None:
    addons = tmp_path / "addons"
    addons.mkdir()
    res = scaffold(NAME, "--path", str(addons), "--depends", "procurement_base", "--title", "示例模块")
    assert res.exit_code == 0, res.output
    module = addons / NAME
    expected = ["__manifest__.py", "__init__.py", "models.py", "services.py", "actions.py", "api.py",
                "views.py", f"migrations/0001_{NAME}.py", f"demo/{NAME}_record.csv", "README.md",
                f"tests/test_{NAME}.py"]
    assert all((module / f).is_file() for f in expected), sorted(
        str(p.relative_to(module)) for p in module.rglob("*") if p.is_file())
    assert "'procurement_base'" in (module / "__manifest__.py").read_text(encoding="utf-8")
    # ruff-clean as written
    lint = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--config",
                           str(ROOT / "pyproject.toml"), str(module)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout

    app = app_factory(paths=[addons])
    init_db(app)
    assert NAME in installer(app).install([NAME], demo=True)
    with app.app_context():
        from core.db import db

        rows = db.session.execute(text(f"SELECT code, status FROM {NAME}_record")).all()
        assert [tuple(r) for r in rows] == [("DEMO-0001", "draft")]
        db.session.rollback()

    # the generated test passes (in its own database)
    env = {**os.environ, "ERP_TEST_DB": "sqlite", "ERP_TEST_DBCACHE": "0"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0",
         "-p", "tests.conftest", "--rootdir", str(ROOT), "-c", str(ROOT / "setup.cfg"),
         str(module / "tests" / f"test_{NAME}.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout

    res = cli(app, "module", "uninstall", NAME, "--purge", "--yes")
    assert res.exit_code == 0, res.output
    assert f"purged '{NAME}'" in res.output
    with app.app_context():
        from core.db import db

        assert f"{NAME}_record" not in inspect(db.engine).get_table_names()
