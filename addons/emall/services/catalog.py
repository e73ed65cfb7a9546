"""The e-mall's categories: codes, attribute templates, the category tree."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.services import Errors

from ..models import ATTRIBUTE_TYPES, PAVILIONS, EmallCategory
from .common import _text
from .search import invalidate_category_tree

CATEGORY_CODE = re.compile(r"^[ABC](\d{2}){0,5}(-[0-9A-Za-z]{1,8})?$")
ATTR_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def check_attribute_template(errors: Errors, template: Any) -> list[dict[str, Any]] | None:
    if template in (None, ""):
        return None
    if not isinstance(template, list):
        errors.add("attributes", "属性模板须为列表")
        return None
    keys: set[str] = set()
    out = []
    for i, item in enumerate(template, start=1):
        where = f"第 {i} 个属性"
        if not isinstance(item, dict):
            errors.add("attributes", f"{where}须为对象（key、label、type …）")
            continue
        key, lab, typ = item.get("key"), _text(item.get("label")), item.get("type", "text")
        if not isinstance(key, str) or not ATTR_KEY.match(key):
            errors.add("attributes", f"{where}的标识（key）须为小写字母开头的字母、数字或下划线")
            continue
        if key in keys:
            errors.add("attributes", f"属性标识“{key}”重复")
        keys.add(key)
        if not lab:
            errors.add("attributes", f"属性“{key}”缺少中文名称（label）")
        if typ not in ATTRIBUTE_TYPES:
            errors.add("attributes", f"属性“{key}”的类型须为 text、number、choice 或 bool")
        choices = item.get("choices")
        if typ == "choice" and (not isinstance(choices, list) or not choices
                                or not all(isinstance(c, str) and c.strip() for c in choices)):
            errors.add("attributes", f"选项属性“{key}”须列出可选值（choices）")
        unknown = set(item) - {"key", "label", "type", "choices", "unit", "required"}
        if unknown:
            errors.add("attributes", f"属性“{key}”含未知字段：{'、'.join(sorted(unknown))}")
        out.append(item)
    return out


def validate_category(session: Session, cat: EmallCategory) -> None:
    """商品分类: a catalog code (or a sub-code) unique, a name, an attribute template, a
    known pavilion, no cycle in the tree."""
    errors = Errors()
    with session.no_autoflush:
        cat.code = _text(cat.code).upper() if cat.code else ""
        cat.name = _text(cat.name)
        if not cat.code:
            errors.add("code", "分类编码不能为空")
        elif not CATEGORY_CODE.match(cat.code):
            errors.add("code", "分类编码须为政府采购品目编码（如 A02010105），可加子编码（如 A02010105-01）")
        if not cat.name:
            errors.add("name", "分类名称不能为空")
        if cat.pavilion is not None and cat.pavilion not in PAVILIONS:
            errors.add("pavilion", f"行业馆只能是：{'、'.join(f'{k}（{v}）' for k, v in PAVILIONS.items())}，或留空")
        check_attribute_template(errors, cat.attributes)
        parent = cat.parent if cat.parent is not None else (
            session.get(EmallCategory, cat.parent_id) if cat.parent_id else None)
        seen = {cat.id} if cat.id else set()
        node = parent
        while node is not None:
            if node.id in seen:
                errors.add("parent", "上级分类不能是本分类或其下级分类")
                break
            seen.add(node.id)
            node = node.parent
        if cat.code and "code" not in errors:
            dup = session.execute(select(EmallCategory.id).where(
                EmallCategory.code == cat.code, EmallCategory.id != (cat.id or -1))).first()
            if dup:
                errors.add("code", f"分类编码“{cat.code}”已存在", duplicate=True)
    errors.raise_if_any()
    invalidate_category_tree()


def category_children(session: Session) -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = {}
    for cid, parent in session.execute(select(EmallCategory.id, EmallCategory.parent_id)):
        children.setdefault(parent, []).append(cid)
    return children


def category_subtree(session: Session, category_id: int) -> list[int]:
    children = category_children(session)
    out, todo = [], [category_id]
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(children.get(c, ()))
    return out


def category_tree(session: Session, pavilion: str | None = "*") -> list[dict[str, Any]]:
    """Active categories as a nested tree (``pavilion="*"``: all; None: the general mall)."""
    stmt = select(EmallCategory).where(EmallCategory.active.is_(True)).order_by(
        EmallCategory.sequence, EmallCategory.code)
    if pavilion != "*":
        stmt = stmt.where(EmallCategory.pavilion.is_(None) if pavilion is None
                          else EmallCategory.pavilion == pavilion)
    cats = list(session.execute(stmt).scalars())
    nodes = {c.id: {"id": c.id, "code": c.code, "name": c.name, "pavilion": c.pavilion,
                    "requires_cold_chain": c.requires_cold_chain,
                    "attributes": c.attributes or [], "children": []} for c in cats}
    roots = []
    for c in cats:
        if c.parent_id in nodes:
            nodes[c.parent_id]["children"].append(nodes[c.id])
        else:
            roots.append(nodes[c.id])
    return roots
