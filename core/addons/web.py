"""Registering every add-on's views and APIs with FAB at boot, and gating them at run time.

Every add-on in the code registers its views at boot (Flask refuses blueprints after the
first request). Whether a request may reach them is decided per request: a blueprint of a
module that is not active answers 404, and its menu items are hidden. "Active" is asked of
``ErpState.is_active`` (installed on the platform; the tenancy layer adds "enabled for
the user's region").
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import has_request_context, request
from flask_appbuilder.menu import Menu, MenuItem
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.addons.registry import AddonRegistry
from core.models import ModuleRecord, Signal

log = logging.getLogger(__name__)
Pair = tuple[str, str]
#: WSGI environ key: the module cache (id, generation) already read during this request
_CHECKED = "erp.module_cache_checked"


class ErpMenu(Menu):
    """FAB's menu, with each item tagged by the module that added it and filtered per request."""

    current_module: str | None = None
    is_visible: Callable[[str], bool] = staticmethod(lambda module: True)

    def add_link(self, name, href="", icon="", label="", category="", category_icon="",
                 category_label="", baseview=None, cond=None):
        super().add_link(name, href=href, icon=icon, label=label, category=category,
                         category_icon=category_icon, category_label=category_label,
                         baseview=baseview, cond=cond)
        if self.current_module is not None:
            parent = self.find(category) if category else None
            items = parent.childs if parent is not None else self.menu
            for item in reversed(items):
                if item.name == name:
                    item.erp_module = self.current_module
                    break

    def _filter(self, items: list[MenuItem]) -> list[MenuItem]:
        out = []
        for item in items:
            module = getattr(item, "erp_module", None)
            if module is not None and not self.is_visible(module):
                continue
            if item.childs:
                childs = self._filter(item.childs)
                if not [c for c in childs if c.name != "-"]:
                    continue
                clone = MenuItem(item.name, href=item.href, icon=item.icon, label=item.label,
                                 childs=childs, baseview=item.baseview, cond=item.cond)
                out.append(clone)
            else:
                out.append(item)
        return out

    def get_list(self):
        return self._filter(self.menu)

    def get_data(self, menu=None):
        return super().get_data(menu=menu if menu is not None else self.get_list())

    def menu_names(self, module: str) -> list[str]:
        names: list[str] = []

        def walk(items: list[MenuItem], category: str | None) -> None:
            for item in items:
                if getattr(item, "erp_module", None) == module and item.name != "-":
                    names.append(item.name)
                    if category:
                        names.append(category)
                if item.childs:
                    walk(item.childs, item.name)

        walk(self.menu, None)
        return sorted(set(names))


@dataclass
class ModuleCache:
    """A worker's view of module state, refreshed when the database's counter moves."""

    engine_getter: Callable[[], Engine]
    poll_seconds: float = 1.0
    installed: dict[str, str] = field(default_factory=dict)
    version: int | None = None
    checked_at: float = 0.0
    #: bumped by :meth:`invalidate`: caches keyed on ``version`` (the tenancy snapshot) key on
    #: it too, since the database behind the app may have been replaced (tests, restores) and
    #: show the same counter value as before
    generation: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invalidate(self) -> None:
        self.version = None
        self.checked_at = 0.0
        self.generation += 1

    def refresh(self, force: bool = False) -> None:
        """Read the database's counter (and the installed modules when it moved), at most
        once per ``poll_seconds`` and at most once per request: a request sees one module
        state however many menu items, permissions and gates ask (a page asked ~120 times
        with ``poll_seconds=0``). :meth:`invalidate` (a change made here) forces a read."""
        now = time.monotonic()
        if not force and self.version is not None:
            if now - self.checked_at < self.poll_seconds:
                return
            if has_request_context() and request.environ.get(_CHECKED) == (id(self),
                                                                          self.generation):
                return
        with self._lock:
            sig, mod = Signal.__table__, ModuleRecord.__table__
            try:
                with self.engine_getter().connect() as conn:
                    value = conn.execute(
                        select(sig.c.value).where(sig.c.name == "modules")
                    ).scalar()
                    if value != self.version or force:
                        self.installed = {
                            r.name: r.installed_version
                            for r in conn.execute(
                                select(mod.c.name, mod.c.installed_version).where(
                                    mod.c.state == "installed"
                                )
                            )
                        }
                        self.version = value
            except SQLAlchemyError as exc:  # database not initialised yet
                log.warning("module state unavailable (run 'erp db init'): %s", exc)
                self.installed = {}
                self.version = None
            self.checked_at = now
            if has_request_context() and self.version is not None:
                request.environ[_CHECKED] = (id(self), self.generation)


@dataclass
class ErpState:
    """Everything the platform keeps per app: registry, view ownership, module cache."""

    registry: AddonRegistry
    cache: ModuleCache
    blueprint_module: dict[str, str] = field(default_factory=dict)
    views_by_module: dict[str, list[Any]] = field(default_factory=dict)
    core_views: list[Any] = field(default_factory=list)
    menu: ErpMenu | None = None
    #: extra checks on top of "installed" (tenancy adds region enablement)
    activity_checks: list[Callable[[str], bool]] = field(default_factory=list)
    #: ``erp`` sub-commands contributed by add-ons (``cli.py`` exporting ``cli``): name -> (module, command)
    cli_commands: dict[str, tuple[str, Any]] = field(default_factory=dict)

    def is_installed(self, module: str) -> bool:
        self.cache.refresh()
        return module in self.cache.installed

    def is_active(self, module: str) -> bool:
        if not self.is_installed(module):
            return False
        return all(check(module) for check in self.activity_checks)

    def pairs(self, module: str) -> list[Pair]:
        pairs: set[Pair] = set()
        for view in self.views_by_module.get(module, []):
            for perm in view.base_permissions or ():
                pairs.add((perm, view.class_permission_name))
        if self.menu is not None:
            pairs.update(("menu_access", n) for n in self.menu.menu_names(module))
        return sorted(pairs)

    def core_pairs(self) -> list[Pair]:
        pairs: set[Pair] = set()
        for view in self.core_views:
            for perm in view.base_permissions or ():
                pairs.add((perm, view.class_permission_name))
        if self.menu is not None:

            def walk(items: list[MenuItem], category: str | None) -> None:
                for item in items:
                    if getattr(item, "erp_module", None) is None and item.name != "-":
                        if not item.childs:
                            pairs.add(("menu_access", item.name))
                            if category:
                                pairs.add(("menu_access", category))
                    if item.childs:
                        walk(item.childs, item.name)

            walk(self.menu.menu, None)
        return sorted(pairs)


def register_addons(appbuilder: Any, state: ErpState) -> None:
    """Call each add-on's ``register(appbuilder)`` in ``views`` and ``api``, tracking ownership."""
    menu: ErpMenu = appbuilder.menu
    state.core_views = list(appbuilder.baseviews)
    for name in state.registry.order:
        if not state.registry[name].installable:
            continue
        before = len(appbuilder.baseviews)
        menu.current_module = name
        try:
            for sub in ("views", "api"):
                module = state.registry.submodule(name, sub)
                register = getattr(module, "register", None) if module is not None else None
                if register is not None:
                    register(appbuilder)
        finally:
            menu.current_module = None
        new_views = appbuilder.baseviews[before:]
        state.views_by_module[name] = list(new_views)
        _collect_cli(state, name)
        for view in new_views:
            if view.blueprint is not None:
                state.blueprint_module[view.blueprint.name] = name


def _collect_cli(state: ErpState, name: str) -> None:
    """An add-on's ``cli.py`` may export ``cli``: a click command or group added under ``erp``
    (or a list of them, for a module with more than one top-level command)."""
    module = state.registry.submodule(name, "cli")
    exported = getattr(module, "cli", None) if module is not None else None
    if exported is None:
        return
    from core.addons.manifest import AddonError

    for command in (exported if isinstance(exported, (list, tuple)) else [exported]):
        cmd_name = command.name
        if cmd_name in state.cli_commands:
            other = state.cli_commands[cmd_name][0]
            raise AddonError(f"add-ons {other!r} and {name!r} both define the erp command {cmd_name!r}")
        state.cli_commands[cmd_name] = (name, command)
