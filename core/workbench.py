"""The workbench (工作台): every user's landing page, a card per kind of work waiting.

Core owns the page; the cards come from the modules through the hook :data:`CARDS`. A module
contributes in its own ``workbench.py`` (imported at boot, see :func:`load_contributions`)::

    from core.workbench import CARDS, Card, WorkbenchContext

    @CARDS.implement("deposit_ledger")
    def deposit_cards(ctx: WorkbenchContext) -> list[Card]:
        if not ctx.has_permission("can_read", "DlDue"):
            return []
        return [Card("保证金即将到期", count, "/dl/due/", urgency="warning")]

The hook runs an implementation only where its module is installed and enabled for the
user's region (the platform admin: installed on the platform), so a module switched off for
a county contributes nothing there. Queries inside an implementation run with the user's
scope: the central record rules limit them to what the user may see.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from core.hooks import Hook

log = logging.getLogger(__name__)

URGENCIES = ("info", "warning", "danger")

CARDS = Hook(
    "core.workbench_cards",
    doc="Workbench cards: ``fn(ctx: WorkbenchContext) -> list[Card]`` of what waits for "
        "ctx.user (counts and links), empty when the user has nothing to do there.",
)


@dataclass(frozen=True)
class Card:
    """One line of work: ``count`` items titled ``title`` waiting behind ``link``."""

    title: str
    count: int
    link: str
    #: info (ordinary), warning (due soon), danger (overdue / blocked)
    urgency: str = "info"
    #: a short explanation under the count, e.g. "2 个工作日内到期"
    note: str = ""
    #: the group the card is shown in (the module's Chinese name by default)
    group: str = ""
    #: order within the group (lower first)
    sequence: int = 100

    def __post_init__(self) -> None:
        if self.urgency not in URGENCIES:
            raise ValueError(f"card urgency must be one of {URGENCIES}, not {self.urgency!r}")
        if not self.link.startswith("/"):
            raise ValueError("a card link is a path inside the platform, starting with '/'")


@dataclass
class WorkbenchContext:
    """What an implementation needs to know about the user whose workbench is drawn."""

    session: Session
    user: Any
    scope: Any
    today: dt.date
    permissions: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    is_admin: bool = False

    @property
    def user_id(self) -> int | None:
        return getattr(self.user, "id", None)

    @property
    def org_id(self) -> int | None:
        return self.scope.org_id

    @property
    def actor(self) -> str:
        return self.scope.actor

    def has_permission(self, permission: str, view: str) -> bool:
        """Whether the user holds ``permission`` on ``view`` (the admin holds everything)."""
        return self.is_admin or (permission, view) in self.permissions

    def has_any(self, *pairs: tuple[str, str]) -> bool:
        return any(self.has_permission(p, v) for p, v in pairs)


def _permissions(user: Any) -> frozenset[tuple[str, str]]:
    out = set()
    for role in getattr(user, "roles", ()) or ():
        for pv in role.permissions:
            if pv.permission is not None and pv.view_menu is not None:
                out.add((pv.permission.name, pv.view_menu.name))
    return frozenset(out)


def context_for(session: Session, user: Any, today: dt.date | None = None) -> WorkbenchContext:
    from flask import current_app

    from core.tenancy import current_scope

    admin_role = current_app.config.get("AUTH_ROLE_ADMIN", "Admin")
    roles = getattr(user, "roles", ()) or ()
    return WorkbenchContext(
        session=session,
        user=user,
        scope=current_scope(),
        today=today or dt.date.today(),
        permissions=_permissions(user),
        is_admin=any(r.name == admin_role for r in roles),
    )


@dataclass
class CardGroup:
    title: str
    cards: list[Card]

    @property
    def waiting(self) -> int:
        return sum(c.count for c in self.cards)


def cards_for(ctx: WorkbenchContext) -> list[CardGroup]:
    """The user's cards, grouped by module, in module order; a failing module is logged and
    left out (one module's bug must not take the landing page away from everybody)."""
    from flask import current_app

    registry = current_app.extensions["erp"].registry
    region_id = ctx.scope.region_id if not ctx.scope.unrestricted else None
    groups: dict[str, CardGroup] = {}
    for module, impl in CARDS.implementations(region_id):
        try:
            cards = impl(ctx) or []
        except Exception:
            log.exception("workbench cards of module %s failed", module)
            ctx.session.rollback()
            continue
        default_group = registry[module].name if module in registry else module
        for card in cards:
            group = card.group or default_group
            groups.setdefault(group, CardGroup(group, [])).cards.append(card)
    for g in groups.values():
        g.cards.sort(key=lambda c: (c.sequence, c.title))
    return list(groups.values())


def load_contributions(state: Any) -> None:
    """Import each installable add-on's ``workbench`` submodule (its cards register there)."""
    for name in state.registry.order:
        if state.registry[name].installable:
            state.registry.submodule(name, "workbench")


# -- the name the platform calls the user by --------------------------------------------------
DISPLAY_NAME = Hook(
    "core.user_display_name",
    doc="``fn(session, user) -> str | None``: the name shown in the navbar for a user whose "
        "real name a module keeps (an expert's profile); the first non-empty answer wins.",
)


def display_name(session: Session, user: Any, region_id: int | None = None) -> str:
    """The user's real name: a module's answer (e.g. the linked expert's name), else the
    name on the account in Chinese order (family name first, no space), else the login."""
    for module, impl in DISPLAY_NAME.implementations(region_id):
        try:
            name = impl(session, user)
        except Exception:
            log.exception("display name of module %s failed", module)
            continue
        if name:
            return str(name)
    first = (getattr(user, "first_name", "") or "").strip()
    last = (getattr(user, "last_name", "") or "").strip()
    return f"{first}{last}" or getattr(user, "username", "")
