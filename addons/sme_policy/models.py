"""Records of ``sme_policy`` (中小企业政府采购扶持, 财库〔2020〕46号, 〔2022〕19号).

* :class:`ProjectPolicy` (``sme_project``): a project's SME settings beyond what
  procurement_base stores (the measure and the reserved amount live on ``pb_project``):
  whether the project suits SMEs, the reason when a qualifying project is not reserved, the
  small-and-micro share of the reservation, the price-deduction rates of a non-reserved
  project, and the project it re-runs (a reserved package with too few SME bids);
* :class:`Declaration` (``sme_declaration``): the supplier's 中小企业声明函 per bid
  (industry, size, consortium or subcontract share). Secret like the bid until opening;
* :class:`Disclosure` (``sme_disclosure``) and :class:`DisclosureLine`: a competent budget
  unit's annual public disclosure of the set-asides, computed from the contracts.

Money is ``Money()`` (Numeric(18, 2), Decimal); computed percentages ``Numeric(7, 2)``;
entered percentages ``Numeric(9, 4)`` so that a third decimal reaches the rules (refused
there: at most two decimals) instead of being rounded silently by the API schema.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from addons.procurement_base.models import Bid, Package, Project, bids_opened, own_projects
from core.db import Model
from core.models import Organization
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped, SecretUntil, own_units

#: enterprise sizes a declaration may state (中小企业划型标准规定; prisons and welfare units
#: for the disabled count as small and micro firms, 46号 art. 15 (check))
SIZES = {
    "medium": "中型企业",
    "small": "小型企业",
    "micro": "微型企业",
    "prison": "监狱企业（视同小微企业）",
    "disabled": "残疾人福利性单位（视同小微企业）",
}
SMALL_MICRO = ("small", "micro", "prison", "disabled")
#: 工信部联企业〔2011〕300号 industries
INDUSTRIES = {
    "agriculture": "农、林、牧、渔业",
    "industry": "工业",
    "construction": "建筑业",
    "wholesale": "批发业",
    "retail": "零售业",
    "transport": "交通运输业",
    "warehousing": "仓储业",
    "postal": "邮政业",
    "accommodation": "住宿业",
    "catering": "餐饮业",
    "telecom": "信息传输业",
    "software": "软件和信息技术服务业",
    "real_estate": "房地产开发经营",
    "property": "物业管理",
    "leasing": "租赁和商务服务业",
    "other": "其他未列明行业",
}
#: how the bidder takes part (19号: consortia and subcontracts giving small and micro
#: firms >= 30 % get the smaller deduction)
ARRANGEMENTS = {"single": "独立投标", "consortium": "联合体投标", "subcontract": "分包给小微企业"}
DISCLOSURE_STATES = {
    "draft": "待复核",
    "reviewed": "待签发",
    "signed": "已签发待公开",
    "published": "已公开",
}


def _declaration_own(cls, scope):
    return cls.package_id.in_(
        select(Package.id).where(Package.project_id.in_(own_projects(scope))).correlate(None))


class ProjectPolicy(RegionScoped, Model):
    """中小企业预留设置 of a project (one per project, in its region)."""

    __tablename__ = "sme_project"
    __table_args__ = (UniqueConstraint("project_id", name="uq_sme_project_project"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.project_id.in_(
            select(Project.id).where(Project.status != "draft").correlate(None)),
        OWN_RULE: lambda cls, scope: cls.project_id.in_(own_projects(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False)
    #: the project suits SMEs (适宜由中小企业提供); False needs a reason
    suits_sme: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    #: why a qualifying project is not (or not enough) reserved, or why it does not suit SMEs
    reason: Mapped[str | None] = mapped_column(Text)
    #: share of the reserved amount for small and micro firms (per cent)
    small_micro_percent: Mapped[Decimal | None] = mapped_column(Numeric(9, 4))
    #: price deduction for small and micro firms in a non-reserved project (per cent)
    deduction_rate: Mapped[Decimal | None] = mapped_column(Numeric(9, 4))
    #: deduction for consortia / subcontracts giving small and micro firms >= the share
    group_deduction_rate: Mapped[Decimal | None] = mapped_column(Numeric(9, 4))
    #: the project this one re-runs without reservation (too few SME bids)
    rerun_of_id: Mapped[int | None] = mapped_column(ForeignKey("pb_project.id"))
    note: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project] = relationship(foreign_keys=[project_id])
    rerun_of: Mapped[Project | None] = relationship(foreign_keys=[rerun_of_id])

    def __repr__(self) -> str:
        return f"{self.project} 中小企业预留设置" if self.project else "中小企业预留设置"

    __str__ = __repr__


class Declaration(RegionScoped, Model):
    """中小企业声明函 of a bid: secret like the bid until opening (the supplier sees its own)."""

    __tablename__ = "sme_declaration"
    __table_args__ = (
        UniqueConstraint("bid_id", name="uq_sme_declaration_bid"),
        Index("ix_sme_declaration_package_supplier", "package_id", "supplier_id"),
    )
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        OWN_RULE: _declaration_own,
    }
    __secret_until__ = SecretUntil(
        moment="开标（项目执行“开标”）",
        source="《招标投标法》第二十二条；《政府采购货物和服务招标投标管理办法》（财政部令第87号）",
        opened=lambda cls: bids_opened(cls),
        known_to={"supplier": lambda cls, scope: cls.supplier_id == scope.org_id},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bid_id: Mapped[int] = mapped_column(ForeignKey("pb_bid.id"), nullable=False)
    #: the bid's package and supplier (filled from the bid)
    package_id: Mapped[int] = mapped_column(ForeignKey("pb_package.id"), nullable=False)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False,
                                             index=True)
    industry: Mapped[str] = mapped_column(String(16), nullable=False)
    size: Mapped[str] = mapped_column(String(16), nullable=False)
    arrangement: Mapped[str] = mapped_column(String(16), nullable=False, default="single")
    #: consortium / subcontract: share of the contract for small and micro firms (per cent)
    small_micro_share: Mapped[Decimal | None] = mapped_column(Numeric(9, 4))
    employees: Mapped[int | None] = mapped_column(Integer)
    revenue: Mapped[Decimal | None] = mapped_column(Money())
    declared_on: Mapped[dt.date | None] = mapped_column(Date)

    bid: Mapped[Bid] = relationship()
    package: Mapped[Package] = relationship()
    supplier: Mapped[Organization] = relationship()

    def __repr__(self) -> str:
        return f"{self.supplier.name if self.supplier else ''} {SIZES.get(self.size, '')}"

    __str__ = __repr__


class Disclosure(RegionScoped, Model):
    """A competent budget unit's annual disclosure of its SME set-asides (in its region)."""

    __tablename__ = "sme_disclosure"
    __table_args__ = (UniqueConstraint("unit_id", "year", name="uq_sme_disclosure_unit_year"),)
    __record_rules__ = {
        OWN_RULE: lambda cls, scope: cls.unit_id.in_(own_units(scope)),
        # the public reads published disclosures
        "public": lambda cls, scope: cls.status == "published",
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False,
                                         index=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft", index=True)
    total_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    suitable_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    reserved_whole: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    reserved_package: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    reserved_consortium: Mapped[Decimal] = mapped_column(Money(), nullable=False,
                                                         default=Decimal("0"))
    reserved_subcontract: Mapped[Decimal] = mapped_column(Money(), nullable=False,
                                                          default=Decimal("0"))
    reserved_total: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    sme_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0"))
    small_micro_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False,
                                                        default=Decimal("0"))
    #: reserved / suitable, SME / total, small-and-micro / SME (per cent)
    reserved_share: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False,
                                                    default=Decimal("0"))
    sme_share: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False, default=Decimal("0"))
    small_micro_share: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False,
                                                       default=Decimal("0"))
    #: the targets in force when computed (settings of the unit's region)
    target_reserved: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False,
                                                     default=Decimal("0"))
    target_small_micro: Mapped[Decimal] = mapped_column(Numeric(7, 2), nullable=False,
                                                        default=Decimal("0"))
    shortfall_explanation: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    signed_by: Mapped[str | None] = mapped_column(String(100))
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    #: the notices module's notice (None: kept and shown here)
    notice_link: Mapped[str | None] = mapped_column(String(255))

    unit: Mapped[Organization] = relationship()
    lines: Mapped[list[DisclosureLine]] = relationship(
        back_populates="disclosure", order_by="DisclosureLine.id", cascade="all, delete-orphan")

    @property
    def below_target(self) -> bool:
        return (self.reserved_share < self.target_reserved
                or self.small_micro_share < self.target_small_micro)

    def __repr__(self) -> str:
        return f"{self.unit.name if self.unit else ''} {self.year}年度中小企业预留项目执行情况"

    __str__ = __repr__


class DisclosureLine(RegionScoped, Model):
    """One reserved project of a disclosure: name, measure, amount, contract notice link."""

    __tablename__ = "sme_disclosure_line"
    __record_rules__ = {
        OWN_RULE: lambda cls, scope: cls.disclosure_id.in_(
            select(Disclosure.id).where(Disclosure.unit_id.in_(own_units(scope))).correlate(None)),
        "public": lambda cls, scope: cls.disclosure_id.in_(
            select(Disclosure.id).where(Disclosure.status == "published").correlate(None)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(ForeignKey("sme_disclosure.id"), nullable=False,
                                               index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("pb_project.id"))
    project_number: Mapped[str] = mapped_column(String(50), nullable=False)
    project_name: Mapped[str] = mapped_column(String(200), nullable=False)
    measure: Mapped[str] = mapped_column(String(16), nullable=False)
    contract_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    reserved_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    contract_numbers: Mapped[str | None] = mapped_column(Text)
    #: the contract notice (合同公告) or, without a notices module, the contract's page
    link: Mapped[str | None] = mapped_column(String(255))

    disclosure: Mapped[Disclosure] = relationship(back_populates="lines")

    def __repr__(self) -> str:
        return f"{self.project_number} {self.project_name}"

    __str__ = __repr__
