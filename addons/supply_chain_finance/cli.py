"""``erp scf ...``: deliver the signed webhooks waiting in the outbox now (the job runner,
``erp worker``, does it every minute: the job ``supply_chain_finance.deliver`` in
``jobs.py``); each run posts the due events once and logs every attempt.

    erp scf deliver [--limit 100]
    erp scf sm2-keygen [--force]     the platform's SM2 key for institutions signing with SM2
    erp scf sm2-public-key [--pem]   print the public key to hand to the institutions

The key file is ``SCF_SM2_KEY_FILE`` (default ``<VAR_DIR>/scf_sm2_key.json``, mode 0600);
the private key is never printed.
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


@cli.command("sm2-keygen", help="生成平台的 SM2 签名密钥（用于向选择 SM2 签名的金融机构推送通知；只显示公钥）。")
@click.option("--force", is_flag=True, help="替换已有的密钥（各机构须更新平台公钥）")
@with_app
def sm2_keygen(app: Flask, force: bool) -> None:
    from . import sm2key

    path = sm2key.key_path(app.config)
    try:
        key = sm2key.generate()
        sm2key.write_key(path, key, force=force)
    except sm2key.Sm2KeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已生成平台 SM2 签名密钥：{path}（权限 0600，私钥不会显示）")
    click.echo(f"公钥编号（X-SCF-Key-Id）：{key.key_id}")
    click.echo(f"公钥：{key.public_key}")


@cli.command("sm2-public-key", help="显示平台的 SM2 公钥（交给金融机构验签）。")
@click.option("--pem", is_flag=True, help="以 PEM（SubjectPublicKeyInfo）格式输出")
@with_app
def sm2_public_key(app: Flask, pem: bool) -> None:
    from . import sm2key

    try:
        key = sm2key.read_key(sm2key.key_path(app.config))
    except sm2key.Sm2KeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(sm2key.public_pem(key.public_key) if pem else key.public_key, nl=not pem)
