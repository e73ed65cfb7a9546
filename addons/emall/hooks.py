"""The e-mall's extension points (:class:`core.hooks.Hook`): other modules implement them;
core runs an implementation only where its module is installed **and** enabled for the
record's region (``emall_livestock`` switched off for 吉林市 leaves 吉林市's orders alone).

* :data:`LISTING_VALIDATORS`: ``fn(listing, category) -> None``, called whenever a listing
  is saved or submitted; raise :class:`core.errors.RuleError` with ``{field: [message]}``
  to refuse. Listings belong to the provincial catalog, so the hook is called for the
  platform (``region_id=None``: implementations of installed modules run);
* :data:`ORDER_VALIDATORS`: ``fn(lines) -> None`` with the unsaved
  :class:`~addons.emall.models.EmallOrderLine` objects of one order (each with ``.order``,
  ``.listing`` and ``.category``) before it is placed, for the order's region; raise
  ``RuleError`` to refuse;
* :data:`PRICING`: ``fn() -> {name: fn(line_request) -> Decimal}`` unit-price strategies
  (emall ships ``listing`` and ``comparison``; a framework-agreement module adds
  ``framework``), for the order's region;
* :data:`CHANNELS`: ``fn() -> {name: ChannelRule}``: whether the amount bands of the
  trading rules apply to orders of that channel, for the order's region;
* :data:`PAYMENT_VALIDATORS`: ``fn(session, order, payee_account) -> None`` before an order's
  payment is recorded (the ``pay`` step, page and API), for the order's region; raise
  ``RuleError({"payee_account": [...]})`` to refuse (``scf_emall``: a financed order whose
  repayment account the purchaser confirmed is paid only to that account);
* :data:`PAYEE_ACCOUNT_HINTS`: ``fn(session, order) -> (account, text) | None``: the account
  an order's payment must go to and why, the default of the pay form's 收款账户;
* :data:`ORDER_LINKS`: ``fn(session, order, scope) -> [(label, url)]``: links on the order's
  page for the user (``scf_emall``: 申请融资 for the supplier of an accepted order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.hooks import Hook
from core.services.money import to_money

MODULE = "emall"

LISTING_VALIDATORS: Hook[Callable[[Any, Any], None]] = Hook(
    "emall.listing_validators",
    doc="fn(listing, category) -> None; raise core.errors.RuleError to refuse the listing")
ORDER_VALIDATORS: Hook[Callable[[list[Any]], None]] = Hook(
    "emall.order_validators",
    doc="fn(lines) -> None with the unsaved lines of one order; raise RuleError to refuse")
PRICING: Hook[Callable[[], dict[str, Callable[[dict[str, Any]], Decimal]]]] = Hook(
    "emall.pricing", doc="fn() -> {name: fn(line_request) -> unit price (Decimal)}")
CHANNELS: Hook[Callable[[], dict[str, ChannelRule]]] = Hook(
    "emall.channels", doc="fn() -> {channel name: ChannelRule}")


@dataclass(frozen=True)
class ChannelRule:
    """How the trading rules treat orders of a channel."""

    label: str
    #: the amount bands (direct / comparison / refused) apply to orders of this channel
    amount_bands: bool


@PRICING.implement(MODULE)
def builtin_pricing() -> dict[str, Callable[[dict[str, Any]], Decimal]]:
    # a line request {"listing": EmallListing, "quantity": n, ...} -> unit price
    return {
        "listing": lambda req: req["listing"].price,
        "comparison": lambda req: to_money(req["unit_price"]),
    }


@CHANNELS.implement(MODULE)
def builtin_channels() -> dict[str, ChannelRule]:
    return {
        "direct": ChannelRule("直购", amount_bands=True),
        "comparison": ChannelRule("竞价", amount_bands=False),  # the band was decided at publishing
    }


def pricing_strategies(region_id: int | None) -> dict[str, Callable[[dict[str, Any]], Decimal]]:
    """The unit-price strategies that apply in ``region_id``."""
    out: dict[str, Callable[[dict[str, Any]], Decimal]] = {}
    for strategies in PRICING.call(region_id):
        out.update(strategies)
    return out


def channel_rules(region_id: int | None) -> dict[str, ChannelRule]:
    """The order channels that apply in ``region_id``."""
    out: dict[str, ChannelRule] = {}
    for rules in CHANNELS.call(region_id):
        out.update(rules)
    return out


#: the landing pages of the pavilions (行业馆), so that a product page keeps its pavilion's
#: context ("← 返回畜牧行业馆") without the e-mall knowing the pavilion's module
PAVILION_PAGES: Hook[Callable[[], dict[str, tuple[str, str]]]] = Hook(
    "emall.pavilion_pages", doc="fn() -> {pavilion key: (its Chinese name, the URL of its landing page)}")


def pavilion_pages(region_id: int | None) -> dict[str, tuple[str, str]]:
    """The pavilion landing pages that apply in ``region_id`` (None: the platform)."""
    out: dict[str, tuple[str, str]] = {}
    for pages in PAVILION_PAGES.call(region_id):
        out.update(pages)
    return out


PAYMENT_VALIDATORS: Hook[Callable[[Any, Any, str | None], None]] = Hook(
    "emall.payment_validators",
    doc="fn(session, order, payee_account) -> None before the order's payment is recorded "
        "(payee_account: the 收款账户 entered, or None); raise core.errors.RuleError "
        "({'payee_account': [...]}) to refuse the payment")
PAYEE_ACCOUNT_HINTS: Hook[Callable[[Any, Any], tuple[str, str] | None]] = Hook(
    "emall.payee_account_hints",
    doc="fn(session, order) -> (account, text shown beside the field) | None: the account the "
        "order's payment must go to")
ORDER_LINKS: Hook[Callable[[Any, Any, Any], list[tuple[str, str]]]] = Hook(
    "emall.order_links",
    doc="fn(session, order, scope) -> [(label, url)]: links shown on the order's page to that user")


def payee_account_hint(session: Any, order: Any) -> tuple[str, str] | None:
    """The account ``order``'s payment must go to, and why (the first module naming one)."""
    for hint in PAYEE_ACCOUNT_HINTS.call(order.region_id, session, order):
        if hint:
            return hint
    return None


def order_links(session: Any, order: Any, scope: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for links in ORDER_LINKS.call(order.region_id, session, order, scope):
        out.extend(links or [])
    return out
