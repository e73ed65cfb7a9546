"""REST APIs of ``emall_livestock`` under ``/api/v1/``.

* ``emall_livestock_purchaser``: the livestock-system purchaser list (CRUD; the service
  checks the unit's type and the writer's regions);
* ``emall_livestock``: the pavilion, public (no login): ``GET categories`` (the tree with
  attribute templates and the cold-chain flag), ``GET search`` (emall's search limited to
  the pavilion), and, for a logged-in user, ``GET steering`` (whether the user's unit is
  steered to the pavilion, and where).
"""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect

from addons.emall.services import search as emall_search
from addons.procurement_base.api import PbApi
from core.api import ErpBaseApi
from core.db import db
from core.tenancy import current_scope

from . import services
from .models import LivestockPurchaser

LABELS = {
    "organization": "单位",
    "organization.name": "单位名称",
    "organization.org_type": "单位类型",
    "organization.region_id": "所在地区编号",
    "include_subordinates": "含下属单位",
    "active": "启用",
    "note": "备注",
    "created_at": "列入时间",
}


class LivestockPurchaserApi(PbApi):
    pb_title = "畜牧系统采购单位"
    resource_name = "emall_livestock_purchaser"
    datamodel = SQLAInterface(LivestockPurchaser)
    class_permission_name = "LivestockPurchaser"
    validator = staticmethod(services.validate_livestock_purchaser)
    optional_on_add = ("include_subordinates", "active")
    list_columns = ["id", "organization.id", "organization.name", "organization.org_type",
                    "organization.region_id", "include_subordinates", "active", "note",
                    "created_at"]
    show_columns = list_columns
    add_columns = ["organization", "include_subordinates", "active", "note"]
    edit_columns = add_columns
    search_columns = ["organization", "include_subordinates", "active"]
    order_columns = ["id", "created_at"]
    base_order = ("id", "asc")
    label_columns = LABELS

    def pre_delete(self, item: Any) -> None:  # no dependent records: a plain delete
        services.validate_livestock_purchaser_delete(self.datamodel.session, item)


class LivestockPavilionApi(ErpBaseApi):
    """The pavilion for API clients (public except ``steering``)."""

    resource_name = "emall_livestock"
    class_permission_name = "LivestockPavilionApi"
    openapi_spec_tag = "畜牧行业馆"

    @expose("/categories", methods=["GET"])
    @safe
    def categories(self):
        """The pavilion's category tree (public).
        ---
        get:
          summary: 畜牧行业馆品目树（公开）
          responses:
            200:
              description: 品目树：code, name, catalog_code, requires_cold_chain, attributes, children
        """
        def run():
            tree = services.pavilion_tree(db.session)
            return self.response(200, result=[services.node_json(n) for n in tree])

        return self._erp_answer(run)

    @expose("/search", methods=["GET"])
    @safe
    def search(self):
        """Search the pavilion's listed products (public), by emall's keyword index and rules:
        ``q`` words (synonyms and pinyin applied), ``category`` (id or code, with its
        sub-categories), ``price_min`` / ``price_max``, ``supplier``, ``region`` (delivery
        region code), ``cold_chain`` (1/0), ``attr.<key>``, ``sort``
        (relevance|newest|price_asc|price_desc|name), ``page`` (from 0), ``page_size``.
        Any other argument or a bad value: 422.
        ---
        get:
          summary: 畜牧行业馆商品检索（公开）
          responses:
            200:
              description: count, page, page_size, result (listings), facets (categories, price_bands),
                approximate, expanded, count_capped (more than 2,000 hits; count is 2,000)
            422:
              description: 参数有误（字段级中文提示）
        """
        def run():
            parsed = services.parse_search_args(db.session, request.args, zero_based=True)
            page = services.search_page(db.session, parsed,
                                        prefer_region_id=emall_search.purchaser_region(current_scope()))
            return self.response(200, count=page.count, page=page.page - 1,
                                 page_size=page.page_size,
                                 result=[services.listing_json(x) for x in page.items],
                                 facets=page.facets, approximate=page.approximate, expanded=page.expanded,
                                 count_capped=page.capped)

        return self._erp_answer(run)

    @expose("/steering", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def steering(self):
        """Whether the logged-in user's unit is steered to the pavilion.
        ---
        get:
          summary: 当前用户单位是否为畜牧系统采购单位
          responses:
            200:
              description: steered, unit, redirect, pavilion_url
        """
        scope = current_scope()
        entry = services.steering_unit(db.session, scope.org_id)
        return self.response(
            200,
            steered=entry is not None,
            unit=entry.organization.name if entry is not None else None,
            redirect=(services.redirect_enabled(db.session, scope.region_id)
                      if entry is not None else False),
            pavilion_url=url_for("LivestockPavilionView.index"),
        )


# ``q`` is the pavilion search's free-text keyword (checked by emall's parse_args)
LivestockPavilionApi.search.erp_free_text_q = True  # type: ignore[attr-defined]


def register(appbuilder) -> None:
    appbuilder.add_api(LivestockPurchaserApi)
    appbuilder.add_api(LivestockPavilionApi)
