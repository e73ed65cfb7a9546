"""Product listings: :func:`validate_listing`, :data:`LISTING_FLOW`, delivery regions, images."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from addons.procurement_base import services as pb
from addons.procurement_base.services import Errors, RuleError
from core.models import Organization, Region
from core.services import audit, settings
from core.services.money import fmt_yuan
from core.services.statemachine import StateMachine, Transition
from core.tenancy import Scope, use_scope

from ..hooks import LISTING_VALIDATORS
from ..models import LISTING_STATES, EmallCategory, EmallListing, EmallListingImage
from . import notices
from .admission import is_admitted
from .common import MODULE, _actor_scope, _privileged, _text, normalize, now

EXCLUSIVE_WORDS = re.compile(r"专供|政府采购专用|政采专用|政采版|定制款|专属型号|独家型号")
REFERENCE_SOURCES = {"manufacturer": "厂商官方指导价", "market": "主流电商平台最低价"}


def check_listing_attributes(errors: Errors, category: EmallCategory, values: Any) -> dict[str, str]:
    """Values against the category's template; stored as text (numbers canonical, bool
    "true"/"false") so that filters compare alike on every database."""
    template = category.attributes or []
    values = values if isinstance(values, dict) else {}
    if values and not isinstance(values, dict):
        errors.add("attributes", "商品属性须为对象")
        return {}
    known = {a["key"]: a for a in template if isinstance(a, dict) and "key" in a}
    out: dict[str, str] = {}
    for key in values:
        if key not in known:
            errors.add(f"attributes.{key}", f"分类“{category.name}”没有属性“{key}”")
    for key, spec in known.items():
        raw = values.get(key)
        lab = spec.get("label") or key
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if spec.get("required"):
                errors.add(f"attributes.{key}", f"请填写{lab}")
            continue
        typ = spec.get("type", "text")
        if typ == "number":
            try:
                if isinstance(raw, (bool, float)):
                    raise ValueError
                num = Decimal(str(raw).strip())
                if not num.is_finite():
                    raise ValueError
            except (ArithmeticError, ValueError):
                errors.add(f"attributes.{key}", f"{lab}须为数值")
                continue
            out[key] = format(num.normalize(), "f")
        elif typ == "bool":
            if isinstance(raw, bool):
                out[key] = "true" if raw else "false"
            elif str(raw).strip().lower() in ("true", "1", "是", "yes"):
                out[key] = "true"
            elif str(raw).strip().lower() in ("false", "0", "否", "no"):
                out[key] = "false"
            else:
                errors.add(f"attributes.{key}", f"{lab}须为是或否")
        elif typ == "choice":
            text = _text(raw)
            if text not in (spec.get("choices") or []):
                errors.add(f"attributes.{key}", f"{lab}只能是：{'、'.join(spec.get('choices') or [])}")
                continue
            out[key] = text
        else:
            text = _text(raw)
            if len(text) > 200:
                errors.add(f"attributes.{key}", f"{lab}不能超过 200 个字符")
                continue
            out[key] = text
    return out


def search_text_of(listing: EmallListing, category: EmallCategory | None) -> str:
    parts = [listing.name, listing.brand, listing.model, category.name if category else "",
             *(v for v in (listing.attributes or {}).values() if v not in ("true", "false"))]
    return "|".join(normalize(p) for p in parts if p)


def _money(errors: Errors, field: str, value: Any, lab: str) -> Decimal | None:
    return pb.check_money(errors, field, value, lab)


def validate_listing(session: Session, listing: EmallListing, *, scope: Scope | None = None,
                     for_review: bool = False) -> None:
    """商品: the supplier's own, in an admitted category, attributes per template, price not
    above the reference, no duplicate brand + model of the same supplier, no exclusive
    model; derived: pavilion, normalised keys and search text. ``for_review``: also what
    submitting for review needs (delivery regions, stock)."""
    scope = _actor_scope(scope)
    errors = Errors()
    with session.no_autoflush:
        supplier = listing.supplier if listing.supplier is not None else (
            session.get(Organization, listing.supplier_id) if listing.supplier_id else None)
        if supplier is None and scope.actor == "supplier" and scope.org_id:
            supplier = session.get(Organization, scope.org_id)
            listing.supplier = supplier
        category = listing.category if listing.category is not None else (
            session.get(EmallCategory, listing.category_id) if listing.category_id else None)
        if supplier is None:
            errors.add("supplier", "请选择供应商")
        elif supplier.org_type != "supplier":
            errors.add("supplier", f"“{supplier.name}”不是供应商")
        elif scope.actor == "supplier" and scope.org_id != supplier.id:
            errors.add("supplier", "只能维护本单位的商品")
        elif not _privileged(scope, session) and scope.actor != "supplier":
            errors.add("supplier", "只有供应商可以维护商品")
        if category is None:
            errors.add("category", "请选择商品分类")
        elif not category.active:
            errors.add("category", f"商品分类“{category.name}”已停用")
        elif supplier is not None and supplier.org_type == "supplier" and not is_admitted(
                session, supplier.id, category.id):
            errors.add("category", f"供应商尚未获准在“{category.name}”分类入驻，不能发布该分类商品")
        listing.name = _text(listing.name)
        listing.brand = _text(listing.brand)
        listing.model = _text(listing.model)
        listing.unit = _text(listing.unit) or "件"
        for field, lab in (("name", "商品名称"), ("brand", "品牌"), ("model", "型号")):
            if not getattr(listing, field):
                errors.add(field, f"{lab}不能为空")
        price = _money(errors, "price", listing.price, "挂网价格")
        ref = _money(errors, "reference_price", listing.reference_price, "参考价")
        if price is not None:
            listing.price = price
        if ref is not None:
            listing.reference_price = ref
        if price is not None and ref is not None and price > ref:
            errors.add("price", f"挂网价格 {fmt_yuan(price)} 高于参考价 {fmt_yuan(ref)}："
                                "挂网价格不得高于厂商官方指导价或主流电商平台同型号最低价")
        listing.reference_source = listing.reference_source or "manufacturer"
        if listing.reference_source not in REFERENCE_SOURCES:
            errors.add("reference_source", "参考价来源只能是厂商官方指导价（manufacturer）或"
                                           "主流电商平台最低价（market）")
        if listing.stock is None:
            listing.stock = 0
        if isinstance(listing.stock, bool) or not isinstance(listing.stock, int) or listing.stock < 0:
            errors.add("stock", "库存须为不小于 0 的整数")
        if listing.exclusive_model:
            errors.add("model", "不得挂专供型号（仅供政府采购、市场上买不到的型号）")
        elif EXCLUSIVE_WORDS.search(f"{listing.name}{listing.model}"):
            errors.add("model", "不得挂专供型号：商品名称或型号含“专供/政采专用/定制款”等字样")
        if category is not None:
            listing.attributes = check_listing_attributes(errors, category, listing.attributes)
            listing.pavilion = category.pavilion
        listing.brand_key = normalize(listing.brand)
        listing.model_key = normalize(listing.model)
        if supplier is not None and listing.brand and listing.model:
            dup = session.execute(select(EmallListing.id).where(
                EmallListing.supplier_id == supplier.id, EmallListing.brand_key == listing.brand_key,
                EmallListing.model_key == listing.model_key,
                EmallListing.id != (listing.id or -1))).first()
            if dup:
                errors.add("model", f"本供应商已挂有“{listing.brand} {listing.model}”（商品编号 {dup[0]}），"
                                    "同一品牌型号不得重复挂网", duplicate=True)
        if for_review:
            if not listing.regions:
                errors.add("regions", "请选择供货地区")
            if not listing.stock:
                errors.add("stock", "库存为 0 的商品不能提交上架")
        listing.search_text = search_text_of(listing, category)
        listing.updated_at = now()
        if listing.created_at is None:
            listing.created_at = listing.updated_at
        if listing.status is None:
            listing.status = "draft"
    errors.raise_if_any()
    # the provincial catalog: implementations of every installed module run
    LISTING_VALIDATORS.call(None, listing, category)


def _g_reviewable(listing: EmallListing, event: Any) -> str | None:
    session = event.ctx.get("session")
    try:
        validate_listing(session, listing, for_review=True)
    except RuleError as exc:
        return "；".join(m for msgs in exc.messages.values() for m in msgs)
    return None


def _g_supplier_admitted(listing: EmallListing, event: Any) -> str | None:
    session = event.ctx.get("session")
    if not is_admitted(session, listing.supplier_id, listing.category_id):
        return "供应商入驻资格无效（未批准或已暂停），商品不能上架"
    return None


LISTING_FLOW = StateMachine(
    field="status", states=LISTING_STATES, initial="draft", subject_zh="商品",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("submit", ("draft", "delisted"), "review", guard=_g_reviewable, label_zh="提交审核"),
        Transition("approve", "review", "listed", guard=[_g_reviewable, _g_supplier_admitted],
                   label_zh="审核通过上架"),
        Transition("reject", "review", "draft", require_reason=True, label_zh="审核退回"),
        Transition("delist", ("listed", "review"), "delisted", label_zh="下架"),
    ],
)
LISTING_ACTORS = {"submit": "supplier", "approve": "agency", "reject": "agency", "delist": "any"}


def assert_moves_listing(session: Session, listing: EmallListing, name: str,
                         scope: Scope | None = None) -> None:
    """Who may ``name`` the listing (:data:`LISTING_ACTORS`; raises :class:`RuleError`)."""
    scope = _actor_scope(scope)
    who = LISTING_ACTORS.get(name)
    if who == "agency" and not _privileged(scope, session):
        raise RuleError({"status": ["只有集中采购机构（电子卖场管理）可以审核商品"]})
    if who == "supplier" and not (_privileged(scope, session) or (
            scope.actor == "supplier" and scope.org_id == listing.supplier_id)):
        raise RuleError({"status": ["只能提交本单位的商品"]})
    if who == "any" and not (_privileged(scope, session) or scope.org_id == listing.supplier_id):
        raise RuleError({"status": ["只能下架本单位的商品"]})


def transition_listing(session: Session, listing: EmallListing, name: str, *,
                       reason: str | None = None, scope: Scope | None = None, actor: Any = None) -> None:
    scope = _actor_scope(scope)
    assert_moves_listing(session, listing, name, scope)
    with use_scope(scope):
        LISTING_FLOW.trigger(listing, name, actor=actor, reason=_text(reason) or None,
                             session=session)
    if name == "approve":
        listing.listed_at = now()
    if name in ("reject", "delist"):
        listing.review_note = _text(reason) or listing.review_note
    session.flush()
    notices.listing_decided(session, listing, name, _text(reason) or None)


def set_listing_regions(session: Session, listing: EmallListing, region_ids: Iterable[Any]) -> None:
    errors = Errors()
    ids = []
    for raw in region_ids or ():
        if isinstance(raw, bool) or not isinstance(raw, int):
            errors.add("regions", "请填写地区编号列表")
            errors.raise_if_any()
        ids.append(raw)
    regions = list(session.execute(select(Region).where(Region.id.in_(ids))).scalars()) if ids else []
    if len(regions) != len(set(ids)):
        errors.add("regions", "所选地区不存在")
    errors.raise_if_any()
    listing.regions = regions


# images ------------------------------------------------------------------------------------------
IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def image_type(data: bytes) -> str | None:
    """png / jpeg / webp by magic bytes, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def add_image(session: Session, listing: EmallListing, data: bytes, filename: str | None,
              folder: Path, *, scope: Scope | None = None) -> EmallListingImage:
    """Store an image under ``folder`` (content-addressed) after checking type and size."""
    scope = _actor_scope(scope)
    if not (_privileged(scope, session) or scope.org_id == listing.supplier_id):
        raise RuleError({"image": ["只能为本单位的商品上传图片"]})
    limit_kb = settings.get("emall.image_max_kb", session=session)
    kind = image_type(data)
    if not data:
        raise RuleError({"image": ["请选择图片文件"]})
    if kind is None:
        raise RuleError({"image": ["只接受 PNG、JPEG 或 WebP 格式的图片（按文件内容识别）"]})
    if len(data) > limit_kb * 1024:
        raise RuleError({"image": [f"图片不能超过 {limit_kb} KB（当前 {len(data) // 1024} KB）"]})
    count = session.execute(select(func.count(EmallListingImage.id)).where(
        EmallListingImage.listing_id == listing.id)).scalar_one()
    most = settings.get("emall.images_per_listing", session=session)
    if count >= most:
        raise RuleError({"image": [f"每个商品最多 {most} 张图片"]})
    digest = hashlib.sha256(data).hexdigest()
    rel = f"{digest[:2]}/{digest}.{kind}"
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    img = EmallListingImage(listing_id=listing.id, path=rel, content_type=IMAGE_TYPES[kind],
                            size=len(data), sha256=digest, filename=_text(filename)[:200] or None,
                            sequence=(count + 1) * 10)
    session.add(img)
    session.flush()
    return img
