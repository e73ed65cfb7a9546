"""Benchmark: every page as every demo user, on the demo data; the slowest pages.

Workload: a fresh database (SQLite file, or PostgreSQL with ``--db postgresql``) with every
add-on in ``addons/`` installed with its demo data and enabled for the province, the demo
users (``erp demo users``) and the expert login linked to its profile, as ``scripts/run``
prepares it. Each user logs in and visits the landing page, the links of their navbar, every
ModelView's list / show / edit / add page of a demo record and the links one click away
(the display crawl of ``tests/core/test_every_page.py``), through Flask's test client in this process
(server time only: no network, no browser). Each page is fetched ``--repeat`` times after
one warm-up fetch; its median is reported.

Prints the number of pages and requests, the median and p95 over all pages, and the
``--top`` slowest pages (user, URL, status, median ms) each with OK/MISSED against the aim:
every page under 1 s. Never asserts; the exit status is 0 unless a step failed.

    .venv/bin/python bench/pages.py [--db sqlite|postgresql] [--repeat 3] [--top 15]
        [--users purchaser,supplier] [--pg-url URL]
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _common as common

AIM_MS = 1000.0
SKIP = re.compile(r"logout|/delete/|/action|/download/|/export|lang/|/static/|^#|javascript:"
                  r"|mailto:|/api/|/swagger|/erp-static/|/image/|\.xlsx|/erp/modules/"
                  r"|/transition/|/act/|/run/|/cleanup/bulk|/import|/scan/")
LINKS_PER_PAGE = 6


def prepare(url: str):
    from core.app import installer_for

    app = common.make_app(url, TESTING=True, ERP_STATE_POLL_SECONDS=60)
    root = (common.ROOT / "addons").resolve()
    registry = installer_for(app).registry
    names = [n for n in registry.order
             if registry[n].installable and registry[n].path.resolve().parent == root]
    common.setup_modules(app, names, enable=[n for n in names if n != "base"], demo=True,
                         admin_password="admin12345")
    out = common.cli(app, "demo", "users")
    users = [line.split()[1] for line in out.splitlines()[3:] if line.strip()]
    if "expert" in users:
        common.cli(app, "expert", "link-user", "expert", "ZJ0000074")
    return app, users


def login(client, username: str, password: str) -> None:
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    res = client.post("/login/", data={"username": username, "password": password,
                                       "csrf_token": token.group(1) if token else ""})
    if res.status_code != 302:
        raise SystemExit(f"error: login of {username} failed ({res.status_code})")


def links(page: str, base: str) -> list[str]:
    import html
    from urllib.parse import urljoin, urlparse

    found: list[str] = []
    for href in re.findall(r'href="([^"]+)"', page):
        url = urljoin(base, html.unescape(href))
        parsed = urlparse(url)
        if parsed.netloc and parsed.netloc != "localhost":
            continue
        path = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        if path.startswith("/") and not SKIP.search(path) and path not in found:
            found.append(path)
    return found


def model_view_urls(app) -> list[str]:
    from flask_appbuilder import ModelView

    state = app.extensions["erp"]
    out: list[str] = []
    with app.app_context():
        for views in state.views_by_module.values():
            for view in views:
                if not isinstance(view, ModelView):
                    continue
                base = view.route_base
                out += [f"{base}/list/", f"{base}/add"]
                filters = view.datamodel.get_filters(view.search_columns)
                for flt in view.base_filters or ():
                    filters.add_filter(flt[0], flt[1], flt[2])
                _, items = view.datamodel.query(filters, page=0, page_size=1)
                if items:
                    pk = view.datamodel.get_pk_value(items[0])
                    out += [f"{base}/show/{pk}", f"{base}/edit/{pk}"]
    return out


def crawl(app, username: str, extra: list[str], repeat: int) -> list[tuple[str, str, int, float]]:
    client = app.test_client()
    login(client, username, "admin12345" if username == "admin" else "demo12345")
    home = client.get("/")
    queue = [(u, True) for u in ["/", *links(home.get_data(as_text=True), "/"), *extra]]
    seen: set[str] = set()
    out = []
    while queue:
        url, follow = queue.pop(0)
        if url in seen or SKIP.search(url):
            continue
        seen.add(url)
        try:
            res = client.get(url)  # warm-up (and the page to follow links from)
        except Exception as exc:  # reported as a failed page, the crawl goes on
            out.append((username, url, 500, float("nan")))
            print(f"  {username} {url}: {type(exc).__name__}", file=sys.stderr)
            continue
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
        out.append((username, url, res.status_code, statistics.median(times)))
        if follow and res.status_code == 200 and "text/html" in (res.content_type or ""):
            for link in links(res.get_data(as_text=True), url)[:LINKS_PER_PAGE]:
                if link not in seen:
                    queue.append((link, False))
    return out


def main() -> int:
    ap = common.arg_parser(__doc__, paragraph=True, db=common.ONE_DB, db_default="sqlite", repeat=3,
                           top=15)
    ap.add_argument("--pg-url", default=common.pg_url_from_env())
    ap.add_argument("--users", default="", help="comma-separated demo users (default: all + admin)")
    args = ap.parse_args()

    if common.choose_backends(args.db, args.pg_url) is None:
        return 2
    with common.open_db(args.db, args.pg_url, sqlite_prefix="erp-bench-pages-",
                        pg_prefix="erp_bench_pages_") as store:
        t0 = time.perf_counter()
        app, users = prepare(store.url)
        print(f"workload: every add-on with demo data on {args.db}, {len(users)} demo users "
              f"+ admin; prepared in {time.perf_counter() - t0:.1f} s")
        chosen = [u for u in args.users.split(",") if u] or ["admin", *users]
        extra = model_view_urls(app)
        rows: list[tuple[str, str, int, float]] = []
        t0 = time.perf_counter()
        for username in chosen:
            rows += crawl(app, username, extra, args.repeat)
        took = time.perf_counter() - t0
        common.close_app(app)
    timed = [r for r in rows if r[3] == r[3]]  # not NaN
    failed = [r for r in rows if r[2] >= 500]
    medians = sorted(r[3] for r in timed)
    p95 = common.percentile(medians, 0.95, "lower")
    print(f"pages: {len(rows)} (user x URL), requests: {len(rows) * (args.repeat + 1)}, "
          f"crawl {took:.1f} s; server errors: {len(failed)}")
    print(f"page time: median {statistics.median(medians):.1f} ms, p95 {p95:.1f} ms, "
          f"max {medians[-1]:.1f} ms" if medians else "no page timed")
    over = [r for r in timed if r[3] >= AIM_MS]
    print(f"\nslowest {args.top} pages (median of {args.repeat}; aim < {AIM_MS:.0f} ms):")
    for user, page, status, ms in sorted(timed, key=lambda r: -r[3])[:args.top]:
        print(f"  {ms:8.1f} ms  {common.verdict(ms < AIM_MS):6}  {status}  {user:16} {page}")
    for user, page, status, _ in failed:
        print(f"  server error {status}: {user} {page}")
    print(f"\nevery page under 1 s: {common.verdict(not over and not failed)} "
          f"({len(over)} pages at or over 1 s, {len(failed)} server errors)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
