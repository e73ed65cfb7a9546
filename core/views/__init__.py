"""The platform's pages. Modules build theirs on :class:`ErpModelView` (see
:mod:`core.views.base`: the rules object, field-level errors, optional checkboxes, the
record's actions, and the shared display helpers)."""

from core.views.base import (
    ErpModelView,
    blank_as_dash,
    flag_field,
    labelled,
    money_text,
    none_safe,
    parse_date,
    region_field,
    select_field,
)

__all__ = ["ErpModelView", "blank_as_dash", "flag_field", "labelled", "money_text", "none_safe",
           "parse_date", "region_field", "select_field"]
