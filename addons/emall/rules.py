"""The e-mall's record rules (:class:`core.rules.ModelRules`), one object per model, read by
the API and the page alike: a refusal on one door is a refusal on the other."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ConflictError
from core.rules import ModelRules

from . import services
from .models import EmallListing, EmallOrderLine

#: what a listed (or in-review) product may not change: its identity
LISTING_IDENTITY = ("category_id", "category", "brand", "model", "name", "supplier",
                    "supplier_id", "exclusive_model", "attributes")


class ListingRules(ModelRules):
    """商品: validated by :func:`services.validate_listing`; a listed or in-review product keeps
    its identity (brand, model, category, attributes...); only drafts nobody ordered may be
    deleted."""

    def validate(self, session: Session, item: EmallListing) -> None:
        services.validate_listing(session, item)

    def before_add(self, session: Session, item: EmallListing) -> None:
        item.status = "draft"
        self.validate(session, item)

    def before_update(self, session: Session, item: EmallListing) -> None:
        if item.status in ("listed", "review") and self.changed(item, *LISTING_IDENTITY):
            raise ConflictError({"status": ["商品已上架或在审核中：只能修改价格、库存、描述和供货地区；"
                                            "修改品牌、型号、分类或属性请先下架"]})
        self.validate(session, item)

    def may_delete(self, session: Session, item: EmallListing) -> Any:
        if item.status != "draft":
            raise ConflictError({"status": ["只能删除草稿商品；已上架的商品请下架"]})
        used = session.execute(
            select(EmallOrderLine.id).where(EmallOrderLine.listing_id == item.id)).first()
        if used:
            raise ConflictError({"id": ["该商品已有订单，不能删除"]})
        return None


LISTING = ListingRules()
