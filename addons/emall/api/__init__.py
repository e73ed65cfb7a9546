"""REST APIs of the e-mall under ``/api/v1/`` (thin: every rule is in :mod:`.services`).

Public (no login): ``emall_catalog`` - search, product, category tree.
Logged in: ``emall_category``, ``emall_condition``, ``emall_admission`` (+ apply, transition),
``emall_listing`` (+ transition, images), ``emall_cart`` (+ lines, checkout),
``emall_order`` (POST = buy now; + transition, detail), ``emall_comparison`` (POST = publish;
+ award, cancel, quotes), ``emall_quote`` (POST = quote), ``emall_price_alert`` (+ scan,
review), ``emall_dashboard``.

Errors: 422 with Chinese field messages (nothing written), 409 for a conflict (stock, state,
duplicate), 404 for what the user may not see (row scoping), 403 for a write outside the
user's regions (checked before validation).
"""

from __future__ import annotations

from .admission import AdmissionApi, ApplySchema, DecisionSchema
from .catalog_admin import CategoryApi, ConditionApi
from .common import (
    INVALID_DATE,
    EmallApi,
    ListingInterface,
    OwnSupplierFilter,
    _body,
    _date,
    _iso,
    _user_id,
    image_folder,
)
from .comparison import (
    ComparisonApi,
    ComparisonBodySchema,
    QuoteApi,
    QuoteBodySchema,
    comparison_dict,
)
from .listings import ListingApi
from .orders import (
    ORDER_LABELS,
    OrderApi,
    OrderBodySchema,
    OrderTransitionSchema,
    _check_region_matches,
    order_dict,
)
from .price_watch import PriceAlertApi, ReviewSchema
from .shop import (
    CartApi,
    CartLineSchema,
    CatalogApi,
    CheckoutSchema,
    DashboardApi,
    SynonymApi,
    cart_dict,
    catalog_answer,
    catalog_filters,
)
from .wiring import APIS, register

__all__ = [
    "APIS",
    "AdmissionApi",
    "ApplySchema",
    "CartApi",
    "CartLineSchema",
    "CatalogApi",
    "CategoryApi",
    "CheckoutSchema",
    "ComparisonApi",
    "ComparisonBodySchema",
    "ConditionApi",
    "DashboardApi",
    "DecisionSchema",
    "EmallApi",
    "INVALID_DATE",
    "ListingApi",
    "ListingInterface",
    "ORDER_LABELS",
    "OrderApi",
    "OrderBodySchema",
    "OrderTransitionSchema",
    "OwnSupplierFilter",
    "PriceAlertApi",
    "QuoteApi",
    "QuoteBodySchema",
    "ReviewSchema",
    "SynonymApi",
    "_body",
    "_check_region_matches",
    "_date",
    "_iso",
    "_user_id",
    "cart_dict",
    "catalog_answer",
    "catalog_filters",
    "comparison_dict",
    "image_folder",
    "order_dict",
    "register",
]
