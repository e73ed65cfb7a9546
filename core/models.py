"""Core tables of the add-on system."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Model


class ModuleRecord(Model):
    """One row per add-on the platform has ever installed (platform level)."""

    __tablename__ = "erp_module"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: "installed" or "uninstalled"; "to_upgrade" is computed, never stored.
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="uninstalled")
    installed_version: Mapped[str | None] = mapped_column(String(32))
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    installed_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.now())


class ModelData(Model):
    """External ids (``module.name``) of records shipped by add-ons' data and demo files."""

    __tablename__ = "erp_model_data"
    __table_args__ = (UniqueConstraint("module", "name", name="uq_erp_model_data_xmlid"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    module: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    table_name: Mapped[str] = mapped_column(String(64), nullable=False)
    res_id: Mapped[int] = mapped_column(Integer, nullable=False)
    #: Records marked no-update are never touched again by an upgrade.
    noupdate: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    demo: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ModuleGrant(Model):
    """A permission a module's manifest granted to a role (so stale grants can be removed)."""

    __tablename__ = "erp_module_grant"
    __table_args__ = (
        UniqueConstraint("module", "role", "permission", "view_menu", name="uq_erp_module_grant"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    module: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(64), nullable=False)
    permission: Mapped[str] = mapped_column(String(100), nullable=False)
    view_menu: Mapped[str] = mapped_column(String(250), nullable=False)


class Signal(Model):
    """Version counters: workers compare them to refresh their caches (cf. Odoo signaling)."""

    __tablename__ = "erp_signal"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


# -- tenancy ----------------------------------------------------------------------------
class Region(Model):
    """An administrative region on the GB/T 2260 codes (province, prefecture, county)."""

    __tablename__ = "erp_region"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    short_name: Mapped[str | None] = mapped_column(String(32))
    #: province / prefecture / county / zone
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("erp_region.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    parent: Mapped[Region | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return f"{self.name}（{self.code}）"

    __str__ = __repr__


ORG_TYPES = {
    "finance": "财政部门",
    "purchaser": "采购人",
    "competent_unit": "主管预算单位",
    "central_procurement": "集中采购机构",
    "agency": "采购代理机构",
    "supplier": "供应商",
    "bank": "银行",
    "insurer": "保险机构",
    "expert_body": "评审专家",
}
SUPPLIER_SIZES = {"large": "大型", "medium": "中型", "small": "小型", "micro": "微型"}


class Organization(Model):
    """An organisation: its type decides which roles its users may hold."""

    __tablename__ = "erp_organization"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    #: unified social credit code (GB 32100-2015), unique when present
    credit_code: Mapped[str | None] = mapped_column(String(18), unique=True)
    org_type: Mapped[str] = mapped_column(String(32), nullable=False)
    region_id: Mapped[int] = mapped_column(ForeignKey("erp_region.id"), nullable=False, index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"))
    size: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(255))
    contact: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    region: Mapped[Region] = relationship()
    parent: Mapped[Organization | None] = relationship(remote_side=[id])

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


class RegionModule(Model):
    """A module switched on (enabled) or explicitly off (enabled=False) for a region."""

    __tablename__ = "erp_region_module"
    __table_args__ = (UniqueConstraint("region_id", "module", name="uq_erp_region_module"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("erp_region.id"), nullable=False)
    module: Mapped[str] = mapped_column(String(64), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    changed_at: Mapped[datetime | None] = mapped_column(DateTime, server_default=func.now())
    changed_by: Mapped[str | None] = mapped_column(String(128))


# -- shared services: audit log, settings, holiday table --------------------------------
class AuditLog(Model):
    """One audited event (append-only: the database refuses UPDATE and DELETE).

    ``before`` / ``after`` are JSON text (Decimal and dates as strings, never float);
    ``at`` is UTC (naive). Written only through :func:`core.services.audit.record`.
    """

    __tablename__ = "erp_audit_log"
    __table_args__ = (
        Index("ix_erp_audit_log_at", "at"),
        Index("ix_erp_audit_log_object", "object_type", "object_id"),
        Index("ix_erp_audit_log_region_id", "region_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    #: username, or "system" / "cli"
    actor: Mapped[str] = mapped_column(String(128), nullable=False)
    #: ab_user.id when a user acted (no foreign key: the log outlives users)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    #: NULL for platform-wide events
    region_id: Mapped[int | None] = mapped_column(
        ForeignKey("erp_region.id", name="fk_erp_audit_log_region_id")
    )
    module: Mapped[str | None] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64), nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)

    region: Mapped[Region | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"{self.action} {self.object_type}:{self.object_id}"

    __str__ = __repr__


class SettingValue(Model):
    """A declared setting's value for a region (``region_id`` NULL: platform-wide)."""

    __tablename__ = "erp_setting_value"
    __table_args__ = (
        UniqueConstraint("key", "region_id", name="uq_erp_setting_value_key_region"),
        # NULLs are distinct in a unique constraint: one platform-wide row per key
        Index(
            "uq_erp_setting_value_platform_key",
            "key",
            unique=True,
            sqlite_where=text("region_id IS NULL"),
            postgresql_where=text("region_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    region_id: Mapped[int | None] = mapped_column(
        ForeignKey("erp_region.id", name="fk_erp_setting_value_region_id")
    )
    #: JSON-encoded (decimals and dates as strings)
    value: Mapped[str] = mapped_column(Text, nullable=False)
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    changed_by: Mapped[str | None] = mapped_column(String(128))

    region: Mapped[Region | None] = relationship()


class HolidayOverride(Model):
    """An admin-entered day: a holiday (False) or a make-up working day (True)."""

    __tablename__ = "erp_holiday"
    __table_args__ = (UniqueConstraint("day", name="uq_erp_holiday_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    is_working_day: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    note: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"{self.day.isoformat()} {'工作日' if self.is_working_day else '休息日'}"

    __str__ = __repr__


class HolidayYear(Model):
    """A year whose holiday arrangement the admin has entered completely (now covered)."""

    __tablename__ = "erp_holiday_year"
    __table_args__ = (UniqueConstraint("year", name="uq_erp_holiday_year_year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    note: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return str(self.year)

    __str__ = __repr__


# -- the job runner (core.worker) -------------------------------------------------------------
class JobState(Model):
    """One row per periodic job (``core.jobs``): its run lock and what its last run did.

    The lock is a lease: ``run_token`` / ``locked_until`` are set by the run that holds it
    and cleared when it ends; a lease that ran out (a worker killed mid-run) is taken over.
    Times are UTC (naive). Written only by :mod:`core.worker`, on its own connection.
    """

    __tablename__ = "erp_job"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    module: Mapped[str] = mapped_column(String(64), nullable=False)
    run_token: Mapped[str | None] = mapped_column(String(40))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    #: when the run that holds the lock started (NULL: not running)
    running_since: Mapped[datetime | None] = mapped_column(DateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: "ok" or "failed" (shown in words by core.worker.STATUS_LABELS)
    last_status: Mapped[str | None] = mapped_column(String(16))
    #: what the job function returned (how many things it did)
    last_result: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_duration_ms: Mapped[int | None] = mapped_column(Integer)
    #: "schedule" (the worker), "manual" (erp jobs run, the admin page)
    last_trigger: Mapped[str | None] = mapped_column(String(16))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: failed runs in a row (0 after a success)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    runs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


# -- idempotency keys of API writes (core.api.idempotency) ----------------------------------------
class IdempotencyKey(Model):
    """A write of the API made with an ``Idempotency-Key`` header and the response it got: a
    retried request with the same key gets the stored response and never writes twice.

    Keys are per caller: ``owner`` is ``org:<id>`` (the caller's organisation) or
    ``user:<id>`` (a user without one). Written in the transaction of the write itself.
    """

    __tablename__ = "erp_idempotency"
    __table_args__ = (UniqueConstraint("owner", "key", name="uq_erp_idempotency"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(40), nullable=False)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"))
    user_id: Mapped[int | None] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)
    path: Mapped[str] = mapped_column(String(300), nullable=False)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    #: 0 while the write runs (the key is claimed first: a concurrent twin waits on it)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
