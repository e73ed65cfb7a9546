"""The annual disclosure of a competent unit: computed from the contracts, a year without data
refused, the review needs an explanation below target, only the unit signs, publication kept
here without a notices module, the Excel export, reminders and the list of units that have
not published."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from tests.addons.sme_policy.sme_world import AWARD, DEADLINE, NOTICE, OPENING

D = Decimal


def _awarded(sme, number: str, budget: str, winner: str, price: str, *,
             whole: bool) -> tuple[int, int]:
    extra = {"sme_measure": "whole"} if whole else {}
    p = sme.project(number, budget=budget, bid_deadline=DEADLINE, **extra)
    pkg = sme.package(p, budget=budget, sme_reserved=whole)
    if not whole:
        sme.policy(p, reason="大型专用设备，不适宜预留")
    sme.move(p, "publish", date=NOTICE)
    bids = {}
    for sup in ("sup_a", "sup_b", "sup_c"):
        bids[sup] = sme.bid(pkg, sup, price if sup == winner else "999999.00")
        if sup != "sup_c":
            sme.declare(bids[sup], user=sup, size="small" if sup == "sup_a" else "micro")
    sme.move(p, "open_bidding", date=OPENING)
    sme.move(p, "evaluate")
    sme.move(p, "award", date=AWARD, winning_bids=[bids[winner]])
    return p, pkg


def _world(sme) -> dict:
    # not reserved (reason given), won by the large firm
    p2, k2 = _awarded(sme, "DS-2", "999999.00", "sup_c", "990000.00", whole=False)
    c2 = sme.contract_for(p2, k2, "sup_c", "990000.00", "HT-DS-2")
    return {"p2": p2, "c2": c2}


def _unit_id(sme) -> int:
    return sme.org["cu_cc"]


def test_year_without_data_is_a_clear_error(sme) -> None:
    from addons.sme_policy.models import Disclosure

    res = sme.post("sme_disclosure", {"unit": _unit_id(sme), "year": 2024}, "unit", expect=422)
    assert "没有已签订的合同" in res.json["message"]["year"][0]
    for year, msg in ((1999, "2020"), ("abc", "四位数字"), (dt.date.today().year + 1, "2020")):
        res = sme.post("sme_disclosure", {"unit": _unit_id(sme), "year": year}, "unit")
        assert res.status_code in (400, 422), res.json
        if isinstance(year, int):
            assert msg in str(res.json["message"]), res.json
    # not a competent unit
    res = sme.post("sme_disclosure", {"unit": sme.org["pur_cc"], "year": 2025}, "admin",
                   expect=422)
    assert "不是主管预算单位" in str(res.json)
    assert sme.count(Disclosure) == 0


def test_figures_flow_publication_and_export(sme) -> None:
    from addons.sme_policy.models import Disclosure, DisclosureLine
    from core.db import db
    from core.services import settings

    ids = _world(sme)
    # a reserved project: the whole project for SMEs, won by the small firm
    p1 = sme.project("DS-1", budget="1000000.00", bid_deadline=DEADLINE, sme_measure="whole")
    k1 = sme.package(p1, budget="1000000.00", sme_reserved=True)
    sme.policy(p1, small_micro_percent="100")
    sme.move(p1, "publish", date=NOTICE)
    a = sme.bid(k1, "sup_a", "900000.00")
    b = sme.bid(k1, "sup_b", "950000.00")
    sme.declare(a, user="sup_a", size="small")
    sme.declare(b, user="sup_b", size="micro")
    res = sme.move(p1, "open_bidding", date=OPENING, expect=422)   # two SME bids only
    assert "不足 3 家" in str(res.get_json())
    with sme.app.app_context():
        from addons.sme_policy.models import Declaration
        from core.tenancy import SYSTEM, use_scope

        # a third SME: the large firm's bid declared as medium (for this test)
        with use_scope(SYSTEM):
            c = sme.bid(k1, "sup_c", "980000.00")
        db.session.add(Declaration(bid_id=c, package_id=k1, supplier_id=sme.org["sup_c"],
                                   industry="industry", size="medium", arrangement="single",
                                   region_id=sme.region["220100"]))
        db.session.commit()
    sme.move(p1, "open_bidding", date=OPENING)
    sme.move(p1, "evaluate")
    sme.move(p1, "award", date=AWARD, winning_bids=[a])
    sme.contract_for(p1, k1, "sup_a", "900000.00", "HT-DS-1")

    # the target is a setting of the region: 50 % makes this unit fall short
    with sme.app.app_context():
        settings.set("sme.reserve_percent", "50", region_id=sme.region["220100"],
                     session=db.session)
        db.session.commit()
    res = sme.post("sme_disclosure", {"unit": _unit_id(sme), "year": 2025}, "unit", expect=201)
    pk = res.json["id"]
    got = sme.call("GET", f"sme_disclosure/{pk}", "unit", expect=200).json["result"]
    assert D(got["total_amount"]) == D("1890000.00")
    assert D(got["suitable_amount"]) == D("1890000.00")
    assert D(got["reserved_whole"]) == D("900000.00")
    assert D(got["reserved_total"]) == D("900000.00")
    assert D(got["sme_amount"]) == D("900000.00")
    assert D(got["small_micro_amount"]) == D("900000.00")
    assert D(got["reserved_share"]) == D("47.62")
    assert D(got["small_micro_share"]) == D("100.00")
    assert D(got["target_reserved"]) == D("50")
    assert got["status"] == "draft"
    with sme.app.app_context():
        lines = db.session.execute(db.select(DisclosureLine)).scalars().all()
        assert [(ln.project_number, ln.link) for ln in lines] == [
            ("DS-1", "/contractview/list/?_flt_0_number=HT-DS-1")]
    # a second disclosure of the same unit and year is a duplicate
    assert sme.post("sme_disclosure", {"unit": _unit_id(sme), "year": 2025}, "unit",
                    expect=409).json["code"] == "duplicate"
    # figures are not edited by hand
    sme.put("sme_disclosure", pk, {"total_amount": "1.00"}, "unit", expect=422)

    act = f"sme_disclosure/{pk}/transition/"
    res = sme.call("POST", act + "review", "unit", {}, expect=422)
    assert "原因说明" in str(res.json)
    # another unit's purchaser may not act (it does not even see it)
    sme.call("POST", act + "review", "pur_jl", {}, expect=404)
    sme.put("sme_disclosure", pk, {"shortfall_explanation": "大型医疗设备采购占比高"}, "unit",
            expect=200)
    sme.call("POST", act + "review", "unit", {}, expect=200)
    # a budget unit below the competent unit may read but not sign
    res = sme.call("POST", act + "sign", "pur", {}, expect=None)
    assert res.status_code in (403, 404), res.json
    sme.call("POST", act + "sign", "unit", {}, expect=200)
    # signed: the explanation is frozen
    sme.put("sme_disclosure", pk, {"shortfall_explanation": "改"}, "unit", expect=422)
    res = sme.call("POST", act + "publish", "unit", {}, expect=200)
    assert res.json["result"]["status"] == "published"
    assert res.json["result"]["notice_link"] is None       # no notices module: kept here
    with sme.app.app_context():
        item = db.session.get(Disclosure, pk)
        assert item.published_on == dt.date.today() and item.signed_by

    # Excel: the summary and the project list
    res = sme.call("GET", f"sme_disclosure/{pk}/export", "unit", expect=200)
    wb = load_workbook(io.BytesIO(res.data))
    assert wb.sheetnames == ["执行情况", "预留项目清单"]
    cells = [c.value for row in wb["预留项目清单"].iter_rows() for c in row]
    assert "DS-1" in cells
    del ids


def test_reminders_and_units_not_published(sme) -> None:
    from addons.sme_policy import disclosure
    from addons.sme_policy.extensions import send_reminders
    from core.db import db
    from core.messages import Message

    with sme.app.app_context():
        units = disclosure.unpublished_units(db.session, 2025)
        assert [(u.name, s) for u, s in units] == [("长春市教育局（测试）", "未生成")]
        assert send_reminders(db.session, dt.date(2026, 1, 10)) == 0      # too early
        assert send_reminders(db.session, dt.date(2026, 3, 10)) == 1
        db.session.commit()
        assert send_reminders(db.session, dt.date(2026, 3, 11)) == 0      # once
        assert send_reminders(db.session, dt.date(2026, 4, 2)) == 1       # overdue
        db.session.commit()
        kinds = sorted(db.session.execute(db.select(Message.kind)).scalars())
        assert kinds == ["sme.disclosure_due", "sme.disclosure_overdue"]


def test_publication_goes_through_the_notices_module_when_there_is_one(sme) -> None:
    from addons.sme_policy import dashboard
    from core.db import db
    from core.notices import PUBLISHERS, NoticeRef

    _world(sme)
    pk = sme.post("sme_disclosure", {"unit": _unit_id(sme), "year": 2025}, "unit",
                  expect=201).json["id"]
    got = sme.call("GET", f"sme_disclosure/{pk}", "unit", expect=200).json["result"]
    # nothing reserved (the only project gave a reason): 0 % against 30 %
    assert D(got["reserved_share"]) == D("0.00") and D(got["total_amount"]) == D("990000.00")
    drafts = []

    @PUBLISHERS.implement("sme_policy")
    def fake_hub(session, draft):
        drafts.append(draft)
        return NoticeRef("notice_hub", 7, "/notices/7", "draft")

    try:
        act = f"sme_disclosure/{pk}/transition/"
        sme.call("POST", act + "recompute", "unit", {}, expect=200)
        sme.put("sme_disclosure", pk, {"shortfall_explanation": "唯一项目为进口设备，不适宜预留"},
                "unit", expect=200)
        sme.call("POST", act + "review", "unit", {}, expect=200)
        # sent back: a reason is required, then it is a draft again (and may be recomputed)
        assert sme.call("POST", act + "return", "unit", {}, expect=422).json["code"] \
            == "reason_required"
        sme.call("POST", act + "return", "unit", {"reason": "金额待核对"}, expect=200)
        sme.call("POST", act + "recompute", "unit", {}, expect=200)
        for name in ("review", "sign", "publish"):
            sme.call("POST", act + name, "unit", {}, expect=200)
    finally:
        PUBLISHERS.unregister(fake_hub)
    (draft,) = drafts
    assert draft.kind == "sme_disclosure" and draft.due_date.isoformat() == "2026-03-31"
    assert "唯一项目为进口设备" in draft.body and draft.publisher_org_id == _unit_id(sme)
    got = sme.call("GET", f"sme_disclosure/{pk}", "unit", expect=200).json["result"]
    assert got["notice_link"] == "/notices/7" and got["status"] == "published"
    # the finance bureau's dashboard: the unit is below target and has published
    with sme.app.app_context():
        data = dashboard.overview(db.session, 2025, None)
        (unit,) = data["units"]
        assert unit["below"] and unit["status"] == "已公开"
        assert data["unpublished"] == [] and data["below"][0]["name"] == "长春市教育局（测试）"
        assert [t["year"] for t in data["trend"]] == [2025]
