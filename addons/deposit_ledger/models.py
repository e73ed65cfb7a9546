"""Records of ``deposit_ledger``: bid and performance deposits (投标/履约保证金), their
immutable ledger, the forfeiture reasons a project's tender documents list, the one-year
LPR table, and bank-statement lines for reconciliation.

Money is ``Money()`` (Numeric(18, 2), Decimal). Every deposit-side record is region-scoped,
in the region of its project (or contract); a supplier sees only its own deposits.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from addons.procurement_base.models import Bid, Contract, Package, Project, own_projects
from core.db import Model
from core.models import Organization
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped, own_units

KINDS = {"bid": "投标保证金", "performance": "履约保证金"}
FORMS = {
    "transfer": "银行转账",
    "cheque": "支票",
    "draft": "汇票",
    "guarantee": "保函",
}
GUARANTEE_TYPES = {"bank": "银行保函", "insurer": "保证保险", "e_guarantee": "电子保函"}
STATES = {
    "held": "在管",
    "refunded": "已退还",
    "forfeited": "已不予退还（待上缴）",
    "remitted": "已上缴国库",
    "converted": "已转为履约保证金",
    "released": "保函已解除",
    "void": "已冲销",
}
#: refund triggers (退还事由) and the event each stands for
TRIGGERS = {
    "award_notice": "中标通知书发出（未中标人）",
    "contract_signed": "合同签订（中标人）",
    "withdrawal": "投标截止前书面撤回投标",
    "termination": "采购活动终止",
    "performance_done": "合同履行完毕（履约保证金）",
}
ENTRY_KINDS = {
    "receipt": "收取",
    "refund": "退还",
    "forfeiture": "不予退还",
    "remittance": "上缴国库",
    "conversion_out": "转出（转为履约保证金）",
    "conversion_in": "转入（由投标保证金转入）",
    "reversal": "冲销",
}
STATEMENT_DIRECTIONS = {"in": "收入", "out": "支出"}
MATCH_STATES = {"proposed": "系统建议", "confirmed": "已确认", "rejected": "已否决"}

_SUPPLIER_RULE = {"supplier": lambda cls, scope: cls.supplier_id == scope.org_id}


def _own_deposit(cls, scope):
    """Purchasers and agencies: the deposits their unit holds or of their own projects
    (never other units' deposits with the suppliers' payer accounts)."""
    return or_(cls.holder_id.in_(own_units(scope)), cls.project_id.in_(own_projects(scope)))


class ForfeitReason(Model):
    """不予退还事由 (standard list, platform-wide, shipped as seed data)."""

    __tablename__ = "dl_forfeit_reason"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="bid")
    source: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


class ProjectForfeitReason(RegionScoped, Model):
    """A forfeiture reason the project's tender documents list (招标文件载明的不予退还情形)."""

    __tablename__ = "dl_project_reason"
    __table_args__ = (UniqueConstraint("project_id", "reason_id", name="uq_dl_project_reason"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.project_id.in_(
            select(Project.id).where(Project.status != "draft")),
        OWN_RULE: lambda cls, scope: cls.project_id.in_(own_projects(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False, index=True)
    reason_id: Mapped[int] = mapped_column(ForeignKey("dl_forfeit_reason.id"), nullable=False)
    clause: Mapped[str | None] = mapped_column(String(100))

    project: Mapped[Project] = relationship()
    reason: Mapped[ForfeitReason] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"{self.reason.name if self.reason else ''}"

    __str__ = __repr__


class LprRate(Model):
    """贷款市场报价利率（一年期）: the rate in force from ``effective_date`` (PBoC / NIFC)."""

    __tablename__ = "dl_lpr_rate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    effective_date: Mapped[dt.date] = mapped_column(Date, unique=True, nullable=False)
    #: one-year LPR in per cent, e.g. 3.45
    rate_percent: Mapped[Decimal] = mapped_column(Numeric(6, 4), nullable=False)
    source: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"{self.effective_date} {self.rate_percent}%"

    __str__ = __repr__


class Deposit(RegionScoped, Model):
    """保证金: a bid deposit per supplier per package, or a performance deposit per contract."""

    __tablename__ = "dl_deposit"
    __table_args__ = (UniqueConstraint("region_id", "number", name="uq_dl_deposit_region_number"),)
    __record_rules__ = {**_SUPPLIER_RULE, OWN_RULE: _own_deposit}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(50), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False, index=True)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("pb_package.id"), index=True)
    bid_id: Mapped[int | None] = mapped_column(ForeignKey("pb_bid.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("pb_contract.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: the unit holding the money (the agency, else the purchaser)
    holder_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    form: Mapped[str] = mapped_column(String(16), nullable=False)
    guarantee_type: Mapped[str | None] = mapped_column(String(16))
    guarantee_number: Mapped[str | None] = mapped_column(String(100))
    guarantee_issuer: Mapped[str | None] = mapped_column(String(200))
    guarantee_valid_until: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    received_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    payer_account: Mapped[str | None] = mapped_column(String(100))
    payer_bank: Mapped[str | None] = mapped_column(String(200))
    #: bank reference of the incoming transfer (copied to the receipt entry)
    receipt_reference: Mapped[str | None] = mapped_column(String(100))
    trigger: Mapped[str | None] = mapped_column(String(20))
    trigger_date: Mapped[dt.date | None] = mapped_column(Date)
    #: refund-due date: ``trigger_date`` + N working days (computed, never typed)
    due_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    supplier_fault: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    supplier_fault_reason: Mapped[str | None] = mapped_column(Text)
    #: the performance deposit this bid deposit was converted into (and back)
    converted_to_id: Mapped[int | None] = mapped_column(ForeignKey("dl_deposit.id"))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="held", index=True)
    settled_date: Mapped[dt.date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    project: Mapped[Project] = relationship()
    package: Mapped[Package | None] = relationship()
    bid: Mapped[Bid | None] = relationship()
    contract: Mapped[Contract | None] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_id])
    holder: Mapped[Organization] = relationship(foreign_keys=[holder_id])
    converted_to: Mapped[Deposit | None] = relationship(remote_side=[id])
    entries: Mapped[list[DepositEntry]] = relationship(order_by="DepositEntry.id", viewonly=True)

    def __repr__(self) -> str:
        return self.number

    __str__ = __repr__


class DepositEntry(RegionScoped, Model):
    """保证金台账分录: immutable. A correction is a ``reversal`` entry naming the one it
    reverses (``reverses_id``); nothing is ever updated or deleted (ORM guard + database
    triggers)."""

    __tablename__ = "dl_entry"
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.deposit_id.in_(
            select(Deposit.id).where(Deposit.supplier_id == scope.org_id)),
        OWN_RULE: lambda cls, scope: cls.deposit_id.in_(
            select(Deposit.id).where(_own_deposit(Deposit, scope)).correlate(None)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deposit_id: Mapped[int] = mapped_column(ForeignKey("dl_deposit.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    #: for a reversal: the kind of the entry it reverses (balances are sums by kind)
    reversed_kind: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    entry_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    payee_account: Mapped[str | None] = mapped_column(String(100))
    bank_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    voucher_no: Mapped[str | None] = mapped_column(String(100))
    reason_id: Mapped[int | None] = mapped_column(ForeignKey("dl_forfeit_reason.id"))
    #: the other half of a conversion pair
    linked_entry_id: Mapped[int | None] = mapped_column(ForeignKey("dl_entry.id"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("dl_entry.id"), unique=True)
    #: late-refund fee paid with a refund (资金占用费), and the overdue days it covers
    late_fee: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0.00"))
    overdue_days: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(128))

    deposit: Mapped[Deposit] = relationship()
    reason: Mapped[ForfeitReason | None] = relationship()

    def __repr__(self) -> str:
        return f"{ENTRY_KINDS.get(self.kind, self.kind)} {self.amount}"

    __str__ = __repr__


class StatementLine(RegionScoped, Model):
    """A line of the deposit account's bank statement (银行流水), imported for reconciliation."""

    __tablename__ = "dl_statement_line"
    __table_args__ = (UniqueConstraint("region_id", "account", "line_date", "reference", "amount",
                                       "direction", name="uq_dl_statement_line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    account: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    line_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    direction: Mapped[str] = mapped_column(String(4), nullable=False)
    counterparty: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    imported_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    def __repr__(self) -> str:
        return f"{self.line_date} {STATEMENT_DIRECTIONS.get(self.direction, '')} {self.amount} {self.reference}"

    __str__ = __repr__


class StatementMatch(RegionScoped, Model):
    """A statement line matched to a ledger entry (proposed by the system, confirmed or
    rejected by a user; every decision audited)."""

    __tablename__ = "dl_statement_match"
    __record_rules__ = {
        OWN_RULE: lambda cls, scope: cls.entry_id.in_(select(DepositEntry.id).where(
            DepositEntry.deposit_id.in_(select(Deposit.id).where(
                _own_deposit(Deposit, scope)).correlate(None))).correlate(None)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("dl_statement_line.id"), nullable=False, index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("dl_entry.id"), nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="proposed")
    score: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    line: Mapped[StatementLine] = relationship()
    entry: Mapped[DepositEntry] = relationship()
