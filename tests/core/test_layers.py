"""The layers of the code base (issue 11): what may import what.

* ``.importlinter`` is generated from the add-ons' manifests and ``lint-imports`` keeps its
  contracts (core never imports an add-on; an add-on imports only core and its manifest's
  dependencies; an add-on's models import neither its services, api nor views);
* there is no import cycle among core and the add-ons, imports inside functions included;
* no add-on imports a ``_private`` name of another package;
* no Python file in core/ or addons/ is over 900 lines (migrations and demo generators aside).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import import_contracts  # noqa: E402

MAX_LINES = 900


def test_importlinter_config_matches_the_manifests() -> None:
    current = (ROOT / ".importlinter").read_text(encoding="utf-8")
    assert current == import_contracts.render(), (
        ".importlinter is stale: run python scripts/import_contracts.py")


def test_contracts_cover_every_addon() -> None:
    text = import_contracts.render()
    for name, manifest in import_contracts.manifests().items():
        assert f"source_modules =\n    addons.{name}\n" in text or not [
            o for o in import_contracts.manifests() if o != name
            and o not in import_contracts.closure(name, import_contracts.manifests())], name
        for dep in manifest.get("depends", []):
            assert f"    addons.{dep}\n" not in _section(text, f"{name}-depends"), (name, dep)


def _section(text: str, contract: str) -> str:
    head = f"[importlinter:contract:{contract}]"
    if head not in text:
        return ""
    return text.split(head, 1)[1].split("\n[", 1)[0]


def test_lint_imports_keeps_every_contract() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    res = subprocess.run([str(lint), "--no-cache", "--config", str(ROOT / ".importlinter")],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def _cycles() -> list[list[str]]:
    graph = grimp.build_graph("core", "addons", cache_dir=None)
    adj = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    # iterative Tarjan (no recursion limit)
    for root in sorted(adj):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = adj.get(node, [])
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return found


def test_no_import_cycles_in_function_imports_included() -> None:
    cycles = _cycles()
    assert not cycles, "import cycles (imports inside functions count too):\n" + "\n".join(
        " <-> ".join(c) for c in cycles)


def _package_of(module: str) -> str:
    """``addons.emall.services.cart`` -> ``addons.emall``; ``core.api.model`` -> ``core``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "addons" else parts[0]


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _private_imports() -> list[str]:
    bad = []
    for path in sorted((ROOT / "addons").rglob("*.py")):
        rel = path.relative_to(ROOT)
        module = ".".join(rel.with_suffix("").parts)
        is_package = path.name == "__init__.py"
        if is_package:
            module = module.removesuffix(".__init__")
        own = _package_of(module)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        foreign_aliases: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(module, node, is_package)
                if _package_of(source) == own:
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        bad.append(f"{rel}:{node.lineno}: from {source} import {alias.name}")
                    foreign_aliases.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _package_of(alias.name) != own and alias.asname:
                        foreign_aliases.add(alias.asname)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in foreign_aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                bad.append(f"{rel}:{node.lineno}: {node.value.id}.{node.attr}")
    return bad


def test_no_addon_imports_a_private_name_of_another_package() -> None:
    bad = _private_imports()
    assert not bad, "private names imported from another package:\n" + "\n".join(bad)


def _long_files() -> list[str]:
    out = []
    for top in ("core", "addons"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "migrations" in rel.parts or "demo" in rel.parts:
                continue  # generated migrations and demo generators
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                out.append(f"{rel}: {n} lines")
    return out


def test_no_python_file_over_900_lines() -> None:
    long = _long_files()
    assert not long, f"files over {MAX_LINES} lines (split them by job):\n" + "\n".join(long)


@pytest.mark.parametrize("module", ["emall", "procurement_base", "expert_credit"])
def test_split_services_packages_reexport_every_name(module: str) -> None:
    """``from .services import X`` keeps working after the split into packages."""
    import importlib

    pkg = importlib.import_module(f"addons.{module}.services")
    missing = [n for n in pkg.__all__ if not hasattr(pkg, n)]
    assert not missing, missing
