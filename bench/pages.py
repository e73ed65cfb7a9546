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

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
AIM_MS = 1000.0
SKIP = re.compile(r"logout|/delete/|/action|/download/|/export|lang/|/static/|^#|javascript:"
                  r"|mailto:|/api/|/swagger|/erp-static/|/image/|\.xlsx|/erp/modules/"
                  r"|/transition/|/act/|/run/|/cleanup/bulk|/import|/scan/")
LINKS_PER_PAGE = 6


def database(kind: str, pg_url: str) -> tuple[str, object]:
    """A fresh database URL and a cleanup callable."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="erp-bench-pages-")
        return f"sqlite:///{folder}/erp.sqlite3", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"erp_bench_pages_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(pg_url).set(database=name).render_as_string(hide_password=False), drop


def prepare(url: str):
    from click.testing import CliRunner

    from core.app import create_app, installer_for
    from core.cli import erp

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ERP_ADDONS_ENTRY_POINTS": False,
                      "RATELIMIT_ENABLED": False, "SECRET_KEY": "bench-pages-" + "x" * 32,
                      "TESTING": True, "ERP_STATE_POLL_SECONDS": 60})

    def run(*args: str) -> str:
        with app.app_context():
            res = CliRunner().invoke(erp, list(args))
        if res.exit_code != 0:
            raise SystemExit(f"error: erp {' '.join(args)}: {res.output}{res.exception or ''}")
        return res.output

    run("db", "init", "--admin-password", "admin12345")
    inst = installer_for(app)
    root = (ROOT / "addons").resolve()
    names = [n for n in inst.registry.order
             if inst.registry[n].installable and inst.registry[n].path.resolve().parent == root]
    inst.install(names, demo=True)
    run("tenant", "enable", "220000", *[n for n in names if n != "base"])
    out = run("demo", "users")
    users = [line.split()[1] for line in out.splitlines()[3:] if line.strip()]
    if "expert" in users:
        run("expert", "link-user", "expert", "ZJ0000074")
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
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--pg-url", default=os.environ.get("ERP_TEST_PG_URL", DEFAULT_PG))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--users", default="", help="comma-separated demo users (default: all + admin)")
    args = ap.parse_args()

    url, cleanup = database(args.db, args.pg_url)
    try:
        t0 = time.perf_counter()
        app, users = prepare(url)
        print(f"workload: every add-on with demo data on {args.db}, {len(users)} demo users "
              f"+ admin; prepared in {time.perf_counter() - t0:.1f} s")
        chosen = [u for u in args.users.split(",") if u] or ["admin", *users]
        extra = model_view_urls(app)
        rows: list[tuple[str, str, int, float]] = []
        t0 = time.perf_counter()
        for username in chosen:
            rows += crawl(app, username, extra, args.repeat)
        took = time.perf_counter() - t0
    finally:
        cleanup()
    timed = [r for r in rows if r[3] == r[3]]  # not NaN
    failed = [r for r in rows if r[2] >= 500]
    medians = sorted(r[3] for r in timed)
    p95 = medians[int(0.95 * (len(medians) - 1))] if medians else float("nan")
    print(f"pages: {len(rows)} (user x URL), requests: {len(rows) * (args.repeat + 1)}, "
          f"crawl {took:.1f} s; server errors: {len(failed)}")
    print(f"page time: median {statistics.median(medians):.1f} ms, p95 {p95:.1f} ms, "
          f"max {medians[-1]:.1f} ms" if medians else "no page timed")
    over = [r for r in timed if r[3] >= AIM_MS]
    print(f"\nslowest {args.top} pages (median of {args.repeat}; aim < {AIM_MS:.0f} ms):")
    for user, page, status, ms in sorted(timed, key=lambda r: -r[3])[:args.top]:
        verdict = "OK" if ms < AIM_MS else "MISSED"
        print(f"  {ms:8.1f} ms  {verdict:6}  {status}  {user:16} {page}")
    for user, page, status, _ in failed:
        print(f"  server error {status}: {user} {page}")
    print(f"\nevery page under 1 s: {'OK' if not over and not failed else 'MISSED'} "
          f"({len(over)} pages at or over 1 s, {len(failed)} server errors)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
