"""In-app messages (站内消息): ``core.messages.notify``, its delivery adapters, the navbar
count and the message page. SQLite and PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import text

from core.db import db
from core.messages import Message, Notice, Recipient, messages_of, notify, unread_count
from tests.conftest import cli, init_db, query
from tests.core.test_web import login_form

ORG_CODE = "91220101MA0000001X"


class RecordingDelivery:
    """The test adapter: remembers what it was asked to deliver."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[tuple[Recipient, Notice]] = []

    def deliver(self, recipient: Recipient, message: Notice) -> None:
        self.sent.append((recipient, message))


class BrokenDelivery:
    name = "broken"

    def deliver(self, recipient: Recipient, message: Notice) -> None:
        raise ConnectionError("SMS gateway unreachable")


@pytest.fixture
def world(app_factory):
    """Two users of one supplier (one inactive), one user elsewhere; a recording adapter."""
    recording = RecordingDelivery()
    app = app_factory(ERP_MESSAGE_ADAPTERS=[recording, BrokenDelivery()])
    init_db(app)
    with app.app_context():
        rid = db.session.execute(text("SELECT id FROM erp_region WHERE code='220100'")).scalar()
        db.session.execute(text(
            "INSERT INTO erp_organization (name, credit_code, org_type, region_id, active, phone) "
            "VALUES ('长春测试供应商有限公司', :c, 'supplier', :r, :t, '13800000000')"),
            {"c": ORG_CODE, "r": rid, "t": True})
        db.session.commit()
    for username in ("sup_a", "sup_b"):
        res = cli(app, "user", "create", "--username", username, "--password", "secret123",
                  "--role", "Public", "--org", ORG_CODE)
        assert res.exit_code == 0, res.output
    res = cli(app, "user", "create", "--username", "other", "--password", "secret123",
              "--role", "Public", "--region", "220100")
    assert res.exit_code == 0, res.output
    with app.app_context():
        db.session.execute(text("UPDATE ab_user SET active = :f WHERE username = 'sup_b'"),
                           {"f": False})
        db.session.commit()
    ids = dict(query(app, "SELECT username, id FROM ab_user"))
    org_id = query(app, "SELECT id FROM erp_organization WHERE credit_code = :c", c=ORG_CODE)[0][0]
    return app, recording, ids, org_id


def test_notify_org_and_users_delivers_after_commit_only(world) -> None:
    app, recording, ids, org_id = world
    with app.app_context():
        msgs = notify(db.session, org_id=org_id, user_ids=[ids["other"], ids["sup_a"]],
                      kind="emall.order_placed", title="新订单待确认", body="订单 D-1 已下单",
                      link="/orderview/show/1")
        # the active user of the organisation and the named user, each once; the inactive
        # user of the organisation is not written to
        assert sorted(m.user_id for m in msgs) == sorted([ids["sup_a"], ids["other"]])
        assert recording.sent == [], "nothing leaves before the business change commits"
        db.session.commit()
        assert sorted(r.username for r, _ in recording.sent) == ["other", "sup_a"]
        notice = recording.sent[0][1]
        assert notice.title == "新订单待确认" and notice.link == "/orderview/show/1"
        sup_a = next(r for r, _ in recording.sent if r.username == "sup_a")
        assert sup_a.phone == "13800000000", "the SMS adapter gets the organisation's phone"
        assert unread_count(db.session, ids["sup_a"]) == 1
        assert unread_count(db.session, ids["sup_b"]) == 0


def test_rolled_back_change_sends_nothing(world) -> None:
    app, recording, ids, org_id = world
    with app.app_context():
        notify(db.session, org_id=org_id, kind="system", title="不会发送", body="回滚")
        db.session.flush()
        db.session.rollback()
        db.session.commit()
    assert recording.sent == []
    assert query(app, "SELECT COUNT(*) FROM erp_message") == [(0,)]


def test_no_recipient_no_row_and_links_stay_inside(world) -> None:
    app, recording, ids, _ = world
    with app.app_context():
        assert notify(db.session, kind="system", title="无人", body="") == []
        with pytest.raises(ValueError):
            notify(db.session, user_ids=[ids["sup_a"]], kind="system", title="外链", body="",
                   link="https://evil.example/")
        db.session.rollback()
    assert query(app, "SELECT COUNT(*) FROM erp_message") == [(0,)]


def _send(app: Any, user_id: int, title: str, link: str | None = None) -> int:
    with app.app_context():
        (msg,) = notify(db.session, user_ids=[user_id], kind="emall.order_shipped", title=title,
                        body=f"{title}的内容", link=link)
        db.session.commit()
        return msg.id


def _csrf(html: str) -> str:
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token, "the page carries a CSRF token"
    return token.group(1)


def test_navbar_count_message_page_open_and_mark_read(world) -> None:
    app, _, ids, _ = world
    first = _send(app, ids["sup_a"], "订单已发货", "/erp/messages/?from=test")
    second = _send(app, ids["sup_a"], "第二条消息")
    theirs = _send(app, ids["other"], "别人的消息", "/")
    client = app.test_client()
    login_form(client, "sup_a", "secret123")

    home = client.get("/").get_data(as_text=True)
    assert re.search(r'id="erp-unread-count">2<', home), "navbar shows 2 unread"
    page = client.get("/erp/messages/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "订单已发货" in html and "第二条消息" in html and "别人的消息" not in html
    assert "订单已发货" in html and "未读" in html and "订单已发货" in html
    assert "emall.order_shipped" not in html and "订单已发货的内容" in html
    assert "订单已发货" in client.get("/").get_data(as_text=True), "shown on the workbench"

    token = _csrf(html)
    res = client.post(f"/erp/messages/open/{first}", data={"csrf_token": token})
    assert res.status_code == 302 and res.headers["Location"].endswith("/erp/messages/?from=test")
    # another user's message: not found, and left unread
    res = client.post(f"/erp/messages/open/{theirs}", data={"csrf_token": token})
    assert res.status_code == 404
    assert "页面不存在" in res.get_data(as_text=True)
    assert query(app, "SELECT read_at IS NULL FROM erp_message WHERE id = :i", i=theirs)[0][0]
    # without the CSRF token nothing changes
    assert client.post(f"/erp/messages/open/{second}").status_code == 400
    with app.app_context():
        assert unread_count(db.session, ids["sup_a"]) == 1
        total, unread = messages_of(db.session, ids["sup_a"], unread_only=True)
        assert total == 1 and unread[0].id == second

    res = client.post("/erp/messages/read", data={"csrf_token": token, "all": "1"})
    assert res.status_code == 302
    with app.app_context():
        assert unread_count(db.session, ids["sup_a"]) == 0
        assert unread_count(db.session, ids["other"]) == 1
    assert 'id="erp-unread-count"' not in client.get("/").get_data(as_text=True)


def test_message_page_needs_login(world) -> None:
    app, *_ = world
    res = app.test_client().get("/erp/messages/")
    assert res.status_code == 302 and "/login" in res.headers["Location"]


def test_message_model_is_in_the_core_schema(app) -> None:
    assert query(app, "SELECT COUNT(*) FROM erp_message") == [(0,)]
    assert Message.__tablename__ == "erp_message"
