"""Typed, region-gated extension points.

A host module declares a hook at module level; extension modules implement it; the host
calls it for a region, and core runs an implementation only where its module is
installed on the platform **and** enabled for that region::

    # addons/emall/hooks.py (the host)
    from core.hooks import Hook

    ORDER_VALIDATORS = Hook(
        "emall.order_validators",
        doc="fn(session, order) -> None; raise core.errors.RuleError to refuse the order",
    )

    # addons/emall_livestock/extensions.py (an extension, imported at boot)
    from addons.emall.hooks import ORDER_VALIDATORS

    @ORDER_VALIDATORS.implement("emall_livestock")
    def cold_chain(session, order): ...

    # the host, where an order of region ``order.region_id`` is checked
    ORDER_VALIDATORS.call(order.region_id, session, order)          # -> [results]
    for module, fn in ORDER_VALIDATORS.implementations(order.region_id): ...

Rules:

* ``region_id=None`` means "the platform": an implementation runs when its module is
  installed (a province-wide job, the platform admin's workbench);
* enablement is read from the tenancy layer's cached snapshot (one query per change of
  the module/region tables, none per call), so calling a hook is cheap;
* implementations run in the order of the add-on registry (dependencies first), then in
  the order they were registered; ``sequence=`` orders them explicitly (lower first);
* outside a Flask app context (plain unit tests of a service) no module state is known and
  every registered implementation runs;
* registering the same function twice is a no-op (modules may be imported twice in tests).

A hook replaces module-level lists filled at import ("extension points that ignore the
region"); see docs/module-authors.md, "Hooks".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["Hook", "Implementation", "all_hooks"]

F = TypeVar("F", bound=Callable[..., Any])

_HOOKS: dict[str, Hook[Any]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class Implementation:
    module: str
    fn: Callable[..., Any]
    sequence: int
    order: int  # registration order


class Hook(Generic[F]):
    """An extension point named ``name`` (``"<host module>.<what>"``); ``doc`` states the
    implementation's signature and contract."""

    def __init__(self, name: str, doc: str = "") -> None:
        self.name = name
        self.doc = doc
        self._impls: list[Implementation] = []
        with _lock:
            _HOOKS[name] = self

    def __repr__(self) -> str:
        return f"<Hook {self.name} ({len(self._impls)} implementations)>"

    # -- extension side ----------------------------------------------------------------------
    def implement(self, module: str, *, sequence: int = 100) -> Callable[[F], F]:
        """Decorator: register ``fn`` as module ``module``'s implementation."""
        if not module or not isinstance(module, str):
            raise ValueError("Hook.implement needs the implementing module's name")

        def deco(fn: F) -> F:
            key = (getattr(fn, "__module__", None), getattr(fn, "__qualname__", None))
            with _lock:
                for i, impl in enumerate(self._impls):
                    if impl.module == module and (
                        getattr(impl.fn, "__module__", None), getattr(impl.fn, "__qualname__", None)
                    ) == key:
                        self._impls[i] = Implementation(module, fn, sequence, impl.order)
                        break
                else:
                    self._impls.append(Implementation(module, fn, sequence, len(self._impls)))
            fn.erp_module = module  # type: ignore[attr-defined]
            return fn

        return deco

    def unregister(self, fn: Callable[..., Any]) -> None:
        """Remove an implementation (tests)."""
        with _lock:
            self._impls = [i for i in self._impls if i.fn is not fn]

    # -- host side -----------------------------------------------------------------------------
    def registered(self) -> list[Implementation]:
        """Every registered implementation, ungated."""
        return list(self._impls)

    def implementations(self, region_id: int | None) -> list[tuple[str, Callable[..., Any]]]:
        """``[(module, fn)]`` that apply to ``region_id`` (None: the platform), in order."""
        impls = self._impls
        if not impls:
            return []
        active = _active_modules(region_id)
        if active is None:  # no app: everything registered
            chosen = impls
            rank: dict[str, int] = {}
        else:
            is_on, rank = active
            chosen = [i for i in impls if is_on(i.module)]
        ordered = sorted(chosen, key=lambda i: (i.sequence, rank.get(i.module, 10**6), i.order))
        return [(i.module, i.fn) for i in ordered]

    def call(self, region_id: int | None, *args: Any, **kwargs: Any) -> list[Any]:
        """Run every applicable implementation; their results in order."""
        return [fn(*args, **kwargs) for _, fn in self.implementations(region_id)]

    def modules(self, region_id: int | None) -> list[str]:
        return [m for m, _ in self.implementations(region_id)]

    def __iter__(self) -> Iterator[Implementation]:
        return iter(list(self._impls))


def all_hooks() -> dict[str, Hook[Any]]:
    """Every declared hook by name (the module-author docs and ``erp`` list them)."""
    return dict(_HOOKS)


def _active_modules(region_id: int | None) -> tuple[Callable[[str], bool], dict[str, int]] | None:
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    state = current_app.extensions.get("erp")
    if state is None:
        return None
    rank = {name: i for i, name in enumerate(getattr(state.registry, "order", ()) or ())}
    if region_id is None:
        return state.is_installed, rank
    from core.tenancy import snapshot

    effective = snapshot().effective(region_id)
    return (lambda m: m in effective and state.is_installed(m)), rank
