"""Shared by every part of procurement_base's services: errors, small helpers, the write scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from core import errors, tenancy
from core.models import Region
from core.rules import related_object
from core.services.money import MoneyError, to_money
from core.tenancy import Scope

from ..models import Project

MODULE = "procurement_base"
#: the tenancy layer's own words for a write outside the user's regions
SCOPE_MESSAGE = tenancy.SCOPE_MESSAGE
ORG_SCOPE_MESSAGE = "只能在您管辖的地区（本地区及下级地区）内新增或修改单位"
CST = dt.timezone(dt.timedelta(hours=8), "CST")
ZERO = Decimal("0.00")



# -- errors ------------------------------------------------------------------------------
class RuleError(errors.RuleError):
    """A business rule refused the input: ``messages`` is ``{field: [Chinese message]}``.

    :class:`core.errors.RuleError` (also a marshmallow ``ValidationError``): the platform's
    APIs answer it as a 422 ``validation_error`` and roll the session back.
    """

    status = 422
    code = "validation_error"


class DuplicateError(RuleError, errors.DuplicateError):
    """The input repeats a value that must be unique (answered 409 ``duplicate``)."""

    status = 409
    code = "duplicate"


class Errors:
    """Collects field messages; :meth:`raise_if_any` raises them all at once."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}
        self.duplicates: set[str] = set()

    def add(self, field: str, message: str, *, duplicate: bool = False) -> None:
        self.messages.setdefault(field, []).append(message)
        if duplicate:
            self.duplicates.add(field)

    def __contains__(self, field: str) -> bool:
        return field in self.messages

    def raise_if_any(self) -> None:
        if not self.messages:
            return
        if set(self.messages) <= self.duplicates:
            raise DuplicateError(self.messages)
        raise RuleError(self.messages)


# -- small helpers -------------------------------------------------------------------------
def today() -> dt.date:
    """Today in China (UTC+8)."""
    return dt.datetime.now(CST).date()


def _fmt_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def check_money(errors: Errors, field: str, value: Any, label: str, *,
                required: bool = True, positive: bool = True) -> Decimal | None:
    """Validate an amount: present, a number, at most two decimals (fen), > 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.add(field, f"{label}不能为空")
        return None
    try:
        amount = to_money(value)
    except MoneyError as exc:
        text = exc.message.replace("金额", label, 1) if exc.message.startswith("金额") else exc.message
        errors.add(field, text if text.startswith(label) else f"{label}：{text}")
        return None
    if positive and amount < 0:
        errors.add(field, f"{label}不能为负数")
        return None
    if positive and amount == 0:
        errors.add(field, f"{label}必须大于零")
        return None
    return amount


def _money_attr(errors: Errors, obj: Any, attr: str, label: str) -> Decimal | None:
    """Check the amount in ``obj.<attr>`` and store it back as a Decimal of fen."""
    amount = check_money(errors, attr, getattr(obj, attr), label)
    if amount is not None:
        setattr(obj, attr, amount)
    return amount


def _rel(session: Session, obj: Any, rel: str) -> Any:
    """The object ``obj.<rel>`` will refer to once written (:func:`core.rules.related_object`)."""
    return related_object(session, obj, rel)


def _old(obj: Any, key: str) -> Any:
    """The stored value of column ``key`` (None for a new object)."""
    state = inspect(obj)
    if not state.persistent:
        return None
    hist = state.attrs[key].history
    if hist.deleted:
        return hist.deleted[0]
    return state.dict.get(key)


def _changed(obj: Any, *keys: str) -> list[str]:
    """Which of ``keys`` (columns or relationships) were given a different value."""
    state = inspect(obj)
    if not state.persistent:
        return list(keys)
    out = []
    for key in keys:
        hist = state.attrs[key].history
        if hist.added and list(hist.added) != list(hist.deleted or ()):
            if key in state.mapper.relationships and not hist.deleted:
                # many-to-one set without the old value loaded: compare the foreign key
                prop = state.mapper.relationships[key]
                (column,) = prop.local_columns
                fk = state.mapper.get_property_by_column(column).key
                new = hist.added[0]
                if (new.id if new is not None else None) == state.dict.get(fk):
                    continue
            out.append(key)
    return out


def _persisted(obj: Any) -> bool:
    return obj is not None and inspect(obj).persistent


def _missing(errors: Errors, field: str, obj: Any, label: str) -> bool:
    """Record an error when a referenced record is absent (or not visible); True if so."""
    if obj is None:
        errors.add(field, f"请选择{label}")
        return True
    if not _persisted(obj):
        errors.add(field, f"所选{label}不存在或不在您的管辖范围内")
        return True
    return False


def _unscoped(stmt: Any) -> Any:
    """Uniqueness checks look at every region (the database constraint does too)."""
    return stmt.execution_options(erp_unscoped=True)


# -- scope -----------------------------------------------------------------------------------
def check_region_writable(region_id: int | None, *, cls: type | None = None,
                          scope: Scope | None = None) -> None:
    """Raise :class:`~core.tenancy.ScopeViolation` (403) for a region outside the scope
    (the tenancy layer's own rule, for this module's records)."""
    tenancy.check_region_writable(cls or Project, region_id, scope=scope)


def _region_of_scope(session: Session, scope: Scope) -> Region | None:
    return session.get(Region, scope.region_id) if scope.region_id is not None else None


def _subtree(session: Session, region_id: int) -> set[int]:
    rows = session.execute(select(Region.id, Region.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for rid, parent in rows:
        children.setdefault(parent, []).append(rid)
    out, todo = set(), [region_id]
    while todo:
        r = todo.pop()
        out.add(r)
        todo.extend(children.get(r, ()))
    return out


def _derive_region(errors: Errors, obj: Any, region: Region | None, parent_region: Region | None,
                   parent_label: str) -> Region | None:
    """A child record lives in its parent's region: filled when missing, refused when other."""
    if parent_region is None:
        return region
    if region is None:
        obj.region = parent_region
        return parent_region
    if region.id != parent_region.id:
        errors.add("region", f"所在地区必须与{parent_label}一致（{parent_region.name}）")
    return region


def label(mapping: Mapping[str, str], value: Any) -> str:
    return mapping.get(value, value or "") if isinstance(value, str) or value is None else str(value)
