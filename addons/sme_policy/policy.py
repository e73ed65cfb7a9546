"""The set-aside rules (预留) checked when a project is published, the SME-bid count checked at
bid opening, the re-run of a reserved project without reservation, and the price deduction
for small and micro firms (价格扣除). Plain Python on a session; every number a setting.

Sources: 《政府采购促进中小企业发展管理办法》（财库〔2020〕46号）arts. 6, 8, 9, 10;
《关于进一步加大政府采购支持中小企业力度的通知》（财库〔2022〕19号）.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from addons.procurement_base import services as pb
from addons.procurement_base.models import SME_MEASURES, Bid, Package, Project
from core.errors import ConflictError, RuleError
from core.services import settings
from core.services.money import fmt_yuan
from core.tenancy import current_scope

from .models import SIZES, SMALL_MICRO, Declaration, ProjectPolicy

MODULE = "sme_policy"
HUNDRED = Decimal("100")
_46 = "《政府采购促进中小企业发展管理办法》（财库〔2020〕46号）"
_19 = "《关于进一步加大政府采购支持中小企业力度的通知》（财库〔2022〕19号）"


def _declare(key: str, type_: str, default: Any, label: str, source: str, help_zh: str = "") -> None:
    settings.declare(key, type=type_, default=default, label_zh=label, help_zh=help_zh,
                     source=source, module=MODULE)


_declare("sme.threshold_goods_services", "decimal", "2000000", "货物、服务项目整体预留上限（元）",
         _46 + "第八条",
         "预算不超过该金额、适宜由中小企业提供的货物和服务项目，原则上全部预留给中小企业。")
_declare("sme.threshold_works", "decimal", "4000000", "工程项目整体预留上限（元）", _46 + "第八条")
_declare("sme.reserve_percent", "percent", "30", "超过上限的货物、服务项目预留比例下限（%）",
         _46 + "第八条")
_declare("sme.reserve_percent_works", "percent", "40", "超过上限的工程项目预留比例下限（%）",
         _19 + "（工程项目预留份额提高至40%以上，check）")
_declare("sme.small_micro_percent", "percent", "60", "预留份额中面向小微企业的比例下限（%）",
         _46 + "第八条")
_declare("sme.deduction_min", "percent", "10", "小微企业价格扣除比例下限（货物、服务，%）", _19)
_declare("sme.deduction_max", "percent", "20", "小微企业价格扣除比例上限（货物、服务，%）", _19)
_declare("sme.group_deduction_min", "percent", "4",
         "联合体/分包给小微企业的价格扣除比例下限（货物、服务，%）", _19)
_declare("sme.group_deduction_max", "percent", "6",
         "联合体/分包给小微企业的价格扣除比例上限（货物、服务，%）", _19)
_declare("sme.works_deduction_min", "percent", "3", "小微企业价格扣除比例下限（工程，%）",
         _46 + "第九条（工程项目另定，check）")
_declare("sme.works_deduction_max", "percent", "5", "小微企业价格扣除比例上限（工程，%）",
         _46 + "第九条（工程项目另定，check）")
_declare("sme.works_group_deduction_min", "percent", "1",
         "联合体/分包给小微企业的价格扣除比例下限（工程，%）", _46 + "第九条（check）")
_declare("sme.works_group_deduction_max", "percent", "2",
         "联合体/分包给小微企业的价格扣除比例上限（工程，%）", _46 + "第九条（check）")
_declare("sme.group_share_min", "percent", "30",
         "联合体/分包享受价格扣除时小微企业份额下限（%）", _19)
_declare("sme.min_sme_bids", "int", 3, "预留采购包符合条件的中小企业投标最少家数",
         _46 + "第十条（不足三家的，终止后可转为非预留重新采购）")


def _unscoped(stmt: Any) -> Any:
    """Rule checks look at the records whoever asks (bids are sealed until opening)."""
    return stmt.execution_options(erp_unscoped=True)


def setting(key: str, region_id: int | None, session: Session) -> Any:
    return settings.get(key, region_id, session=session)


def kind_of(project: Project) -> str:
    """goods / works / services, from the project's catalog item."""
    catalog = project.catalog
    return catalog.kind if catalog is not None else "goods"


def policy_of(session: Session, project: Project) -> ProjectPolicy | None:
    if project.id is None:
        return None
    return session.execute(_unscoped(select(ProjectPolicy).where(
        ProjectPolicy.project_id == project.id))).scalars().first()


def exempt(project: Project) -> bool:
    """Framework-agreement procurement is exempt from the set-aside (46号第六条)."""
    return project.method == "framework_agreement"


def threshold(session: Session, project: Project) -> Decimal:
    key = "sme.threshold_works" if kind_of(project) == "works" else "sme.threshold_goods_services"
    return setting(key, project.region_id, session)


def reserve_percent(session: Session, project: Project) -> Decimal:
    key = "sme.reserve_percent_works" if kind_of(project) == "works" else "sme.reserve_percent"
    return setting(key, project.region_id, session)


def publication_refusal(session: Session, project: Project) -> str | None:
    """Why ``project`` may not be published under the set-aside rules (None: it may).

    * framework agreements are exempt;
    * a project that suits SMEs and is within the threshold (2 million goods/services,
      4 million works) is reserved as a whole, else a reason is recorded;
    * a larger one reserves at least 30 % (works 40 %) of its budget, of which at least 60 %
      for small and micro firms, else a reason is recorded;
    * a project marked as not suiting SMEs records why.
    """
    if exempt(project) or project.budget is None:
        return None
    policy = policy_of(session, project)
    reason = (policy.reason or "").strip() if policy is not None else ""
    if policy is not None and not policy.suits_sme:
        return None if reason else "项目标记为不适宜由中小企业提供，请在“中小企业预留设置”中填写理由"
    measure = project.sme_measure or "none"
    limit = threshold(session, project)
    if project.budget <= limit:
        if measure == "whole" or reason:
            return None
        return (f"预算 {fmt_yuan(project.budget)} 未超过 {fmt_yuan(limit)}，适宜由中小企业提供的项目"
                "应整体预留给中小企业；未预留的，请在“中小企业预留设置”中填写理由")
    if measure == "whole":
        return None
    pct = reserve_percent(session, project)
    reserved = project.sme_reserved_amount or Decimal("0")
    need = (project.budget * pct / HUNDRED).quantize(Decimal("0.01"))
    if measure == "none" or reserved < need:
        if reason:
            return None
        return (f"预算超过 {fmt_yuan(limit)} 的项目应预留不低于 {pct}% 的份额（{fmt_yuan(need)}）"
                f"给中小企业，当前预留 {fmt_yuan(reserved)}；未预留的，请在“中小企业预留设置”中填写理由")
    sm_min = setting("sme.small_micro_percent", project.region_id, session)
    sm = policy.small_micro_percent if policy is not None else None
    if (sm is None or sm < sm_min) and not reason:
        return (f"预留份额中面向小微企业的比例应不低于 {sm_min}%，请在“中小企业预留设置”中填写"
                "（或填写理由）")
    return None


# -- bid opening: a reserved package needs three qualifying SME bids ---------------------------
def reserved_packages(session: Session, project: Project) -> list[Package]:
    if project.sme_measure == "whole":
        return list(project.packages)
    return [p for p in project.packages if p.sme_reserved]


def qualifying_bids(session: Session, package: Package) -> int:
    """Bids on ``package`` (not withdrawn) whose 中小企业声明函 states an SME size."""
    return session.execute(_unscoped(
        select(func.count(Declaration.id)).join(Bid, Declaration.bid_id == Bid.id).where(
            Bid.package_id == package.id, Bid.status.in_(("submitted", "won", "lost")),
            Declaration.size.in_(tuple(SIZES))))).scalar_one()


def short_packages(session: Session, project: Project) -> list[tuple[Package, int]]:
    need = setting("sme.min_sme_bids", project.region_id, session)
    out = []
    for pkg in reserved_packages(session, project):
        n = qualifying_bids(session, pkg)
        if n < need:
            out.append((pkg, n))
    return out


def opening_refusal(session: Session, project: Project) -> str | None:
    if exempt(project):
        return None
    short = short_packages(session, project)
    if not short:
        return None
    need = setting("sme.min_sme_bids", project.region_id, session)
    names = "、".join(f"包{p.number}（{n} 家）" for p, n in short)
    return (f"预留给中小企业的采购包 {names} 符合条件的中小企业不足 {need} 家，不能开标：请终止采购，"
            "转为非预留项目重新组织采购（“中小企业预留设置”页的“转为非预留重新采购”）")


def rerun_unreserved(session: Session, project: Project, reason: str | None = None,
                     number: str | None = None) -> Project:
    """Terminate ``project`` (a reserved package had too few SME bids) and create its re-run:
    a draft copy without reservation, with the reason recorded. Returns the new project."""
    pb.assert_manages_project(session, project)
    if project.status != "published":
        raise ConflictError("只有已发布、尚未开标的项目可以转为非预留重新采购")
    short = short_packages(session, project)
    if not short:
        raise ConflictError("各预留采购包符合条件的中小企业投标均已达到要求，无需转为非预留")
    need = setting("sme.min_sme_bids", project.region_id, session)
    text = (reason or "").strip() or (
        f"预留采购包符合条件的中小企业不足 {need} 家（{_46}第十条），终止后转为非预留重新采购")
    number = (number or "").strip() or f"{project.number}-R"
    if len(number) > 50:
        raise RuleError({"number": ["项目编号不能超过 50 个字符"]})
    pb.transition_project(session, project, "terminate", reason=text, actor=current_scope().user_id)
    copy = Project(number=number, name=f"{project.name}（重新采购）", purchaser=project.purchaser,
                   agency=project.agency, catalog=project.catalog, method=project.method,
                   budget=project.budget, sme_measure="none", region=project.region,
                   bid_deadline=None, note=f"由项目 {project.number} 转为非预留重新采购")
    pb.validate_project(session, copy)
    session.add(copy)
    session.flush()
    for old in project.packages:
        pkg = Package(project=copy, number=old.number, name=old.name, budget=old.budget,
                      sme_reserved=False, region=copy.region)
        pb.validate_package(session, pkg)
        session.add(pkg)
    session.add(ProjectPolicy(project_id=copy.id, suits_sme=True, reason=text,
                              rerun_of_id=project.id, region_id=copy.region_id))
    session.flush()
    return copy


# -- price deduction (价格扣除) ------------------------------------------------------------------
def deduction_range(session: Session, project: Project, group: bool) -> tuple[Decimal, Decimal]:
    works = "works_" if kind_of(project) == "works" else ""
    kind = "group_deduction" if group else "deduction"
    return (setting(f"sme.{works}{kind}_min", project.region_id, session),
            setting(f"sme.{works}{kind}_max", project.region_id, session))


def package_reserved(project: Project, package: Package | None) -> bool:
    return project.sme_measure == "whole" or bool(package is not None and package.sme_reserved)


def deduction_for(session: Session, bid: Bid) -> tuple[Decimal, str] | None:
    """The deduction (per cent, reason) the evaluation applies to ``bid`` (None: none).

    Only in a non-reserved package; a small or micro firm bidding alone gets the project's
    rate; a consortium or subcontract giving small and micro firms at least the share
    (30 %) gets the group rate. Rates come from the project's settings (within range)."""
    package = bid.package
    project = package.project if package is not None else None
    if project is None or package_reserved(project, package) or exempt(project):
        return None
    decl = session.execute(_unscoped(select(Declaration).where(
        Declaration.bid_id == bid.id))).scalars().first()
    policy = policy_of(session, project)
    if decl is None or policy is None:
        return None
    if decl.arrangement == "single":
        if decl.size in SMALL_MICRO and policy.deduction_rate:
            return policy.deduction_rate, f"小微企业价格扣除 {policy.deduction_rate}%（{_19}）"
        return None
    share_min = setting("sme.group_share_min", project.region_id, session)
    if decl.small_micro_share is not None and decl.small_micro_share >= share_min \
            and policy.group_deduction_rate:
        label = "联合体" if decl.arrangement == "consortium" else "分包"
        return (policy.group_deduction_rate,
                f"{label}中小微企业份额 {decl.small_micro_share}%，价格扣除 "
                f"{policy.group_deduction_rate}%（{_19}）")
    return None


def measure_label(code: str | None) -> str:
    return SME_MEASURES.get(code or "none", "—")
