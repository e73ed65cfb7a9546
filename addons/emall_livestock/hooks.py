"""Extension points of ``emall_livestock`` (:mod:`core.hooks`).

``HOME_LINKS``: bridges add links to the pavilion's home page (畜牧行业馆, ``/livestock/``)
without the pavilion knowing their modules - ``framework_agreement_livestock`` its page
行业馆框架协议. Each implementation returns a :class:`HomeLink` or None (e.g. when the user may
not open the page); the home page calls them for the visitor's region, so a link shows only
where the bridge is installed and enabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.hooks import Hook


@dataclass(frozen=True)
class HomeLink:
    """A link of the pavilion's home page: ``title`` (Chinese), ``url``, a one-line ``note``."""

    key: str
    title: str
    url: str
    note: str = ""
    icon: str = "fa-link"


HOME_LINKS = Hook(
    "emall_livestock.home_links",
    doc="fn() -> HomeLink | None: a link on the livestock pavilion's home page (None: not for "
        "this visitor, e.g. without the permission to open the page)",
)


def home_links(region_id: int | None) -> list[HomeLink]:
    """The links of the bridges installed and enabled for ``region_id`` (None: the platform)."""
    out: list[HomeLink] = []
    for _module, fn in HOME_LINKS.implementations(region_id):
        link: Any = fn()
        if link is not None:
            out.append(link)
    return out


__all__ = ["HOME_LINKS", "HomeLink", "home_links"]
