"""The rules the issue requires: each trading-rule limit just below, at and just above it
(defaults and a per-region override); 50 concurrent orders for the last 10 units on
PostgreSQL; a supplier never sees another supplier's orders or quotes; purchasers see their
own unit's (a competent unit also its budget units') within their regions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.db import db
from core.services import settings


def _priced(em, *prices: str) -> list[int]:
    em.admit("sup_a", "A0201")
    return [em.listing("sup_a", price=p, reference=p, stock=1000) for p in prices]


@pytest.mark.parametrize(("price", "mode"), [
    ("49999.99", "direct"), ("50000.00", "direct"), ("50000.01", "comparison"),
    ("999999.99", "comparison"), ("1000000.00", "comparison"), ("1000000.01", "refused"),
])
def test_trading_rule_limits_below_at_above(em, price, mode) -> None:
    (lid,) = _priced(em, price)
    em.cart("pur", (lid, 1))
    res = em.checkout("pur", expect=None)
    if mode == "refused":
        assert res.status_code == 422
        msg = res.json["message"]["amount"][0]
        assert "超过电子卖场竞价上限" in msg and "政府采购项目" in msg and "1,000,000.00" in msg
        assert em.call("GET", "emall_cart/", "pur").json["result"]["lines"], "the cart is kept"
        assert em.call("GET", "emall_order/", "pur").json["count"] == 0
        return
    assert res.status_code == 200, res.json
    assert res.json["result"]["mode"] == mode
    if mode == "direct":
        (order,) = res.json["result"]["orders"]
        assert order["amount"] == price and order["channel"] == "direct"
    else:
        comp = res.json["result"]["comparison"]
        assert comp["budget"] == price and comp["status"] == "open"
        assert em.call("GET", "emall_order/", "pur").json["count"] == 0
    assert em.call("GET", "emall_cart/", "pur").json["result"]["lines"] == []


def test_buy_now_over_the_direct_limit_is_sent_to_a_comparison(em) -> None:
    at, above = _priced(em, "50000.00", "50000.01")
    assert em.buy("pur", at).json["result"]["amount"] == "50000.00"
    res = em.buy("pur", above, expect=422)
    assert "须通过购物车结算发起网上竞价" in res.json["message"]["amount"][0]


def test_limits_are_per_region_settings(em) -> None:
    """长春市 lowers its direct-purchase limit to 10,000: its schools (南关区) follow it,
    吉林市 keeps the provincial default."""
    with em.app.app_context():
        settings.set("emall.direct_purchase_limit", "10000", em.region["220100"], session=db.session)
        db.session.commit()
    at, above = _priced(em, "10000.00", "10000.01")
    em.cart("pur", (at, 1))
    assert em.checkout("pur").json["result"]["mode"] == "direct"
    em.cart("pur", (above, 1))
    assert em.checkout("pur").json["result"]["mode"] == "comparison"
    em.cart("pur_jl", (above, 1))
    assert em.checkout("pur_jl").json["result"]["mode"] == "direct"


def test_whole_checkout_counts_not_each_supplier_order(em) -> None:
    """Splitting a purchase across suppliers does not change its band (化整为零)."""
    em.admit("sup_a", "A0201")
    em.admit("sup_b", "A0201")
    a = em.listing("sup_a", price="30000.00", reference="30000.00")
    b = em.listing("sup_b", price="30000.00", reference="30000.00")
    em.cart("pur", (a, 1), (b, 1))
    assert em.checkout("pur").json["result"]["mode"] == "comparison"
    a2 = em.listing("sup_a", price="20000.00", reference="20000.00")
    b2 = em.listing("sup_b", price="20000.00", reference="20000.00")
    em.cart("pur", (a2, 1), (b2, 1))
    res = em.checkout("pur").json["result"]
    assert res["mode"] == "direct" and len(res["orders"]) == 2, "one order per supplier"
    assert {o["supplier"] for o in res["orders"]} == {em.org["sup_a"], em.org["sup_b"]}


# -- stock ------------------------------------------------------------------------------------------------
def test_stock_is_reserved_and_released_on_cancel(em) -> None:
    from addons.emall.models import EmallListing

    (lid,) = _priced(em, "100.00")
    with em.app.app_context():
        db.session.get(EmallListing, lid).stock = 3
        db.session.commit()
    oid = em.buy("pur", lid, 2).json["id"]
    res = em.buy("pur", lid, 2, expect=409)
    assert res.json["message"]["stock"] == ["“台式计算机”库存不足：剩余 1，需要 2"]
    em.move(oid, "cancel", "pur", expect=422)  # a reason is required
    em.move(oid, "cancel", "pur", reason="预算调整")
    with em.app.app_context():
        assert db.session.get(EmallListing, lid).stock == 3
    em.move(oid, "cancel", "pur", reason="再次取消", expect=409)


# -- visibility ---------------------------------------------------------------------------------------
def _ids(em, resource: str, user: str) -> set[int]:
    res = em.call("GET", f"{resource}/?q=(page_size:100)", user, expect=200)
    return set(res.json["ids"])


def test_supplier_never_sees_another_suppliers_orders_or_quotes(em) -> None:
    em.admit("sup_a", "A0201")
    em.admit("sup_b", "A0201")
    a = em.listing("sup_a", price="1000.00", reference="1000.00")
    b = em.listing("sup_b", price="1000.00", reference="1000.00")
    oa = em.buy("pur", a).json["id"]
    ob = em.buy("pur_jl", b).json["id"]
    assert _ids(em, "emall_order", "sup_a") == {oa}
    assert _ids(em, "emall_order", "sup_b") == {ob}
    assert em.call("GET", f"emall_order/{ob}", "sup_a").status_code == 404
    assert em.call("GET", f"emall_order/{ob}/detail", "sup_a").status_code == 404
    em.move(ob, "confirm", "sup_a", expect=404)
    # quotes: a comparison both may quote in
    big_a = em.listing("sup_a", price="60000.00", reference="60000.00")
    big_b = em.listing("sup_b", price="60000.00", reference="60000.00")
    em.cart("pur", (big_a, 1))
    comp = em.checkout("pur").json["result"]["comparison"]
    qa = em.call("POST", "emall_quote/", "sup_a", {"comparison": comp["id"], "lines": [
        {"line": 1, "listing_id": big_a, "unit_price": "59000.00"}]}, expect=201).json["id"]
    qb = em.call("POST", "emall_quote/", "sup_b", {"comparison": comp["id"], "lines": [
        {"line": 1, "listing_id": big_b, "unit_price": "58000.00"}]}, expect=201).json["id"]
    assert _ids(em, "emall_quote", "sup_a") == {qa}
    assert _ids(em, "emall_quote", "sup_b") == {qb}
    assert em.call("GET", f"emall_quote/{qb}", "sup_a").status_code == 404
    assert em.call("PUT", f"emall_quote/{qb}", "sup_a", {"lines": []}).status_code == 404
    # sealed: the purchaser sees no quote until the window has closed
    assert _ids(em, "emall_quote", "pur") == set()


def test_purchasers_see_their_own_unit_and_region(em) -> None:
    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a", price="1000.00", reference="1000.00")
    mine = em.buy("pur", lid).json["id"]
    other_school = em.buy("pur2", lid).json["id"]
    jl = em.buy("pur_jl", lid).json["id"]
    assert _ids(em, "emall_order", "pur") == {mine}
    assert _ids(em, "emall_order", "pur2") == {other_school}
    assert _ids(em, "emall_order", "cu") == {mine, other_school}, "the competent unit sees its schools"
    assert _ids(em, "emall_order", "pur_jl") == {jl}
    assert em.call("GET", f"emall_order/{jl}", "pur").status_code == 404
    assert em.call("GET", f"emall_order/{other_school}", "pur").status_code == 404
    # region actors: 长春市 finance (auditor) sees 长春市, not 吉林市; the institution sees all
    assert _ids(em, "emall_order", "auditor") == {mine, other_school}
    assert _ids(em, "emall_order", "inst") == {mine, other_school, jl}
    # a purchaser cannot act on another unit's order even in its region
    em.move(other_school, "cancel", "pur", reason="x", expect=404)


def test_order_amounts_are_decimal_and_lines_snapshot_prices(em) -> None:
    from addons.emall.models import EmallListing

    (lid,) = _priced(em, "333.33")
    oid = em.buy("pur", lid, 3).json["id"]
    with em.app.app_context():
        db.session.get(EmallListing, lid).price = Decimal("300.00")
        db.session.commit()
    detail = em.call("GET", f"emall_order/{oid}/detail", "pur").json["result"]
    assert detail["amount"] == "999.99"
    assert detail["lines"][0]["unit_price"] == "333.33"


def test_institution_users_may_hold_the_emall_role() -> None:
    """procurement_base's 单位用户 page lets users of a 集中采购机构 hold 电子卖场管理."""
    from addons.emall import services as em_services
    from addons.procurement_base import services as pb_services

    assert pb_services.allowed_roles("central_procurement") == {
        "采购代理机构", em_services.INSTITUTION_ROLE}
    assert em_services.INSTITUTION_ROLE not in pb_services.allowed_roles("agency")
    assert em_services.INSTITUTION_ROLE in pb_services.all_actor_roles()
