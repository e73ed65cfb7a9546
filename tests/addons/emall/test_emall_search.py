"""The catalog search on its keyword index (issue 14): the index follows the listing in the
same transaction, synonyms (admin table, page and API), pinyin, relevance order, facets,
argument validation alike on pages and APIs, ``erp emall reindex``."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from core.db import db
from tests.conftest import cli
from tests.core.test_web import login_form

PRINTER = {"technology": "激光", "color": False, "paper": "A4"}


def _ids(em, query: str = "", user: str | None = None) -> list[int]:
    headers = em.h(user) if user else None
    res = em.client.get(f"/api/v1/emall_catalog/?{query}", headers=headers)
    assert res.status_code == 200, res.get_data(as_text=True)
    return [r["id"] for r in res.json["result"]]


def _world(em) -> dict[str, int]:
    em.admit("sup_a", "A0201", "A05")
    em.admit("sup_b", "A0201", "A05")
    out = {
        "desk_pc": em.listing("sup_a", name="联想台式计算机", brand="联想"),
        "laptop": em.listing("sup_a", code="A02010108", name="惠普便携式计算机", brand="惠普",
                             attributes={"cpu": "i5", "memory_gb": "16", "storage_gb": "512",
                                         "screen_inch": "14", "os": "Windows"}),
        "printer": em.listing("sup_b", code="A02010601", name="兄弟黑白打印机", brand="兄弟", attributes=PRINTER),
        "chair": em.listing("sup_a", code="A050103", name="网布办公椅", brand="震旦",
                            attributes={"material": "网布", "adjustable": True}),
    }
    return out


def test_index_follows_the_listing_in_its_transaction(em) -> None:
    w = _world(em)
    assert _ids(em, "q=黑白") == [w["printer"]]
    # an update of the name re-indexes it (old words gone, new ones found)
    res = em.call("POST", f"emall_listing/{w['printer']}/transition/delist", "sup_b", {}, expect=200)
    em.call("PUT", f"emall_listing/{w['printer']}", "sup_b", {"name": "兄弟彩色打印机"}, expect=200)
    em.call("POST", f"emall_listing/{w['printer']}/transition/submit", "sup_b", {}, expect=200)
    em.call("POST", f"emall_listing/{w['printer']}/transition/approve", "inst", {}, expect=200)
    assert _ids(em, "q=黑白") == []
    assert _ids(em, "q=彩色") == [w["printer"]]
    assert res.status_code == 200
    # written in the listing's own transaction: a rolled-back listing leaves no index entry
    from addons.emall.models import EmallListing
    from addons.emall.services import search as catalog_search

    with em.app.app_context():
        s = db.session
        tmpl = s.get(EmallListing, w["desk_pc"])
        extra = EmallListing(supplier_id=tmpl.supplier_id, category_id=tmpl.category_id, name="回滚测试显示器",
                             brand="回滚", model="RB-1", brand_key="回滚", model_key="rb-1", price=tmpl.price,
                             reference_price=tmpl.reference_price, stock=5, status="listed", attributes={})
        s.add(extra)
        s.flush()
        assert catalog_search.search(s, q="回滚测试").ids == [extra.id]
        s.rollback()
        assert catalog_search.search(s, q="回滚测试").count == 0
        if s.get_bind().dialect.name == "sqlite":
            assert s.execute(text("SELECT count(*) FROM emall_listing_fts WHERE emall_listing_fts MATCH "
                                  "'\"回滚\"'")).scalar() == 0


def test_renaming_a_category_reindexes_its_listings(em) -> None:
    w = _world(em)
    assert w["chair"] not in _ids(em, "q=坐具")
    em.call("PUT", f"emall_category/{em.cat['A050103']}", "inst", {"name": "椅凳类坐具"}, expect=200)
    assert _ids(em, "q=坐具") == [w["chair"]]


def test_common_names_synonyms_and_pinyin(em) -> None:
    w = _world(em)
    assert set(_ids(em, "q=电脑")) == {w["desk_pc"], w["laptop"]}
    assert _ids(em, "q=笔记本") == [w["laptop"]]
    assert _ids(em, "q=台式电脑") == [w["desk_pc"]]
    assert _ids(em, "q=打印设备") == [w["printer"]], "打印机 ↔ 打印设备"
    assert _ids(em, "q=diannao")[:2] and set(_ids(em, "q=diannao")) == {w["desk_pc"], w["laptop"]}
    assert _ids(em, "q=dayinji") == [w["printer"]]
    assert _ids(em, "q=dyj") == [w["printer"]]
    assert _ids(em, "q=bgy") == [w["chair"]], "initials of 办公椅"
    res = em.client.get("/api/v1/emall_catalog/?q=电脑").json
    assert {"term": "电脑", "also": ["计算机", "台式计算机", "便携式计算机"]} == {
        "term": res["expanded"][0]["term"], "also": sorted(res["expanded"][0]["also"], key=len)[:3]}


def test_a_typo_in_one_character_finds_an_approximate_result(em) -> None:
    w = _world(em)
    res = em.client.get("/api/v1/emall_catalog/?q=黑白打印鸡").json
    assert res["approximate"] is True and res["result"][0]["id"] == w["printer"]
    assert em.client.get("/api/v1/emall_catalog/?q=黑白打印机").json["approximate"] is False


def test_whole_pinyin_is_one_word_and_unfinished_pinyin_its_start(em) -> None:
    """A word of whole pinyin syllables is looked up as that word (``bangong`` → 办公, not a
    prefix: cheap on a common reading); an unfinished one (``bango``, ``bangon``) finds the
    words it starts on the zero-hit retry, marked approximate."""
    w = _world(em)
    for q in ("bangong", "bangongyi"):
        res = em.client.get(f"/api/v1/emall_catalog/?q={q}").json
        assert [r["id"] for r in res["result"]] == [w["chair"]] and res["approximate"] is False, q
    res = em.client.get("/api/v1/emall_catalog/?q=bangon").json
    assert [r["id"] for r in res["result"]] == [w["chair"]] and res["approximate"] is True
    assert em.client.get("/api/v1/emall_catalog/?q=bangongz").json["count"] == 0


def test_whole_pinyin_of_a_synonym_table_word_means_that_word_not_its_homophones() -> None:
    """``dayinji`` reads as 打印机 of the synonym table: it is looked up as 打印机 and its
    synonyms, without the syllable bigrams ``dayin yinji`` (homophones, and a fifth of the
    facets' time); a reading the table does not know keeps its syllable bigrams."""
    from core.services.cjk_search import Phrase, build_terms, synonym_index

    syn, by_pinyin = synonym_index([("打印机", "打印设备", True)])
    (term,) = build_terms("dayinji", syn, by_pinyin)
    tokens = [p.tokens for alt in term.alts for p in alt]
    assert ("打印", "印机") in tokens and ("打印", "印设", "设备") in tokens
    assert not any("dayin" in t for toks in tokens for t in toks if t != "dayinji")
    (other,) = build_terms("dayinji", {}, {})
    assert (Phrase(("dayin", "yinji"), exact=True),) in other.alts


def test_relevance_name_above_category_above_attributes_and_stock_first(em) -> None:
    em.admit("sup_a", "A0201", "A05")
    in_attr = em.listing("sup_a", name="国产商用主机", brand="长城",
                         attributes={"cpu": "龙芯处理器", "memory_gb": "16", "storage_gb": "512", "os": "国产操作系统"})
    in_name = em.listing("sup_a", name="龙芯台式计算机", brand="同方")
    scattered = em.listing("sup_a", name="龙腾芯片台式机", brand="方正")
    assert _ids(em, "q=龙芯") == [in_name, in_attr]
    # category path: 台式计算机 is in every listing's path; a name match ranks first
    assert _ids(em, "q=台式计算机")[0] == in_name
    # exact phrase above scattered characters
    em.listing("sup_a", name="台式机计算单元", brand="海光")
    order = _ids(em, "q=台式机")
    assert order.index(scattered) < len(order)
    # out of stock goes after the available ones
    em.call("POST", f"emall_listing/{in_name}/transition/delist", "sup_a", {}, expect=200)
    em.call("PUT", f"emall_listing/{in_name}", "sup_a", {"stock": 0}, expect=200)
    with em.app.app_context():
        db.session.execute(text("UPDATE emall_listing SET status = 'listed' WHERE id = :i"), {"i": in_name})
        db.session.commit()
    assert _ids(em, "q=龙芯") == [in_attr, in_name]
    # price and newest sorts stay
    assert _ids(em, "q=龙芯&sort=newest") == [in_name, in_attr]


def test_keyword_and_price_range_at_the_band_edges(em, monkeypatch) -> None:
    """A keyword with a price range: the ends are included, whatever price band of the index
    (PostgreSQL) a price falls in, and a price change moves the listing in or out."""
    em.admit("sup_a", "A0201")
    ids = {p: em.listing("sup_a", name=f"价段测试计算机{k}", brand="长城", price=p, reference="99999.00")
           for k, p in enumerate(("999.99", "1000.00", "1258.92", "9999.99", "10000.00", "19999.99",
                                  "20000.00", "20000.01"))}
    inside = {ids[p] for p in ("1000.00", "1258.92", "9999.99", "10000.00", "19999.99", "20000.00")}
    for sort in ("relevance", "newest"):
        assert set(_ids(em, f"q=价段测试&price_min=1000&price_max=20000&sort={sort}")) == inside
        assert set(_ids(em, f"q=价段测试&price_max=999.99&sort={sort}")) == {ids["999.99"]}
        assert set(_ids(em, f"q=价段测试&price_min=20000.01&sort={sort}")) == {ids["20000.01"]}
        assert set(_ids(em, f"q=价段测试&price_min=10000&price_max=10000&sort={sort}")) == {ids["10000.00"]}
    moved = ids["999.99"]
    em.call("POST", f"emall_listing/{moved}/transition/delist", "sup_a", {}, expect=200)
    em.call("PUT", f"emall_listing/{moved}", "sup_a", {"price": "15000.00"}, expect=200)
    em.call("POST", f"emall_listing/{moved}/transition/submit", "sup_a", {}, expect=200)
    em.call("POST", f"emall_listing/{moved}/transition/approve", "inst", {}, expect=200)
    assert set(_ids(em, "q=价段测试&price_min=1000&price_max=20000")) == inside | {moved}
    assert _ids(em, "q=价段测试&price_max=999.99") == []
    from addons.emall.services import search as catalog_search

    monkeypatch.setattr(catalog_search, "TIERED_ABOVE", 0)  # the page read tier by tier
    assert set(_ids(em, "q=价段测试&price_min=1000&price_max=20000")) == inside | {moved}
    assert set(_ids(em, "q=价段测试&price_min=20000.01&price_max=50000")) == {ids["20000.01"]}


def test_purchasers_region_first(em) -> None:
    em.admit("sup_a", "A0201")
    jl = em.listing("sup_a", name="吉林配送打印机", brand="富士通", code="A02010601", regions=("220200",),
                    attributes=PRINTER)
    cc = em.listing("sup_a", name="长春配送打印机", brand="爱普生", code="A02010601", regions=("220100",),
                    attributes=PRINTER)
    assert _ids(em, "q=配送打印机", user="pur_jl")[0] == jl
    assert _ids(em, "q=配送打印机", user="pur")[0] == cc


def test_facets_in_the_api_and_on_the_pages(em) -> None:
    w = _world(em)
    res = em.client.get("/api/v1/emall_catalog/?q=计算机").json
    cats = {c["name"]: c["count"] for c in res["facets"]["categories"]}
    assert sum(cats.values()) == res["count"] == 2
    assert {"台式计算机": 1, "便携式计算机": 1} == cats
    bands = {b["label"]: b["count"] for b in res["facets"]["price_bands"]}
    assert bands["5,000–10,000 元"] == 2 and sum(bands.values()) == 2
    page = em.client.get("/emall/?q=计算机").get_data(as_text=True)
    assert 'id="em-facets"' in page and "便携式计算机" in page and "5,000–10,000 元" in page
    assert w["printer"] not in _ids(em, "q=计算机")


def test_a_common_word_counts_up_to_the_cap_and_says_there_are_more(em, monkeypatch) -> None:
    """More hits than COUNT_CAP: the count is the cap, ``count_capped`` says there are more,
    the facets count the first hits, the pages say "N+ 件" and every page still reads."""
    from addons.emall.services import search as catalog_search

    _world(em)
    uncapped = em.client.get("/api/v1/emall_catalog/?q=计算机").json
    assert uncapped["count"] == 2 and uncapped["count_capped"] is False
    monkeypatch.setattr(catalog_search, "COUNT_CAP", 1)
    res = em.client.get("/api/v1/emall_catalog/?q=计算机").json
    assert res["count"] == 1 and res["count_capped"] is True
    assert len(res["result"]) == 2  # the page is not cut by the cap
    assert sum(c["count"] for c in res["facets"]["categories"]) == 2  # the first cap + 1 hits
    page = em.client.get("/emall/?q=计算机").get_data(as_text=True)
    assert "共 1+ 件商品" in page
    exact = em.client.get("/api/v1/emall_catalog/?q=打印机").json
    assert exact["count"] == 1 and exact["count_capped"] is False


def test_every_argument_is_checked_alike(em) -> None:
    _world(em)
    bad = {
        "price_min=abc": "price_min", "price_min=-5": "price_min", "price_min=1.234": "price_min",
        "price_min=500&price_max=100": "price_max", "page=-1": "page", "page=abc": "page",
        "page_size=0": "page_size", "page_size=1000": "page_size", "sort=cheap": "sort",
        "category=99999": "category", "category=ZZZ": "category", "region=12": "region",
        "region=999999": "region", "cold_chain=maybe": "cold_chain", "attr.BAD=1": "attr.BAD",
        "supplier=abc": "supplier", "pavilion=fish": "pavilion", "q=" + "长" * 101: "q", "foo=1": "foo",
    }
    for qs, field in bad.items():
        api = em.client.get(f"/api/v1/emall_catalog/?{qs}")
        assert api.status_code == 422, qs
        assert field in api.json["message"], (qs, api.json)
        page = em.client.get(f"/emall/?{qs}")
        assert page.status_code == 400, qs
        html = page.get_data(as_text=True)
        assert api.json["message"][field][0] in html, qs
    html = em.client.get("/emall/?price_min=abc").get_data(as_text=True)
    assert "最低价须为金额" in html and 'id="em-search"' in html


def test_synonyms_admin_api_and_page(em) -> None:
    w = _world(em)
    assert _ids(em, "q=坐具") == []
    res = em.call("POST", "emall_synonym/", "inst", {"term": "坐具", "synonyms": "办公椅, 椅子"}, expect=201)
    sid = res.json["id"]
    assert em.call("GET", f"emall_synonym/{sid}", "inst", expect=200).json["result"]["synonyms"] == "办公椅、椅子"
    assert _ids(em, "q=坐具") == [w["chair"]]
    assert _ids(em, "q=zuoju") == [w["chair"]], "a synonym's pinyin"
    dup = em.call("POST", "emall_synonym/", "inst", {"term": "坐具", "synonyms": "凳子"})
    assert dup.status_code == 409 and "已有同义词" in dup.json["message"]["term"][0]
    empty = em.call("POST", "emall_synonym/", "inst", {"term": "凳子", "synonyms": "凳子"})
    assert empty.status_code == 422 and "至少一个同义词" in empty.json["message"]["synonyms"][0]
    em.call("PUT", f"emall_synonym/{sid}", "inst", {"active": False}, expect=200)
    assert _ids(em, "q=坐具") == []
    # only the institution keeps them
    assert em.call("POST", "emall_synonym/", "sup_a", {"term": "x", "synonyms": "y"}).status_code in (401, 403)
    seeded = em.call("GET", "emall_synonym/?q=(page_size:100)", "inst", expect=200).json
    assert {"电脑", "笔记本", "打印机", "疫苗", "耳标"} <= {r["term"] for r in seeded["result"]}
    browser = em.app.test_client()
    login_form(browser, "inst", "secret123")
    page = browser.get("/synonymview/list/")
    assert page.status_code == 200 and "同义词" in page.get_data(as_text=True) and "计算机、台式计算机" in (
        page.get_data(as_text=True))
    form = browser.get("/synonymview/add").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    add = browser.post("/synonymview/add", data={"term": "台灯", "synonyms": "台灯", "active": "y",
                                                 "csrf_token": token})
    assert "请填写至少一个同义词" in add.get_data(as_text=True)
    browser.post("/synonymview/add", data={"term": "台灯", "synonyms": "照明灯具", "active": "y",
                                           "csrf_token": token})
    assert em.call("GET", "emall_synonym/?q=(filters:!((col:term,opr:eq,value:台灯)))", "inst",
                   expect=200).json["count"] == 1
    # a supplier has no synonyms page
    other = em.app.test_client()
    login_form(other, "sup_a", "secret123")
    assert other.get("/synonymview/list/").status_code in (302, 403)


def test_reindex_command_rebuilds_the_index(em) -> None:
    w = _world(em)
    with em.app.app_context():
        s = db.session
        if s.get_bind().dialect.name == "sqlite":
            s.execute(text("DELETE FROM emall_listing_fts"))
        else:
            s.execute(text("UPDATE emall_listing SET search_vector = NULL"))
        s.commit()
    res = cli(em.app, "emall", "reindex")
    assert res.exit_code == 0, res.output
    assert "已重建" in res.output
    assert _ids(em, "q=黑白") == [w["printer"]]


def _index_content(s) -> dict[int, object]:
    if s.get_bind().dialect.name == "sqlite":
        return {r[0]: tuple(r[1:]) for r in s.execute(text(
            "SELECT rowid, name, category, attrs, head, cats FROM emall_listing_fts"))}
    return dict(s.execute(text("SELECT id, search_vector::text FROM emall_listing")).all())


def test_a_full_reindex_writes_what_each_listings_own_save_wrote(em) -> None:
    """``reindex`` (PostgreSQL: documents copied into a temporary table, the listings table
    rewritten once with them; with worker processes reading committed rows in id ranges)
    gives every listing the document its own save gave it, keeps the table's indexes and the
    column's statistics, and leaves no temporary objects behind."""
    from addons.emall import search_index

    w = _world(em)
    with em.app.app_context():
        s = db.session
        pg = s.get_bind().dialect.name == "postgresql"
        saved = _index_content(s)
        assert len(saved) == len(w) and all(saved.values())
        indexes = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'emall_listing' ORDER BY 1"
        before = s.execute(text(indexes)).all() if pg else None
        for workers in ((1, 2) if pg else (1,)):
            if pg:
                s.execute(text("UPDATE emall_listing SET search_vector = NULL"))
            else:
                s.execute(text("DELETE FROM emall_listing_fts"))
            s.commit()  # worker processes read what is committed
            assert search_index.reindex(s, batch=2, workers=workers) == len(w)
            s.commit()
            assert _index_content(s) == saved, workers
            if pg:
                assert s.execute(text(indexes)).all() == before
                assert s.execute(text("SELECT to_regclass('pg_temp.emall_reindex')")).scalar() is None
                # the planner keeps the lexeme statistics the rewrite dropped
                assert s.execute(text("SELECT count(*) FROM pg_stats WHERE tablename = 'emall_listing' "
                                      "AND attname = 'search_vector'")).scalar() == 1
    assert _ids(em, "q=黑白") == [w["printer"]]


def test_a_reindex_holds_listing_writes_while_pages_read_on(em, pg_url) -> None:
    """PostgreSQL: while ``reindex`` builds the documents no listing can change under them (a
    save waits) and pages and searches still read the listings; the rewrite at its end blocks
    reads too, until the commit; then the save goes through."""
    import sqlalchemy as sa

    from addons.emall import search_index

    w = _world(em)
    seen: list[str] = []
    with em.app.app_context():
        s = db.session
        other = sa.create_engine(s.get_bind().url)
        try:
            with other.connect() as c:
                def during(_done: int) -> None:  # called between batches, before the rewrite
                    c.execute(text("SET lock_timeout = '300ms'"))
                    seen.append(c.execute(text("SELECT name FROM emall_listing WHERE id = :i"),
                                          {"i": w["printer"]}).scalar())
                    try:
                        c.execute(text("UPDATE emall_listing SET stock = stock - 1 WHERE id = :i"),
                                  {"i": w["printer"]})
                        seen.append("changed")
                    except sa.exc.OperationalError as exc:
                        seen.append("waited" if "lock timeout" in str(exc) else str(exc))
                    c.rollback()

                search_index.reindex(s, batch=2, progress=during)
                s.commit()
                c.execute(text("UPDATE emall_listing SET stock = stock - 1 WHERE id = :i"), {"i": w["printer"]})
                c.commit()
        finally:
            other.dispose()
    assert seen[:2] == ["兄弟黑白打印机", "waited"] and set(seen) == {"兄弟黑白打印机", "waited"}
    assert _ids(em, "q=黑白") == [w["printer"]]


def test_rows_written_by_a_loader_are_indexed_on_the_next_search(em) -> None:
    w = _world(em)
    from addons.emall.models import EmallListing

    with em.app.app_context():
        s = db.session
        row = {c: v for c, v in s.execute(select(EmallListing.__table__).where(
            EmallListing.id == w["printer"])).mappings().one().items() if c not in ("id", "search_vector")}
        row.update(name="批量导入碎纸机", model="BULK-1", model_key="bulk-1")
        s.execute(EmallListing.__table__.insert().values(**row))
        s.commit()
    _ids(em, "q=碎纸机")  # the first search notices the rows and indexes them
    assert len(_ids(em, "q=碎纸机")) == 1


def _fts_cats(em) -> dict[int, set[str]]:
    with em.app.app_context():
        return {rowid: set(cats.split()) for rowid, cats in db.session.execute(
            text("SELECT rowid, cats FROM emall_listing_fts"))}


def test_the_tier_by_tier_page_is_the_scored_order(em, monkeypatch) -> None:
    """A one-word search with many hits reads its page tier by tier instead of scoring every
    hit: the same ids in the same order as the scored page, each once, for one-token words
    (计算, 打印, ``jisuanji``), phrases, pinyin and synonyms, on every page."""
    from addons.emall.services import search as catalog_search

    _world(em)
    em.listing("sup_a", name="计算器（台式）", brand="得力")
    em.listing("sup_b", code="A02010601", name="彩色喷墨打印机", brand="爱普生", attributes=PRINTER)
    em.listing("sup_b", name="打印服务器台式计算机", brand="晨光")
    queries = ["q=计算", "q=计算机", "q=打印", "q=打印机", "q=jisuanji", "q=dayinji", "q=电脑", "q=机",
               "q=计算&page_size=2&page=1", "q=打印&page_size=1&page=2"]
    scored = {q: _ids(em, q) for q in queries}
    assert all(scored[q] for q in queries)
    monkeypatch.setattr(catalog_search, "TIERED_ABOVE", 0)
    tiered = {q: _ids(em, q) for q in queries}
    assert tiered == scored
    assert all(len(ids) == len(set(ids)) for ids in tiered.values())
    # a common word (more hits than the cap): PostgreSQL reads the first tier among the newest
    # ids first, then the rest - the same page
    monkeypatch.setattr(catalog_search, "COUNT_CAP", 1)
    for window in (1, 2, 4):
        monkeypatch.setattr(catalog_search, "NEWEST_WINDOW", window)
        assert {q: _ids(em, q) for q in queries} == scored, window


def test_keyword_and_category_are_intersected_in_the_index(em, monkeypatch) -> None:
    """SQLite: each listing's category and its ancestors are tokens of the FTS5 column
    ``cats`` (keyword + category subtree answered inside the index). A listing moved to
    another category and a category moved under another parent follow; the tokens are never
    found as words (a model number ``C<id>``). PostgreSQL: the same answers."""
    from addons.emall.models import EmallCategory, EmallListing

    w = _world(em)
    cat = em.cat
    assert set(_ids(em, f"q=计算机&category={cat['A0201']}")) == {w["desk_pc"], w["laptop"]}
    assert _ids(em, f"q=计算机&category={cat['A02010108']}") == [w["laptop"]]
    assert _ids(em, f"q=计算机&category={cat['A05']}") == []
    assert _ids(em, f"q=c{cat['A0201']}") == [] and _ids(em, f"q=c{cat['A05']}") == []
    assert _ids(em, f"q=c{cat['A0201']}&category={cat['A0201']}") == []
    # the tier-by-tier page (more than TIERED_ABOVE hits) reads the same subtree
    from addons.emall.services import search as catalog_search

    scored = {q: _ids(em, q) for q in (f"q=计算机&category={cat['A0201']}", f"q=电脑&category={cat['A0201']}",
                                       f"q=计算机&category={cat['A05']}")}
    monkeypatch.setattr(catalog_search, "TIERED_ABOVE", 0)
    assert {q: _ids(em, q) for q in scored} == scored
    monkeypatch.undo()
    with em.app.app_context():
        s = db.session
        chain = []
        cur = s.get(EmallCategory, cat["A02010108"])
        while cur is not None:
            chain.append(f"c{cur.id}")
            cur = cur.parent
        sqlite = s.get_bind().dialect.name == "sqlite"
    if sqlite:
        assert _fts_cats(em)[w["laptop"]] == set(chain)
    # the listing moves to another category: found under the new one only
    with em.app.app_context():
        db.session.get(EmallListing, w["laptop"]).category_id = cat["A02010105"]
        db.session.commit()
    assert set(_ids(em, f"q=计算机&category={cat['A02010105']}")) == {w["desk_pc"], w["laptop"]}
    assert _ids(em, f"q=计算机&category={cat['A02010108']}") == []
    # a category moves under another parent: its listings follow
    assert _ids(em, f"q=办公椅&category={cat['A05']}") == [w["chair"]]
    with em.app.app_context():
        db.session.get(EmallCategory, cat["A050103"]).parent_id = cat["A0201"]
        db.session.commit()
    assert _ids(em, f"q=办公椅&category={cat['A05']}") == []
    assert _ids(em, f"q=办公椅&category={cat['A0201']}") == [w["chair"]]
    res = em.client.get(f"/api/v1/emall_catalog/?q=办公椅&category={cat['A0201']}").json
    assert res["count"] == 1 and sum(c["count"] for c in res["facets"]["categories"]) == 1


def test_upgrade_to_emall_0004_gives_the_index_its_category_tokens(em) -> None:
    """Migration ``emall_0004`` rebuilds the SQLite FTS5 table with the column ``cats`` and
    copies every document, its category tokens computed in SQL from the tree (the same
    tokens the listeners write); its downgrade removes the column. PostgreSQL: nothing."""
    from alembic import command

    from core.addons.migrations import make_config
    from tests.conftest import installer

    w = _world(em)
    with em.app.app_context():
        sqlite = db.session.get_bind().dialect.name == "sqlite"
    before = _fts_cats(em) if sqlite else {}

    def migrate(fn, target: str) -> None:
        registry = installer(em.app).registry
        with em.app.app_context(), db.engine.begin() as conn:
            fn(make_config(registry, conn), target)

    migrate(command.downgrade, "emall_0003")
    if sqlite:
        with em.app.app_context():
            cols = [r[1] for r in db.session.execute(text("PRAGMA table_info(emall_listing_fts)"))]
            assert cols == ["name", "category", "attrs", "head"]
            n = db.session.execute(text("SELECT count(*) FROM emall_listing_fts")).scalar()
            assert n == len(before) and n >= 4
    migrate(command.upgrade, "emall@head")
    if sqlite:
        assert _fts_cats(em) == before
    assert set(_ids(em, f"q=计算机&category={em.cat['A0201']}")) == {w["desk_pc"], w["laptop"]}
    assert _ids(em, f"q=黑白&category={em.cat['A0201']}") == [w["printer"]]
