"""Deletion rules and the reference data: a project's forfeiture reasons, LPR rates."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.services import (
    Errors,
    RuleError,
)
from core.tenancy import Scope, current_scope

from ..models import (
    Deposit,
    DepositEntry,
    LprRate,
    ProjectForfeitReason,
)
from .common import _date, _missing, _rel
from .deposits import _check_manages


def check_delete(session: Session, obj: Any) -> None:
    """A deposit is never deleted (its receipt is in the ledger): reverse the receipt."""
    if isinstance(obj, Deposit):
        raise RuleError({"_schema": ["保证金登记后不能删除；登记有误请冲销收取分录"]})
    if isinstance(obj, ProjectForfeitReason):
        used = session.execute(select(DepositEntry.id).join(Deposit, Deposit.id == DepositEntry.deposit_id)
                               .where(Deposit.project_id == obj.project_id,
                                      DepositEntry.reason_id == obj.reason_id)).first()
        if used is not None:
            raise RuleError({"_schema": ["该事由已被用于不予退还，不能删除"]})


def validate_project_reason(session: Session, pr: ProjectForfeitReason, *,
                            scope: Scope | None = None) -> None:
    scope = scope or current_scope()
    errors = Errors()
    with session.no_autoflush:
        project = _rel(session, pr, "project")
        reason = _rel(session, pr, "reason")
        if not _missing(errors, "project", project, "采购项目"):
            region = _rel(session, pr, "region")
            if region is None:
                pr.region_id = project.region_id
                pr.region = project.region
            elif region.id != project.region_id:
                errors.add("region", f"所在地区必须与采购项目一致（{project.region.name}）")
            _check_manages(session, errors, project, scope)
        if not _missing(errors, "reason", reason, "不予退还事由") and not reason.active:
            errors.add("reason", "该事由已停用")
        if project is not None and reason is not None and not errors.messages:
            dup = session.execute(select(ProjectForfeitReason.id).where(
                ProjectForfeitReason.project_id == project.id,
                ProjectForfeitReason.reason_id == reason.id,
                ProjectForfeitReason.id != (pr.id or -1))).first()
            if dup is not None:
                errors.add("reason", "该项目已载明此事由", duplicate=True)
    errors.raise_if_any()


def validate_lpr(session: Session, rate: LprRate) -> None:
    errors = Errors()
    d = _date(errors, "effective_date", rate.effective_date, "生效日期", not_future=False)
    if d is not None:
        rate.effective_date = d
    try:
        value = Decimal(str(rate.rate_percent)) if rate.rate_percent is not None else None
    except Exception:
        value = None
    if value is None or not value.is_finite():
        errors.add("rate_percent", "请填写利率（百分比，如 3.45）")
    elif not Decimal("0") < value < Decimal("100"):
        errors.add("rate_percent", "利率须大于0且小于100（单位：%）")
    elif value.as_tuple().exponent < -4:
        errors.add("rate_percent", "利率最多四位小数")
    if d is not None and not errors.messages:
        dup = session.execute(select(LprRate.id).where(LprRate.effective_date == d,
                                                       LprRate.id != (rate.id or -1))).first()
        if dup is not None:
            errors.add("effective_date", f"{d.isoformat()} 的利率已存在", duplicate=True)
    errors.raise_if_any()

