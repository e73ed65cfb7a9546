"""Price monitoring (``emall_price_alert``: scan, review)."""

from __future__ import annotations

from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect

from core.db import db

from .. import services
from ..actions import ALERT_ACTIONS, LegacyReviewBody
from ..models import ALERT_STATES, EmallPriceAlert
from .common import EmallApi

#: the legacy review's body (declared with the alert actions)
ReviewSchema = LegacyReviewBody


class PriceAlertApi(EmallApi):
    pb_title = "价格监测"
    resource_name = "emall_price_alert"
    datamodel = SQLAInterface(EmallPriceAlert)
    class_permission_name = "EmallPriceAlert"
    include_route_methods = {"get", "get_list", "info", "scan", "review", "delist", "correct", "dismiss"}
    #: the review with its measure, and the legacy ``POST /<pk>/review`` (core.actions)
    record_actions = ALERT_ACTIONS
    list_columns = ["id", "kind", "listing.id", "listing.name", "category.id", "category.name",
                    "supplier.id", "supplier.name", "price", "reference_price", "median_price",
                    "score", "detail", "status", "detected_at", "reviewed_at", "reviewed_by",
                    "review_note", "order_line_id"]
    show_columns = list_columns
    search_columns = ["kind", "status", "category", "supplier"]
    order_columns = ["detected_at", "price", "status"]
    base_order = ("id", "desc")
    label_columns = {"kind": "类型", "listing": "商品", "category": "分类", "supplier": "供应商",
                     "price": "价格", "reference_price": "参考价", "median_price": "同类中位数",
                     "score": "稳健 Z 分数", "detail": "说明", "status": "状态", "detected_at": "发现时间",
                     "reviewed_at": "复核时间", "reviewed_by": "复核人", "review_note": "复核意见",
                     "order_line_id": "订单行"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in ALERT_STATES.items())}

    @expose("/scan", methods=["POST"])
    @protect()
    @safe
    @permission_name("scan")
    def scan(self):
        """Run the price checks now
        ---
        post:
          responses:
            200:
              description: alerts added per kind
        """
        def run():
            added = services.scan_prices(db.session)
            db.session.commit()
            return self.response(200, result=added)

        return self._erp_answer(run)
