"""The platform's working-day calendar: ``chinesecalendar`` plus the admin's holiday table.

:mod:`core.services.calendar` is pure Python; this module builds its
:class:`~core.services.calendar.WorkdayCalendar` from the tables the platform admin
maintains (平台管理 → 节假日维护):

* ``erp_holiday``: single days, a holiday (``is_working_day`` false) or a make-up working
  day (true); they win over the package for any date;
* ``erp_holiday_year``: years whose arrangement the admin has entered completely; they
  are covered from then on (days not in ``erp_holiday`` follow Mon-Fri).

::

    from core.services import workdays

    deadline = workdays.add_working_days(award_date, 5)   # Civil Code art. 201
    workdays.is_working_day(day)
    workdays.working_days_between(a, b)

A date in a year neither the package nor the table covers raises
:class:`~core.services.calendar.CalendarNotCovered`; the platform never guesses.

Cache: each worker keeps one calendar, keyed by the database and the ``modules`` counter
of ``erp_signal`` (which every worker already polls). Whoever changes the tables calls
:func:`changed` after committing (the admin pages do): it bumps that counter, so every
worker rebuilds its calendar within ``ERP_STATE_POLL_SECONDS``. The tables are always
read on a connection of their own, so an uncommitted change is never cached.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from core.models import HolidayOverride, HolidayYear, Signal
from core.services.calendar import CalendarNotCovered, WorkdayCalendar

__all__ = [
    "CalendarNotCovered",
    "add_working_days",
    "changed",
    "invalidate",
    "is_working_day",
    "load_calendar",
    "platform_calendar",
    "working_days_between",
]

HOL = HolidayOverride.__table__
YEAR = HolidayYear.__table__
SIG = Signal.__table__
SIGNAL = "modules"

_lock = threading.Lock()
_cached: tuple[Any, WorkdayCalendar] | None = None


def load_calendar(session_or_conn: Session | Connection) -> WorkdayCalendar:
    """A calendar built from the tables now (no cache)."""
    overrides = {
        r.day: bool(r.is_working_day)
        for r in session_or_conn.execute(select(HOL.c.day, HOL.c.is_working_day))
    }
    years = [y for (y,) in session_or_conn.execute(select(YEAR.c.year))]
    return WorkdayCalendar(overrides=overrides, override_years=years)


def invalidate() -> None:
    """Drop this worker's calendar (the next call rebuilds it)."""
    global _cached
    with _lock:
        _cached = None


def changed(session_or_conn: Session | Connection) -> None:
    """Tell every worker the tables changed: bump the counter (after the commit, for a
    session; inside the caller's transaction, for a connection) and drop our calendar."""
    from core.signals import bump

    bump(SIGNAL, session_or_conn)
    invalidate()


def _engine_of(session_or_conn: Session | Connection) -> Engine:
    # a Session or a scoped_session (db.session) has get_bind(); a Connection has .engine
    get_bind = getattr(session_or_conn, "get_bind", None)
    bind = get_bind() if get_bind is not None else session_or_conn
    return bind.engine if isinstance(bind, Connection) else bind


def platform_calendar(session_or_conn: Session | Connection | None = None) -> WorkdayCalendar:
    """The platform's calendar (cached per worker, rebuilt when the counter moves).

    Without an argument it needs the app context (it uses the worker's polled counter and
    the app's engine); with a session or connection it uses that one's engine. Either way
    the tables are read on a connection of its own, so only committed rows are cached.
    """
    global _cached
    version: Any = None
    if session_or_conn is None:
        from flask import current_app

        state = current_app.extensions["erp"]
        state.cache.refresh()
        engine = state.cache.engine_getter()
        version = state.cache.version
    else:
        engine = _engine_of(session_or_conn)
    url = str(engine.url)
    cached = _cached
    if version is not None and cached is not None and cached[0] == (url, version):
        return cached[1]
    with engine.connect() as conn:
        if version is None:
            version = conn.execute(select(SIG.c.value).where(SIG.c.name == SIGNAL)).scalar()
            if cached is not None and cached[0] == (url, version):
                return cached[1]
        cal = load_calendar(conn)
    if version is not None:
        with _lock:
            _cached = ((url, version), cal)
    return cal


def is_working_day(d: date, session_or_conn: Session | Connection | None = None) -> bool:
    """Whether ``d`` is a working day on the platform's calendar."""
    return platform_calendar(session_or_conn).is_working_day(d)


def add_working_days(d: date, n: int,
                     session_or_conn: Session | Connection | None = None) -> date:
    """The ``n``-th working day after ``d`` (``d`` itself not counted, Civil Code art. 201)."""
    return platform_calendar(session_or_conn).add_working_days(d, n)


def working_days_between(a: date, b: date,
                         session_or_conn: Session | Connection | None = None) -> int:
    """Working days in ``(a, b]`` (signed) on the platform's calendar."""
    return platform_calendar(session_or_conn).working_days_between(a, b)
