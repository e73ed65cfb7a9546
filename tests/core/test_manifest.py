"""Manifest validation and the dependency graph (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.addons.manifest import ManifestError, load_manifest
from core.addons.registry import AddonRegistry


def make_addon(base: Path, name: str, manifest: str, files: dict[str, str] | None = None) -> Path:
    d = base / name
    d.mkdir(parents=True)
    (d / "__init__.py").write_text("")
    (d / "__manifest__.py").write_text(manifest, encoding="utf-8")
    for rel, content in (files or {}).items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(content, encoding="utf-8")
    return d


def error_of(path: Path) -> str:
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    msg = str(info.value)
    assert "\n" not in msg, "the message must be one line"
    assert str(path / "__manifest__.py") in msg, "the message must name the file"
    return msg


def test_valid_manifest_defaults(tmp_path: Path) -> None:
    d = make_addon(tmp_path, "good", "{'name': '好模块', 'version': '1.2.3', 'depends': []}")
    m = load_manifest(d)
    assert (m.name, m.version, m.version_tuple) == ("好模块", "1.2.3", (1, 2, 3))
    assert m.depends == () and m.auto_install is False and m.package == "addons.good"


def test_unknown_key(tmp_path: Path) -> None:
    d = make_addon(tmp_path, "m", "{'name': 'M', 'version': '1.0', 'dependencies': []}")
    assert "unknown key 'dependencies'" in error_of(d)


def test_wrong_type(tmp_path: Path) -> None:
    d = make_addon(tmp_path, "m", "{'name': 'M', 'version': '1.0', 'depends': 'base'}")
    assert "key 'depends' must be a list of module names, got str 'base'" in error_of(d)


def test_wrong_type_bool(tmp_path: Path) -> None:
    d = make_addon(tmp_path, "m", "{'name': 'M', 'version': '1.0', 'auto_install': 'yes'}")
    assert "key 'auto_install' must be True or False" in error_of(d)


@pytest.mark.parametrize("version", ["1", "1.0-beta", "v1.0", "1..2", ""])
def test_bad_version(tmp_path: Path, version: str) -> None:
    d = make_addon(tmp_path, "m", f"{{'name': 'M', 'version': {version!r}}}")
    assert f"bad version {version!r}" in error_of(d)


def test_missing_required_key(tmp_path: Path) -> None:
    d = make_addon(tmp_path, "m", "{'name': 'M'}")
    assert "missing required key 'version'" in error_of(d)


def test_code_is_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    d = make_addon(
        tmp_path, "m", f"{{'name': __import__('pathlib').Path({str(marker)!r}).touch(), 'version': '1.0'}}"
    )
    assert "not a dict literal" in error_of(d)
    assert not marker.exists()


def test_not_a_dict(tmp_path: Path) -> None:
    d = make_addon(tmp_path, "m", "['name', 'version']")
    assert "must be a dict literal, got list" in error_of(d)


def test_missing_data_file(tmp_path: Path) -> None:
    d = make_addon(tmp_path, "m", "{'name': 'M', 'version': '1.0', 'data': ['data/x.csv']}")
    assert "data file 'data/x.csv' does not exist" in error_of(d)


def test_bad_grant(tmp_path: Path) -> None:
    d = make_addon(tmp_path, "m", "{'name': 'M', 'version': '1.0', 'roles': {'R': ['can_list']}}")
    assert "role 'R': bad grant 'can_list'" in error_of(d)


def test_missing_dependency(tmp_path: Path) -> None:
    make_addon(tmp_path, "a", "{'name': 'A', 'version': '1.0', 'depends': ['nope']}")
    with pytest.raises(ManifestError) as info:
        AddonRegistry([tmp_path], use_entry_points=False)
    assert str(info.value) == (
        f"{tmp_path / 'a' / '__manifest__.py'}: depends on 'nope', which is not an available module"
    )


def test_dependency_cycle(tmp_path: Path) -> None:
    make_addon(tmp_path, "a", "{'name': 'A', 'version': '1.0', 'depends': ['b']}")
    make_addon(tmp_path, "b", "{'name': 'B', 'version': '1.0', 'depends': ['c']}")
    make_addon(tmp_path, "c", "{'name': 'C', 'version': '1.0', 'depends': ['a']}")
    with pytest.raises(ManifestError) as info:
        AddonRegistry([tmp_path], use_entry_points=False)
    assert str(info.value) == (
        f"{tmp_path / 'a' / '__manifest__.py'}: dependency cycle: a -> b -> c -> a"
    )


def test_self_dependency(tmp_path: Path) -> None:
    d = make_addon(tmp_path, "a", "{'name': 'A', 'version': '1.0', 'depends': ['a']}")
    assert "depends on itself" in error_of(d)


def test_duplicate_module_in_two_paths(tmp_path: Path) -> None:
    make_addon(tmp_path / "p1", "dup", "{'name': 'D', 'version': '1.0'}")
    make_addon(tmp_path / "p2", "dup", "{'name': 'D', 'version': '1.0'}")
    with pytest.raises(ManifestError, match="also provided by"):
        AddonRegistry([tmp_path / "p1", tmp_path / "p2"], use_entry_points=False)


def test_order_is_deterministic_and_respects_dependencies(tmp_path: Path) -> None:
    make_addon(tmp_path, "zeta", "{'name': 'Z', 'version': '1.0'}")
    make_addon(tmp_path, "alpha", "{'name': 'A', 'version': '1.0', 'depends': ['zeta']}")
    make_addon(tmp_path, "mid", "{'name': 'M', 'version': '1.0'}")
    make_addon(tmp_path, "bridge", "{'name': 'B', 'version': '1.0', 'depends': ['alpha', 'mid'], 'auto_install': True}")
    reg = AddonRegistry([tmp_path], use_entry_points=False)
    fixture = [n for n in reg.order if n in {"zeta", "alpha", "mid", "bridge"}]
    assert fixture == ["mid", "zeta", "alpha", "bridge"]
    assert reg.closure(["bridge"]) == ["mid", "zeta", "alpha", "bridge"]
    assert reg.dependents("zeta") == ["alpha", "bridge"]
    mine = {"zeta", "alpha", "mid", "bridge"}
    assert [b for b in reg.bridges_ready({"alpha", "zeta"}) if b in mine] == []
    assert [b for b in reg.bridges_ready({"alpha", "zeta", "mid"}) if b in mine] == ["bridge"]
    again = AddonRegistry([tmp_path], use_entry_points=False)
    assert again.order == reg.order
