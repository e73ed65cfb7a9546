"""The e-mall's extension points implemented for framework agreements: the order channel
``framework`` (the amount bands do not apply), the pricing ``framework`` (the agreement
price less the volume discount for the quantity, or the second-competition result, decided by
the call-off service; never above that ceiling) and a validator
that refuses framework-channel orders not placed through a call-off."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from addons.emall.hooks import CHANNELS, ORDER_VALIDATORS, PRICING, ChannelRule
from core.errors import RuleError
from core.services.money import to_money

from .services import discounts
from .services.calloffs import PLACING

MODULE = "framework_agreement"


@CHANNELS.implement(MODULE)
def framework_channel() -> dict[str, ChannelRule]:
    return {"framework": ChannelRule("框架协议", amount_bands=False)}


@PRICING.implement(MODULE)
def framework_pricing() -> dict[str, Callable[[dict[str, Any]], Decimal]]:
    def price(req: dict[str, Any]) -> Decimal:
        line = req.get("fa_line")
        unit = to_money(req["unit_price"])
        if line is None:
            raise RuleError({"unit_price": ["框架协议采购的成交单价不得高于协议价格"]})
        ceiling, pct = discounts.line_ceiling(line, int(req.get("quantity") or 1))
        if unit > ceiling:
            raise RuleError({"unit_price": ["框架协议采购的成交单价不得高于协议价格"
                                            + (f"（本次数量享受量大优惠 {discounts.pct_text(pct)}，"
                                               f"不得高于 {ceiling}）" if pct else "")]})
        return unit

    return {"framework": price}


@ORDER_VALIDATORS.implement(MODULE)
def framework_orders_only_from_calloffs(lines: list[Any]) -> None:
    if lines and lines[0].order.channel == "framework" and PLACING.get() is None:
        raise RuleError({"channel": ["框架协议渠道的订单只能通过框架协议第二阶段采购（直接选定、二次竞价、顺序轮候）下单"]})
