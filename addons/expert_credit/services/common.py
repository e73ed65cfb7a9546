"""Shared by the expert_credit services: the state machines (every transition audited, strict)
and the module's settings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from addons.procurement_base.services import today as pb_today
from core.services import audit, settings
from core.services.statemachine import StateMachine, Transition

from ..models import (
    ASSIGNMENT_STATES,
    BAD_RECORD_KINDS,
    EVALUATION_STATES,
    EXPERT_STATES,
    REQUEST_STATES,
)

MODULE = "expert_credit"
MANAGER_ROLE = "专家管理"


TWO = Decimal("0.01")


# -- state machines (every transition audited, strict) ------------------------------------
_HOOK = audit.transition_hook(module=MODULE)
REQUEST_FLOW = StateMachine(field="status", states=REQUEST_STATES, initial="open",
                            subject_zh="抽取申请", on_transition=_HOOK, transitions=[
    Transition("draw", ("open", "drawn"), "drawn", label_zh="抽取"),
    Transition("close", "drawn", "closed", label_zh="结束抽取并公开种子"),
    Transition("cancel", "open", "cancelled", require_reason=True, label_zh="取消"),
])
ASSIGNMENT_FLOW = StateMachine(field="status", states=ASSIGNMENT_STATES, initial="drawn",
                               subject_zh="评审任务", on_transition=_HOOK, transitions=[
    Transition("accept", "drawn", "accepted", label_zh="接受"),
    Transition("decline", "drawn", "declined", require_reason=True, label_zh="拒绝"),
])
EVALUATION_FLOW = StateMachine(field="status", states=EVALUATION_STATES, initial="pending",
                               subject_zh="履职评价", on_transition=_HOOK, transitions=[
    Transition("submit", "pending", "submitted", label_zh="提交评价"),
    Transition("appeal", "submitted", "appealed", require_reason=True, label_zh="申诉"),
    Transition("decide", "appealed", "decided", require_reason=True, label_zh="处理申诉"),
])
EXPERT_FLOW = StateMachine(field="status", states=EXPERT_STATES, initial="active",
                           subject_zh="评审专家", on_transition=_HOOK, transitions=[
    Transition("suspend", ("active", "suspended"), "suspended", require_reason=True,
               label_zh="暂停"),
    Transition("dismiss", ("active", "suspended"), "dismissed", require_reason=True,
               label_zh="解聘"),
    Transition("reinstate", "suspended", "active", label_zh="恢复"),
])


# -- settings ------------------------------------------------------------------------------
_S = "《政府采购评审专家管理办法》（财库〔2016〕198号）"


def _declare(key: str, type_: str, default: Any, label: str, help_: str = "",
             source: str = "平台评分模型（无官方评分模型，平台自定，可按地区调整）") -> None:
    settings.declare(f"expert.{key}", type=type_, default=default, label_zh=label,
                     help_zh=help_, source=source, module=MODULE)


_declare("draw_window_workdays", "int", "2", "抽取时间窗口（评审前工作日数）",
         "抽取不得早于评审日前该数量的工作日（谈判类采购方式除外）。", f"{_S}（check：来源为二手资料）")
_declare("draw_exempt_methods", "str", "competitive_negotiation,competitive_consultation,single_source",
         "不受抽取时间窗口限制的采购方式", "逗号分隔的采购方式代码（谈判类）。", f"{_S}（check）")
_declare("avoid_years", "int", "3", "回避年限（年）",
         "评审前该年数内曾在供应商或采购人任职、任董事监事高管或为控股股东的专家须回避。", _S)
_declare("weight_excellent", "int", "12", "抽取权重：优秀", "整数相对权重。")
_declare("weight_good", "int", "10", "抽取权重：良好", "整数相对权重。")
_declare("weight_pass", "int", "6", "抽取权重：合格", "整数相对权重。")
_declare("weight_new", "int", "10", "抽取权重：暂无评价（新入库专家）", "整数相对权重。")
_declare("band_excellent", "decimal", "85", "信用等级“优秀”下限（分）")
_declare("band_good", "decimal", "75", "信用等级“良好”下限（分）")
_declare("band_pass", "decimal", "60", "信用等级“合格”下限（分）；低于此分为不合格，不参与抽取")
_declare("criteria_ethics", "int", "20", "履职评价权重：职业道德（%）")
_declare("criteria_competence", "int", "50", "履职评价权重：专业能力（%）")
_declare("criteria_discipline", "int", "20", "履职评价权重：评审纪律（%）")
_declare("criteria_integrity", "int", "10", "履职评价权重：廉洁自律（%）")
_declare("evaluation_due_workdays", "int", "5", "履职评价期限（评审后工作日数）",
         "采购人或代理机构应在评审结束后该数量的工作日内完成评价。", f"{_S}（check）")
_declare("appeal_workdays", "int", "10", "专家申诉期限（评价后工作日数）")
_declare("score_window_days", "int", "730", "信用分统计窗口（天）")
_declare("score_half_life_days", "int", "365", "评价分时间衰减半衰期（天）")
_declare("score_initial", "decimal", "80", "无评价时的基础分")
BAD_DEFAULTS = {  # kind: (penalty points, suspension months)
    "not_independent": (20, 6), "leak": (30, 12), "no_withdrawal": (30, 12),
    "improper_benefit": (100, 0), "false_material": (100, 0), "refuse_assist": (15, 3),
    "damage_credibility": (20, 6),
}
for _kind, (_pen, _months) in BAD_DEFAULTS.items():
    _declare(f"bad_{_kind}_penalty", "int", str(_pen), f"不良记录扣分：{BAD_RECORD_KINDS[_kind][:20]}",
             "统计窗口内每条记录扣减的分数。", _S)
    _declare(f"bad_{_kind}_suspend_months", "int", str(_months),
             f"不良记录暂停抽取月数：{BAD_RECORD_KINDS[_kind][:20]}", "0 表示不暂停。", _S)
_declare("bad_dismiss_kinds", "str", "improper_benefit,false_material", "直接解聘的不良记录类型",
         "逗号分隔的不良记录类型代码。", _S)

CRITERIA = ("ethics", "competence", "discipline", "integrity")
CRITERIA_LABELS = {"ethics": "职业道德", "competence": "专业能力", "discipline": "评审纪律",
                   "integrity": "廉洁自律"}


def setting(key: str, region_id: int | None, session: Session) -> Any:
    return settings.get(f"expert.{key}", region_id, session)


def module_settings(session: Session, region_id: int | None) -> dict[str, Any]:
    """Every ``expert.*`` setting for a region, in one query (key without the prefix)."""
    return {k[len("expert."):]: r.value for k, r in settings.resolve_all(region_id, session).items()
            if k.startswith("expert.")}


def band_weights(session: Session, region_id: int | None,
                 values: dict[str, Any] | None = None) -> dict[str, int]:
    v = values or module_settings(session, region_id)
    return {"excellent": v["weight_excellent"], "good": v["weight_good"],
            "pass": v["weight_pass"], "new": v["weight_new"], "fail": 0}


def band_of(score: Decimal | None, session: Session, region_id: int | None) -> str:
    if score is None:
        return "new"
    if score >= setting("band_excellent", region_id, session):
        return "excellent"
    if score >= setting("band_good", region_id, session):
        return "good"
    if score >= setting("band_pass", region_id, session):
        return "pass"
    return "fail"


def today() -> dt.date:
    """The services' date (Beijing time). Every service reads it through this module
    (``common.today()``), so a test moves the clock in one place:
    ``services.common.today = lambda: dt.date(2025, 3, 24)``."""
    return pb_today()
