"""Benchmark: the e-mall's catalog search on its keyword index, beside the raw SQL of the
same search and beside the scan it replaced (issue 14).

Workload (per backend: SQLite, and PostgreSQL when reachable): ``emall`` installed on a
fresh database; 2,000 categories with Chinese names (40 groups of 49 leaves plus the groups,
a third level under some leaves), 50 admitted suppliers, ``--listings`` listed listings
(default 1,000,000) written with bulk SQL (PostgreSQL ``COPY``, SQLite ``executemany``):
generated, seeded Chinese product names (brand + descriptor + product noun), brands, models,
attributes, prices, one delivery region each. Then the index is built by the same function
as ``erp emall reindex`` (timed: the full reindex figure).

Measured, in one run on the same rows (``--requests`` interleaved requests per query):

* **API**: ``GET /api/v1/emall_catalog/?q=...`` anonymously through the in-process Flask
  test client (module gating, row scoping, validation, the service's facet, page and row
  statements, JSON). Every answer carries the facets (category counts, price bands);
* **raw SQL**: the statements the service builds for the same search (facets+count, page
  ids in relevance order), compiled with literal values, on a pooled connection;
* **today's scan**: the search before the index (``instr``/``LIKE '%kw%'`` over the
  normalised ``search_text``; count and newest page), i.e. the baseline.

Queries: keyword only (two-character Chinese keywords), keyword + category (a group, i.e. its
subtree), keyword + price range, pinyin (full pinyin of a two-/three-syllable word). Aims:
API p95 < 50 ms (OK/MISSED); indexing cost per listing create / update (an ORM flush + commit
with the index listeners on, minus the same with them off) median < 5 ms; full reindex of
1,000,000 listings < 120 s (scaled aim printed for smaller runs). Never asserts.

    .venv/bin/python bench/emall_search.py [--db sqlite|postgresql|both] [--listings N]
        [--requests N] [--keep] [--build-only] [--reuse URL]

``--keep`` keeps the PostgreSQL database (``pgsearch_<random>``, printed) for EXPLAIN
work; drop it by hand. ``--build-only`` stops after the build and the reindex.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common

AIM_MS = 50.0
AIM_INDEX_MS = 5.0
AIM_REINDEX_S_PER_M = 120.0
SEED = 7

GROUPS = ["计算机", "网络设备", "打印设备", "办公设备", "家具", "空调电器", "医疗耗材", "实验仪器", "图书资料",
          "体育器材", "教学设备", "安防设备", "清洁用品", "厨房设备", "车辆配件", "照明灯具", "通信设备",
          "办公耗材", "劳保用品", "消防器材", "兽用疫苗", "兽药", "饲料", "种畜禽", "消毒用品", "诊断试剂",
          "检测仪器", "畜牧机械", "冷链设备", "电子元件", "五金工具", "包装材料", "印刷服务", "音响设备",
          "摄影器材", "园林用品", "环保设备", "水暖器材", "电力设备", "仪器仪表"]
WORDS = ["台式", "便携", "商用", "高性能", "节能", "静音", "智能", "专业", "经济型", "加强型", "多功能",
         "大容量", "彩色", "黑白", "立式", "壁挂", "无线", "有线", "国产", "进口", "防水", "轻型", "重型",
         "自动", "手动", "数字", "高清", "低温", "恒温", "便捷", "紧凑", "工业", "家用", "医用", "兽用",
         "户外", "室内", "双门", "单门", "超薄"]
NOUNS = ["计算机", "打印机", "交换机", "投影仪", "办公桌", "办公椅", "文件柜", "空调", "显示器", "扫描仪",
         "复印机", "路由器", "服务器", "碎纸机", "电视机", "摄像机", "灭火器", "口罩", "手套", "试剂盒",
         "疫苗", "消毒剂", "饲料", "注射器", "耳标", "冷藏箱", "冰箱", "液氮罐", "酶标仪", "离心机",
         "电子秤", "饮水机", "电话机", "对讲机", "音箱", "话筒", "投影幕", "白板", "书架", "沙发",
         "茶几", "台灯", "吊灯", "插座", "电缆", "网线", "硬盘", "内存条", "键盘", "鼠标", "耳机",
         "平板", "手电筒", "梯子", "推车", "货架", "保险柜", "密码锁", "监控器", "门禁机", "考勤机",
         "血压计", "体温计", "听诊器", "轮椅", "担架", "药箱", "剪刀", "胶带", "复印纸", "墨盒", "硒鼓",
         "订书机", "计算器", "点钞机", "验钞机", "传真机", "扫地机", "吸尘器", "洗衣机", "烘干机",
         "微波炉", "电磁炉", "消毒柜", "净水器", "加湿器", "除湿机", "风扇", "暖风机", "热水器",
         "发电机", "水泵", "电钻", "焊机", "割草机", "喷雾器", "挤奶机"]
BRANDS = ["联想", "华为", "长城", "同方", "海尔", "格力", "美的", "奔图", "得力", "晨光", "震旦", "圣奥",
          "海信", "创维", "浪潮", "曙光", "新华三", "锐捷", "大华", "海康", "中牧", "瑞普", "哈药", "天康",
          "金宇", "普莱柯", "生物股份", "华畜", "牧原", "新希望", "正大", "大北农", "通威", "双胞胎",
          "澳亚", "伊利", "蒙牛", "光明", "三元", "飞鹤"]
GRADES = ["一级", "二级", "三级"]
ORIGINS = ["吉林", "辽宁", "黑龙江", "山东", "广东", "江苏", "浙江", "上海", "北京", "四川"]


def build(url: str, n_listings: int) -> tuple[Any, dict[str, Any]]:
    from sqlalchemy import insert, select, text

    from core.db import db
    from core.models import Organization
    from core.services.credit_code import make

    app = common.make_app(url, ERP_STATE_POLL_SECONDS=1)
    common.setup_modules(app, ["emall"], enable=["emall"])
    from addons.emall import services
    from addons.emall.models import EmallAdmission, EmallAdmissionCategory, EmallCategory

    rng = random.Random(SEED)
    t0 = time.perf_counter()
    pg = url.startswith("postgresql")
    with app.app_context(), db.engine.begin() as conn:
        regions = common.region_ids(conn)
        # 2,000 categories: 40 groups x 49 leaves, 1 in 7 leaves with a sub-leaf
        cat_rows, leaf_names = [], {}
        next_id = (conn.execute(text("SELECT max(id) FROM emall_category")).scalar() or 0) + 1
        group_ids = []
        tmpl = [{"key": "grade", "label": "等级", "type": "choice", "choices": GRADES},
                {"key": "origin", "label": "产地", "type": "text"}]
        n_cats = 0
        for g, gname in enumerate(GROUPS):
            gid = next_id
            next_id += 1
            group_ids.append(gid)
            cat_rows.append({"id": gid, "code": f"C9{g:02d}", "name": f"{gname}类", "parent_id": None,
                             "sequence": g, "active": True, "requires_cold_chain": False, "attributes": tmpl})
            n_cats += 1
            for k in range(49):
                if n_cats >= 2000:
                    break
                lid = next_id
                next_id += 1
                nm = f"{rng.choice(WORDS)}{gname}"
                parent = gid
                if k % 7 == 6:  # a third level under the previous leaf
                    parent = lid - 1
                    nm = f"{nm}配件"
                leaf_names[lid] = nm
                cat_rows.append({"id": lid, "code": f"C9{g:02d}{k:02d}", "name": nm, "parent_id": parent,
                                 "sequence": k, "active": True, "requires_cold_chain": False, "attributes": tmpl})
                n_cats += 1
        conn.execute(insert(EmallCategory.__table__), cat_rows)
        orgs = [{"name": f"基准测试供应商{i:02d}有限公司", "credit_code": make(f"91220100MA0B{i:05d}"),
                 "org_type": "supplier", "region_id": regions["220100" if i % 2 else "220200"], "active": True}
                for i in range(50)]
        conn.execute(insert(Organization.__table__), orgs)
        sup_ids = list(conn.execute(select(Organization.id).where(Organization.name.like("基准测试供应商%")))
                       .scalars())
        conn.execute(insert(EmallAdmission.__table__),
                     [{"supplier_id": s, "status": "admitted", "answers": {}} for s in sup_ids])
        adm_ids = list(conn.execute(select(EmallAdmission.id)).scalars())
        conn.execute(insert(EmallAdmissionCategory.__table__),
                     [{"admission_id": a, "category_id": g} for a in adm_ids for g in group_ids])
        leaves = list(leaf_names)
        city = [regions["220000"], regions["220100"], regions["220200"]]
        first = (conn.execute(text("SELECT max(id) FROM emall_listing")).scalar() or 0) + 1
        cols = ["id", "supplier_id", "category_id", "name", "brand", "model", "brand_key", "model_key",
                "attributes", "unit", "price", "reference_price", "reference_source", "stock", "cold_chain",
                "exclusive_model", "status", "search_text", "created_at", "updated_at", "listed_at"]
        now = "2026-01-01 00:00:00"
        norm = services.normalize
        batch, reg_batch = [], []
        for i in range(n_listings):
            cat = leaves[i % len(leaves)]
            brand = BRANDS[rng.randrange(len(BRANDS))]
            noun = NOUNS[rng.randrange(len(NOUNS))]
            name = f"{brand}{WORDS[rng.randrange(len(WORDS))]}{noun}"
            model = f"{'ABCDEFGHJK'[rng.randrange(10)]}{rng.randint(1000, 99999)}"
            price: Any = rng.randint(50, 80000)
            price = Decimal(price) if pg else float(price)  # SQLite stores Numeric as REAL
            grade, origin = GRADES[rng.randrange(3)], ORIGINS[rng.randrange(len(ORIGINS))]
            attrs = json.dumps({"grade": grade, "origin": origin}, ensure_ascii=False)
            search = "|".join(norm(p) for p in (name, brand, model, leaf_names[cat], grade, origin))
            lid = first + i
            batch.append((lid, sup_ids[i % len(sup_ids)], cat, name, brand, model, norm(brand),
                          f"{norm(model)}-{i}", attrs, "台", price, price, "manufacturer",
                          0 if i % 10 == 0 else 100, False, False, "listed", search, now, now, now))
            reg_batch.append((lid, city[i % 3]))
            if len(batch) >= 20000:
                common.bulk_rows(conn, "emall_listing", cols, batch)
                common.bulk_rows(conn, "emall_listing_region", ["listing_id", "region_id"], reg_batch)
                batch, reg_batch = [], []
        if batch:
            common.bulk_rows(conn, "emall_listing", cols, batch)
            common.bulk_rows(conn, "emall_listing_region", ["listing_id", "region_id"], reg_batch)
        common.reset_serial(conn, "emall_listing")  # COPY with explicit ids leaves the sequence behind
    load = time.perf_counter() - t0
    # the index: the same function as `erp emall reindex`
    from addons.emall import search_index

    t0 = time.perf_counter()
    with app.app_context():
        n = search_index.reindex(db.session, workers=search_index.reindex_workers(db.session))
        db.session.commit()
    reindex_s = time.perf_counter() - t0
    with app.app_context(), db.engine.connect() as conn:
        if pg:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
    return app, {"group_ids": group_ids, "load_s": load, "reindex_s": reindex_s, "indexed": n,
                 "sup_ids": sup_ids, "leaves": leaves, "n_cats": len(cat_rows)}


QUERIES = [
    ("keyword (2 chars)", {"q": "K2"}),
    ("keyword + category", {"q": "K2", "category": "G"}),
    ("keyword + price", {"q": "K2", "price_min": "1000", "price_max": "20000"}),
    ("pinyin", {"q": "P"}),
]
KEYWORDS = ["打印", "空调", "疫苗", "冰箱", "消毒", "键盘", "饲料", "电话", "沙发", "硬盘", "监控", "净水"]
PINYIN = ["dayinji", "kongtiao", "yimiao", "bingxiang", "xiaodu", "jianpan", "siliao", "shafa"]


def scan_statement(session: Any, kw: str, filters: dict[str, Any]) -> Any:
    """Today's scan (before the index): the keyword as instr()/LIKE over search_text."""
    from sqlalchemy import select

    from addons.emall import services
    from addons.emall.models import EmallListing as L
    from addons.emall.services import search as catalog_search

    stmt = catalog_search.apply_filters(session, select(L.id), blocked=services.blocked_supplier_ids(session),
                                      **filters)
    return stmt.where(services.keyword_clause(session, services.normalize(kw)))


def index_cost(app: Any, n: int = 60) -> dict[str, float]:
    """Median ms of one listing update (name change, ORM flush + commit) with the index
    listeners on and off, and of one listing insert likewise."""
    from sqlalchemy import event, select
    from sqlalchemy.orm import Session

    from addons.emall import search_index
    from addons.emall.models import EmallListing
    from core.db import db

    out: dict[str, list[float]] = {"update_on": [], "update_off": [], "create_on": [], "create_off": []}
    with app.app_context():
        ids = list(db.session.execute(select(EmallListing.id).order_by(EmallListing.id.desc()).limit(4 * n),
                                      execution_options={"erp_unscoped": True}).scalars())
        tmpl = db.session.get(EmallListing, ids[0])
        base = {c: getattr(tmpl, c) for c in ("supplier_id", "category_id", "brand", "brand_key", "unit",
                                              "price", "reference_price", "reference_source", "stock",
                                              "cold_chain", "exclusive_model", "status", "attributes")}
        db.session.rollback()
        for k in range(2 * n):
            on = k % 2 == 0
            if not on:
                event.remove(Session, "before_flush", search_index.before_flush)
                event.remove(Session, "after_flush", search_index.after_flush)
            try:
                obj = db.session.get(EmallListing, ids[k])
                t = time.perf_counter()
                obj.name = f"{obj.name[:20]}改{k}"
                db.session.commit()
                out["update_on" if on else "update_off"].append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                db.session.add(EmallListing(name=f"新增商品{k}智能冰箱", model=f"NEW-{k}", model_key=f"new-{k}",
                                            search_text="", **base))
                db.session.commit()
                out["create_on" if on else "create_off"].append((time.perf_counter() - t) * 1000)
            finally:
                if not on:
                    search_index.install_listeners()
        db.session.remove()
    return {k: statistics.median(v) for k, v in out.items()}


def reused(url: str) -> tuple[Any, dict[str, Any]]:
    """The app on a database kept by ``--keep`` (no build, no reindex)."""
    from sqlalchemy import text

    from core.db import db

    app = common.make_app(url, ERP_STATE_POLL_SECONDS=1)
    with app.app_context():
        groups = [i for (i,) in db.session.execute(text(
            "SELECT id FROM emall_category WHERE parent_id IS NULL AND code LIKE 'C9%' ORDER BY id"))]
    return app, {"group_ids": groups}


class _Reused:
    def __init__(self, url: str) -> None:
        self.url = url

    def close(self) -> None:
        pass


def run(kind: str, pg_url: str, n: int, requests: int, *, keep: bool = False,
        build_only: bool = False, reuse: str | None = None) -> None:
    from urllib.parse import urlencode

    from sqlalchemy import select

    from core.db import db

    store: Any = _Reused(reuse) if reuse else common.open_db(
        kind, pg_url, sqlite_prefix="emall_bench_", pg_prefix="pgsearch_" if keep else "erp_bench_", keep=keep)
    if keep:
        print(f"[{kind}] kept: {store.where()}")
    try:
        t0 = time.perf_counter()
        if reuse:
            app, info = reused(reuse)
            print(f"[{kind}] reused: {reuse} (no build, no reindex)")
        else:
            app, info = build(store.url, n)
            aim_reindex = AIM_REINDEX_S_PER_M * n / 1_000_000
            print(f"[{kind}] built: {n:,} listings, {info['n_cats']:,} categories, 50 suppliers in "
                  f"{time.perf_counter() - t0:.1f}s (rows {info['load_s']:.1f}s)")
            print(f"[{kind}] full reindex ({info['indexed']:,} listings): {info['reindex_s']:.1f}s "
                  f"(aim < {aim_reindex:.0f}s for this size, 120s per 1,000,000)  "
                  f"{common.verdict(info['reindex_s'] < aim_reindex)}")
        if build_only:
            common.close_app(app)
            return
        from addons.emall import search_index, services
        from addons.emall.models import EmallListing
        from addons.emall.services import search as catalog_search

        client = app.test_client()
        rng = random.Random(1)
        results: dict[str, dict[str, list[float]]] = {name: {"api": [], "sql": [], "scan": []}
                                                       for name, _ in QUERIES}
        counts: dict[str, list[int]] = {name: [] for name, _ in QUERIES}

        def args_of(q: dict[str, str]) -> dict[str, str]:
            out = {}
            for k, v in q.items():
                if v == "G":
                    v = str(info["group_ids"][rng.randrange(len(info["group_ids"]))])
                elif v == "K2":
                    v = KEYWORDS[rng.randrange(len(KEYWORDS))]
                elif v == "P":
                    v = PINYIN[rng.randrange(len(PINYIN))]
                out[k] = v
            return out

        with app.app_context():
            engine = db.engine
            for _ in range(2):  # warm-up
                for _name, q in QUERIES:
                    client.get(f"/api/v1/emall_catalog/?{urlencode(args_of(q))}")
            for _round in range(requests):
                for name, q in QUERIES:
                    args = args_of(q)
                    t = time.perf_counter()
                    res = client.get(f"/api/v1/emall_catalog/?{urlencode(args)}")
                    results[name]["api"].append((time.perf_counter() - t) * 1000)
                    assert res.status_code == 200, res.get_data(as_text=True)[:300]
                    assert "facets" in res.json, "no facets in the answer"
                    counts[name].append(res.json["count"])
                    filters = {"category_id": int(args["category"]) if "category" in args else None,
                               "price_min": Decimal(args["price_min"]) if "price_min" in args else None,
                               "price_max": Decimal(args["price_max"]) if "price_max" in args else None}
                    # raw SQL of the same search: facets+count, then the page in relevance order
                    terms = search_index.parse_query(db.session, args["q"])
                    extra = {"blocked": services.blocked_supplier_ids(db.session)}
                    base = catalog_search.base_statement(db.session, terms, **filters, **extra)
                    from sqlalchemy import and_, case, func

                    L = EmallListing
                    sums = [func.sum(case((and_(L.price >= lo, L.price < hi) if hi is not None else L.price >= lo,
                                           1), else_=0)) for lo, hi in catalog_search.PRICE_BANDS]
                    facet_sql = base.with_only_columns(L.category_id, func.count(), *sums).group_by(L.category_id)
                    avail = case((L.stock > 0, 1), else_=0)
                    page_sql = base.order_by(avail.desc(), search_index.score_expr(db.session, terms).desc(),
                                             L.id.desc()).limit(20)
                    dialect = engine.dialect
                    facet_text = str(facet_sql.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
                    page_text = str(page_sql.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
                    t = time.perf_counter()
                    with engine.connect() as conn:
                        conn.exec_driver_sql(facet_text).all()
                        ids = [x for (x,) in conn.exec_driver_sql(page_text)]
                        if ids:
                            conn.execute(select(L.id, L.name, L.price).where(L.id.in_(ids))).all()
                    results[name]["sql"].append((time.perf_counter() - t) * 1000)
                    # today's scan (pinyin: no scan could answer it; the scan of its Chinese word)
                    kw = args["q"] if not args["q"].isascii() else "打印"
                    scan = scan_statement(db.session, kw, filters)
                    t = time.perf_counter()
                    with engine.connect() as conn:
                        conn.execute(select(func.count()).select_from(scan.subquery())).scalar()
                        conn.execute(scan.order_by(L.id.desc()).limit(20)).all()
                    results[name]["scan"].append((time.perf_counter() - t) * 1000)
            db.session.remove()
        print(f"[{kind}] {requests} requests per query, interleaved; times in ms; hits = median count; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")
        print(f"  {'query':22} {'hits':>8} {'API med':>8} {'API p95':>8} {'SQL med':>8} {'SQL p95':>8} "
              f"{'scan med':>9} {'scan p95':>9}  aim API p95<{AIM_MS:.0f}ms")
        for name, _q in QUERIES:
            api, sql, scan = results[name]["api"], results[name]["sql"], results[name]["scan"]
            p95 = common.percentile(api, 0.95)
            print(f"  {name:22} {int(statistics.median(counts[name])):>8,} {statistics.median(api):>8.1f} "
                  f"{p95:>8.1f} {statistics.median(sql):>8.1f} {common.percentile(sql, 0.95):>8.1f} "
                  f"{statistics.median(scan):>9.1f} {common.percentile(scan, 0.95):>9.1f}  {common.verdict(p95 < AIM_MS)}")
        if reuse:  # the indexing cost adds listings: measured on a fresh build only
            common.close_app(app)
            return
        cost = index_cost(app)
        for what in ("create", "update"):
            extra = cost[f"{what}_on"] - cost[f"{what}_off"]
            print(f"[{kind}] indexing cost per listing {what}: median {cost[f'{what}_on']:.2f} ms with the index, "
                  f"{cost[f'{what}_off']:.2f} ms without: +{extra:.2f} ms (aim < {AIM_INDEX_MS:.0f} ms)  "
                  f"{common.verdict(extra < AIM_INDEX_MS)}")
        common.close_app(app)
    finally:
        store.close()


def main() -> int:
    ap = common.arg_parser(__doc__, db=common.ANY_DB, db_default="both", listings=1_000_000, requests=40)
    ap.add_argument("--pg-url", default=common.DEFAULT_PG)
    ap.add_argument("--keep", action="store_true", help="keep the database (pgsearch_*) for EXPLAIN work")
    ap.add_argument("--build-only", action="store_true", help="stop after the build and the reindex")
    ap.add_argument("--reuse", metavar="URL", help="measure the searches only, on a database kept by --keep "
                    "(with --db; no build, reindex or indexing cost)")
    args = ap.parse_args()
    kinds = common.choose_backends(args.db, args.pg_url)
    if kinds is None:
        return 2
    print(json.dumps({"python": sys.version.split()[0], "listings": args.listings,
                      "requests_per_query": args.requests, "cpus": os.cpu_count(),
                      "load_avg": [round(x, 1) for x in os.getloadavg()]}, ensure_ascii=False))
    for kind in kinds:
        run(kind, args.pg_url, args.listings, args.requests, keep=args.keep, build_only=args.build_only,
            reuse=args.reuse)
    return 0


if __name__ == "__main__":
    sys.exit(main())
