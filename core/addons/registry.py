"""Discovery of add-ons and their dependency graph.

Add-ons are found in the ``addons/`` folder of the project, in the folders listed in the
``ERP_ADDONS_PATH`` setting, and through the entry-point group ``erp.addons`` (a third
party ships an add-on as its own pip package: the entry point's value is the import path
of the add-on's package, e.g. ``erp_addon_foo = erp_addon_foo``).

Add-ons in folders are importable as ``addons.<name>``: like Odoo's ``odoo.addons``,
the ``addons`` package's ``__path__`` is extended with every configured folder.
"""

from __future__ import annotations

import heapq
import importlib
import importlib.util
import logging
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from core.addons.manifest import MANIFEST_FILE, AddonError, Manifest, ManifestError, load_manifest

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "erp.addons"
PROJECT_ADDONS = Path(__file__).resolve().parent.parent.parent / "addons"


class AddonRegistry:
    """The add-ons present in the code, validated, in a deterministic dependency order."""

    def __init__(self, paths: Iterable[str | Path] = (), *, use_entry_points: bool = True) -> None:
        self.paths: list[Path] = [PROJECT_ADDONS] + [Path(p).resolve() for p in paths]
        self.use_entry_points = use_entry_points
        self.manifests: dict[str, Manifest] = {}
        self.order: list[str] = []
        self._imported: dict[str, ModuleType] = {}
        self._discover()
        self._check_dependencies()
        self.order = self._toposort()

    # -- discovery ------------------------------------------------------------------
    def _add(self, manifest: Manifest) -> None:
        other = self.manifests.get(manifest.technical_name)
        if other is not None:
            raise ManifestError(
                manifest.manifest_file,
                f"module {manifest.technical_name!r} is also provided by {other.manifest_file}",
            )
        self.manifests[manifest.technical_name] = manifest

    def _discover(self) -> None:
        import addons as addons_pkg

        seen_paths: set[Path] = set()
        for base in self.paths:
            if base in seen_paths or not base.is_dir():
                continue
            seen_paths.add(base)
            if str(base) not in addons_pkg.__path__:
                addons_pkg.__path__.append(str(base))
            for child in sorted(base.iterdir()):
                if child.is_dir() and (child / MANIFEST_FILE).is_file():
                    self._add(load_manifest(child, f"addons.{child.name}"))
        if self.use_entry_points:
            for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
                spec = importlib.util.find_spec(ep.value)
                if spec is None or not spec.submodule_search_locations:
                    raise AddonError(
                        f"entry point {ep.name!r} in group {ENTRY_POINT_GROUP!r}: "
                        f"package {ep.value!r} cannot be found"
                    )
                folder = Path(next(iter(spec.submodule_search_locations)))
                manifest = load_manifest(folder, ep.value)
                if manifest.technical_name != ep.name:
                    raise ManifestError(
                        manifest.manifest_file,
                        f"entry point name {ep.name!r} differs from the folder name "
                        f"{manifest.technical_name!r}",
                    )
                self._add(manifest)

    def _check_dependencies(self) -> None:
        for name in sorted(self.manifests):
            m = self.manifests[name]
            for dep in m.depends:
                if dep not in self.manifests:
                    raise ManifestError(
                        m.manifest_file,
                        f"depends on {dep!r}, which is not an available module",
                    )
        # cycles: depth-first search reporting the first cycle found, deterministically
        state: dict[str, int] = {}
        stack: list[str] = []

        def visit(node: str) -> None:
            state[node] = 1
            stack.append(node)
            for dep in sorted(self.manifests[node].depends):
                if state.get(dep) == 1:
                    cycle = stack[stack.index(dep) :] + [dep]
                    raise ManifestError(
                        self.manifests[cycle[0]].manifest_file,
                        "dependency cycle: " + " -> ".join(cycle),
                    )
                if dep not in state:
                    visit(dep)
            stack.pop()
            state[node] = 2

        for name in sorted(self.manifests):
            if name not in state:
                visit(name)

    def _toposort(self) -> list[str]:
        """Kahn's algorithm; among ready modules the smallest (sequence, name) goes first."""
        indeg = {n: len(m.depends) for n, m in self.manifests.items()}
        dependents: dict[str, list[str]] = {n: [] for n in self.manifests}
        for n, m in self.manifests.items():
            for d in m.depends:
                dependents[d].append(n)
        heap = [(self.manifests[n].sequence, n) for n, k in indeg.items() if k == 0]
        heapq.heapify(heap)
        order: list[str] = []
        while heap:
            _, n = heapq.heappop(heap)
            order.append(n)
            for child in dependents[n]:
                indeg[child] -= 1
                if indeg[child] == 0:
                    heapq.heappush(heap, (self.manifests[child].sequence, child))
        return order

    # -- queries ----------------------------------------------------------------------
    def __contains__(self, name: object) -> bool:
        return name in self.manifests

    def __getitem__(self, name: str) -> Manifest:
        try:
            return self.manifests[name]
        except KeyError:
            raise AddonError(f"unknown module {name!r}") from None

    def sort(self, names: Iterable[str]) -> list[str]:
        wanted = set(names)
        return [n for n in self.order if n in wanted]

    def closure(self, names: Iterable[str]) -> list[str]:
        """The modules and all their dependencies, in dependency order."""
        todo = list(names)
        seen: set[str] = set()
        while todo:
            n = todo.pop()
            if n in seen:
                continue
            seen.add(n)
            todo.extend(self[n].depends)
        return self.sort(seen)

    def dependents(self, name: str) -> list[str]:
        """Every module that depends on ``name``, directly or not, in dependency order."""
        result: set[str] = set()
        changed = True
        while changed:
            changed = False
            for n, m in self.manifests.items():
                if n not in result and (name in m.depends or result & set(m.depends)):
                    result.add(n)
                    changed = True
        return self.sort(result)

    def bridges_ready(self, installed: set[str]) -> list[str]:
        """Auto-install modules not in ``installed`` whose dependencies all are."""
        return [
            n
            for n in self.order
            if self.manifests[n].auto_install
            and self.manifests[n].installable
            and n not in installed
            and all(d in installed for d in self.manifests[n].depends)
        ]

    def owner_of_module_path(self, dotted: str) -> str | None:
        """The add-on whose package contains the Python module ``dotted``."""
        for name, m in self.manifests.items():
            if dotted == m.package or dotted.startswith(m.package + "."):
                return name
        return None

    # -- importing --------------------------------------------------------------------
    def import_addon(self, name: str) -> ModuleType:
        """Import an add-on's package and its models; tag the tables it defines."""
        if name in self._imported:
            return self._imported[name]
        from core.db import metadata

        m = self[name]
        before = set(metadata.tables)
        try:
            module = importlib.import_module(m.package)
            if (m.path / "models.py").is_file() or (m.path / "models").is_dir():
                importlib.import_module(f"{m.package}.models")
        except Exception as exc:
            raise AddonError(f"{m.path}: cannot import module {name!r}: {exc}") from exc
        for tname in set(metadata.tables) - before:
            metadata.tables[tname].info.setdefault("erp_module", name)
        self._imported[name] = module
        return module

    def import_all(self) -> None:
        for name in self.order:
            if self.manifests[name].installable:
                self.import_addon(name)

    def submodule(self, name: str, sub: str) -> ModuleType | None:
        """Import ``<addon>.<sub>`` (e.g. views, api) if the add-on has it."""
        m = self[name]
        if not ((m.path / f"{sub}.py").is_file() or (m.path / sub).is_dir()):
            return None
        self.import_addon(name)
        return importlib.import_module(f"{m.package}.{sub}")

    def hook(self, name: str, hook: str | None):
        """The hook function named in the manifest, from the add-on's package."""
        if not hook:
            return None
        module = self.import_addon(name)
        fn = getattr(module, hook, None)
        if not callable(fn):
            raise ManifestError(
                self[name].manifest_file,
                f"hook {hook!r} is not a function defined in {self[name].package}",
            )
        return fn


def forget_imports(prefix: str = "addons.") -> None:
    """Drop imported add-on packages from ``sys.modules`` (tests swapping code on disk)."""
    for key in [k for k in sys.modules if k.startswith(prefix)]:
        del sys.modules[key]
