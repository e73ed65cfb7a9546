"""Small helpers for the translated text of the platform's pages (see docs/i18n.md).

Message ids are English; the Simplified Chinese catalog is
``core/translations/zh/LC_MESSAGES/messages.po``. Data (module names, region names,
codes) is never translated, only the text around it.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext, pgettext


def join_list(items: Iterable[object]) -> str:
    """The items joined with the list separator of the current language: "、" in
    Chinese, ", " in English."""
    return pgettext("list separator", ", ").join(str(i) for i in items)


def with_detail(name: object, detail: object) -> str:
    """``name (detail)`` in English, ``name（detail）`` in Chinese."""
    return gettext("%(name)s (%(detail)s)", name=name, detail=detail)
