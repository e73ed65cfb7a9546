"""Business rules of ``sme_policy``: plain Python on a session, shared by the API, the page,
the CLI and the tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import ConflictError, DuplicateError, RuleError
from core.rules import ModelRules
from core.services import audit
from core.services.money import MoneyError, to_money
from core.services.statemachine import StateMachine, Transition

from .models import STATES, SmePolicyRecord

MODULE = "sme_policy"

FLOW = StateMachine(
    field="status", states=STATES, initial="draft", subject_zh="记录",
    transitions=[Transition("submit", "draft", "submitted", label_zh="提交")],
    on_transition=audit.transition_hook(module=MODULE),
)


class RecordRules(ModelRules):
    """One rules object, used by the API and the page alike."""

    def validate(self, session: Session, item: SmePolicyRecord) -> None:
        errors: dict[str, list[str]] = {}
        if not (item.code or "").strip():
            errors["code"] = ["请填写编号"]
        if not (item.title or "").strip():
            errors["title"] = ["请填写名称"]
        try:
            amount = to_money(item.amount if item.amount is not None else "0")
        except MoneyError as exc:
            errors["amount"] = [str(exc)]
        else:
            if amount < 0:
                errors["amount"] = ["金额不能为负数"]
            item.amount = amount
        if errors:
            raise RuleError(errors)
        same = select(func.count()).select_from(SmePolicyRecord).where(
            SmePolicyRecord.code == item.code.strip())
        if item.id is not None:
            same = same.where(SmePolicyRecord.id != item.id)
        if session.scalar(same.execution_options(erp_unscoped=True)):
            raise DuplicateError({"code": ["编号已存在"]})
        item.code = item.code.strip()
        if item.status is None:
            item.status = "draft"

    def before_update(self, session: Session, item: SmePolicyRecord) -> None:
        if item.status != "draft" and self.changed(item, "code", "title", "amount"):
            raise RuleError({"_schema": ["已提交的记录不能修改编号、名称和金额"]})
        super().before_update(session, item)

    def may_delete(self, session: Session, item: SmePolicyRecord) -> None:
        if item.status != "draft":
            raise ConflictError("只能删除草稿状态的记录")


RULES = RecordRules()


def transition(session: Session, record: SmePolicyRecord, name: str, *,
               reason: str | None = None) -> Any:
    """Move ``record`` along :data:`FLOW` (audited; refusals are core.errors errors)."""
    event = FLOW.trigger(record, name, reason=reason, session=session)
    if name == "submit":
        record.submitted_at = dt.datetime.now().replace(microsecond=0)
    return event
