"""Flow credit (流水信用贷): plain Python on a session, testable without a request.

* :func:`grant` / :func:`revoke` - the supplier consents (to one active institution) and may
  revoke at any time; every change is audited;
* :func:`profile` - the supplier's e-mall transaction profile over the last 12 and 24 calendar
  months ending today (the current month included), computed from the e-mall's own records
  (orders, ratings) - definitions in docs/scf_emall.md;
* :func:`indicative_line` - the documented formula, its parameters declared settings;
* :func:`profile_for` - what the institution may see: only with an active consent given to it
  (revoked: 403, not its consent: 404);
* :func:`record_line` - the institution sets the line; the platform only records it.

Errors are the platform's (:mod:`core.errors`): ``RuleError`` 422 by field,
``ConflictError`` 409, ``ForbiddenError`` 403, ``NotFoundError`` 404.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.emall.models import EmallOrder, EmallRating
from addons.emall.services.common import today
from addons.supply_chain_finance import services as scf
from addons.supply_chain_finance.hooks import BUREAU_SECTIONS, BureauSection
from core.errors import ConflictError, ForbiddenError, NotFoundError, RuleError
from core.models import Organization
from core.services import audit, settings
from core.services.money import MoneyError, to_money
from core.tenancy import SYSTEM, use_scope

from .models import MODULE, Consent, LineParams

ZERO = Decimal("0.00")
UNSCOPED = {"erp_unscoped": True}
WINDOWS = (12, 24)
#: a dispute raised at these states means the delivery did not pass acceptance first time
ACCEPTANCE_DISPUTE_FROM = ("delivered", "accepted")

settings.declare(
    "scf_emall.delivery_days", type="int", default=7,
    label_zh="流水信用：按时交货天数",
    help_zh="订单自下单起在此天数（自然日）内送达即计为按时交货（电子卖场订单未记录约定交货日期）。",
    source="平台参数", module=MODULE,
)
settings.declare(
    "scf_emall.line_months", type="int", default=3,
    label_zh="流水信用：参考额度月数",
    help_zh="参考额度 = 近12个月月均结算金额 × 此月数 × 按时交货率，且不超过参考额度上限。",
    source="平台参数", module=MODULE,
)
settings.declare(
    "scf_emall.line_cap", type="decimal", default="1000000",
    label_zh="流水信用：参考额度上限（元）",
    help_zh="平台展示的参考额度不超过此金额；实际额度由金融机构自行核定。",
    source="平台参数", module=MODULE,
)
settings.declare(
    "scf_emall.min_active_months", type="int", default=3,
    label_zh="流水信用：最少活跃月数",
    help_zh="近12个月有成交的月份少于此数时，平台不展示参考额度。",
    source="平台参数", module=MODULE,
)


# -- helpers -------------------------------------------------------------------------------
def _id(field: str, label: str, value: Any) -> int:
    try:
        return scf.record_id(value)
    except (TypeError, ValueError):
        raise RuleError({field: [f"请选择{label}"]}) from None


def _audit(session: Session, action: str, c: Consent, before: Any = None, after: Any = None) -> None:
    audit.record(session, action=action, object_type="Consent", object_id=c.id, before=before,
                 after=after, module=MODULE, region_id=c.region_id)


def _actor_name() -> str | None:
    return audit.resolve_actor()[0] or None


def month_start(day: dt.date, back: int) -> dt.date:
    """The first day of the month ``back`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _rate(part: int, whole: int) -> Decimal | None:
    """``part / whole`` in per cent, one decimal (None without a base)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def _avg(values: list[int]) -> Decimal | None:
    if not values:
        return None
    return (Decimal(sum(values)) / Decimal(len(values))).quantize(Decimal("0.1"))


# -- consents ------------------------------------------------------------------------------
def active_consent(session: Session, supplier_id: int, bank_id: int) -> Consent | None:
    return session.execute(select(Consent).where(
        Consent.supplier_id == supplier_id, Consent.bank_id == bank_id,
        Consent.status == "active").execution_options(**UNSCOPED)).scalars().first()


def institutions(session: Session, supplier_id: int) -> list[Any]:
    """The active institutions serving the supplier's region, in a random order (new per call:
    :func:`addons.supply_chain_finance.services.institutions_for`)."""
    supplier = session.get(Organization, supplier_id)
    if supplier is None or supplier.region_id is None:
        return []
    return scf.institutions_for(session, supplier.region_id)


def grant(session: Session, *, supplier_id: int | None, bank_id: Any) -> Consent:
    """The supplier consents that the institution ``bank_id`` (its organisation) sees its
    transaction profile. Only to an active institution serving the supplier's region."""
    supplier = session.get(Organization, supplier_id) if supplier_id else None
    if supplier is None or supplier.org_type != "supplier":
        raise ForbiddenError("只有供应商可以授权金融机构查看交易流水")
    bank = _id("bank", "金融机构", bank_id)
    inst = scf.institution_of(session, bank)
    if inst is None:
        raise RuleError({"bank": ["所选金融机构不存在"]})
    if not inst.active or not scf.serves(session, inst, supplier.region_id):
        raise RuleError({"bank": ["所选金融机构未参与本地区供应链金融业务，不能授权"]})
    if active_consent(session, supplier.id, bank) is not None:
        raise ConflictError({"bank": ["已向该金融机构授权，无需重复授权"]})
    c = Consent(supplier_id=supplier.id, bank_id=bank, status="active", granted_at=scf.now(),
                granted_by=_actor_name(), region_id=supplier.region_id)
    session.add(c)
    session.flush()
    _audit(session, "grant", c, after={"bank_id": bank})
    return c


def _own(session: Session, consent_id: Any, *, supplier_id: int | None = None,
         bank_id: int | None = None) -> Consent:
    try:
        ident = scf.record_id(consent_id)
    except (TypeError, ValueError):
        raise NotFoundError("授权记录不存在") from None
    c = session.execute(select(Consent).where(Consent.id == ident)
                        .execution_options(**UNSCOPED)).scalars().first()
    if c is None or (supplier_id is not None and c.supplier_id != supplier_id) or (
            bank_id is not None and c.bank_id != bank_id):
        raise NotFoundError("授权记录不存在，或不在您的可见范围内")
    return c


def revoke(session: Session, consent_id: Any, *, supplier_id: int | None) -> Consent:
    """The supplier revokes its consent: the institution sees no profile from now on."""
    if not supplier_id:
        raise ForbiddenError("只有供应商可以撤回授权")
    c = _own(session, consent_id, supplier_id=supplier_id)
    if c.status != "active":
        raise ConflictError({"status": ["该授权已撤回"]})
    c.status, c.revoked_at, c.revoked_by = "revoked", scf.now(), _actor_name()
    session.flush()
    _audit(session, "revoke", c, before={"status": "active"}, after={"status": "revoked"})
    return c


def _visible_consent(session: Session, consent_id: Any, bank_id: int | None) -> Consent:
    if not bank_id:
        raise ForbiddenError("只有获得授权的金融机构可以查看")
    c = _own(session, consent_id, bank_id=bank_id)
    if c.status != "active":
        raise ForbiddenError("供应商已撤回授权，不能再查看其交易流水或核定额度")
    return c


def record_line(session: Session, consent_id: Any, *, bank_id: int | None, amount: Any,
                valid_until: Any, note: Any = None) -> Consent:
    """The institution records the line it set (amount > 0, valid until today or later)."""
    c = _visible_consent(session, consent_id, bank_id)
    errors: dict[str, list[str]] = {}
    value: Decimal | None = None
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        errors["amount"] = ["请填写授信额度"]
    else:
        try:
            value = to_money(amount, allow_negative=False)
        except MoneyError as exc:
            errors["amount"] = [f"授信额度：{exc}"]
        else:
            if value <= ZERO:
                errors["amount"] = ["授信额度必须大于 0"]
    until: dt.date | None = None
    try:
        until = scf.parse_date("valid_until", "额度有效期至", valid_until)
    except RuleError as exc:
        errors.update(exc.field_messages)
    else:
        if until is not None and until < today():
            errors["valid_until"] = ["额度有效期不能早于今天"]
    text = None if note is None else str(note).strip() or None
    if text is not None and len(text) > 1000:
        errors["note"] = ["备注不能超过 1000 个字"]
    if errors:
        raise RuleError(errors)
    before = {"amount": c.line_amount, "valid_until": c.line_valid_until}
    c.line_amount, c.line_valid_until, c.line_note = value, until, text
    c.line_decided_at, c.line_decided_by = scf.now(), _actor_name()
    session.flush()
    _audit(session, "record_line", c, before=before, after={"amount": value, "valid_until": until})
    return c


# -- the profile ---------------------------------------------------------------------------
def _orders(session: Session, supplier_id: int, start: dt.date) -> list[EmallOrder]:
    since = dt.datetime.combine(start, dt.time())
    with use_scope(SYSTEM):
        return list(session.execute(select(EmallOrder).where(
            EmallOrder.supplier_id == supplier_id,
            (EmallOrder.placed_at >= since) | (EmallOrder.delivered_at >= since)
            | (EmallOrder.paid_on >= start)).execution_options(**UNSCOPED)).scalars())


def _ratings(session: Session, supplier_id: int, start: dt.date) -> list[EmallRating]:
    with use_scope(SYSTEM):
        return list(session.execute(select(EmallRating).where(
            EmallRating.supplier_id == supplier_id,
            EmallRating.rated_at >= dt.datetime.combine(start, dt.time()))
            .execution_options(**UNSCOPED)).scalars())


def _figures(orders: list[EmallOrder], ratings: list[EmallRating], start: dt.date, end: dt.date,
             delivery_days: int, months: int) -> dict[str, Any]:
    def within(day: dt.date | None) -> bool:
        return day is not None and start <= day <= end

    def day_of(stamp: dt.datetime | None) -> dt.date | None:
        return stamp.date() if stamp is not None else None

    placed = [o for o in orders if within(day_of(o.placed_at)) and o.status != "cancelled"]
    settled = [o for o in orders if o.status == "paid" and within(o.paid_on)]
    delivered = [o for o in orders if within(day_of(o.delivered_at)) and o.placed_at is not None]
    on_time = [o for o in delivered if (o.delivered_at - o.placed_at).days <= delivery_days]
    decided = [o for o in delivered if o.accepted_on is not None or o.status == "disputed"
               or o.disputed_from in ACCEPTANCE_DISPUTE_FROM]
    passed = [o for o in decided if o.accepted_on is not None
              and o.disputed_from not in ACCEPTANCE_DISPUTE_FROM and o.status != "disputed"]
    disputes = [o for o in placed if o.status == "disputed" or o.disputed_from is not None]
    pay_days = [(o.paid_on - o.accepted_on).days for o in settled if o.accepted_on is not None]
    active = {_month(d) for d in [day_of(o.placed_at) for o in placed] + [o.paid_on for o in settled]
              if d is not None}
    rated = [r for r in ratings if within(day_of(r.rated_at))]
    total = sum((o.amount for o in settled), ZERO)
    return {
        "months": months, "start": start, "end": end,
        "settled_amount": total, "settled_count": len(settled),
        "monthly_average": (total / months).quantize(Decimal("0.01"), rounding=ROUND_DOWN),
        "order_count": len(placed), "purchaser_count": len({o.purchaser_id for o in placed}),
        "delivered_count": len(delivered), "on_time_count": len(on_time),
        "on_time_rate": _rate(len(on_time), len(delivered)),
        "acceptance_count": len(decided), "acceptance_passed": len(passed),
        "acceptance_rate": _rate(len(passed), len(decided)),
        "dispute_count": len(disputes), "avg_days_to_payment": _avg(pay_days),
        "active_months": len(active),
        "rating_count": len(rated),
        "rating_delivery": _avg([r.delivery for r in rated]),
        "rating_quality": _avg([r.quality for r in rated]),
        "rating_service": _avg([r.service for r in rated]),
    }


def profile(session: Session, supplier_id: int, *, on: dt.date | None = None,
            region_id: int | None = None, bank_id: int | None = None) -> dict[str, Any]:
    """The transaction profile: ``windows`` {12: figures, 24: figures}, ``monthly`` rows of
    the 24 months (oldest first), ``line`` the indicative line (the parameters of the
    institution ``bank_id``, else the settings of ``region_id``, by default the supplier's
    region)."""
    end = on or today()
    if region_id is None:
        supplier = session.get(Organization, supplier_id)
        region_id = supplier.region_id if supplier is not None else None
    delivery_days = settings.get("scf_emall.delivery_days", region_id, session=session)
    first = month_start(end, max(WINDOWS) - 1)
    orders, ratings = _orders(session, supplier_id, first), _ratings(session, supplier_id, first)
    windows = {n: _figures(orders, ratings, month_start(end, n - 1), end, delivery_days, n)
               for n in WINDOWS}
    monthly = []
    for back in range(max(WINDOWS) - 1, -1, -1):
        m_start = month_start(end, back)
        m_end = min(month_start(end, back - 1) - dt.timedelta(days=1), end) if back else end
        f = _figures(orders, [], m_start, m_end, delivery_days, 1)
        monthly.append({"month": _month(m_start), "settled_amount": f["settled_amount"],
                        "settled_count": f["settled_count"], "order_count": f["order_count"],
                        "purchaser_count": f["purchaser_count"]})
    return {"supplier_id": supplier_id, "on": end, "delivery_days": delivery_days,
            "windows": windows, "monthly": monthly,
            "line": indicative_line(session, windows[12], region_id, bank_id=bank_id)}


PARAMS = ("line_months", "line_cap", "min_active_months")
PARAM_LABELS = {"line_months": "参考额度月数", "line_cap": "参考额度上限（元）",
                "min_active_months": "最少活跃月数"}


def own_params(session: Session, bank_id: int | None) -> LineParams | None:
    if not bank_id:
        return None
    return session.execute(select(LineParams).where(LineParams.bank_id == bank_id)).scalars().first()


def line_params(session: Session, region_id: int | None, bank_id: int | None = None) -> dict[str, Any]:
    """The effective parameters: the institution's own value, else the platform setting
    ``scf_emall.<name>`` of ``region_id``."""
    own = own_params(session, bank_id)
    out = {}
    for name in PARAMS:
        value = getattr(own, name) if own is not None else None
        out[name] = value if value is not None else settings.get(f"scf_emall.{name}", region_id,
                                                                  session=session)
    return out


def set_line_params(session: Session, *, bank_id: int | None, line_months: Any = None,
                    line_cap: Any = None, min_active_months: Any = None) -> LineParams:
    """The institution sets its own parameters (blank: the platform setting applies)."""
    if not bank_id or scf.institution_of(session, bank_id) is None:
        raise ForbiddenError("只有参与供应链金融的金融机构可以设置参考额度参数")
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}

    def blank(value: Any) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    for name, value, lo, hi in (("line_months", line_months, 1, 36),
                                ("min_active_months", min_active_months, 0, 12)):
        if blank(value):
            values[name] = None
            continue
        try:
            values[name] = scf.parse_int(name, PARAM_LABELS[name], value, lo, hi)
        except RuleError as exc:
            errors.update(exc.field_messages)
    if blank(line_cap):
        values["line_cap"] = None
    else:
        try:
            values["line_cap"] = scf.parse_money("line_cap", PARAM_LABELS["line_cap"], line_cap)
        except RuleError as exc:
            errors.update(exc.field_messages)
    if errors:
        raise RuleError(errors)
    row = own_params(session, bank_id)
    if row is None:
        row = LineParams(bank_id=bank_id)
        session.add(row)
    before = {k: getattr(row, k) for k in PARAMS}
    for k, v in values.items():
        setattr(row, k, v)
    row.updated_at, row.updated_by = scf.now(), _actor_name()
    session.flush()
    audit.record(session, action="set_line_params", object_type="LineParams", object_id=row.id,
                 before=before, after=values, module=MODULE)
    return row


def indicative_line(session: Session, figures: dict[str, Any], region_id: int | None,
                    bank_id: int | None = None) -> dict[str, Any]:
    """参考额度 = 近12个月月均结算金额 × 参考额度月数 × 按时交货率 (1 without deliveries), at
    most the cap, rounded down to the yuan; none (amount None, with the reason) below the
    minimum of active months. Parameters: :func:`line_params`."""
    params = line_params(session, region_id, bank_id)
    months, cap, min_active = (params["line_months"], params["line_cap"],
                               params["min_active_months"])
    rate = figures["on_time_rate"]
    factor = Decimal("1") if rate is None else rate / 100
    params = {"line_months": months, "line_cap": cap, "min_active_months": min_active}
    if figures["active_months"] < min_active:
        return {"amount": None, "capped": False, **params,
                "reason": f"近12个月有成交的月份不足 {min_active} 个月，不展示参考额度"}
    raw = figures["monthly_average"] * months * factor
    amount = min(raw, cap).quantize(Decimal("1"), rounding=ROUND_DOWN).quantize(Decimal("0.01"))
    return {"amount": amount, "capped": raw > cap, **params, "reason": None}


def profile_for(session: Session, consent_id: Any, *, bank_id: int | None) -> tuple[Consent, dict[str, Any]]:
    """The consent and the profile it shows the institution (only while the consent is active)."""
    c = _visible_consent(session, consent_id, bank_id)
    return c, profile(session, c.supplier_id, region_id=c.region_id, bank_id=c.bank_id)


@BUREAU_SECTIONS.implement(MODULE)
def consent_section(session: Session, start: dt.date, end: dt.date) -> BureauSection:
    """The finance bureau's view (融资监管): flow-credit consents granted in the period, of
    which revoked, and the lines institutions recorded on them (read through the caller's
    scope: a city sees its regions)."""
    since = dt.datetime.combine(start, dt.time())
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    rows: dict[str, dict[str, Any]] = {}
    for c in session.execute(select(Consent).where(Consent.granted_at >= since,
                                                   Consent.granted_at < until)).scalars():
        r = rows.setdefault(c.region.name if c.region else "", {
            "consents": 0, "revoked": 0, "lines": 0, "line_amount": ZERO})
        r["consents"] += 1
        r["revoked"] += c.status == "revoked"
        if c.line_amount is not None:
            r["lines"] += 1
            r["line_amount"] += c.line_amount
    return BureauSection(
        title="流水信用贷", rows=rows, note="按供应商授权日期统计；额度为金融机构记录的授信额度。",
        columns=[("consents", "供应商授权笔数", "int"), ("revoked", "其中已撤回", "int"),
                 ("lines", "已记录额度笔数", "int"), ("line_amount", "授信额度合计", "money")])
