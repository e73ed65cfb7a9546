"""``erp expert ...``: replay recorded draws, recompute credit scores, link user accounts."""

from __future__ import annotations

import click
from flask import Flask

from core.cli import CliError, require_installed, with_app


@click.group(name="expert", help="评审专家：抽取重放验证、信用分重算、账号关联。")
def cli() -> None:
    pass


@cli.command("replay-draw", help="Replay recorded draws from their seeds; exit 1 if any differs.")
@click.argument("draw_id", required=False, type=int)
@click.option("--all", "all_", is_flag=True, help="Replay every recorded draw.")
@with_app
def replay_draw(app: Flask, draw_id: int | None, all_: bool) -> None:
    from sqlalchemy import select

    from core.db import db

    from . import services
    from .models import Draw

    require_installed(app, "expert_credit")
    if (draw_id is None) == (not all_):
        raise CliError("give a DRAW_ID or --all (not both)")
    stmt = select(Draw).order_by(Draw.id).execution_options(erp_unscoped=True)
    if draw_id is not None:
        stmt = stmt.where(Draw.id == draw_id)
    draws = db.session.execute(stmt).scalars().all()
    if draw_id is not None and not draws:
        raise CliError(f"draw {draw_id} not found")
    bad = 0
    for d in draws:
        r = services.replay(db.session, d)
        bad += not r.ok
        click.echo(f"draw {d.id} (request {d.request_id}, #{d.seq}, {d.algorithm}): "
                   f"{'OK' if r.ok else 'MISMATCH'} {r.message}")
    click.echo(f"{len(draws)} replayed, {bad} differ")
    if bad:
        raise SystemExit(1)


@cli.command("recompute-scores", help="Recompute every expert's credit score as of today "
                                       "(time decay) and lift expired suspensions.")
@with_app
def recompute_scores(app: Flask) -> None:
    from sqlalchemy import select

    from core.db import db

    from . import services
    from .models import Expert

    require_installed(app, "expert_credit")
    lifted = services.lift_expired_suspensions(db.session)
    ids = db.session.execute(select(Expert.id).order_by(Expert.id)).scalars().all()
    for eid in ids:
        services.recompute_score(db.session, eid, cause="定期重算")
    db.session.commit()
    click.echo(f"{len(ids)} scores recomputed, {lifted} suspensions lifted")


@cli.command("link-user", help="Link a login (username) to an expert's profile (id or code, e.g. ZJ0000074).")
@click.argument("username")
@click.argument("expert_ref", metavar="EXPERT_ID|CODE")
@with_app
def link_user(app: Flask, username: str, expert_ref: str) -> None:
    from sqlalchemy import select

    from core.db import db
    from core.security import ErpUser

    from . import services
    from .models import Expert

    require_installed(app, "expert_credit")
    user = db.session.execute(select(ErpUser).where(ErpUser.username == username)).scalar()
    if expert_ref.isdigit():
        expert = db.session.get(Expert, int(expert_ref))
    else:
        expert = db.session.execute(select(Expert).where(Expert.code == expert_ref)).scalar()
    if user is None or expert is None:
        raise CliError(f"unknown user {username!r} or expert {expert_ref!r}")
    other = db.session.execute(select(Expert).where(Expert.user_id == user.id)).scalar()
    if other is not None and other.id != expert.id:
        services.link_user(db.session, other, None)
        db.session.flush()
    services.link_user(db.session, expert, user)
    db.session.commit()
    click.echo(f"user {username} linked to expert {expert.id} {expert.code} ({expert.name})")


@cli.command("notify-evaluations", help="立即向评价单位发送专家履职评价即将到期、已逾期的站内消息（每项一次；定时任务每天 07:40 自动运行）。")
@with_app
def notify_evaluations(app: Flask) -> None:
    require_installed(app, "expert_credit")
    from core.db import db

    from .notices import send_evaluation_notices

    with app.app_context():
        sent = send_evaluation_notices(db.session)
        db.session.commit()
    click.echo(f"evaluations announced: {sent}")
