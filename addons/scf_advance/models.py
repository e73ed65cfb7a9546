"""Records of ``scf_advance``: an advance payment agreed on a contract and the policy (or
guarantee) securing it - insurer, policy number, insured = the purchaser, amount, validity,
the file's SHA-256 - verified by the purchaser before the advance is paid, released on
acceptance or claimed on non-performance.

Visibility: the supplier its own; the insurer (role 银行, an institution) those naming it;
the purchaser and the project's agency their own contracts'; the region's finance bureau
its region.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from addons.procurement_base.models import Contract, Payment, own_contracts
from core.db import Model
from core.models import Organization
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped

MODULE = "scf_advance"

STATES = {
    "agreed": "已约定预付款（待提交保单）",
    "presented": "已提交保单（待验真）",
    "verified": "保单已验真（待支付预付款）",
    "paid": "预付款已支付（保单在保）",
    "released": "已验收，保单解除",
    "claimed": "未履约，已向保险机构索赔",
    "cancelled": "已取消",
}
#: an advance still open on its contract (at most one)
OPEN = ("agreed", "presented", "verified", "paid")


class Advance(RegionScoped, Model):
    """预付款及其保险（保函）: one per contract while open (``open_contract_id`` UNIQUE)."""

    __tablename__ = "scf_advance"
    __table_args__ = (UniqueConstraint("open_contract_id", name="uq_scf_advance_open_contract"),)
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        "bank": lambda cls, scope: cls.insurer_id == scope.org_id,
        OWN_RULE: lambda cls, scope: cls.contract_id.in_(own_contracts(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("pb_contract.id"), nullable=False, index=True)
    contract_number: Mapped[str] = mapped_column(String(50), nullable=False)
    open_contract_id: Mapped[int | None] = mapped_column(ForeignKey("pb_contract.id"))
    purchaser_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    share_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    #: the delivery date the policy must cover (交货/履约完成日期)
    delivery_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="agreed", index=True)
    agreed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    # -- the policy or guarantee presented by the supplier
    insurer_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"), index=True)
    policy_number: Mapped[str | None] = mapped_column(String(64))
    insured_credit_code: Mapped[str | None] = mapped_column(String(18))
    policy_amount: Mapped[Decimal | None] = mapped_column(Money())
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    presented_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("pb_payment.id"))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    claim_reason: Mapped[str | None] = mapped_column(Text)

    contract: Mapped[Contract] = relationship(foreign_keys=[contract_id])
    purchaser: Mapped[Organization] = relationship(foreign_keys=[purchaser_id])
    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_id])
    insurer: Mapped[Organization | None] = relationship(foreign_keys=[insurer_id])
    payment: Mapped[Payment | None] = relationship()

    def __repr__(self) -> str:
        return f"{self.contract_number} 预付款"

    __str__ = __repr__
