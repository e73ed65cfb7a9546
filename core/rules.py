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

__all__ = ["ModelRules", "is_persisted", "related_object", "rules_from", "stored_value",
           "text_value"]


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


# -- helpers for rules and services (module-independent) --------------------------------------
def text_value(value: Any) -> str:
    """A posted value as stripped text ("" for None)."""
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def stored_value(obj: Any, key: str) -> Any:
    """The stored value of column ``key`` (None for a new object)."""
    state = sa_inspect(obj)
    if not state.persistent:
        return None
    hist = state.attrs[key].history
    if hist.deleted:
        return hist.deleted[0]
    return state.dict.get(key)


def is_persisted(obj: Any) -> bool:
    return obj is not None and sa_inspect(obj).persistent


def related_object(session: Session, obj: Any, rel: str) -> Any:
    """The object ``obj.<rel>`` will refer to once written, whether the relationship or its
    foreign-key column was set (forms and APIs set the relationship)."""
    state = sa_inspect(obj)
    prop = state.mapper.relationships[rel]
    (column,) = prop.local_columns
    key = state.mapper.get_property_by_column(column).key
    rel_hist = state.attrs[rel].history
    if rel_hist.added:
        return rel_hist.added[0]
    col_hist = state.attrs[key].history
    value = state.dict.get(key)
    if col_hist.added or (rel not in state.dict and value is not None):
        # not assigned to ``obj``: a back-reference would enlist a refused object in the
        # parent's collection
        return session.get(prop.mapper.class_, value) if value is not None else None
    return state.dict.get(rel) if rel in state.dict else getattr(obj, rel)
