"""Tables of ``emall_livestock``. The pavilion's catalog lives in emall's ``emall_category``
(rows with ``pavilion = "livestock"``, seeded by ``data/emall_category_livestock.yaml``);
this module only adds the list of livestock-system purchasers steered to the pavilion.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Model
from core.models import Organization

#: the value of ``emall_category.pavilion`` that marks the livestock pavilion
PAVILION = "livestock"


class LivestockPurchaser(Model):
    """畜牧系统采购单位: a livestock competent unit (畜牧兽医主管部门) or purchaser whose users
    are steered to the livestock pavilion when they open the e-mall. With
    ``include_subordinates`` the units below it (``erp_organization.parent_id`` chain) are
    steered too. Platform-wide list (not region-scoped): writes are limited by the service
    to units in the writer's regions."""

    __tablename__ = "emall_livestock_purchaser"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("erp_organization.id", name="fk_emall_livestock_purchaser_org"),
        nullable=False, unique=True,
    )
    include_subordinates: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime, server_default=func.now())

    organization: Mapped[Organization] = relationship()

    def __repr__(self) -> str:
        return self.organization.name if self.organization is not None else str(self.id)

    __str__ = __repr__
