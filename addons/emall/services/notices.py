"""Messages (站内消息) the e-mall sends on the events that concern a user: admission decided,
listing approved / returned, order placed / shipped / accepted, price comparison opened /
closing / closed / awarded, price anomaly confirmed. Each service calls one function here
after its change; the messages commit with it (:func:`core.messages.notify`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.messages import Message, notify
from core.tenancy import SYSTEM, use_scope

from ..models import (
    EmallAdmission,
    EmallComparison,
    EmallListing,
    EmallOrder,
    EmallPriceAlert,
    EmallQuote,
)

#: a price comparison is announced as closing this long before its deadline
CLOSING_NOTICE = dt.timedelta(hours=24)


def _money(value: Any) -> str:
    return f"{value:,.2f} 元" if value is not None else "—"


def admission_decided(session: Session, adm: EmallAdmission, name: str,
                      reason: str | None) -> None:
    words = {"approve": "已批准入驻电子卖场", "reject": "入驻申请被驳回",
             "suspend": "电子卖场入驻资格已被暂停", "reinstate": "电子卖场入驻资格已恢复"}
    if name not in words:
        return
    body = words[name] + (f"。理由：{reason}" if reason else "。")
    if name == "suspend" and adm.suspended_until:
        body += f" 暂停至 {adm.suspended_until:%Y-%m-%d}。"
    notify(session, org_id=adm.supplier_id, kind="emall.admission_decided",
           title=f"入驻审核结果：{words[name]}", body=body,
           link=f"/admissionview/show/{adm.id}")


def listing_decided(session: Session, listing: EmallListing, name: str,
                    reason: str | None) -> None:
    if name == "approve":
        title, body = f"商品已上架：{listing.name}", f"商品“{listing.name}”审核通过，已在电子卖场上架。"
    elif name == "reject":
        title = f"商品审核退回：{listing.name}"
        body = f"商品“{listing.name}”审核未通过，已退回草稿。理由：{reason or '—'}"
    else:
        return
    notify(session, org_id=listing.supplier_id, kind="emall.listing_decided", title=title,
           body=body, link=f"/listingview/show/{listing.id}")


def order_placed(session: Session, order: EmallOrder) -> None:
    notify(session, org_id=order.supplier_id, kind="emall.order_placed",
           title=f"新订单待确认：{order.number}",
           body=f"采购人下单 {order.number}，金额 {_money(order.amount)}，请及时确认并发货。",
           link=f"/orderview/show/{order.id}")


def order_changed(session: Session, order: EmallOrder, name: str) -> None:
    link = f"/orderview/show/{order.id}"
    if name == "ship":
        notify(session, org_id=order.purchaser_id,
               user_ids=[order.user_id] if order.user_id else None, kind="emall.order_shipped",
               title=f"订单已发货：{order.number}",
               body=f"供应商已发货{f'（物流单号 {order.tracking}）' if order.tracking else ''}，"
                    "到货后请确认送达并验收。", link=link)
    elif name == "accept":
        notify(session, org_id=order.supplier_id, kind="emall.order_accepted",
               title=f"订单已验收：{order.number}",
               body=f"采购人已验收订单 {order.number}，金额 {_money(order.amount)}。", link=link)


def comparison_opened(session: Session, comp: EmallComparison, supplier_ids: list[int]) -> None:
    """Invite ``supplier_ids`` (the suppliers qualified to quote, chosen by the comparison
    service) to the newly published comparison."""
    for supplier_id in supplier_ids:
        notify(session, org_id=supplier_id, kind="emall.comparison_opened",
               title=f"竞价邀请：{comp.title}",
               body=f"竞价 {comp.number} 已发布，最高限价 {_money(comp.budget)}，"
                    f"报价截止 {comp.quote_deadline:%Y-%m-%d %H:%M}。",
               link=f"/comparisonview/show/{comp.id}")


def _quoting_suppliers(session: Session, comp: EmallComparison) -> list[int]:
    with use_scope(SYSTEM):
        return list(session.execute(select(EmallQuote.supplier_id).where(
            EmallQuote.comparison_id == comp.id).distinct()).scalars())


def comparison_closing(session: Session, comp: EmallComparison,
                       at: dt.datetime | None = None) -> bool:
    """Tell the purchaser (once) that the quote window ends within :data:`CLOSING_NOTICE`."""
    at = at or dt.datetime.now()
    if comp.status != "open" or not (at < comp.quote_deadline <= at + CLOSING_NOTICE):
        return False
    link = f"/comparisonview/show/{comp.id}"
    sent = session.scalar(select(Message.id).where(
        Message.kind == "emall.comparison_closing", Message.link == link).limit(1))
    if sent is not None:
        return False
    notify(session, org_id=comp.purchaser_id,
           user_ids=[comp.user_id] if comp.user_id else None, kind="emall.comparison_closing",
           title=f"竞价即将截止：{comp.title}",
           body=f"竞价 {comp.number} 将于 {comp.quote_deadline:%Y-%m-%d %H:%M} 截止报价。",
           link=link)
    return True


def comparison_closed(session: Session, comp: EmallComparison) -> None:
    n = len(_quoting_suppliers(session, comp))
    notify(session, org_id=comp.purchaser_id,
           user_ids=[comp.user_id] if comp.user_id else None, kind="emall.comparison_closed",
           title=f"竞价已截止：{comp.title}",
           body=f"竞价 {comp.number} 报价已截止，共收到 {n} 家报价，请确定成交或撤销。",
           link=f"/comparisonview/show/{comp.id}")


def comparison_awarded(session: Session, comp: EmallComparison, winner: EmallQuote) -> None:
    for supplier_id in _quoting_suppliers(session, comp):
        won = supplier_id == winner.supplier_id
        notify(session, org_id=supplier_id, kind="emall.comparison_closed",
               title=f"竞价结果：{comp.title}",
               body=(f"您在竞价 {comp.number} 中的报价成交，已生成订单，请及时确认。" if won
                     else f"竞价 {comp.number} 已由其他供应商成交，感谢参与。"),
               link=f"/comparisonview/show/{comp.id}")
    result_notice(session, comp, winner)


def result_notice(session: Session, comp: EmallComparison, winner: EmallQuote) -> None:
    """The public 竞价（比价）结果公告, through core.notices (the notices module publishes it
    after the purchaser's review; without one, the comparison page remains the record)."""
    from decimal import Decimal

    from core.models import Organization
    from core.notices import NoticeDraft, submit

    supplier = session.get(Organization, winner.supplier_id)
    name = supplier.name if supplier is not None else "—"
    credit = supplier.credit_code if supplier is not None else None
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    submit(session, NoticeDraft(
        kind="emall_result", region_id=comp.region_id, title=f"{comp.title} 竞价结果公告",
        body=(f"竞价编号：{comp.number}\n成交供应商：{name}\n成交金额：{_money(winner.total)}\n"
              f"{comp.decision_note or ''}"),
        source="emall.emall_comparison", source_id=comp.id, event_date=today,
        publisher_org_id=comp.purchaser_id, purchaser_org_id=comp.purchaser_id,
        amount=Decimal(winner.total), deadline_workdays=2,
        data={"process": f"emall-{comp.number}", "method": "comparison",
              "budget": str(comp.budget), "supplier": {"name": name, "credit_code": credit},
              "award_amount": str(winner.total)},
        link=f"/comparisonview/show/{comp.id}"))


def price_anomaly_confirmed(session: Session, alert: EmallPriceAlert) -> None:
    listing = session.get(EmallListing, alert.listing_id)
    name = listing.name if listing is not None else f"商品 {alert.listing_id}"
    measure = {"delist": "该商品已下架。",
               "correct": (f"请于 {alert.correct_by:%Y-%m-%d} 前改正价格，逾期未改的将下架。"
                           if alert.correct_by else "请改正价格。")}.get(alert.measure or "", "")
    notify(session, org_id=alert.supplier_id, kind="emall.price_anomaly",
           title=f"价格异常：{name}",
           body=f"电子卖场管理机构复核确认商品“{name}”价格异常（{_money(alert.price)}）。{measure}"
                f"复核意见：{alert.review_note or '—'}",
           link=f"/listingview/show/{alert.listing_id}")


def order_rated(session: Session, rating: Any) -> None:
    order = session.get(EmallOrder, rating.order_id)
    number = order.number if order is not None else str(rating.order_id)
    notify(session, org_id=rating.supplier_id, kind="emall.order_rated",
           title=f"采购人评价：订单 {number}",
           body=f"交货 {rating.delivery} 分、质量 {rating.quality} 分、服务 {rating.service} 分。"
                f"{('评语：' + rating.comment) if rating.comment else ''}",
           link=f"/orderview/show/{rating.order_id}")
