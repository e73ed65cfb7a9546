"""How a value is shown on a page when no formatter made words of it (``erp_value``).

FAB's list and show widgets print values with ``{{ value }}``: ``None``, ``True``,
``False`` and dicts come out as program text. The platform's copies of those widgets
(``core/templates/appbuilder/general/widgets/``) pass every value through
:func:`erp_value`: empty is "—", a boolean is 是/否, a mapping is "键：值；…", a list is
joined with "、"; HTML made by a formatter (``Markup``) is kept as it is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

EMPTY = "—"
PROGRAM_WORDS = {"None": EMPTY, "True": "是", "False": "否", "": EMPTY, "null": EMPTY}


def erp_value(value: Any) -> Any:
    if value is None:
        return EMPTY
    if isinstance(value, Markup):
        return value if str(value).strip() not in PROGRAM_WORDS else PROGRAM_WORDS[str(value).strip()]
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return PROGRAM_WORDS.get(value.strip(), value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Mapping):
        return "；".join(f"{k}：{erp_value(v)}" for k, v in value.items()) or EMPTY
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(str(erp_value(v)) for v in value) or EMPTY
    return value


def module_name(code: Any) -> str:
    """A module's Chinese name (its manifest ``name``); the platform itself for none."""
    if not code:
        return "平台"
    from flask import current_app

    registry = current_app.extensions["erp"].registry
    return registry[code].name if code in registry else str(code)


#: manifest categories (English in the manifests) in Chinese
CATEGORIES = {"Platform": "平台", "Procurement": "采购业务", "E-mall": "电子卖场",
              "Finance": "金融服务", "Supervision": "监督管理", "Uncategorized": "其他",
              "Tests": "测试"}


def category_name(value: Any) -> str:
    return CATEGORIES.get(str(value), str(value)) if value else "—"


def register_display_filters(app: Any) -> None:
    app.add_template_filter(category_name, "erp_category")
    app.add_template_filter(erp_value, "erp_value")
    app.add_template_filter(module_name, "erp_module")
