"""The purchaser's e-mall payments and ratings on its pages: accepted orders unpaid past their
付款期限 in red on the order list and the order page, with a workbench card 订单逾期未付款 that
opens a list of exactly them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from core.db import db
from tests.addons.emall.test_emall_pages import client_of, visible_text
from tests.core.test_workbench import cards


def accepted_order(em, *, price: str = "300.00") -> int:
    lid = em.listing("sup_a", price=price, reference=price)
    oid = em.buy("pur", lid).json["id"]
    em.move(oid, "confirm", "sup_a")
    em.move(oid, "ship", "sup_a", tracking="SF1")
    em.move(oid, "deliver", "pur")
    em.move(oid, "accept", "pur", inspectors="王明")
    return oid


def _due(em, oid: int, due: dt.date) -> None:
    from addons.emall.models import EmallOrder

    with em.app.app_context():
        db.session.execute(update(EmallOrder).where(EmallOrder.id == oid).values(payment_due=due)
                           .execution_options(erp_unscoped=True))
        db.session.commit()


def test_overdue_payment_red_on_the_list_and_the_order_and_a_card(em) -> None:
    from addons.emall.services import today

    em.admit("sup_a", "A0201")
    late, on_time = accepted_order(em), accepted_order(em)
    _due(em, late, today() - dt.timedelta(days=3))
    _due(em, on_time, today() + dt.timedelta(days=3))
    pur = client_of(em, "pur")
    got = cards(pur.get("/").get_data(as_text=True))
    assert got["订单逾期未付款"] == 1 and got["已验收待付款"] == 2
    home = pur.get("/").get_data(as_text=True)
    link = home.split("订单逾期未付款")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    listed = pur.get(link).get_data(as_text=True)
    table = listed.split('id="em-overdue-payments"')[1]
    rows = table.count('class="danger em-overdue-row"')
    assert rows == 1 and "已逾期 3 天" in table
    # the card's list shows the late order only (its filter: accepted, due before today)
    body = listed.split("记录数目")[1]
    numbers = em.sql(__import__("sqlalchemy").text(
        "SELECT id, number FROM emall_order ORDER BY id"))
    nums = dict(numbers)
    assert nums[late] in body and nums[on_time] not in body
    shown = visible_text(pur.get(f"/orderview/show/{late}").get_data(as_text=True))
    assert "付款已逾期 3 天" in shown
    assert "付款已逾期" not in pur.get(f"/orderview/show/{on_time}").get_data(as_text=True)
    # paid: no longer overdue
    em.move(late, "pay", "pur", payment_ref="PZ1")
    got = cards(pur.get("/").get_data(as_text=True))
    assert got["订单逾期未付款"] == 0
    assert 'id="em-overdue-payments"' not in pur.get("/orderview/list/").get_data(as_text=True)


def test_unrated_orders_card_opens_a_list_of_them(em) -> None:
    from sqlalchemy import text

    em.admit("sup_a", "A0201")
    rated, unrated, paid = accepted_order(em), accepted_order(em), accepted_order(em)
    em.move(paid, "pay", "pur", payment_ref="PZ2")
    placed = em.buy("pur", em.listing("sup_a", price="200.00", reference="200.00")).json["id"]
    em.call("POST", f"emall_order/{rated}/rate", "pur",
            {"delivery": 5, "quality": 4, "service": 5, "comment": "好"}, expect=200)
    pur = client_of(em, "pur")
    home = pur.get("/").get_data(as_text=True)
    assert cards(home)["已验收待评价"] == 2
    link = home.split("已验收待评价")[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    listed = pur.get(link).get_data(as_text=True)
    assert 'id="em-unrated-note"' in listed
    nums = dict(em.sql(text("SELECT id, number FROM emall_order")))
    body = listed.split("记录数目")[1]
    assert nums[unrated] in body and nums[paid] in body
    assert nums[rated] not in body and nums[placed] not in body
    assert "评价供应商" in pur.get(f"/orderview/show/{unrated}").get_data(as_text=True)
    # the plain list still has every order
    body = pur.get("/orderview/list/").get_data(as_text=True).split("记录数目")[1]
    assert all(nums[o] in body for o in (rated, unrated, paid, placed))
    # the supplier is shown no such card
    assert "已验收待评价" not in cards(client_of(em, "sup_a").get("/").get_data(as_text=True))
