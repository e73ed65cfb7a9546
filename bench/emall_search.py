"""Benchmark: the e-mall's public catalog search, beside the raw SQL of the same search.

Workload (per backend: SQLite, and PostgreSQL when reachable): ``emall`` installed on a
fresh database, 500 categories with Chinese names (a tree: 20 groups of 25 leaves), 50
admitted suppliers, 200,000 listed listings (generated, seeded: Chinese product names,
brands, models, attributes, prices, the normalised search text the service writes, one
delivery region each). Then, in the same run and on the same rows, for each query:

* **API**: ``GET /api/v1/emall_catalog/?q=...&category=...&price_min=...&price_max=...``
  anonymously through the in-process Flask test client (no HTTP server): the whole
  platform path (module gating, row-scoping hook, the service's count and page queries,
  JSON);
* **raw SQL**: the same count and page ``SELECT`` (the statement the service builds,
  compiled once with literal values) on a pooled connection.

Query mix (each repeated ``--requests`` times, interleaved): keyword only; keyword +
category (a group, i.e. its subtree); keyword + category + price range; category + price
range sorted by price. Prints median and p95 per query for both sides and the aim
(p95 < 100 ms through the API) as OK/MISSED; never asserts.

    .venv/bin/python bench/emall_search.py [--db sqlite|postgresql|both] [--listings N]
        [--requests N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "bench-secret-" + "x" * 40
PASSWORD = "bench-secret-123"
AIM_MS = 100.0
SEED = 7

GROUPS = ["计算机", "网络设备", "打印设备", "办公设备", "家具", "空调电器", "医疗耗材", "实验仪器", "图书资料",
          "体育器材", "教学设备", "安防设备", "清洁用品", "厨房设备", "车辆配件", "照明灯具", "通信设备",
          "办公耗材", "劳保用品", "消防器材"]
WORDS = ["台式", "便携", "商用", "高性能", "节能", "静音", "智能", "专业", "经济型", "加强型", "多功能",
         "大容量", "彩色", "黑白", "立式", "壁挂", "无线", "有线", "国产", "进口"]
NOUNS = ["计算机", "打印机", "交换机", "投影仪", "办公桌", "办公椅", "文件柜", "空调", "显示器", "扫描仪",
         "复印机", "路由器", "服务器", "碎纸机", "电视机", "摄像机", "灭火器", "口罩", "手套", "试剂盒"]
BRANDS = ["联想", "华为", "长城", "同方", "海尔", "格力", "美的", "奔图", "得力", "晨光", "震旦", "圣奥",
          "海信", "创维", "浪潮", "曙光", "新华三", "锐捷", "大华", "海康"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def cli(app: Any, *args: str) -> None:
    from click.testing import CliRunner

    from core.cli import erp

    with app.app_context():
        res = CliRunner().invoke(erp, list(args))
    if res.exit_code != 0:
        raise RuntimeError(f"erp {' '.join(args[:3])}: {res.output.strip()} {res.exception or ''}")


class Db:
    def __init__(self, kind: str, pg_url: str) -> None:
        self.kind = kind
        if kind == "sqlite":
            self._tmp = tempfile.TemporaryDirectory(prefix="emall_bench_")
            self.url = f"sqlite:///{self._tmp.name}/bench.sqlite3"
        else:
            from sqlalchemy import create_engine, text
            from sqlalchemy.engine import make_url

            base = make_url(pg_url)
            self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
            self.name = f"erp_bench_{uuid.uuid4().hex[:10]}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = base.set(database=self.name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self.kind == "sqlite":
            self._tmp.cleanup()
        else:
            from sqlalchemy import text

            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.admin.dispose()


def build(url: str, n_listings: int) -> tuple[Any, dict[str, Any]]:
    from sqlalchemy import insert, select, text

    from core.app import create_app, installer_for
    from core.db import db
    from core.models import Organization, Region
    from core.services.credit_code import make

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ERP_ADDONS_ENTRY_POINTS": False,
                      "ERP_STATE_POLL_SECONDS": 1, "SECRET_KEY": SECRET, "RATELIMIT_ENABLED": False})
    cli(app, "db", "init", "--admin-password", PASSWORD)
    installer_for(app).install(["emall"])
    cli(app, "tenant", "enable", "220000", "emall")
    from addons.emall import services
    from addons.emall.models import (
        EmallAdmission,
        EmallAdmissionCategory,
        EmallCategory,
        EmallListing,
        EmallListingRegion,
    )

    rng = random.Random(SEED)
    t0 = time.perf_counter()
    with app.app_context(), db.engine.begin() as conn:
        regions = dict(conn.execute(select(Region.code, Region.id)).all())
        # 500 categories: 20 groups x 25 leaves
        cat_rows, leaf_names = [], {}
        next_id = (conn.execute(text("SELECT max(id) FROM emall_category")).scalar() or 0) + 1
        group_ids = []
        for g, gname in enumerate(GROUPS):
            gid = next_id
            next_id += 1
            group_ids.append(gid)
            cat_rows.append({"id": gid, "code": f"C9{g:02d}", "name": f"{gname}类", "parent_id": None,
                             "sequence": g, "active": True, "requires_cold_chain": False,
                             "attributes": [{"key": "grade", "label": "等级", "type": "choice",
                                             "choices": ["一级", "二级", "三级"]}]})
            for k in range(24):
                lid = next_id
                next_id += 1
                nm = f"{rng.choice(WORDS)}{gname}{k + 1:02d}"
                leaf_names[lid] = nm
                cat_rows.append({"id": lid, "code": f"C9{g:02d}{k:02d}", "name": nm, "parent_id": gid,
                                 "sequence": k, "active": True, "requires_cold_chain": False,
                                 "attributes": cat_rows[-1 - k]["attributes"] if k == 0 else
                                 [{"key": "grade", "label": "等级", "type": "choice",
                                   "choices": ["一级", "二级", "三级"]}]})
        conn.execute(insert(EmallCategory.__table__), cat_rows)
        orgs = [{"name": f"基准测试供应商{i:02d}有限公司", "credit_code": make(f"91220100MA0B{i:05d}"),
                 "org_type": "supplier", "region_id": regions["220100" if i % 2 else "220200"], "active": True}
                for i in range(50)]
        conn.execute(insert(Organization.__table__), orgs)
        sup_ids = list(conn.execute(select(Organization.id).where(Organization.name.like("基准测试供应商%")))
                       .scalars())
        adm_rows = [{"supplier_id": s, "status": "admitted", "answers": {}} for s in sup_ids]
        conn.execute(insert(EmallAdmission.__table__), adm_rows)
        adm_ids = list(conn.execute(select(EmallAdmission.id)).scalars())
        conn.execute(insert(EmallAdmissionCategory.__table__),
                     [{"admission_id": a, "category_id": g} for a in adm_ids for g in group_ids])
        leaves = list(leaf_names)
        city = [regions["220000"], regions["220100"], regions["220200"]]
        batch, reg_batch = [], []
        first = (conn.execute(text("SELECT max(id) FROM emall_listing")).scalar() or 0) + 1
        for i in range(n_listings):
            cat = leaves[i % len(leaves)]
            brand = rng.choice(BRANDS)
            name = f"{brand}{rng.choice(WORDS)}{rng.choice(NOUNS)}"
            model = f"{rng.choice('ABCDEFGHJK')}{rng.randint(1000, 99999)}"
            price = Decimal(rng.randint(50, 50000))
            attrs = {"grade": rng.choice(["一级", "二级", "三级"])}
            search = "|".join(services.normalize(p) for p in (name, brand, model, leaf_names[cat], attrs["grade"]))
            batch.append({"id": first + i, "supplier_id": sup_ids[i % len(sup_ids)], "category_id": cat,
                          "name": name, "brand": brand, "model": model, "brand_key": services.normalize(brand),
                          "model_key": services.normalize(model) + f"-{i}", "attributes": attrs, "unit": "台",
                          "price": price, "reference_price": price, "reference_source": "manufacturer",
                          "stock": 100, "cold_chain": False, "exclusive_model": False, "status": "listed",
                          "search_text": search})
            reg_batch.append({"listing_id": first + i, "region_id": city[i % 3]})
            if len(batch) >= 5000:
                conn.execute(insert(EmallListing.__table__), batch)
                conn.execute(insert(EmallListingRegion.__table__), reg_batch)
                batch, reg_batch = [], []
        if batch:
            conn.execute(insert(EmallListing.__table__), batch)
            conn.execute(insert(EmallListingRegion.__table__), reg_batch)
        if conn.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.execute(text("ANALYZE"))
    load = time.perf_counter() - t0
    return app, {"group_ids": group_ids, "load_s": load, "rng": rng}


QUERIES = [
    ("keyword", {"q": "打印机"}),
    ("keyword+category", {"q": "华为", "category": "G"}),
    ("keyword+category+price", {"q": "计算机", "category": "G", "price_min": "1000", "price_max": "20000"}),
    ("category+price, by price", {"category": "G", "price_min": "500", "price_max": "3000",
                                  "sort": "price_asc"}),
]


def run(kind: str, pg_url: str, n: int, requests: int) -> None:
    from urllib.parse import urlencode

    from sqlalchemy import func, select

    from core.db import db

    store = Db(kind, pg_url)
    try:
        t0 = time.perf_counter()
        app, info = build(store.url, n)
        print(f"[{kind}] built: {n:,} listings, 500 categories, 50 suppliers in {time.perf_counter() - t0:.1f}s "
              f"(rows {info['load_s']:.1f}s)")
        from addons.emall import services
        from addons.emall.models import EmallListing

        client = app.test_client()
        rng = random.Random(1)
        results: dict[str, dict[str, list[float]]] = {name: {"api": [], "sql": []} for name, _ in QUERIES}
        counts: dict[str, int] = {}
        with app.app_context():
            engine = db.engine
            for _ in range(3):  # warm-up
                for _name, q in QUERIES:
                    args = {k: (str(info["group_ids"][0]) if v == "G" else v) for k, v in q.items()}
                    client.get(f"/api/v1/emall_catalog/?{urlencode(args)}")
            for _round in range(requests):
                for name, q in QUERIES:
                    group = info["group_ids"][rng.randrange(len(info["group_ids"]))]
                    args = {k: (str(group) if v == "G" else v) for k, v in q.items()}
                    t = time.perf_counter()
                    res = client.get(f"/api/v1/emall_catalog/?{urlencode(args)}")
                    results[name]["api"].append((time.perf_counter() - t) * 1000)
                    assert res.status_code == 200, res.get_data(as_text=True)[:300]
                    counts[name] = res.json["count"]
                    # the same statements on a pooled connection, compiled with literal values
                    filters = {"q": args.get("q"), "category_id": int(args["category"]) if "category" in args else None,
                               "price_min": Decimal(args["price_min"]) if "price_min" in args else None,
                               "price_max": Decimal(args["price_max"]) if "price_max" in args else None}
                    base = services.search_statement(db.session, **filters)
                    order = services.SORTS[args.get("sort", "newest")]
                    count_sql = select(func.count()).select_from(base.subquery())
                    page_sql = base.order_by(*order).limit(20)
                    t = time.perf_counter()
                    with engine.connect() as conn:
                        conn.execute(count_sql).scalar()
                        ids = [x for (x,) in conn.execute(page_sql)]
                        if ids:
                            conn.execute(select(EmallListing).where(EmallListing.id.in_(ids))).all()
                    results[name]["sql"].append((time.perf_counter() - t) * 1000)
        print(f"[{kind}] {requests} requests per query, interleaved; times in ms")
        print(f"  {'query':28} {'hits':>7} {'API median':>11} {'API p95':>9} {'SQL median':>11} "
              f"{'SQL p95':>9}  aim p95<{AIM_MS:.0f}ms")
        for name, _q in QUERIES:
            api, sql = results[name]["api"], results[name]["sql"]
            p95 = pct(api, 0.95)
            print(f"  {name:28} {counts[name]:>7,} {statistics.median(api):>11.1f} {p95:>9.1f} "
                  f"{statistics.median(sql):>11.1f} {pct(sql, 0.95):>9.1f}  {'OK' if p95 < AIM_MS else 'MISSED'}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--listings", type=int, default=200_000)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--pg-url", default=DEFAULT_PG)
    args = ap.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(json.dumps({"python": sys.version.split()[0], "listings": args.listings,
                      "requests_per_query": args.requests}, ensure_ascii=False))
    for kind in kinds:
        run(kind, args.pg_url, args.listings, args.requests)


if __name__ == "__main__":
    main()
