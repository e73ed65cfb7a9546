"""The record rules of ``deposit_ledger``, one :class:`core.rules.ModelRules` per model,
shared by the API and the pages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import RuleError
from core.rules import ModelRules

from . import services
from .models import Deposit, LprRate


class DepositRules(ModelRules):
    """A new deposit is validated and its receipt written to the ledger in the same
    transaction; an edit may change only the refund trigger, accounts and notes; a deposit
    is never deleted (reverse its receipt)."""

    def validate(self, session: Session, item: Deposit) -> None:
        for f in ("guarantee_type", "trigger"):  # a blank page choice is "none"
            if getattr(item, f) == "":
                setattr(item, f, None)
        services.validate_deposit(session, item)

    def before_add(self, session: Session, item: Deposit) -> None:
        self.validate(session, item)
        services.add_receipt(session, item)

    def may_delete(self, session: Session, item: Any) -> None:
        services.check_delete(session, item)


class ProjectReasonRules(ModelRules):
    def validate(self, session: Session, item: Any) -> None:
        services.validate_project_reason(session, item)

    def may_delete(self, session: Session, item: Any) -> None:
        services.check_delete(session, item)


class LprRules(ModelRules):
    def validate(self, session: Session, item: LprRate) -> None:
        services.validate_lpr(session, item)

    def may_delete(self, session: Session, item: LprRate) -> None:
        if session.execute(select(func.count(LprRate.id))).scalar_one() <= 1:
            raise RuleError({"_schema": ["至少保留一条利率"]})  # the API's answer since 1.0


DEPOSIT = DepositRules()
PROJECT_REASON = ProjectReasonRules()
LPR = LprRules()
