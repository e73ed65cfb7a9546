"""Records of ``scf_deposit``: electronic guarantees (电子保函) requested by a supplier from an
institution of its choosing, issued by the institution's system, verified by the collecting
unit (the beneficiary: the project's agency, else its purchaser) and then recorded in the
deposit ledger as a deposit of form ``guarantee``; claims (索赔) and release follow the
deposit.

Visibility (record rules, :mod:`core.tenancy`): a supplier sees its own guarantees, an
institution those addressed to it, a purchaser or agency those of its own projects, the
region's finance bureau its region. A ciphered guarantee (密文保函) of a bid deposit exists
for nobody but its applicant and its issuer until bid opening (``SecretUntil``): the
purchaser and agency cannot learn who bids from it.
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
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from addons.deposit_ledger.models import Deposit
from addons.procurement_base.models import (
    OPENED_STATES,
    Contract,
    Package,
    Project,
    own_projects,
)
from core.db import Model
from core.models import Organization
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped, SecretUntil

MODULE = "scf_deposit"

KINDS = {"bid": "投标保函", "performance": "履约保函"}
STATES = {
    "requested": "待出函",
    "declined": "机构不予出函",
    "issued": "已出函（待验真）",
    "verified": "已验真入账",
    "claimed": "已索赔（待机构赔付）",
    "paid": "已赔付（转入待上缴）",
    "released": "已解除",
    "withdrawn": "已撤回",
}
#: the guarantee stands in for a deposit (counted as cash freed)
IN_PLACE = ("verified", "claimed")
FILE_TYPES = {"pdf": "PDF", "ofd": "OFD"}


def _opened(cls):
    """SQL: the guarantee is not ciphered, or its project has passed bid opening."""
    prj = Project.__table__
    return or_(cls.ciphered.is_(False), cls.project_id.in_(
        select(prj.c.id).where(or_(
            prj.c.status.in_(OPENED_STATES),
            prj.c.status.in_(("terminated", "failed")) & prj.c.opening_date.is_not(None),
        )).correlate(None)))


class Guarantee(RegionScoped, Model):
    """电子保函: one guarantee of a bid deposit (per supplier and package) or a performance
    deposit (per contract), in the region of its project."""

    __tablename__ = "scf_guarantee"
    __table_args__ = (UniqueConstraint("request_number", name="uq_scf_guarantee_request"),
                      UniqueConstraint("issuer_id", "number", name="uq_scf_guarantee_number"))
    __record_rules__ = {
        "supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
        "bank": lambda cls, scope: cls.issuer_id == scope.org_id,
        OWN_RULE: lambda cls, scope: cls.project_id.in_(own_projects(scope)),
    }
    __secret_until__ = SecretUntil(
        moment="开标（密文保函）",
        source="《政府采购货物和服务招标投标管理办法》（财政部令第87号）；发改法规〔2023〕27号",
        opened=lambda cls: _opened(cls),
        known_to={"supplier": lambda cls, scope: cls.supplier_id == scope.org_id,
                  "bank": lambda cls, scope: cls.issuer_id == scope.org_id},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the platform's request number (BH-...)
    request_number: Mapped[str] = mapped_column(String(40), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False, index=True)
    package_id: Mapped[int | None] = mapped_column(ForeignKey("pb_package.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("pb_contract.id"), index=True)
    #: the applicant (申请人)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: the issuer (出函机构: bank, insurer, guarantee company), chosen by the supplier
    issuer_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: the beneficiary (受益人): the project's agency, else its purchaser
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("erp_organization.id"), nullable=False, index=True)
    #: the amount the supplier asks for (the deposit the tender documents require)
    requested_amount: Mapped[Decimal] = mapped_column(Money(), nullable=False)
    #: 密文保函: the applicant is hidden from purchaser and agency until bid opening
    ciphered: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="requested", index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    # -- issued by the institution
    number: Mapped[str | None] = mapped_column(String(64))
    amount: Mapped[Decimal | None] = mapped_column(Money())
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    file_name: Mapped[str | None] = mapped_column(String(200))
    #: SHA-256 of the guarantee file (hex), as the issuer declared it and the platform checked
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    #: SM3 (GB/T 32905) of the same file, computed by the platform when it received the file
    file_sm3: Mapped[str | None] = mapped_column(String(64))
    #: salted SHA-256 of the verification code (验真码); the code itself is never stored
    code_salt: Mapped[str | None] = mapped_column(String(32))
    code_digest: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    # -- verified by the beneficiary
    required_amount: Mapped[Decimal | None] = mapped_column(Money())
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    verified_by: Mapped[str | None] = mapped_column(String(128))
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("dl_deposit.id"), unique=True)
    # -- claim (索赔)
    claim_reason_id: Mapped[int | None] = mapped_column(ForeignKey("dl_forfeit_reason.id"))
    claim_note: Mapped[str | None] = mapped_column(Text)
    claimed_on: Mapped[dt.date | None] = mapped_column(Date)
    claim_paid_amount: Mapped[Decimal | None] = mapped_column(Money())
    claim_paid_on: Mapped[dt.date | None] = mapped_column(Date)
    claim_reference: Mapped[str | None] = mapped_column(String(100))
    released_on: Mapped[dt.date | None] = mapped_column(Date)

    project: Mapped[Project] = relationship()
    package: Mapped[Package | None] = relationship()
    contract: Mapped[Contract | None] = relationship()
    supplier: Mapped[Organization] = relationship(foreign_keys=[supplier_id])
    issuer: Mapped[Organization] = relationship(foreign_keys=[issuer_id])
    beneficiary: Mapped[Organization] = relationship(foreign_keys=[beneficiary_id])
    deposit: Mapped[Deposit | None] = relationship()

    def __repr__(self) -> str:
        return self.number or self.request_number

    __str__ = __repr__
