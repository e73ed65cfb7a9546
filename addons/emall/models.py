"""Records of the provincial e-mall (电子卖场).

Provincial (not region-scoped): the category tree, the admission conditions, supplier
admissions, listings and their images and delivery regions, the price-monitoring queue.
Region-scoped by the purchaser's region: orders, order lines, acceptance records, price
comparisons (竞价) and quotes. Suppliers see only their own orders and quotes; purchasers
their own unit's (and subordinate units') within their regions (record rules below).

Money is ``Money()`` (Numeric(18, 2), Decimal), never float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Model
from core.models import Organization, Region
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped, SecretUntil

#: pavilions (行业馆): None is the general mall
PAVILIONS = {"livestock": "畜牧行业馆"}
ATTRIBUTE_TYPES = {"text": "文本", "number": "数值", "choice": "选项", "bool": "是/否"}

ADMISSION_STATES = {
    "applied": "待审核",
    "admitted": "已入驻",
    "rejected": "已驳回",
    "suspended": "已暂停",
}
LISTING_STATES = {
    "draft": "草稿",
    "review": "待审核",
    "listed": "已上架",
    "delisted": "已下架",
}
ORDER_STATES = {
    "placed": "已下单",
    "confirmed": "已确认",
    "shipped": "已发货",
    "delivered": "已送达",
    "accepted": "已验收",
    "paid": "已付款",
    "cancelled": "已取消",
    "disputed": "争议中",
}
#: how an order came about (framework agreements plug in as another channel)
ORDER_CHANNELS = {"direct": "直购", "comparison": "竞价", "framework": "框架协议"}
COMPARISON_STATES = {
    "open": "报价中",
    "closed": "报价截止",
    "awarded": "已成交",
    "failed": "已流标",
    "cancelled": "已撤销",
}
QUOTE_STATES = {"submitted": "已报价", "won": "成交", "lost": "未成交", "withdrawn": "已撤回"}
ALERT_KINDS = {"above_reference": "高于参考价", "order_outlier": "成交价异常"}
ALERT_STATES = {"open": "待复核", "confirmed": "确认异常", "dismissed": "无异常"}
#: what the institution does about a confirmed price anomaly
ALERT_MEASURES = {"delist": "下架", "correct": "限期改价"}
#: the purchaser's rating of an accepted order (1–5 each)
RATING_ASPECTS = {"delivery": "交货", "quality": "质量", "service": "服务"}


def _own_units(scope: Any) -> Any:
    """The purchaser's own unit and the budget units under it (a competent unit)."""
    return select(Organization.id).where(
        or_(Organization.id == scope.org_id, Organization.parent_id == scope.org_id)
    )


class EmallCategory(Model):
    """电子卖场商品分类: the procurement catalog codes (a code or a sub-code) with an
    attribute template. One provincial catalog; ``pavilion`` None = the general mall."""

    __tablename__ = "emall_category"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("emall_category.id"), index=True)
    pb_catalog_id: Mapped[int | None] = mapped_column(ForeignKey("pb_catalog.id"), index=True)
    pavilion: Mapped[str | None] = mapped_column(String(32), index=True)
    #: [{"key", "label", "type": text|number|choice|bool, "choices": [...], "unit", "required"}]
    attributes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    requires_cold_chain: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    parent: Mapped[EmallCategory | None] = relationship(remote_side=[id])
    pb_catalog: Mapped[Any] = relationship("CatalogItem")

    def __repr__(self) -> str:
        return f"{self.code} {self.name}"

    __str__ = __repr__


class EmallCondition(Model):
    """入驻条件: unified admission conditions set by the institution (a document to
    provide or a declaration to make). The negative list is checked on every save."""

    __tablename__ = "emall_condition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: document (提供材料) or declaration (承诺声明)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="declaration")
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=10)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


class EmallAdmission(Model):
    """供应商入驻: one per supplier organisation; approve / reject with a reason, suspend
    with a reason and an end date."""

    __tablename__ = "emall_admission"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False,
                                             unique=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="applied", index=True)
    #: {condition code: true (declaration made) or a document reference (text)}
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    contact: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    applied_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    suspended_until: Mapped[dt.date | None] = mapped_column(Date)

    supplier: Mapped[Organization] = relationship()
    categories: Mapped[list[EmallCategory]] = relationship(
        secondary="emall_admission_category", order_by="EmallCategory.code"
    )

    def __repr__(self) -> str:
        return self.supplier.name if self.supplier else str(self.id)

    __str__ = __repr__


class EmallAdmissionCategory(Model):
    """The categories a supplier is admitted to sell in (its listings and its quotes)."""

    __tablename__ = "emall_admission_category"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    admission_id: Mapped[int] = mapped_column(ForeignKey("emall_admission.id"), nullable=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("emall_category.id"), nullable=False,
                                             index=True)
    __table_args__ = (UniqueConstraint("admission_id", "category_id",
                                       name="uq_emall_admission_category"),)


class EmallListing(Model):
    """商品: a supplier's offer of one brand + model in one category."""

    __tablename__ = "emall_listing"
    __table_args__ = (
        UniqueConstraint("supplier_id", "brand_key", "model_key", name="uq_emall_listing_brand_model"),
        Index("ix_emall_listing_search", "status", "category_id", "price"),
        Index("ix_emall_listing_status_price", "status", "price"),
        Index("ix_emall_listing_supplier", "supplier_id", "status"),
        # the keyword index (search_index.py): GIN on PostgreSQL; SQLite keeps the column
        # NULL (its index is the FTS5 table emall_listing_fts), so this index stays empty there
        Index("ix_emall_listing_search_vector", "search_vector", postgresql_using="gin",
              sqlite_where=text("search_vector IS NOT NULL")),
        # SQLite: the keyword search joins FTS5 hits to the listings by id; this narrow
        # covering index halves that lookup (count, facets, tiers). PostgreSQL keeps it empty.
        Index("ix_emall_listing_hit", "id", "status", "supplier_id", "category_id", "price", "stock",
              "pavilion", "cold_chain", postgresql_where=text("false")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("emall_category.id"), nullable=False)
    #: the category's pavilion, copied so that pavilion searches need no join
    pavilion: Mapped[str | None] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    brand: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    #: normalised brand / model (NFKC, case-folded, no spaces): the duplicate check
    brand_key: Mapped[str] = mapped_column(String(100), nullable=False)
    model_key: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    unit: Mapped[str] = mapped_column(String(16), nullable=False, default="件")
    price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    reference_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    #: manufacturer (厂商官方指导价) or market (主流电商平台最低价)
    reference_source: Mapped[str] = mapped_column(String(16), nullable=False, default="manufacturer")
    reference_url: Mapped[str | None] = mapped_column(String(500))
    stock: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: the supplier delivers by cold chain
    cold_chain: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: declared by the supplier: a model made only for government buyers (refused)
    exclusive_model: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    review_note: Mapped[str | None] = mapped_column(Text)
    #: normalised name, brand, model, category and attribute values (keyword search)
    search_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: PostgreSQL: the weighted keyword index document (bigrams, words, pinyin; written by
    #: search_index in the listing's own flush); NULL on SQLite (FTS5 table instead)
    search_vector: Mapped[Any] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"), nullable=True,
                                               deferred=True)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    listed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    supplier: Mapped[Organization] = relationship()
    category: Mapped[EmallCategory] = relationship()
    regions: Mapped[list[Region]] = relationship(secondary="emall_listing_region",
                                                 order_by="Region.code")
    images: Mapped[list[EmallListingImage]] = relationship(
        back_populates="listing", order_by="EmallListingImage.sequence",
        cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"{self.brand} {self.model} {self.name}"

    def attribute_text(self) -> str:
        """商品属性 in words: the category template's labels and units, 是/否 (pages)."""
        values = self.attributes or {}
        if not values:
            return "—"
        template = {a["key"]: a for a in (self.category.attributes or []) if isinstance(a, dict)
                    and "key" in a} if self.category is not None else {}
        out = []
        for key, value in values.items():
            spec = template.get(key, {})
            shown = {"true": "是", "false": "否"}.get(str(value), str(value)) if spec.get("type", "bool") == "bool" \
                or str(value) in ("true", "false") else str(value)
            out.append(f"{spec.get('label') or '其他属性'}：{shown}{spec.get('unit') or ''}")
        return "；".join(out)

    __str__ = __repr__


class EmallListingRegion(Model):
    """A region a listing delivers to (a city covers its counties; 220000 the province)."""

    __tablename__ = "emall_listing_region"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("emall_listing.id"), nullable=False)
    region_id: Mapped[int] = mapped_column(ForeignKey("erp_region.id"), nullable=False)
    __table_args__ = (
        UniqueConstraint("listing_id", "region_id", name="uq_emall_listing_region"),
        Index("ix_emall_listing_region_region", "region_id", "listing_id"),
    )


class EmallListingImage(Model):
    """A product image stored under the instance's var folder (type by magic bytes)."""

    __tablename__ = "emall_listing_image"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("emall_listing.id"), nullable=False, index=True)
    #: path relative to the image folder: <sha256[:2]>/<sha256>.<ext>
    path: Mapped[str] = mapped_column(String(200), nullable=False)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(200))
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=10)

    listing: Mapped[EmallListing] = relationship(back_populates="images")


class EmallCartLine(Model):
    """购物车: a purchaser user's chosen listings before checkout."""

    __tablename__ = "emall_cart_line"
    __table_args__ = (UniqueConstraint("user_id", "listing_id", name="uq_emall_cart_user_listing"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id"), nullable=False, index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("emall_listing.id"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    added_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    listing: Mapped[EmallListing] = relationship()


class EmallComparison(RegionScoped, Model):
    """网上竞价: a purchaser's published need; qualified suppliers quote in a window."""

    __tablename__ = "emall_comparison"
    __table_args__ = (UniqueConstraint("number", name="uq_emall_comparison_number"),)
    __record_rules__ = {
        # a supplier sees every open need in regions where the e-mall is enabled (to quote)
        # and the closed ones it quoted in
        "supplier": lambda cls, scope: or_(
            cls.status == "open",
            cls.id.in_(select(EmallQuote.comparison_id).where(EmallQuote.supplier_id == scope.org_id)),
        ),
        "purchaser": lambda cls, scope: cls.purchaser_id.in_(_own_units(scope)),
        # own reach (core.tenancy): a private procurement agency sees no e-mall records
        OWN_RULE: lambda cls, scope: cls.purchaser_id.in_(_own_units(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: the purchaser's user who published it
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    #: [{"line", "listing_id", "category_id", "name", "brand", "model", "quantity",
    #:   "unit", "ceiling_price"}] - the need, from the cart
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    #: the ceiling: the listed prices of the need (no quote may exceed it)
    budget: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    delivery_address: Mapped[str | None] = mapped_column(String(255))
    requirements: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    quote_deadline: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open", index=True)
    #: how the result was reached (e.g. fewer than the minimum quotes: the purchaser's reason)
    decision_note: Mapped[str | None] = mapped_column(Text)
    winner_quote_id: Mapped[int | None] = mapped_column(Integer)
    order_id: Mapped[int | None] = mapped_column(Integer)

    purchaser: Mapped[Organization] = relationship()

    def __repr__(self) -> str:
        return f"{self.number} {self.title}"

    __str__ = __repr__


class EmallQuote(RegionScoped, Model):
    """竞价报价: one per supplier per comparison; sealed until the window closes."""

    __tablename__ = "emall_quote"
    __table_args__ = (UniqueConstraint("comparison_id", "supplier_id", name="uq_emall_quote_supplier"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        # purchasers see the quotes of their own comparisons (once the window has closed)
        "purchaser": lambda cls, scope: cls.comparison_id.in_(
            select(EmallComparison.id).where(EmallComparison.purchaser_id.in_(_own_units(scope)))
        ),
        OWN_RULE: lambda cls, scope: cls.comparison_id.in_(
            select(EmallComparison.id).where(EmallComparison.purchaser_id.in_(_own_units(scope)))
        ),
    }
    # sealed until the quote window closes: nobody but the quoting supplier, supervisors
    # and the platform admin included, knows a quote exists before then
    __secret_until__ = SecretUntil(
        moment="竞价截止（竞价不再是“进行中”）",
        source="电子卖场网上竞价规则：报价截止前报价保密",
        # on the table, not the entity: the moment is a fact whoever asks, and the
        # comparison's own rules (which look at quotes) must not recurse into it
        opened=lambda cls: cls.comparison_id.in_(
            select(EmallComparison.__table__.c.id)
            .where(EmallComparison.__table__.c.status != "open").correlate(None)),
        known_to={"supplier": lambda cls, scope: cls.supplier_id == scope.org_id},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("emall_comparison.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: [{"line", "listing_id", "unit_price"}]: the supplier's own listing for each need line
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    total: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="submitted")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    comparison: Mapped[EmallComparison] = relationship()
    supplier: Mapped[Organization] = relationship()

    def __repr__(self) -> str:
        return f"{self.supplier.name if self.supplier else ''} {self.total}"

    __str__ = __repr__


class EmallOrder(RegionScoped, Model):
    """电子卖场订单: one purchaser, one supplier, in the purchaser's region."""

    __tablename__ = "emall_order"
    __table_args__ = (UniqueConstraint("number", name="uq_emall_order_number"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        "purchaser": lambda cls, scope: cls.purchaser_id.in_(_own_units(scope)),
        # own reach (core.tenancy): a private procurement agency sees no e-mall records
        OWN_RULE: lambda cls, scope: cls.purchaser_id.in_(_own_units(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"))
    #: direct (直购), comparison (竞价); framework (框架协议) is reserved for that module
    channel: Mapped[str] = mapped_column(String(16), nullable=False, default="direct")
    #: the pricing strategy that set the line prices (services.PRICING)
    pricing: Mapped[str] = mapped_column(String(32), nullable=False, default="listing")
    #: the document the order comes from (a comparison number, later an agreement)
    source_ref: Mapped[str | None] = mapped_column(String(50))
    comparison_id: Mapped[int | None] = mapped_column(ForeignKey("emall_comparison.id"))
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="placed", index=True)
    delivery_address: Mapped[str | None] = mapped_column(String(255))
    contact: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    placed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    shipped_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    tracking: Mapped[str | None] = mapped_column(String(100))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_due: Mapped[dt.date | None] = mapped_column(Date)
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_ref: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: the state a dispute was raised in (resolving returns there)
    disputed_from: Mapped[str | None] = mapped_column(String(16))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("pb_contract.id"))

    purchaser: Mapped[Organization] = relationship(foreign_keys=[purchaser_id])
    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_id])
    lines: Mapped[list[EmallOrderLine]] = relationship(back_populates="order",
                                                       order_by="EmallOrderLine.id")
    contract: Mapped[Any] = relationship("Contract")

    def __repr__(self) -> str:
        return self.number

    __str__ = __repr__


class EmallOrderLine(RegionScoped, Model):
    """An order line: the listing's identity and price at the time of ordering."""

    __tablename__ = "emall_order_line"
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        "purchaser": lambda cls, scope: cls.purchaser_id.in_(_own_units(scope)),
        # own reach (core.tenancy): a private procurement agency sees no e-mall records
        OWN_RULE: lambda cls, scope: cls.purchaser_id.in_(_own_units(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("emall_order.id"), nullable=False, index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("emall_listing.id"), nullable=False, index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("emall_category.id"), nullable=False, index=True)
    #: copied from the order (record rules and statistics without a join)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False)
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    brand: Mapped[str] = mapped_column(String(100), nullable=False)
    model: Mapped[str] = mapped_column(String(100), nullable=False)
    unit: Mapped[str] = mapped_column(String(16), nullable=False, default="件")
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    listed_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    reference_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    cold_chain: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    order: Mapped[EmallOrder] = relationship(back_populates="lines")
    listing: Mapped[EmallListing] = relationship()
    category: Mapped[EmallCategory] = relationship()


class EmallAcceptance(RegionScoped, Model):
    """验收记录 of an order (one per order)."""

    __tablename__ = "emall_acceptance"
    __record_rules__ = EmallOrderLine.__record_rules__

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("emall_order.id"), nullable=False, unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False)
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False)
    accepted_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    inspectors: Mapped[str] = mapped_column(String(200), nullable=False)
    quantity_ok: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    quality_ok: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(128))

    order: Mapped[EmallOrder] = relationship()


class EmallPriceAlert(Model):
    """价格监测: a listing above its reference price, or an order price that is an outlier
    in its category, waiting for the institution's review."""

    __tablename__ = "emall_price_alert"
    __table_args__ = (
        UniqueConstraint("kind", "listing_id", "order_line_id", name="uq_emall_price_alert"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    listing_id: Mapped[int] = mapped_column(ForeignKey("emall_listing.id"), nullable=False, index=True)
    #: 0 for a listing alert (keeps the unique key usable on every database)
    order_line_id: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    category_id: Mapped[int] = mapped_column(ForeignKey("emall_category.id"), nullable=False)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False)
    price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    reference_price: Mapped[Decimal | None] = mapped_column(Money())
    median_price: Mapped[Decimal | None] = mapped_column(Money())
    #: robust z-score 0.6745 * (price - median) / MAD, as text with two decimals
    score: Mapped[str | None] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open", index=True)
    detected_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    review_note: Mapped[str | None] = mapped_column(Text)

    #: the measure taken when confirmed (ALERT_MEASURES) and the correction deadline
    measure: Mapped[str | None] = mapped_column(String(16))
    correct_by: Mapped[dt.date | None] = mapped_column(Date)

    listing: Mapped[EmallListing] = relationship()
    category: Mapped[EmallCategory] = relationship()
    supplier: Mapped[Organization] = relationship()


class EmallSynonym(Model):
    """同义词: what purchasers type mapped to the catalog's words, applied at query time
    (电脑 → 计算机、台式计算机). ``mutual``: every word of the group finds the others
    (打印机 ↔ 打印设备); else only ``term`` is expanded. Provincial, kept by the institution."""

    __tablename__ = "emall_synonym"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    term: Mapped[str] = mapped_column(String(50), unique=True, nullable=False)
    #: the words ``term`` also means, separated by 、 or commas
    synonyms: Mapped[str] = mapped_column(String(500), nullable=False)
    mutual: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    note: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    def __repr__(self) -> str:
        return f"{self.term} → {self.synonyms}"

    __str__ = __repr__


class EmallRating(RegionScoped, Model):
    """评价: the purchaser rates the supplier of an accepted order — delivery, quality and
    service, 1–5 each, with a comment; one per order, kept per supplier for the institution."""

    __tablename__ = "emall_rating"
    __record_rules__ = EmallOrderLine.__record_rules__

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("emall_order.id"), nullable=False, unique=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False,
                                             index=True)
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False)
    delivery: Mapped[int] = mapped_column(Integer, nullable=False)
    quality: Mapped[int] = mapped_column(Integer, nullable=False)
    service: Mapped[int] = mapped_column(Integer, nullable=False)
    comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    rated_by: Mapped[str | None] = mapped_column(String(128))

    order: Mapped[EmallOrder] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_id])
    purchaser: Mapped[Organization] = relationship(foreign_keys=[purchaser_id])
