"""Shared by the framework-agreement services: settings, actors, small helpers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from addons.emall.services.common import now as emall_now
from core.errors import ConflictError, ForbiddenError, NotFoundError, RuleError
from core.models import Organization, Region
from core.services import settings
from core.tenancy import Scope, current_scope, snapshot

from ..models import FaAgreement

MODULE = "framework_agreement"
ZERO = Decimal("0.00")
UNSCOPED = {"erp_unscoped": True}

__all__ = ["MODULE", "ZERO", "UNSCOPED", "ConflictError", "ForbiddenError", "NotFoundError",
           "RuleError", "now", "today", "text", "actor_scope", "is_platform", "own_unit_ids",
           "assert_collector", "entitled", "get_agreement", "setting"]

# -- settings (110号令; "(check)" items are platform defaults, see docs/framework_agreement.md) --
settings.declare("framework_agreement.goods_term_months", type="int", default="12",
                 label_zh="货物类框架协议期限上限（月）",
                 help_zh="货物项目框架协议有效期一般不超过 1 年。", source="财政部令第110号（待核对）",
                 module=MODULE)
settings.declare("framework_agreement.services_term_months", type="int", default="24",
                 label_zh="服务类框架协议期限上限（月）",
                 help_zh="服务项目框架协议有效期一般不超过 2 年。", source="财政部令第110号（待核对）",
                 module=MODULE)
settings.declare("framework_agreement.closed_response_days", type="int", default="20",
                 label_zh="封闭式框架协议响应期（日）",
                 help_zh="征集公告发布之日起至响应截止之日，不得少于该天数。",
                 source="财政部令第110号（待核对）", module=MODULE)
settings.declare("framework_agreement.elimination_rate", type="decimal", default="0.20",
                 label_zh="封闭式框架协议最低淘汰率",
                 help_zh="入围时淘汰的供应商占合格响应供应商的比例不得低于该比例，且至少淘汰一家。",
                 source="财政部令第110号（待核对）", module=MODULE)
settings.declare("framework_agreement.elimination_rate_lab", type="decimal", default="0.40",
                 label_zh="质量优先（实验室仪器）最低淘汰率",
                 source="财政部令第110号（待核对）", module=MODULE)
settings.declare("framework_agreement.shortlist_notice_workdays", type="int", default="2",
                 label_zh="入围结果公告期限（工作日）", source="财政部令第110号（待核对）", module=MODULE)
settings.declare("framework_agreement.deal_notice_workdays", type="int", default="2",
                 label_zh="成交结果单笔公告期限（工作日）",
                 help_zh="二次竞价、顺序轮候成交后发布成交结果公告的期限。",
                 source="财政部令第110号（待核对）", module=MODULE)
settings.declare("framework_agreement.summary_notice_workdays", type="int", default="10",
                 label_zh="直接选定汇总公告期限（协议期满后工作日）",
                 source="财政部令第110号（待核对）", module=MODULE)
settings.declare("framework_agreement.sign_days", type="int", default="30",
                 label_zh="入围结果确定后签订框架协议期限（日）",
                 source="财政部令第110号（待核对）", module=MODULE)
settings.declare("framework_agreement.application_review_workdays", type="int", default="5",
                 label_zh="开放式框架协议加入申请审核期限（工作日）",
                 source="平台默认值（待核对）", module=MODULE)
settings.declare("framework_agreement.competition_window_workdays", type="int", default="1",
                 label_zh="二次竞价最短响应期（工作日）",
                 help_zh="二次竞价的报价截止时间不得早于发起后第 N 个工作日。",
                 source="平台默认值（待核对）", module=MODULE)


def setting(session: Session, key: str, region_id: int | None) -> Any:
    return settings.get(f"framework_agreement.{key}", region_id, session=session)


def now() -> dt.datetime:
    """Beijing time, naive (as the e-mall stores times)."""
    return emall_now()


def today() -> dt.date:
    return now().date()


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def actor_scope(scope: Scope | None) -> Scope:
    return scope or current_scope()


def is_platform(scope: Scope) -> bool:
    return scope.unrestricted


def own_unit_ids(session: Session, org_id: int | None) -> set[int]:
    if org_id is None:
        return set()
    return set(session.execute(select(Organization.id).where(
        or_(Organization.id == org_id, Organization.parent_id == org_id)),
        execution_options=UNSCOPED).scalars())


def assert_collector(session: Session, agreement: FaAgreement, scope: Scope) -> None:
    """Only the collecting party (its users, or its competent unit's) and the platform."""
    if is_platform(scope):
        return
    collector = agreement.collector_id or (agreement.collector.id if agreement.collector else None)
    if scope.org_id is None or collector not in own_unit_ids(session, scope.org_id):
        raise ForbiddenError("只有该框架协议的征集人可以执行此操作")


def region_subtree(region_ids: list[int]) -> set[int]:
    snap = snapshot()
    out: set[int] = set()
    for rid in region_ids:
        out |= set(snap.subtree(rid))
    return out


def entitled(session: Session, agreement: FaAgreement, purchaser: Organization) -> bool:
    """The purchaser is named, or lies in an eligible region (or below)."""
    if purchaser.org_type not in ("purchaser", "competent_unit"):
        return False
    named = {o.id for o in agreement.eligible_purchasers}
    if purchaser.id in named or (purchaser.parent_id is not None and purchaser.parent_id in named):
        return True
    regions = [r.id for r in agreement.eligible_regions]
    return bool(regions) and purchaser.region_id in region_subtree(regions)


def get_agreement(session: Session, agreement_id: Any, *, lock: bool = False) -> FaAgreement:
    """An agreement by id whatever the reader's region (purchasers of other regions use it)."""
    try:
        pk = int(agreement_id)
    except (TypeError, ValueError):
        raise RuleError({"agreement": ["请选择框架协议"]}) from None
    stmt = select(FaAgreement).where(FaAgreement.id == pk)
    if lock:
        stmt = stmt.with_for_update()
    ag = session.execute(stmt, execution_options=UNSCOPED).scalar_one_or_none()
    if ag is None:
        raise NotFoundError("框架协议不存在")
    return ag


def region_name(session: Session, region_id: int) -> str:
    return session.execute(select(Region.name).where(Region.id == region_id)).scalar() or ""
