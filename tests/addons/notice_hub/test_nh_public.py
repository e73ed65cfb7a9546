"""The public site on the demo data: anonymous search (keywords, pinyin, one typo, filters),
the notice page, RSS/Atom per region and type, bad input (400/422 with Chinese messages,
never a 500); the deadline list and the workbench cards of each demo role."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.conftest import cli, installer
from tests.core.test_web import login_form

PUBLISHED = {"长春市第一中学实验室仪器采购项目中标（成交）结果公告", "长春市第一中学教学电脑采购合同公告",
             "吉林市中心医院医用耗材电子卖场竞价结果公告"}


@pytest.fixture
def demo(app):
    assert "notice_hub" in installer(app).install(["notice_hub"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "notice_hub").exit_code == 0
    res = cli(app, "demo", "users")
    assert res.exit_code == 0, res.output
    return app


def _titles(client, query: str = "") -> set[str]:
    res = client.get(f"/api/v1/notices/?{query}")
    assert res.status_code == 200, res.json
    return {r["title"] for r in res.json["result"]}


def test_anonymous_search_and_filters(demo):
    c = demo.test_client()
    assert _titles(c) == PUBLISHED  # drafts never shown, whoever asks
    assert _titles(c, "q=实验室") == {"长春市第一中学实验室仪器采购项目中标（成交）结果公告"}
    assert _titles(c, "q=shiyanshi") == {"长春市第一中学实验室仪器采购项目中标（成交）结果公告"}
    assert _titles(c, "q=医用 耗材") == {"吉林市中心医院医用耗材电子卖场竞价结果公告"}
    res = c.get("/api/v1/notices/?q=实验室仪器采构")  # a typo in the last character: approximate
    assert res.json["approximate"] is True and res.json["count"] == 1
    assert _titles(c, "kind=contract") == {"长春市第一中学教学电脑采购合同公告"}
    assert _titles(c, "region=220200") == {"吉林市中心医院医用耗材电子卖场竞价结果公告"}
    assert _titles(c, "purchaser=中心医院") == {"吉林市中心医院医用耗材电子卖场竞价结果公告"}
    assert _titles(c, "amount_min=200000&amount_max=300000") == {"长春市第一中学教学电脑采购合同公告"}
    assert _titles(c, "date_from=2026-11-10&date_to=2026-11-16") == {"长春市第一中学教学电脑采购合同公告"}
    assert _titles(c, "q=不存在的词语组合") == set()
    # keywords with filters (the keyword index drives, the filters apply to its hits)
    assert _titles(c, "q=教学&amount_min=200000&date_from=2026-11-10") == {"长春市第一中学教学电脑采购合同公告"}
    assert _titles(c, "q=教学&amount_max=200000") == set()
    assert _titles(c, "q=公告&region=220200&kind=emall_result") == {"吉林市中心医院医用耗材电子卖场竞价结果公告"}
    assert _titles(c, "q=公告&purchaser=第一中学&date_to=2026-11-09") == {
        "长春市第一中学实验室仪器采购项目中标（成交）结果公告"}


def test_keyword_search_newest_first_and_capped_count(demo):
    """Many hits: the keyword index walks newest first (notices of the same second ordered by
    their exact time, then id); filters exact at band edges; a capped count says so."""
    import datetime as dt
    from decimal import Decimal

    from sqlalchemy import select

    from addons.notice_hub.models import Notice
    from core.db import db
    from core.models import Region

    with demo.app_context():
        region = db.session.scalar(select(Region.id).where(Region.code == "220100"))
        base = dt.datetime(2026, 3, 1, 9, 0, 0)
        rows = []
        for i in range(1_030):
            # three notices per second, the later id the earlier microsecond
            at = base + dt.timedelta(seconds=i // 3, microseconds=900_000 - (i % 3) * 1000)
            amount = ["500000.00", "500000.01", "499999.99", "1000.00"][i % 4]
            rows.append({"kind": "award", "title": f"测试档案柜采购项目{i}号公告", "summary": "档案柜",
                         "body": "档案柜", "status": "published", "source": "test", "source_withdrawn": False,
                         "amount": amount, "event_date": at.date(), "created_at": at, "published_at": at,
                         "region_id": region, "number": f"T-{i}"})
        db.session.execute(Notice.__table__.insert(), rows)
        db.session.commit()
        want = [(n.id, n.amount) for n in db.session.scalars(
            select(Notice).where(Notice.source == "test").order_by(Notice.published_at.desc(), Notice.id.desc()))]
    c = demo.test_client()
    res = c.get("/api/v1/notices/?q=档案柜&page_size=7&page=2").json
    assert res["count"] == 1000 and res["capped"] is True
    assert [r["id"] for r in res["result"]] == [i for i, _a in want[14:21]]
    res = c.get("/api/v1/notices/?q=档案柜&amount_min=500000&amount_max=500000&page_size=5&page=1").json
    exact = [i for i, a in want if a == 500000]
    assert res["count"] == len(exact) == 258 and res["capped"] is False
    assert [r["id"] for r in res["result"]] == exact[5:10]
    res = c.get("/api/v1/notices/?q=档案柜&amount_max=499999.99&region=220100&kind=award&page_size=3").json
    low = [i for i, a in want if a <= Decimal("499999.99")]
    assert res["count"] == len(low) and [r["id"] for r in res["result"]] == low[:3]
    assert c.get("/api/v1/notices/?q=档案柜&kind=contract").json["count"] == 0
    assert c.get("/api/v1/notices/?q=档案柜&region=220200").json["count"] == 0


@pytest.mark.parametrize("query,field", [
    ("kind=nope", "kind"), ("region=999999", "region"), ("date_from=2026-13-01", "date_from"),
    ("date_from=2026-12-01&date_to=2026-11-01", "date_to"), ("amount_min=abc", "amount_min"),
    ("amount_min=5&amount_max=1", "amount_max"), ("page_size=1000", "page_size"), ("page=-1", "page"),
    ("amount_min=NaN", "amount_min"), ("bogus=1", "_schema"),
])
def test_bad_search_input_is_a_clear_error(demo, query, field):
    c = demo.test_client()
    res = c.get(f"/api/v1/notices/?{query}")
    assert res.status_code == 422 and field in res.json["message"], res.json
    page = c.get(f"/notices/?{query}")
    assert page.status_code == 400 and "nh-errors" in page.get_data(as_text=True)


def test_notice_page_and_feeds(demo):
    c = demo.test_client()
    res = c.get("/api/v1/notices/?q=教学电脑")
    pk = res.json["result"][0]["id"]
    page = c.get(f"/notices/{pk}").get_data(as_text=True)
    assert "JLGG-220102-2026-0900002" in page and "¥245,000.00" in page and "None" not in page
    assert 'name="viewport"' in page
    listing = c.get("/notices/?q=教学电脑").get_data(as_text=True)
    assert f"/notices/{pk}" in listing
    # drafts and unknown notices are not public
    from sqlalchemy import text

    from core.db import db

    with demo.app_context():
        draft = db.session.execute(text("SELECT id FROM nh_notice WHERE status = 'draft' LIMIT 1")).scalar()
    assert c.get(f"/notices/{draft}").status_code == 404
    assert c.get("/notices/99999999999").status_code == 404
    rss = ET.fromstring(c.get("/notices/feed.rss?region=220100").get_data())
    assert {i.findtext("title") for i in rss.iter("item")} == PUBLISHED - {"吉林市中心医院医用耗材电子卖场竞价结果公告"}
    atom = ET.fromstring(c.get("/notices/feed.atom?kind=emall_result").get_data())
    ns = "{http://www.w3.org/2005/Atom}"
    assert [e.findtext(f"{ns}title") for e in atom.iter(f"{ns}entry")] == ["吉林市中心医院医用耗材电子卖场竞价结果公告"]
    assert c.get("/notices/feed.rss?region=nope").status_code == 400
    assert c.get("/notices/feed.json").status_code == 404


def test_deadline_list_and_workbench_cards(demo):
    sup = demo.test_client()
    login_form(sup, "notice_supervisor", "demo12345")
    page = sup.get("/notices/deadlines/").get_data(as_text=True)
    assert "已逾期 " in page and "逾期 3 个工作日发布" in page and "长春市第一中学课桌椅采购合同公告" in page
    assert "吉林市中心医院" not in page  # 长春市's supervisor sees 长春市 only
    home = sup.get("/").get_data(as_text=True)
    assert "公告已逾期未发布" in home and "公告逾期发布" in home
    pub = demo.test_client()
    login_form(pub, "notice_publisher", "demo12345")
    home = pub.get("/").get_data(as_text=True)
    assert "待审核发布的公告" in home and "已逾期未发布的公告" in home
    assert "推送失败的公告" not in home
    admin = demo.test_client()
    login_form(admin)
    assert "推送失败的公告（死信）" in admin.get("/").get_data(as_text=True)


def test_officials_pages_show_words_not_program_values(demo):
    import re

    admin = demo.test_client()
    login_form(admin)
    pages = ["/noticeview/list/", "/noticeview/show/1", "/noticeview/show/3", "/noticeview/edit/1",
             "/noticeview/add", "/noticetypeview/list/", "/noticetypeview/show/1", "/noticeoutboxview/list/",
             "/noticeoutboxview/show/1", "/notices/deadlines/", "/notices/", "/notices/3"]
    for url in pages:
        res = admin.get(url)
        assert res.status_code == 200, url
        text = re.sub(r"<script.*?</script>|<[^>]+>", " ", res.get_data(as_text=True), flags=re.S)
        for word in ("None", "True", "False", "nan"):
            assert not re.search(rf"\b{word}\b", text), (url, word)
    # a published notice's edit page refuses, the draft's saves unchanged
    res = admin.get("/noticeview/show/3").get_data(as_text=True)
    assert "审核发布" not in res and "发布更正" in res
    assert "审核发布" in admin.get("/noticeview/show/1").get_data(as_text=True)
