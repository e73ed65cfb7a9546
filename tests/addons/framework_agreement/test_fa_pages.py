"""The pages: the purchaser buys by direct selection on 采购框架协议产品, the collecting
party sees its agreement with the actions it may use, the report with its chart and Excel,
workbench cards; a refused call-off is a Chinese message and stores nothing."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.db import db
from tests.addons.emall.em_world import PASSWORD
from tests.addons.framework_agreement.fa_world import FaWorld
from tests.core.test_web import login_form


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def test_purchaser_direct_selection_page(fa: FaWorld) -> None:
    from addons.framework_agreement.models import FaCallOff

    client = fa.app.test_client()
    login_form(client, "pur", PASSWORD)
    page = client.get("/fa/buy/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "长春市台式计算机框架协议" in html and "¥4,500.00" in html
    assert ">None<" not in html and ">True<" not in html
    token = _csrf(html)
    res = client.post("/fa/buy/direct", data={"csrf_token": token, "agreement": fa.ag, "line": fa.line["sup_a"],
                                              "quantity": "2", "unit_price": "4600"}, follow_redirects=True)
    body = res.get_data(as_text=True)
    assert "超过协议价格" in body
    with fa.app.app_context():
        assert db.session.execute(select(func.count()).select_from(FaCallOff),
                                  execution_options={"erp_unscoped": True}).scalar() == 0
    res = client.post("/fa/buy/direct", data={"csrf_token": token, "agreement": fa.ag, "line": fa.line["sup_a"],
                                              "quantity": "2"}, follow_redirects=True)
    body = res.get_data(as_text=True)
    assert res.status_code == 200 and "已直接选定成交" in body and "¥9,000.00" in body
    home = client.get("/").get_data(as_text=True)
    assert "可用的框架协议" in home


def test_collector_pages(fa: FaWorld) -> None:
    client = fa.app.test_client()
    login_form(client, "inst", PASSWORD)
    html = client.get(f"/faagreementview/show/{fa.ag}").get_data(as_text=True)
    assert "长春市台式计算机框架协议" in html and "协议有效" in html and "直接选定、二次竞价、顺序轮候" in html
    assert "补充征集" in html and "发布征集公告" not in html
    for path in ("/faagreementview/list/", "/faitemview/list/", "/faresponseview/list/", "/famemberview/list/",
                 "/falineview/list/", "/facalloffview/list/", "/fanoticeview/list/", "/fa/report/"):
        res = client.get(path)
        assert res.status_code == 200, path
        assert ">None<" not in res.get_data(as_text=True), path
    rep = client.get(f"/fa/report/{fa.ag}")
    assert rep.status_code == 200 and "<svg" in rep.get_data(as_text=True)
    assert client.get(f"/fa/report/{fa.ag}/xlsx").data[:2] == b"PK"
    home = client.get("/").get_data(as_text=True)
    assert "框架协议公告待发布" in home
    # the supplier sees no collector buttons
    sup = fa.app.test_client()
    login_form(sup, "sup_a", PASSWORD)
    html = sup.get(f"/faagreementview/show/{fa.ag}").get_data(as_text=True)
    assert "补充征集" not in html


def test_supplier_responds_on_the_agreement_page(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaResponse
    from core.tenancy import SYSTEM, use_scope
    from tests.addons.framework_agreement.fa_world import draft

    with fa.app.app_context(), use_scope(SYSTEM):
        ag = draft(db.session, fa.em.org, fa.em.region, fa.em.cat, name="页面响应测试协议")
        fs.publish(db.session, ag)
        db.session.commit()
        pk = ag.id
    client = fa.app.test_client()
    login_form(client, "sup_a", PASSWORD)
    html = client.get(f"/faagreementview/show/{pk}").get_data(as_text=True)
    assert "提交响应（报价）" in html and "确定入围供应商" not in html and "发布征集公告" not in html
    token = _csrf(html)
    url = f"/faagreementview/transition/{pk}/respond"
    res = client.post(url, data={"csrf_token": token, "listing": fa.listing["sup_a"], "unit_price": "5000.01"},
                      follow_redirects=True)
    assert "超过最高限制单价" in res.get_data(as_text=True)
    res = client.post(url, data={"csrf_token": token, "listing": fa.listing["sup_a"], "unit_price": "4880"},
                      follow_redirects=True)
    assert "响应已提交" in res.get_data(as_text=True)
    with fa.app.app_context():
        r = db.session.execute(select(FaResponse).where(FaResponse.agreement_id == pk),
                               execution_options={"erp_unscoped": True}).scalar_one()
        assert r.supplier_id == fa.org("sup_a") and str(r.evaluated_price) == "488000.00"


def test_supplier_lists_every_page_and_api(fa: FaWorld) -> None:
    """A supplier's record rules are plain expressions on the entity: no list may join a
    rule-bearing record under an alias (that broke the SQL)."""
    client = fa.app.test_client()
    login_form(client, "sup_a", PASSWORD)
    for path in ("/faagreementview/list/", "/faitemview/list/", "/faresponseview/list/", "/famemberview/list/",
                 "/falineview/list/", "/facalloffview/list/", "/fanoticeview/list/"):
        res = client.get(path)
        assert res.status_code == 200, path
        assert ">None<" not in res.get_data(as_text=True), path
    html = client.get("/falineview/list/").get_data(as_text=True)
    assert "长春市台式计算机框架协议（测试）" in html and "台式计算机" in html
    for api in ("fa_agreement", "fa_item", "fa_response", "fa_member", "fa_line", "fa_calloff", "fa_notice"):
        assert fa.em.call("GET", f"{api}/", "sup_a").status_code == 200, api
