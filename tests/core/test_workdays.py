"""The platform's working-day calendar: chinesecalendar plus the admin's holiday table,
cached per worker; the ``erp calendar`` commands; the 节假日维护 pages (platform admin only)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from core.addons.security import sync_module_roles
from core.db import db
from core.models import HolidayOverride, HolidayYear
from core.services import workdays
from core.services.calendar import PACKAGE_YEARS, CalendarNotCovered
from tests.conftest import cli, query
from tests.core.test_web import login_form

#: a year the installed package does not cover (whatever its version)
BEYOND = max(PACKAGE_YEARS) + 5


def first_monday(year: int, month: int = 3) -> dt.date:
    d = dt.date(year, month, 1)
    return d + dt.timedelta(days=(7 - d.weekday()) % 7)


def one_line_error(res) -> str:
    assert res.exit_code == 1, res.output
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


def add_year(app, year: int, days: dict[dt.date, bool] | None = None) -> None:
    with app.app_context():
        db.session.add(HolidayYear(year=year, note="测试"))
        for day, working in (days or {}).items():
            db.session.add(HolidayOverride(day=day, is_working_day=working, note="测试"))
        db.session.commit()
        workdays.changed(db.session)


# -- CLI ------------------------------------------------------------------------------------
def test_cli_add_workdays_national_day_2024(app) -> None:
    res = cli(app, "calendar", "add-workdays", "2024-09-30", "1")
    assert res.exit_code == 0, res.output
    assert res.stdout == "2024-10-08\n"
    assert cli(app, "calendar", "add-workdays", "2024-09-27", "1").stdout == "2024-09-29\n"
    assert cli(app, "calendar", "is-workday", "2024-09-29").stdout == "yes\n"
    assert cli(app, "calendar", "is-workday", "2024-10-01").stdout == "no\n"
    assert cli(app, "calendar", "between", "2024-09-30", "2024-10-08").stdout == "1\n"


def test_cli_bad_date_is_one_error_line(app) -> None:
    line = one_line_error(cli(app, "calendar", "add-workdays", "2024-13-01", "1"))
    assert "invalid date '2024-13-01'" in line
    one_line_error(cli(app, "calendar", "add-workdays", "30/09/2024", "1"))
    line = one_line_error(cli(app, "calendar", "add-workdays", "2024-09-30", "x"))
    assert "invalid number of working days 'x'" in line
    assert cli(app, "calendar", "add-workdays", "2024-10-08", "-1").stdout == "2024-09-30\n"


def test_cli_uncovered_year_is_one_error_line(app) -> None:
    day = first_monday(BEYOND).isoformat()
    line = one_line_error(cli(app, "calendar", "add-workdays", day, "1"))
    assert f"年份 {BEYOND} 未维护节假日表" in line and day in line
    # a deadline running into an uncovered year fails too
    last = dt.date(max(PACKAGE_YEARS), 12, 31).isoformat()
    one_line_error(cli(app, "calendar", "add-workdays", last, "30"))


def test_admin_entered_year_beyond_the_package_is_covered(app) -> None:
    monday = first_monday(BEYOND)
    tuesday = monday + dt.timedelta(days=1)
    saturday = monday + dt.timedelta(days=5)
    add_year(app, BEYOND, {tuesday: False, saturday: True})  # a holiday and a make-up day
    res = cli(app, "calendar", "add-workdays", monday.isoformat(), "1")
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == (monday + dt.timedelta(days=2)).isoformat(), "Tuesday is off"
    res = cli(app, "calendar", "add-workdays", monday.isoformat(), "4")
    assert res.stdout.strip() == saturday.isoformat(), "the make-up Saturday counts"
    assert cli(app, "calendar", "is-workday", tuesday.isoformat()).stdout == "no\n"
    # the next year is still not covered
    one_line_error(cli(app, "calendar", "add-workdays", f"{BEYOND + 1}-03-01", "1"))


def test_admin_override_wins_over_the_package(app) -> None:
    assert cli(app, "calendar", "add-workdays", "2024-03-04", "1").stdout == "2024-03-05\n"
    with app.app_context():
        db.session.add(HolidayOverride(day=dt.date(2024, 3, 5), is_working_day=False))
        db.session.commit()
        workdays.changed(db.session)
    assert cli(app, "calendar", "add-workdays", "2024-03-04", "1").stdout == "2024-03-06\n"


# -- service and cache --------------------------------------------------------------------
def test_platform_calendar_is_cached_until_the_table_changes(app) -> None:
    with app.app_context():
        cal = workdays.platform_calendar()
        assert workdays.platform_calendar() is cal, "cached per worker"
        assert workdays.platform_calendar(db.session) is cal
        with pytest.raises(CalendarNotCovered):
            workdays.add_working_days(first_monday(BEYOND), 1)
        # a row written but not announced is not seen by the cached calendar...
        db.session.add(HolidayYear(year=BEYOND))
        db.session.commit()
        assert workdays.platform_calendar() is cal
        # ...until the change is announced (the admin pages do it on every save)
        workdays.changed(db.session)
        fresh = workdays.platform_calendar()
        assert fresh is not cal and BEYOND in fresh.covered_years()
        monday = first_monday(BEYOND)
        assert workdays.add_working_days(monday, 1) == monday + dt.timedelta(days=1)
        assert workdays.is_working_day(monday) is True
        assert workdays.working_days_between(monday, monday + dt.timedelta(days=7)) == 5


def test_uncommitted_rows_are_never_cached(app) -> None:
    with app.app_context():
        workdays.changed(db.session)
        db.session.add(HolidayYear(year=BEYOND))
        db.session.flush()
        cal = workdays.platform_calendar(db.session)
        assert BEYOND not in cal.covered_years(), "read on a connection of its own"
        db.session.rollback()
        assert workdays.platform_calendar() is cal


# -- admin pages ---------------------------------------------------------------------------
def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_admin_adds_a_year_in_the_page_and_every_worker_sees_it(app) -> None:
    client = app.test_client()
    login_form(client)
    page = client.get("/erp/holiday-years/add").get_data(as_text=True)
    assert "年份" in page
    res = client.post("/erp/holiday-years/add",
                      data={"csrf_token": csrf(page), "year": str(BEYOND), "note": "国办通知"})
    assert res.status_code == 302
    assert query(app, "SELECT year, note FROM erp_holiday_year") == [(BEYOND, "国办通知")]
    monday = first_monday(BEYOND)
    res = cli(app, "calendar", "add-workdays", monday.isoformat(), "1")
    assert res.stdout.strip() == (monday + dt.timedelta(days=1)).isoformat()
    # a holiday entered in the page takes effect at once too
    page = client.get("/erp/holidays/add").get_data(as_text=True)
    assert "调休上班" in page
    res = client.post("/erp/holidays/add", data={
        "csrf_token": csrf(page), "day": (monday + dt.timedelta(days=1)).isoformat(),
        "note": "测试假日",
    })
    assert res.status_code == 302
    res = cli(app, "calendar", "add-workdays", monday.isoformat(), "1")
    assert res.stdout.strip() == (monday + dt.timedelta(days=2)).isoformat()
    listing = client.get("/erp/holidays/list/").get_data(as_text=True)
    assert "节假日维护" in listing and "测试假日" in listing and "放假" in listing
    # a year out of range is refused by the form
    res = client.post("/erp/holiday-years/add",
                      data={"csrf_token": csrf(page), "year": "1800"}, follow_redirects=True)
    assert "年份应在 1990 至 2200 之间" in res.get_data(as_text=True)
    assert query(app, "SELECT COUNT(*) FROM erp_holiday_year") == [(1,)]


def test_holiday_pages_are_for_the_platform_admin_only(app) -> None:
    state = app.extensions["erp"]
    grants = ("can_list on Holidays", "can_add on Holidays", "can_list on HolidayYears",
              "can_add on HolidayYears")
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "tests", {"Calendar Clerk": grants}, state.core_pairs(), "test")
    assert cli(app, "user", "create", "--username", "cc_clerk", "--password", "secret123",
               "--role", "Calendar Clerk", "--region", "220100").exit_code == 0
    client = app.test_client()
    login_form(client, "cc_clerk", "secret123")
    assert client.get("/erp/holidays/list/").status_code == 403
    assert client.post("/erp/holiday-years/add", data={"year": str(BEYOND)}).status_code \
        in (400, 403)
    assert query(app, "SELECT COUNT(*) FROM erp_holiday_year") == [(0,)]
    anonymous = app.test_client()
    assert anonymous.get("/erp/holidays/list/").status_code == 302, "to the login page"
