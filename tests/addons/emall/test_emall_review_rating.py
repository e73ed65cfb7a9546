"""A price anomaly's review with its measure (delist / correct by a date / dismiss) and the
purchaser's rating of an accepted order: declared once (core.actions) and used both through
the API and on the record pages; only the institution reviews, only the ordering purchaser
rates, once; bad input changes nothing."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import text

from core.db import db
from tests.addons.emall.em_world import PASSWORD
from tests.core.test_web import login_form


def _client(em, user: str):
    c = em.app.test_client()
    login_form(c, user, PASSWORD)
    return c


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _alerts(em):
    """Two above-reference alerts of sup_a's listings (references lowered after listing)."""
    from addons.emall.models import EmallListing

    em.admit("sup_a", "A0201")
    a = em.listing("sup_a", price="4000.00", reference="4000.00")
    b = em.listing("sup_a", price="4100.00", reference="4100.00")
    with em.app.app_context():
        for lid in (a, b):
            db.session.get(EmallListing, lid).reference_price = Decimal("3500.00")
        db.session.commit()
    em.call("POST", "emall_price_alert/scan", "inst", {}, expect=200)
    rows = em.call("GET", "emall_price_alert/?q=(page_size:100)", "inst").json["result"]
    by_listing = {(r.get("listing") or {}).get("id", r.get("listing.id")): r["id"] for r in rows}
    return a, b, by_listing[a], by_listing[b]


def _status(em, lid: int) -> str:
    return em.sql(text("SELECT status FROM emall_listing WHERE id = :i").bindparams(i=lid))[0][0]


def test_confirming_a_price_anomaly_takes_the_chosen_measure(em) -> None:
    from addons.emall.services import price_watch

    a, b, alert_a, alert_b = _alerts(em)
    # the page: the institution sees the three measures and a link to the listing
    inst = _client(em, "inst")
    page = inst.get(f"/pricealertview/show/{alert_a}").get_data(as_text=True)
    for label in ("确认异常并下架", "确认异常，限期改价", "无异常"):
        assert label in page
    assert f"/listingview/show/{a}" in page
    # the legacy review (``POST .../<pk>/review``) is API only: no button, no page endpoint
    assert 'data-action="review"' not in page and "旧接口" not in page
    assert inst.post(f"/pricealertview/transition/{alert_a}/review",
                     data={"csrf_token": _csrf(page), "decision": "dismissed",
                           "note": "x"}).status_code == 404
    # an auditor reads the queue but gets no buttons; a supplier is refused by the API
    auditor = _client(em, "auditor")
    assert "确认异常并下架" not in auditor.get(f"/pricealertview/show/{alert_a}").get_data(as_text=True)
    em.call("POST", f"emall_price_alert/{alert_a}/delist", "sup_a", {"note": "x"}, expect=403)

    # a note is required: nothing changes
    res = inst.post(f"/pricealertview/transition/{alert_a}/delist", data={"csrf_token": _csrf(page)},
                    follow_redirects=True)
    assert "请填写复核意见" in res.get_data(as_text=True)
    assert _status(em, a) == "listed"
    res = inst.post(f"/pricealertview/transition/{alert_a}/delist",
                    data={"csrf_token": _csrf(page), "note": "高于参考价 14%"}, follow_redirects=True)
    assert "商品已下架" in res.get_data(as_text=True)
    assert _status(em, a) == "delisted"
    row = em.sql(text("SELECT status, measure FROM emall_price_alert WHERE id = :i").bindparams(i=alert_a))[0]
    assert tuple(row) == ("confirmed", "delist")
    em.call("POST", f"emall_price_alert/{alert_a}/dismiss", "inst", {"note": "again"}, expect=409)

    # correct by a date: the date must be after today, through the API alike
    today = price_watch.today()
    res = em.call("POST", f"emall_price_alert/{alert_b}/correct", "inst",
                  {"note": "请改价", "correct_by": today.isoformat()}, expect=422)
    assert "改价截止日期须晚于今天" in str(res.json["message"])
    res = em.call("POST", f"emall_price_alert/{alert_b}/correct", "inst",
                  {"note": "请改价", "correct_by": "2026-13-01"}, expect=422)
    due = today + dt.timedelta(days=10)
    res = em.call("POST", f"emall_price_alert/{alert_b}/correct", "inst",
                  {"note": "请改价", "correct_by": due.isoformat()}, expect=200)
    assert res.json["result"] == {"id": alert_b, "status": "confirmed", "measure": "correct",
                                  "correct_by": due.isoformat()}
    assert _status(em, b) == "listed", "still on sale until the deadline"
    msgs = em.sql(text("SELECT body FROM erp_message WHERE kind = 'emall.price_anomaly' ORDER BY id"))
    assert "已下架" in msgs[0][0] and f"请于 {due:%Y-%m-%d} 前改正价格" in msgs[-1][0]
    # the deadline passes with the price unchanged: the listing is delisted (once)
    with em.app.app_context():
        assert price_watch.enforce_price_corrections(db.session, due) == []
        assert price_watch.enforce_price_corrections(db.session, due + dt.timedelta(days=1)) == [b]
        db.session.commit()
        assert price_watch.enforce_price_corrections(db.session, due + dt.timedelta(days=2)) == []
    assert _status(em, b) == "delisted"


def _accepted_order(em) -> int:
    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a")
    oid = em.buy("pur", lid).json["result"]["id"]
    em.move(oid, "confirm", "sup_a")
    em.move(oid, "ship", "sup_a", tracking="SF1")
    em.move(oid, "deliver", "sup_a")
    return oid


def test_the_purchaser_rates_an_accepted_order_once(em) -> None:
    oid = _accepted_order(em)
    pur = _client(em, "pur")
    page = pur.get(f"/orderview/show/{oid}").get_data(as_text=True)
    assert "评价供应商" not in page, "not before acceptance"
    em.call("POST", f"emall_order/{oid}/rate", "pur", {"delivery": 5, "quality": 4, "service": 5}, expect=409)
    em.move(oid, "accept", "pur", inspectors="王明", note="合格")

    page = pur.get(f"/orderview/show/{oid}").get_data(as_text=True)
    assert "评价供应商" in page and "交货评分" in page
    sup_page = _client(em, "sup_a").get(f"/orderview/show/{oid}").get_data(as_text=True)
    assert "评价供应商" not in sup_page, "the supplier does not rate itself"
    em.call("POST", f"emall_order/{oid}/rate", "sup_a", {"delivery": 5, "quality": 5, "service": 5}, expect=403)
    res = em.call("POST", f"emall_order/{oid}/rate", "pur", {"delivery": 6, "quality": 4, "service": 5}, expect=422)
    assert "交货评分须为 1～5 的整数" in str(res.json["message"])
    assert em.sql(text("SELECT count(*) FROM emall_rating"))[0][0] == 0

    res = pur.post(f"/orderview/act/{oid}/rate", data={"csrf_token": _csrf(page), "delivery": "5", "quality": "4",
                                                       "service": "3", "comment": "送货及时"}, follow_redirects=True)
    html = res.get_data(as_text=True)
    assert "已评价" in html and 'id="em-rating"' in html and "送货及时" in html
    assert 'data-action="rate"' not in html, "rated once: the form is gone"
    assert em.sql(text("SELECT count(*) FROM emall_rating"))[0][0] == 1
    res = em.call("POST", f"emall_order/{oid}/rate", "pur", {"delivery": 5, "quality": 5, "service": 5})
    assert res.status_code == 409 and "已评价" in str(res.json["message"])

    # the supplier is told; the institution sees the ratings and the supplier's average
    body = em.sql(text("SELECT body FROM erp_message WHERE kind = 'emall.order_rated'"))
    assert body and "质量 4 分" in body[0][0]
    inst = _client(em, "inst")
    listing = inst.get("/ratingview/list/").get_data(as_text=True)
    assert "送货及时" in listing
    adm = em.sql(text("SELECT id FROM emall_admission WHERE supplier_id = :s").bindparams(s=em.org["sup_a"]))[0][0]
    assert "采购人评价 1 次，平均：交货 5.0 分、质量 4.0 分、服务 3.0 分" in inst.get(
        f"/admissionview/show/{adm}").get_data(as_text=True)
    # another supplier does not see it
    em.admit("sup_b", "A0201")
    assert "送货及时" not in _client(em, "sup_b").get("/ratingview/list/").get_data(as_text=True)
