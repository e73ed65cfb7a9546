"""Extension points of ``supply_chain_finance`` (:mod:`core.hooks`).

``BUREAU_SECTIONS``: the bridges add their figures to the finance bureau's view (融资监管) -
``scf_deposit`` the guarantees standing in for cash deposits. Each implementation returns a
:class:`BureauSection` (or None) for the period; the view shows one table per section with the
regions of the caller's reach, and the Excel export one sheet per section.

What a financing finances is a ``procurement_base`` contract; a bridge whose own record stands
behind a contract (``scf_emall``: the contract an accepted e-mall order wrote) takes part
through three hooks, called for the contract's region:

* ``FINANCEABLE_CHECKS``: ``fn(session, contract) -> None``; raise ``core.errors.RuleError`` /
  ``ConflictError`` to refuse financing the contract (applying and, again with the contract row
  locked, approving) - e.g. an e-mall order under dispute;
* ``CONTRACT_SOURCES``: ``fn(session, contract) -> ContractSource | None``: the record behind the
  contract, shown to the bank beside the contract data (API: ``contract_data[kind]``; page: a
  labelled table), and the contract-data values it states better (``overrides``: an accepted
  order's acceptance status);
* ``LOCK_CHANGES``: ``fn(session, lock, change, reason) -> None`` after every change of a
  repayment-account lock (``created``, ``confirmed``, ``released``), in its transaction, so
  that the bridge audits it on its own record too.
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


@dataclass
class ContractSource:
    """The record behind a financed contract (e.g. an accepted e-mall order).

    ``kind``: its key in the bank's contract data (``"emall_order"``); ``title``: its Chinese
    name; ``fields``: ``(key, Chinese label, JSON-ready value)`` in display order;
    ``overrides``: contract-data keys whose value this record states better."""

    kind: str
    title: str
    fields: list[tuple[str, str, Any]] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return {key: value for key, _label, value in self.fields}


FINANCEABLE_CHECKS = Hook(
    "supply_chain_finance.financeable_checks",
    doc="fn(session, contract) -> None; raise core.errors.RuleError / ConflictError to refuse "
        "financing the contract (checked at applying and, with the contract row locked, at "
        "approval)",
)
CONTRACT_SOURCES = Hook(
    "supply_chain_finance.contract_sources",
    doc="fn(session, contract) -> ContractSource | None: the record behind the contract, shown "
        "to the bank beside the contract data",
)
LOCK_CHANGES = Hook(
    "supply_chain_finance.lock_changes",
    doc="fn(session, lock, change, reason) -> None after a repayment-account lock is created, "
        "confirmed or released (change: created | confirmed | released), in its transaction",
)


def contract_sources(session: Any, contract: Any) -> list[ContractSource]:
    """The records behind ``contract`` (one per bridge that knows one)."""
    out = []
    for src in CONTRACT_SOURCES.call(contract.region_id, session, contract):
        if src is not None:
            out.append(src)
    return out


def bureau_sections(session: Any, start: dt.date, end: dt.date) -> list[BureauSection]:
    """Every installed bridge's section for the period (platform-wide: each section reads
    through the caller's scope, so a city sees its own regions)."""
    out = []
    for _module, fn in BUREAU_SECTIONS.implementations(None):
        section = fn(session, start, end)
        if section is not None:
            out.append(section)
    return out


__all__ = ["BUREAU_SECTIONS", "CONTRACT_SOURCES", "FINANCEABLE_CHECKS", "LOCK_CHANGES",
           "BureauSection", "ContractSource", "bureau_sections", "contract_sources"]
