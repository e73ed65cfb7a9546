"""Records of ``scf_emall``: the supplier's consent (流水信用授权) that one institution may see
its e-mall transaction profile, revocable, with the line the institution recorded.

Visibility: the supplier its own consents; the institution (role 银行) the consents given to
it; purchasers and agencies none; the region's finance bureau (region admin, auditor) its
region (the supplier's region).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Model
from core.models import Organization
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped

MODULE = "scf_emall"

STATES = {"active": "授权有效", "revoked": "已撤回"}


def _nothing(cls, scope):
    return false()


class Consent(RegionScoped, Model):
    """流水信用授权: supplier → institution; ``revoked_at`` set once revoked (then the
    institution sees no profile). At most one active consent per supplier and institution
    (checked by the service). The institution's line (额度) is recorded on it."""

    __tablename__ = "scf_emall_consent"
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        "bank": lambda cls, scope: cls.bank_id == scope.org_id,
        "purchaser": _nothing,
        "agency": _nothing,
        OWN_RULE: _nothing,
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: the institution's organisation (scf_institution.org_id)
    bank_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active", index=True)
    granted_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    granted_by: Mapped[str | None] = mapped_column(String(128))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(128))
    # -- the institution's line (the institution decides; the platform records it)
    line_amount: Mapped[Decimal | None] = mapped_column(Money())
    line_valid_until: Mapped[dt.date | None] = mapped_column(Date)
    line_note: Mapped[str | None] = mapped_column(Text)
    line_decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    line_decided_by: Mapped[str | None] = mapped_column(String(128))

    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_id])
    bank: Mapped[Organization] = relationship(foreign_keys=[bank_id])

    def __repr__(self) -> str:
        return (f"{self.supplier.name if self.supplier else ''} → "
                f"{self.bank.name if self.bank else ''} 流水信用授权")

    __str__ = __repr__


class LineParams(Model):
    """An institution's own parameters of the indicative line (参考额度参数): each NULL falls
    back to the platform setting (``scf_emall.line_months``, ``scf_emall.line_cap``,
    ``scf_emall.min_active_months``). Read and written only for the caller's own institution
    (services), never listed."""

    __tablename__ = "scf_emall_line_params"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, unique=True)
    line_months: Mapped[int | None] = mapped_column(Integer)
    line_cap: Mapped[Decimal | None] = mapped_column(Money())
    min_active_months: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(128))
