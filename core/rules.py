"""One rules object per model, read by the model's API and its pages alike.

A module writes its record rules once, as a :class:`ModelRules` subclass (plain Python on a
SQLAlchemy session: no request, testable alone), and names it on both doors::

    from core.errors import ConflictError, RuleError
    from core.rules import ModelRules

    class ListingRules(ModelRules):
        def validate(self, session, item):            # add and update
            if item.price is not None and item.price <= 0:
                raise RuleError({"price": ["价格必须大于 0"]})

        def before_update(self, session, item):       # update only (then validate)
            if self.changed(item, "brand", "model") and item.status == "listed":
                raise RuleError({"brand": ["已上架的商品不能修改品牌和型号"]})
            super().before_update(session, item)

        def may_delete(self, session, item):
            if item.status != "draft":
                raise ConflictError("只能删除草稿状态的商品")

    class ListingApi(ErpModelRestApi):   rules = ListingRules()
    class ListingView(ErpModelView):     rules = ListingRules()

* :meth:`ModelRules.before_add` / :meth:`ModelRules.before_update` run before the row is
  written (FAB's ``pre_add`` / ``pre_update``); both call :meth:`ModelRules.validate` by
  default. They may fill derived values (the region from the parent record, a level from a
  code) or add the rows that belong with a new record (a ledger entry for a received
  deposit): everything is written in one transaction, or nothing.
* :meth:`ModelRules.may_delete` refuses a delete by raising an :mod:`core.errors` error (or
  returning a sentence, taken as a :class:`ConflictError`).
* Refusals are :mod:`core.errors` errors (``RuleError`` 422 by field, ``DuplicateError``
  409, ...): the API answers them in the envelope, the page puts them on the form's fields;
  nothing is written.
* Who may act on a record (the purchaser of this project, the bank of this guarantee) is
  not a record rule: it is checked in the service that performs the action or in the state
  machine's guard (:mod:`core.actions` evaluates the guard before showing a button).

:func:`rules_from` wraps the older ``validator(session, item)`` functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from core.errors import ConflictError

__all__ = ["ModelRules", "rules_from"]


class ModelRules:
    """The record rules of one model (subclass and override what applies)."""

    def validate(self, session: Session, item: Any) -> None:
        """Check (and complete) a new or changed record; raise a RuleError to refuse."""

    def before_add(self, session: Session, item: Any) -> None:
        self.validate(session, item)

    def before_update(self, session: Session, item: Any) -> None:
        self.validate(session, item)

    def may_delete(self, session: Session, item: Any) -> str | None:
        """Raise an ErpError (or return a sentence) to refuse deleting ``item``."""
        return None

    # -- used by the doors -------------------------------------------------------------------
    def check_delete(self, session: Session, item: Any) -> None:
        reason = self.may_delete(session, item)
        if reason:
            raise ConflictError(reason, code="delete_refused")

    # -- helpers for rule authors ----------------------------------------------------------
    @staticmethod
    def changed(item: Any, *attrs: str) -> bool:
        """Whether any of ``attrs`` has a pending change on a persistent ``item``."""
        state = sa_inspect(item)
        if not state.persistent:
            return False
        return any(state.attrs[a].history.has_changes() for a in attrs)

    @staticmethod
    def old(item: Any, attr: str) -> Any:
        """The value ``attr`` had when ``item`` was loaded (the current one if unchanged)."""
        hist = sa_inspect(item).attrs[attr].history
        if hist.deleted:
            return hist.deleted[0]
        return getattr(item, attr)


class _FunctionRules(ModelRules):
    def __init__(self, validate: Callable[[Session, Any], Any] | None,
                 delete: Callable[[Session, Any], Any] | None) -> None:
        self._validate, self._delete = validate, delete

    def validate(self, session: Session, item: Any) -> None:
        if self._validate is not None:
            self._validate(session, item)

    def may_delete(self, session: Session, item: Any) -> str | None:
        if self._delete is not None:
            result = self._delete(session, item)
            return result if isinstance(result, str) else None
        return None


def rules_from(validate: Callable[[Session, Any], Any] | None = None,
               delete: Callable[[Session, Any], Any] | None = None) -> ModelRules:
    """A rules object from ``validate(session, item)`` and ``delete(session, item)``
    functions (each raising an :class:`ErpError` to refuse)."""
    return _FunctionRules(validate, delete)
