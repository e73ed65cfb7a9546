"""协议外采购 (110号令): the purchaser reports an outside purchase with a lower price the
shortlisted supplier refused to match, through the API and the page; each bad input (price not
lower, purchaser not entitled, agreement expired, missing proof or refusal, bad date) is a
Chinese 4xx with nothing stored; a report after 1 working day is stored as late and shown in
red; the collecting party sees the reports on its list and workbench."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select, update

from core.db import db
from tests.addons.emall.em_world import PASSWORD
from tests.addons.framework_agreement.fa_world import FaWorld, now
from tests.core.test_web import login_form


def _count() -> int:
    from addons.framework_agreement.models import FaOutside

    return db.session.execute(select(func.count()).select_from(FaOutside),
                              execution_options={"erp_unscoped": True}).scalar()


def _term_began_a_month_ago(fa: FaWorld) -> None:
    from addons.framework_agreement.models import FaAgreement

    with fa.app.app_context():
        db.session.execute(update(FaAgreement).where(FaAgreement.id == fa.ag)
                           .values(term_start=now().date() - dt.timedelta(days=30))
                           .execution_options(erp_unscoped=True))
        db.session.commit()


def _body(fa: FaWorld, **over) -> dict:
    body = {"line": fa.line["sup_a"], "outside_supplier": "长春市某电脑城（测试）", "outside_price": "4300.00",
            "quantity": 2, "purchase_date": now().date().isoformat(),
            "proof": "同型号同配置报价单：4,300 元/台（附件：报价单.pdf）",
            "refusal": "2026-12-03 电话询问入围供应商，拒绝按 4,300 元供货"}
    body.update(over)
    return body


def test_outside_purchase_through_the_api(fa: FaWorld) -> None:
    from addons.framework_agreement.models import FaAgreement

    em = fa.em
    _term_began_a_month_ago(fa)
    res = em.call("POST", "fa_outside/report", "pur", _body(fa), expect=201)
    got = res.json["result"]
    assert (got["outside_price"], got["agreement_price"], got["amount"], got["late"]) == (
        "4300.00", "4500.00", "8600.00", False)
    assert got["due_date"] > got["purchase_date"]
    week_ago = (now().date() - dt.timedelta(days=7)).isoformat()
    late = em.call("POST", "fa_outside/report", "pur", _body(fa, purchase_date=week_ago), expect=201)
    assert late.json["result"]["late"] is True
    with fa.app.app_context():
        before = _count()
    bad = [
        ("pur", _body(fa, outside_price="4500.00"), 422, "不低于协议价格"),
        ("pur", _body(fa, outside_price="abc"), 422, "应为金额"),
        ("pur", _body(fa, proof=" "), 422, "证明材料"),
        ("pur", _body(fa, refusal=""), 422, "拒绝"),
        ("pur", _body(fa, purchase_date="明天"), 422, "采购日期"),
        ("pur", _body(fa, purchase_date=(now().date() + dt.timedelta(days=2)).isoformat()), 422, "不能晚于今天"),
        ("pur", _body(fa, quantity=0), 422, "之间的整数"),
        ("pur", _body(fa, quantity=10**12), 422, "之间的整数"),
        ("pur", _body(fa, line=999999), 422, "入围产品"),
        ("pur", _body(fa, line=10**15), 422, "入围产品"),
        ("pur", _body(fa, outside_price=4300), 422, "以文字填写金额"),
        ("pur_jl", _body(fa), 403, "适用范围"),
    ]
    for user, body, status, words in bad:
        res = em.call("POST", "fa_outside/report", user, body)
        assert res.status_code == status, (body, res.json)
        assert words in str(res.json["message"]), res.json
    with fa.app.app_context():
        assert _count() == before
        db.session.execute(update(FaAgreement).where(FaAgreement.id == fa.ag)
                           .values(term_end=now().date() - dt.timedelta(days=1))
                           .execution_options(erp_unscoped=True))
        db.session.commit()
    res = em.call("POST", "fa_outside/report", "pur", _body(fa, purchase_date=(
        now().date() - dt.timedelta(days=2)).isoformat()))
    assert res.status_code == 422 and "已于" in str(res.json["message"]) and "到期" in str(res.json["message"])
    with fa.app.app_context():
        assert _count() == before
    # the collecting party lists both reports; the supplier may not
    rows = em.call("GET", "fa_outside/", "inst", expect=200).json["result"]
    assert sorted(r["late"] for r in rows) == [False, True]
    assert em.call("GET", "fa_outside/", "sup_a").status_code in (401, 403)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_outside_purchase_page_late_in_red_and_collector_workbench(fa: FaWorld) -> None:
    _term_began_a_month_ago(fa)
    client = fa.app.test_client()
    login_form(client, "pur", PASSWORD)
    html = client.get("/fa/buy/").get_data(as_text=True)
    assert "协议外采购报告" in html and 'name="outside_price"' in html
    form = {k: str(v) for k, v in _body(fa).items()}
    form["csrf_token"] = _csrf(html)
    res = client.post("/fa/buy/outside", data={**form, "outside_price": "4600"}, follow_redirects=True)
    assert "不低于协议价格" in res.get_data(as_text=True)
    for bad, words in (({"quantity": "²"}, "之间的整数"), ({"line": "x"}, "入围产品"),
                       ({"purchase_date": "2026-13-40"}, "采购日期")):
        res = client.post("/fa/buy/outside", data={**form, **bad}, follow_redirects=True)
        assert res.status_code == 200 and words in res.get_data(as_text=True), bad
    with fa.app.app_context():
        assert _count() == 0
    res = client.post("/fa/buy/outside", data={**form, "purchase_date": (
        now().date() - dt.timedelta(days=7)).isoformat()}, follow_redirects=True)
    body = res.get_data(as_text=True)
    assert res.status_code == 200 and "记为逾期" in body and "逾期报告" in body and "label-danger" in body
    assert "¥4,300.00" in body and ">None<" not in body and ">True<" not in body
    inst = fa.app.test_client()
    login_form(inst, "inst", PASSWORD)
    listing = inst.get("/faoutsideview/list/").get_data(as_text=True)
    assert "长春市某电脑城（测试）" in listing and "label-danger" in listing
    home = inst.get("/").get_data(as_text=True)
    assert "协议外采购报告" in home and "1 份逾期报告" in home
