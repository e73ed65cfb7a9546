"""Business rules of the e-mall: plain Python on a SQLAlchemy session (no Flask request
objects), shared by the pages, the APIs, the CLI, the tests and other modules.

* catalog: :func:`validate_category` (codes, attribute templates);
* admission (入驻): unified conditions checked against the negative list of hidden barriers
  (:func:`negative_list_barrier`), applications, approve / reject / suspend / reinstate
  (:data:`ADMISSION_FLOW`);
* listings: :func:`validate_listing` (price <= reference, no duplicate brand + model per
  supplier, no exclusive model, attribute template), :data:`LISTING_FLOW`, images checked by
  magic bytes and size, the normalised search text;
* the public catalog: :func:`search_listings` (keyword, category subtree, attributes, price
  range, supplier, delivery region, pavilion; sorting; pagination);
* purchasing: the cart, :func:`checkout` (trading rules by amount, per-region settings:
  direct purchase / online price comparison / refused), :func:`place_order` (one order per
  supplier, stock reserved by an atomic conditional UPDATE), :data:`ORDER_FLOW` (placed,
  confirmed, shipped, delivered, accepted with an acceptance record and a procurement_base
  contract, paid, cancelled, disputed and resolved);
* online price comparison (竞价): publish, quote, close, award (lowest compliant quote);
* price monitoring: listings above their reference, order prices that are outliers in their
  category (median / MAD with pandas), in a review queue.

Extension points for other modules (the livestock pavilion, framework agreements):

* :data:`LISTING_VALIDATORS`: ``fn(listing, category)`` called whenever a listing is saved or
  submitted; raise :class:`RuleError` with ``{field: [Chinese message]}`` to refuse;
* :data:`ORDER_VALIDATORS`: ``fn(lines)`` called with the unsaved :class:`EmallOrderLine`
  objects of one order (each with ``.order``, ``.listing`` and ``.category``) before it is
  placed; raise :class:`RuleError` to refuse;
* :data:`PRICING`: ``name -> fn(line_request) -> Decimal`` unit-price strategies (``listing``,
  ``comparison``; a framework-agreement module registers ``framework``);
* :data:`CHANNELS`: ``name -> ChannelRule``: whether the amount bands of the trading rules
  apply to orders of that channel (a framework agreement's second stage has its own rules).
"""

from __future__ import annotations

# names the single services module offered before the split (pages and APIs use them as
# ``services.X``)
import datetime as dt

from addons.procurement_base.services import DuplicateError, Errors, RuleError
from core.services import settings

from ..hooks import (
    CHANNELS,
    LISTING_VALIDATORS,
    ORDER_VALIDATORS,
    PRICING,
    ChannelRule,
    channel_rules,
    pricing_strategies,
)
from ..models import PAVILIONS
from .admission import (
    ADMISSION_FLOW,
    NEGATIVE_LIST,
    _ancestors,
    _g_suspend,
    active_conditions,
    admitted_supplier_ids,
    apply_for_admission,
    blocked_supplier_ids,
    decide_admission,
    is_admitted,
    negative_list_barrier,
    validate_condition,
)
from .cart import _line_requests, _purchaser_of, buy_now, cart_add, cart_lines, checkout
from .catalog import (
    ATTR_KEY,
    CATEGORY_CODE,
    category_children,
    category_subtree,
    category_tree,
    check_attribute_template,
    validate_category,
)
from .common import (
    _SPACE,
    CST,
    INSTITUTION_ROLE,
    MODULE,
    ZERO,
    ConflictError,
    _actor_scope,
    _own_units,
    _privileged,
    _text,
    label,
    normalize,
    now,
    today,
    unit_address,
)
from .comparison import (
    award_comparison,
    cancel_comparison,
    close_if_due,
    need_category,
    publish_comparison,
    qualified_for,
    quote_deadline,
    ranked_quotes,
    submit_quote,
)
from .dashboard import CHANNEL_LABELS, _month, dashboard
from .listings import (
    EXCLUSIVE_WORDS,
    IMAGE_TYPES,
    LISTING_ACTORS,
    LISTING_FLOW,
    REFERENCE_SOURCES,
    _g_reviewable,
    _g_supplier_admitted,
    _money,
    add_image,
    check_listing_attributes,
    image_type,
    search_text_of,
    set_listing_regions,
    transition_listing,
    validate_listing,
)
from .money_audit import MONEY_FIELDS, _install_listeners, audit_listing_prices
from .orders import (
    ORDER_ACTORS,
    ORDER_FLOW,
    _accept,
    _g_acceptance,
    _g_paid,
    _order_number,
    _order_role,
    _pay,
    create_contract,
    lock_order,
    overdue_payments,
    payment_overdue_days,
    place_order,
    refusal_message,
    release_stock,
    reserve_stock,
    trading_band,
    transition_order,
    validate_order_edit,
)
from .price_watch import review_alert, scan_prices
from .search import (
    MAX_PAGE_SIZE,
    SORTS,
    UNSCOPED,
    CatalogRow,
    _children_cached,
    _like_escape,
    _page_rows,
    invalidate_category_tree,
    keyword_clause,
    listing_dict,
    public_listing,
    region_and_ancestors,
    search_listings,
    search_statement,
    subtree_ids,
)

__all__ = [
    "channel_rules",
    "pricing_strategies",
    "CHANNELS",
    "LISTING_VALIDATORS",
    "ORDER_VALIDATORS",
    "PRICING",
    "ChannelRule",
    "PAVILIONS",
    "DuplicateError",
    "Errors",
    "RuleError",
    "dt",
    "settings",
    "ADMISSION_FLOW",
    "ATTR_KEY",
    "CATEGORY_CODE",
    "CHANNELS",
    "CHANNEL_LABELS",
    "CST",
    "CatalogRow",
    "ChannelRule",
    "ConflictError",
    "EXCLUSIVE_WORDS",
    "IMAGE_TYPES",
    "INSTITUTION_ROLE",
    "LISTING_ACTORS",
    "LISTING_FLOW",
    "LISTING_VALIDATORS",
    "MAX_PAGE_SIZE",
    "MODULE",
    "MONEY_FIELDS",
    "NEGATIVE_LIST",
    "ORDER_ACTORS",
    "ORDER_FLOW",
    "ORDER_VALIDATORS",
    "PRICING",
    "REFERENCE_SOURCES",
    "SORTS",
    "UNSCOPED",
    "ZERO",
    "_SPACE",
    "_accept",
    "_actor_scope",
    "_ancestors",
    "_children_cached",
    "_g_acceptance",
    "_g_paid",
    "_g_reviewable",
    "_g_supplier_admitted",
    "_g_suspend",
    "_install_listeners",
    "_like_escape",
    "_line_requests",
    "_money",
    "_month",
    "_order_number",
    "_order_role",
    "_own_units",
    "_page_rows",
    "_pay",
    "_privileged",
    "_purchaser_of",
    "_text",
    "active_conditions",
    "add_image",
    "admitted_supplier_ids",
    "apply_for_admission",
    "audit_listing_prices",
    "award_comparison",
    "blocked_supplier_ids",
    "buy_now",
    "cancel_comparison",
    "cart_add",
    "cart_lines",
    "category_children",
    "category_subtree",
    "category_tree",
    "check_attribute_template",
    "check_listing_attributes",
    "checkout",
    "close_if_due",
    "create_contract",
    "dashboard",
    "decide_admission",
    "image_type",
    "invalidate_category_tree",
    "is_admitted",
    "keyword_clause",
    "label",
    "listing_dict",
    "lock_order",
    "need_category",
    "negative_list_barrier",
    "normalize",
    "now",
    "place_order",
    "public_listing",
    "publish_comparison",
    "qualified_for",
    "quote_deadline",
    "ranked_quotes",
    "refusal_message",
    "region_and_ancestors",
    "release_stock",
    "reserve_stock",
    "review_alert",
    "scan_prices",
    "search_listings",
    "search_statement",
    "search_text_of",
    "set_listing_regions",
    "submit_quote",
    "subtree_ids",
    "today",
    "unit_address",
    "overdue_payments",
    "payment_overdue_days",
    "trading_band",
    "transition_listing",
    "transition_order",
    "validate_category",
    "validate_condition",
    "validate_listing",
    "validate_order_edit",
]
