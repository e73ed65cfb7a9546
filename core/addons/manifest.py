"""Reading and validating add-on manifests (``__manifest__.py``).

A manifest is a Python dict literal. It is parsed with :func:`ast.literal_eval` and never
executed. Every problem raises :class:`ManifestError`, whose message is one line naming
the file and the problem.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_FILE = "__manifest__.py"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
VERSION_RE = re.compile(r"^\d+(\.\d+){1,3}$")
#: "<permission> on <view_menu>", e.g. "can_list on DepositView", "* on DepositApi",
#: "menu_access on 押金台账".
GRANT_RE = re.compile(r"^(?P<perm>\*|[A-Za-z_][A-Za-z0-9_]*) on (?P<view>\S.*)$")


class AddonError(Exception):
    """Any error of the add-on system that an operator can act on (one line)."""


class ManifestError(AddonError):
    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_roles(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and k and _is_str_list(v) for k, v in value.items()
    )


def _is_ext_deps(value: Any) -> bool:
    return isinstance(value, dict) and all(
        k in ("python", "bin") and _is_str_list(v) for k, v in value.items()
    )


#: key -> (type check, description of the expected type, default)
_KEYS: dict[str, tuple[Callable[[Any], bool], str, Any]] = {
    "name": (lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty string", None),
    "version": (lambda v: isinstance(v, str), "a string", None),
    "summary": (lambda v: isinstance(v, str), "a string", ""),
    "description": (lambda v: isinstance(v, str), "a string", ""),
    "category": (lambda v: isinstance(v, str), "a string", "Uncategorized"),
    "author": (lambda v: isinstance(v, str), "a string", ""),
    "website": (lambda v: isinstance(v, str), "a string", ""),
    "license": (lambda v: isinstance(v, str), "a string", "Apache-2.0"),
    "depends": (_is_str_list, "a list of module names", []),
    "auto_install": (lambda v: isinstance(v, bool), "True or False", False),
    "application": (lambda v: isinstance(v, bool), "True or False", False),
    "installable": (lambda v: isinstance(v, bool), "True or False", True),
    "sequence": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer", 100),
    "data": (_is_str_list, "a list of file paths", []),
    "demo": (_is_str_list, "a list of file paths", []),
    "roles": (_is_roles, "a dict of role name -> list of grants", {}),
    "external_dependencies": (
        _is_ext_deps,
        "a dict with keys 'python' and/or 'bin' mapping to lists of names",
        {},
    ),
    "post_install": (lambda v: isinstance(v, str) and v.isidentifier(), "a function name", None),
    "pre_uninstall": (lambda v: isinstance(v, str) and v.isidentifier(), "a function name", None),
}
REQUIRED_KEYS = ("name", "version")
DATA_SUFFIXES = (".csv", ".yaml", ".yml")


def parse_version(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. ``technical_name`` is the folder/package name."""

    technical_name: str
    path: Path  # the add-on's folder
    package: str  # importable Python package, e.g. "addons.deposit_ledger"
    name: str
    version: str
    summary: str = ""
    description: str = ""
    category: str = "Uncategorized"
    author: str = ""
    website: str = ""
    license: str = "Apache-2.0"
    depends: tuple[str, ...] = ()
    auto_install: bool = False
    application: bool = False
    installable: bool = True
    sequence: int = 100
    data: tuple[str, ...] = ()
    demo: tuple[str, ...] = ()
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    external_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    post_install: str | None = None
    pre_uninstall: str | None = None

    @property
    def manifest_file(self) -> Path:
        return self.path / MANIFEST_FILE

    @property
    def version_tuple(self) -> tuple[int, ...]:
        return parse_version(self.version)

    @property
    def migrations_dir(self) -> Path | None:
        d = self.path / "migrations"
        return d if d.is_dir() else None


def load_manifest(addon_dir: Path, package: str | None = None) -> Manifest:
    """Read and validate ``addon_dir/__manifest__.py``."""
    addon_dir = Path(addon_dir)
    mfile = addon_dir / MANIFEST_FILE
    technical_name = addon_dir.name
    try:
        source = mfile.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(mfile, "manifest file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(mfile, f"cannot read manifest: {exc}") from None
    try:
        raw = ast.literal_eval(source)
    except (SyntaxError, ValueError) as exc:
        detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise ManifestError(
            mfile, f"not a dict literal (only literals are allowed, never code): {detail}"
        ) from None
    if not isinstance(raw, dict):
        raise ManifestError(mfile, f"must be a dict literal, got {type(raw).__name__}")
    if not NAME_RE.match(technical_name):
        raise ManifestError(
            mfile,
            f"folder name {technical_name!r} is not a valid module name "
            "(lower case letters, digits and '_', starting with a letter)",
        )
    unknown = sorted(str(k) for k in raw if k not in _KEYS)
    if unknown:
        raise ManifestError(
            mfile, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_KEYS))})"
        )
    for key in REQUIRED_KEYS:
        if key not in raw:
            raise ManifestError(mfile, f"missing required key {key!r}")
    values: dict[str, Any] = {}
    for key, (check, expected, default) in _KEYS.items():
        if key not in raw:
            values[key] = default
            continue
        value = raw[key]
        if not check(value):
            raise ManifestError(
                mfile, f"key {key!r} must be {expected}, got {type(value).__name__} {value!r}"
            )
        values[key] = value
    if not VERSION_RE.match(values["version"]):
        raise ManifestError(
            mfile,
            f"bad version {values['version']!r}: use numbers separated by dots, e.g. '1.0.0'",
        )
    if technical_name in values["depends"]:
        raise ManifestError(mfile, f"module {technical_name!r} depends on itself")
    if len(set(values["depends"])) != len(values["depends"]):
        raise ManifestError(mfile, "key 'depends' lists a module twice")
    for key in ("data", "demo"):
        for rel in values[key]:
            fpath = (addon_dir / rel).resolve()
            if addon_dir.resolve() not in fpath.parents:
                raise ManifestError(mfile, f"{key} file {rel!r} is outside the module folder")
            if fpath.suffix.lower() not in DATA_SUFFIXES:
                raise ManifestError(
                    mfile, f"{key} file {rel!r} must be .csv, .yaml or .yml"
                )
            if not fpath.is_file():
                raise ManifestError(mfile, f"{key} file {rel!r} does not exist")
    for role, grants in values["roles"].items():
        for grant in grants:
            if not GRANT_RE.match(grant):
                raise ManifestError(
                    mfile,
                    f"role {role!r}: bad grant {grant!r} "
                    "(expected '<permission> on <view or menu>', e.g. 'can_list on MyView')",
                )
    values["depends"] = tuple(values["depends"])
    values["data"] = tuple(values["data"])
    values["demo"] = tuple(values["demo"])
    values["roles"] = {k: tuple(v) for k, v in values["roles"].items()}
    values["external_dependencies"] = {
        k: tuple(v) for k, v in values["external_dependencies"].items()
    }
    return Manifest(
        technical_name=technical_name,
        path=addon_dir,
        package=package or f"addons.{technical_name}",
        **values,
    )
