"""Volume discounts (量大优惠阶梯): the schedule is validated (Chinese field errors, nothing
stored), frozen at publication, shown on the agreement page; a call-off's unit price is the
agreement price less the discount of the highest tier its quantity reaches, by each
second-stage method (direct selection, second competition, rotation)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from core.db import db
from core.errors import RuleError
from core.tenancy import SYSTEM, use_scope
from tests.addons.emall.em_world import PASSWORD
from tests.addons.framework_agreement.fa_world import FaWorld, draft, now
from tests.addons.framework_agreement.test_fa_services import _as, _purchaser
from tests.core.test_web import login_form

TIERS = [(10, Decimal("2")), (50, Decimal("5"))]


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model),
                              execution_options={"erp_unscoped": True}).scalar()


def _with_tiers(fa: FaWorld, tiers: str = "10:2;50:5", cap: int = 200) -> None:
    """The world's agreement with a schedule (as if published with it) and room on the ledger."""
    from addons.framework_agreement.models import FaAgreement, FaLine

    with fa.app.app_context():
        s = db.session
        s.execute(update(FaAgreement).where(FaAgreement.id == fa.ag).values(discount_tiers=tiers)
                  .execution_options(erp_unscoped=True))
        s.execute(update(FaLine).where(FaLine.agreement_id == fa.ag).values(cap_quantity=cap)
                  .execution_options(erp_unscoped=True))
        s.commit()


# -- the schedule ------------------------------------------------------------------------------

def test_parse_and_validate_tiers() -> None:
    from addons.framework_agreement.services import discounts as d

    assert d.parse("10:2, 50:5") == TIERS
    assert d.parse("10：2%；50：5.5％") == [(10, Decimal("2")), (50, Decimal("5.5"))]
    assert d.parse("≥10:0.25\n>=50:2") == [(10, Decimal("0.25")), (50, Decimal("2"))]
    assert d.parse([{"min_quantity": 10, "percent": "2"}, [50, 5]]) == TIERS
    assert d.parse("") == [] and d.parse(None) == [] and d.canonical([]) is None
    assert d.canonical(d.parse("10:2.50, 50:5.00")) == "10:2.5;50:5"
    assert d.stored("10:2;50:5") == TIERS
    assert d.label("10:2;50:5") == "单笔 10 及以上优惠 2%；单笔 50 及以上优惠 5%" and d.label(None) == "无"
    bad = [
        ("50:5, 10:2", "从小到大"),
        ("10:2, 10:3", "从小到大"),
        ("10:5, 50:2", "优惠应更多"),
        ("10:50.01", "0 至 50"),
        ("10:-1", "0 至 50"),
        ("10:2.555", "最多两位小数"),
        ("0:2", "正整数"),
        ("2.5:2", "正整数"),
        ("-10:2", "正整数"),
        ("十台:2", "正整数"),
        ("10:abc", "0 至 50"),
        ("10", "无法识别"),
        ("10:NaN", "0 至 50"),
    ]
    for value, words in bad:
        with pytest.raises(RuleError) as exc:
            d.parse(value)
        msgs = exc.value.messages["discount_tiers"]
        assert any(words in m for m in msgs), (value, msgs)
    assert d.parse("10:0, 20:50") == [(10, Decimal("0")), (20, Decimal("50"))]  # the bounds


@pytest.mark.parametrize("quantity, unit, pct", [
    (1, "4500.00", "0"), (9, "4500.00", "0"), (10, "4410.00", "2"), (49, "4410.00", "2"),
    (50, "4275.00", "5"), (500, "4275.00", "5"),
])
def test_discounted_price_at_each_boundary(quantity: int, unit: str, pct: str) -> None:
    from addons.framework_agreement.services.discounts import discounted

    assert discounted(Decimal("4500.00"), TIERS, quantity) == (Decimal(unit), Decimal(pct))


def test_discount_rounds_half_up_and_never_raises_the_price() -> None:
    from addons.framework_agreement.services.discounts import discounted

    # 33.33 × 0.975 = 32.49675 -> 32.50; 0.05 × 0.9 = 0.045 -> 0.05 (half up, not to even)
    assert discounted(Decimal("33.33"), [(1, Decimal("2.5"))], 1)[0] == Decimal("32.50")
    assert discounted(Decimal("0.05"), [(1, Decimal("10"))], 1)[0] == Decimal("0.05")
    assert discounted(Decimal("0.01"), [(1, Decimal("0.01"))], 1)[0] == Decimal("0.01")
    assert discounted(Decimal("100.00"), [], 99)[0] == Decimal("100.00")
    assert isinstance(discounted(Decimal("100.00"), TIERS, 10)[0], Decimal)


def test_schedule_on_the_solicitation_frozen_at_publication(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement

    with fa.app.app_context(), use_scope(SYSTEM):
        s = db.session
        before = _count(FaAgreement)
        with pytest.raises(RuleError) as exc:
            draft(s, fa.em.org, fa.em.region, fa.em.cat, discount_tiers="50:5, 10:2")
        assert "从小到大" in exc.value.messages["discount_tiers"][0]
        s.rollback()
        assert _count(FaAgreement) == before
        ag = draft(s, fa.em.org, fa.em.region, fa.em.cat, discount_tiers="10：2%，50：5%")
        assert ag.discount_tiers == "10:2;50:5"
        fs.publish(s, ag)
        from addons.framework_agreement.models import FaNotice

        notice = s.execute(select(FaNotice).where(FaNotice.agreement_id == ag.id)).scalar_one()
        assert "量大优惠：单笔 10 及以上优惠 2%；单笔 50 及以上优惠 5%" in notice.body
        ag.discount_tiers = "10:3;50:6"
        with pytest.raises(RuleError) as exc:
            fs.AGREEMENT.before_update(s, ag)
        assert "不得修改" in exc.value.messages["demand"][0]
        s.rollback()


def test_schedule_through_the_api_and_the_page(fa: FaWorld) -> None:
    from addons.framework_agreement.models import FaAgreement

    em = fa.em
    body = {"name": "吉林市办公桌椅框架协议", "kind": "goods", "form": "closed", "subject": "办公桌椅",
            "demand": "钢木结构", "evaluation": "price", "methods": "direct",
            "term_start": (now().date() + dt.timedelta(days=30)).isoformat(),
            "term_end": (now().date() + dt.timedelta(days=200)).isoformat(),
            "response_deadline": (now() + dt.timedelta(days=22)).isoformat(timespec="seconds"),
            "eligible_regions": [em.region["220100"]]}
    with fa.app.app_context():
        before = _count(FaAgreement)
    for tiers, words in (("10:2, 50:60", "0 至 50"), ("10:2.123", "最多两位小数"), ("5.5:1", "正整数"),
                         ("50:2, 10:5", "从小到大")):
        res = em.call("POST", "fa_agreement/", "inst", {**body, "discount_tiers": tiers})
        assert res.status_code == 422, res.json
        assert any(words in m for m in res.json["message"]["discount_tiers"]), res.json
    with fa.app.app_context():
        assert _count(FaAgreement) == before
    res = em.call("POST", "fa_agreement/", "inst", {**body, "discount_tiers": "10:2, 50:5"}, expect=201)
    pk = res.json["id"]
    got = em.call("GET", f"fa_agreement/{pk}", "inst", expect=200).json["result"]
    assert got["discount_tiers"] == "10:2;50:5"
    assert got["discount_tiers_label"] == "单笔 10 及以上优惠 2%；单笔 50 及以上优惠 5%"
    # a bad edit changes nothing
    res = em.call("PUT", f"fa_agreement/{pk}", "inst", {"discount_tiers": "10:2, 5:5"})
    assert res.status_code == 422 and "从小到大" in str(res.json["message"]["discount_tiers"]), res.json
    assert em.call("GET", f"fa_agreement/{pk}", "inst", expect=200).json["result"]["discount_tiers"] == "10:2;50:5"
    # the page: the schedule shown on the agreement, a bad one a Chinese error on the edit form
    client = fa.app.test_client()
    login_form(client, "inst", PASSWORD)
    html = client.get(f"/faagreementview/show/{pk}").get_data(as_text=True)
    assert "量大优惠阶梯" in html and "单笔 10 及以上优惠 2%；单笔 50 及以上优惠 5%" in html
    form = client.get(f"/faagreementview/edit/{pk}").get_data(as_text=True)
    assert 'name="discount_tiers"' in form
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    data = {"csrf_token": token, "discount_tiers": "10:2, 50:55"}
    for field in ("name", "subject", "demand", "methods", "kind", "form", "evaluation"):
        m = re.search(rf'<(?:input|textarea)[^>]*name="{field}"[^>]*?(?:value="([^"]*)")?[^>]*>([^<]*)', form)
        data[field] = (m.group(1) or m.group(2) or "").strip() if m else body[field]
    data.update({k: body[k] for k in ("name", "subject", "demand", "methods", "kind", "form", "evaluation")})
    res = client.post(f"/faagreementview/edit/{pk}", data=data, follow_redirects=True)
    page = res.get_data(as_text=True)
    assert "0 至 50" in page, page[-3000:]
    assert em.call("GET", f"fa_agreement/{pk}", "inst", expect=200).json["result"]["discount_tiers"] == "10:2;50:5"


# -- call-offs ---------------------------------------------------------------------------------

def test_direct_selection_at_each_boundary(fa: FaWorld) -> None:
    from addons.emall.models import EmallOrder, EmallOrderLine
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaCallOff, FaLine

    _with_tiers(fa)
    with fa.app.app_context():
        s = db.session
        for qty, unit, pct in ((9, "4500.00", "0"), (10, "4410.00", "2"), (49, "4410.00", "2"),
                               (50, "4275.00", "5")):
            with use_scope(_purchaser(fa)):
                c = fs.direct_select(s, fa.ag, fa.line["sup_a"], qty)
            s.commit()
            assert (c.agreement_price, c.discount_percent, c.unit_price) == (
                Decimal("4500.00"), Decimal(pct), Decimal(unit)), qty
            assert c.amount == Decimal(unit) * qty
            line = s.execute(select(EmallOrderLine).where(EmallOrderLine.order_id == c.order_id),
                             execution_options={"erp_unscoped": True}).scalar_one()
            assert line.unit_price == Decimal(unit) and line.amount == c.amount
            order = s.get(EmallOrder, c.order_id, execution_options={"erp_unscoped": True})
            assert "协议价格 ¥4,500.00" in order.note and f"成交单价 ¥{Decimal(unit):,.2f}" in order.note
            assert ("量大优惠 2%" in order.note) if pct == "2" else True
        line = s.get(FaLine, fa.line["sup_a"], execution_options={"erp_unscoped": True})
        assert line.ordered_quantity == 118
        assert line.ordered_amount == Decimal("4500") * 9 + Decimal("4410") * 59 + Decimal("4275") * 50
        # a price above the discounted ceiling is refused, nothing changes
        before = _count(FaCallOff), _count(EmallOrder), line.ordered_quantity
        with use_scope(_purchaser(fa)):
            for qty, price in ((10, "4410.01"), (50, "4275.01"), (49, "4500.00")):
                with pytest.raises(RuleError) as exc:
                    fs.direct_select(s, fa.ag, fa.line["sup_a"], qty, unit_price=price)
                msg = exc.value.messages["unit_price"][0]
                assert "超过协议价格" in msg and "量大优惠" in msg, msg
                s.rollback()
            c = fs.direct_select(s, fa.ag, fa.line["sup_a"], 10, unit_price="4400")  # below: fine
            assert (c.unit_price, c.discount_percent) == (Decimal("4400.00"), Decimal("2"))
            s.rollback()
        s.expire_all()
        line = s.get(FaLine, fa.line["sup_a"], execution_options={"erp_unscoped": True})
        assert (_count(FaCallOff), _count(EmallOrder), line.ordered_quantity) == before
        # the call-off page shows the agreement price, the discount and the price paid
        cid = s.execute(select(FaCallOff.id).where(FaCallOff.quantity == 50)).scalar()
    client = fa.app.test_client()
    login_form(client, "pur", PASSWORD)
    html = client.get(f"/facalloffview/show/{cid}").get_data(as_text=True)
    assert "协议价格" in html and "¥4,500.00" in html and "5%" in html and "¥4,275.00" in html
    assert ">None<" not in html


def test_second_competition_honours_the_discount(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaBid, FaCallOff

    _with_tiers(fa)
    with fa.app.app_context():
        s = db.session
        with use_scope(_purchaser(fa)):
            c = fs.start_competition(s, fa.ag, fa.item, 10, [fa.org("sup_a"), fa.org("sup_b")],
                                     now() + dt.timedelta(days=5))
            s.commit()
            cid = c.id
        with use_scope(_as(fa, "sup_a")):  # 4,500 less 2% = 4,410
            with pytest.raises(RuleError) as exc:
                fs.submit_bid(s, s.get(FaCallOff, cid), "4410.01")
            msg = exc.value.messages["unit_price"][0]
            assert "超过协议价格" in msg and "¥4,410.00" in msg and "量大优惠 2%" in msg, msg
            s.rollback()
            assert s.execute(select(FaBid.unit_price).where(FaBid.calloff_id == cid,
                                                            FaBid.supplier_id == fa.org("sup_a"))).scalar() is None
            fs.submit_bid(s, s.get(FaCallOff, cid), "4410")
            s.commit()
        with use_scope(_as(fa, "sup_b")):  # 4,700 less 2% = 4,606
            with pytest.raises(RuleError):
                fs.submit_bid(s, s.get(FaCallOff, cid), "4650")
            s.rollback()
            fs.submit_bid(s, s.get(FaCallOff, cid), "4400")
        s.commit()
        with use_scope(_purchaser(fa)):
            c = fs.award_competition(s, s.get(FaCallOff, cid))
        s.commit()
        assert (c.supplier_id, c.agreement_price, c.discount_percent, c.unit_price, c.amount) == (
            fa.org("sup_b"), Decimal("4700.00"), Decimal("2"), Decimal("4400.00"), Decimal("44000.00"))


def test_rotation_honours_the_discount(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs

    _with_tiers(fa)
    with fa.app.app_context():
        s = db.session
        with use_scope(_purchaser(fa)):
            a = fs.rotate(s, fa.ag, fa.item, 50)   # sup_a: 4,500 less 5%
            b = fs.rotate(s, fa.ag, fa.item, 9)    # sup_b: no discount below 10
            a2 = fs.rotate(s, fa.ag, fa.item, 10)  # sup_a again: 2%
        s.commit()
        assert (a.supplier_id, a.unit_price, a.discount_percent) == (fa.org("sup_a"), Decimal("4275.00"),
                                                                     Decimal("5"))
        assert (b.supplier_id, b.unit_price, b.discount_percent) == (fa.org("sup_b"), Decimal("4700.00"),
                                                                     Decimal("0"))
        assert (a2.unit_price, a2.amount) == (Decimal("4410.00"), Decimal("44100.00"))


def test_emall_pricing_refuses_above_the_discounted_ceiling(fa: FaWorld) -> None:
    from addons.framework_agreement.hooks import framework_pricing
    from addons.framework_agreement.models import FaLine

    _with_tiers(fa)
    price = framework_pricing()["framework"]
    with fa.app.app_context(), use_scope(SYSTEM):
        line = db.session.get(FaLine, fa.line["sup_a"])
        assert price({"fa_line": line, "unit_price": "4500.00", "quantity": 9}) == Decimal("4500.00")
        assert price({"fa_line": line, "unit_price": "4275.00", "quantity": 50}) == Decimal("4275.00")
        with pytest.raises(RuleError) as exc:
            price({"fa_line": line, "unit_price": "4275.01", "quantity": 50})
        assert "量大优惠 5%" in exc.value.messages["unit_price"][0]


def test_buy_page_shows_the_schedule_and_the_discount(fa: FaWorld) -> None:
    _with_tiers(fa)
    client = fa.app.test_client()
    login_form(client, "pur", PASSWORD)
    html = client.get("/fa/buy/").get_data(as_text=True)
    assert "量大优惠：单笔 10 及以上优惠 2%；单笔 50 及以上优惠 5%" in html
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    res = client.post("/fa/buy/direct", data={"csrf_token": token, "agreement": fa.ag, "line": fa.line["sup_a"],
                                              "quantity": "10", "unit_price": "4410.01"}, follow_redirects=True)
    assert "单价不得高于 ¥4,410.00" in res.get_data(as_text=True)
    res = client.post("/fa/buy/direct", data={"csrf_token": token, "agreement": fa.ag, "line": fa.line["sup_a"],
                                              "quantity": "10"}, follow_redirects=True)
    body = res.get_data(as_text=True)
    assert "已直接选定成交" in body and "¥44,100.00" in body
    assert "协议价格 ¥4,500.00，量大优惠 2%，成交单价 ¥4,410.00" in body
