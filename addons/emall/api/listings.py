"""Product listings (``emall_listing``: images; the transitions are :data:`..actions.LISTING_ACTIONS`)."""

from __future__ import annotations

from flask import request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.decorators import permission_name, protect

from core.api import ApiError
from core.db import db
from core.tenancy import current_scope

from .. import rules as emall_rules
from .. import services
from ..actions import LISTING_ACTIONS
from ..models import LISTING_STATES, EmallListing, EmallListingImage
from .common import EmallApi, ListingInterface, OwnSupplierFilter, image_folder


class ListingApi(EmallApi):
    pb_title = "商品"
    resource_name = "emall_listing"
    rules = emall_rules.LISTING
    datamodel = ListingInterface(EmallListing)
    class_permission_name = "EmallListing"
    base_filters = [["id", OwnSupplierFilter, None]]
    record_actions = LISTING_ACTIONS  # POST /<pk>/transition/<name> (core.actions)
    list_columns = ["id", "supplier.id", "supplier.name", "category.id", "category.code",
                    "category.name", "pavilion", "name", "brand", "model", "unit", "price",
                    "reference_price", "reference_source", "reference_url", "stock", "cold_chain",
                    "status", "attributes", "description", "review_note", "regions.id",
                    "regions.name", "listed_at", "updated_at"]
    show_columns = list_columns
    add_columns = ["supplier", "category", "name", "brand", "model", "description", "attributes",
                   "unit", "price", "reference_price", "reference_source", "reference_url", "stock",
                   "cold_chain", "exclusive_model", "regions"]
    edit_columns = add_columns
    search_columns = ["supplier", "category", "name", "brand", "model", "status", "pavilion",
                      "price", "cold_chain"]
    order_columns = ["name", "brand", "price", "stock", "status", "updated_at"]
    base_order = ("id", "desc")
    optional_on_add = ("supplier", "description", "attributes", "unit", "reference_source",
                       "reference_url", "stock", "cold_chain", "exclusive_model", "regions")
    label_columns = {"supplier": "供应商", "category": "商品分类", "pavilion": "行业馆",
                     "name": "商品名称", "brand": "品牌", "model": "型号", "unit": "单位",
                     "price": "挂网价格", "reference_price": "参考价", "reference_source": "参考价来源",
                     "reference_url": "参考价链接", "stock": "库存", "cold_chain": "冷链配送",
                     "exclusive_model": "专供型号", "status": "状态", "attributes": "商品属性",
                     "description": "商品描述", "review_note": "审核意见", "regions": "供货地区",
                     "listed_at": "上架时间", "updated_at": "更新时间"}
    description_columns = {"status": "、".join(f"{k}={v}" for k, v in LISTING_STATES.items())}

    @expose("/<int:pk>/images", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def add_image(self, pk: int):
        """Upload a product image (multipart field ``image``; PNG, JPEG or WebP)
        ---
        post:
          responses:
            201:
              description: the image
            422:
              $ref: '#/components/responses/422'
        """
        def run():
            item = self._get_or_404(pk)
            upload = request.files.get("image")
            if upload is None:
                raise services.RuleError({"image": ["请选择图片文件（表单字段 image）"]})
            limit = services.settings.get("emall.image_max_kb", session=db.session) * 1024
            data = upload.stream.read(limit + 1)
            img = services.add_image(db.session, item, data, upload.filename,
                              image_folder())
            db.session.commit()
            return self.response(201, id=img.id, result={"url": f"/emall/image/{img.id}",
                                                         "content_type": img.content_type,
                                                         "size": img.size})

        return self._erp_answer(run)

    @expose("/<int:pk>/images/<int:image_id>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("put")
    def delete_image(self, pk: int, image_id: int):
        """Remove a product image
        ---
        delete:
          responses:
            200:
              description: removed
            404:
              $ref: '#/components/responses/404'
        """
        def run():
            item = self._get_or_404(pk)
            img = db.session.get(EmallListingImage, image_id)
            if img is None or img.listing_id != item.id:
                raise ApiError(404)
            scope = current_scope()
            if scope.actor == "supplier" and scope.org_id != item.supplier_id:
                raise ApiError(404)
            db.session.delete(img)
            db.session.commit()
            return self.response(200, message="OK")

        return self._erp_answer(run)
