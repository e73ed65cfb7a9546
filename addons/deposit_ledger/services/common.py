"""Shared by the deposit services: the module name, settings (every legal number), the
status machine, small helpers (dates, the row lock)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.services import (
    Errors,
    RuleError,
    today,
)
from core.rules import is_persisted, related_object, stored_value, text_value
from core.services import audit, settings
from core.services.statemachine import StateMachine, Transition

from ..models import (
    STATES,
    Deposit,
)

MODULE = "deposit_ledger"

_old = stored_value
_rel = related_object
_text = text_value


def _missing(errors: Errors, field: str, obj: Any, label: str) -> bool:
    """Record an error when a referenced record is absent (or not visible); True if so."""
    if obj is None:
        errors.add(field, f"请选择{label}")
        return True
    if not is_persisted(obj):
        errors.add(field, f"所选{label}不存在或不在您的管辖范围内")
        return True
    return False

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
MONEY_FORMS = ("transfer", "cheque", "draft")
# -- settings (every legal number) -------------------------------------------------------------
settings.declare(
    "deposit.bid_cap_percent", type="percent", default="2",
    label_zh="投标保证金上限（占采购项目或采购包预算的百分比）",
    help_zh="超过上限的投标保证金不予登记。", source="《政府采购法实施条例》第三十三条",
    module=MODULE)
settings.declare(
    "deposit.performance_cap_percent", type="percent", default="10",
    label_zh="履约保证金上限（占合同金额的百分比）",
    help_zh="超过上限的履约保证金不予登记。", source="《政府采购法实施条例》第四十八条",
    module=MODULE)
REFUND_DAYS = {
    "award_notice": ("deposit.refund_days_award", "未中标人投标保证金退还期限（中标通知书发出后，工作日）",
                     "《政府采购货物和服务招标投标管理办法》（财政部令第87号）第三十八条"),
    "contract_signed": ("deposit.refund_days_contract", "中标人投标保证金退还期限（合同签订后，工作日）",
                        "财政部令第87号第三十八条"),
    "withdrawal": ("deposit.refund_days_withdrawal", "撤回投标的保证金退还期限（收到书面撤回通知后，工作日）",
                   "财政部令第87号第三十八条"),
    "termination": ("deposit.refund_days_termination", "采购活动终止后保证金退还期限（工作日）",
                    "财政部令第87号第二十九条"),
    "performance_done": ("deposit.refund_days_performance", "履约保证金退还期限（合同履行完毕后，工作日）",
                         "采购合同约定（平台默认值）"),
}
for _key, _label, _source in REFUND_DAYS.values():
    settings.declare(_key, type="int", default=5, label_zh=_label, source=_source, module=MODULE,
                     help_zh="期间自触发事件次日起算，遇法定节假日顺延（《民法典》第二百零一条）。")
settings.declare(
    "deposit.late_fee_markup", type="decimal", default="1.2",
    label_zh="逾期退还资金占用费利率上浮系数", help_zh="按同期贷款市场报价利率（一年期LPR）上浮20%计算。",
    source="财政部令第87号第三十八条", module=MODULE)
settings.declare(
    "deposit.day_count_basis", type="int", default=360, label_zh="资金占用费计息天数基数（年）",
    help_zh="日利率 = 年利率 ÷ 基数；金融惯例为360天。", source="平台约定", module=MODULE)
settings.declare(
    "deposit.cleanup_cutoff", type="date", default="2022-05-01",
    label_zh="保证金清理截止日期", help_zh="此日期前已结束的采购项目仍在管的保证金纳入清理。",
    source="吉林省政府采购领域保证金清理工作方案（2022年）", module=MODULE)
settings.declare(
    "deposit.due_soon_days", type="int", default=3, label_zh="即将到期提醒（工作日）",
    help_zh="退还期限在今后若干个工作日内的保证金列为“即将到期”。", source="平台约定", module=MODULE)


# -- errors and the status machine ---------------------------------------------------------------
class LedgerImmutableError(RuntimeError):
    """An attempt to change or delete a ledger entry (a programming error: use a reversal)."""


DEPOSIT_FLOW = StateMachine(
    field="status",
    states=STATES,
    initial="held",
    subject_zh="保证金",
    on_transition=audit.transition_hook(module=MODULE),
    transitions=[
        Transition("refund", "held", "refunded", label_zh="退还"),
        Transition("forfeit", "held", "forfeited", label_zh="不予退还"),
        Transition("remit", "forfeited", "remitted", label_zh="上缴国库"),
        Transition("convert", "held", "converted", label_zh="转为履约保证金"),
        Transition("release", "held", "released", label_zh="解除保函"),
        Transition("void", "held", "void", require_reason=True, label_zh="冲销收取"),
        Transition("reverse", ("refunded", "forfeited", "converted", "released"), "held",
                   require_reason=True, label_zh="冲销"),
        Transition("reverse", "remitted", "forfeited", require_reason=True, label_zh="冲销"),
    ],
)
#: entry kind -> the transition its reversal makes
REVERSE_OF = {"receipt": "void", "conversion_in": "void"}


# -- small helpers ---------------------------------------------------------------------------------
_ISO = __import__("re").compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_date(raw: str) -> dt.date:
    """A date written YYYY-MM-DD (ValueError otherwise; Python also accepts 20220501)."""
    raw = raw.strip()
    if not _ISO.match(raw):
        raise ValueError(raw)
    return dt.date.fromisoformat(raw)


def _pct(value: Decimal) -> str:
    """2 -> "2", 2.50 -> "2.5" (never "1E+1")."""
    return format(Decimal(value).normalize(), "f")


def _actor_name() -> str:
    return audit.resolve_actor()[0]


def _now() -> dt.datetime:
    return audit.utcnow()


def _date(errors: Errors, field_name: str, value: Any, label: str, *, required: bool = True,
          not_future: bool = True) -> dt.date | None:
    if value is None or value == "":
        if required:
            errors.add(field_name, f"请填写{label}")
        return None
    if isinstance(value, str):
        try:
            value = parse_iso_date(value)
        except ValueError:
            errors.add(field_name, f"{label}格式不正确，应为 YYYY-MM-DD")
            return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        errors.add(field_name, f"{label}格式不正确，应为 YYYY-MM-DD")
        return None
    if not_future and value > today():
        errors.add(field_name, f"{label}不能晚于今天")
        return None
    return value


def _lock(session: Session, deposit_id: int) -> Deposit:
    """Lock the deposit row until the transaction ends and reload it (PostgreSQL ``FOR
    UPDATE``; SQLite serialises writers): two refunds cannot both see it held."""
    dep = session.execute(
        select(Deposit).where(Deposit.id == deposit_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if dep is None:
        raise RuleError({"deposit": ["保证金不存在或不在您的管辖范围内"]})
    return dep

