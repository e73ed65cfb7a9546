"""A supplier responds to a multi-item agreement from the page 响应框架协议征集: one row per
item (product, quote, supply quantity); a quote above a ceiling or a row left out is a
Chinese message with nothing stored; a full response stores a line per item."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.db import db
from core.tenancy import SYSTEM, use_scope
from tests.addons.emall.em_world import PASSWORD
from tests.addons.framework_agreement.fa_world import FaWorld, draft
from tests.core.test_web import login_form


def _two_items(fa: FaWorld) -> tuple[int, list[int]]:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaItem

    em = fa.em
    with fa.app.app_context(), use_scope(SYSTEM):
        s = db.session
        ag = draft(s, em.org, em.region, em.cat, name="长春市计算机及显示器框架协议（测试）")
        item = FaItem(agreement=ag, seq=2, category_id=em.cat["A02010105"], name="一体式计算机", unit="台",
                      ceiling_price="6000.00", est_quantity=50, max_quantity=5)
        fs.ITEM.validate(s, item)
        s.add(item)
        s.flush()
        fs.publish(s, ag)
        s.commit()
        return ag.id, [i.id for i in sorted(ag.items, key=lambda i: i.seq)]


def _responses(ag_id: int) -> int:
    from addons.framework_agreement.models import FaResponse

    return db.session.execute(select(func.count()).select_from(FaResponse).where(FaResponse.agreement_id == ag_id),
                              execution_options={"erp_unscoped": True}).scalar()


def test_supplier_responds_to_every_item_on_the_page(fa: FaWorld) -> None:
    from addons.framework_agreement.models import FaResponse

    ag_id, (i1, i2) = _two_items(fa)
    client = fa.app.test_client()
    login_form(client, "sup_a", PASSWORD)
    index = client.get("/fa/respond/").get_data(as_text=True)
    assert "长春市计算机及显示器框架协议（测试）" in index and f"/fa/respond/{ag_id}" in index
    # the agreement's own page points multi-item agreements to that page
    show = client.get(f"/faagreementview/show/{ag_id}").get_data(as_text=True)
    assert "2 个品目" in show and f"/fa/respond/{ag_id}" in show
    page = client.get(f"/fa/respond/{ag_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "台式计算机" in html and "一体式计算机" in html
    assert "¥5,000.00" in html and "¥6,000.00" in html and ">None<" not in html
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    listing = fa.listing["sup_a"]
    form = {"csrf_token": token, f"item_{i1}_listing": str(listing), f"item_{i1}_price": "4600",
            f"item_{i1}_quantity": "10", f"item_{i2}_listing": str(listing), f"item_{i2}_price": "6000.01",
            f"item_{i2}_quantity": "5"}
    res = client.post(f"/fa/respond/{ag_id}", data=form, follow_redirects=True)
    body = res.get_data(as_text=True)
    assert "“一体式计算机”报价 ¥6,000.01 超过最高限制单价 ¥6,000.00" in body
    res = client.post(f"/fa/respond/{ag_id}", data={**form, f"item_{i2}_price": ""}, follow_redirects=True)
    assert "“一体式计算机”：请填写报价" in res.get_data(as_text=True)
    res = client.post(f"/fa/respond/{ag_id}", data={**form, f"item_{i2}_quantity": "6"}, follow_redirects=True)
    assert "供货承诺数量应在 1 至 5 之间" in res.get_data(as_text=True)
    for qty in ("²", "99999999999999999999"):
        res = client.post(f"/fa/respond/{ag_id}", data={**form, f"item_{i2}_price": "5800", f"item_{i2}_quantity": qty},
                          follow_redirects=True)
        assert res.status_code == 200 and "供货承诺数量应在 1 至 5 之间" in res.get_data(as_text=True)
    res = client.post(f"/fa/respond/{ag_id}", data={**form, f"item_{i2}_price": "5800",
                                                     f"item_{i2}_listing": "99999999999999999999"},
                      follow_redirects=True)
    assert "请选择本供应商在电子卖场已上架的商品" in res.get_data(as_text=True)
    with fa.app.app_context():
        assert _responses(ag_id) == 0
    res = client.post(f"/fa/respond/{ag_id}", data={**form, f"item_{i2}_price": "5800"}, follow_redirects=True)
    body = res.get_data(as_text=True)
    assert res.status_code == 200 and "响应已提交：2 个品目" in body
    with fa.app.app_context():
        resp = db.session.execute(select(FaResponse).where(FaResponse.agreement_id == ag_id),
                                  execution_options={"erp_unscoped": True}).scalar_one()
        assert sorted((ln.item_id, str(ln.unit_price), ln.supply_quantity) for ln in resp.lines) == [
            (i1, "4600.00", 10), (i2, "5800.00", 5)]
    # an agreement not open for responses is refused with a message
    res = client.get(f"/fa/respond/{fa.ag}", follow_redirects=True)
    assert "当前不接受响应" in res.get_data(as_text=True)
