"""Tests for core.services.calendar (working-day calendar, Civil Code art. 201)."""

from __future__ import annotations

import pickle
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.services.calendar import (
    PACKAGE_YEARS,
    CalendarNotCovered,
    WorkdayCalendar,
    add_working_days,
    default_calendar,
    is_working_day,
    working_days_between,
)

D = date.fromisoformat

# Dates from which 400 working days forward stay inside the package coverage.
FORWARD_SAFE = st.dates(min_value=date(2004, 1, 1), max_value=date(2024, 12, 31))
# Dates from which 400 working days backward stay inside the package coverage.
BACKWARD_SAFE = st.dates(min_value=date(2006, 1, 1), max_value=date(2026, 12, 31))
ANY_COVERED = st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31))
PROPS = settings(max_examples=200, deadline=None)


def naive_add(d: date, n: int) -> date:
    """Day-by-day reference straight on chinese_calendar (n >= 0)."""
    while n > 0:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d):
            n -= 1
    return d


# -- the official arrangements the tests rely on, checked against the package --

OFFICIAL_WORKING = [
    "2024-09-29",  # Sunday, make-up for National Day 2024
    "2024-10-12",  # Saturday, make-up for National Day 2024
    "2024-09-30",
    "2024-10-08",
    "2025-01-26",  # Sunday, make-up for Spring Festival 2025
    "2025-02-08",  # Saturday, make-up for Spring Festival 2025
    "2025-01-27",
    "2025-02-05",
]
OFFICIAL_OFF = [
    *(f"2024-10-0{i}" for i in range(1, 8)),  # National Day 2024: Oct 1-7
    "2024-09-28",  # ordinary Saturday
    *(f"2025-01-{i}" for i in range(28, 32)),  # Spring Festival 2025: Jan 28 - Feb 4
    *(f"2025-02-0{i}" for i in range(1, 5)),
]


@pytest.mark.parametrize("iso", OFFICIAL_WORKING)
def test_official_working_days_match_package(iso: str) -> None:
    assert chinese_calendar.is_workday(D(iso))
    assert is_working_day(D(iso))


@pytest.mark.parametrize("iso", OFFICIAL_OFF)
def test_official_days_off_match_package(iso: str) -> None:
    assert not chinese_calendar.is_workday(D(iso))
    assert not is_working_day(D(iso))


def test_every_package_day_agrees_with_chinese_calendar() -> None:
    d, end = date(PACKAGE_YEARS.start, 1, 1), date(PACKAGE_YEARS.stop - 1, 12, 31)
    while d <= end:
        assert is_working_day(d) == chinese_calendar.is_workday(d), d
        d += timedelta(days=1)


# -- coverage -------------------------------------------------------------------


def test_package_years_match_chinese_calendar_1_11() -> None:
    assert chinese_calendar.__version__ == "1.11.0"
    assert PACKAGE_YEARS == range(2004, 2027)
    assert default_calendar().covered_years() == frozenset(range(2004, 2027))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2003, 12, 31))


@pytest.mark.parametrize("iso", ["2031-05-01", "2003-12-31", "2027-01-04"])
def test_uncovered_date_raises_with_date_in_message(iso: str) -> None:
    with pytest.raises(CalendarNotCovered) as exc_info:
        is_working_day(D(iso))
    err = exc_info.value
    assert isinstance(err, ValueError)
    assert err.date == D(iso)
    assert err.year == D(iso).year
    msg = str(err)
    assert iso in msg
    assert f"年份 {D(iso).year} 未维护节假日表" in msg
    assert "不在工作日历覆盖范围内" in msg
    assert "date not covered by the working-day calendar" in msg
    assert "2004-2026" in msg


def test_message_format_from_brief() -> None:
    msg = str(CalendarNotCovered(date(2031, 5, 1)))
    assert msg.startswith(
        "2031-05-01 不在工作日历覆盖范围内（年份 2031 未维护节假日表）"
        "/ date not covered by the working-day calendar"
    )


def test_exception_is_picklable() -> None:
    err = CalendarNotCovered(date(2031, 5, 1), {2004, 2005, 2030})
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is CalendarNotCovered
    assert clone.date == err.date and str(clone) == str(err)
    assert "2004-2005, 2030" in str(clone)


def test_counting_out_of_coverage_raises() -> None:
    with pytest.raises(CalendarNotCovered) as exc_info:
        add_working_days(date(2026, 12, 31), 1)
    assert exc_info.value.year == 2027
    with pytest.raises(CalendarNotCovered) as exc_info:
        add_working_days(date(2004, 1, 2), -1)
    assert exc_info.value.date == date(2003, 12, 31)
    with pytest.raises(CalendarNotCovered):
        working_days_between(date(2026, 12, 1), date(2027, 1, 10))
    with pytest.raises(CalendarNotCovered):
        add_working_days(date(2031, 5, 1), 0)


def test_gap_between_covered_years_raises() -> None:
    cal = WorkdayCalendar(override_years=[2030])
    assert cal.is_working_day(date(2030, 1, 2))
    with pytest.raises(CalendarNotCovered) as exc_info:
        cal.add_working_days(date(2026, 12, 31), 300)
    assert exc_info.value.date == date(2027, 1, 1)
    with pytest.raises(CalendarNotCovered) as exc_info:
        cal.working_days_between(date(2026, 6, 1), date(2030, 6, 1))
    assert exc_info.value.year == 2027
    with pytest.raises(CalendarNotCovered) as exc_info:
        cal.add_working_days(date(2030, 1, 2), -5)
    assert exc_info.value.date == date(2029, 12, 31)


def test_override_alone_does_not_cover_its_year() -> None:
    cal = WorkdayCalendar(overrides={date(2027, 1, 1): False})
    with pytest.raises(CalendarNotCovered):
        cal.is_working_day(date(2027, 1, 1))
    assert 2027 not in cal.covered_years()


def test_use_package_false_covers_only_override_years() -> None:
    cal = WorkdayCalendar(override_years=[2024], use_package=False)
    assert cal.covered_years() == frozenset({2024})
    assert cal.is_working_day(date(2024, 10, 1))  # a Tuesday; weekday rule only
    assert not cal.is_working_day(date(2024, 9, 29))  # Sunday; make-up day unknown
    with pytest.raises(CalendarNotCovered):
        cal.is_working_day(date(2025, 1, 2))


# -- Civil Code art. 201 and the official arrangements ------------------------


def test_event_day_is_not_counted() -> None:
    assert D("2024-03-04").weekday() == 0  # Monday
    assert add_working_days(D("2024-03-04"), 1) == D("2024-03-05")  # Tuesday


def test_five_working_days_over_a_normal_week() -> None:
    assert add_working_days(D("2024-03-04"), 5) == D("2024-03-11")  # Mon -> next Mon
    assert add_working_days(D("2024-03-08"), 5) == D("2024-03-15")  # Fri -> next Fri
    assert add_working_days(D("2024-03-09"), 5) == D("2024-03-15")  # Sat event
    assert working_days_between(D("2024-03-04"), D("2024-03-11")) == 5


def test_zero_returns_date_unchanged_even_on_a_day_off() -> None:
    assert add_working_days(D("2024-03-09"), 0) == D("2024-03-09")  # Saturday
    assert add_working_days(D("2024-10-03"), 0) == D("2024-10-03")  # holiday


def test_national_day_2024() -> None:
    assert add_working_days(D("2024-09-30"), 1) == D("2024-10-08")
    assert add_working_days(D("2024-09-27"), 1) == D("2024-09-29")  # make-up Sunday
    assert add_working_days(D("2024-09-27"), 2) == D("2024-09-30")
    assert add_working_days(D("2024-09-27"), 3) == D("2024-10-08")
    assert add_working_days(D("2024-10-03"), 1) == D("2024-10-08")  # event in the holiday
    assert add_working_days(D("2024-10-11"), 1) == D("2024-10-12")  # make-up Saturday
    assert add_working_days(D("2024-09-30"), 5) == D("2024-10-12")
    assert working_days_between(D("2024-09-30"), D("2024-10-07")) == 0
    assert working_days_between(D("2024-09-27"), D("2024-10-08")) == 3


def test_spring_festival_2025() -> None:
    assert add_working_days(D("2025-01-24"), 1) == D("2025-01-26")  # make-up Sunday
    assert add_working_days(D("2025-01-26"), 1) == D("2025-01-27")
    assert add_working_days(D("2025-01-27"), 1) == D("2025-02-05")
    assert add_working_days(D("2025-02-07"), 1) == D("2025-02-08")  # make-up Saturday
    assert add_working_days(D("2025-01-24"), 5) == D("2025-02-07")
    assert working_days_between(D("2025-01-27"), D("2025-02-05")) == 1
    assert working_days_between(D("2025-01-27"), D("2025-02-04")) == 0


def test_negative_counts_backwards_symmetrically() -> None:
    assert add_working_days(D("2024-10-08"), -1) == D("2024-09-30")
    assert add_working_days(D("2024-09-30"), -1) == D("2024-09-29")  # make-up Sunday
    assert add_working_days(D("2024-03-11"), -5) == D("2024-03-04")
    assert add_working_days(D("2025-02-05"), -1) == D("2025-01-27")
    assert add_working_days(D("2024-10-05"), -1) == D("2024-09-30")  # from inside holiday


def test_working_days_between_sign_and_identity() -> None:
    a, b = D("2024-09-27"), D("2024-10-08")
    assert working_days_between(a, a) == 0
    assert working_days_between(b, a) == -working_days_between(a, b) == -3


def test_cross_year_and_long_spans() -> None:
    # 2024-12-31 is a Tuesday and 2025-01-01 a holiday.
    assert add_working_days(D("2024-12-31"), 1) == D("2025-01-02")
    assert add_working_days(D("2025-01-02"), -1) == D("2024-12-31")
    start = D("2004-01-01")
    total = working_days_between(start, D("2026-12-31"))
    assert total > 23 * 240
    assert is_working_day(D("2026-12-31"))  # a Thursday
    assert add_working_days(start, total) == D("2026-12-31")
    # (2004-01-01, 2026-12-31) holds total - 1 working days; 2004-01-01 itself is off.
    assert add_working_days(D("2026-12-31"), -(total - 1)) == D("2004-01-02")
    with pytest.raises(CalendarNotCovered):
        add_working_days(D("2026-12-31"), -total)
    assert working_days_between(start, add_working_days(start, total)) == total


def test_datetime_inputs_are_reduced_to_dates() -> None:
    assert add_working_days(datetime(2024, 9, 30, 17, 30), 1) == D("2024-10-08")
    assert is_working_day(datetime(2024, 9, 29, 9, 0))
    cal = WorkdayCalendar(overrides={datetime(2024, 10, 8, 0, 0): False})
    assert not cal.is_working_day(D("2024-10-08"))


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        is_working_day("2024-10-08")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_working_days(D("2024-10-08"), 1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        add_working_days(D("2024-10-08"), True)
    with pytest.raises(TypeError):
        WorkdayCalendar(overrides={D("2024-10-08"): 1})  # type: ignore[dict-item]
    with pytest.raises(ValueError):
        WorkdayCalendar(override_years=[10000])


# -- the admin table ----------------------------------------------------------


def test_overrides_beat_the_package() -> None:
    cal = WorkdayCalendar(
        overrides={
            D("2024-10-08"): False,  # extra day off after National Day
            D("2024-10-12"): False,  # cancel the make-up Saturday
            D("2024-10-05"): True,  # a holiday turned into a working day
        }
    )
    assert chinese_calendar.is_workday(D("2024-10-08"))
    assert not cal.is_working_day(D("2024-10-08"))
    assert not cal.is_working_day(D("2024-10-12"))
    assert cal.is_working_day(D("2024-10-05"))
    assert cal.add_working_days(D("2024-09-30"), 1) == D("2024-10-05")
    assert cal.add_working_days(D("2024-10-05"), 1) == D("2024-10-09")
    assert cal.add_working_days(D("2024-10-11"), 1) == D("2024-10-14")
    assert add_working_days(D("2024-09-30"), 1, calendar=cal) == D("2024-10-05")
    # (Sep 30, Oct 14]: Oct 5, 9, 10, 11, 14 (Oct 8 and the 12th are now off).
    assert working_days_between(D("2024-09-30"), D("2024-10-14"), calendar=cal) == 5
    # The default calendar is unaffected.
    assert add_working_days(D("2024-09-30"), 1) == D("2024-10-08")


def test_override_year_beyond_the_package() -> None:
    # A hypothetical 2027 arrangement: 1 Jan (Friday) off, Sat 9 Jan worked.
    cal = WorkdayCalendar(
        overrides={D("2027-01-01"): False, D("2027-01-09"): True},
        override_years=[2027],
    )
    assert cal.covered_years() == frozenset(range(2004, 2028))
    assert cal.is_covered(D("2027-06-30")) and not cal.is_covered(D("2028-01-03"))
    assert not cal.is_working_day(D("2027-01-01"))
    assert cal.is_working_day(D("2027-01-09"))
    assert not cal.is_working_day(D("2027-01-10"))  # Sunday: weekday rule
    assert cal.is_working_day(D("2027-05-03"))  # Monday: weekday rule
    assert cal.add_working_days(D("2026-12-31"), 1) == D("2027-01-04")
    assert cal.add_working_days(D("2027-01-08"), 1) == D("2027-01-09")
    assert cal.add_working_days(D("2027-01-04"), -1) == D("2026-12-31")
    assert cal.working_days_between(D("2026-12-31"), D("2027-01-11")) == 7
    with pytest.raises(CalendarNotCovered) as exc_info:
        cal.add_working_days(D("2027-12-31"), 1)
    assert "2028" in str(exc_info.value)


def test_admin_only_year_without_package() -> None:
    cal = WorkdayCalendar(override_years=[2031], use_package=False)
    assert cal.add_working_days(D("2031-05-01"), 1) == D("2031-05-02")  # Thu -> Fri
    assert cal.add_working_days(D("2031-05-02"), 1) == D("2031-05-05")  # Fri -> Mon


def test_tables_are_built_lazily() -> None:
    cal = WorkdayCalendar()
    assert cal._tables == {}
    cal.add_working_days(D("2024-09-30"), 1)
    assert set(cal._tables) == {2024}
    cal.working_days_between(D("2010-06-01"), D("2012-06-01"))
    assert set(cal._tables) == {2010, 2011, 2012, 2024}


# -- properties -----------------------------------------------------------------


@PROPS
@given(d=FORWARD_SAFE, n=st.integers(0, 400))
def test_between_inverts_add(d: date, n: int) -> None:
    assert working_days_between(d, add_working_days(d, n)) == n


@PROPS
@given(d=FORWARD_SAFE, n=st.integers(1, 400))
def test_result_is_a_working_day_after_d(d: date, n: int) -> None:
    r = add_working_days(d, n)
    assert r > d
    assert is_working_day(r)


@PROPS
@given(d=FORWARD_SAFE, n=st.integers(0, 399))
def test_add_is_monotonic_in_n(d: date, n: int) -> None:
    assert add_working_days(d, n) < add_working_days(d, n + 1)


@settings(max_examples=60, deadline=None)
@given(d=FORWARD_SAFE, n=st.integers(0, 400))
def test_add_matches_day_by_day_reference(d: date, n: int) -> None:
    assert add_working_days(d, n) == naive_add(d, n)


@PROPS
@given(d=BACKWARD_SAFE, n=st.integers(1, 400))
def test_backward_is_mirror_of_forward(d: date, n: int) -> None:
    e = add_working_days(d, -n)
    assert e < d and is_working_day(e)
    # [e, d) holds exactly n working days: the mirror of (d, add(d, n)].
    assert working_days_between(e, d) == n - 1 + is_working_day(d)
    if is_working_day(d):
        assert add_working_days(e, n) == d


@PROPS
@given(a=ANY_COVERED, b=ANY_COVERED, c=ANY_COVERED)
def test_between_is_antisymmetric_and_additive(a: date, b: date, c: date) -> None:
    assert working_days_between(a, b) == -working_days_between(b, a)
    assert working_days_between(a, b) + working_days_between(b, c) == working_days_between(a, c)


@PROPS
@given(
    d=FORWARD_SAFE,
    n=st.integers(0, 400),
    flips=st.dictionaries(
        st.dates(min_value=date(2004, 1, 1), max_value=date(2026, 12, 31)),
        st.booleans(),
        max_size=30,
    ),
)
def test_properties_hold_with_overrides(d: date, n: int, flips: dict[date, bool]) -> None:
    cal = WorkdayCalendar(overrides=flips)
    for day, working in flips.items():
        assert cal.is_working_day(day) is working
    r = cal.add_working_days(d, n)  # <= 430 working days from 2024-12-31 stay in 2026
    assert cal.working_days_between(d, r) == n
    if n > 0:
        assert cal.is_working_day(r)
