"""``erp emall ...``: run the e-mall's periodic jobs now, and rebuild the search index.

The job runner (``erp worker``) runs the jobs on their own (``addons/emall/jobs.py``); these
commands run the same functions by hand:

* ``erp emall close-comparisons``: close every price comparison whose quote window has
  passed (reads and awards also close them lazily); the job ``emall.close_comparisons``;
* ``erp emall scan-prices``: queue listings priced above their reference and order prices
  that are outliers in their category for the institution's review; ``emall.scan_prices``;
* ``erp emall reindex``: rebuild the catalog search's keyword index of every listing (after
  a bulk import that bypassed the application, or a change of the tokenizer).
"""

from __future__ import annotations

import click
from flask import Flask

from core.cli import require_installed, with_app


@click.group(name="emall", help="电子卖场：立即运行定时任务（竞价截止、价格监测）、重建搜索索引。")
def cli() -> None:
    pass


@cli.command("close-comparisons", help="Close the price comparisons whose quote window has passed; "
             "tell purchasers of those closing within 24 hours (once).")
@with_app
def close_comparisons(app: Flask) -> None:
    require_installed(app, "emall")
    from core.db import db

    from .jobs import close_due_comparisons

    done = close_due_comparisons(db.session)
    db.session.commit()
    click.echo(f"closed: {done['closed']}, closing soon (purchasers told): {done['closing']}")


@cli.command("scan-prices", help="Queue price anomalies (above reference, order-price outliers).")
@with_app
def scan_prices(app: Flask) -> None:
    require_installed(app, "emall")
    from core.db import db

    from . import services

    added = services.scan_prices(db.session)
    db.session.commit()
    click.echo(f"above_reference: {added['above_reference']}, order_outlier: {added['order_outlier']}")


@cli.command("reindex", help="Rebuild the catalog search index of every listing (one transaction).")
@with_app
def reindex(app: Flask) -> None:
    require_installed(app, "emall")
    import time

    from core.db import db

    from . import search_index

    t0 = time.perf_counter()
    shown = [0]

    def progress(k: int) -> None:
        if k - shown[0] >= 200_000:
            shown[0] = k
            click.echo(f"  {k:,} …", err=True)

    n = search_index.reindex(db.session, progress=progress, workers=search_index.reindex_workers(db.session))
    db.session.commit()
    click.echo(f"已重建搜索索引：{n:,} 件商品，用时 {time.perf_counter() - t0:.1f} 秒")
