"""Admin UI "节假日维护": the holiday table behind the working-day calendar.

* 节假日维护 (``erp_holiday``): single days, a holiday or a make-up working day (调休上班);
  they win over the ``chinesecalendar`` package for any date.
* 节假日年份 (``erp_holiday_year``): years whose arrangement has been entered completely;
  from then on the year is covered (days not listed follow Monday-Friday).

Platform admin only (a region user with a grant still gets 403). Every save tells the
workers to rebuild their calendar (:func:`core.services.workdays.changed`).
"""

from __future__ import annotations

from flask import abort
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField
from wtforms.validators import NumberRange, Optional

from core.db import db
from core.models import HolidayOverride, HolidayYear
from core.services import workdays
from core.services.calendar import PACKAGE_YEARS


def _platform_admin_only():
    """Before every request of these pages: 403 for anyone but the platform admin."""
    from core.security import current_erp_user
    from core.tenancy import current_scope

    if current_erp_user() is None:
        return None  # FAB's has_access sends the visitor to the login page
    if not current_scope().unrestricted:
        abort(403)
    return None


class _PlatformOnly:
    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        bp = super().create_blueprint(appbuilder, endpoint=endpoint, static_folder=static_folder)
        bp.before_request(_platform_admin_only)
        return bp

    # the calendar cache of every worker follows the table
    def post_add(self, item):
        workdays.changed(db.session)

    def post_update(self, item):
        workdays.changed(db.session)

    def post_delete(self, item):
        workdays.changed(db.session)


class HolidayView(_PlatformOnly, ModelView):
    datamodel = SQLAInterface(HolidayOverride)
    route_base = "/erp/holidays"
    class_permission_name = "Holidays"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    list_title = _l("Holidays")
    show_title = _l("Holiday details")
    add_title = _l("New holiday or make-up working day")
    edit_title = _l("Edit holiday")
    list_columns = ["day", "is_working_day", "note"]
    show_columns = add_columns = edit_columns = ["day", "is_working_day", "note"]
    search_columns = ["day", "is_working_day", "note"]
    base_order = ("day", "desc")
    label_columns = {
        "day": _l("Date"),
        "is_working_day": _l("Make-up working day (checked: working day; unchecked: day off)"),
        "note": _l("Note"),
    }
    description_columns = {
        "is_working_day": _l(
            "Leave unchecked for a day off; check it for a weekend day worked in exchange."
        ),
        "note": _l("e.g. Spring Festival holiday 2027, 国办发明电〔2026〕X 号"),
    }
    formatters_columns = {
        "is_working_day": lambda v: _("Make-up working day") if v else _("Day off"),
    }
    # FAB makes a NOT NULL boolean "required", so an unchecked box (a holiday) would fail
    add_form_extra_fields = edit_form_extra_fields = {
        "is_working_day": BooleanField(
            _l("Make-up working day (checked: working day; unchecked: day off)"),
            description=_l(
                "Leave unchecked for a day off; check it for a weekend day worked in exchange."
            ),
            validators=[Optional()],
        ),
    }


class HolidayYearView(_PlatformOnly, ModelView):
    datamodel = SQLAInterface(HolidayYear)
    route_base = "/erp/holiday-years"
    class_permission_name = "HolidayYears"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    list_title = _l("Completely entered years")
    show_title = _l("Year details")
    add_title = _l("Mark a year as completely entered")
    edit_title = _l("Edit year")
    list_columns = ["year", "note"]
    show_columns = add_columns = edit_columns = ["year", "note"]
    base_order = ("year", "desc")
    label_columns = {"year": _l("Year"), "note": _l("Note")}
    description_columns = {
        "year": _l(
            "Mark a year only once all its days off and make-up working days are entered "
            "under “Holidays”. The built-in calendar covers %(first)s–%(last)s.",
            first=PACKAGE_YEARS.start,
            last=PACKAGE_YEARS.stop - 1,
        ),
    }
    validators_columns = {
        "year": [NumberRange(min=1990, max=2200,
                             message=_l("The year must be between %(min)s and %(max)s"))],
    }


def register_holiday_views(appbuilder) -> None:
    appbuilder.add_view(
        HolidayView,
        "Holidays",
        label=_l("Holidays"),
        icon="fa-calendar",
        category="Platform",
        category_label=_l("Platform"),
    )
    appbuilder.add_view(
        HolidayYearView,
        "HolidayYears",
        label=_l("Holiday years"),
        icon="fa-calendar-check-o",
        category="Platform",
        category_label=_l("Platform"),
    )
