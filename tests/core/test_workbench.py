"""The workbench (工作台) on the demo data of every add-on: each demo user lands on cards of
what waits for them, counted from the records they may see; a module switched off for the
user's region contributes no card and its pages say 本地区未启用该模块; the navbar names the
user (the expert by the linked expert's name); error pages are Chinese, in the layout."""

from __future__ import annotations

import re

import pytest

from core.workbench import CARDS, Card, cards_for, context_for
from tests.conftest import cli, query
from tests.core.test_every_page import platform, real_addons  # noqa: F401  (fixture)
from tests.core.test_web import jwt, login_form

pytestmark = pytest.mark.slow


def cards(html: str) -> dict[str, int]:
    """title -> count of the cards on a workbench page."""
    found = re.findall(
        r'data-count="(\d+)">\s*<span[^>]*>\d+</span>\s*<span class="erp-card-title">([^<]+)<',
        html,
    )
    titles = [title for _, title in found]
    # two cards of one title on one workbench would leave the user guessing which is which
    assert len(titles) == len(set(titles)), f"cards with the same title: {sorted(titles)}"
    return {title: int(count) for count, title in found}


def page(client, url: str = "/") -> str:
    res = client.get(url)
    assert res.status_code == 200, (url, res.status_code)
    return res.get_data(as_text=True)


def test_each_role_lands_on_its_own_cards(platform) -> None:  # noqa: F811
    app, _ = platform
    anonymous = app.test_client().get("/")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

    client = app.test_client()
    login_form(client, "emall_admin", "demo12345")
    html = page(client)
    assert "工作台" in html and "欢迎" not in html
    got = cards(html)
    applied = query(app, "SELECT COUNT(*) FROM emall_admission WHERE status = 'applied'")[0][0]
    review = query(app, "SELECT COUNT(*) FROM emall_listing WHERE status = 'review'")[0][0]
    alerts = query(app, "SELECT COUNT(*) FROM emall_price_alert WHERE status = 'open'")[0][0]
    assert got["入驻申请待审核"] == applied > 0
    assert got["商品挂网待审核"] == review > 0
    assert got["价格异常待复核"] == alerts
    assert "新订单待确认" not in got, "the institution is shown no supplier's cards"
    # the card's link lists exactly what it counts
    listing = page(client, "/admissionview/list/?_flt_3_status=applied")
    assert listing.count("待审核") >= applied

    client = app.test_client()
    login_form(client, "supplier", "demo12345")
    got = cards(page(client))
    org = query(app, "SELECT organization_id FROM ab_user WHERE username = 'supplier'")[0][0]
    placed = query(app, "SELECT COUNT(*) FROM emall_order WHERE status = 'placed' "
                        "AND supplier_id = :o", o=org)[0][0]
    assert got["新订单待确认"] == placed
    assert "可参与报价的竞价" in got
    assert "入驻申请待审核" not in got, "the supplier is shown no institution's cards"
    # its own deposits only: the overdue card counts the held deposits of this supplier
    # whose refund date has passed, not the region's
    from addons.procurement_base.services import today
    own_overdue = query(app, "SELECT COUNT(*) FROM dl_deposit WHERE status = 'held' "
                             "AND supplier_id = :o AND due_date < :d", o=org, d=today())[0][0]
    all_overdue = query(app, "SELECT COUNT(*) FROM dl_deposit WHERE status = 'held' "
                             "AND due_date < :d", d=today())[0][0]
    assert got["保证金逾期未退"] == own_overdue > 0
    assert all_overdue > own_overdue, "demo data: other suppliers' overdue deposits exist"

    client = app.test_client()
    login_form(client, "purchaser", "demo12345")
    got = cards(page(client))
    assert {"已送达待验收", "已验收待付款", "竞价已截止待确定成交", "保证金逾期未退",
            "草稿项目待发布公告"} <= set(got)

    client = app.test_client()
    login_form(client, "bank", "demo12345")
    got = cards(page(client))
    assert not {"新订单待确认", "入驻申请待审核", "保证金逾期未退", "草稿项目待发布公告"} & set(got), \
        "a bank is shown none of the purchasers', suppliers' or institutions' work"


def test_module_switched_off_for_the_region_gives_no_card_and_a_chinese_404(platform) -> None:  # noqa: F811
    app, _ = platform
    client = app.test_client()
    login_form(client, "purchaser", "demo12345")
    assert "已验收待付款" in cards(page(client))
    # the city admin's confirmation names the users, units and menus the disable affects
    admin = app.test_client()
    login_form(admin, "city_admin", "demo12345")
    confirm = page(admin, "/erp/tenant/220100/disable/emall")
    assert "电子卖场" in confirm and "emall" not in re.sub(r'"[^"]*"', "", confirm.split("<h2>")[1])
    impact = confirm.split('id="disable-impact"')[1]
    assert "长春市第一中学" in impact and "purchaser" in impact, "the unit and the user"
    assert "电子卖场订单" in impact, "the menu entries that disappear"
    assert "吉林市中心医院" not in impact, "another city's users are not affected"
    # 长春市 (the purchaser's city) switches the e-mall off (and the livestock pavilion with it)
    res = cli(app, "tenant", "disable", "220100", "emall", "--cascade")
    assert res.exit_code == 0, res.output
    got = cards(page(client))
    assert "已验收待付款" not in got and "保证金逾期未退" in got
    res = client.get("/orderview/list/")
    assert res.status_code == 404
    body = res.get_data(as_text=True)
    assert "本地区未启用该模块" in body and "Not Found" not in body
    assert 'class="navbar' in body, "inside the platform's layout"
    # the API keeps its JSON envelope
    api = client.get("/api/v1/emall_order/", headers=jwt(client, "purchaser", "demo12345"))
    assert api.status_code == 404 and api.is_json
    # another city is untouched
    other = app.test_client()
    login_form(other, "jl_purchaser", "demo12345")
    assert other.get("/orderview/list/").status_code == 200


def test_navbar_names_the_user_and_the_expert_by_the_profile(platform) -> None:  # noqa: F811
    app, _ = platform
    client = app.test_client()
    login_form(client, "purchaser", "demo12345")
    assert re.search(r'id="erp-user-name">\s*<span class="fa fa-user"></span>\s*长春市第一中学采购员',
                     page(client))
    res = cli(app, "expert", "link-user", "expert", "ZJ0000074")
    assert res.exit_code == 0, res.output
    client = app.test_client()
    login_form(client, "expert", "demo12345")
    html = page(client)
    assert "白雷" in html and "张 专家" not in html
    assert "待确认的评审任务" in cards(html)


def test_a_failing_module_does_not_take_the_workbench_away(platform) -> None:  # noqa: F811
    app, _ = platform

    @CARDS.implement("emall")
    def broken(ctx):
        raise RuntimeError("bug in a module")

    try:
        from core.db import db

        with app.test_request_context("/"):
            from flask import g

            from core.security import ErpUser

            g.user = db.session.query(ErpUser).filter_by(username="emall_admin").one()
            groups = cards_for(context_for(db.session, g.user))
            titles = {c.title for grp in groups for c in grp.cards}
            assert "入驻申请待审核" in titles
    finally:
        CARDS.unregister(broken)


def test_card_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        Card("x", 1, "/a", urgency="red")
    with pytest.raises(ValueError):
        Card("x", 1, "https://elsewhere.example/")


def test_error_pages_are_chinese_in_the_layout(app_factory) -> None:
    from tests.conftest import init_db

    app = app_factory(PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("boom")

    @app.route("/forbidden")
    def forbidden():
        from flask import abort

        abort(403)

    @app.route("/slow-down")
    def slow_down():
        from werkzeug.exceptions import TooManyRequests

        raise TooManyRequests()

    init_db(app)
    client = app.test_client()
    login_form(client)
    for url, status, words in (("/no-such-page", 404, "页面不存在"), ("/forbidden", 403, "无权访问"),
                               ("/slow-down", 429, "操作过于频繁"), ("/boom", 500, "系统内部错误")):
        res = client.get(url)
        assert res.status_code == status, url
        body = res.get_data(as_text=True)
        assert words in body and 'class="navbar' in body, url
        for english in ("Not Found", "Forbidden", "Too Many Requests", "Internal Server Error"):
            assert english not in body, (url, english)
    res = client.post("/erp/messages/")
    assert res.status_code == 405 and "操作方式不被允许" in res.get_data(as_text=True)
    api = client.get("/api/v1/no_such_api/")
    assert api.status_code == 404 and api.is_json
