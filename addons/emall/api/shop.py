"""The cart (``emall_cart``), the public catalog (``emall_catalog``), the dashboard and the synonyms."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from marshmallow import Schema, fields
from marshmallow import validate as mv

from core.api import ApiError, ErpBaseApi, json_object_body
from core.db import db
from core.tenancy import current_scope

from .. import search_index, services
from ..models import EmallCartLine, EmallSynonym
from ..services import search as catalog_search
from .common import EmallApi, _body, _user_id
from .comparison import comparison_dict
from .orders import order_dict


class CartLineSchema(Schema):
    listing = fields.Integer(strict=True, required=True,
                             error_messages={"required": "请选择商品", "invalid": "请填写商品编号"})
    quantity = fields.Integer(strict=True, load_default=1, validate=mv.Range(min=1, max=1_000_000,
                                                                              error="数量须为正整数"),
                              error_messages={"invalid": "数量须为正整数"})


class CheckoutSchema(Schema):
    delivery_address = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=255))
    contact = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=64))
    phone = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=32))
    note = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=2000))
    title = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=200))
    requirements = fields.String(load_default=None, allow_none=True, validate=mv.Length(max=5000))


def cart_dict(session: Any, user_id: int) -> dict[str, Any]:
    lines = services.cart_lines(session, user_id)
    total = sum((c.listing.price * c.quantity for c in lines), services.ZERO)
    return {"lines": [{"id": c.id, "listing": c.listing_id, "name": c.listing.name,
                       "supplier": c.listing.supplier_id, "quantity": c.quantity,
                       "unit_price": str(c.listing.price),
                       "amount": str(c.listing.price * c.quantity)} for c in lines],
            "total": str(total)}


class CartApi(ErpBaseApi):
    resource_name = "emall_cart"
    class_permission_name = "EmallCart"
    allow_browser_login = True
    openapi_spec_tag = "E-mall cart"

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def get_cart(self):
        """The user's cart
        ---
        get:
          responses:
            200:
              description: the cart
        """
        return self._erp_answer(lambda: self.response(200, result=cart_dict(db.session, _user_id())))

    @expose("/lines", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def add_line(self):
        """Add a listing (quantity adds up)
        ---
        post:
          responses:
            200:
              description: the cart
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            body = CartLineSchema().load(json_object_body())
            services.cart_add(db.session, _user_id(), body["listing"], body["quantity"])
            db.session.commit()
            return self.response(200, result=cart_dict(db.session, _user_id()))

        return self._erp_answer(run)

    @expose("/lines/<int:line_id>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("post")
    def remove_line(self, line_id: int):
        """Remove a cart line
        ---
        delete:
          responses:
            200:
              description: the cart
            404:
              $ref: '#/components/responses/404'
        """
        def run():
            line = db.session.get(EmallCartLine, line_id)
            if line is None or line.user_id != _user_id():
                raise ApiError(404)
            db.session.delete(line)
            db.session.commit()
            return self.response(200, result=cart_dict(db.session, _user_id()))

        return self._erp_answer(run)

    @expose("/checkout", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def checkout(self):
        """Check out: orders per supplier, or a price comparison, or a refusal by amount
        ---
        post:
          responses:
            200:
              description: the orders or the comparison
            409:
              $ref: '#/components/responses/409'
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            body = CheckoutSchema().load(_body())
            res = services.checkout(db.session, _user_id(), **body)
            db.session.commit()
            return self.response(200, result={
                "mode": res["mode"], "amount": str(res["amount"]),
                "orders": [order_dict(o) for o in res["orders"]],
                "comparison": comparison_dict(res["comparison"]) if res["comparison"] else None})

        return self._erp_answer(run)


# -- public catalog -------------------------------------------------------------------------------------------
def catalog_filters(session: Any) -> dict[str, Any]:
    """Query-string arguments of a catalog search (the search module's rules, shared with the
    pages and the pavilion; 422 on bad input)."""
    return catalog_search.parse_args(session, request.args)


def catalog_answer(page: Any) -> dict[str, Any]:
    """The JSON of a catalog search page: hits, count, facets, what the terms were expanded to."""
    return {"count": page.count, "page": page.page, "page_size": page.page_size,
            "result": [services.listing_dict(x) for x in page.rows], "facets": page.facets,
            "approximate": page.approximate, "expanded": page.expanded,
            "count_capped": page.capped}


class CatalogApi(ErpBaseApi):
    """The public catalog: no login."""

    resource_name = "emall_catalog"
    openapi_spec_tag = "E-mall catalog (public)"

    @expose("/", methods=["GET"])
    @safe
    def search(self):
        """Search listed products on the keyword index: q (words, all must match; synonyms and
        pinyin applied), category (id or code, with its subtree), pavilion (general|livestock),
        attr.<key>, price_min, price_max, supplier, region (code), cold_chain (1/0), sort
        (relevance|newest|price_asc|price_desc|name; relevance by default), page (from 0),
        page_size (1-100). Answer: count, result, facets (categories, price_bands),
        approximate (a one-character typo was allowed), expanded (synonyms/pinyin used),
        count_capped (more than 2,000 hits: count is 2,000 and the facets count the first hits).
        Any other argument, or a bad value: 422 with Chinese field messages.
        ---
        get:
          responses:
            200:
              description: count, result, facets
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            parsed = catalog_filters(db.session)
            page = catalog_search.catalog_page(db.session, parsed,
                                               prefer_region_id=catalog_search.purchaser_region(current_scope()))
            return self.response(200, **catalog_answer(page))

        return self._erp_answer(run)

    @expose("/<int:pk>", methods=["GET"])
    @safe
    def product(self, pk: int):
        """A product page's data
        ---
        get:
          responses:
            200:
              description: the product
            404:
              $ref: '#/components/responses/404'
        """
        def run():
            x = services.public_listing(db.session, pk) if pk < 2**31 else None
            if x is None:
                raise ApiError(404)
            return self.response(200, result=services.listing_dict(x, detail=True))

        return self._erp_answer(run)

    @expose("/categories", methods=["GET"])
    @safe
    def categories(self):
        """The category tree (pavilion=general|livestock to limit it)
        ---
        get:
          responses:
            200:
              description: the tree
        """
        def run():
            pav = request.args.get("pavilion")
            which = "*" if not pav else (None if pav == "general" else pav)
            return self.response(200, result=services.category_tree(db.session, which))

        return self._erp_answer(run)


# ``q`` is the catalog's free-text keyword (checked by parse_args), not FAB's rison query
CatalogApi.search.erp_free_text_q = True  # type: ignore[attr-defined]


class DashboardApi(ErpBaseApi):
    resource_name = "emall_dashboard"
    class_permission_name = "EmallDashboard"

    @expose("/", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def figures(self):
        """The user's dashboard figures (what row scoping lets them see)
        ---
        get:
          responses:
            200:
              description: figures
        """
        def run():
            d = services.dashboard(db.session)
            d["turnover"] = [str(v) for v in d["turnover"]]
            d["total"] = str(d["total"])
            d["spend_by_category"] = [[n, str(v)] for n, v in d["spend_by_category"]]
            return self.response(200, result=d)

        return self._erp_answer(run)


class SynonymApi(EmallApi):
    """同义词 of the catalog search (the institution keeps them; applied at query time)."""

    pb_title = "同义词"
    resource_name = "emall_synonym"
    datamodel = SQLAInterface(EmallSynonym)
    class_permission_name = "EmallSynonym"
    validator = staticmethod(search_index.validate_synonym)
    list_columns = ["id", "term", "synonyms", "mutual", "active", "note", "updated_at"]
    show_columns = list_columns
    add_columns = ["term", "synonyms", "mutual", "active", "note"]
    edit_columns = add_columns
    search_columns = ["term", "synonyms", "mutual", "active"]
    order_columns = ["term", "updated_at"]
    base_order = ("term", "asc")
    optional_on_add = ("mutual", "active", "note")
    label_columns = {"term": "词语", "synonyms": "同义词", "mutual": "互为同义", "active": "启用",
                     "note": "备注", "updated_at": "更新时间"}

    def pre_delete(self, item: Any) -> None:
        return None
