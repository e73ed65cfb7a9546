"""``erp emall ...``: the e-mall's scheduled jobs (run them from cron or a systemd timer).

* ``erp emall close-comparisons``: close every price comparison whose quote window has
  passed (reads and awards also close them lazily);
* ``erp emall scan-prices``: queue listings priced above their reference and order prices
  that are outliers in their category for the institution's review.
"""

from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import select

from core.cli import require_installed, with_app


@click.group(name="emall", help="电子卖场：定时任务（竞价截止、价格监测）。")
def cli() -> None:
    pass


@cli.command("close-comparisons", help="Close the price comparisons whose quote window has passed.")
@with_app
def close_comparisons(app: Flask) -> None:
    require_installed(app, "emall")
    from core.db import db

    from . import services
    from .models import EmallComparison

    closed = 0
    for comp in db.session.execute(select(EmallComparison).where(EmallComparison.status == "open")).scalars():
        closed += services.close_if_due(db.session, comp)
    db.session.commit()
    click.echo(f"closed: {closed}")


@cli.command("scan-prices", help="Queue price anomalies (above reference, order-price outliers).")
@with_app
def scan_prices(app: Flask) -> None:
    require_installed(app, "emall")
    from core.db import db

    from . import services

    added = services.scan_prices(db.session)
    db.session.commit()
    click.echo(f"above_reference: {added['above_reference']}, order_outlier: {added['order_outlier']}")
