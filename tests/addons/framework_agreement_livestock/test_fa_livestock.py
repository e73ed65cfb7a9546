"""The livestock bridge: installed with framework_agreement and emall_livestock, its demo
vaccine agreement shows on 行业馆框架协议 for a livestock purchaser of 长春市, who can buy it by
direct selection (a pavilion product, at the agreement price)."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from tests.conftest import cli, init_db, installer
from tests.core.test_web import login_form


def test_vaccine_agreement_in_the_pavilion(app_factory) -> None:
    app = app_factory(paths=[])
    init_db(app)
    done = installer(app).install(["framework_agreement", "emall_livestock"], demo=True)
    assert "framework_agreement_livestock" in done
    assert cli(app, "tenant", "enable", "220000", "emall", "emall_livestock", "framework_agreement",
               "framework_agreement_livestock").exit_code == 0
    from core.models import Organization

    with app.app_context():
        adc = db.session.execute(select(Organization).where(Organization.name == "长春市动物疫病预防控制中心")).scalar_one()
        code = adc.credit_code
    assert cli(app, "user", "create", "--username", "adc", "--password", "secret123", "--role", "采购人",
               "--org", code).exit_code == 0
    client = app.test_client()
    login_form(client, "adc", "secret123")
    html = client.get("/livestock/framework/").get_data(as_text=True)
    assert "长春市2026—2027年度口蹄疫疫苗框架协议" in html and "¥88.87" in html, html[-2000:]
    buy = client.get("/fa/buy/").get_data(as_text=True)
    assert "口蹄疫疫苗" in buy

    # the pavilion's home page links to the bridge's page (hook emall_livestock.home_links) ...
    home = client.get("/livestock/").get_data(as_text=True)
    assert 'id="xm-link-framework"' in home and 'href="/livestock/framework/"' in home, home[:3000]
    # ... not for a visitor who may not open it
    anon = app.test_client().get("/livestock/").get_data(as_text=True)
    assert 'id="xm-link-framework"' not in anon
    # ... and not where the bridge is disabled for the region
    assert cli(app, "tenant", "disable", "220000", "framework_agreement_livestock").exit_code == 0
    home = client.get("/livestock/").get_data(as_text=True)
    assert "畜牧行业馆" in home and 'id="xm-link-framework"' not in home
