"""The e-mall tells the users concerned (站内消息): admission decided, listing approved /
returned, order placed / shipped / accepted, price comparison opened / closing / closed /
awarded, price anomaly confirmed. Each message links to the record it is about."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select, update

from core.db import db
from core.messages import Message


def inbox(em, username: str) -> list[tuple[str, str, str | None]]:
    """(kind, title, link) of a user's messages, oldest first."""
    from core.security import ErpUser

    with em.app.app_context():
        uid = db.session.scalar(select(ErpUser.id).where(ErpUser.username == username))
        return [(m.kind, m.title, m.link) for m in db.session.scalars(
            select(Message).where(Message.user_id == uid).order_by(Message.id))]


def kinds(em, username: str) -> list[str]:
    return [k for k, _, _ in inbox(em, username)]


def test_admission_and_listing_decisions_reach_the_supplier(em) -> None:
    adm = em.admit("sup_a", "A0201")
    (kind, title, link), = inbox(em, "sup_a")
    assert kind == "emall.admission_decided" and "已批准入驻" in title
    assert link == f"/admissionview/show/{adm}"
    assert inbox(em, "sup_b") == [], "another supplier is told nothing"

    lid = em.listing("sup_a", listed=False)
    em.call("POST", f"emall_listing/{lid}/transition/submit", "sup_a", {}, expect=200)
    em.call("POST", f"emall_listing/{lid}/transition/reject", "inst", {"reason": "图片不清晰"},
            expect=200)
    kind, title, link = inbox(em, "sup_a")[-1]
    assert kind == "emall.listing_decided" and "退回" in title and link == f"/listingview/show/{lid}"
    em.call("POST", f"emall_listing/{lid}/transition/submit", "sup_a", {}, expect=200)
    em.call("POST", f"emall_listing/{lid}/transition/approve", "inst", {}, expect=200)
    assert "商品已上架" in inbox(em, "sup_a")[-1][1]
    # a refused transition tells nobody anything
    before = len(inbox(em, "sup_a"))
    em.call("POST", f"emall_listing/{lid}/transition/approve", "inst", {}, expect=409)
    assert len(inbox(em, "sup_a")) == before


def test_order_events_reach_the_other_party(em) -> None:
    em.admit("sup_a", "A0201")
    lid = em.listing("sup_a", price="2500.00", reference="2600.00", stock=10)
    oid = em.buy("pur", lid, 2).json["id"]
    assert kinds(em, "sup_a")[-1] == "emall.order_placed"
    assert inbox(em, "sup_a")[-1][2] == f"/orderview/show/{oid}"
    em.move(oid, "confirm", "sup_a")
    em.move(oid, "ship", "sup_a", tracking="SF123")
    assert kinds(em, "pur")[-1] == "emall.order_shipped"
    assert inbox(em, "pur2") == [], "another school of the same competent unit is not told"
    em.move(oid, "deliver", "pur")
    em.move(oid, "accept", "pur", inspectors="王明、李华", note="合格")
    assert kinds(em, "sup_a")[-1] == "emall.order_accepted"


def _close(em, comp_id: int) -> None:
    from addons.emall.models import EmallComparison

    with em.app.app_context():
        db.session.execute(update(EmallComparison).where(EmallComparison.id == comp_id).values(
            quote_deadline=dt.datetime(2020, 1, 1)), execution_options={"erp_unscoped": True})
        db.session.commit()


def test_comparison_opened_closing_closed_awarded(em) -> None:
    from addons.emall.models import EmallComparison
    from addons.emall.services import notices

    em.admit("sup_a", "A0201")
    em.admit("sup_b", "A0201")
    la = em.listing("sup_a", price="30000.00", reference="30000.00")
    lb = em.listing("sup_b", price="29000.00", reference="29000.00")
    em.cart("pur", (la, 2))
    cid = em.checkout("pur").json["result"]["comparison"]["id"]
    # both admitted suppliers are invited; sup_c (not admitted) is not
    assert "emall.comparison_opened" in kinds(em, "sup_a")
    assert "emall.comparison_opened" in kinds(em, "sup_b")
    assert "emall.comparison_opened" not in kinds(em, "sup_c")
    # closing soon: told once
    with em.app.app_context():
        comp = db.session.get(EmallComparison, cid, execution_options={"erp_unscoped": True})
        at = comp.quote_deadline - dt.timedelta(hours=2)
        assert notices.comparison_closing(db.session, comp, at=at) is True
        assert notices.comparison_closing(db.session, comp, at=at) is False
        db.session.commit()
    assert kinds(em, "pur").count("emall.comparison_closing") == 1
    for user, listing, price in (("sup_a", la, "29500.00"), ("sup_b", lb, "28800.00")):
        em.call("POST", "emall_quote/", user, {"comparison": cid, "lines": [
            {"line": 1, "listing_id": listing, "unit_price": price}]}, expect=201)
    _close(em, cid)
    em.call("POST", f"emall_comparison/{cid}/award", "pur", {"reason": "仅两家报价，价格合理"},
            expect=200)
    bodies = [m.body for m in _messages(em, "pur", "emall.comparison_closed")]
    assert len(bodies) == 1 and "共收到 2 家报价" in bodies[0]
    won = _messages(em, "sup_b", "emall.comparison_closed")
    lost = _messages(em, "sup_a", "emall.comparison_closed")
    assert "成交" in won[-1].body and "其他供应商" in lost[-1].body
    assert "emall.order_placed" in kinds(em, "sup_b"), "the winner gets the order"


def _messages(em, username: str, kind: str) -> list[Message]:
    from core.security import ErpUser

    with em.app.app_context():
        uid = db.session.scalar(select(ErpUser.id).where(ErpUser.username == username))
        rows = db.session.scalars(select(Message).where(Message.user_id == uid,
                                                        Message.kind == kind)).all()
        db.session.expunge_all()
        return list(rows)


def test_confirmed_price_anomaly_tells_the_supplier(em) -> None:
    from addons.emall.models import EmallListing

    em.admit("sup_a", "A0201")
    em.admit("sup_b", "A0201")
    normal = [em.listing("sup_a", price=p, reference=p)
              for p in ("4000.00", "4100.00", "3900.00", "4050.00", "3950.00")]
    odd = em.listing("sup_b", price="9800.00", reference="9800.00")
    for lid in normal:
        em.buy("pur", lid)
    em.buy("pur", odd)
    with em.app.app_context():
        db.session.get(EmallListing, normal[0]).reference_price = Decimal("3500.00")
        db.session.commit()
    em.call("POST", "emall_price_alert/scan", "inst", {}, expect=200)
    alerts = em.call("GET", "emall_price_alert/?q=(page_size:100)", "inst").json["result"]
    outlier = next(a for a in alerts if a["kind"] == "order_outlier")
    above = next(a for a in alerts if a["kind"] == "above_reference")
    em.call("POST", f"emall_price_alert/{above['id']}/review", "inst",
            {"decision": "dismissed", "note": "参考价已过期"}, expect=200)
    assert "emall.price_anomaly" not in kinds(em, "sup_a"), "a dismissed alert tells nobody"
    em.call("POST", f"emall_price_alert/{outlier['id']}/review", "inst",
            {"decision": "confirmed", "note": "已约谈供应商"}, expect=200)
    kind, title, link = inbox(em, "sup_b")[-1]
    assert kind == "emall.price_anomaly" and link == f"/listingview/show/{odd}"
