"""The ``erp`` command line (also ``flask --app core.app erp ...``).

Every command exits 0 on success; otherwise it prints one line ``error: <reason>`` on
stderr and exits non-zero.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app

from core.addons.manifest import AddonError
from core.state import get_state, installer_for


class CliError(click.ClickException):
    def show(self, file: Any = None) -> None:
        click.echo(f"error: {' '.join(self.format_message().split())}", err=True)


def _get_app() -> Flask:
    try:
        return current_app._get_current_object()  # type: ignore[attr-defined]
    except RuntimeError:
        pass
    ctx = click.get_current_context()
    root = ctx.find_root()
    app = root.meta.get("erp.app")
    if app is None:
        from core.app import create_app

        app = create_app()
        root.meta["erp.app"] = app
        app_ctx = app.app_context()
        app_ctx.push()
        root.call_on_close(app_ctx.pop)
    return app


def with_app(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run the command with the app (created once) and turn known errors into one line."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            app = _get_app()
            return fn(app, *args, **kwargs)
        except click.ClickException:
            raise
        except Exception as exc:
            if isinstance(exc, AddonError) or type(exc).__name__ in (
                "ConfigError",
                "CalendarNotCovered",
            ):
                raise CliError(str(exc)) from exc
            from alembic.util import CommandError
            from sqlalchemy.exc import SQLAlchemyError

            if isinstance(exc, CommandError):
                raise CliError(f"migration error: {exc}") from exc
            if isinstance(exc, SQLAlchemyError):
                raise CliError(f"database error: {type(exc).__name__}: {exc}") from exc
            raise

    return wrapper


class ErpGroup(click.Group):
    """The ``erp`` group: core commands, plus the commands add-ons export from ``cli.py``.

    Add-on commands are looked up only when a name is not a core command (or for
    ``--help``), so core commands never pay for building the app.
    """

    def _addon_commands(self, ctx: click.Context) -> dict[str, tuple[str, Any]]:
        try:
            app = _get_app()
        except Exception as exc:  # a broken add-on must not hide the core commands
            raise CliError(str(exc)) from exc
        return app.extensions["erp"].cli_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        if not ctx.resilient_parsing:
            try:
                names |= set(self._addon_commands(ctx))
            except CliError:
                pass
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        found = self._addon_commands(ctx).get(cmd_name)
        return found[1] if found else None


@click.group(
    name="erp", cls=ErpGroup, help="吉林省政府采购管理平台 / Jilin government-procurement ERP."
)
def erp() -> None:
    pass


def require_installed(app: Flask, module: str) -> None:
    """For add-on commands: fail with one clear line when ``module`` is not installed."""

    if module not in installer_for(app).installed():
        raise CliError(f"module {module!r} is not installed (erp module install {module})")


# -- db -----------------------------------------------------------------------------------
@erp.group(help="Database schema.")
def db() -> None:
    pass


@db.command("init", help="Create or upgrade the core schema; create the admin user.")
@click.option("--admin-username", envvar="ERP_ADMIN_USERNAME", default="admin", show_default=True)
@click.option("--admin-password", envvar="ERP_ADMIN_PASSWORD", default=None,
              help="Or ERP_ADMIN_PASSWORD. Without it no admin user is created.")
@click.option("--admin-email", envvar="ERP_ADMIN_EMAIL", default="admin@example.gov.cn")
@with_app
def db_init(app: Flask, admin_username: str, admin_password: str | None, admin_email: str) -> None:
    installer_for(app).init_core()
    if admin_password:
        created = _ensure_user(app, admin_username, admin_password, app.config["AUTH_ROLE_ADMIN"],
                               email=admin_email, first_name="平台", last_name="管理员")
        click.echo(f"admin user {admin_username!r} {'created' if created else 'exists'}")
    click.echo("database ready")


def _ensure_user(app: Flask, username: str, password: str, role_name: str, *, email: str,
                 first_name: str, last_name: str, region: str | None = None,
                 org_code: str | None = None, org_id: int | None = None) -> bool:
    from sqlalchemy import select

    from core.db import db as _db
    from core.models import Organization, Region

    sm = app.appbuilder.sm
    if sm.find_user(username=username) is not None:
        return False
    region_obj = org_obj = None
    if region is not None:
        region_obj = _db.session.execute(select(Region).where(Region.code == region)).scalar()
        if region_obj is None:
            raise CliError(f"unknown region {region!r} (use a 6-digit GB/T 2260 code)")
    if org_code is not None:
        org_obj = _db.session.execute(
            select(Organization).where(Organization.credit_code == org_code)
        ).scalar()
        if org_obj is None:
            raise CliError(f"unknown organisation with credit code {org_code!r}")
    if org_id is not None:
        org_obj = _db.session.get(Organization, org_id)
    role = sm.find_role(role_name)
    if role is None:
        raise CliError(f"role {role_name!r} does not exist")
    from core.security import password_problems

    problems = password_problems(password, username)
    if problems:  # the platform's one password policy (docs/security.md)
        raise CliError("the password is refused (at least 8 characters, not one repeated "
                       "character, not the username, not a common password): "
                       + "；".join(problems))
    user = sm.add_user(username, first_name, last_name, email, role, password=password)
    if not user:
        raise CliError(f"could not create user {username!r} (is the email {email!r} taken?)")
    if region_obj is not None or org_obj is not None:
        user.region_id = region_obj.id if region_obj is not None else None
        user.organization_id = org_obj.id if org_obj is not None else None
        _db.session.commit()
    return True


# -- module -------------------------------------------------------------------------------
@erp.group(help="Platform install, upgrade and uninstall of add-on modules.")
def module() -> None:
    pass


@module.command("list", help="Every module with its state.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_app
def module_list(app: Flask, as_json: bool) -> None:
    mods = installer_for(app).list()
    if as_json:
        click.echo(json.dumps([m.as_dict() for m in mods], ensure_ascii=False, indent=2))
        return
    click.echo(f"{'name':28} {'state':12} {'installed':10} {'code':10} depends")
    for m in mods:
        click.echo(
            f"{m.name:28} {m.state:12} {m.installed_version or '-':10} {m.version or '-':10} "
            f"{', '.join(m.depends) or '-'}"
        )


@module.command("install", help="Install modules (with their dependencies and bridges).")
@click.argument("names", nargs=-1, required=True)
@click.option("--demo", is_flag=True, help="Also load their demo data.")
@with_app
def module_install(app: Flask, names: tuple[str, ...], demo: bool) -> None:
    inst = installer_for(app)
    if names == ("all",) and "all" not in inst.registry:
        names = tuple(n for n in inst.registry.order if inst.registry[n].installable)
    inst.install(names, demo=demo)
    click.echo(inst.messages[-1])


@module.command("upgrade", help="Upgrade installed modules.")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Upgrade every installed module.")
@with_app
def module_upgrade(app: Flask, names: tuple[str, ...], all_: bool) -> None:
    if not names and not all_:
        raise CliError("name a module to upgrade, or use --all")
    inst = installer_for(app)
    inst.upgrade(None if all_ else names)
    click.echo(inst.messages[-1])


@module.command("uninstall", help="Uninstall a module (data kept); --purge drops its tables.")
@click.argument("name")
@click.option("--purge", is_flag=True, help="Also drop the module's tables (asks for --yes).")
@click.option("--yes", is_flag=True, help="Confirm the purge printed by a dry run.")
@with_app
def module_uninstall(app: Flask, name: str, purge: bool, yes: bool) -> None:
    inst = installer_for(app)
    if not purge:
        inst.uninstall(name)
        click.echo(inst.messages[-1])
        return
    report = inst.purge_report(name)
    if report.blockers:
        raise CliError(
            f"cannot purge {name!r}: modules whose tables depend on it still have data: "
            + ", ".join(report.blockers)
        )
    click.echo(f"purging {name!r} would drop:")
    for table, rows in report.tables:
        click.echo(f"  table {table}: {rows} rows")
    if not report.tables:
        click.echo("  no tables")
    click.echo(f"  and {report.records} records the module shipped into other tables")
    if not yes:
        raise CliError("nothing was changed: add --yes to purge")
    inst.purge(name)
    click.echo(f"purged {name!r}")


@module.command("scaffold", help="Write a new module in the house style (model, migration, API, "
                "page, one transition, demo row, docs stub, a passing test).")
@click.argument("name")
@click.option("--depends", default="", help="Comma-separated modules it depends on (base always).")
@click.option("--path", "path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The add-ons folder to write into (default: the project's addons/).")
@click.option("--title", default=None, help="The module's Chinese name (default: NAME).")
def module_scaffold(name: str, depends: str, path: Path | None, title: str | None) -> None:
    from core.scaffold import ScaffoldError, scaffold

    try:
        written = scaffold(name, depends=[d.strip() for d in depends.split(",") if d.strip()],
                           path=path, title=title)
    except ScaffoldError as exc:
        raise CliError(str(exc)) from None
    click.echo(f"wrote module {name!r} in {written.module_dir}:")
    for file in written.files:
        click.echo(f"  {file}")
    click.echo(f"next: erp module install {name} --demo")


@module.command("graph", help="The dependency graph in install order (--dot for Graphviz).")
@click.option("--dot", is_flag=True)
@with_app
def module_graph(app: Flask, dot: bool) -> None:
    reg = get_state(app).registry
    if dot:
        click.echo("digraph modules {")
        for n in reg.order:
            style = ' [style=dashed]' if reg[n].auto_install else ""
            click.echo(f'  "{n}"{style};')
            for d in reg[n].depends:
                click.echo(f'  "{n}" -> "{d}";')
        click.echo("}")
        return
    for n in reg.order:
        bridge = " (auto_install)" if reg[n].auto_install else ""
        click.echo(f"{n}{bridge} -> {', '.join(reg[n].depends) or '(none)'}")


@module.command("revision", help="Create a migration in a module's branch (module authors).")
@click.argument("name")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True, help="Diff the module's models with the database.")
@with_app
def module_revision(app: Flask, name: str, message: str, autogenerate: bool) -> None:
    from alembic import command

    from core.addons import migrations
    from core.db import db as _db
    from core.db import metadata

    reg = get_state(app).registry
    if name == migrations.CORE_BRANCH:
        vpath = migrations.CORE_MIGRATIONS / "versions"
        tables = {t for t, tab in metadata.tables.items() if "erp_module" not in tab.info}
    else:
        m = reg[name]
        vpath = m.path / "migrations"
        vpath.mkdir(exist_ok=True)
        tables = {t for t, tab in metadata.tables.items() if tab.info.get("erp_module") == name}
    first = not migrations.has_branch(reg, name)
    with _db.engine.connect() as conn:
        cfg = migrations.make_config(reg, conn)
        if first and name != migrations.CORE_BRANCH:
            locs = cfg.get_main_option("version_locations") or ""
            cfg.set_main_option("version_locations", locs + os.pathsep + str(vpath))
        cfg.attributes["include_tables"] = tables
        script = command.revision(
            cfg,
            message=message,
            autogenerate=autogenerate,
            head="base" if first else f"{name}@head",
            branch_label=name if first else None,
            version_path=str(vpath),
        )
    path = script.path if script is not None and not isinstance(script, list) else vpath
    click.echo(f"created {path}")


# -- demo ---------------------------------------------------------------------------------
@erp.group(help="Demo data.")
def demo() -> None:
    pass


@demo.command("load", help="Load the demo data of every installed module (idempotent).")
@with_app
def demo_load(app: Flask) -> None:
    done = installer_for(app).load_demo()
    click.echo(f"demo data loaded: {', '.join(done) or 'no installed module'}")


def demo_username(role: str, index: int) -> str:
    slug = "".join(c if c.isalnum() and c.isascii() else "_" for c in role.lower()).strip("_")
    return f"demo_{slug}" if slug else f"demo_role{index}"


def demo_logins(registry: Any, names: Any, public_role: str = "Public") -> list[dict[str, Any]]:
    """The demo logins of modules ``names`` (what ``erp demo users`` creates), in install
    order: each module's ``demo/users.yaml`` entries (``_module`` added), then one generic
    user for every other role a manifest declares. Reads files only (no database)."""
    import yaml

    entries: list[dict[str, Any]] = []
    roles: list[str] = []
    for name in registry.sort(names):
        m = registry[name]
        roles.extend(r for r in m.roles if r not in roles)
        users_file = m.path / "demo" / "users.yaml"
        if users_file.is_file():
            for entry in yaml.safe_load(users_file.read_text(encoding="utf-8")) or []:
                entries.append({**entry, "_module": name})
    # the anonymous role (Public) gets permissions from manifests but never a login
    covered = {e["role"] for e in entries} | {public_role}
    for i, role in enumerate(roles, start=1):
        if role not in covered:
            entries.append({"username": demo_username(role, i), "role": role})
    return entries


@demo.command("users", help="Create the demo users of the installed modules; print logins.")
@click.option("--password", default="demo12345", show_default=True)
@click.option("--admin-password", default=None, help="Printed for the admin line only.")
@with_app
def demo_users(app: Flask, password: str, admin_password: str | None) -> None:
    """Users listed in each installed module's ``demo/users.yaml`` (username, role, and an
    organisation external id ``org`` or a region code ``region``), plus one generic user
    for every other role a manifest declares."""
    from sqlalchemy import select

    from core.db import db as _db
    from core.models import ModelData, Organization

    inst = installer_for(app)
    entries = demo_logins(inst.registry, inst.installed(),
                          app.config.get("AUTH_ROLE_PUBLIC", "Public"))
    click.echo("demo logins / 演示账号:")
    click.echo(f"  {'role':16} {'username':16} {'password':12} organisation / region")
    admin = app.config["AUTH_ROLE_ADMIN"]
    click.echo(f"  {admin:16} {'admin':16} {admin_password or '(see db init)':12} 平台管理员")
    for e in entries:
        org_id = None
        where = e.get("region") or ""
        if e.get("org"):
            module, _, xmlid = str(e["org"]).rpartition(".")
            res_id = _db.session.execute(
                select(ModelData.res_id).where(
                    ModelData.module == (module or e["_module"]), ModelData.name == xmlid
                )
            ).scalar()
            org = _db.session.get(Organization, res_id) if res_id is not None else None
            if org is None:
                raise CliError(f"demo user {e['username']!r}: unknown organisation {e['org']!r} "
                               "(load the demo data first: erp demo load)")
            org_id, where = org.id, org.name
        _ensure_user(app, e["username"], password, e["role"],
                     email=f"{e['username']}@demo.example.gov.cn",
                     first_name=e.get("first_name") or e["role"],
                     last_name=e.get("last_name") or "演示", region=e.get("region"),
                     org_id=org_id)
        click.echo(f"  {e['role']:16} {e['username']:16} {password:12} {where}")


# -- user ---------------------------------------------------------------------------------
@erp.group(help="Users.")
def user() -> None:
    pass


@user.command("create", help="Create a user with a role.")
@click.option("--username", required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--role", required=True, help="Role name, e.g. Admin.")
@click.option("--email", default=None)
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.option("--region", default=None, help="The user's region (6-digit code).")
@click.option("--org", "org_code", default=None, help="Credit code of the user's organisation.")
@with_app
def user_create(app: Flask, username: str, password: str, role: str, email: str | None,
                first_name: str, last_name: str, region: str | None,
                org_code: str | None) -> None:
    created = _ensure_user(app, username, password, role,
                           email=email or f"{username}@example.gov.cn",
                           first_name=first_name or username, last_name=last_name,
                           region=region, org_code=org_code)
    if not created:
        raise CliError(f"user {username!r} already exists")
    click.echo(f"user {username!r} created with role {role!r}")


# -- tenant -------------------------------------------------------------------------------
@erp.group(help="Per-region enablement of installed modules (REGION: 6-digit code).")
def tenant() -> None:
    pass


def _enablement(app: Flask, fn: Callable[..., Any]) -> Any:
    from core.tenancy import Enablement

    inst = installer_for(app)
    return inst.transaction(
        lambda conn: fn(Enablement(conn, inst.registry, inst.installed(conn)))
    )


@tenant.command("enable", help="Enable modules (and their dependencies) for a region.")
@click.argument("region")
@click.argument("modules", nargs=-1, required=True)
@with_app
def tenant_enable(app: Flask, region: str, modules: tuple[str, ...]) -> None:
    if modules == ("all",):
        inst = installer_for(app)
        modules = tuple(
            n for n in inst.registry.sort(inst.installed())
            if inst.registry[n].depends or not inst.registry[n].auto_install
        )
    done = _enablement(app, lambda en: en.enable(region, modules, actor="cli"))
    click.echo(f"enabled for {region}: {', '.join(done)}" if done else
               f"already enabled for {region}")


@tenant.command("disable", help="Disable a module for a region (data is kept).")
@click.argument("region")
@click.argument("module")
@click.option("--cascade", is_flag=True, help="Also disable the modules that depend on it.")
@with_app
def tenant_disable(app: Flask, region: str, module: str, cascade: bool) -> None:
    change = _enablement(app, lambda en: en.disable(region, module, cascade=cascade, actor="cli"))
    click.echo("disabled: " + ", ".join(f"{m} ({c})" for c, m in change.disabled))


@tenant.command("modules", help="The installed modules and their state for a region.")
@click.argument("region")
@click.option("--json", "as_json", is_flag=True)
@with_app
def tenant_modules(app: Flask, region: str, as_json: bool) -> None:
    from core.tenancy import Enablement

    inst = installer_for(app)
    with inst.engine.connect() as conn:
        rows = Enablement(conn, inst.registry, inst.installed(conn)).modules(region)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for r in rows:
        state = "on" if r["enabled"] else "off"
        src = f" (inherited from {r['inherited_from']})" if r["inherited_from"] else ""
        click.echo(f"{r['name']:28} {state}{src}")


# -- serve --------------------------------------------------------------------------------
@erp.command("serve", help="Serve the platform (gunicorn on Linux).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=None, type=int, help="Default: config/gunicorn.conf.py.")
def serve(host: str, port: int, workers: int | None) -> None:
    if platform.system() == "Linux":
        conf = os.path.join(os.path.dirname(os.path.dirname(__file__)), "config", "gunicorn.conf.py")
        argv = [sys.executable, "-m", "gunicorn", "-c", conf, "--bind", f"{host}:{port}"]
        if workers:
            argv += ["--workers", str(workers)]
        argv.append("core.wsgi:app")
        os.execv(sys.executable, argv)
    from core.app import create_app  # pragma: no cover - non-Linux development

    create_app().run(host=host, port=port)


# -- jobs ---------------------------------------------------------------------------------
@erp.command("worker", help="Run the job runner: every declared periodic job on its schedule, "
             "and the runs queued from the admin page (Ctrl-C or SIGINT stops it gracefully; "
             "SIGTERM at once).")
@click.option("--workers", default=None, type=int,
              help="Worker threads (default ERP_JOBS_WORKERS, 2).")
@click.option("--no-periodic", is_flag=True,
              help="Do not schedule periodic jobs (extra workers beside one that does).")
def worker(workers: int | None, no_periodic: bool) -> None:
    import signal

    # started in the background by a script, SIGINT is ignored until Huey's consumer takes
    # it: take it before the app is built, so a stop during boot is not lost
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _worker(workers, no_periodic)


@with_app
def _worker(app: Flask, workers: int | None, no_periodic: bool) -> None:
    import logging

    from core.worker import run_worker

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    count = workers if workers is not None else int(app.config.get("ERP_JOBS_WORKERS", 2))
    if count < 1:
        raise CliError("--workers must be at least 1")
    run_worker(app, workers=count, periodic=not no_periodic)


@erp.group(help="Periodic jobs declared by the modules (core.jobs).")
def jobs() -> None:
    pass


@jobs.command("list", help="Every job with its schedule and its last run (--json: times in UTC).")
@click.option("--json", "as_json", is_flag=True)
@with_app
def jobs_list(app: Flask, as_json: bool) -> None:
    from core.worker import job_rows

    rows = job_rows(app)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    from datetime import timedelta

    for r in rows:
        at = r["last_finished_at"]
        last = r["last_text"] + (f"（{at + timedelta(hours=8):%Y-%m-%d %H:%M} 北京时间）"
                                 if at else "")
        click.echo(f"{r['name']:36} {r['schedule']:18} {r['installed_text']:6} {last}")


@jobs.command("run", help="Run one job now, here (its lock, commit or rollback, recorded).")
@click.argument("name")
@with_app
def jobs_run(app: Flask, name: str) -> None:
    from core.worker import UnknownJob, run_job

    try:
        outcome = run_job(app, name, trigger="manual")
    except UnknownJob as exc:
        raise CliError(str(exc)) from None
    if outcome.status == "failed":
        raise CliError(f"job {name} failed (rolled back): {outcome.error}")
    if outcome.status == "not_installed":
        raise CliError(f"job {name}: its module is not installed")
    if outcome.status == "locked":
        raise CliError(f"job {name} is running elsewhere; nothing was done")
    click.echo(f"{name}: {outcome.text()}")


# -- calendar -----------------------------------------------------------------------------
@erp.group(help="Working-day calendar (official holidays + the admin's holiday table).")
def calendar() -> None:
    pass


def _parse_day(value: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CliError(f"invalid date {value!r} (use YYYY-MM-DD)") from None


@calendar.command("add-workdays", context_settings={"ignore_unknown_options": True},
                  help="Print the date N working days after DATE (ISO; N may be negative).")
@click.argument("day", metavar="DATE")
@click.argument("n", metavar="N")
@with_app
def calendar_add_workdays(app: Flask, day: str, n: str) -> None:
    from core.services import workdays

    try:
        count = int(n)
    except ValueError:
        raise CliError(f"invalid number of working days {n!r} (use an integer)") from None
    click.echo(workdays.add_working_days(_parse_day(day), count).isoformat())


@calendar.command("is-workday", help="Print 'yes' or 'no': is DATE a working day?")
@click.argument("day", metavar="DATE")
@with_app
def calendar_is_workday(app: Flask, day: str) -> None:
    from core.services import workdays

    click.echo("yes" if workdays.is_working_day(_parse_day(day)) else "no")


@calendar.command("between", help="Print the working days in (START, END].")
@click.argument("start", metavar="START")
@click.argument("end", metavar="END")
@with_app
def calendar_between(app: Flask, start: str, end: str) -> None:
    from core.services import workdays

    click.echo(str(workdays.working_days_between(_parse_day(start), _parse_day(end))))


def main() -> None:
    erp(prog_name="erp")


if __name__ == "__main__":  # python -m core.cli
    main()
