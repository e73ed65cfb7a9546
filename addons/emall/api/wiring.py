"""Registration of the e-mall's APIs."""

from __future__ import annotations

from .admission import AdmissionApi
from .catalog_admin import CategoryApi, ConditionApi
from .comparison import ComparisonApi, QuoteApi
from .listings import ListingApi
from .orders import OrderApi
from .price_watch import PriceAlertApi
from .shop import CartApi, CatalogApi, DashboardApi, SynonymApi

APIS = (CategoryApi, ConditionApi, AdmissionApi, ListingApi, OrderApi, ComparisonApi, QuoteApi,
        PriceAlertApi, CartApi, CatalogApi, DashboardApi, SynonymApi)


def register(appbuilder) -> None:
    for api in APIS:
        appbuilder.add_api(api)
