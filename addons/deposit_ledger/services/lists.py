"""The due today / due soon / overdue lists and small helpers of the pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.services import (
    today,
)
from core.services import settings, workdays
from core.services.calendar import CalendarNotCovered

from ..models import (
    ENTRY_KINDS,
    Deposit,
)


# -- lists -------------------------------------------------------------------------------------------
def due_window(session: Session, region_id: int | None = None, on: dt.date | None = None
               ) -> tuple[dt.date, dt.date]:
    on = on or today()
    n = settings.get("deposit.due_soon_days", region_id=region_id, session=session)
    try:
        return on, workdays.add_working_days(on, n, session)
    except CalendarNotCovered:
        return on, on + dt.timedelta(days=n)


def due_query(which: str, on: dt.date, soon_until: dt.date):
    """Held deposits due today / soon / overdue (a select of Deposit, scoped as usual)."""
    stmt = select(Deposit).where(Deposit.status == "held", Deposit.due_date.is_not(None))
    if which == "today":
        stmt = stmt.where(Deposit.due_date == on)
    elif which == "soon":
        stmt = stmt.where(Deposit.due_date > on, Deposit.due_date <= soon_until)
    elif which == "overdue":
        stmt = stmt.where(Deposit.due_date < on)
    else:
        raise ValueError(which)
    return stmt.order_by(Deposit.due_date, Deposit.id)

def entry_label(kind: str) -> str:
    return ENTRY_KINDS.get(kind, kind)


def ids(values: Iterable[Any]) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]
