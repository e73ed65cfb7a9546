"""The platform's job runner: every periodic job declared with :mod:`core.jobs` runs on Huey.

``erp worker`` starts a Huey consumer: a scheduler thread that enqueues each job when it is
due (:func:`is_due`, checked once a minute) and worker threads that run what is queued. The
queue (the *broker*) is ``ERP_JOBS_BROKER``:

* ``sqlite:///var/jobs.sqlite3`` (the default): Huey's SQLite storage, a file next to the
  platform's database; no server (``./scripts/run`` starts ``erp worker`` beside the web
  server);
* ``redis://127.0.0.1:6379/0`` (production): Huey's Redis storage, shared by every worker
  and machine;
* ``memory://``: in-process (tests).

Every run goes through :func:`run_job`, whoever started it (the worker, ``erp jobs run``,
the admin page): in a Flask app context of its own with the platform (unscoped) session;
commit after the job returns, rollback when it raises; one line in the log; the outcome in
``erp_job`` (:class:`core.models.JobState`), shown on 平台管理 → 定时任务. A lease in that
row (taken and released on a connection of its own, never in the job's transaction) lets
one run of a job at a time, across threads, processes and machines: a second run while one
is going is skipped and says so. A failed job is not retried early; it runs again at its
next period.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import or_, update
from sqlalchemy.engine import Connection, Engine

from core.db import db, sqlite_session_writes
from core.jobs import PeriodicJob, periodic_jobs
from core.models import JobState

log = logging.getLogger("erp.jobs")

__all__ = ["ConfigError", "JobRunner", "Outcome", "STATUS_LABELS", "UnknownJob", "broker_url",
           "get_job", "is_due", "job_rows", "jobs_of", "make_huey", "redacted",
           "release_abandoned", "run_job", "run_worker", "schedule_text"]

#: the platform's time: ``at="02:30"`` is 02:30 China Standard Time (no DST since 1991)
CST = dt.timezone(dt.timedelta(hours=8), "CST")
#: jobs of this pseudo-module belong to core and always run
CORE = "core"
#: seconds a run holds its job's lock at most (a worker killed mid-run frees it then)
DEFAULT_LOCK_SECONDS = 3600
#: longest error text kept in erp_job.last_error
MAX_ERROR = 2000

#: lock tokens of the runs going on in this process (released if the worker stops mid-run)
_active: set[str] = set()
_active_lock = threading.Lock()

STATUS_LABELS = {
    "ok": "成功",
    "failed": "失败",
    "locked": "已跳过：上一次运行尚未结束",
    "not_installed": "已跳过：模块未安装",
    "running": "正在运行",
    None: "尚未运行",
}
TRIGGER_LABELS = {"schedule": "按计划", "manual": "手动"}


class ConfigError(RuntimeError):
    """A job-runner setting that cannot work (the CLI prints it as one line)."""


class UnknownJob(KeyError):
    def __str__(self) -> str:
        return f"unknown job {self.args[0]!r} (erp jobs list shows the jobs)"


@dataclass(frozen=True)
class Outcome:
    """What one call of :func:`run_job` did."""

    name: str
    #: ok, failed, locked (another run holds the lock), not_installed
    status: str
    result: int | None = None
    error: str | None = None
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def text(self) -> str:
        """The outcome in words, e.g. ``成功：处理 3 项，用时 0.12 秒``."""
        label = STATUS_LABELS.get(self.status, self.status)
        if self.status == "ok":
            done = f"处理 {self.result} 项" if self.result is not None else "已完成"
            return f"{label}：{done}，用时 {self.duration_ms / 1000:.2f} 秒"
        if self.status == "failed":
            return f"{label}：{self.error}"
        return label


# -- schedules ------------------------------------------------------------------------------
def _minutes(job: PeriodicJob) -> int:
    assert job.every is not None
    return max(1, math.ceil(job.every.total_seconds() / 60))


def is_due(job: PeriodicJob, at: dt.datetime) -> bool:
    """Whether ``job`` runs in the minute of ``at`` (UTC; naive means UTC).

    ``at="HH:MM"``: that minute of the day, China Standard Time. ``every``: the minutes
    since the epoch divisible by the interval in minutes (``5m``: :00, :05, ...; ``1h``: each
    full hour; ``1d``: 00:00 UTC = 08:00 CST); an interval under a minute runs every minute
    (the scheduler looks once a minute).
    """
    aware = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at
    if job.at is not None:
        local = aware.astimezone(CST)
        return (local.hour, local.minute) == (job.at.hour, job.at.minute)
    return int(aware.timestamp() // 60) % _minutes(job) == 0


def schedule_text(job: PeriodicJob) -> str:
    """The schedule in words: ``每 5 分钟``, ``每小时``, ``每天 02:30（北京时间）``."""
    if job.at is not None:
        return f"每天 {job.at.strftime('%H:%M')}（北京时间）"
    minutes = _minutes(job)
    if minutes % 1440 == 0:
        days = minutes // 1440
        return "每天 08:00（北京时间）" if days == 1 else f"每 {days} 天"
    if minutes % 60 == 0:
        return "每小时" if minutes == 60 else f"每 {minutes // 60} 小时"
    return "每分钟" if minutes == 1 else f"每 {minutes} 分钟"


# -- which jobs, and running one -----------------------------------------------------------
def jobs_of(app: Flask) -> list[PeriodicJob]:
    """The declared jobs of the add-ons this app knows (and core's), by name."""
    registry = app.extensions["erp"].registry
    return [j for j in periodic_jobs() if j.module == CORE or j.module in registry]


def get_job(app: Flask, name: str) -> PeriodicJob:
    for job in jobs_of(app):
        if job.name == name:
            return job
    raise UnknownJob(name)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _writing(engine: Engine) -> Connection:
    conn = engine.connect()
    if conn.dialect.name == "sqlite":
        conn.execution_options(sqlite_immediate=True)
    return conn


def _ensure_row(conn: Connection, job: PeriodicJob) -> None:
    table = JobState.__table__
    values = {"name": job.name, "module": job.module, "failures": 0, "runs": 0}
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        conn.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        conn.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())


def acquire(engine: Engine, job: PeriodicJob, seconds: float) -> str | None:
    """Take the job's lock for at most ``seconds``; its token, or None while another run
    holds it. One UPDATE with the condition in its WHERE: on PostgreSQL the second of two
    racing updates waits for the first and then finds the lock taken; SQLite serialises."""
    token = uuid.uuid4().hex
    now = _utcnow()
    t = JobState.__table__
    with _writing(engine) as conn, conn.begin():
        _ensure_row(conn, job)
        res = conn.execute(
            update(t).where(t.c.name == job.name,
                            or_(t.c.locked_until.is_(None), t.c.locked_until < now))
            .values(run_token=token, locked_until=now + dt.timedelta(seconds=seconds),
                    running_since=now))
    return token if res.rowcount == 1 else None


def _record(engine: Engine, job: PeriodicJob, token: str, outcome: Outcome, trigger: str,
            started: dt.datetime) -> None:
    """Write what the run did and release the lock (only if this run still holds it)."""
    now = _utcnow()
    t = JobState.__table__
    values: dict[str, Any] = {
        "module": job.module, "last_started_at": started, "last_finished_at": now,
        "last_status": outcome.status, "last_result": outcome.result,
        "last_error": outcome.error, "last_duration_ms": outcome.duration_ms,
        "last_trigger": trigger, "runs": t.c.runs + 1,
    }
    if outcome.ok:
        values.update(last_success_at=now, failures=0)
    else:
        values["failures"] = t.c.failures + 1
    with _writing(engine) as conn, conn.begin():
        conn.execute(update(t).where(t.c.name == job.name).values(**values))
        conn.execute(update(t).where(t.c.name == job.name, t.c.run_token == token)
                     .values(run_token=None, locked_until=None, running_since=None))


def _error_text(exc: BaseException) -> str:
    """The error as a sentence for the admin (the traceback is in the worker's log): a
    platform error's own Chinese text; a database error's message without SQL and links."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        orig = getattr(exc, "orig", None)
        detail = " ".join(str(orig if orig is not None else exc).split("\n")[0].split())
        what = "数据库暂时不可用或被锁定" if isinstance(exc, OperationalError) else "数据库拒绝了修改"
        text = f"{what}：{detail}" if detail else what
    else:
        text = " ".join(str(exc).split()) or f"程序错误（{type(exc).__name__}）"
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def run_job(app: Flask, name: str, *, trigger: str = "manual") -> Outcome:
    """Run the job ``name`` once, now, in this thread: the job's lock, an app context and
    a session of its own, commit or rollback, a log line, the outcome recorded."""
    from core.state import get_state
    from core.tenancy import SYSTEM, use_scope

    job = get_job(app, name)
    with app.app_context():
        if job.module != CORE and not get_state(app).is_installed(job.module):
            log.info("job %s skipped: module %s is not installed", name, job.module)
            return Outcome(name, "not_installed")
        engine = db.engine
        seconds = float(app.config.get("ERP_JOBS_LOCK_SECONDS", DEFAULT_LOCK_SECONDS))
        token = acquire(engine, job, seconds)
        if token is None:
            log.info("job %s skipped: another run of it has not finished", name)
            return Outcome(name, "locked")
        with _active_lock:
            _active.add(token)
        started, t0 = _utcnow(), time.monotonic()
        log.info("job %s started (%s)", name, trigger)
        try:
            with use_scope(SYSTEM), sqlite_session_writes():
                result = job.fn(db.session)
                db.session.commit()
        except Exception as exc:
            try:
                db.session.rollback()
            except Exception:  # a dead connection: the database drops the transaction itself
                log.exception("job %s: rollback failed", name)
            ms = int((time.monotonic() - t0) * 1000)
            log.exception("job %s failed after %.2f s (rolled back; it runs again at its "
                          "next period)", name, ms / 1000)
            outcome = Outcome(name, "failed", error=_error_text(exc), duration_ms=ms)
        else:
            ms = int((time.monotonic() - t0) * 1000)
            count = int(result) if result is not None else None
            log.info("job %s done: %s in %.2f s", name,
                     "nothing to count" if count is None else f"{count} done", ms / 1000)
            outcome = Outcome(name, "ok", result=count, duration_ms=ms)
        finally:
            db.session.remove()
        try:
            _record(engine, job, token, outcome, trigger, started)
        except Exception:  # the lease runs out by itself; the job's own work is committed
            log.exception("job %s: could not record its outcome", name)
        finally:
            with _active_lock:
                _active.discard(token)
        return outcome


def release_abandoned(app: Flask) -> int:
    """Free the locks of the runs this process leaves unfinished (the worker was stopped at
    once: its threads die with it and their transactions are rolled back by the database),
    so the jobs run again at their next period instead of after the lease."""
    with _active_lock:
        tokens = sorted(_active)
        _active.clear()
    if not tokens:
        return 0
    t = JobState.__table__
    with app.app_context(), _writing(db.engine) as conn, conn.begin():
        res = conn.execute(update(t).where(t.c.run_token.in_(tokens)).values(
            run_token=None, locked_until=None, running_since=None, last_status="failed",
            last_error="工作进程在运行中途被停止，本次修改已撤销", failures=t.c.failures + 1))
    log.warning("worker stopped during %d run(s): their locks are released", res.rowcount)
    return res.rowcount


# -- what the admin sees -------------------------------------------------------------------
def job_rows(app: Flask, session: Any = None) -> list[dict[str, Any]]:
    """Every job of ``app`` with its schedule and last run, values and words (the admin page
    and ``erp jobs list``). Times are UTC (naive)."""
    from sqlalchemy import select

    from core.state import get_state

    session = session if session is not None else db.session
    state = get_state(app)
    rows = {r.name: r for r in session.execute(select(JobState)).scalars()}
    now = _utcnow()
    out = []
    for job in jobs_of(app):
        r = rows.get(job.name)
        installed = job.module == CORE or state.is_installed(job.module)
        running = (r is not None and r.running_since is not None
                   and r.locked_until is not None and r.locked_until > now)
        status = r.last_status if r is not None else None
        if status == "ok":
            last = Outcome(job.name, "ok", r.last_result, None, r.last_duration_ms or 0).text()
        elif status == "failed":
            last = f"失败：{r.last_error}"
        else:
            last = STATUS_LABELS.get(status, status or "")
        module_name = (state.registry[job.module].name if job.module in state.registry
                       else "平台" if job.module == CORE else job.module)
        out.append({
            "name": job.name, "module": job.module, "module_name": module_name,
            "doc": job.doc, "schedule": schedule_text(job),
            "installed": installed, "installed_text": "已安装" if installed else "未安装",
            "running": running, "running_since": r.running_since if running else None,
            "last_status": status, "last_status_text": STATUS_LABELS.get(status, status),
            "last_text": last,
            "last_started_at": r.last_started_at if r else None,
            "last_finished_at": r.last_finished_at if r else None,
            "last_result": r.last_result if r else None,
            "last_error": r.last_error if r else None,
            "last_duration_ms": r.last_duration_ms if r else None,
            "last_trigger": r.last_trigger if r else None,
            "last_trigger_text": TRIGGER_LABELS.get(r.last_trigger or "", "—") if r else "—",
            "last_success_at": r.last_success_at if r else None,
            "failures": r.failures if r else 0, "runs": r.runs if r else 0,
        })
    return out


# -- the broker and the worker -------------------------------------------------------------
def broker_url(app: Flask) -> str:
    """``ERP_JOBS_BROKER`` (settings; the environment variable wins over the settings file),
    else the SQLite file ``jobs.sqlite3`` under ``ERP_VAR_DIR``."""
    url = app.config.get("ERP_JOBS_BROKER")
    if url:
        return str(url)
    var = os.environ.get("ERP_VAR_DIR") or Path(__file__).resolve().parent.parent / "var"
    return f"sqlite:///{Path(var) / 'jobs.sqlite3'}"


def redacted(url: str) -> str:
    """The URL without its password (for logs)."""
    from sqlalchemy.engine import make_url

    if url.startswith(("redis://", "rediss://")) and "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def make_huey(app: Flask, url: str | None = None) -> Any:
    """The Huey instance for ``url`` (default :func:`broker_url`); results are not kept
    (the outcome of a run is in erp_job)."""
    from huey import MemoryHuey, RedisHuey, SqliteHuey

    url = url or broker_url(app)
    name = str(app.config.get("ERP_JOBS_QUEUE") or "erp")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False, utc=True)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False, utc=True)
    if url == "memory://":
        return MemoryHuey(name, results=False, utc=True)
    raise ConfigError(f"ERP_JOBS_BROKER={redacted(url)!r} is not a broker the job runner knows: "
                      "use redis://HOST:6379/0, sqlite:///PATH or memory://")


class JobRunner:
    """The jobs of ``app`` as Huey tasks: one periodic task per job (due by :func:`is_due`)
    and ``run_later(name)``, which queues one run now (the admin page's button)."""

    def __init__(self, app: Flask, huey: Any = None) -> None:
        self.app = app
        self.huey = huey if huey is not None else make_huey(app)
        self.jobs = {job.name: job for job in jobs_of(app)}
        self.tasks: dict[str, Any] = {}
        for job in self.jobs.values():
            self.tasks[job.name] = self._periodic(job)
        run = self._run

        def run_queued(name: str) -> None:
            run(name, "manual")

        self._queued = self.huey.task(name="erp.run_job")(run_queued)

    def _run(self, name: str, trigger: str) -> None:
        try:
            run_job(self.app, name, trigger=trigger)
        except Exception:  # a job's failure is recorded by run_job; this is the runner's own
            log.exception("job %s could not be run", name)

    def _periodic(self, job: PeriodicJob) -> Any:
        run = self._run

        def due(at: dt.datetime) -> bool:
            return is_due(job, at)

        def scheduled() -> None:
            run(job.name, "schedule")

        return self.huey.periodic_task(due, name=job.name, retries=0)(scheduled)

    def run_later(self, name: str) -> None:
        """Queue one run of ``name`` for the worker."""
        if name not in self.jobs:
            raise UnknownJob(name)
        self._queued(name)

    def due(self, at: dt.datetime) -> list[str]:
        """The names of the jobs the scheduler would queue in the minute of ``at`` (UTC)."""
        return sorted(t.name for t in self.huey.read_periodic(at))

    def work_once(self) -> int:
        """Run every task in the queue now, in this thread (tests, ``--burst``)."""
        n = 0
        while True:
            task = self.huey.dequeue()
            if task is None:
                return n
            self.huey.execute(task)
            n += 1


def run_worker(app: Flask, *, workers: int = 2, periodic: bool = True) -> None:
    """Run the consumer until SIGINT/SIGTERM (graceful: running jobs finish)."""
    runner = JobRunner(app)
    consumer = runner.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=periodic, check_worker_health=True,
        max_delay=2.0)  # an idle worker looks at the queue every 2 s at most (立即运行)
    log.info("worker: broker %s, %d worker thread(s), scheduler %s; jobs: %s",
             redacted(broker_url(app)), workers, "on" if periodic else "off",
             ", ".join(f"{j.name} ({schedule_text(j)})" for j in runner.jobs.values())
             or "none")
    try:
        consumer.run()
    finally:
        release_abandoned(app)
