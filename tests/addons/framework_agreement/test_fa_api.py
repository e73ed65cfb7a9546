"""The API doors: a purchaser's direct selection and second competition, the collecting
party's actions, and each bad input answered 4xx in Chinese with nothing stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from core.db import db
from tests.addons.framework_agreement.fa_world import FaWorld, now


def _counts(fa: FaWorld) -> tuple[int, int]:
    from addons.emall.models import EmallOrder
    from addons.framework_agreement.models import FaCallOff

    with fa.app.app_context():
        opts = {"erp_unscoped": True}
        return (db.session.execute(select(func.count()).select_from(FaCallOff), execution_options=opts).scalar(),
                db.session.execute(select(func.count()).select_from(EmallOrder), execution_options=opts).scalar())


def test_purchaser_calls_off_through_the_api(fa: FaWorld) -> None:
    em = fa.em
    res = em.call("GET", "fa_available/", "pur", expect=200)
    [ag] = res.json["result"]
    assert ag["id"] == fa.ag and {ln["supplier_id"] for ln in ag["lines"]} == {fa.org("sup_a"), fa.org("sup_b")}
    res = em.call("POST", "fa_calloff/direct", "pur", {"agreement": fa.ag, "line": fa.line["sup_a"], "quantity": 2},
                  expect=201)
    assert res.json["result"]["amount"] == "9000.00" and res.json["result"]["order_id"]
    order = em.call("GET", f"emall_order/{res.json['result']['order_id']}", "pur", expect=200).json["result"]
    assert order["channel"] == "framework"
    before = _counts(fa)
    bad = [
        ("pur", "fa_calloff/direct", {"agreement": fa.ag, "line": fa.line["sup_a"], "quantity": 1,
                                      "unit_price": "4500.01"}, 422, "超过协议价格"),
        ("pur", "fa_calloff/direct", {"agreement": fa.ag, "line": fa.line["sup_a"], "quantity": 9}, 409, "剩余 8"),
        ("pur_jl", "fa_calloff/direct", {"agreement": fa.ag, "line": fa.line["sup_a"], "quantity": 1}, 403, "适用范围"),
        ("pur", "fa_calloff/competition", {"agreement": fa.ag, "item": fa.item, "quantity": 1,
                                           "invited": [fa.org("sup_a")],
                                           "deadline": (now() + dt.timedelta(days=5)).isoformat()}, 422, "未邀请"),
        ("pur", "fa_calloff/direct", {"agreement": fa.ag, "line": "x", "quantity": 1}, 422, ""),
    ]
    for user, path, body, status, words in bad:
        res = em.call("POST", path, user, body)
        assert res.status_code == status, (path, body, res.json)
        assert words in str(res.json["message"]), res.json
    assert _counts(fa) == before
    # suppliers list what they won and the competitions they are invited to (rules read tables)
    em.call("POST", "fa_calloff/competition", "pur", {"agreement": fa.ag, "item": fa.item, "quantity": 1,
                                                      "invited": [fa.org("sup_a"), fa.org("sup_b")],
                                                      "deadline": (now() + dt.timedelta(days=5)).isoformat()},
            expect=201)
    for sup, n in (("sup_a", 2), ("sup_b", 1), ("sup_c", 0)):
        assert em.call("GET", "fa_calloff/", sup, expect=200).json["count"] == n, sup


def test_collector_actions_and_supplier_quote_above_ceiling(fa: FaWorld) -> None:
    em = fa.em
    body = {"name": "吉林市办公桌椅框架协议", "kind": "goods", "form": "closed", "subject": "办公桌椅",
            "demand": "钢木结构", "evaluation": "price", "methods": "direct",
            "term_start": (now().date() + dt.timedelta(days=30)).isoformat(),
            "term_end": (now().date() + dt.timedelta(days=500)).isoformat(),
            "response_deadline": (now() + dt.timedelta(days=22)).isoformat(timespec="seconds"),
            "eligible_regions": [em.region["220100"]]}
    res = em.call("POST", "fa_agreement/", "inst", body)
    assert res.status_code == 422 and "期限超过上限" in res.json["message"]["term_end"][0], res.json
    body["term_end"] = (now().date() + dt.timedelta(days=200)).isoformat()
    ag = em.call("POST", "fa_agreement/", "inst", body, expect=201).json["id"]
    res = em.call("POST", f"fa_agreement/{ag}/transition/publish", "inst", {})
    assert res.status_code == 422 and "品目" in str(res.json["message"]), res.json
    item = em.call("POST", "fa_item/", "inst", {"agreement": ag, "name": "办公椅", "unit": "把",
                                                "ceiling_price": "800.00", "est_quantity": 50, "max_quantity": 20},
                   expect=201).json["id"]
    em.call("POST", f"fa_agreement/{ag}/transition/publish", "inst", {}, expect=200)
    res = em.call("PUT", f"fa_agreement/{ag}", "inst", {"demand": "改为实木"})
    assert res.status_code == 422 and "不得修改" in str(res.json["message"]), res.json
    res = em.call("PUT", f"fa_item/{item}", "inst", {"ceiling_price": "900.00"})
    assert res.status_code == 422, res.json
    res = em.call("POST", f"fa_agreement/{ag}/transition/respond", "sup_c",
                  {"lines": [{"item": item, "listing": fa.listing["sup_c"], "unit_price": "800.50"}]})
    assert res.status_code == 422 and "超过最高限制单价" in str(res.json["message"]), res.json
    assert em.call("GET", f"fa_agreement/{fa.ag}/report", "inst", expect=200).json["result"]["ledger"]
    res = em.call("GET", f"fa_agreement/{fa.ag}/report.xlsx", "inst", expect=200)
    assert res.data[:2] == b"PK"
