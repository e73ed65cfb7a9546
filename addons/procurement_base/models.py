"""Records every procurement module shares: catalog, projects, packages, bids, contracts,
payment schedules and payments. Money is ``Money()`` (Numeric(18, 2), Decimal, never float).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from core.db import Model
from core.models import Organization
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped, Scope, SecretUntil, own_units

#: procurement methods (采购方式)
METHODS = {
    "public_tender": "公开招标",
    "invitation": "邀请招标",
    "competitive_negotiation": "竞争性谈判",
    "competitive_consultation": "竞争性磋商",
    "single_source": "单一来源",
    "inquiry": "询价",
    "framework_agreement": "框架协议",
    "emall": "电子卖场",
}
#: SME set-aside measures (预留措施, 财库〔2020〕46号)
SME_MEASURES = {
    "none": "不预留",
    "whole": "整体预留",
    "package": "设置专门采购包",
    "consortium": "要求联合体中小企业份额",
    "subcontract": "要求分包给中小企业",
}
PROJECT_STATES = {
    "draft": "草稿",
    "published": "已发布",
    "bidding": "投标中",
    "evaluated": "已评审",
    "awarded": "已中标",
    "contracted": "已签合同",
    "completed": "已完成",
    "terminated": "已终止",
    "failed": "已废标",
}
BID_STATES = {"submitted": "已投标", "withdrawn": "已撤回", "won": "中标", "lost": "未中标"}
CONTRACT_STATES = {
    "draft": "草稿",
    "signed": "已签订",
    "performing": "履行中",
    "completed": "已完成",
    "terminated": "已终止",
}
#: the SME set-aside label of a contract (supplier size at award)
SME_LABELS = {"none": "非中小企业", "medium": "中型企业", "small": "小型企业", "micro": "微型企业"}


#: project states after bid opening (开标): the "open_bidding" transition moves a project
#: from 已发布 to 投标中 and records the opening date; a terminated or failed project was
#: opened only when it has an opening date
OPENED_STATES = ("bidding", "evaluated", "awarded", "contracted", "completed")


def own_projects(scope: Scope) -> Any:
    """SQL: ids of the projects whose records ``scope``'s organisation owns: it is the
    project's purchaser (or its competent unit) or its procurement agency."""
    units = own_units(scope)
    return select(Project.id).where(or_(Project.purchaser_id.in_(units),
                                        Project.agency_id.in_(units))).correlate(None)


def own_contracts(scope: Scope) -> Any:
    """SQL: ids of the contracts ``scope``'s organisation owns (as purchaser, or as the
    agency of the contract's project)."""
    return select(Contract.id).where(or_(Contract.purchaser_id.in_(own_units(scope)),
                                         Contract.project_id.in_(own_projects(scope)))).correlate(None)


def bids_opened(cls: Any) -> Any:
    """SQL: the bid's project has passed bid opening (开标)."""
    # on the tables, not the entities: the moment is a fact whoever asks
    pkg, prj = Package.__table__, Project.__table__
    return cls.package_id.in_(
        select(pkg.c.id).join(prj, pkg.c.project_id == prj.c.id).where(or_(
            prj.c.status.in_(OPENED_STATES),
            prj.c.status.in_(("terminated", "failed")) & prj.c.opening_date.is_not(None),
        )).correlate(None)
    )


class CatalogItem(Model):
    """政府采购品目 (A goods, B works, C services). Platform-wide, not region-scoped."""

    __tablename__ = "pb_catalog"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("pb_catalog.id"), index=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    #: goods / works / services, from the first letter (A / B / C)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    parent: Mapped[CatalogItem | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"{self.code} {self.name}"

    __str__ = __repr__


class Project(RegionScoped, Model):
    """采购项目. Suppliers see projects once published (public information)."""

    __tablename__ = "pb_project"
    __table_args__ = (UniqueConstraint("region_id", "number", name="uq_pb_project_region_number"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.status != "draft",
        "bank": lambda cls, scope: cls.status != "draft",
        # purchasers and agencies: the projects of their own unit (not the whole region)
        OWN_RULE: lambda cls, scope: or_(cls.purchaser_id.in_(own_units(scope)),
                                         cls.agency_id.in_(own_units(scope))),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(50), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"), index=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("pb_catalog.id"), nullable=False)
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    budget: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    sme_measure: Mapped[str] = mapped_column(String(16), nullable=False, default="none")
    sme_reserved_amount: Mapped[Decimal | None] = mapped_column(Money())
    notice_date: Mapped[dt.date | None] = mapped_column(Date)
    bid_deadline: Mapped[dt.datetime | None] = mapped_column(DateTime)
    opening_date: Mapped[dt.date | None] = mapped_column(Date)
    award_date: Mapped[dt.date | None] = mapped_column(Date)
    contract_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft", index=True)
    note: Mapped[str | None] = mapped_column(Text)

    purchaser: Mapped[Organization] = relationship(foreign_keys=[purchaser_id])
    agency: Mapped[Organization | None] = relationship(foreign_keys=[agency_id])
    catalog: Mapped[CatalogItem] = relationship()
    packages: Mapped[list[Package]] = relationship(back_populates="project", order_by="Package.number")

    def __repr__(self) -> str:
        return f"{self.number} {self.name}"

    __str__ = __repr__


class Package(RegionScoped, Model):
    """采购包 (lot), in the region of its project."""

    __tablename__ = "pb_package"
    __table_args__ = (UniqueConstraint("project_id", "number", name="uq_pb_package_project_number"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.project_id.in_(
            select(Project.id).where(Project.status != "draft")
        ),
        "bank": lambda cls, scope: cls.project_id.in_(
            select(Project.id).where(Project.status != "draft")
        ),
        OWN_RULE: lambda cls, scope: cls.project_id.in_(own_projects(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False, index=True)
    number: Mapped[str] = mapped_column(String(10), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    budget: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    #: a package reserved for SMEs (专门面向中小企业)
    sme_reserved: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    project: Mapped[Project] = relationship(back_populates="packages")

    def __repr__(self) -> str:
        return f"{self.project.number if self.project else ''} 包{self.number} {self.name}"

    __str__ = __repr__


class Bid(RegionScoped, Model):
    """投标 per package. A supplier sees only its own bids. Before bid opening nobody else
    knows a bid exists (招标投标法第二十二条; 政府采购货物和服务招标投标管理办法, 财政部令第87号,
    第三十一条、第四十条); after it, the project's purchaser and agency and the region's
    supervisors do (never other purchasers)."""

    __tablename__ = "pb_bid"
    __table_args__ = (UniqueConstraint("package_id", "supplier_id", name="uq_pb_bid_package_supplier"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        OWN_RULE: lambda cls, scope: cls.package_id.in_(
            select(Package.id).where(Package.project_id.in_(own_projects(scope))).correlate(None)),
    }
    __secret_until__ = SecretUntil(
        moment="开标（项目执行“开标”）",
        source="《招标投标法》第二十二条；《政府采购货物和服务招标投标管理办法》（财政部令第87号）",
        opened=lambda cls: bids_opened(cls),
        known_to={"supplier": lambda cls, scope: cls.supplier_id == scope.org_id},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the package's project, kept by the services (pb_0002; NULL only in rows written
    #: around them, filled from the package by the migration and the post-install hook)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("pb_project.id", name="fk_pb_bid_project_id"), index=True
    )
    package_id: Mapped[int] = mapped_column(ForeignKey("pb_package.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    price: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="submitted")
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    #: 撤回时间 (Beijing time) and the supplier's written notice (pb_0004): set by
    #: :func:`services.withdraw_bid`, before the bid deadline only
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    withdrawal_notice: Mapped[str | None] = mapped_column(Text)

    project: Mapped[Project | None] = relationship()
    package: Mapped[Package] = relationship()
    supplier: Mapped[Organization] = relationship()

    def __repr__(self) -> str:
        return f"{self.supplier.name if self.supplier else ''} {self.price}"

    __str__ = __repr__


class Contract(RegionScoped, Model):
    """采购合同: from a project package, or from an e-mall order (``source``)."""

    __tablename__ = "pb_contract"
    __table_args__ = (UniqueConstraint("region_id", "number", name="uq_pb_contract_region_number"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        OWN_RULE: lambda cls, scope: or_(cls.purchaser_id.in_(own_units(scope)),
                                         cls.project_id.in_(own_projects(scope))),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(50), nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="project")
    project_id: Mapped[int | None] = mapped_column(ForeignKey("pb_project.id"), index=True)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("pb_package.id"), index=True)
    #: the e-mall order this contract comes from (set by the e-mall module)
    order_ref: Mapped[str | None] = mapped_column(String(50))
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    signed_date: Mapped[dt.date | None] = mapped_column(Date)
    sme_label: Mapped[str] = mapped_column(String(16), nullable=False, default="none")
    #: why the amount exceeds the winning bid (required when it does)
    over_bid_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft", index=True)

    project: Mapped[Project | None] = relationship()
    package: Mapped[Package | None] = relationship()
    purchaser: Mapped[Organization] = relationship(foreign_keys=[purchaser_id])
    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_id])
    plans: Mapped[list[PaymentPlan]] = relationship(back_populates="contract", order_by="PaymentPlan.seq")
    payments: Mapped[list[Payment]] = relationship(back_populates="contract", order_by="Payment.paid_date")

    def __repr__(self) -> str:
        return self.number

    __str__ = __repr__


class PaymentPlan(RegionScoped, Model):
    """付款计划: one line of a contract's payment schedule."""

    __tablename__ = "pb_payment_plan"
    __table_args__ = (UniqueConstraint("contract_id", "seq", name="uq_pb_payment_plan_contract_seq"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.contract_id.in_(
            select(Contract.id).where(Contract.supplier_id == scope.org_id)
        ),
        OWN_RULE: lambda cls, scope: cls.contract_id.in_(own_contracts(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("pb_contract.id"), nullable=False, index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    due_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    note: Mapped[str | None] = mapped_column(String(200))

    contract: Mapped[Contract] = relationship(back_populates="plans")

    def __repr__(self) -> str:
        return f"{self.contract.number if self.contract else ''} 第{self.seq}期 {self.amount}"

    __str__ = __repr__


class Payment(RegionScoped, Model):
    """已付款: a payment recorded against a contract (outstanding = amount - payments)."""

    __tablename__ = "pb_payment"
    __record_rules__ = PaymentPlan.__record_rules__

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("pb_contract.id"), nullable=False, index=True)
    paid_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    reference: Mapped[str | None] = mapped_column(String(100))
    #: 收款账户: the account paid (a financed contract's locked repayment account)
    payee_account: Mapped[str | None] = mapped_column(String(64))

    contract: Mapped[Contract] = relationship(back_populates="payments")

    def __repr__(self) -> str:
        return f"{self.contract.number if self.contract else ''} {self.paid_date} {self.amount}"

    __str__ = __repr__


#: 已付金额 (sum of the contract's payments), loaded with the contract in the same SELECT
Contract.paid_amount = column_property(
    select(type_coerce(func.coalesce(func.sum(Payment.amount), 0), Money()))
    .where(Payment.contract_id == Contract.id)
    .correlate_except(Payment)
    .scalar_subquery(),
    deferred=False,
)


def _outstanding(self: Contract) -> Decimal | None:
    """未付金额 = 合同金额 − 已付金额 (derived, never stored)."""
    if self.amount is None:
        return None
    return self.amount - (self.paid_amount or Decimal("0.00"))


Contract.outstanding = property(_outstanding)
