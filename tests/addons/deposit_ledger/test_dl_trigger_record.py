"""Issue 12 finding 13: a refund trigger and its date must agree with the procurement
record; a different one needs a written reason and is audited.

The world (dl_world): CC-2025-001, bid deadline 2025-03-24 09:00, award notice 2025-03-31,
sup_a won (contract signed 2025-04-03), sup_c lost.
"""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401


def _loser(dl) -> int:  # noqa: F811
    return dl.deposit("BZJ-L").json["id"]


def _winner(dl) -> int:  # noqa: F811
    return dl.deposit("BZJ-W", supplier="sup_a").json["id"]


def _state(dl, pk: int) -> dict:  # noqa: F811
    return dl.call("GET", f"dl_deposit/{pk}", "agency", expect=200).json["result"]


def test_a_loser_gets_the_award_notice_on_its_recorded_date(dl) -> None:  # noqa: F811
    pk = _loser(dl)
    res = dl.act(pk, "trigger", trigger="contract_signed", date="2025-04-03", expect=422)
    assert "未中标人应为“中标通知书发出”" in res.json["message"]["trigger"][0]
    res = dl.act(pk, "trigger", trigger="award_notice", date="2025-04-01", expect=422)
    assert "中标通知书发出日期 2025-03-31" in res.json["message"]["trigger_date"][0]
    res = dl.act(pk, "trigger", trigger="withdrawal", date="2025-03-20", expect=422)
    assert "未撤回" in res.json["message"]["trigger"][0]
    res = dl.act(pk, "trigger", trigger="termination", date="2025-03-31", expect=422)
    assert "未终止" in res.json["message"]["trigger"][0]
    assert _state(dl, pk)["trigger"] is None, "nothing changed"
    dl.act(pk, "trigger", trigger="award_notice", date="2025-03-31")
    assert _state(dl, pk)["trigger_date"] == "2025-03-31"


def test_the_winner_gets_the_signing_date(dl) -> None:  # noqa: F811
    pk = _winner(dl)
    res = dl.act(pk, "trigger", trigger="award_notice", date="2025-03-31", expect=422)
    assert "合同签订（中标人）" in res.json["message"]["trigger"][0]
    res = dl.act(pk, "trigger", trigger="contract_signed", date="2025-04-02", expect=422)
    assert "合同签订日期 2025-04-03" in res.json["message"]["trigger_date"][0]
    dl.act(pk, "trigger", trigger="contract_signed", date="2025-04-03")


def test_an_override_needs_a_written_reason_and_is_audited(dl) -> None:  # noqa: F811
    from core.models import AuditLog

    pk = _loser(dl)
    res = dl.act(pk, "trigger", trigger="award_notice", date="2025-04-01", override_reason="  ",
                 expect=422)
    assert "书面说明" in res.json["message"]["trigger_date"][0]
    dl.act(pk, "trigger", trigger="award_notice", date="2025-04-01",
           override_reason="中标通知书实际于4月1日送达（附送达回执）")
    assert _state(dl, pk)["trigger_date"] == "2025-04-01"
    with dl.app.app_context():
        row = db.session.execute(select(AuditLog).where(
            AuditLog.action == "trigger_override", AuditLog.object_id == str(pk))).scalar_one()
        assert row.reason == "中标通知书实际于4月1日送达（附送达回执）"
        assert "2025-03-31" in row.after and row.actor == "agency"


def test_a_withdrawal_must_be_before_the_bid_deadline(dl) -> None:  # noqa: F811
    from addons.procurement_base.models import Bid

    pk = _loser(dl)
    with dl.app.app_context():  # the losing bid, withdrawn (as recorded by the bid's own flow)
        bid = db.session.get(Bid, dl.ids["lost"])
        bid.status = "withdrawn"
        db.session.commit()
    res = dl.act(pk, "trigger", trigger="withdrawal", date="2025-03-25", expect=422)
    assert "晚于投标截止时间 2025-03-24 09:00" in res.json["message"]["trigger_date"][0]
    res = dl.act(pk, "trigger", trigger="award_notice", date="2025-03-31", expect=422)
    assert "已撤回" in res.json["message"]["trigger"][0]
    dl.act(pk, "trigger", trigger="withdrawal", date="2025-03-21")


def test_termination_needs_a_terminated_project_and_its_date(dl) -> None:  # noqa: F811
    p = dl.project("CC-2025-T", bid_deadline="2025-03-24T09:00:00")
    pkg = dl.package(p)
    dl.move(p, "publish", date="2025-03-03")
    dl.bid(pkg, "sup_c", "500000.00")
    # the bid is sealed until opening: the deposit is recorded without the link
    pk = dl.deposit("BZJ-T", project=p, package=pkg, bid=None).json["id"]
    res = dl.act(pk, "trigger", trigger="termination", date="2025-03-21", expect=422)
    assert "未终止" in res.json["message"]["trigger"][0]
    dl.move(p, "terminate", reason="采购需求取消")
    import datetime as dt

    from core.services.audit import utcnow

    ended = (utcnow() + dt.timedelta(hours=8)).date()
    res = dl.act(pk, "trigger", trigger="termination", date="2025-03-21", expect=422)
    assert f"项目终止日期 {ended.isoformat()}" in res.json["message"]["trigger_date"][0]
    dl.act(pk, "trigger", trigger="termination", date=ended.isoformat())
