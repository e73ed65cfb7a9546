"""Issue 12 finding 14: a supplier withdraws its own bid in writing before the bid deadline
(招标投标法第二十九条; 87号令第三十四条); the bid becomes 已撤回 with the notice recorded and its
held bid deposit gets the refund trigger 投标截止前书面撤回投标 dated the withdrawal, which
starts the refund clock (87号令第三十八条). After the deadline, for another supplier or
without a notice, nothing changes."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from core.db import db
from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401
from tests.addons.procurement_base.pb_world import PASSWORD
from tests.core.test_web import login_form

CST = dt.timezone(dt.timedelta(hours=8))


def _now() -> dt.datetime:
    return dt.datetime.now(CST).replace(tzinfo=None, microsecond=0)


def _open_project(dl, number: str, deadline: dt.datetime) -> dict:  # noqa: F811
    """A published project (deadline given), sup_a's bid and its held bid deposit."""
    notice = min(_now().date(), deadline.date()) - dt.timedelta(days=3)
    p = dl.project(number, bid_deadline=deadline.isoformat())
    pkg = dl.package(p)
    dl.move(p, "publish", date=notice.isoformat())
    bid = dl.bid(pkg, "sup_a", "500000.00",
                 submitted_at=(notice + dt.timedelta(days=1)).isoformat() + "T10:00:00")
    # the bid is sealed until opening: the deposit is recorded without the link
    dep = dl.deposit(f"BZJ-{number}", supplier="sup_a", project=p, package=pkg, bid=None,
                     received_date=notice.isoformat()).json["id"]
    return {"project": p, "package": pkg, "bid": bid, "deposit": dep}


def _bid(dl, pk: int):  # noqa: F811
    from addons.procurement_base.models import Bid

    with dl.app.app_context():
        b = db.session.get(Bid, pk)
        return b.status, b.withdrawn_at, b.withdrawal_notice


def _deposit(dl, pk: int) -> dict:  # noqa: F811
    return dl.call("GET", f"dl_deposit/{pk}", "agency", expect=200).json["result"]


def _web(dl, user: str):  # noqa: F811
    client = dl.app.test_client()
    login_form(client, user, "admin12345" if user == "admin" else PASSWORD)
    return client


def test_supplier_withdraws_before_the_deadline_and_the_refund_clock_starts(dl) -> None:  # noqa: F811
    from core.models import AuditLog

    w = _open_project(dl, "CC-WD-1", _now() + dt.timedelta(days=10))
    res = dl.call("POST", f"pb_bid/{w['bid']}/withdraw", "sup_a",
                  {"notice": "我公司决定撤回本次投标（附法定代表人签字的书面通知）"}, expect=200)
    out = res.json["result"]
    assert out["status"] == "withdrawn" and out["status_label"] == "已撤回"
    status, at, notice = _bid(dl, w["bid"])
    assert status == "withdrawn" and notice.startswith("我公司决定撤回本次投标")
    assert at is not None and abs((_now() - at).total_seconds()) < 120
    dep = _deposit(dl, w["deposit"])
    assert dep["trigger"] == "withdrawal" and dep["trigger_date"] == at.date().isoformat()
    assert dep["due_date"] is not None and dep["due_date"] > dep["trigger_date"]
    with dl.app.app_context():
        actions = set(db.session.execute(select(AuditLog.action).where(
            AuditLog.object_type == "pb_bid", AuditLog.object_id == str(w["bid"]))).scalars())
        assert "transition:withdraw" in actions
    # withdrawn once: a second withdrawal is refused, nothing changes
    res = dl.call("POST", f"pb_bid/{w['bid']}/withdraw", "sup_a", {"notice": "再次撤回"})
    assert res.status_code in (403, 422), res.get_data(as_text=True)
    assert _bid(dl, w["bid"])[2].startswith("我公司决定撤回本次投标")


def test_after_the_deadline_the_bid_stays(dl) -> None:  # noqa: F811
    w = _open_project(dl, "CC-WD-2", _now() - dt.timedelta(hours=1))
    res = dl.call("POST", f"pb_bid/{w['bid']}/withdraw", "sup_a", {"notice": "撤回"}, expect=422)
    assert "已过投标截止时间" in res.json["message"]
    assert _bid(dl, w["bid"]) == ("submitted", None, None)
    assert _deposit(dl, w["deposit"])["trigger"] is None


def test_another_supplier_cannot_withdraw(dl) -> None:  # noqa: F811
    w = _open_project(dl, "CC-WD-3", _now() + dt.timedelta(days=10))
    for user in ("sup_b", "agency", "pur"):
        res = dl.call("POST", f"pb_bid/{w['bid']}/withdraw", user, {"notice": "撤回"})
        assert res.status_code in (403, 404), (user, res.status_code)
    assert _bid(dl, w["bid"]) == ("submitted", None, None)
    assert _deposit(dl, w["deposit"])["trigger"] is None


def test_a_notice_is_required(dl) -> None:  # noqa: F811
    w = _open_project(dl, "CC-WD-4", _now() + dt.timedelta(days=10))
    for body in ({"notice": "   "}, {}, {"notice": None}):
        res = dl.call("POST", f"pb_bid/{w['bid']}/withdraw", "sup_a", body, expect=422)
        assert "书面撤回通知" in res.json["message"]["notice"][0]
    assert _bid(dl, w["bid"]) == ("submitted", None, None)
    assert _deposit(dl, w["deposit"])["trigger"] is None


def test_the_page_button_is_the_suppliers_and_works(dl) -> None:  # noqa: F811
    w = _open_project(dl, "CC-WD-5", _now() + dt.timedelta(days=10))
    show = f"/bidview/show/{w['bid']}"
    for user in ("admin", "agency"):
        html = _web(dl, user).get(show).get_data(as_text=True)
        assert f"/bidview/act/{w['bid']}/withdraw" not in html, user
    client = _web(dl, "sup_a")
    page = client.get(show)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"/bidview/act/{w['bid']}/withdraw" in html and "撤回投标" in html
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)
    res = client.post(f"/bidview/act/{w['bid']}/withdraw", data={"csrf_token": token, "notice": ""},
                      follow_redirects=True)
    assert "请填写书面撤回通知" in res.get_data(as_text=True)
    assert _bid(dl, w["bid"])[0] == "submitted"
    res = client.post(f"/bidview/act/{w['bid']}/withdraw",
                      data={"csrf_token": token, "notice": "书面通知：撤回投标"},
                      follow_redirects=True)
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and "投标已撤回" in html
    assert _bid(dl, w["bid"])[0] == "withdrawn"
    assert "书面通知：撤回投标" in html and "已撤回" in html
    assert f"/bidview/act/{w['bid']}/withdraw" not in html  # nothing left to withdraw
    assert _deposit(dl, w["deposit"])["trigger"] == "withdrawal"
