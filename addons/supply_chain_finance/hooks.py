"""Extension points of ``supply_chain_finance`` (:mod:`core.hooks`).

``BUREAU_SECTIONS``: the bridges add their figures to the finance bureau's view (融资监管) -
``scf_deposit`` the guarantees standing in for cash deposits. Each implementation returns a
:class:`BureauSection` (or None) for the period; the view shows one table per section with the
regions of the caller's reach, and the Excel export one sheet per section.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from core.hooks import Hook


@dataclass
class BureauSection:
    """A table of the bureau's view: ``columns`` are ``(key, Chinese label, kind)`` with kind
    ``int`` | ``money`` | ``text``; ``rows`` are per region name (the caller's visibility)."""

    title: str
    columns: list[tuple[str, str, str]]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    note: str = ""


BUREAU_SECTIONS = Hook(
    "supply_chain_finance.bureau_sections",
    doc="fn(session, start: date, end: date) -> BureauSection | None: more figures for the "
        "finance bureau's view (per region of the caller's reach, over the period)",
)


def bureau_sections(session: Any, start: dt.date, end: dt.date) -> list[BureauSection]:
    """Every installed bridge's section for the period (platform-wide: each section reads
    through the caller's scope, so a city sees its own regions)."""
    out = []
    for _module, fn in BUREAU_SECTIONS.implementations(None):
        section = fn(session, start, end)
        if section is not None:
            out.append(section)
    return out


__all__ = ["BUREAU_SECTIONS", "BureauSection", "bureau_sections"]
