"""Issue 12 finding 12: deposit caps are exact, never rounded up.

2 % of a budget of 123,456.78 is 2,469.1356: 2,469.14 is above it and refused, and the
message shows the cap rounded DOWN to the fen (2,469.13), the largest amount allowed. The
same for performance deposits (10 % of the contract amount) and for converting the
winner's bid deposit into its performance deposit.
"""

from __future__ import annotations

from decimal import Decimal

from core.services.money import percent_cap
from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401
from tests.addons.procurement_base.pb_world import AWARD, DEADLINE, NOTICE, OPENING, SIGNED


def test_percent_cap_is_exact_and_shown_rounded_down() -> None:
    cap = percent_cap("123456.78", 2)
    assert cap.exact == Decimal("2469.1356") and cap.shown == Decimal("2469.13")
    assert cap.exceeded_by("2469.14") and not cap.exceeded_by("2469.13")
    assert percent_cap("1000000.00", 2).shown == Decimal("20000.00")
    assert not percent_cap("1000000.00", 2).exceeded_by("20000.00")


def _world(dl, number: str, *, budget: str, price: str) -> dict:  # noqa: F811
    p = dl.project(number, budget=budget, bid_deadline=DEADLINE)
    pkg = dl.package(p, budget=budget)
    dl.move(p, "publish", date=NOTICE)
    won = dl.bid(pkg, "sup_a", price)
    lost = dl.bid(pkg, "sup_c", str(Decimal(price) + 1000))
    dl.move(p, "open_bidding", date=OPENING)
    dl.move(p, "evaluate")
    dl.move(p, "award", date=AWARD, winning_bids=[won])
    contract = dl.contract({"project": p, "package": pkg}, amount=price, number=f"HT-{number}")
    dl.move_contract(contract.json["id"], "sign", date=SIGNED)
    return {"project": p, "package": pkg, "won": won, "lost": lost, "contract": contract.json["id"]}


def _deposit(dl, ids: dict, number: str, amount: str, *, kind: str = "bid",  # noqa: F811
             supplier: str = "sup_c", expect: int | None = None):
    body = {"number": number, "kind": kind, "project": ids["project"],
            "supplier": dl.org[supplier], "form": "transfer", "amount": amount,
            "received_date": "2025-03-20", "payer_account": "6222020200001234567",
            "receipt_reference": f"IN-{number}"}
    if kind == "bid":
        body |= {"package": ids["package"], "bid": ids["lost" if supplier == "sup_c" else "won"]}
    else:
        body["contract"] = ids["contract"]
    return dl.post("dl_deposit", body, "agency", expect=expect)


def test_bid_deposit_above_the_exact_two_percent_is_refused(dl) -> None:  # noqa: F811
    ids = _world(dl, "CC-CAP-1", budget="123456.78", price="100000.00")
    res = _deposit(dl, ids, "CAP-B1", "2469.14", expect=422)
    msg = res.json["message"]["amount"][0]
    assert "¥2,469.13" in msg and "2%" in msg, msg
    _deposit(dl, ids, "CAP-B1", "2469.13", expect=201)


def test_performance_deposit_above_the_exact_ten_percent_is_refused(dl) -> None:  # noqa: F811
    # contract 24,691.36 -> 10 % = 2,469.136
    ids = _world(dl, "CC-CAP-2", budget="200000.00", price="24691.36")
    res = _deposit(dl, ids, "CAP-P1", "2469.14", kind="performance", supplier="sup_a", expect=422)
    msg = res.json["message"]["amount"][0]
    assert "¥2,469.13" in msg and "10%" in msg, msg
    _deposit(dl, ids, "CAP-P1", "2469.13", kind="performance", supplier="sup_a", expect=201)


def test_conversion_above_the_exact_ten_percent_is_refused(dl) -> None:  # noqa: F811
    ids = _world(dl, "CC-CAP-3", budget="200000.00", price="24691.36")
    pk = _deposit(dl, ids, "CAP-C1", "2469.14", supplier="sup_a", expect=201).json["id"]
    res = dl.act(pk, "convert", contract=ids["contract"], date=SIGNED, expect=422)
    msg = res.json["message"]["amount"][0]
    assert "¥2,469.13" in msg, msg
    assert dl.call("GET", f"dl_deposit/{pk}", "agency", expect=200).json["result"]["status"] == "held"
