# ruff: noqa: F811  (pytest fixtures imported from the worlds)
"""The e-mall's comparison result and the deposit cleanup announcement submit through
core.notices: with notice_hub they become drafts of the right kind, owner and amount (the
cleanup: one per holding unit, idempotent per cut-off); without it nothing changes."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from core.db import db
from core.tenancy import SYSTEM, use_scope
from tests.addons.emall.em_world import em  # noqa: F401
from tests.conftest import cli, installer
from tests.core.test_web import login_form


def _with_notice_hub(app) -> None:
    assert installer(app).install(["notice_hub"]) == ["notice_hub"]
    assert cli(app, "tenant", "enable", "220000", "notice_hub").exit_code == 0


def test_emall_comparison_result_becomes_a_notice_draft(em):
    from addons.emall.models import EmallComparison
    from addons.notice_hub.models import Notice

    _with_notice_hub(em.app)
    for s in ("sup_a", "sup_b", "sup_c"):
        em.admit(s, "A0201")
    la = em.listing("sup_a", price="30000.00", reference="30000.00")
    lb = em.listing("sup_b", price="29000.00", reference="29000.00")
    em.cart("pur", (la, 2))
    cid = em.checkout("pur").json["result"]["comparison"]["id"]
    for user, listing, price in (("sup_a", la, "29500.00"), ("sup_b", lb, "28800.00")):
        em.call("POST", "emall_quote/", user, {"comparison": cid, "lines": [
            {"line": 1, "listing_id": listing, "unit_price": price}]}, expect=201)
    with em.app.app_context():
        db.session.execute(update(EmallComparison).where(EmallComparison.id == cid).values(
            quote_deadline=dt.datetime(2020, 1, 1)), execution_options={"erp_unscoped": True})
        db.session.commit()
    em.call("POST", f"emall_comparison/{cid}/award", "pur", {"reason": "仅两家报价，急需"}, expect=200)
    with em.app.app_context(), use_scope(SYSTEM):
        n = db.session.scalars(select(Notice)).one()
        assert (n.kind, n.source, n.source_id, n.status) == ("emall_result", "emall.emall_comparison", cid, "draft")
        assert n.amount == 57600 and n.publisher_org_id == n.purchaser_org_id == em.org["pur_cc"]
        assert "成交金额：57,600.00 元" in n.summary


def test_deposit_cleanup_announcement_submits_one_notice_per_holder(app):
    from addons.deposit_ledger import cleanup
    from addons.notice_hub.models import Notice

    assert "deposit_ledger" in installer(app).install(["deposit_ledger"], demo=True)
    # without notice_hub the page still lists the deposits and says so when submitted
    client = app.test_client()
    login_form(client)
    page = client.get("/deposit/cleanup/announcement?cutoff=2022-05-01").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    res = client.post("/deposit/cleanup/announcement/submit", data={"cutoff": "2022-05-01", "csrf_token": token},
                      follow_redirects=True)
    assert "本地区未启用公告发布模块" in res.get_data(as_text=True)
    _with_notice_hub(app)
    res = client.post("/deposit/cleanup/announcement/submit", data={"cutoff": "2022-05-01", "csrf_token": token},
                      follow_redirects=True)
    assert "份保证金清理公告" in res.get_data(as_text=True)
    with app.app_context(), use_scope(SYSTEM):
        df = cleanup.announcement(db.session, dt.date(2022, 5, 1))
        notices = db.session.scalars(select(Notice).order_by(Notice.id)).all()
        assert len(notices) == len(set(df["holder"])) > 0
        assert {n.kind for n in notices} == {"deposit_cleanup"} and {n.status for n in notices} == {"draft"}
        assert all(n.publisher_org_id == n.source_id for n in notices)
        again = cleanup.announce(db.session, dt.date(2022, 5, 1))
        db.session.commit()
        assert {r.notice_id for r in again} == {n.id for n in notices}
