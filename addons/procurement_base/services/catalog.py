"""The procurement catalog (采购品目): codes, levels, kinds."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import CatalogItem
from .common import Errors, _text, _unscoped

CATALOG_CODE = re.compile(r"^[ABC](\d{2})*$")
KINDS = {"A": "goods", "B": "works", "C": "services"}
KIND_LABELS = {"goods": "货物", "works": "工程", "services": "服务"}


def catalog_level(code: str) -> int:
    """A → 1, A02 → 2, A0201 → 3, ..."""
    return 1 + (len(code) - 1) // 2


def validate_catalog_item(session: Session, item: CatalogItem) -> None:
    """A catalog code: A/B/C then pairs of digits; level, kind and parent follow from it."""
    errors = Errors()
    with session.no_autoflush:
        code = _text(item.code).upper()
        item.code = code
        item.name = _text(item.name)
        if not item.name:
            errors.add("name", "品目名称不能为空")
        if not code:
            errors.add("code", "品目编码不能为空")
        elif not CATALOG_CODE.match(code) or len(code) > 20:
            errors.add("code", "品目编码格式不正确：以 A（货物）、B（工程）或 C（服务）开头，"
                               "其后每级两位数字，如 A02、A0201")
        else:
            item.kind = KINDS[code[0]]
            item.level = catalog_level(code)
            other = session.execute(_unscoped(select(CatalogItem.id).where(
                CatalogItem.code == code, CatalogItem.id != (item.id or -1)))).first()
            if other is not None:
                errors.add("code", f"品目编码 {code} 已存在", duplicate=True)
            if item.level == 1:
                item.parent = None
            else:
                parent_code = code[:-2] if item.level > 2 else code[0]
                parent = session.execute(
                    select(CatalogItem).where(CatalogItem.code == parent_code)
                ).scalar_one_or_none()
                if parent is None:
                    errors.add("code", f"上级品目 {parent_code} 不存在，请先新增上级品目")
                else:
                    item.parent = parent
        if item.active is None:
            item.active = True
    errors.raise_if_any()
