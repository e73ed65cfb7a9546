"""``erp deposit ...``: the deposit cleanup report from the command line; the daily
messages about deposits due soon and overdue, now (the job runner sends them every day at
07:30: the job ``deposit_ledger.notify_due`` in ``jobs.py``).

    erp deposit cleanup-report --cutoff 2022-05-01 [--region 220100] --out 清理报表.xlsx
    erp deposit notify-due
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from core.cli import CliError, require_installed, with_app


@click.group(name="deposit", help="保证金管理：清理报表等。")
def cli() -> None:
    pass


@cli.command("cleanup-report", help="保证金清理报表（按收取单位、按地区、明细）导出为 xlsx。")
@click.option("--cutoff", "cutoff", default=None, metavar="DATE",
              help="截止日期 YYYY-MM-DD（默认：参数“保证金清理截止日期”，2022-05-01）")
@click.option("--region", "region", default=None, metavar="CODE", help="只统计该地区及下级地区")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="输出文件（.xlsx）")
@with_app
def cleanup_report(app: Flask, cutoff: str | None, region: str | None, out: Path) -> None:
    require_installed(app, "deposit_ledger")
    from core.db import db

    from . import cleanup, services

    if out.suffix.lower() != ".xlsx":
        raise CliError("--out must name an .xlsx file")
    with app.app_context():
        session = db.session
        if cutoff:
            try:
                day = services.parse_iso_date(cutoff)
            except ValueError:
                raise CliError(f"--cutoff: not a date (YYYY-MM-DD): {cutoff}") from None
        else:
            day = cleanup.default_cutoff(session)
        try:
            region_ids = cleanup.region_filter(session, region)
        except ValueError:
            raise CliError(f"--region: unknown region code {region}") from None
        rep = cleanup.report(session, day, region_ids=region_ids)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "wb") as f:
            cleanup.write_report(f, rep)
    s = cleanup.summary(rep.rows)
    click.echo(f"cut-off {day.isoformat()}: {len(rep.rows)} deposits "
               + ", ".join(f"{v['label']} {v['count']} ({v['amount']} 元)" for v in s.values())
               + f"; written to {out}")


@cli.command("notify-due", help="立即向收取单位发送保证金即将到期、逾期未退的站内消息（每笔每类一次；定时任务每天 07:30 自动运行）。")
@with_app
def notify_due(app: Flask) -> None:
    require_installed(app, "deposit_ledger")
    from core.db import db

    from .notices import send_due_notices

    with app.app_context():
        counts = send_due_notices(db.session)
        db.session.commit()
    click.echo(f"due soon: {counts['deposit.due_soon']}, overdue: {counts['deposit.overdue']}")
