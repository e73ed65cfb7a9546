"""``erp scf ...``: deliver the signed webhooks waiting in the outbox now (the job runner,
``erp worker``, does it every minute: the job ``supply_chain_finance.deliver`` in
``jobs.py``); each run posts the due events once and logs every attempt.

    erp scf deliver [--limit 100]
"""

from __future__ import annotations

import click
from flask import Flask

from core.cli import require_installed, with_app


@click.group(name="scf", help="供应链金融：推送金融机构的签名通知等。")
def cli() -> None:
    pass


@cli.command("deliver", help="推送到期的签名通知（失败的按退避时间重试，每次推送都有记录）。")
@click.option("--limit", default=100, show_default=True, help="本次最多推送的事件数")
@with_app
def deliver(app: Flask, limit: int) -> None:
    require_installed(app, "supply_chain_finance")
    from core.db import db

    from .webhooks import deliver_due

    with app.app_context():
        counts = deliver_due(db.session, limit=limit)
        db.session.commit()
    click.echo(f"已送达 {counts['delivered']}，待重试 {counts['retry']}，已停止重试 {counts['failed']}")
