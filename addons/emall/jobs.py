"""The e-mall's periodic jobs (run by the platform's job runner, ``erp worker``; also by
hand: ``erp jobs run NAME`` or the ``erp emall ...`` commands, which call the same
functions)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs import periodic


def close_due_comparisons(session: Session) -> dict[str, int]:
    """Close every open price comparison whose quote window has passed; tell the purchasers
    of those closing within 24 hours (once each). Rows another transaction is closing are
    skipped (PostgreSQL ``SKIP LOCKED``). The caller commits."""
    from . import services
    from .models import EmallComparison
    from .services import notices

    closed = closing = 0
    rows = session.execute(
        select(EmallComparison).where(EmallComparison.status == "open")
        .order_by(EmallComparison.id)
        .with_for_update(skip_locked=True, of=EmallComparison)).scalars().all()
    for comp in rows:
        if services.close_if_due(session, comp):
            closed += 1
        elif notices.comparison_closing(session, comp):
            closing += 1
    return {"closed": closed, "closing": closing}


@periodic("emall.close_comparisons", module="emall", every="5m",
          doc="关闭报价期已过的网上竞价并通知采购人；24 小时内截止的竞价提醒采购人（各一次）")
def close_comparisons(session: Session) -> int:
    done = close_due_comparisons(session)
    return done["closed"] + done["closing"]


@periodic("emall.scan_prices", module="emall", every="1h",
          doc="价格监测：挂网价高于参考价的商品、成交价异常的订单列入价格异常待复核（各一次）")
def scan_prices(session: Session) -> int:
    from . import services

    added = services.scan_prices(session)
    return sum(added.values())


@periodic("emall.enforce_price_corrections", module="emall", at="01:30",
          doc="限期改价到期仍未改价的商品自动下架，并告知供应商")
def enforce_price_corrections(session: Session) -> int:
    from .services.price_watch import enforce_price_corrections as enforce

    return len(enforce(session))
