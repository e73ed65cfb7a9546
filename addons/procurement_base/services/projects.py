"""Projects, their packages and bids: validation, the actor checks, winners."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from core.models import ORG_TYPES, Organization
from core.services.money import fmt_yuan, to_money
from core.tenancy import Scope, current_scope

from ..models import BID_STATES, METHODS, PROJECT_STATES, SME_MEASURES, Bid, Package, Project
from .common import (
    CST,
    ZERO,
    Errors,
    RuleError,
    _changed,
    _derive_region,
    _fmt_date,
    _missing,
    _money_attr,
    _old,
    _persisted,
    _rel,
    _subtree,
    _text,
    _unscoped,
)

PURCHASER_TYPES = ("purchaser", "competent_unit")
AGENCY_TYPES = ("agency", "central_procurement")
#: what may no longer change once a project is published (a change needs a correction notice)
FROZEN_AFTER_PUBLISH = {
    "budget": "预算金额",
    "method": "采购方式",
    "purchaser": "采购人",
    "catalog": "采购品目",
    "sme_measure": "中小企业预留措施",
    "sme_reserved_amount": "预留金额",
    "region": "所在地区",
}


def _own_units(session: Session, org_id: int) -> set[int]:
    """An organisation and the units below it (a competent unit's budget units)."""
    ids = {org_id}
    todo = [org_id]
    while todo:
        rows = session.execute(
            select(Organization.id).where(Organization.parent_id.in_(todo))
        ).scalars().all()
        todo = [r for r in rows if r not in ids]
        ids.update(todo)
    return ids


def _check_actor_project(session: Session, errors: Errors, project: Project,
                         purchaser: Organization | None, agency: Organization | None,
                         scope: Scope, *, field_prefix: str = "") -> None:
    """A purchaser's user manages the projects of its unit (and units below it); an
    agency's user those entrusted to its agency (filled in when left empty)."""
    if scope.org_id is None or scope.unrestricted:
        return
    if scope.actor == "purchaser":
        own = _own_units(session, scope.org_id)
        old = _old(project, "purchaser_id")
        if (purchaser is not None and purchaser.id not in own) or (old is not None and old not in own):
            errors.add(field_prefix or "purchaser", "只能管理本单位（及所属预算单位）的采购项目")
    elif scope.actor == "agency":
        old = _old(project, "agency_id")
        if agency is None and not field_prefix:
            agency = project.agency = session.get(Organization, scope.org_id)
        if (agency is not None and agency.id != scope.org_id) or (old is not None and old != scope.org_id):
            errors.add(field_prefix or "agency", "只能管理委托给本机构的采购项目")


def _check_project_dates(errors: Errors, p: Project) -> None:
    notice, deadline = p.notice_date, p.bid_deadline
    opening, award, signed = p.opening_date, p.award_date, p.contract_date
    if notice and deadline and deadline.date() < notice:
        errors.add("bid_deadline", f"投标截止时间不能早于公告日期（{_fmt_date(notice)}）")
    if notice and opening and opening < notice:
        errors.add("opening_date", f"开标日期不能早于公告日期（{_fmt_date(notice)}）")
    if deadline and opening and opening < deadline.date():
        errors.add("opening_date", f"开标日期不能早于投标截止时间（{_fmt_date(deadline)}）")
    if award and opening and award < opening:
        errors.add("award_date", f"中标日期不能早于开标日期（{_fmt_date(opening)}）")
    if award and not opening:
        errors.add("award_date", "尚未开标，不能填写中标日期")
    if signed and award and signed < award:
        errors.add("contract_date", f"合同签订日期不能早于中标日期（{_fmt_date(award)}）")
    if signed and not award:
        errors.add("contract_date", "尚未确定中标，不能填写合同签订日期")


def validate_project(session: Session, p: Project, *, scope: Scope | None = None) -> None:
    """采购项目: number unique in its region, purchaser and agency of the right types, money,
    SME set-aside, dates in order, packages within the budget, nothing essential changed
    after publication."""
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        purchaser = _rel(session, p, "purchaser")
        agency = _rel(session, p, "agency")
        catalog = _rel(session, p, "catalog")
        region = _rel(session, p, "region")
        new = not inspect(p).persistent
        if new:
            p.status = "draft"

        p.number = _text(p.number)
        p.name = _text(p.name)
        if not p.number:
            errors.add("number", "项目编号不能为空")
        if not p.name:
            errors.add("name", "项目名称不能为空")
        if not _missing(errors, "purchaser", purchaser, "采购人"):
            if purchaser.org_type not in PURCHASER_TYPES:
                errors.add("purchaser", f"“{purchaser.name}”不是采购人或主管预算单位")
            elif not purchaser.active:
                errors.add("purchaser", f"采购人“{purchaser.name}”已停用")
            if region is None:
                region = p.region = purchaser.region
        if agency is not None and not _missing(errors, "agency", agency, "代理机构"):
            if agency.org_type not in AGENCY_TYPES:
                errors.add("agency", f"“{agency.name}”不是采购代理机构或集中采购机构")
        if not _missing(errors, "catalog", catalog, "采购品目") and not catalog.active:
            errors.add("catalog", f"品目“{catalog}”已停用")
        if not p.method:
            errors.add("method", "请选择采购方式")
        elif p.method not in METHODS:
            errors.add("method", "采购方式不正确，可选：" + "、".join(METHODS.values()))
        budget = _money_attr(errors, p, "budget", "预算金额")

        measure = p.sme_measure or "none"
        p.sme_measure = measure
        if measure not in SME_MEASURES:
            errors.add("sme_measure", "中小企业预留措施不正确，可选：" + "、".join(SME_MEASURES.values()))
        reserved = p.sme_reserved_amount
        if measure == "none":
            if reserved not in (None, "") and reserved != 0:
                errors.add("sme_reserved_amount", "未采取预留措施时不能填写预留金额")
            p.sme_reserved_amount = None
        elif measure == "whole":
            # the whole project is reserved: the set-aside amount is the budget
            if budget is not None:
                p.sme_reserved_amount = budget
        else:
            amount = _money_attr(errors, p, "sme_reserved_amount", "预留金额")
            if amount is not None and budget is not None and amount > budget:
                errors.add("sme_reserved_amount",
                           f"预留金额 {fmt_yuan(amount)} 超过项目预算 {fmt_yuan(budget)}")

        if region is None:
            errors.add("region", "请选择所在地区")
        elif purchaser is not None and _persisted(purchaser) and purchaser.region_id not in _subtree(session, region.id):
            errors.add("purchaser", f"采购人“{purchaser.name}”不在项目所在地区（{region.name}）或其下级地区")
        if region is not None and p.number and "number" not in errors:
            dup = session.execute(_unscoped(select(Project.id).where(
                Project.region_id == region.id, Project.number == p.number,
                Project.id != (p.id or -1)))).first()
            if dup is not None:
                errors.add("number", f"项目编号“{p.number}”在本地区已存在", duplicate=True)

        if not new and budget is not None:
            packaged = session.execute(
                select(func.coalesce(func.sum(Package.budget), 0)).where(Package.project_id == p.id)
            ).scalar_one()
            packaged = to_money(packaged, strict=False) if packaged is not None else ZERO
            if budget < packaged:
                errors.add("budget", f"项目预算不能低于各采购包预算合计 {fmt_yuan(packaged)}")
        if not new and p.status != "draft":
            for key in _changed(p, *FROZEN_AFTER_PUBLISH):
                errors.add(key, f"项目已发布（{PROJECT_STATES.get(p.status, p.status)}），"
                                f"不能再修改{FROZEN_AFTER_PUBLISH[key]}，如需变更请发布更正公告")
        _check_project_dates(errors, p)
        _check_actor_project(session, errors, p, purchaser, agency, scope)
    errors.raise_if_any()


def _packages_total(session: Session, project_id: int, exclude_id: int | None = None) -> Decimal:
    stmt = select(func.coalesce(func.sum(Package.budget), 0)).where(Package.project_id == project_id)
    if exclude_id is not None:
        stmt = stmt.where(Package.id != exclude_id)
    value = session.execute(stmt).scalar_one()
    return to_money(value, strict=False) if value is not None else ZERO


def validate_package(session: Session, pkg: Package, *, scope: Scope | None = None) -> None:
    """采购包: in its project's region, number unique in the project, budgets of all packages
    within the project budget, only while the project is a draft."""
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        project = _rel(session, pkg, "project")
        region = _rel(session, pkg, "region")
        pkg.number = _text(pkg.number)
        pkg.name = _text(pkg.name)
        if not pkg.number:
            errors.add("number", "包号不能为空")
        if not pkg.name:
            errors.add("name", "采购包名称不能为空")
        budget = _money_attr(errors, pkg, "budget", "采购包预算")
        if pkg.sme_reserved is None:
            pkg.sme_reserved = False
        if not _missing(errors, "project", project, "采购项目"):
            _derive_region(errors, pkg, region, project.region, "所属项目")
            if project.status != "draft":
                errors.add("project", f"项目状态为“{PROJECT_STATES.get(project.status)}”，"
                                      "只有草稿状态的项目可以新增或修改采购包")
            if budget is not None and project.budget is not None:
                total = _packages_total(session, project.id, pkg.id) + budget
                if total > project.budget:
                    errors.add("budget", f"各采购包预算合计 {fmt_yuan(total)} 超过项目预算 "
                                         f"{fmt_yuan(project.budget)}")
            if pkg.sme_reserved and project.sme_measure == "none":
                errors.add("sme_reserved", "项目未采取中小企业预留措施，采购包不能标记为专门面向中小企业")
            if pkg.number and "number" not in errors:
                dup = session.execute(_unscoped(select(Package.id).where(
                    Package.project_id == project.id, Package.number == pkg.number,
                    Package.id != (pkg.id or -1)))).first()
                if dup is not None:
                    errors.add("number", f"包号“{pkg.number}”在本项目中已存在", duplicate=True)
            _check_actor_project(session, errors, project, project.purchaser, project.agency,
                                 scope, field_prefix="project")
        elif region is None:
            errors.add("region", "请选择所在地区")
    errors.raise_if_any()


# -- bids -------------------------------------------------------------------------------------
def validate_bid(session: Session, bid: Bid, *, scope: Scope | None = None,
                 now: dt.datetime | None = None) -> None:
    """投标: by a supplier (a supplier's user bids only for itself), on a package of the
    project given, in its region, while the project accepts bids and before the deadline."""
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        package = _rel(session, bid, "package")
        project = _rel(session, bid, "project")
        supplier = _rel(session, bid, "supplier")
        region = _rel(session, bid, "region")
        new = not inspect(bid).persistent
        if new:
            bid.status = "submitted"
        _money_attr(errors, bid, "price", "投标报价")
        if not _missing(errors, "supplier", supplier, "供应商"):
            if supplier.org_type != "supplier":
                kind = ORG_TYPES.get(supplier.org_type, supplier.org_type)
                errors.add("supplier", f"“{supplier.name}”是{kind}，不是供应商，不能投标")
            elif not supplier.active:
                errors.add("supplier", f"供应商“{supplier.name}”已停用")
            if scope.actor == "supplier" and scope.org_id is not None and supplier.id != scope.org_id:
                errors.add("supplier", "只能以本单位名义投标")
        if project is not None and not _persisted(project):
            errors.add("project", "所选采购项目不存在或不在您的管辖范围内")
            project = None
        if not _missing(errors, "package", package, "采购包"):
            if project is None:
                project = bid.project = package.project
            elif package.project_id != project.id:
                errors.add("package", f"采购包“{package.name}”不属于所选项目“{project.number}”")
            _derive_region(errors, bid, region, package.region, "采购包")
            changed = _changed(bid, "price", "package", "supplier", "project")
            if project is not None and changed and package.project_id == project.id:
                if project.status != "published":
                    errors.add("package", f"项目状态为“{PROJECT_STATES.get(project.status)}”，"
                                          "只有已发布、尚未开标的项目接受投标")
                elif not new and bid.status != "submitted":
                    errors.add("price", f"投标状态为“{BID_STATES.get(bid.status)}”，不能修改")
                if new:
                    bid.submitted_at = bid.submitted_at or (now or dt.datetime.now(CST).replace(tzinfo=None))
                    if project.bid_deadline and bid.submitted_at > project.bid_deadline:
                        errors.add("submitted_at", f"已过投标截止时间（{_fmt_date(project.bid_deadline)}），不接受投标")
                if scope.actor in ("purchaser", "agency"):
                    _check_actor_project(session, errors, project, project.purchaser,
                                         project.agency, scope, field_prefix="project")
            if supplier is not None and _persisted(supplier) and "supplier" not in errors:
                dup = session.execute(_unscoped(select(Bid.id).where(
                    Bid.package_id == package.id, Bid.supplier_id == supplier.id,
                    Bid.id != (bid.id or -1)))).first()
                if dup is not None:
                    errors.add("supplier", f"“{supplier.name}”已对该采购包投标", duplicate=True)
        elif region is None:
            errors.add("region", "请选择所在地区")
    errors.raise_if_any()


def mark_winner(session: Session, bid: Bid) -> None:
    """Record ``bid`` as the package's winning bid (中标候选人确定为中标人): the project must be
    evaluated; a previous winner of the same package goes back to "submitted"."""
    project = bid.package.project
    if project.status != "evaluated":
        raise RuleError({"winning_bids": [
            f"项目状态为“{PROJECT_STATES.get(project.status)}”，评审完成后才能确定中标人"]})
    if bid.status not in ("submitted", "won"):
        raise RuleError({"winning_bids": [
            f"“{bid.supplier.name}”的投标状态为“{BID_STATES.get(bid.status)}”，不能确定为中标"]})
    others = session.execute(select(Bid).where(
        Bid.package_id == bid.package_id, Bid.id != bid.id, Bid.status == "won")).scalars()
    for other in others:
        other.status = "submitted"
    bid.status = "won"
