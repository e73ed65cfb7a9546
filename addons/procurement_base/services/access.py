"""Who manages a project or a contract; what may be deleted."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.tenancy import Scope, ScopeViolation, current_scope

from ..models import (
    CONTRACT_STATES,
    PROJECT_STATES,
    Bid,
    Contract,
    Package,
    Payment,
    PaymentPlan,
    Project,
)
from .common import Errors, RuleError, check_region_writable
from .projects import _check_actor_project, _own_units


def assert_manages_project(session: Session, project: Project, *, scope: Scope | None = None) -> None:
    """403 unless the user may act on the project (its region; a purchaser's own units, an
    agency's entrusted projects)."""
    scope = scope or current_scope()
    check_region_writable(project.region_id, scope=scope)
    errors = Errors()
    with session.no_autoflush:
        _check_actor_project(session, errors, project, project.purchaser, project.agency, scope,
                             field_prefix="project")
    if errors.messages:
        raise ScopeViolation("project", errors.messages["project"][0])


def assert_manages_contract(session: Session, contract: Contract, *,
                            scope: Scope | None = None) -> None:
    """403 unless the user may act on the contract (its region; a purchaser's own units)."""
    scope = scope or current_scope()
    check_region_writable(contract.region_id, scope=scope)
    if scope.actor == "purchaser" and scope.org_id is not None and not scope.unrestricted:
        with session.no_autoflush:
            if contract.purchaser_id not in _own_units(session, scope.org_id):
                raise ScopeViolation("purchaser", "只能管理本单位（及所属预算单位）的合同")


# -- deletes ----------------------------------------------------------------------------------
def check_delete(session: Session, obj: Any) -> None:
    """What may be deleted: drafts and records nothing depends on yet."""
    with session.no_autoflush:
        if isinstance(obj, Project):
            if obj.status != "draft":
                raise RuleError({"status": [f"项目状态为“{PROJECT_STATES.get(obj.status)}”，只能删除草稿项目"]})
        elif isinstance(obj, Package):
            if obj.project is not None and obj.project.status != "draft":
                raise RuleError({"project": ["项目已发布，不能删除采购包"]})
        elif isinstance(obj, Bid):
            if obj.status in ("won", "lost") or (obj.project or obj.package.project).status not in ("published",):
                raise RuleError({"status": ["开标后投标记录不能删除"]})
        elif isinstance(obj, Contract):
            if obj.status != "draft":
                raise RuleError({"status": [f"合同状态为“{CONTRACT_STATES.get(obj.status)}”，只能删除草稿合同"]})
        elif isinstance(obj, Payment | PaymentPlan):
            if obj.contract is not None and obj.contract.status in ("completed", "terminated"):
                raise RuleError({"contract": [f"合同已{CONTRACT_STATES.get(obj.contract.status)}，不能删除"]})
