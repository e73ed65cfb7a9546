"""Catalog administration: categories (``emall_category``) and admission conditions (``emall_condition``)."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select

from core.api import ApiError

from .. import services
from ..models import EmallCategory, EmallCondition, EmallListing
from .common import EmallApi


class CategoryApi(EmallApi):
    pb_title = "商品分类"
    resource_name = "emall_category"
    datamodel = SQLAInterface(EmallCategory)
    class_permission_name = "EmallCategory"
    validator = staticmethod(services.validate_category)
    list_columns = ["id", "code", "name", "parent.id", "parent.code", "pb_catalog.id",
                    "pb_catalog.code", "pavilion", "attributes", "requires_cold_chain",
                    "sequence", "active"]
    show_columns = list_columns
    add_columns = ["code", "name", "parent", "pb_catalog", "pavilion", "attributes",
                   "requires_cold_chain", "sequence", "active"]
    edit_columns = add_columns
    search_columns = ["code", "name", "parent", "pavilion", "active"]
    order_columns = ["code", "name", "sequence"]
    base_order = ("code", "asc")
    optional_on_add = ("parent", "pb_catalog", "pavilion", "attributes", "requires_cold_chain",
                       "sequence", "active")
    label_columns = {"code": "分类编码", "name": "分类名称", "parent": "上级分类",
                     "pb_catalog": "政府采购品目", "pavilion": "行业馆", "attributes": "属性模板",
                     "requires_cold_chain": "须冷链配送", "sequence": "排序", "active": "启用"}

    def pre_delete(self, item: EmallCategory) -> None:
        session = self.datamodel.session
        used = session.execute(select(EmallListing.id).where(EmallListing.category_id == item.id)).first()
        child = session.execute(select(EmallCategory.id).where(EmallCategory.parent_id == item.id)).first()
        if used or child:
            raise ApiError(409, {"id": ["该分类下已有商品或下级分类，不能删除（可停用）"]}, "conflict")


class ConditionApi(EmallApi):
    pb_title = "入驻条件"
    resource_name = "emall_condition"
    datamodel = SQLAInterface(EmallCondition)
    class_permission_name = "EmallCondition"
    validator = staticmethod(services.validate_condition)
    list_columns = ["id", "code", "name", "kind", "description", "source", "required",
                    "sequence", "active"]
    show_columns = list_columns
    add_columns = ["code", "name", "kind", "description", "source", "required", "sequence", "active"]
    edit_columns = add_columns
    order_columns = ["code", "sequence"]
    base_order = ("sequence", "asc")
    optional_on_add = ("kind", "description", "source", "required", "sequence", "active")
    label_columns = {"code": "条件编码", "name": "条件", "kind": "类型", "description": "说明",
                     "source": "依据", "required": "必备", "sequence": "排序", "active": "启用"}

    def pre_delete(self, item: Any) -> None:
        return None
