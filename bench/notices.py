"""Benchmark: notice_hub (issue 17) - public keyword search, outbox delivery, OCDS bulk export.

Workload (per backend: SQLite, and PostgreSQL when reachable): ``notice_hub`` installed on a
fresh database, enabled for the province; ``--rows`` published notices (default 100,000; the
issue's figure is 1,000,000: ``--rows 1000000``) written with bulk SQL (PostgreSQL ``COPY``,
SQLite ``executemany``): seeded Chinese titles (unit + goods + kind), bodies, 9 cities,
publication times over 2025, amounts; then indexed by the same function as ``publish``
(timed).

Measured, in one run on the same rows:

* **search**: ``GET /api/v1/notices/?q=...`` anonymously through the in-process Flask test
  client (validation, scoping, count capped at 10,000, newest page, JSON) for keyword,
  keyword + type, keyword + region, keyword + amount, pinyin; beside the baseline: the same
  keyword as ``LIKE '%kw%'`` over the titles (count and newest page), the scan an index
  replaces. Aim: API p95 < 100 ms (OK/MISSED).
* **outbox**: ``--outbox`` notices (default 10,000) queued in ``nh_outbox`` and delivered by
  the delivery job's function to the fake portal on loopback answering 503 to 10 % of the
  requests (seeded), rounds with the clock moved past the backoff; printed: notices per
  second, attempts, duplicates the portal refused, and exactly-once (every key once in the
  portal's store, every row delivered) OK/MISSED; beside the baseline: the same number of
  plain POSTs to a portal that never fails (no outbox).
* **OCDS**: ``--projects`` award notices (default 100,000), one process each, exported as
  bulk release packages per region and month (``ocds.stream_bulk``, as ``erp ocds export``)
  in a child process: time and peak RSS (aim < 500 MB, OK/MISSED); beside the baseline: the
  same packages built in memory as one document per region and month, in another child.

Never asserts.

    .venv/bin/python bench/notices.py [--db sqlite|postgresql|both] [--rows N] [--outbox N]
        [--projects N] [--requests N] [--parts search,outbox,ocds] [--keep] [--reuse URL]
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common

AIM_MS = 100.0
AIM_RSS_MB = 500.0
SEED = 7
CITIES = ["220100", "220200", "220300", "220400", "220500", "220600", "220700", "220800", "222400"]
UNITS = ["第一中学", "中心医院", "人民医院", "实验小学", "财政局", "教育局", "卫生健康委员会", "公安局", "图书馆",
         "疾病预防控制中心", "职业技术学院", "农业农村局", "交通运输局", "自然资源局", "档案馆", "体育中心"]
GOODS = ["多媒体教学设备", "实验室仪器", "办公家具", "计算机", "打印机", "医用耗材", "病床", "空调", "安防监控",
         "网络交换机", "图书资料", "体育器材", "消毒用品", "疫苗冷藏箱", "服务器", "物业管理服务", "食堂食材",
         "车辆维修服务", "绿化养护服务", "保洁服务", "软件开发服务", "课桌椅", "投影仪", "救护车"]
KINDS = [("award", "中标（成交）结果公告"), ("contract", "合同公告"), ("procurement", "采购公告"),
         ("emall_result", "电子卖场竞价结果公告")]
QUERIES = [("keyword", {"q": "实验"}), ("keyword 2 words", {"q": "医院 病床"}),
           ("keyword + type", {"q": "计算机", "kind": "award"}),
           ("keyword + region", {"q": "打印", "region": "220100"}),
           ("keyword + amount", {"q": "服务", "amount_min": "100000", "amount_max": "500000"}),
           ("pinyin", {"q": "yimiao"}), ("rare", {"q": "救护车 档案馆"})]


def make_app(url: str) -> Any:
    """The app of the benchmark (the OCDS child process builds it too)."""
    return common.make_app(url, ERP_STATE_POLL_SECONDS=1)


COLS = ["id", "number", "kind", "title", "summary", "body", "data", "status", "source", "source_id",
        "source_withdrawn", "publisher_org_id", "purchaser_org_id", "amount", "event_date", "due_date",
        "ocid", "created_at", "published_at", "published_by", "delay_workdays", "region_id"]


def notice_rows(rng: random.Random, start_id: int, n: int, regions: dict[str, int], orgs: dict[str, dict],
                kinds: list[tuple[str, str]] | None = None) -> list[tuple]:
    kinds = kinds or KINDS
    base = dt.datetime(2025, 1, 1, 8, 0)
    rows = []
    for i in range(start_id, start_id + n):
        city = rng.choice(CITIES)
        unit = rng.choice(UNITS)
        goods = rng.choice(GOODS)
        kind, kind_name = rng.choice(kinds)
        org = orgs[city]
        title = f"{org['name'][:3]}{unit}{goods}采购项目{kind_name}"
        amount = f"{rng.randint(5_000, 5_000_000)}.{rng.randint(0, 99):02d}"
        published = base + dt.timedelta(minutes=rng.randint(0, 364 * 24 * 60))
        supplier = {"name": f"吉林省{rng.choice(GOODS)[:2]}科技有限公司", "credit_code": None}
        data = {"process": f"bench-{i}", "method": rng.choice(["public_tender", "inquiry", "single_source"]),
                "project_number": f"BJ-{i}", "project_name": f"{unit}{goods}采购项目", "budget": amount,
                "purchaser": {"id": org["id"], "name": org["name"], "credit_code": org["credit_code"]},
                "awards": [{"package": "1", "package_name": goods, "supplier": supplier, "amount": amount}]}
        summary = f"项目编号：BJ-{i}\n采购人：{org['name']}{unit}\n成交金额：{amount} 元"
        rows.append((i, f"JLGG-{city}-2025-{i:08d}", kind, title, summary, f"{title}\n\n{summary}",
                     json.dumps(data, ensure_ascii=False), "published", "bench.notice", i, False,
                     org["id"], org["id"], amount, published.date(), published.date(),
                     f"ocds-jlgp00-bench-{i}", published, published, "bench", 0, regions[city]))
    return rows


def build(url: str, n: int) -> tuple[Any, dict[str, Any]]:
    from sqlalchemy import select, text

    from addons.notice_hub import services
    from core.db import db
    from core.models import Organization, Region
    from core.services.credit_code import make

    app = make_app(url)
    common.setup_modules(app, ["notice_hub"], enable=["notice_hub"])
    rng = random.Random(SEED)
    info: dict[str, Any] = {}
    with app.app_context(), db.engine.begin() as conn:
        regions = common.region_ids(conn)
        orgs = {}
        for k, city in enumerate(CITIES):
            name = f"{conn.execute(select(Region.name).where(Region.code == city)).scalar()}政府采购中心"
            code = make(f"12{city}MA0NB{k:04d}")
            oid = conn.execute(Organization.__table__.insert().values(
                name=name, credit_code=code, org_type="central_procurement", region_id=regions[city],
                active=True).returning(Organization.id)).scalar()
            orgs[city] = {"id": oid, "name": name, "credit_code": code}
    pg = url.startswith("postgresql")
    cols = COLS + ["search_vector"] if pg else COLS
    if pg:  # the GIN index is built once after loading (maintaining it row by row is slower)
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_nh_notice_search_vector"))
    t0 = time.perf_counter()
    tokens_s = 0.0
    batch = 20_000
    for start in range(1, n + 1, batch):
        rows = notice_rows(rng, start, min(batch, n + 1 - start), regions, orgs)
        if pg:
            # PostgreSQL: the index column travels in the COPY, computed by the function
            # ``publish`` uses (services.index_document), instead of 1,000,000 UPDATEs later
            t1 = time.perf_counter()
            rows = [r + (services.pg_document(r[0], r[3], r[5], r[2], r[21], r[13], r[18]),) for r in rows]
            tokens_s += time.perf_counter() - t1
        with app.app_context(), db.engine.begin() as conn:
            common.bulk_rows(conn, "nh_notice", cols, rows)
    info["load_s"] = time.perf_counter() - t0 - tokens_s
    t0 = time.perf_counter()
    with app.app_context():
        if pg:
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
                conn.execute(text("CREATE INDEX ix_nh_notice_search_vector ON nh_notice "
                                  "USING gin (search_vector)"))
        while True:  # SQLite: the same function as ``publish`` (FTS5 rows); PostgreSQL: none left
            with db.engine.begin() as conn:
                if not services.catch_up_index(conn, limit=20_000):
                    break
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("ANALYZE nh_notice"))
            else:
                conn.execute(text("ANALYZE"))
    info["index_s"] = time.perf_counter() - t0 + tokens_s
    info["orgs"], info["regions"] = orgs, regions
    return app, info


def scan(session: Any, kw: str) -> Any:
    from sqlalchemy import func, select

    from addons.notice_hub.models import Notice

    like = f"%{kw}%"
    n = session.scalar(select(func.count()).select_from(
        select(Notice.id).where(Notice.status == "published", Notice.title.like(like)).limit(10_001).subquery()))
    session.execute(select(Notice.id, Notice.title).where(Notice.status == "published", Notice.title.like(like))
                    .order_by(Notice.published_at.desc()).limit(20)).all()
    return n


def bench_search(kind: str, app: Any, info: dict[str, Any], n: int, requests: int) -> None:
    from urllib.parse import urlencode

    from core.db import db

    client = app.test_client()
    print(f"[{kind}] search over {n:,} notices (API p95 aim < {AIM_MS:.0f} ms; baseline LIKE scan of titles)")
    print(f"[{kind}]   {'query':<18} {'hits':>7} {'API med':>8} {'API p95':>8} {'scan med':>9} {'scan p95':>9}")
    for name, args in QUERIES:
        api, base = [], []
        hits = 0
        url = "/api/v1/notices/?" + urlencode(args)
        client.get(url)  # warm
        for _ in range(requests):
            t0 = time.perf_counter()
            res = client.get(url)
            api.append((time.perf_counter() - t0) * 1000)
            if res.status_code != 200:
                raise RuntimeError(f"{url}: {res.status_code} {res.get_data(as_text=True)[:300]}")
            hits = res.json["count"]
            with app.app_context():
                t0 = time.perf_counter()
                scan(db.session, args["q"].split()[0])
                base.append((time.perf_counter() - t0) * 1000)
                db.session.remove()
        p95 = common.percentile(api, 0.95)
        print(f"[{kind}]   {name:<18} {hits:>7,} {statistics.median(api):>8.1f} {p95:>8.1f} "
              f"{statistics.median(base):>9.1f} {common.percentile(base, 0.95):>9.1f}  {common.verdict(p95 < AIM_MS)}")


def bench_outbox(kind: str, app: Any, info: dict[str, Any], n_out: int) -> None:
    import urllib.request

    from sqlalchemy import func, select

    from addons.notice_hub import portal as nh_portal
    from addons.notice_hub.fake_portal import FakePortal
    from addons.notice_hub.models import NoticeOutbox
    from core import outbox
    from core.db import db

    with app.app_context(), db.engine.begin() as conn:
        first = conn.execute(select(func.min(NoticeOutbox.id))).scalar()
        at = outbox.utcnow() - dt.timedelta(seconds=5)
        payload = json.dumps({"notice": {"title": "基准测试公告", "body": "正文" * 200}}, ensure_ascii=False)
        rows = [{"key": f"notice:{i}:portal", "topic": "notice.award", "payload": payload, "status": "pending",
                 "attempts": 0, "next_attempt_at": at, "created_at": at, "receiver": "portal", "notice_id": i,
                 "region_id": info["regions"]["220100"]} for i in range(1, n_out + 1)]
        conn.execute(NoticeOutbox.__table__.insert(), rows)
        assert first is None
    with FakePortal(fail_rate=0.10, seed=SEED) as portal:
        rec = nh_portal.HttpReceiver(portal.url, timeout=5.0)
        t0 = time.perf_counter()
        clock = outbox.utcnow()
        rounds = 0
        while True:
            rounds += 1
            with app.app_context():
                counts = nh_portal.deliver(db.session, limit=1000, at=clock, receivers={"portal": rec})
                db.session.commit()
                pending = db.session.scalar(select(func.count()).select_from(NoticeOutbox).where(
                    NoticeOutbox.status == "pending"))
                db.session.remove()
            if not pending or rounds > 200:
                break
            if not any(counts.values()):
                clock += dt.timedelta(hours=2)  # past every backoff
        elapsed = time.perf_counter() - t0
        with app.app_context():
            delivered = db.session.scalar(select(func.count()).select_from(NoticeOutbox).where(
                NoticeOutbox.status == "delivered"))
            attempts = db.session.scalar(select(func.sum(NoticeOutbox.attempts)))
            db.session.remove()
        once = delivered == n_out and len(portal.store) == n_out and \
            set(portal.store) == {f"notice:{i}:portal" for i in range(1, n_out + 1)}
    with FakePortal() as plain:
        body = payload.encode()
        t0 = time.perf_counter()
        for i in range(1, n_out + 1):
            req = urllib.request.Request(plain.url, data=body, method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Idempotency-Key": f"k{i}"})
            with urllib.request.urlopen(req, timeout=5) as res:
                res.read()
        base = time.perf_counter() - t0
    print(f"[{kind}] outbox: {n_out:,} notices to the fake portal (10% answered 503): {elapsed:.1f}s, "
          f"{n_out / elapsed:,.0f} notices/s, {attempts:,} attempts in {rounds} rounds, "
          f"{portal.requests - len(portal.store) - portal.duplicates:,} refused, "
          f"{portal.duplicates} duplicates kept once; exactly once: {common.verdict(once)}")
    print(f"[{kind}]   baseline (plain POSTs, no outbox, no failures): {base:.1f}s, {n_out / base:,.0f}/s")


CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from bench._common import rss_mb
from bench.notices import make_app
app = make_app({url!r})
from core.db import db
from addons.notice_hub import ocds
mode, months, regions, out = {mode!r}, {months!r}, {regions!r}, {out!r}
t0 = time.perf_counter()
n = 0
with app.app_context():
    for code in regions:
        for month in months:
            path = f"{{out}}/ocds-{{code}}-{{month}}.json"
            if mode == "stream":
                with open(path, "w", encoding="utf-8") as fh:
                    for chunk in ocds.stream_bulk(db.session, code, month, "https://example.org", subtree=False):
                        fh.write(chunk)
            else:
                chunks = list(ocds.stream_bulk(db.session, code, month, "https://example.org", subtree=False,
                                               batch=10**9))
                doc = json.loads("".join(chunks))
                with open(path, "w", encoding="utf-8") as fh:
                    json.dump(doc, fh, ensure_ascii=False)
            n += 1
# the peak of this process (VmHWM: getrusage's ru_maxrss is inherited across exec from the parent)
print(json.dumps({{"s": time.perf_counter() - t0, "files": n, "rss_mb": rss_mb()}}))
"""


def bench_ocds(kind: str, url: str, app: Any, info: dict[str, Any], n_proj: int) -> None:
    from sqlalchemy import func, select, text

    from addons.notice_hub.models import Notice
    from core.db import db

    with app.app_context():
        start = (db.session.scalar(select(func.max(Notice.id))) or 0) + 1
        db.session.remove()
        # a dedicated year (2024) holds the projects to export
        rng = random.Random(SEED + 1)
        for s in range(start, start + n_proj, 20_000):
            rows = notice_rows(rng, s, min(20_000, start + n_proj - s), info["regions"], info["orgs"],
                               kinds=[("award", "中标（成交）结果公告")])
            rows = [r[:18] + (r[18].replace(year=2024),) + r[19:] for r in rows]
            with db.engine.begin() as conn:
                common.bulk_rows(conn, "nh_notice", COLS, rows)
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE" if conn.dialect.name != "postgresql" else "ANALYZE nh_notice"))
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    out = {}
    for mode in ("stream", "in-memory"):
        with tempfile.TemporaryDirectory(prefix="nh_ocds_") as tmp:
            code = CHILD.format(root=str(common.ROOT), url=url, mode="stream" if mode == "stream" else "memory",
                                months=months, regions=CITIES, out=tmp)
            res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=common.ROOT,
                                 env={**os.environ, "PYTHONWARNINGS": "ignore"})
            if res.returncode != 0:
                print(f"[{kind}] OCDS {mode}: failed: {res.stderr[-1500:]}")
                return
            out[mode] = json.loads(res.stdout.strip().splitlines()[-1])
            if mode == "stream":
                size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    s = out["stream"]
    print(f"[{kind}] OCDS bulk export of {n_proj:,} projects ({s['files']} packages per region and month, "
          f"{size / 1e6:,.0f} MB): {s['s']:.1f}s, {n_proj / s['s']:,.0f} releases/s, peak RSS {s['rss_mb']:.0f} MB "
          f"(aim < {AIM_RSS_MB:.0f} MB)  {common.verdict(s['rss_mb'] < AIM_RSS_MB)}")
    m = out["in-memory"]
    print(f"[{kind}]   baseline (each package built in memory): {m['s']:.1f}s, peak RSS {m['rss_mb']:.0f} MB")


def run(kind: str, pg_url: str, n: int, n_out: int, n_proj: int, requests: int,
        parts: set[str] | None = None, keep: bool = False, reuse: str | None = None) -> None:
    parts = parts or {"search", "outbox", "ocds"}
    if reuse:  # the search again on a database kept by --keep (no build)
        app = make_app(reuse)
        bench_search(kind, app, {}, n, requests)
        common.close_app(app)
        return
    store = common.open_db(kind, pg_url, sqlite_prefix="nh_bench_", pg_prefix="notices_bench_", keep=keep)
    try:
        t0 = time.perf_counter()
        app, info = build(store.url, n)
        print(f"[{kind}] built {n:,} published notices in {time.perf_counter() - t0:.1f}s "
              f"(rows {info['load_s']:.1f}s, keyword index {info['index_s']:.1f}s)")
        if keep:
            print(f"[{kind}] kept: {store.url}")
        if "search" in parts:
            bench_search(kind, app, info, n, requests)
        if "outbox" in parts:
            bench_outbox(kind, app, info, n_out)
        if "ocds" in parts:
            bench_ocds(kind, store.url, app, info, n_proj)
        common.close_app(app)
    finally:
        store.close()


def main() -> int:
    ap = common.arg_parser(__doc__, db=common.ANY_DB, rows=100_000, outbox=10_000, projects=100_000,
                           requests=40)
    ap.add_argument("--parts", default="search,outbox,ocds", help="comma-separated: search,outbox,ocds")
    ap.add_argument("--pg-url", default=common.pg_url_from_env())
    ap.add_argument("--keep", action="store_true", help="keep the built database (its URL is printed)")
    ap.add_argument("--reuse", metavar="URL", help="search only, on a database kept by --keep (with --db)")
    args = ap.parse_args()
    kinds = common.choose_backends(args.db, args.pg_url)
    if kinds is None:
        return 2
    print(f"rows {args.rows:,} (issue: 1,000,000), outbox {args.outbox:,}, projects {args.projects:,}; "
          f"peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    for kind in kinds:
        run(kind, args.pg_url, args.rows, args.outbox, args.projects, args.requests,
            set(args.parts.split(",")), keep=args.keep, reuse=args.reuse)
    return 0


if __name__ == "__main__":
    sys.exit(main())
