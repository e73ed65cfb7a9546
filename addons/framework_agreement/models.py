"""Records of framework-agreement procurement (框架协议采购, 财政部令第110号).

* :class:`FaAgreement`: the solicitation (征集) and, once the shortlist is confirmed, the
  agreement itself; region = the collecting party's (征集人) region;
* :class:`FaItem`: a catalogue item of the demand with its ceiling unit price (最高限制单价);
* :class:`FaResponse` / :class:`FaResponseLine`: a supplier's response (响应) and its quotes,
  sealed until the response deadline;
* :class:`FaMember`: a supplier on the shortlist (入围供应商): rank, rotation position, removal;
* :class:`FaLine`: a shortlisted product (协议明细) with its agreement price and the call-off
  ledger (cap, ordered quantity and amount; the cap is enforced by a conditional UPDATE);
* :class:`FaCallOff` / :class:`FaBid`: a second-stage purchase (直接选定、二次竞价、顺序轮候) and
  the bids of a second competition; region = the purchaser's region;
* :class:`FaNotice`: the module's own notices (kept here when no notices module takes them).

Money is ``Money()`` (Numeric(18, 2), Decimal), never float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Model
from core.models import Organization, Region
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped, SecretUntil, own_units

KINDS = {"goods": "货物", "services": "服务"}
FORMS = {"closed": "封闭式", "open": "开放式"}
EVALUATIONS = {"price": "价格优先", "quality": "质量优先"}
METHODS = {"direct": "直接选定", "competition": "二次竞价", "rotation": "顺序轮候"}
AGREEMENT_STATES = {
    "draft": "草稿",
    "published": "征集中",
    "evaluated": "入围已确定",
    "active": "协议有效",
    "expired": "已到期",
    "terminated": "已终止",
}
RESPONSE_STATES = {
    "submitted": "已提交",
    "shortlisted": "入围",
    "eliminated": "未入围",
    "rejected": "无效响应",
    "applied": "申请加入（待审核）",
    "withdrawn": "已撤回",
}
MEMBER_STATES = {"active": "入围", "removed": "已清退", "exited": "已退出"}
REMOVAL_CAUSES = {
    "collusion": "恶意串通",
    "false_material": "提供虚假材料",
    "refused_award": "无正当理由拒绝成交",
    "non_performance": "不履行合同义务",
    "debarment": "被禁止参加政府采购活动",
}
CALLOFF_STATES = {
    "competing": "竞价中",
    "ordered": "已下单",
    "failed": "未成交",
    "cancelled": "已取消",
}
NOTICE_STATES = {"draft": "待发布", "published": "已发布", "submitted": "已交公告模块"}


def percent_text(p: Decimal) -> str:
    """``2`` / ``2.5`` / ``0.25``: a percent without trailing zeros."""
    return format(Decimal(p).normalize(), "f")


def stored_tiers(value: str | None) -> list[tuple[int, Decimal]]:
    """The volume-discount tiers of a stored (canonical, validated) schedule ``"10:2;50:5"``."""
    if not value:
        return []
    out = []
    for part in value.split(";"):
        q, p = part.split(":")
        out.append((int(q), Decimal(p)))
    return out


def tiers_label(value: str | None, unit: str = "") -> str:
    """``单笔 10 及以上优惠 2%；单笔 50 及以上优惠 5%`` (or 无)."""
    tiers = stored_tiers(value)
    if not tiers:
        return "无"
    return "；".join(f"单笔 {q}{unit} 及以上优惠 {percent_text(p)}%" for q, p in tiers)


# who may use an agreement (an ``id`` key so that data files can fill them)
fa_agreement_region = Table(
    "fa_agreement_region", Model.metadata,
    Column("id", Integer, primary_key=True),
    Column("agreement_id", ForeignKey("fa_agreement.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("region_id", ForeignKey("erp_region.id"), nullable=False),
    UniqueConstraint("agreement_id", "region_id", name="uq_fa_agreement_region"),
)
fa_agreement_purchaser = Table(
    "fa_agreement_purchaser", Model.metadata,
    Column("id", Integer, primary_key=True),
    Column("agreement_id", ForeignKey("fa_agreement.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("org_id", ForeignKey("erp_organization.id"), nullable=False),
    UniqueConstraint("agreement_id", "org_id", name="uq_fa_agreement_purchaser"),
)


class FaAgreement(RegionScoped, Model):
    """框架协议（征集）: the solicitation and then the agreement."""

    __tablename__ = "fa_agreement"
    __table_args__ = (UniqueConstraint("number", name="uq_fa_agreement_number"),)
    __record_rules__ = {
        # suppliers see what has been published (to respond), in regions where the module is on
        "supplier": lambda cls, scope: cls.status != "draft",
        OWN_RULE: lambda cls, scope: cls.collector_id.in_(own_units(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    collector_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="goods")
    form: Mapped[str] = mapped_column(String(16), nullable=False, default="closed")
    open_reason: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, nullable=False, default="")
    demand: Mapped[str] = mapped_column(Text, nullable=False, default="")
    evaluation: Mapped[str] = mapped_column(String(16), nullable=False, default="price")
    lab_instruments: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    #: comma-separated METHODS keys named in the documents
    methods: Mapped[str] = mapped_column(String(64), nullable=False, default="direct")
    shortlist_cap: Mapped[int | None] = mapped_column(Integer)
    #: a note on volume discounts (free text, kept from before the schedule below)
    volume_discounts: Mapped[str | None] = mapped_column(Text)
    #: the volume-discount schedule (量大优惠阶梯), canonical ``"10:2;50:5"`` (minimum quantity:
    #: percent, ascending; services/discounts.py), frozen with the demand at publication
    discount_tiers: Mapped[str | None] = mapped_column(String(255))
    performance_area: Mapped[str | None] = mapped_column(String(255))
    performance_requirements: Mapped[str | None] = mapped_column(Text)
    payment_terms: Mapped[str | None] = mapped_column(Text)
    contract_template: Mapped[str | None] = mapped_column(Text)
    term_start: Mapped[dt.date] = mapped_column(Date, nullable=False)
    term_end: Mapped[dt.date] = mapped_column(Date, nullable=False)
    response_deadline: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft", index=True)
    #: supplementary solicitation (补充征集): the current round and its deadline
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    round_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    confirmed_on: Mapped[dt.date | None] = mapped_column(Date)
    signed_on: Mapped[dt.date | None] = mapped_column(Date)
    #: rotation (顺序轮候): the current cycle
    rotation_cycle: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    collector: Mapped[Organization] = relationship(foreign_keys=[collector_id])
    items: Mapped[list[FaItem]] = relationship(back_populates="agreement", order_by="FaItem.seq",
                                               cascade="all, delete-orphan")
    eligible_regions: Mapped[list[Region]] = relationship(secondary=fa_agreement_region,
                                                          order_by="Region.code")
    eligible_purchasers: Mapped[list[Organization]] = relationship(secondary=fa_agreement_purchaser)

    @property
    def method_list(self) -> list[str]:
        return [m for m in (self.methods or "").split(",") if m]

    @property
    def discount_tiers_label(self) -> str:
        return tiers_label(self.discount_tiers)

    def __repr__(self) -> str:
        return f"{self.number} {self.name}"

    __str__ = __repr__


class FaItem(RegionScoped, Model):
    """征集品目: a catalogue item of the demand with its ceiling unit price."""

    __tablename__ = "fa_item"
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.status != "draft").correlate(None)),
        OWN_RULE: lambda cls, scope: cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.collector_id.in_(own_units(scope))).correlate(None)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("fa_agreement.id"), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("emall_category.id"))
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    spec: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(16), nullable=False, default="台")
    ceiling_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    #: estimated quantity for the term (weights the evaluated price)
    est_quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: the most one shortlisted supplier may supply under the agreement (the ledger's cap)
    max_quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    agreement: Mapped[FaAgreement] = relationship(back_populates="items")
    category: Mapped[Any] = relationship("EmallCategory")

    @property
    def agreement_label(self) -> str:
        """The agreement's name for lists (a join would meet the agreement's record rules
        under an alias; a lazy load applies them)."""
        return self.agreement.name if self.agreement is not None else "—"

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


def _deadline_passed(cls):
    """The response deadline of the response's round has passed (tables, not entities: the
    moment is a fact whoever asks)."""
    from sqlalchemy import func

    t = FaAgreement.__table__
    return cls.agreement_id.in_(
        select(t.c.id).where(t.c.response_deadline <= func.now()).correlate(None)
    ) | (cls.round < select(t.c.round).where(t.c.id == cls.agreement_id).correlate_except(t)
         .scalar_subquery()) | (cls.status == "applied")


class FaResponse(RegionScoped, Model):
    """响应文件: one supplier's response in one round (sealed until the deadline)."""

    __tablename__ = "fa_response"
    __table_args__ = (UniqueConstraint("agreement_id", "supplier_id", "round", name="uq_fa_response"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        OWN_RULE: lambda cls, scope: cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.collector_id.in_(own_units(scope))).correlate(None)),
    }
    __secret_until__ = SecretUntil(
        moment="响应截止", source="财政部令第110号（响应文件截止前不得开启）",
        opened=lambda cls: _deadline_passed(cls),
        known_to={"supplier": lambda cls, scope: cls.supplier_id == scope.org_id},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("fa_agreement.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    round: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="submitted")
    #: price priority: the evaluated price (Σ quote × estimated quantity)
    evaluated_price: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0.00"))
    #: quality priority: the committee's score
    score: Mapped[Decimal | None] = mapped_column(Money())
    rank: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    agreement: Mapped[FaAgreement] = relationship()
    supplier: Mapped[Organization] = relationship()
    lines: Mapped[list[FaResponseLine]] = relationship(back_populates="response", order_by="FaResponseLine.id",
                                                       cascade="all, delete-orphan")

    @property
    def agreement_label(self) -> str:
        """The agreement's name for lists (a join would meet the agreement's record rules
        under an alias; a lazy load applies them)."""
        return self.agreement.name if self.agreement is not None else "—"

    def __repr__(self) -> str:
        return f"{self.supplier.name if self.supplier else ''} 响应"

    __str__ = __repr__


class FaResponseLine(RegionScoped, Model):
    """A quoted product for one item (报价 ≤ 最高限制单价)."""

    __tablename__ = "fa_response_line"
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        OWN_RULE: lambda cls, scope: cls.response_id.in_(
            select(FaResponse.id).join(FaAgreement, FaAgreement.id == FaResponse.agreement_id)
            .where(FaAgreement.collector_id.in_(own_units(scope))).correlate(None)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("fa_response.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("fa_item.id"), nullable=False)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False)
    listing_id: Mapped[int] = mapped_column(ForeignKey("emall_listing.id"), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    #: the supplier's supply commitment for the term (≤ the item's max quantity)
    supply_quantity: Mapped[int] = mapped_column(Integer, nullable=False)

    response: Mapped[FaResponse] = relationship(back_populates="lines")
    item: Mapped[FaItem] = relationship()
    listing: Mapped[Any] = relationship("EmallListing")


class FaMember(RegionScoped, Model):
    """入围供应商: a supplier on the agreement's shortlist."""

    __tablename__ = "fa_member"
    __table_args__ = (UniqueConstraint("agreement_id", "supplier_id", name="uq_fa_member"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.status != "draft").correlate(None)),
        OWN_RULE: lambda cls, scope: cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.collector_id.in_(own_units(scope))).correlate(None)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("fa_agreement.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    rank: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    #: position in the published rotation order (顺序轮候)
    rotation_position: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    joined_on: Mapped[dt.date | None] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    removal_cause: Mapped[str | None] = mapped_column(String(32))
    left_note: Mapped[str | None] = mapped_column(Text)

    agreement: Mapped[FaAgreement] = relationship()
    supplier: Mapped[Organization] = relationship()

    @property
    def agreement_label(self) -> str:
        """The agreement's name for lists (a join would meet the agreement's record rules
        under an alias; a lazy load applies them)."""
        return self.agreement.name if self.agreement is not None else "—"

    def __repr__(self) -> str:
        return self.supplier.name if self.supplier else str(self.supplier_id)

    __str__ = __repr__


class FaLine(RegionScoped, Model):
    """协议明细 and its call-off ledger: one shortlisted product at its agreement price."""

    __tablename__ = "fa_line"
    __table_args__ = (
        UniqueConstraint("item_id", "supplier_id", name="uq_fa_line"),
        # the ledger's cap, also as a constraint: no writer can ever exceed it
        CheckConstraint("ordered_quantity <= cap_quantity AND ordered_quantity >= 0", name="ck_fa_line_cap"),
    )
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.status != "draft").correlate(None)),
        OWN_RULE: lambda cls, scope: cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.collector_id.in_(own_units(scope))).correlate(None)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("fa_agreement.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("fa_item.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("emall_listing.id"), nullable=False)
    agreement_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    ceiling_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    cap_quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    ordered_quantity: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    ordered_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0.00"))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    agreement: Mapped[FaAgreement] = relationship()
    item: Mapped[FaItem] = relationship()
    supplier: Mapped[Organization] = relationship()
    listing: Mapped[Any] = relationship("EmallListing")

    @property
    def remaining_quantity(self) -> int:
        return self.cap_quantity - self.ordered_quantity

    @property
    def agreement_label(self) -> str:
        """The agreement's name for lists (a join would meet the agreement's record rules
        under an alias; a lazy load applies them)."""
        return self.agreement.name if self.agreement is not None else "—"
    @property
    def item_label(self) -> str:
        return self.item.name if self.item is not None else "—"

    def __repr__(self) -> str:
        return f"{self.item.name if self.item else ''} / {self.supplier.name if self.supplier else ''}"

    __str__ = __repr__


class FaCallOff(RegionScoped, Model):
    """第二阶段采购: one purchase under an agreement; region = the purchaser's region."""

    __tablename__ = "fa_calloff"
    __table_args__ = (UniqueConstraint("number", name="uq_fa_calloff_number"),)
    __record_rules__ = {
        # suppliers: their own awards and the competitions they are invited to
        # (the bid table, not the entity: the bids' own rules read the call-offs)
        "supplier": lambda cls, scope: or_(cls.supplier_id == scope.org_id, cls.id.in_(
            select(FaBid.__table__.c.calloff_id).where(FaBid.__table__.c.supplier_id == scope.org_id)
            .correlate(None))),
        OWN_RULE: lambda cls, scope: or_(cls.purchaser_id.in_(own_units(scope)), cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.collector_id.in_(own_units(scope))).correlate(None))),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("fa_agreement.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("fa_item.id"), nullable=False)
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: copied from the agreement and its item: the purchaser's region may not show those rows
    agreement_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    item_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="ordered", index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("fa_line.id"), index=True)
    unit_price: Mapped[Decimal | None] = mapped_column(Money())
    amount: Mapped[Decimal | None] = mapped_column(Money())
    #: the line's agreement price and the volume discount applied for this quantity (the
    #: unit price paid is ``unit_price``)
    agreement_price: Mapped[Decimal | None] = mapped_column(Money())
    discount_percent: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("emall_order.id"))
    #: second competition: bids close at
    bid_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rotation_cycle: Mapped[int | None] = mapped_column(Integer)
    #: the cap was given back after the e-mall order was cancelled
    released: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    awarded_on: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)

    agreement: Mapped[FaAgreement] = relationship()
    item: Mapped[FaItem] = relationship()
    purchaser: Mapped[Organization] = relationship(foreign_keys=[purchaser_id])
    supplier: Mapped[Organization | None] = relationship(foreign_keys=[supplier_id])
    line: Mapped[FaLine | None] = relationship()
    order: Mapped[Any] = relationship("EmallOrder")
    bids: Mapped[list[FaBid]] = relationship(back_populates="calloff", order_by="FaBid.id")

    def __repr__(self) -> str:
        return self.number

    __str__ = __repr__


class FaBid(RegionScoped, Model):
    """二次竞价报价: an invited supplier's bid (≤ its agreement price)."""

    __tablename__ = "fa_bid"
    __table_args__ = (UniqueConstraint("calloff_id", "supplier_id", name="uq_fa_bid"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        OWN_RULE: lambda cls, scope: cls.calloff_id.in_(
            select(FaCallOff.id).where(FaCallOff.purchaser_id.in_(own_units(scope))).correlate(None)),
    }
    __secret_until__ = SecretUntil(
        moment="竞价截止", source="财政部令第110号（二次竞价）",
        # tables, not entities: the moment is a fact whoever asks (no record rules inside)
        opened=lambda cls: cls.calloff_id.in_(
            select(FaCallOff.__table__.c.id).where(FaCallOff.__table__.c.status != "competing").correlate(None)),
        known_to={"supplier": lambda cls, scope: cls.supplier_id == scope.org_id},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    calloff_id: Mapped[int] = mapped_column(ForeignKey("fa_calloff.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False)
    line_id: Mapped[int] = mapped_column(ForeignKey("fa_line.id"), nullable=False)
    unit_price: Mapped[Decimal | None] = mapped_column(Money())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    calloff: Mapped[FaCallOff] = relationship(back_populates="bids")
    supplier: Mapped[Organization] = relationship()
    line: Mapped[FaLine] = relationship()


class FaNotice(RegionScoped, Model):
    """框架协议公告 kept by this module (or the reference of the notices module's copy)."""

    __tablename__ = "fa_notice"
    __table_args__ = (UniqueConstraint("kind", "source_key", name="uq_fa_notice"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.status != "draft",
        "public": lambda cls, scope: cls.status == "published",
        OWN_RULE: lambda cls, scope: or_(cls.purchaser_id.in_(own_units(scope)), cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.collector_id.in_(own_units(scope))).correlate(None))),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("fa_agreement.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    #: what the notice is about, unique per kind (agreement, round, call-off, member)
    source_key: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    event_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    #: where the notices module shows it: a site path (``/...``), not a user-given URL, so the
    #: column is not named ``*_url`` (the platform checks those for http(s))
    hub_link: Mapped[str | None] = mapped_column(String(255))
    #: a second-stage deal notice is the purchaser's (kept in the purchaser's region)
    purchaser_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"))

    agreement: Mapped[FaAgreement] = relationship()

    def __repr__(self) -> str:
        return self.title

    __str__ = __repr__


class FaOutside(RegionScoped, Model):
    """协议外采购报告 (110号令): a purchaser entitled to an agreement bought the same goods
    outside it, with proof of a lower price the shortlisted supplier refused to match;
    reported within 1 working day of the purchase (``late`` otherwise). Region = the
    purchaser's; seen by the purchaser's units and the collecting party."""

    __tablename__ = "fa_outside"
    __record_rules__ = {
        OWN_RULE: lambda cls, scope: or_(cls.purchaser_id.in_(own_units(scope)), cls.agreement_id.in_(
            select(FaAgreement.id).where(FaAgreement.collector_id.in_(own_units(scope))).correlate(None))),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("fa_agreement.id"), nullable=False, index=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("fa_line.id"), nullable=False, index=True)
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: copied: the purchaser's region may not show the agreement's rows
    agreement_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    item_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    shortlisted_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    agreement_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    outside_supplier: Mapped[str] = mapped_column(String(200), nullable=False)
    outside_price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    proof: Mapped[str] = mapped_column(Text, nullable=False)
    refusal: Mapped[str] = mapped_column(Text, nullable=False)
    purchase_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    due_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    reported_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    late: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    purchaser: Mapped[Organization] = relationship(foreign_keys=[purchaser_id])

    def __repr__(self) -> str:
        return f"{self.agreement_name} {self.item_name} 协议外采购"

    __str__ = __repr__
