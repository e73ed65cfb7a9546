"""Alembic with one branch per module.

The core schema is the branch ``core`` (``core/migrations/versions``); every add-on with a
``migrations/`` folder is the branch named after the module (its first revision carries
``branch_labels = ("<module>",)``). All branches share one ``alembic_version`` table,
one row per branch head. The configuration is built in code: there is no alembic.ini.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from core.addons.manifest import AddonError
from core.addons.registry import AddonRegistry

CORE_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
CORE_BRANCH = "core"


def make_config(registry: AddonRegistry, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(CORE_MIGRATIONS))
    locations = [str(CORE_MIGRATIONS / "versions")]
    for name in registry.order:
        mdir = registry[name].migrations_dir
        if mdir is not None:
            locations.append(str(mdir))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(locations))
    cfg.attributes["registry"] = registry
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_directory(registry: AddonRegistry, *, fresh: bool = False) -> ScriptDirectory:
    """The revisions of every branch, parsed once per registry (migration files are code:
    they change only with a deploy, which builds a new registry)."""
    cached = getattr(registry, "_alembic_script", None)
    if cached is None or fresh:
        cached = ScriptDirectory.from_config(make_config(registry))
        registry._alembic_script = cached  # type: ignore[attr-defined]
    return cached


def _run(conn: Connection, registry: AddonRegistry, target: str, upgrade: bool) -> None:
    """``alembic upgrade/downgrade target`` on ``conn``, reusing the parsed revisions."""
    script = script_directory(registry)
    cfg = make_config(registry, conn)

    def fn(rev, context):
        if upgrade:
            return script._upgrade_revs(target, rev)
        return script._downgrade_revs(target, rev)

    with EnvironmentContext(
        cfg, script, fn=fn, as_sql=False, starting_rev=None, destination_rev=target
    ):
        script.run_env()


def has_branch(registry: AddonRegistry, name: str) -> bool:
    if name != CORE_BRANCH and registry[name].migrations_dir is None:
        return False
    script = script_directory(registry)
    try:
        return bool(script.get_revisions(f"{name}@head"))
    except Exception:
        return False


def check_branch(registry: AddonRegistry, name: str) -> None:
    """A module with a migrations folder must have exactly one branch labelled with its name."""
    mdir = registry[name].migrations_dir
    if mdir is None:
        return
    script = script_directory(registry)
    try:
        heads = script.get_revisions(f"{name}@head")
    except Exception as exc:
        raise AddonError(
            f"{mdir}: no migration branch labelled {name!r} "
            f"(the first revision needs branch_labels = ({name!r},)): {exc}"
        ) from None
    if len(heads) != 1:
        raise AddonError(f"{mdir}: branch {name!r} has {len(heads)} heads; merge them")


def upgrade(conn: Connection, registry: AddonRegistry, branch: str) -> None:
    _run(conn, registry, f"{branch}@head", upgrade=True)


def downgrade_to_base(conn: Connection, registry: AddonRegistry, branch: str) -> None:
    _run(conn, registry, f"{branch}@base", upgrade=False)


def current_heads(conn: Connection) -> set[str]:
    ctx = MigrationContext.configure(conn)
    return set(ctx.get_current_heads())


def branch_is_applied(conn: Connection, registry: AddonRegistry, branch: str) -> bool:
    """Whether any revision of ``branch`` is recorded in the database."""
    if not inspect(conn).has_table("alembic_version"):
        return False
    heads = current_heads(conn)
    if not heads:
        return False
    script = script_directory(registry)
    try:
        mine = {r.revision for r in script.iterate_revisions(f"{branch}@head", "base")}
        applied = {r.revision for r in script.iterate_revisions(tuple(heads), "base")}
    except Exception:
        return False
    # our base revision applied (directly, or as a dependency of another branch's head)
    own = {r for r in mine if branch in (script.get_revision(r).branch_labels or ())}
    return bool(own & applied)
