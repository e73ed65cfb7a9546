"""Issue 12 finding 4: nothing that recomputes a draw is shown before the award notice.

After a draw request closes, the record used to give the purchaser the seed, each draw's
pool and plan: re-running the published draw function named the hidden experts of a project
still 已评审. Now the seed, pools and plans are disclosed only when the names are published
with the award notice (财库〔2016〕198号); before that only the seed's hash, on the API and on
the verification page, to every region user (agency and auditor included). The platform
admin and ``erp expert replay-draw`` verify at any time.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from core.db import db
from tests.addons.expert_credit.ec_world import draw, ec, pb, request  # noqa: F401
from tests.addons.procurement_base.pb_world import PASSWORD
from tests.conftest import cli
from tests.core.test_web import login_form

ROLES = ("pur", "agency", "auditor")


def _closed_draw(ec):  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import DrawRequest

    for _ in range(5):
        ec.expert()
    rid = request(ec, count=2, reserves=1)
    draw_id, _ = draw(ec, rid)
    with ec.app.app_context():
        req = db.session.get(DrawRequest, rid)
        s.close_request(db.session, req)
        db.session.commit()
        return rid, draw_id, req.seed, req.seed_hash


def _record(ec, rid: int, user: str) -> dict:  # noqa: F811
    return ec.pb.call("GET", f"ec_draw_request/{rid}/record", user, expect=200).json["result"]


def _award(ec) -> None:  # noqa: F811
    from addons.procurement_base.models import Project

    with ec.app.app_context():
        p = db.session.get(Project, ec.project)
        p.status, p.opening_date, p.award_date = "awarded", dt.date(2025, 3, 24), dt.date(2025, 3, 31)
        db.session.commit()


def test_seed_pool_and_plan_hidden_until_the_award_notice(ec) -> None:  # noqa: F811
    rid, draw_id, seed, seed_hash = _closed_draw(ec)
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == seed_hash
    for user in ROLES:
        rec = _record(ec, rid, user)
        assert rec["status"] == "closed"
        assert rec["seed"] is None and rec["seed_hash"] == seed_hash, user
        assert rec["seed_revealed_at"] is None, user
        for d in rec["draws"]:
            assert d["pool"] is None and d["plan"] is None, user
            assert "replay_ok" not in d, user
            assert d["pool_hash"], "the pool's hash is public from the draw"
        client = ec.app.test_client()
        login_form(client, user, PASSWORD)
        html = client.get(f"/drawrequestview/show/{rid}").get_data(as_text=True)
        assert seed_hash in html and seed not in html, user

    # the platform admin verifies at any time, and so does the CLI
    rec = _record(ec, rid, "admin")
    assert rec["seed"] == seed and rec["draws"][0]["replay_ok"] is True
    res = cli(ec.app, "expert", "replay-draw", str(draw_id))
    assert res.exit_code == 0 and "OK" in res.output, res.output

    # the award notice publishes the names, and with them the seed, pools and plans
    _award(ec)
    for user in ROLES:
        rec = _record(ec, rid, user)
        assert rec["seed"] == seed, user
        assert rec["draws"][0]["pool"] and rec["draws"][0]["plan"], user
        assert rec["draws"][0]["replay_ok"] is True, user
        client = ec.app.test_client()
        login_form(client, user, PASSWORD)
        assert seed in client.get(f"/drawrequestview/show/{rid}").get_data(as_text=True)


def test_an_open_request_never_shows_its_seed(ec) -> None:  # noqa: F811
    rid, *_ = _closed_draw(ec)
    rid2 = request(ec, count=1)
    _award(ec)
    assert _record(ec, rid2, "pur")["seed"] is None  # not closed: nothing to verify yet
    assert _record(ec, rid, "pur")["seed"] is not None


def test_the_audit_log_never_holds_the_seed(ec) -> None:  # noqa: F811
    """Auditors read the audit log: closing (or cancelling) a request records the seed's
    hash, never the seed, so the log cannot be used to recompute a draw before the award."""
    from tests.conftest import query

    rid, _draw_id, seed, seed_hash = _closed_draw(ec)
    rows = query(ec.app, "SELECT action, before, after, reason FROM erp_audit_log")
    assert rows, "the close transition is audited"
    assert not [r for r in rows if any(seed in (v or "") for v in r)], "seed in the audit log"
