"""Pages of ``emall_livestock`` (menu 电子卖场):

* 畜牧行业馆 ``/livestock/`` (public, anonymous): the pavilion's departments and
  categories with the number of listed products, the cold-chain notice, the newest
  listings and a search form; ``/livestock/search`` the pavilion's search (keyword,
  category, price range, supplier, delivery region, cold chain, sorting, pagination);
  ``/livestock/general`` lets a steered purchaser continue to the general e-mall;
* 畜牧系统采购单位 ``/livestockpurchaserview/``: the list of livestock competent units and
  purchasers whose users are steered to the pavilion;
* the steering itself: a ``before_request`` hook that sends a steered purchaser who opens
  the e-mall's landing page to the pavilion (setting ``emall_livestock.redirect_purchasers``)
  or shows them a link to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app, flash, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from markupsafe import Markup, escape
from marshmallow import ValidationError

from addons.emall.hooks import PAVILION_PAGES
from addons.emall.services import search as emall_search
from addons.procurement_base.views import PbModelView
from core.db import db
from core.models import ORG_TYPES
from core.tenancy import current_scope

from . import services
from .hooks import home_links
from .models import LivestockPurchaser

CATEGORY = "电子卖场"
TEMPLATE_FOLDER = str(Path(__file__).resolve().parent / "templates")
#: session key: the user chose the general e-mall in this session (no more redirects)
GENERAL_KEY = "emall_livestock_general"


@PAVILION_PAGES.implement("emall_livestock")
def pavilion_page() -> dict[str, tuple[str, str]]:
    """emall's product pages link a livestock product back to the pavilion."""
    return {"livestock": ("畜牧行业馆", "/livestock/")}


class LivestockPavilionView(BaseView):
    """The pavilion's public pages (no permission needed: anonymous visitors included)."""

    route_base = "/livestock"
    default_view = "index"
    template_folder = TEMPLATE_FOLDER
    class_permission_name = "LivestockPavilion"
    base_permissions: list[str] = []

    def _steering(self) -> Any:
        scope = current_scope()
        if scope.org_id is None:
            return None
        return services.steering_unit(db.session, scope.org_id)

    @expose("/")
    def index(self):
        tree = services.pavilion_tree(db.session)
        counts = services.listed_counts(db.session)
        newest = services.search(db.session, sort="newest", page_size=12).items
        # the facets of the whole pavilion (categories, price bands), linking to the search
        overview = services.search_page(db.session, services.parse_search_args(db.session, {}))

        def url_with(**changes: Any) -> str:
            return url_for("LivestockPavilionView.search", **{k: v for k, v in changes.items() if v not in (None, "")})

        return self.render_template(
            "emall_livestock/pavilion.html", overview=overview, url_with=url_with,
            tree=tree, counts=counts, newest=newest, steering=self._steering(),
            chart=services.department_chart(db.session, tree, counts),
            general_url=services.general_mall_url(),
            product_url=services.product_url, fmt_price=services.fmt_price,
            regions=services.delivery_regions(db.session),
            suppliers=services.pavilion_suppliers(db.session), args={}, errors={},
            sorts=services.SORTS, home_links=home_links(current_scope().region_id),
        )

    @expose("/search")
    def search(self):
        errors: dict[str, list[str]] = {}
        parsed = None
        try:
            parsed = services.parse_search_args(db.session, request.args)
        except ValidationError as exc:
            errors = exc.messages if isinstance(exc.messages, dict) else {"_": list(exc.messages)}
        if parsed is None:
            page = services.SearchPage([], 0, 1, services.PAGE_SIZE)
        else:
            page = services.search_page(db.session, parsed,
                                        prefer_region_id=emall_search.purchaser_region(current_scope()))
        category = (services.resolve_category(db.session, parsed["category"].id)
                    if parsed and parsed.get("category") is not None else None)

        def url_with(**changes: Any) -> str:
            merged = {**request.args.to_dict(), **changes}
            return url_for("LivestockPavilionView.search",
                           **{k: v for k, v in merged.items() if v not in (None, "")})

        html = self.render_template(
            "emall_livestock/search.html",
            page=page, args=request.args, errors=errors, category=category,
            attribute_filters=services.attribute_filters(category),
            tree=services.pavilion_tree(db.session), counts=services.listed_counts(db.session),
            product_url=services.product_url, fmt_price=services.fmt_price,
            regions=services.delivery_regions(db.session),
            suppliers=services.pavilion_suppliers(db.session), sorts=services.SORTS,
            page_url=lambda n: url_with(page=n), url_with=url_with,
            steering=self._steering(), general_url=services.general_mall_url(),
        )
        return (html, 400) if errors else html

    @expose("/general")
    def general(self):
        """A steered purchaser continues to the general e-mall (for this session)."""
        session[GENERAL_KEY] = True
        return redirect(services.general_mall_url(all_=True))


def _steerable_types() -> list[str]:
    return list(services.STEERABLE_ORG_TYPES)


class LivestockPurchaserView(PbModelView):
    datamodel = SQLAInterface(LivestockPurchaser)
    class_permission_name = "LivestockPurchaser"
    validator = staticmethod(services.validate_livestock_purchaser)
    list_title = "畜牧系统采购单位"
    show_title = "畜牧系统采购单位详情"
    add_title = "列入畜牧系统采购单位"
    edit_title = "修改畜牧系统采购单位"
    list_columns = ["organization", "organization.org_type", "organization.region",
                    "include_subordinates", "active", "note", "created_at"]
    show_columns = list_columns
    add_columns = ["organization", "include_subordinates", "active", "note"]
    edit_columns = add_columns
    search_columns = ["organization", "include_subordinates", "active"]
    label_columns = {
        "organization": "单位",
        "organization.org_type": "单位类型",
        "organization.region": "所在地区",
        "include_subordinates": "含下属单位",
        "active": "启用",
        "note": "备注",
        "created_at": "列入时间",
    }
    description_columns = {
        "organization": "畜牧兽医主管部门（主管预算单位）或其下属采购人，例如市畜牧业管理局、动物疫病预防控制中心",
        "include_subordinates": "勾选后，该单位的下属单位（按“上级单位”逐级）也引导到畜牧行业馆",
    }
    formatters_columns = {"organization.org_type": lambda v: ORG_TYPES.get(v, v or "")}
    add_form_query_rel_fields = {
        "organization": [["org_type", FilterInFunction, _steerable_types]],
    }
    edit_form_query_rel_fields = add_form_query_rel_fields

    def pre_delete(self, item: Any) -> None:
        try:
            services.validate_livestock_purchaser_delete(self.datamodel.session, item)
        except ValidationError as exc:
            from addons.procurement_base.views import DeleteRefused

            raise DeleteRefused("；".join(sum(exc.messages.values(), []))) from None


# -- steering ------------------------------------------------------------------------------------
def steer_request() -> Any:
    """``before_request``: a livestock-system purchaser opening the e-mall's landing page is
    sent to the pavilion (or shown a link to it), unless they chose the general e-mall."""
    if request.method != "GET" or request.endpoint not in services.emall_landing_endpoints():
        return None
    # only the bare landing page: a search, a category or another pavilion is the user's choice
    if request.args or session.get(GENERAL_KEY):
        return None
    state = current_app.extensions.get("erp")
    if state is None or not state.is_active(services.MODULE):
        return None
    scope = current_scope()
    if scope.actor != "purchaser" or scope.org_id is None:
        return None
    entry = services.steering_unit(db.session, scope.org_id)
    if entry is None:
        return None
    pavilion = url_for("LivestockPavilionView.index")
    if services.redirect_enabled(db.session, scope.region_id):
        return redirect(pavilion)
    flash(Markup("您单位属于畜牧兽医系统（{unit}），疫苗、兽药、饲料、种畜禽等请到"
                 "<a href=\"{url}\">畜牧行业馆</a>采购。").format(
        unit=escape(entry.organization.name), url=pavilion), "info")
    return None


def register(appbuilder) -> None:
    appbuilder.add_view_no_menu(LivestockPavilionView())
    appbuilder.add_link("畜牧行业馆", href="/livestock/", icon="fa-paw", category=CATEGORY)
    appbuilder.add_view(LivestockPurchaserView, "畜牧系统采购单位", icon="fa-sitemap",
                        category=CATEGORY)
    current_app.before_request(steer_request)
