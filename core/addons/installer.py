"""Platform install, upgrade, uninstall and purge of add-on modules.

Every operation runs in ONE database transaction: migrations (Alembic, one branch per
module), data files, role sync, hooks and the module table are all committed together or
not at all. On PostgreSQL DDL is transactional; on SQLite ``core.db`` makes it so. A
failure anywhere rolls the whole operation back and raises :class:`AddonError` with one
line saying which module, which step, and why.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from core.addons import migrations
from core.addons.data import DataLoader, LoadResult
from core.addons.manifest import AddonError, parse_version
from core.addons.registry import AddonRegistry
from core.addons.security import ensure_permissions, remove_module_grants, sync_module_roles
from core.models import ModelData, ModuleRecord, Signal
from core.services import audit

log = logging.getLogger(__name__)
MOD = ModuleRecord.__table__
MD = ModelData.__table__
SIG = Signal.__table__
MODULES_SIGNAL = "modules"
#: seed data of the core, loaded (updated in place) by every ``erp db init``
CORE_DATA = [Path(__file__).resolve().parent.parent / "data" / "erp_region.csv"]

Pair = tuple[str, str]


@dataclass
class ModuleInfo:
    name: str
    version: str | None  # in code (None: installed but its code is gone)
    installed_version: str | None
    state: str  # installed / uninstalled / to_upgrade
    depends: list[str]
    auto_install: bool
    summary: str = ""
    category: str = ""
    application: bool = False
    installable: bool = True
    dependents: list[str] = field(default_factory=list)
    demo: bool = False
    missing_code: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class HookContext:
    """What ``post_install`` / ``pre_uninstall`` hooks receive."""

    module: str
    connection: Connection
    session: Session
    registry: AddonRegistry


@dataclass
class UninstallPlan:
    module: str
    remove: list[str]  # modules uninstalled (bridges first, the module last)
    blockers: list[str]  # installed modules that depend on it (refusal)


@dataclass
class PurgeReport:
    module: str
    tables: list[tuple[str, int]]  # tables dropped, with their row counts
    records: int  # rows in other tables owned by the module (external ids)
    blockers: list[str]


def _one_line(exc: BaseException) -> str:
    msg = str(exc).strip() or type(exc).__name__
    return " ".join(msg.split())


#: what every actor role (every role a module declares) may do for its own account: see
#: 用户信息 and change its own password (issue 12 finding 9)
SELF_SERVICE_GRANTS = (
    "can_userinfo on ErpUserDBModelView",
    "resetmypassword on ErpUserDBModelView",
    "userinfoedit on ErpUserDBModelView",
    "can_this_form_get on ResetMyPasswordView",
    "can_this_form_post on ResetMyPasswordView",
    "can_this_form_get on UserInfoEditView",
    "can_this_form_post on UserInfoEditView",
)


def with_self_service(roles: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """A manifest's roles, each with the self-service grants added."""
    return {role: (*grants, *(g for g in SELF_SERVICE_GRANTS if g not in grants))
            for role, grants in roles.items()}


class Installer:
    def __init__(
        self,
        engine: Engine,
        registry: AddonRegistry,
        *,
        module_pairs: Callable[[str], Iterable[Pair]] | None = None,
        core_pairs: Callable[[], Iterable[Pair]] | None = None,
        admin_role: str = "Admin",
        on_change: Callable[[], None] | None = None,
        lock_timeout: float = 30.0,
        statement_timeout: float = 900.0,
    ) -> None:
        self.engine = engine
        #: seconds (PostgreSQL) an operation waits for a lock (the platform lock, a table
        #: lock of a migration) and a single statement may run, before it fails
        self.lock_timeout = lock_timeout
        self.statement_timeout = statement_timeout
        self.registry = registry
        self.module_pairs = module_pairs or (lambda name: ())
        self.core_pairs = core_pairs or (lambda: ())
        self.admin_role = admin_role
        self.on_change = on_change
        self.messages: list[str] = []

    # -- state --------------------------------------------------------------------------
    def _records(self, conn: Connection) -> dict[str, Any]:
        if not inspect(conn).has_table(MOD.name):
            raise AddonError("the database is not initialised: run 'erp db init' first")
        return {r.name: r for r in conn.execute(select(MOD))}

    def installed(self, conn: Connection | None = None) -> dict[str, str]:
        """name -> installed version."""
        if conn is None:
            with self.engine.connect() as c:
                return self.installed(c)
        return {
            n: r.installed_version for n, r in self._records(conn).items() if r.state == "installed"
        }

    def list(self) -> list[ModuleInfo]:
        with self.engine.connect() as conn:
            recs = self._records(conn)
        out: list[ModuleInfo] = []
        for name in self.registry.order:
            m = self.registry[name]
            rec = recs.get(name)
            installed = rec is not None and rec.state == "installed"
            state = "uninstalled"
            if installed:
                state = "installed"
                if rec.installed_version and m.version_tuple > parse_version(rec.installed_version):
                    state = "to_upgrade"
            out.append(
                ModuleInfo(
                    name=name,
                    version=m.version,
                    installed_version=rec.installed_version if installed else None,
                    state=state,
                    depends=list(m.depends),
                    auto_install=m.auto_install,
                    summary=m.summary,
                    category=m.category,
                    application=m.application,
                    installable=m.installable,
                    dependents=self.registry.dependents(name),
                    demo=bool(rec.demo) if rec is not None else False,
                )
            )
        for name in sorted(set(recs) - set(self.registry.manifests)):
            rec = recs[name]
            if rec.state == "installed":
                out.append(
                    ModuleInfo(
                        name=name,
                        version=None,
                        installed_version=rec.installed_version,
                        state="installed",
                        depends=[],
                        auto_install=False,
                        missing_code=True,
                    )
                )
        return out

    # -- plumbing ---------------------------------------------------------------------------
    def transaction(self, fn: Callable[[Connection], Any]) -> Any:
        """Run ``fn(conn)`` as one platform operation: locked, atomic, signalled to workers."""
        return self._run(fn)

    def _run(self, fn: Callable[[Connection], Any]) -> Any:
        from core.db import sqlite_writer_elsewhere

        with sqlite_writer_elsewhere():
            return self._run_locked(fn)

    def _run_locked(self, fn: Callable[[Connection], Any]) -> Any:
        # SQLite: the operation holds the write lock from its start (BEGIN IMMEDIATE)
        conn = self.engine.connect().execution_options(sqlite_immediate=True)
        trans = conn.begin()
        try:
            if conn.dialect.name == "postgresql":
                self._pg_limits(conn)
                if inspect(conn).has_table(SIG.name):
                    self._pg_platform_lock(conn)
            result = fn(conn)
            conn.execute(
                update(SIG).where(SIG.c.name == MODULES_SIGNAL).values(value=SIG.c.value + 1)
            )
            trans.commit()
        except BaseException:
            trans.rollback()
            raise
        finally:
            conn.close()
        if self.on_change is not None:
            self.on_change()
        return result

    def _pg_limits(self, conn: Connection) -> None:
        """Bounded waits for this operation's transaction (PostgreSQL): never hang forever."""
        import os
        import socket
        import sys

        who = f"erp installer pid {os.getpid()} on {socket.gethostname()}: " + " ".join(
            os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:6])
        )
        conn.execute(text("SELECT set_config('application_name', :v, true)"), {"v": who[:63]})
        conn.execute(text("SELECT set_config('lock_timeout', :v, true)"),
                     {"v": f"{int(self.lock_timeout * 1000)}ms"})
        conn.execute(text("SELECT set_config('statement_timeout', :v, true)"),
                     {"v": f"{int(self.statement_timeout * 1000)}ms"})

    def _pg_platform_lock(self, conn: Connection) -> None:
        """Serialise platform operations across processes; name the holder when it times out."""
        from sqlalchemy.exc import OperationalError

        holders = self._pg_lock_holders(conn)
        nested = conn.begin_nested()
        try:
            conn.execute(
                select(SIG.c.value).where(SIG.c.name == MODULES_SIGNAL).with_for_update()
            )
        except OperationalError as exc:
            nested.rollback()
            if getattr(exc.orig, "sqlstate", None) not in ("55P03", "57014"):
                raise
            holders = holders or self._pg_lock_holders(conn)
            raise AddonError(
                f"another platform operation holds the lock and did not finish within "
                f"{self.lock_timeout:g} s: {holders or 'holder unknown (it has just ended)'}; "
                "try again when it has finished"
            ) from None
        nested.commit()

    @staticmethod
    def _pg_lock_holders(conn: Connection) -> str:
        """Who holds (or waits for) the platform lock: the other installer sessions."""
        rows = conn.execute(text(
            "SELECT pid, application_name, client_addr, usename, xact_start, state, "
            "left(query, 80) AS query FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND datname = current_database() "
            "AND (application_name LIKE 'erp installer%' OR pid IN ("
            "  SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "  WHERE c.relname = :sig AND l.mode = 'RowShareLock' AND l.granted))"
            "ORDER BY xact_start"
        ), {"sig": SIG.name}).all()
        return "; ".join(
            f"pid {r.pid} ({r.application_name or 'no application name'}, user {r.usename}"
            f"{', from ' + str(r.client_addr) if r.client_addr else ''}, "
            f"transaction started {r.xact_start:%Y-%m-%d %H:%M:%S %Z}, {r.state})"
            for r in rows if r.xact_start is not None
        )

    def _step(self, module: str, step: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except AddonError as exc:
            raise AddonError(f"{module}: {step} failed: {_one_line(exc)}") from exc
        except Exception as exc:
            raise AddonError(
                f"{module}: {step} failed: {type(exc).__name__}: {_one_line(exc)}"
            ) from exc

    def _hook(self, conn: Connection, name: str, hook: str | None) -> None:
        fn = self.registry.hook(name, hook)
        if fn is None:
            return
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            fn(HookContext(module=name, connection=conn, session=session, registry=self.registry))
            session.commit()  # releases the savepoint; the operation's transaction stays open
        finally:
            session.close()

    def _check_external(self, name: str) -> None:
        m = self.registry[name]
        for pkg in m.external_dependencies.get("python", ()):
            if importlib.util.find_spec(pkg) is None:
                raise AddonError(
                    f"{m.manifest_file}: external Python dependency {pkg!r} is not installed"
                )
        for binary in m.external_dependencies.get("bin", ()):
            if shutil.which(binary) is None:
                raise AddonError(f"{m.manifest_file}: external program {binary!r} is not on PATH")

    def _sync_perms(self, conn: Connection, names: Iterable[str]) -> None:
        pairs: set[Pair] = set(self.core_pairs())
        for n in names:
            pairs.update(self.module_pairs(n))
        ensure_permissions(conn, pairs, self.admin_role)

    def _load(self, conn: Connection, name: str, *, demo: bool, upgrade: bool) -> LoadResult:
        m = self.registry[name]
        loader = DataLoader(conn, name)
        for rel in m.data:
            self._step(name, f"data file {rel}", lambda rel=rel: loader.load_file(m.path / rel))
        if demo:
            for rel in m.demo:
                self._step(
                    name, f"demo file {rel}", lambda rel=rel: loader.load_file(m.path / rel, demo=True)
                )
        if upgrade:
            self._step(name, "removing records no longer shipped",
                       lambda: loader.remove_stale(include_demo=demo))
        return loader.result

    # -- install ------------------------------------------------------------------------
    def plan_install(self, names: Iterable[str], conn: Connection | None = None) -> list[str]:
        """The modules an install of ``names`` installs: dependencies and bridges included."""
        names = list(names)
        for n in names:
            self.registry[n]  # unknown module -> AddonError
        installed = set(self.installed(conn))
        plan: set[str] = set(self.registry.closure(names)) - installed
        for n in plan:
            if not self.registry[n].installable:
                raise AddonError(f"{self.registry[n].manifest_file}: module {n!r} is not installable")
        while True:
            bridges = [b for b in self.registry.bridges_ready(installed | plan) if b not in plan]
            if not bridges:
                break
            plan.update(bridges)
        return self.registry.sort(plan)

    def install(self, names: Iterable[str], *, demo: bool = False) -> list[str]:
        names = list(names)

        def op(conn: Connection) -> list[str]:
            plan = self.plan_install(names, conn)
            recs = self._records(conn)
            if demo:  # demo records of new modules may refer to their dependencies' demo
                for dep in self.registry.closure(names):
                    rec = recs.get(dep)
                    if dep not in plan and rec is not None and rec.state == "installed" and not rec.demo:
                        self._load_demo(conn, dep)
            for name in plan:
                self._install_one(conn, name, demo=demo, exists=name in recs)
            return plan

        done = self._run(op)
        self.messages.append(
            f"installed: {', '.join(done)}" if done else "nothing to install"
        )
        return done

    def _install_one(
        self, conn: Connection, name: str, *, demo: bool, exists: bool, upgrade: bool = False
    ) -> None:
        """Install (or, with ``upgrade``, upgrade) one module on the operation's connection.

        ``exists``: the module has a row (installed before, maybe uninstalled since), so its
        data files update the records they shipped then. ``post_install`` runs on install
        and re-install, never on upgrade.
        """
        m = self.registry[name]
        before = audit.module_snapshot(conn, name)
        self._step(name, "checking external dependencies", lambda: self._check_external(name))
        self._step(name, "import", lambda: self.registry.import_addon(name))
        if m.migrations_dir is not None:
            self._step(name, "migration check", lambda: migrations.check_branch(self.registry, name))
            self._step(name, "migration", lambda: migrations.upgrade(conn, self.registry, name))
        self._load(conn, name, demo=demo, upgrade=exists)
        self._step(name, "permissions", lambda: self._sync_perms(conn, [name]))
        self._step(
            name,
            "roles",
            lambda: sync_module_roles(
                conn, name, with_self_service(m.roles), self.module_pairs(name),
                str(m.manifest_file)
            ),
        )
        if not upgrade:
            self._step(name, "post_install hook", lambda: self._hook(conn, name, m.post_install))
        now = dt.datetime.now()
        values = {"state": "installed", "installed_version": m.version, "updated_at": now}
        if not upgrade:
            values["installed_at"] = now
        if demo:
            values["demo"] = True
        if exists:
            conn.execute(update(MOD).where(MOD.c.name == name).values(**values))
        else:
            conn.execute(MOD.insert().values(name=name, **values))
        audit.record(conn, action="upgrade_module" if upgrade else "install_module",
                     object_type="erp_module", object_id=name, module=name, before=before,
                     after=audit.module_snapshot(conn, name))

    # -- upgrade ------------------------------------------------------------------------
    def upgrade(self, names: Iterable[str] | None = None) -> list[str]:
        """Upgrade installed modules (``None``: every installed module), in dependency order."""

        def op(conn: Connection) -> list[str]:
            recs = self._records(conn)
            installed = {n for n, r in recs.items() if r.state == "installed"}
            if names is None:
                targets = self.registry.sort(installed & set(self.registry.manifests))
            else:
                targets = []
                for n in names:
                    self.registry[n]
                    if n not in installed:
                        raise AddonError(f"module {n!r} is not installed")
                    targets.append(n)
                targets = self.registry.sort(targets)
            for name in targets:
                m = self.registry[name]
                rec = recs[name]
                if rec.installed_version and m.version_tuple < parse_version(rec.installed_version):
                    raise AddonError(
                        f"{m.manifest_file}: code version {m.version} is older than the "
                        f"installed version {rec.installed_version}; downgrades are not supported"
                    )
                self._install_one(conn, name, demo=bool(rec.demo), exists=True, upgrade=True)
            # new bridges may now be ready
            for bridge in self.plan_install([], conn):
                self._install_one(conn, bridge, demo=False, exists=bridge in recs)
                targets.append(bridge)
            return targets

        done = self._run(op)
        self.messages.append(f"upgraded: {', '.join(done)}" if done else "nothing to upgrade")
        return done

    # -- demo -----------------------------------------------------------------------------
    def _load_demo(self, conn: Connection, name: str) -> None:
        m = self.registry[name]
        loader = DataLoader(conn, name)
        for rel in m.demo:
            self._step(
                name, f"demo file {rel}", lambda rel=rel: loader.load_file(m.path / rel, demo=True)
            )
        conn.execute(update(MOD).where(MOD.c.name == name).values(demo=True))

    def load_demo(self, names: Iterable[str] | None = None) -> list[str]:
        def op(conn: Connection) -> list[str]:
            installed = set(self.installed(conn))
            targets = self.registry.sort(installed if names is None else set(names))
            for name in targets:
                if name not in installed:
                    raise AddonError(f"module {name!r} is not installed")
                self._load_demo(conn, name)
            return targets

        return self._run(op)

    # -- uninstall ------------------------------------------------------------------------
    def plan_uninstall(self, name: str, conn: Connection | None = None) -> UninstallPlan:
        installed = set(self.installed(conn))
        if name not in installed:
            raise AddonError(f"module {name!r} is not installed")
        deps = [d for d in self.registry.dependents(name) if d in installed] if (
            name in self.registry
        ) else []
        blockers = [d for d in deps if not self.registry[d].auto_install]
        bridges = [d for d in deps if self.registry[d].auto_install]
        return UninstallPlan(name, list(reversed(bridges)) + [name], blockers)

    def uninstall(self, name: str) -> list[str]:
        def op(conn: Connection) -> list[str]:
            plan = self.plan_uninstall(name, conn)
            if plan.blockers:
                raise AddonError(
                    f"cannot uninstall {name!r}: installed modules depend on it: "
                    + ", ".join(plan.blockers)
                )
            for mod in plan.remove:
                self._uninstall_one(conn, mod)
            return plan.remove

        done = self._run(op)
        self.messages.append(f"uninstalled (data kept): {', '.join(done)}")
        return done

    def _uninstall_one(self, conn: Connection, name: str) -> None:
        before = audit.module_snapshot(conn, name)
        if name in self.registry:
            hook = self.registry[name].pre_uninstall
            self._step(name, "pre_uninstall hook", lambda: self._hook(conn, name, hook))
        self._step(name, "removing role grants", lambda: remove_module_grants(conn, name))
        conn.execute(
            update(MOD)
            .where(MOD.c.name == name)
            .values(state="uninstalled", installed_version=None, updated_at=dt.datetime.now())
        )
        audit.record(conn, action="uninstall_module", object_type="erp_module", object_id=name,
                     module=name, before=before, after=audit.module_snapshot(conn, name))

    # -- purge ----------------------------------------------------------------------------
    def _tables(self, conn: Connection) -> set[str]:
        return set(inspect(conn).get_table_names())

    def _count(self, conn: Connection, table: str) -> int:
        q = conn.dialect.identifier_preparer.quote(table)
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {q}")).scalar_one())

    def _purge_steps(self, conn: Connection, name: str) -> PurgeReport:
        recs = self._records(conn)
        if name not in recs and not (
            name in self.registry and migrations.branch_is_applied(conn, self.registry, name)
        ):
            raise AddonError(f"module {name!r} has no data to purge")
        blockers = []
        if name in self.registry:
            for dep in self.registry.dependents(name):
                rec = recs.get(dep)
                installed_user = (
                    rec is not None and rec.state == "installed" and not self.registry[dep].auto_install
                )
                if installed_user or migrations.branch_is_applied(conn, self.registry, dep):
                    blockers.append(dep)
        before = self._tables(conn)
        counts = {t: self._count(conn, t) for t in sorted(before)}
        if blockers:
            return PurgeReport(name, [], 0, blockers)
        if name in recs and recs[name].state == "installed":
            plan = self.plan_uninstall(name, conn)
            for mod in plan.remove:
                self._uninstall_one(conn, mod)
        if name in self.registry and migrations.branch_is_applied(conn, self.registry, name):
            self._step(
                name, "migration downgrade",
                lambda: migrations.downgrade_to_base(conn, self.registry, name),
            )
        dropped = sorted(before - self._tables(conn))
        # rows the module shipped into tables that survive
        loader = DataLoader(conn, name)
        owned = 0
        pending = []
        for xmlid, (table_name, res_id, _nu, _demo) in loader.known.items():
            if table_name in dropped:
                continue
            owned += 1
            pending.append((xmlid, table_name, res_id))
        # rows may refer to each other (a bid to its package to its project): delete what
        # can go, then retry the rest until a round deletes nothing
        while pending:
            kept = []
            for xmlid, table_name, res_id in pending:
                try:
                    table = loader.table(table_name, f"{name}.{xmlid}")
                    with conn.begin_nested():
                        conn.execute(delete(table).where(table.c.id == res_id))
                except Exception as exc:  # still referenced (for now): keep the row
                    kept.append((xmlid, table_name, res_id, exc))
            if len(kept) == len(pending):
                for xmlid, _t, _r, exc in kept:
                    log.warning("purge %s: kept %s.%s: %s", name, name, xmlid, exc)
                break
            pending = [k[:3] for k in kept]
        conn.execute(delete(MD).where(MD.c.module == name))
        before = audit.module_snapshot(conn, name)
        conn.execute(delete(MOD).where(MOD.c.name == name))
        audit.record(conn, action="purge_module", object_type="erp_module", object_id=name,
                     module=name, before=before,
                     after={"dropped_tables": {t: counts[t] for t in dropped}, "records": owned})
        return PurgeReport(name, [(t, counts[t]) for t in dropped], owned, [])

    def purge_report(self, name: str) -> PurgeReport:
        """What a purge would drop, found by doing it and rolling back (a true dry run)."""
        from core.db import sqlite_writer_elsewhere

        with sqlite_writer_elsewhere():
            conn = self.engine.connect().execution_options(sqlite_immediate=True)
            trans = conn.begin()
            try:
                return self._purge_steps(conn, name)
            finally:
                trans.rollback()
                conn.close()

    def purge(self, name: str) -> PurgeReport:
        def op(conn: Connection) -> PurgeReport:
            report = self._purge_steps(conn, name)
            if report.blockers:
                raise AddonError(
                    f"cannot purge {name!r}: modules whose tables depend on it still have "
                    f"data: {', '.join(report.blockers)} (purge them first)"
                )
            return report

        return self._run(op)

    # -- database initialisation ----------------------------------------------------------
    def init_core(self) -> None:
        """Create/upgrade the core schema and sync the core permissions (idempotent)."""

        def op(conn: Connection) -> None:
            migrations.upgrade(conn, self.registry, migrations.CORE_BRANCH)
            core_data = DataLoader(conn, "core")
            for path in CORE_DATA:
                self._step("core", f"data file {path.name}", lambda p=path: core_data.load_file(p))
            installed = [
                r.name
                for r in conn.execute(select(MOD.c.name).where(MOD.c.state == "installed"))
            ]
            self._sync_perms(conn, [n for n in installed if n in self.registry])
            # auto-install modules without unmet dependencies (as Odoo does for bridges)
            recs = self._records(conn)
            for name in self.plan_install([], conn):
                self._install_one(conn, name, demo=False, exists=name in recs)

        self._run(op)
