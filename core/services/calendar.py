"""Working-day calendar (工作日历) for procurement deadlines.

Pure Python: no Flask, no database. The platform loads the admin-maintained
holiday table from the database and passes it in as plain data.

Rules
-----
* Periods counted in days follow PRC Civil Code art. 201 (《民法典》第二百零一条):
  the day of the event is **not** counted; counting starts on the next day.
  "Within 5 working days of X" therefore ends on the 5th working day *after* X.
* A working day is decided, in order of precedence, by

  1. the admin override table (``overrides``: date -> True working / False day off);
  2. the ``chinesecalendar`` package (official holidays and 调休 make-up working
     days) for the years it covers, when ``use_package`` is true;
  3. the weekday rule (Mon-Fri work, Sat/Sun off) for years listed in
     ``override_years`` that the package does not cover.

* A date whose year is covered by neither the package nor ``override_years``
  raises :class:`CalendarNotCovered`; the calendar never guesses.

Performance
-----------
Per-year tables (a prefix count of working days and the ordinals of the
working days) are built lazily on first use and cached on the calendar
instance. With them :meth:`WorkdayCalendar.add_working_days` and
:meth:`WorkdayCalendar.working_days_between` cost O(1) per calendar year
spanned (constant for any realistic procurement period) instead of a
day-by-day loop. Instances are immutable after construction and safe to share
between threads (a racing first use of a year builds the same table twice,
which is harmless).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime

import chinese_calendar

__all__ = [
    "PACKAGE_YEARS",
    "CalendarNotCovered",
    "WorkdayCalendar",
    "add_working_days",
    "default_calendar",
    "is_working_day",
    "working_days_between",
]

# chinese_calendar.utils._validate_date accepts exactly the years between the
# first and the last date of its ``holidays`` table (1.11.0: 2004..2026) and
# raises NotImplementedError otherwise. We read the same bounds once here
# instead of calling (and catching) the package per date.
_PKG_HOLIDAYS: frozenset[date] = frozenset(chinese_calendar.holidays)
_PKG_WORKDAYS: frozenset[date] = frozenset(chinese_calendar.workdays)
PACKAGE_YEARS: range = range(min(_PKG_HOLIDAYS).year, max(_PKG_HOLIDAYS).year + 1)
"""Years covered by the installed ``chinesecalendar`` package (1.11.0: 2004-2026)."""


def _format_years(years: Iterable[int]) -> str:
    """Render years compactly, e.g. ``2004-2026, 2030``; ``none`` when empty."""
    runs: list[list[int]] = []
    for y in sorted(set(years)):
        if runs and y == runs[-1][1] + 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    if not runs:
        return "none"
    return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in runs)


class CalendarNotCovered(ValueError):
    """A date falls in a year for which no holiday arrangement is known.

    Attributes:
        date: the uncovered date.
        year: its year.
        covered_years: the years the calendar does cover (sorted tuple).
    """

    def __init__(self, d: date, covered_years: Iterable[int] = ()) -> None:
        self.date: date = d
        self.year: int = d.year
        self.covered_years: tuple[int, ...] = tuple(sorted(set(covered_years)))
        super().__init__(
            f"{d.isoformat()} 不在工作日历覆盖范围内（年份 {d.year} 未维护节假日表）"
            f"/ date not covered by the working-day calendar "
            f"(no holiday table for year {d.year}; covered years: "
            f"{_format_years(self.covered_years)})"
        )

    def __reduce__(self):  # keep the exception picklable (multiprocessing, task queues)
        return (type(self), (self.date, self.covered_years))


@dataclass(frozen=True, slots=True)
class _YearTable:
    """Precomputed working-day data for one calendar year.

    ``cum[i]`` is the number of working days among the first ``i`` days of the
    year (``cum[0] == 0``, ``cum[-1] == total``); ``ords`` holds the ordinals
    (``date.toordinal()``) of the working days in increasing order.
    """

    first_ordinal: int
    cum: tuple[int, ...]
    ords: tuple[int, ...]

    @property
    def total(self) -> int:
        return len(self.ords)


def _as_date(d: date) -> date:
    """Normalise a ``datetime`` to its ``date``; reject anything else."""
    if isinstance(d, datetime):
        return d.date()
    if not isinstance(d, date):
        raise TypeError(f"expected datetime.date, got {type(d).__name__}")
    return d


def _as_int(n: int) -> int:
    if isinstance(n, bool):
        raise TypeError("n must be an int, not bool")
    return operator.index(n)


class WorkdayCalendar:
    """Working-day calendar combining ``chinesecalendar`` with an admin table.

    Args:
        overrides: admin-maintained exceptions, ``date -> bool`` (True = working
            day, False = day off). They take precedence over the package and
            the weekday rule for any date. ``datetime`` keys are reduced to
            their date. An override alone does **not** make its year covered:
            list the year in ``override_years`` once its full arrangement has
            been entered.
        override_years: years whose full holiday arrangement the admin has
            entered. Such a year is covered even if the package does not know
            it; there a date without an override follows the weekday rule
            (Mon-Fri work, Sat/Sun off). For a year the package also covers,
            the package remains the baseline (overrides still win).
        use_package: consult ``chinesecalendar`` (default). With False only
            ``override_years`` are covered.

    Instances are immutable; per-year tables are built lazily and cached.
    """

    __slots__ = ("_covered", "_overrides", "_package_years", "_tables")

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        override_years: Iterable[int] = (),
        use_package: bool = True,
    ) -> None:
        normalised: dict[date, bool] = {}
        for key, value in (overrides or {}).items():
            if not isinstance(value, bool):
                raise TypeError(
                    f"override for {key!r} must be bool (True = working day, "
                    f"False = day off), got {type(value).__name__}"
                )
            normalised[_as_date(key)] = value
        self._overrides: dict[date, bool] = normalised
        self._package_years: frozenset[int] = (
            frozenset(PACKAGE_YEARS) if use_package else frozenset()
        )
        admin_years = frozenset(_as_int(y) for y in override_years)
        bad = sorted(y for y in admin_years if not MINYEAR <= y <= MAXYEAR)
        if bad:
            raise ValueError(f"override_years out of range: {bad}")
        self._covered: frozenset[int] = self._package_years | admin_years
        self._tables: dict[int, _YearTable] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(covered_years={_format_years(self._covered)!r}, "
            f"overrides={len(self._overrides)})"
        )

    # -- coverage -----------------------------------------------------------

    def covered_years(self) -> frozenset[int]:
        """Years for which every date can be classified."""
        return self._covered

    def is_covered(self, d: date) -> bool:
        """Whether ``d``'s year is covered (never raises for a date)."""
        return _as_date(d).year in self._covered

    def ensure_covered(self, d: date) -> date:
        """Return ``d`` (as a ``date``) or raise :class:`CalendarNotCovered`."""
        d = _as_date(d)
        if d.year not in self._covered:
            raise CalendarNotCovered(d, self._covered)
        return d

    # -- per-year tables ----------------------------------------------------

    def _raw_is_working(self, d: date) -> bool:
        """Classify a date of a covered year (no coverage check)."""
        override = self._overrides.get(d)
        if override is not None:
            return override
        if d.year in self._package_years:
            # Same rule as chinese_calendar.is_workday, without its per-call
            # range validation.
            return d in _PKG_WORKDAYS or (d.weekday() < 5 and d not in _PKG_HOLIDAYS)
        return d.weekday() < 5

    def _table(self, year: int, probe: date | None = None) -> _YearTable:
        """The cached table for ``year``; raise if the year is not covered.

        ``probe`` is the date named in the error (defaults to 1 January).
        """
        table = self._tables.get(year)
        if table is not None:
            return table
        if not MINYEAR <= year <= MAXYEAR:
            raise OverflowError("date value out of range")
        if year not in self._covered:
            raise CalendarNotCovered(probe or date(year, 1, 1), self._covered)
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        cum = [0]
        ords: list[int] = []
        for o in range(first, last + 1):
            if self._raw_is_working(date.fromordinal(o)):
                ords.append(o)
            cum.append(len(ords))
        table = _YearTable(first, tuple(cum), tuple(ords))
        self._tables[year] = table
        return table

    # -- queries -------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` is a working day (including 调休 make-up days).

        Raises:
            CalendarNotCovered: ``d``'s year is not covered.
        """
        d = self.ensure_covered(d)
        return self._raw_is_working(d)

    def add_working_days(self, d: date, n: int) -> date:
        """The date ``n`` working days after ``d`` (Civil Code art. 201).

        * ``n == 0``: ``d`` unchanged (even if it is not a working day).
        * ``n > 0``: ``d`` itself is never counted; counting starts the next
          day, and the result is the ``n``-th working day strictly after ``d``.
          "Within 5 working days of X" ends on ``add_working_days(X, 5)``.
        * ``n < 0``: the mirror image: ``d`` is not counted, counting goes
          backwards from the previous day, and the result is the ``|n|``-th
          working day strictly before ``d`` ("at least |n| working days
          before X"). Consequently, when ``d`` is a working day,
          ``add_working_days(add_working_days(d, n), -n) == d`` for any ``n``.

        The result is always a working day when ``n != 0``.

        Raises:
            CalendarNotCovered: ``d`` or any year the count passes through is
                not covered.
        """
        d = self.ensure_covered(d)
        n = _as_int(n)
        if n == 0:
            return d
        year = d.year
        table = self._table(year, d)
        idx = d.toordinal() - table.first_ordinal
        if n > 0:
            k = table.cum[idx + 1]  # working days up to and including d
            remaining = n
            while k + remaining > table.total:
                remaining -= table.total - k
                year += 1
                table = self._table(year)
                k = 0
            return date.fromordinal(table.ords[k + remaining - 1])
        j = table.cum[idx]  # working days strictly before d in its year
        remaining = -n
        while j < remaining:
            remaining -= j
            year -= 1
            table = self._table(year, date(year, 12, 31))
            j = table.total
        return date.fromordinal(table.ords[j - remaining])

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in the half-open interval ``(a, b]``, signed.

        For ``a <= b`` this is the number of working days after ``a`` up to and
        including ``b`` (``a`` excluded per art. 201, ``b`` included); for
        ``a > b`` it is minus the count for ``(b, a]``. Hence
        ``working_days_between(a, a) == 0``, the function is antisymmetric and
        additive (``between(a, b) + between(b, c) == between(a, c)``), and
        ``working_days_between(d, add_working_days(d, n)) == n`` for ``n >= 0``.

        Raises:
            CalendarNotCovered: ``a``, ``b`` or a year between them is not
                covered.
        """
        a = self.ensure_covered(a)
        b = self.ensure_covered(b)
        if a > b:
            return -self.working_days_between(b, a)
        ta = self._table(a.year, a)
        ia = ta.cum[a.toordinal() - ta.first_ordinal + 1]
        if a.year == b.year:
            return ta.cum[b.toordinal() - ta.first_ordinal + 1] - ia
        total = ta.total - ia
        for year in range(a.year + 1, b.year):
            total += self._table(year).total
        tb = self._table(b.year, b)
        return total + tb.cum[b.toordinal() - tb.first_ordinal + 1]


_DEFAULT_CALENDAR = WorkdayCalendar()


def default_calendar() -> WorkdayCalendar:
    """The shared package-only calendar (no admin overrides)."""
    return _DEFAULT_CALENDAR


def is_working_day(d: date, calendar: WorkdayCalendar | None = None) -> bool:
    """:meth:`WorkdayCalendar.is_working_day` on ``calendar`` or the default one."""
    return (_DEFAULT_CALENDAR if calendar is None else calendar).is_working_day(d)


def add_working_days(d: date, n: int, calendar: WorkdayCalendar | None = None) -> date:
    """:meth:`WorkdayCalendar.add_working_days` on ``calendar`` or the default one."""
    return (_DEFAULT_CALENDAR if calendar is None else calendar).add_working_days(d, n)


def working_days_between(a: date, b: date, calendar: WorkdayCalendar | None = None) -> int:
    """:meth:`WorkdayCalendar.working_days_between` on ``calendar`` or the default one."""
    return (_DEFAULT_CALENDAR if calendar is None else calendar).working_days_between(a, b)
