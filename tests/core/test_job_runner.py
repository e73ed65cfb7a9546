"""The job runner (core.worker): schedules, one run at a time per job, commit or rollback,
the outcome recorded and shown in words; the embedded SQLite broker and the real Redis at
127.0.0.1:6379 (fails, not skips, under CI=true) carry scheduled and queued runs."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import core.jobs
from core.db import db
from core.jobs import PeriodicJob, parse_interval
from core.models import JobState, Signal
from core.worker import (
    JobRunner,
    Outcome,
    UnknownJob,
    is_due,
    job_rows,
    make_huey,
    run_job,
    schedule_text,
)
from tests.conftest import cli

COUNTER = "test.job_counter"


def declare(monkeypatch: pytest.MonkeyPatch, name: str, fn: Callable[[Any], Any], *,
            every: str | None = "5m", at: str | None = None) -> PeriodicJob:
    """Declare a core job for this test only (removed again afterwards)."""
    job = PeriodicJob(name, "core", fn, parse_interval(every) if every and not at else None,
                      dt.time.fromisoformat(at) if at else None, f"测试任务 {name}")
    monkeypatch.setitem(core.jobs._JOBS, name, job)
    return job


def bump(session) -> int:
    """The work of the test jobs: add one to a counter row (committed by the runner)."""
    row = session.get(Signal, COUNTER)
    if row is None:
        session.add(Signal(name=COUNTER, value=1))
    else:
        row.value += 1
    session.flush()
    return 1


def counter(app) -> int:
    with app.app_context():
        row = db.session.get(Signal, COUNTER)
        return row.value if row is not None else 0


def state(app, name: str) -> JobState | None:
    with app.app_context():
        row = db.session.get(JobState, name)
        if row is not None:
            db.session.expunge(row)
        return row


# -- schedules (no database) ----------------------------------------------------------------
def _job(every: str | None = None, at: str | None = None) -> PeriodicJob:
    return PeriodicJob("x.y", "core", lambda s: None,
                       parse_interval(every) if every else None,
                       dt.time.fromisoformat(at) if at else None, "")


def test_interval_jobs_run_on_multiples_of_their_interval() -> None:
    five = _job(every="5m")
    assert is_due(five, dt.datetime(2026, 12, 4, 9, 10, 30))
    assert not is_due(five, dt.datetime(2026, 12, 4, 9, 11))
    due = [m for m in range(60) if is_due(five, dt.datetime(2026, 12, 4, 9, m))]
    assert due == list(range(0, 60, 5))
    hourly = _job(every="1h")
    assert [h for h in range(24) for m in range(60)
            if is_due(hourly, dt.datetime(2026, 12, 4, h, m))] == list(range(24))
    # under a minute: every minute (the scheduler looks once a minute)
    assert all(is_due(_job(every="30s"), dt.datetime(2026, 12, 4, 9, m)) for m in range(60))
    assert schedule_text(five) == "每 5 分钟"
    assert schedule_text(hourly) == "每小时"
    assert schedule_text(_job(every="1m")) == "每分钟"
    assert schedule_text(_job(every="30s")) == "每分钟"
    assert schedule_text(_job(every="2h")) == "每 2 小时"


def test_daily_jobs_run_at_their_beijing_time_once_a_day() -> None:
    job = _job(at="07:30")
    day = dt.datetime(2026, 12, 4)  # naive = UTC
    due = [day + dt.timedelta(minutes=m) for m in range(24 * 60)
           if is_due(job, day + dt.timedelta(minutes=m))]
    assert due == [dt.datetime(2026, 12, 3, 23, 30) + dt.timedelta(days=1)]  # 07:30 CST
    aware = dt.datetime(2026, 12, 4, 7, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert is_due(job, aware)
    assert schedule_text(job) == "每天 07:30（北京时间）"


# -- running one job ------------------------------------------------------------------------
def test_a_run_commits_records_and_logs(app, monkeypatch, caplog) -> None:
    declare(monkeypatch, "core.test_bump", bump)
    caplog.set_level(logging.INFO, logger="erp.jobs")
    out = run_job(app, "core.test_bump")
    assert out == Outcome("core.test_bump", "ok", 1, None, out.duration_ms)
    assert out.text().startswith("成功：处理 1 项，用时 ")
    assert counter(app) == 1
    row = state(app, "core.test_bump")
    assert row.last_status == "ok" and row.last_result == 1 and row.last_error is None
    assert row.runs == 1 and row.failures == 0 and row.last_trigger == "manual"
    assert row.last_success_at == row.last_finished_at is not None
    assert row.run_token is None and row.locked_until is None, "the lock is released"
    assert "job core.test_bump started (manual)" in caplog.text
    assert "job core.test_bump done: 1 done" in caplog.text
    # a second run is a new run (the job is idempotent; the lock only forbids overlap)
    assert run_job(app, "core.test_bump", trigger="schedule").ok
    assert counter(app) == 2 and state(app, "core.test_bump").runs == 2


def test_a_failing_job_is_rolled_back_recorded_and_runs_again_next_period(
        app, monkeypatch, caplog) -> None:
    broken = {"yes": True}

    def flaky(session) -> int:
        bump(session)  # written, then undone by the rollback
        if broken["yes"]:
            raise RuntimeError("上游接口无应答")
        return 1

    declare(monkeypatch, "core.test_flaky", flaky, every="5m")
    out = run_job(app, "core.test_flaky", trigger="schedule")
    assert out.status == "failed" and out.error == "上游接口无应答"
    assert out.text() == "失败：上游接口无应答"
    assert counter(app) == 0, "the failed run's writes are rolled back"
    row = state(app, "core.test_flaky")
    assert row.last_status == "failed" and row.last_error == "上游接口无应答"
    assert row.failures == 1 and row.last_success_at is None and row.locked_until is None
    assert "job core.test_flaky failed" in caplog.text and "RuntimeError" in caplog.text
    # the CLI says so in one line and exits 1
    res = cli(app, "jobs", "run", "core.test_flaky")
    assert res.exit_code == 1 and "上游接口无应答" in res.output and "rolled back" in res.output
    assert state(app, "core.test_flaky").failures == 2
    # it is not retried early: the runner queues it again at its next period
    runner = JobRunner(app, make_huey(app, "memory://"))
    assert "core.test_flaky" in runner.due(dt.datetime(2026, 12, 4, 9, 5))
    assert "core.test_flaky" not in runner.due(dt.datetime(2026, 12, 4, 9, 6))
    broken["yes"] = False
    assert run_job(app, "core.test_flaky", trigger="schedule").ok
    row = state(app, "core.test_flaky")
    assert row.last_status == "ok" and row.failures == 0 and row.last_error is None
    assert counter(app) == 1


def test_two_runs_at_once_do_the_work_once(app, monkeypatch) -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(session) -> int:
        calls.append(1)
        started.set()
        assert release.wait(10), "the test never released the first run"
        return bump(session)

    declare(monkeypatch, "core.test_slow", slow)
    first: list[Outcome] = []
    thread = threading.Thread(target=lambda: first.append(run_job(app, "core.test_slow")))
    thread.start()
    try:
        assert started.wait(10)
        assert state(app, "core.test_slow").running_since is not None
        with app.app_context():
            rows = {r["name"]: r for r in job_rows(app)}
        assert rows["core.test_slow"]["running"] is True
        second = run_job(app, "core.test_slow")
        assert second.status == "locked" and second.text() == "已跳过：上一次运行尚未结束"
        res = cli(app, "jobs", "run", "core.test_slow")
        assert res.exit_code == 1 and "running elsewhere" in res.output
    finally:
        release.set()
        thread.join(10)
    assert first and first[0].ok
    assert calls == [1] and counter(app) == 1, "the work was done once"
    assert state(app, "core.test_slow").runs == 1


def test_a_lock_left_by_a_killed_worker_runs_out(app, monkeypatch) -> None:
    declare(monkeypatch, "core.test_bump", bump)
    assert run_job(app, "core.test_bump").ok
    with app.app_context():
        row = db.session.get(JobState, "core.test_bump")
        row.run_token, row.running_since = "dead-worker", dt.datetime(2026, 1, 1)
        row.locked_until = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1)
        db.session.commit()
    assert run_job(app, "core.test_bump").status == "locked"
    with app.app_context():
        row = db.session.get(JobState, "core.test_bump")
        row.locked_until = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
        db.session.commit()
    assert run_job(app, "core.test_bump").ok
    assert counter(app) == 2


def test_jobs_list_and_unknown_job(app, monkeypatch) -> None:
    declare(monkeypatch, "core.test_bump", bump, at="02:30")
    res = cli(app, "jobs", "list")
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("core.test_bump"))
    assert "每天 02:30（北京时间）" in line and "尚未运行" in line
    assert cli(app, "jobs", "run", "core.test_bump").output.startswith(
        "core.test_bump: 成功：处理 1 项")
    line = next(ln for ln in cli(app, "jobs", "list").output.splitlines()
                if ln.startswith("core.test_bump"))
    assert "成功：处理 1 项" in line
    res = cli(app, "jobs", "run", "core.no_such_job")
    assert res.exit_code == 1 and "unknown job 'core.no_such_job'" in res.output
    with pytest.raises(UnknownJob):
        JobRunner(app, make_huey(app, "memory://")).run_later("core.no_such_job")


def test_an_unknown_broker_is_a_clear_error(app) -> None:
    from core.worker import ConfigError

    with pytest.raises(ConfigError, match="ERP_JOBS_BROKER='amqp://guest:\\*\\*\\*@h/'"):
        make_huey(app, "amqp://guest:secret@h/")


# -- the brokers ----------------------------------------------------------------------------
def _through_broker(app, monkeypatch, huey) -> None:
    """A scheduled run and a queued run travel through ``huey``'s storage to a worker."""
    declare(monkeypatch, "core.test_bump", bump, every="5m")
    declare(monkeypatch, "core.test_daily", bump, at="07:30")
    runner = JobRunner(app, huey)
    assert {"core.test_bump", "core.test_daily"} <= set(runner.jobs)
    at = dt.datetime(2026, 12, 4, 23, 30)  # UTC: 07:30 CST, a multiple of 5 minutes
    for task in huey.read_periodic(at):  # what the consumer's scheduler does each minute
        if task.name in ("core.test_bump", "core.test_daily"):
            huey.enqueue(task)
    assert huey.pending_count() == 2
    assert runner.work_once() == 2
    assert counter(app) == 2
    assert state(app, "core.test_bump").last_trigger == "schedule"
    runner.run_later("core.test_bump")
    assert huey.pending_count() == 1
    assert runner.work_once() == 1
    row = state(app, "core.test_bump")
    assert row.last_trigger == "manual" and row.runs == 2 and counter(app) == 3


def _consumer_runs_once(app, monkeypatch, huey) -> None:
    """A real consumer (two worker threads) receives the same job twice at once: the work is
    done once, the other run is skipped."""
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow(session) -> int:
        calls.append(1)
        started.set()
        release.wait(10)
        return bump(session)

    declare(monkeypatch, "core.test_slow", slow)
    runner = JobRunner(app, huey)
    consumer = huey.create_consumer(workers=2, periodic=False, max_delay=0.2,
                                    check_worker_health=False)
    monkeypatch.setattr(consumer, "_set_signal_handlers", lambda: None)
    consumer.start()
    try:
        runner.run_later("core.test_slow")
        runner.run_later("core.test_slow")
        assert started.wait(10), "the consumer never ran the job"
        deadline = time.monotonic() + 10
        while huey.pending_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the second message is with the other worker thread by now
        release.set()
        deadline = time.monotonic() + 10
        while (state(app, "core.test_slow") is None or state(app, "core.test_slow").runs < 1) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        release.set()
        consumer.stop(graceful=True)
    assert calls == [1] and counter(app) == 1
    assert state(app, "core.test_slow").runs == 1


def test_embedded_sqlite_broker(app, monkeypatch, tmp_path) -> None:
    huey = make_huey(app, f"sqlite:///{tmp_path / 'q' / 'jobs.sqlite3'}")
    assert type(huey).__name__ == "SqliteHuey" and (tmp_path / "q" / "jobs.sqlite3").is_file()
    _through_broker(app, monkeypatch, huey)


def test_embedded_sqlite_broker_with_a_consumer(app, monkeypatch, tmp_path) -> None:
    _consumer_runs_once(app, monkeypatch, make_huey(app, f"sqlite:///{tmp_path / 'jobs.db'}"))


@pytest.fixture
def redis_huey(app, redis_url: str):
    app.config["ERP_JOBS_QUEUE"] = f"erp-test-{uuid.uuid4().hex[:12]}"
    huey = make_huey(app, redis_url)
    assert type(huey).__name__ == "RedisHuey"
    try:
        yield huey
    finally:
        huey.storage.flush_all()
        app.config["ERP_JOBS_QUEUE"] = "erp"


def test_redis_broker(app, monkeypatch, redis_huey) -> None:
    _through_broker(app, monkeypatch, redis_huey)


def test_redis_broker_with_a_consumer(app, monkeypatch, redis_huey) -> None:
    _consumer_runs_once(app, monkeypatch, redis_huey)


def test_broker_setting_and_environment(app_factory, monkeypatch) -> None:
    from core.worker import broker_url

    monkeypatch.setenv("ERP_JOBS_BROKER", "redis://127.0.0.1:6379/5")
    assert broker_url(app_factory()) == "redis://127.0.0.1:6379/5"
    monkeypatch.delenv("ERP_JOBS_BROKER")
    assert broker_url(app_factory()).endswith("/jobs.sqlite3")


# -- the admin page -------------------------------------------------------------------------
def test_admin_page_lists_jobs_in_words_and_queues_a_run(app, monkeypatch) -> None:
    import re

    from tests.core.test_web import login_form

    def broken(session) -> int:
        raise ValueError("参考价表缺少类目 A01")

    declare(monkeypatch, "core.test_bump", bump, every="5m")
    declare(monkeypatch, "core.test_broken", broken, at="02:30")
    declare(monkeypatch, "core.test_never", bump, every="1h")
    assert run_job(app, "core.test_bump").ok
    assert run_job(app, "core.test_broken", trigger="schedule").status == "failed"
    app.config["ERP_JOBS_BROKER"] = "memory://"
    client = app.test_client()
    login_form(client)
    res = client.get("/erp/jobs/")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    rows = dict(re.findall(r'<tr data-job="([^"]+)" data-status="[^"]+">(.*?)</tr>', html, re.S))
    assert "每 5 分钟" in rows["core.test_bump"] and "成功" in rows["core.test_bump"]
    assert "处理 1 项" in rows["core.test_bump"] and "手动" in rows["core.test_bump"]
    assert "每天 02:30（北京时间）" in rows["core.test_broken"]
    assert "失败：参考价表缺少类目 A01" in rows["core.test_broken"]
    assert "按计划" in rows["core.test_broken"]
    assert "尚未运行" in rows["core.test_never"]
    for word in ("None", "True", "False", "failed", "schedule"):
        assert f">{word}<" not in html and f" {word} " not in html
    assert "定时任务" in html  # the menu entry
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    res = client.post("/erp/jobs/run/core.test_never", data={"csrf_token": token})
    assert res.status_code == 302
    runner = app.extensions["erp_jobs"]
    assert runner.huey.pending_count() == 1 and counter(app) == 1, "queued, not run"
    assert runner.work_once() == 1
    assert counter(app) == 2 and state(app, "core.test_never").last_trigger == "manual"
    assert client.post("/erp/jobs/run/core.nothing", data={"csrf_token": token}).status_code \
        == 404


def test_admin_page_is_for_the_platform_admin_only(app) -> None:
    from core.addons.security import sync_module_roles
    from tests.core.test_web import login_form

    state_ = app.extensions["erp"]
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "tests", {"Job Clerk": ("can_read on Jobs", "can_write on Jobs")},
                          state_.core_pairs(), "test")
    assert cli(app, "user", "create", "--username", "job_clerk", "--password", "secret123",
               "--role", "Job Clerk", "--region", "220100").exit_code == 0
    client = app.test_client()
    login_form(client, "job_clerk", "secret123")
    assert client.get("/erp/jobs/").status_code == 403
    assert app.test_client().get("/erp/jobs/").status_code == 302, "to the login page"


def test_a_worker_stopped_mid_run_frees_its_locks(app, monkeypatch) -> None:
    """``erp worker`` stopped at once (SIGTERM) mid-run: the run's transaction is lost with
    the process, and the worker frees its lock on the way out (not an hour later)."""
    import core.worker
    from core.worker import release_abandoned

    started, release = threading.Event(), threading.Event()

    def slow(session) -> int:
        started.set()
        release.wait(10)
        return bump(session)

    declare(monkeypatch, "core.test_slow", slow)
    thread = threading.Thread(target=lambda: run_job(app, "core.test_slow"), daemon=True)
    thread.start()
    try:
        assert started.wait(10)
        assert len(core.worker._active) == 1
        assert release_abandoned(app) == 1
        row = state(app, "core.test_slow")
        assert row.locked_until is None and row.last_status == "failed"
        assert "被停止" in row.last_error and row.failures == 1
        assert release_abandoned(app) == 0
    finally:
        release.set()
        thread.join(10)


def test_errors_are_recorded_as_sentences(app, monkeypatch) -> None:
    from sqlalchemy import text

    from core.errors import RuleError

    def rule(session) -> int:
        raise RuleError({"deadline": ["截止时间早于发布时间"]})

    def sql(session) -> int:
        session.execute(text("INSERT INTO erp_signal (name, value) VALUES (NULL, 1)"))
        return 1

    def bare(session) -> int:
        raise KeyError()

    declare(monkeypatch, "core.test_rule", rule)
    declare(monkeypatch, "core.test_sql", sql)
    declare(monkeypatch, "core.test_bare", bare)
    assert run_job(app, "core.test_rule").error == "截止时间早于发布时间"
    error = run_job(app, "core.test_sql").error
    assert error.startswith("数据库拒绝了修改：") and "[SQL" not in error, error
    assert "sqlalche.me" not in error and "\n" not in error
    assert run_job(app, "core.test_bare").error == "程序错误（KeyError）"


def test_run_now_with_the_queue_down_says_so(app, monkeypatch) -> None:
    import re

    from tests.core.test_web import login_form

    declare(monkeypatch, "core.test_bump", bump)
    app.config["ERP_JOBS_BROKER"] = "redis://127.0.0.1:9/0"  # nothing listens there
    client = app.test_client()
    login_form(client)
    html = client.get("/erp/jobs/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    res = client.post("/erp/jobs/run/core.test_bump", data={"csrf_token": token},
                      follow_redirects=True)
    assert res.status_code == 200
    assert "任务队列暂时无法连接，未能排队" in res.get_data(as_text=True)
    assert counter(app) == 0 and state(app, "core.test_bump") is None
