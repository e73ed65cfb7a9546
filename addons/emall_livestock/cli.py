"""``erp livestock ...``: the livestock pavilion's commands.

* ``erp livestock cold-chain-check [--json]``: listings on offer or under review in a
  cold-chain category without cold-chain delivery (they cannot be ordered);
* ``erp livestock steering CREDIT_CODE``: whether an organisation's users are steered to
  the pavilion, and by which listed unit.
"""

from __future__ import annotations

import json

import click
from flask import Flask
from sqlalchemy import select

from core.cli import CliError, require_installed, with_app

MODULE = "emall_livestock"


@click.group(name="livestock", help="畜牧行业馆 / livestock pavilion commands.")
def cli() -> None:
    pass


@cli.command("cold-chain-check",
             help="List listed or in-review products of cold-chain categories without cold-chain delivery.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_app
def cold_chain_check(app: Flask, as_json: bool) -> None:
    require_installed(app, MODULE)
    from core.db import db

    from . import services

    rows = [{"id": x.id, "supplier": x.supplier.name, "name": x.name, "brand": x.brand,
             "model": x.model, "category": x.category.code, "status": x.status}
            for x in services.cold_chain_violations(db.session)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("所有冷链品目的在售、待审商品均提供冷链配送。")
        return
    click.echo(f"{len(rows)} 件冷链品目商品未提供冷链配送（不能下单）：")
    for r in rows:
        click.echo(f"  #{r['id']} [{r['status']}] {r['category']} {r['name']} "
                   f"{r['brand']} {r['model']} — {r['supplier']}")


@cli.command("steering", help="Whether an organisation (by credit code) is steered to the pavilion.")
@click.argument("credit_code")
@with_app
def steering(app: Flask, credit_code: str) -> None:
    require_installed(app, MODULE)
    from core.db import db
    from core.models import Organization

    from . import services

    org = db.session.scalar(select(Organization).where(Organization.credit_code == credit_code.upper()))
    if org is None:
        raise CliError(f"no organisation with credit code {credit_code}")
    entry = services.steering_unit(db.session, org.id)
    if entry is None:
        click.echo(f"{org.name}：不是畜牧系统采购单位")
    elif entry.organization_id == org.id:
        click.echo(f"{org.name}：畜牧系统采购单位（本单位列入名单）")
    else:
        click.echo(f"{org.name}：畜牧系统采购单位（上级单位“{entry.organization.name}”列入名单，含下属单位）")
