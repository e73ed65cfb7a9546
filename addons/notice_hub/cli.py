"""``erp notices ...`` (the periodic jobs by hand) and ``erp ocds export``.

    erp notices deliver [--limit 100]       push due notices to the national portal
    erp notices deadlines                   remind publishers of notices due and overdue
    erp ocds export --from 2025-01-01 --to 2025-03-31 --out DIR [--region 220100]
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import Flask

from core.cli import CliError, require_installed, with_app


@click.group(name="notices", help="公告发布：推送全国平台、检查发布期限。")
def notices_cli() -> None:
    pass


@notices_cli.command("deliver", help="推送到期的公告（失败的按退避时间重试，最终失败进入死信列表）。")
@click.option("--limit", default=100, show_default=True, help="本次最多推送的条数")
@with_app
def deliver(app: Flask, limit: int) -> None:
    require_installed(app, "notice_hub")
    from core.db import db

    from .portal import deliver as run

    with app.app_context():
        counts = run(db.session, limit=limit)
        db.session.commit()
    click.echo(f"已送达 {counts['delivered']}，待重试 {counts['retry']}，进入死信 {counts['failed']}")


@notices_cli.command("deadlines", help="提醒发布单位即将到期和已逾期未发布的公告（每条每天一次）。")
@with_app
def deadlines(app: Flask) -> None:
    require_installed(app, "notice_hub")
    from core.db import db

    from .services import check_deadlines

    with app.app_context():
        n = check_deadlines(db.session)
        db.session.commit()
    click.echo(f"已发送提醒 {n} 条")


@click.group(name="ocds", help="OCDS 1.1.5 开放合同数据。")
def ocds_cli() -> None:
    pass


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CliError(f"{name} 日期“{value}”格式不正确，应为 YYYY-MM-DD") from None


@ocds_cli.command("export", help="按地区和月份导出发布包（每个地区每月一个 JSON 文件，流式写出）。")
@click.option("--from", "date_from", required=True, help="开始日期 YYYY-MM-DD")
@click.option("--to", "date_to", required=True, help="结束日期 YYYY-MM-DD")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="输出目录")
@click.option("--region", default=None, help="只导出该地区（含下级），行政区划代码")
@click.option("--base-url", default="https://www.ccgp-jilin.gov.cn", show_default=True)
@with_app
def export(app: Flask, date_from: str, date_to: str, out: str, region: str | None,
           base_url: str) -> None:
    require_installed(app, "notice_hub")
    from core.db import db

    from . import ocds

    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    try:
        months = ocds.months_between(start, end)
    except ocds.ExportError as exc:
        raise CliError(str(exc)) from None
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    with app.app_context():
        regions = [region] if region else ocds.regions_with_notices(db.session, start, end)
        for code in regions:
            for month in months:
                path = target / f"ocds-{code}-{month}.json"
                try:
                    with path.open("w", encoding="utf-8") as fh:
                        for chunk in ocds.stream_bulk(db.session, code, month, base_url,
                                                      subtree=bool(region)):
                            fh.write(chunk)
                except ocds.ExportError as exc:
                    path.unlink(missing_ok=True)
                    raise CliError(str(exc)) from None
                written += 1
        db.session.rollback()
    click.echo(f"已导出 {written} 个发布包到 {target}")


cli = [notices_cli, ocds_cli]
