"""Volume discounts (量大优惠): a schedule of tiers per agreement, ``minimum quantity ->
discount percent`` (e.g. ≥ 10 units 2 %, ≥ 50 units 5 %), entered with the solicitation and
frozen with the demand at publication; a call-off's ceiling unit price is the agreement price
less the discount of the highest tier its quantity reaches (Decimal, 0.01, ROUND_HALF_UP,
never above the agreement price).

Stored canonically in ``fa_agreement.discount_tiers`` as ``"10:2;50:5"``; entered as
``10:2, 50:5`` (also ``；`` ``，`` or one tier per line, ``：`` and a trailing ``%`` accepted)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from core.errors import RuleError

from ..models import FaAgreement, stored_tiers, tiers_label
from ..models import percent_text as _pct_text

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
MAX_PERCENT = Decimal("50")
FIELD = "discount_tiers"
EXAMPLE = "格式为“起订数量:优惠百分比”，多档以逗号分隔，例如 10:2, 50:5"

Tiers = list[tuple[int, Decimal]]

_SPLIT = re.compile(r"[;；,，、\n\r]+")
_TIER = re.compile(r"^\s*(?:≥|>=)?\s*([^:：]+?)\s*[:：]\s*([^%％]+?)\s*[%％]?\s*$")


def parse(value: Any) -> Tiers:
    """The tiers of an entered schedule, validated; RuleError on ``discount_tiers`` (Chinese)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):  # [{"min_quantity": 10, "percent": "2"}] or [[10, 2]]
        parts = []
        for t in value:
            if isinstance(t, dict):
                parts.append(f"{t.get('min_quantity', '')}:{t.get('percent', '')}")
            elif isinstance(t, (list, tuple)) and len(t) == 2:
                parts.append(f"{t[0]}:{t[1]}")
            else:
                parts.append(str(t))
    elif isinstance(value, str):
        parts = [p for p in _SPLIT.split(value) if p.strip()]
    else:
        raise RuleError({FIELD: [f"量大优惠阶梯{EXAMPLE}"]})
    errors: list[str] = []
    tiers: Tiers = []
    for n, part in enumerate(parts, start=1):
        m = _TIER.match(part)
        if not m:
            errors.append(f"第 {n} 档“{part.strip()}”无法识别：{EXAMPLE}")
            continue
        q_text, p_text = m.group(1), m.group(2)
        if not re.fullmatch(r"\d+", q_text) or int(q_text) < 1:
            errors.append(f"第 {n} 档的起订数量“{q_text}”应为正整数")
            continue
        try:
            pct = Decimal(p_text)
        except InvalidOperation:
            pct = None
        if pct is None or not pct.is_finite() or pct < 0 or pct > MAX_PERCENT \
                or pct.as_tuple().exponent < -2:
            errors.append(f"第 {n} 档的优惠百分比“{p_text}”应为 0 至 50 之间的数，最多两位小数")
            continue
        tiers.append((int(q_text), pct))
    if not errors:
        for (q1, p1), (q2, p2) in zip(tiers, tiers[1:], strict=False):
            if q2 <= q1:
                errors.append(f"各档应按起订数量从小到大排列：{q2} 不大于前一档的 {q1}")
            elif p2 <= p1:
                errors.append(f"起订数量更大的档次优惠应更多：{q2} 起 {_pct_text(p2)}% 不高于 {q1} 起 {_pct_text(p1)}%")
    if errors:
        raise RuleError({FIELD: errors})
    return tiers


def canonical(tiers: Tiers) -> str | None:
    return ";".join(f"{q}:{_pct_text(p)}" for q, p in tiers) or None


stored = stored_tiers
label = tiers_label


def percent_for(tiers: Tiers, quantity: int) -> Decimal:
    """The discount of the highest tier ``quantity`` reaches (0 below the first)."""
    pct = Decimal("0")
    for q, p in tiers:
        if quantity >= q:
            pct = p
    return pct


def discounted(price: Decimal, tiers: Tiers, quantity: int) -> tuple[Decimal, Decimal]:
    """(unit price ceiling for ``quantity``, the percent applied): agreement price ×
    (1 − percent / 100), rounded to 0.01 half up, never above the agreement price."""
    pct = percent_for(tiers, quantity)
    unit = (Decimal(price) * (HUNDRED - pct) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    return min(unit, Decimal(price).quantize(CENT)), pct


def agreement_tiers(session: Session, agreement_id: int) -> Tiers:
    value = session.execute(select(FaAgreement.discount_tiers).where(FaAgreement.id == agreement_id),
                            execution_options={"erp_unscoped": True}).scalar()
    return stored(value)


def line_ceiling(line: Any, quantity: int, session: Session | None = None) -> tuple[Decimal, Decimal]:
    """A shortlisted product's unit-price ceiling for ``quantity`` and the percent applied."""
    session = session or object_session(line)
    tiers = agreement_tiers(session, line.agreement_id) if session is not None else []
    return discounted(line.agreement_price, tiers, quantity)


def pct_text(p: Decimal | None) -> str:
    """``2%``; 无 for no discount; — before an award."""
    if p is None:
        return "—"
    return f"{_pct_text(Decimal(p))}%" if p else "无"
