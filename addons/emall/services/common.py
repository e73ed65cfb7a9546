"""Shared by every part of the e-mall's services: settings, errors, extension points, small helpers."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from addons.procurement_base import services as pb
from addons.procurement_base.services import RuleError
from core.models import Organization, Region
from core.services import settings
from core.tenancy import Scope, current_scope

#: the institution's e-mall role; its users belong to centralized procurement institutions
INSTITUTION_ROLE = "电子卖场管理"
pb.register_actor_role("central_procurement", INSTITUTION_ROLE)
MODULE = "emall"
ZERO = Decimal("0.00")
CST = dt.timezone(dt.timedelta(hours=8), "CST")


# -- settings (per region; regulation or platform defaults, "(check)" in docs/emall.md) --------
settings.declare(
    "emall.direct_purchase_limit", type="decimal", default="50000",
    label_zh="电子卖场直购限额（元）",
    help_zh="一次下单金额不超过该限额的，直接向供应商下单（直购）。",
    source="电子卖场统一交易规则（平台默认值，待核对）", module=MODULE)
settings.declare(
    "emall.comparison_upper_limit", type="decimal", default="1000000",
    label_zh="电子卖场竞价上限（元）",
    help_zh="超过直购限额、不超过该上限的，须网上竞价；超过上限的，电子卖场不予受理，应依法开展政府采购项目。",
    source="电子卖场统一交易规则；分散采购限额标准（平台默认值，待核对）", module=MODULE)
settings.declare(
    "emall.quote_window_workdays", type="int", default="3",
    label_zh="竞价报价期（工作日）",
    help_zh="竞价发布后供应商报价的期限：发布次日起算的第 N 个工作日 17:00 截止。",
    source="电子卖场统一交易规则（平台默认值，待核对）", module=MODULE)
settings.declare(
    "emall.comparison_min_quotes", type="int", default="3",
    label_zh="竞价有效报价最少家数",
    help_zh="有效报价不少于该家数时，自动由最低有效报价成交；少于该家数时，采购人须说明理由后确认成交，或撤销重新发布。",
    source="电子卖场统一交易规则（平台默认值，待核对）", module=MODULE)
settings.declare(
    "emall.payment_due_workdays", type="int", default="10",
    label_zh="验收后付款期限（工作日）",
    help_zh="采购人应在验收合格之日起 N 个工作日内付款（不含验收当日）。",
    source="吉林省关于加快政府采购资金支付的要求（2024，待核对）", module=MODULE)
settings.declare(
    "emall.image_max_kb", type="int", default="2048",
    label_zh="商品图片大小上限（KB）", help_zh="仅接受 PNG、JPEG、WebP 图片。",
    source="平台默认值", module=MODULE)
settings.declare(
    "emall.images_per_listing", type="int", default="8",
    label_zh="每个商品的图片数量上限", source="平台默认值", module=MODULE)
settings.declare(
    "emall.outlier_threshold", type="decimal", default="3.5",
    label_zh="成交价异常阈值（稳健 Z 分数）",
    help_zh="同一分类成交单价的稳健 Z 分数 0.6745×(单价−中位数)/MAD 的绝对值超过该值即列入价格监测。",
    source="Iglewicz & Hoaglin (1993) 建议值 3.5", module=MODULE)
settings.declare(
    "emall.outlier_min_samples", type="int", default="5",
    label_zh="成交价异常检测的最少样本数", source="平台默认值", module=MODULE)


class ConflictError(RuleError):
    """A conflict with the current data (stock ran out, state changed): answered 409."""

    status = 409
    code = "conflict"


# -- small helpers ----------------------------------------------------------------------------
def now() -> dt.datetime:
    """Now in Beijing time, naive (how the e-mall stores times)."""
    return dt.datetime.now(CST).replace(tzinfo=None, microsecond=0)


def today() -> dt.date:
    return now().date()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def unit_address(session: Session, unit: Organization) -> str:
    """The purchaser unit's address, the default 收货地址 (placeholder 默认本单位地址): the
    registered one, else the unit's name at its region (province, city, district), never
    empty."""
    address = _text(unit.address)
    if address:
        return address
    names: list[str] = []
    region = session.get(Region, unit.region_id) if unit.region_id is not None else None
    while region is not None and len(names) < 4:
        names.append(region.name)
        region = session.get(Region, region.parent_id) if region.parent_id is not None else None
    return "".join(reversed(names)) + unit.name


_SPACE = re.compile(r"\s+")


def normalize(text: Any) -> str:
    """Search and duplicate key: NFKC (full-width -> half-width), case-folded, no spaces."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", _text(text)).casefold())


def _actor_scope(scope: Scope | None) -> Scope:
    return scope or current_scope()


def _privileged(scope: Scope, session: Session) -> bool:
    """The platform (admin, system) and the centralized procurement institution (集中采购机构,
    organisation type ``central_procurement``; commercial agencies are not)."""
    if scope.unrestricted:
        return True
    if scope.actor != "agency" or not scope.org_id:
        return False
    return session.execute(select(Organization.org_type).where(
        Organization.id == scope.org_id)).scalar() == "central_procurement"


def _own_units(session: Session, org_id: int | None) -> set[int]:
    if org_id is None:
        return set()
    rows = session.execute(select(Organization.id).where(
        or_(Organization.id == org_id, Organization.parent_id == org_id))).scalars()
    return set(rows)


def label(mapping: dict[str, str], value: Any) -> str:
    return mapping.get(value, value or "")
