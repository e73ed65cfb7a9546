"""Record rules of ``sme_policy``: one :class:`core.rules.ModelRules` per model, named by its
API and its page alike. Bad input raises :class:`RuleError` by field and writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base import services as pb
from addons.procurement_base.models import PROJECT_STATES
from core.errors import ConflictError, ForbiddenError
from core.rules import ModelRules, is_persisted, related_object, text_value
from core.tenancy import current_scope

from . import policy
from .models import ARRANGEMENTS, INDUSTRIES, SIZES, Declaration, Disclosure, ProjectPolicy

HUNDRED = Decimal("100")


def percent(errors: pb.Errors, field: str, value: Any, label: str, *,
            required: bool = False) -> Decimal | None:
    """A percentage 0-100 with at most two decimals (None when empty and not required)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, f"请填写{label}")
        return None
    if isinstance(value, float | bool):
        errors.add(field, f"{label}请以文本形式填写（例如 \"12.5\"）")
        return None
    try:
        number = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        errors.add(field, f"{label}不是有效的数字")
        return None
    if not number.is_finite() or number < 0 or number > HUNDRED:
        errors.add(field, f"{label}应在 0 到 100 之间")
        return None
    if number != number.quantize(Decimal("0.01")):
        errors.add(field, f"{label}最多保留两位小数")
        return None
    return number.quantize(Decimal("0.01"))


class ProjectPolicyRules(ModelRules):
    """中小企业预留设置: one per project, by who manages the project, while it is a draft."""

    def validate(self, session: Session, item: ProjectPolicy) -> None:
        errors = pb.Errors()
        with session.no_autoflush:
            project = related_object(session, item, "project")
            if project is None or not is_persisted(project):
                errors.add("project", "请选择采购项目")
                errors.raise_if_any()
            pb.assert_manages_project(session, project)
            if item.region_id is None and getattr(item, "region", None) is None:
                item.region = project.region
            elif (item.region.id if item.region is not None else item.region_id) != project.region_id:
                errors.add("region", f"所在地区必须与采购项目一致（{project.region.name}）")
            if project.status != "draft" and self.changed(
                    item, "project_id", "suits_sme", "reason", "small_micro_percent",
                    "deduction_rate", "group_deduction_rate"):
                errors.add("project", f"项目状态为“{PROJECT_STATES.get(project.status)}”，"
                                      "发布后中小企业预留设置不能修改")
            elif not is_persisted(item) and project.status != "draft":
                errors.add("project", f"项目状态为“{PROJECT_STATES.get(project.status)}”，"
                                      "只能为草稿项目填写中小企业预留设置")
            if item.suits_sme is None:
                item.suits_sme = True
            item.reason = text_value(item.reason) or None
            item.note = text_value(item.note) or None
            if not item.suits_sme and not item.reason:
                errors.add("reason", "项目不适宜由中小企业提供时须填写理由")
            if item.reason and len(item.reason) > 2000:
                errors.add("reason", "理由不能超过 2000 个字符")
            item.small_micro_percent = percent(errors, "small_micro_percent",
                                               item.small_micro_percent, "面向小微企业的比例")
            rate = percent(errors, "deduction_rate", item.deduction_rate, "价格扣除比例")
            group = percent(errors, "group_deduction_rate", item.group_deduction_rate,
                            "联合体/分包价格扣除比例")
            item.deduction_rate, item.group_deduction_rate = rate, group
            if (rate or group) and project.sme_measure == "whole":
                errors.add("deduction_rate", "整体预留给中小企业的项目不再给予价格扣除")
            for value, field, is_group in ((rate, "deduction_rate", False),
                                           (group, "group_deduction_rate", True)):
                if value is None or field in errors:
                    continue
                low, high = policy.deduction_range(session, project, is_group)
                if not low <= value <= high:
                    errors.add(field, f"价格扣除比例应在 {low}% 至 {high}% 之间")
            dup = session.execute(select(ProjectPolicy.id).where(
                ProjectPolicy.project_id == project.id, ProjectPolicy.id != (item.id or -1))
                .execution_options(erp_unscoped=True)).first()
            if dup is not None:
                errors.add("project", f"项目“{project.number}”已有中小企业预留设置", duplicate=True)
        errors.raise_if_any()

    def may_delete(self, session: Session, item: ProjectPolicy) -> str | None:
        if item.project is not None and item.project.status != "draft":
            return "项目已发布，中小企业预留设置不能删除"
        return None


class DeclarationRules(ModelRules):
    """中小企业声明函: by the bid's supplier, before the bid deadline, one per bid."""

    def validate(self, session: Session, item: Declaration) -> None:
        if is_persisted(item) and not self.changed(
                item, "industry", "size", "arrangement", "small_micro_share", "employees",
                "revenue", "declared_on"):
            return  # saved again unchanged: nothing to check (nor refuse after the deadline)
        errors = pb.Errors()
        scope = current_scope()
        with session.no_autoflush:
            bid = related_object(session, item, "bid")
            if bid is None or not is_persisted(bid):
                errors.add("bid", "请选择投标")
                errors.raise_if_any()
            if scope.actor == "supplier" and bid.supplier_id != scope.org_id:
                raise ForbiddenError("只能为本单位的投标出具中小企业声明函")
            project = bid.project or bid.package.project
            if project.status != "published" or bid.status != "submitted":
                errors.add("bid", "只能在投标截止前为有效投标出具或修改声明函")
            if item.declared_on is None:
                item.declared_on = dt.date.today()
            if not isinstance(item.declared_on, dt.date):
                errors.add("declared_on", "声明日期格式不正确")
            elif project.bid_deadline is not None and item.declared_on > project.bid_deadline.date():
                errors.add("declared_on", "声明日期晚于投标截止时间，不能出具或修改声明函")
            item.package_id = bid.package_id
            item.supplier_id = bid.supplier_id
            if getattr(item, "region", None) is None:
                item.region = bid.region
            elif item.region.id != bid.region_id:
                errors.add("region", f"所在地区必须与投标一致（{bid.region.name}）")
            if item.industry not in INDUSTRIES:
                errors.add("industry", "请选择所属行业（" + "、".join(INDUSTRIES.values()) + "）")
            if item.size == "large":
                errors.add("size", "大型企业不出具中小企业声明函")
            elif item.size not in SIZES:
                errors.add("size", "请选择企业规模（" + "、".join(SIZES.values()) + "）")
            item.arrangement = item.arrangement or "single"
            if item.arrangement not in ARRANGEMENTS:
                errors.add("arrangement", "投标方式只能是" + "、".join(ARRANGEMENTS.values()))
            share = percent(errors, "small_micro_share", item.small_micro_share,
                            "小微企业份额", required=item.arrangement in ("consortium", "subcontract"))
            if item.arrangement == "single" and share is not None:
                errors.add("small_micro_share", "独立投标不填写小微企业份额")
            item.small_micro_share = share
            if item.employees is not None and (not isinstance(item.employees, int)
                                               or item.employees < 0):
                errors.add("employees", "从业人员应为不小于 0 的整数")
            if item.revenue not in (None, ""):
                pb.check_money(errors, "revenue", item.revenue, "营业收入", positive=False)
            else:
                item.revenue = None
            dup = session.execute(select(Declaration.id).where(
                Declaration.bid_id == bid.id, Declaration.id != (item.id or -1))
                .execution_options(erp_unscoped=True)).first()
            if dup is not None:
                errors.add("bid", "该投标已出具中小企业声明函", duplicate=True)
        errors.raise_if_any()

    def may_delete(self, session: Session, item: Declaration) -> str | None:
        bid = item.bid
        project = bid.project or bid.package.project
        if project.status != "published" or bid.status != "submitted":
            return "开标后声明函不能删除"
        return None


class DisclosureRules(ModelRules):
    """年度公开信息: made by :func:`disclosure.compute` (add = choose unit and year); only the
    shortfall explanation is edited, and only before sign-off."""

    def before_add(self, session: Session, item: Disclosure) -> None:
        from . import disclosure

        disclosure.prepare_new(session, item)

    def validate(self, session: Session, item: Disclosure) -> None:
        if self.changed(item, "unit_id", "year", "total_amount", "reserved_total",
                        "sme_amount", "small_micro_amount", "status"):
            raise ConflictError("公开信息的数据由系统根据合同计算，不能手工修改（可执行“重新计算”）")
        item.shortfall_explanation = text_value(item.shortfall_explanation) or None
        if self.changed(item, "shortfall_explanation") and item.status not in ("draft", "reviewed"):
            errors = pb.Errors()
            errors.add("shortfall_explanation", "公开信息已签发，不能修改未完成目标的说明")
            errors.raise_if_any()

    def may_delete(self, session: Session, item: Disclosure) -> str | None:
        if item.status in ("signed", "published"):
            return "已签发或已公开的公开信息不能删除"
        return None


PROJECT_POLICY = ProjectPolicyRules()
DECLARATION = DeclarationRules()
DISCLOSURE = DisclosureRules()
