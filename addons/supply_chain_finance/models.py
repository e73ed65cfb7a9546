"""Records of ``supply_chain_finance``: participating financial institutions and the regions
they serve, contract-financing applications (政采贷) with the bank's decision, disbursement
and repayment entries, the repayment-account lock (回款账户锁定), and the bank API's
idempotency keys, webhook outbox and delivery log.

Visibility (record rules, :mod:`core.tenancy`): a bank sees only what is addressed to it,
a supplier only its own, a purchaser or agency never an application - only the account lock
of its own contracts (that the contract is financed and where to pay); the region's finance
bureau (region admin, auditor) its region.
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
    false,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from addons.procurement_base.models import Contract, own_contracts
from core.db import Model
from core.models import Organization, Region
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped

MODULE = "supply_chain_finance"

#: kinds of participating institutions
INSTITUTION_KINDS = {"bank": "银行", "insurer": "保险机构", "guarantee": "融资担保机构"}
#: application states (融资申请状态)
APP_STATES = {
    "submitted": "待审批",
    "info_requested": "待补充材料",
    "approved": "已批准（待放款）",
    "disbursed": "已放款（还款中）",
    "repaid": "已结清",
    "rejected": "已拒绝",
    "withdrawn": "已撤回",
    "released": "已解除锁定",
}
#: states waiting for the bank's decision
PENDING_STATES = ("submitted", "info_requested")
#: states in which the application is the contract's financing (at most one per contract)
FINANCED_STATES = ("approved", "disbursed")
ENTRY_KINDS = {"disbursement": "放款", "repayment": "还款"}
LOCK_STATES = {"pending": "待采购人确认", "locked": "已锁定", "released": "已解除"}
OUTBOX_STATES = {"pending": "待推送", "delivered": "已送达", "failed": "推送失败（已停止重试）"}
#: how the platform signs the webhooks to an institution (docs/supply_chain_finance.md)
SIGNATURE_SCHEMES = {
    "hmac-sha256": "HMAC-SHA256（共享密钥，默认）",
    "hmac-sm3": "HMAC-SM3（共享密钥，国密杂凑算法）",
    "sm2": "SM2 数字签名（平台私钥签名，机构用平台公钥验签）",
}
EVENTS = {
    "application.submitted": "融资申请已提交",
    "application.updated": "融资申请已补充材料",
    "account.confirmed": "采购人已确认回款账户",
    "payment.recorded": "融资合同发生付款",
}


def _bank_rule(cls, scope):
    return cls.bank_id == scope.org_id


def _nothing(cls, scope):
    return false()


class Institution(Model):
    """参与政采贷的金融机构: a bank, insurer or guarantee company (an organisation of type
    ``bank`` or ``insurer``), its promised decision time and its API/webhook settings."""

    __tablename__ = "scf_institution"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False, default="bank")
    #: promised working days to decide; NULL: the setting ``scf.decision_days`` (default 2)
    decision_days: Mapped[int | None] = mapped_column(Integer)
    products: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    #: the institution's endpoint for signed webhooks (HTTPS in production)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    #: the HMAC-SHA256 key shared with the institution (also its API client secret's salt)
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    #: how the webhooks are signed (:data:`SIGNATURE_SCHEMES`): HMAC with the shared secret
    #: (SHA-256 or SM3) or the platform's SM2 signature
    signature_scheme: Mapped[str] = mapped_column(String(16), nullable=False, default="hmac-sha256",
                                                  server_default="hmac-sha256")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    org: Mapped[Organization] = relationship(lazy="joined")
    regions: Mapped[list[InstitutionRegion]] = relationship(
        back_populates="institution", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return self.org.name if self.org is not None else ""

    __str__ = __repr__


class InstitutionRegion(Model):
    """A region the institution serves (its reach)."""

    __tablename__ = "scf_institution_region"
    __table_args__ = (UniqueConstraint("institution_id", "region_id", name="uq_scf_inst_region"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("scf_institution.id"), nullable=False,
                                                index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("erp_region.id"), nullable=False)

    institution: Mapped[Institution] = relationship(back_populates="regions")
    region: Mapped[Region] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return self.region.name if self.region is not None else ""

    __str__ = __repr__


class Application(RegionScoped, Model):
    """政采贷融资申请: a supplier's application on one of its contracts to a bank of its own
    choosing; the bank's decision, disbursement and repayments. In the contract's region.

    ``financing_contract_id`` holds the contract id while the application is the contract's
    financing (approved or disbursed), NULL otherwise: a UNIQUE constraint makes a second
    financing of one contract impossible in the database too."""

    __tablename__ = "scf_application"
    __table_args__ = (UniqueConstraint("number", name="uq_scf_application_number"),
                      UniqueConstraint("financing_contract_id", name="uq_scf_application_financing"))
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        "bank": _bank_rule,
        "purchaser": _nothing,
        "agency": _nothing,
        OWN_RULE: _nothing,
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(40), nullable=False)
    contract_id: Mapped[int] = mapped_column(ForeignKey("pb_contract.id"), nullable=False, index=True)
    #: the contract's number (copied at applying: lists never join the scoped contract)
    contract_number: Mapped[str] = mapped_column(String(50), nullable=False)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: the institution's organisation (the bank the supplier chose)
    bank_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    purpose: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="submitted", index=True)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    submitted_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    #: the last day of the institution's promised decision time (working days)
    decision_due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    info_request: Mapped[str | None] = mapped_column(Text)
    supplier_reply: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    approved_amount: Mapped[Decimal | None] = mapped_column(Money())
    rate_percent: Mapped[Decimal | None] = mapped_column(Numeric(7, 4))
    term_months: Mapped[int | None] = mapped_column(Integer)
    repayment_account: Mapped[str | None] = mapped_column(String(64))
    repayment_account_name: Mapped[str | None] = mapped_column(String(200))
    repayment_bank: Mapped[str | None] = mapped_column(String(200))
    #: 动产融资统一登记公示系统 registration number, reported by the bank
    registry_number: Mapped[str | None] = mapped_column(String(64))
    financing_contract_id: Mapped[int | None] = mapped_column(ForeignKey("pb_contract.id"))
    disbursed_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0.00"))
    disbursed_on: Mapped[dt.date | None] = mapped_column(Date)
    maturity_date: Mapped[dt.date | None] = mapped_column(Date)
    repaid_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False, default=Decimal("0.00"))
    last_repaid_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    release_reason: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract] = relationship(foreign_keys=[contract_id])
    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_id])
    bank: Mapped[Organization] = relationship(foreign_keys=[bank_id])
    entries: Mapped[list[Entry]] = relationship(order_by="Entry.id", viewonly=True)

    def __repr__(self) -> str:
        return self.number

    __str__ = __repr__


class Entry(RegionScoped, Model):
    """放款或还款记录, reported by the bank (immutable)."""

    __tablename__ = "scf_entry"
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.application_id.in_(
            select(Application.id).where(Application.supplier_id == scope.org_id)),
        "bank": lambda cls, scope: cls.application_id.in_(
            select(Application.id).where(Application.bank_id == scope.org_id)),
        "purchaser": _nothing,
        "agency": _nothing,
        OWN_RULE: _nothing,
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("scf_application.id"), nullable=False,
                                                index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    entry_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    application: Mapped[Application] = relationship()

    def __repr__(self) -> str:
        return f"{ENTRY_KINDS.get(self.kind, '')} {self.amount}"

    __str__ = __repr__


class AccountLock(RegionScoped, Model):
    """回款账户锁定: the financed contract's payee account, the bank's repayment account,
    pending until the purchaser confirms; then every payment of the contract must go there
    until the bank reports full repayment or releases it.

    ``active_contract_id`` is the contract id while the lock is pending or locked (UNIQUE)."""

    __tablename__ = "scf_account_lock"
    __table_args__ = (UniqueConstraint("active_contract_id", name="uq_scf_lock_active_contract"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.contract_id.in_(
            select(Contract.id).where(Contract.supplier_id == scope.org_id)),
        "bank": _bank_rule,
        # purchasers and agencies: the locks of their own contracts (where to pay)
        OWN_RULE: lambda cls, scope: cls.contract_id.in_(own_contracts(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("pb_contract.id"), nullable=False, index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("scf_application.id"), nullable=False,
                                                index=True)
    contract_number: Mapped[str] = mapped_column(String(50), nullable=False)
    bank_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    account: Mapped[str] = mapped_column(String(64), nullable=False)
    account_name: Mapped[str | None] = mapped_column(String(200))
    account_bank: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    active_contract_id: Mapped[int | None] = mapped_column(ForeignKey("pb_contract.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(128))
    released_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    release_reason: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract] = relationship(foreign_keys=[contract_id])
    application: Mapped[Application] = relationship()
    bank: Mapped[Organization] = relationship(foreign_keys=[bank_id])

    def __repr__(self) -> str:
        return f"{self.account_bank or ''} {self.account}".strip()

    __str__ = __repr__


class Outbox(Model):
    """A webhook event for an institution, written in the transaction of the change that
    caused it and delivered afterwards with retries and backoff."""

    __tablename__ = "scf_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("scf_institution.id"), nullable=False,
                                                index=True)
    event: Mapped[str] = mapped_column(String(40), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    institution: Mapped[Institution] = relationship()


class Delivery(Model):
    """One delivery attempt of an outbox event (every attempt is logged)."""

    __tablename__ = "scf_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("scf_outbox.id"), nullable=False, index=True)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)

    outbox: Mapped[Outbox] = relationship()
