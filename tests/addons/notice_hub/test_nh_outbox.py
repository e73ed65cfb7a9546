# ruff: noqa: F811  (pytest fixtures imported from the worlds)
"""The transactional outbox to the national portal: a fake portal on loopback that times out,
answers 5xx, loses its answer (then sees a duplicate), answers garbage and recovers; every
notice arrives exactly once; the dead-letter list keeps the portal's answer and an admin
re-sends from it."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from addons.notice_hub.fake_portal import FakePortal
from core.db import db
from tests.addons.notice_hub.nh_world import draft, nh, pb, submit  # noqa: F401
from tests.core.test_web import login_form


def _publish_many(w, n: int) -> list[int]:
    from addons.notice_hub import services
    from addons.notice_hub.models import Notice

    ids = []
    for i in range(n):
        ref = submit(w, draft(w, source_id=100 + i, title=f"测试项目{i}中标结果公告"))
        ids.append(ref.notice_id)
    with w.app.app_context():
        for pk in ids:
            services.publish(db.session, db.session.get(Notice, pk), actor="test")
        db.session.commit()
    return ids


def _deliver_until_done(w, portal_url: str, timeout: float = 0.4, rounds: int = 12) -> list[dict]:
    from addons.notice_hub import portal as nh_portal
    from addons.notice_hub.models import NoticeOutbox

    at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    log = []
    for _ in range(rounds):
        with w.app.app_context():
            counts = nh_portal.deliver(db.session, at=at, receivers={
                "portal": nh_portal.HttpReceiver(portal_url, timeout=timeout)})
            db.session.commit()
            log.append(counts)
            if not db.session.scalar(select(NoticeOutbox.id).where(NoticeOutbox.status == "pending")):
                break
        at += dt.timedelta(hours=2)  # past any backoff
    return log


def test_every_notice_arrives_exactly_once_through_failures(nh):
    from addons.notice_hub.models import NoticeOutbox

    ids = _publish_many(nh, 8)
    script = ["timeout", "500", "lost", "garbage", "503", "dup409", "ok", "lost", "timeout", "500"]
    with FakePortal(script=script, delay=1.0) as portal:
        log = _deliver_until_done(nh, portal.url)
    assert sum(c["delivered"] for c in log) == 8 and not any(c["failed"] for c in log), log
    # exactly once: the portal keeps one copy per notice, and saw the lost answers again
    assert sorted(portal.store) == sorted(f"notice:{pk}:portal" for pk in ids)
    assert portal.duplicates >= 2
    assert {v["notice"]["title"] for v in portal.store.values()} == {f"测试项目{i}中标结果公告" for i in range(8)}
    with nh.app.app_context():
        rows = db.session.scalars(select(NoticeOutbox)).all()
        assert {r.status for r in rows} == {"delivered"}
        assert max(r.attempts for r in rows) >= 2
    # running the job again sends nothing
    with FakePortal() as again:
        assert _deliver_until_done(nh, again.url, rounds=1) == [{"delivered": 0, "retry": 0, "failed": 0}]
        assert again.requests == 0


def test_garbage_answer_is_kept_and_retried_nothing_lost(nh):
    from addons.notice_hub.models import NoticeOutbox

    _publish_many(nh, 1)
    with FakePortal(default="garbage") as portal:
        log = _deliver_until_done(nh, portal.url, rounds=1)
    assert log == [{"delivered": 0, "retry": 1, "failed": 0}]
    with nh.app.app_context():
        row = db.session.scalars(select(NoticeOutbox)).one()
        assert row.status == "pending" and "接收方应答无法识别" in row.last_error
    assert portal.store == {}


def test_dead_letter_visible_and_resent_by_admin(nh):
    from addons.notice_hub.models import NoticeOutbox
    from core import outbox

    _publish_many(nh, 1)
    with FakePortal(default="500") as portal:
        log = _deliver_until_done(nh, portal.url, rounds=outbox.MAX_ATTEMPTS + 1)
    assert log[-1]["failed"] == 1 and portal.requests == outbox.MAX_ATTEMPTS
    with nh.app.app_context():
        row = db.session.scalars(select(NoticeOutbox)).one()
        assert row.status == "failed" and "HTTP 500" in row.last_error
        pk = row.id
    # the admin sees it in the dead-letter list and re-sends it from the page
    client = nh.client
    login_form(client)
    page = client.get("/noticeoutboxview/list/?_flt_0_status=failed")
    assert page.status_code == 200 and "发送失败（死信）" in page.get_data(as_text=True)
    assert "HTTP 500" in page.get_data(as_text=True)
    show = client.get(f"/noticeoutboxview/show/{pk}").get_data(as_text=True)
    assert "重新发送" in show
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', show).group(1)
    res = client.post(f"/noticeoutboxview/transition/{pk}/resend", data={"csrf_token": token})
    assert res.status_code in (302, 303), res.get_data(as_text=True)[-3000:]
    with nh.app.app_context():
        assert db.session.get(NoticeOutbox, pk).status == "pending"
    with FakePortal() as portal:
        _deliver_until_done(nh, portal.url)
    assert len(portal.store) == 1
    with nh.app.app_context():
        assert db.session.get(NoticeOutbox, pk).status == "delivered"


def test_publication_rolled_back_leaves_no_outbox_row(nh):
    from addons.notice_hub import services
    from addons.notice_hub.models import Notice, NoticeOutbox

    pk = submit(nh, draft(nh, source_id=77)).notice_id
    with nh.app.app_context():
        services.publish(db.session, db.session.get(Notice, pk), actor="test")
        assert db.session.scalar(select(NoticeOutbox.id)) is not None
        db.session.rollback()
        assert db.session.scalar(select(NoticeOutbox.id)) is None
        assert db.session.get(Notice, pk).status == "draft"


def test_cli_and_jobs_use_the_configured_portal(nh):
    from addons.notice_hub.models import NoticeOutbox
    from core.jobs import periodic_jobs
    from core.services import settings
    from tests.conftest import cli

    jobs = {j.name: j for j in periodic_jobs()}
    assert {"notice_hub.deliver", "notice_hub.deadlines"} <= set(jobs)
    _publish_many(nh, 2)
    # no address configured: attempts fail with the reason, nothing lost
    res = cli(nh.app, "notices", "deliver")
    assert res.exit_code == 0 and "已送达 0，待重试 2" in res.output, res.output
    with nh.app.app_context():
        assert "未配置全国平台接收地址" in db.session.scalars(select(NoticeOutbox)).first().last_error
        db.session.execute(NoticeOutbox.__table__.update().values(
            next_attempt_at=dt.datetime(2020, 1, 1)))
        db.session.commit()
    with FakePortal() as portal:
        with nh.app.app_context():
            settings.set("notice_hub.portal_url", portal.url, None, actor="test")
            db.session.commit()
        with nh.app.app_context():
            assert jobs["notice_hub.deliver"].fn(db.session) == 2
            db.session.commit()
    assert len(portal.store) == 2
    # the deadline job reminds each publisher once a day per notice, whatever runs it
    from tests.addons.notice_hub.nh_world import draft as make_draft

    submit(nh, make_draft(nh, source_id=900, event_date=dt.date(2025, 3, 31)))  # long overdue
    first = cli(nh.app, "notices", "deadlines")
    second = cli(nh.app, "notices", "deadlines")
    assert "已发送提醒 1 条" in first.output and "已发送提醒 0 条" in second.output, (first.output, second.output)
