"""The pages of ``negative_list``."""

from __future__ import annotations


def register(appbuilder) -> None:
    return None
