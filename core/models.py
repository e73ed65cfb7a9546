"""Core tables of the add-on system."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

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
