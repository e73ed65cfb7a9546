"""The daily notices on the demo data: deposits due soon / overdue reach the holding unit's
users, evaluations due reach the evaluating unit, a drawn expert is told of the task; each
once, however often the job runs (by the job runner or by the module's command)."""

from __future__ import annotations

import pytest

from tests.conftest import cli, query
from tests.core.test_every_page import platform, real_addons  # noqa: F401

pytestmark = pytest.mark.slow


def messages(app, kind: str) -> list[tuple]:
    return query(app, "SELECT m.user_id, m.org_id, m.title, m.link FROM erp_message m "
                      "WHERE m.kind = :k ORDER BY m.id", k=kind)


def test_deposit_and_evaluation_notices_are_sent_once(platform) -> None:  # noqa: F811
    app, _ = platform
    res = cli(app, "jobs", "run", "deposit_ledger.notify_due")  # what the worker runs daily
    assert res.exit_code == 0 and "成功：处理" in res.output, res.output
    overdue = messages(app, "deposit.overdue")
    # overdue deposits whose holding unit has someone to tell
    reachable = query(app, "SELECT COUNT(*) FROM dl_deposit d WHERE d.status = 'held' "
                           "AND d.due_date < CURRENT_DATE AND EXISTS (SELECT 1 FROM ab_user u "
                           "WHERE u.organization_id = d.holder_id AND u.active)")[0][0]
    assert reachable > 0 and overdue, "the demo data has overdue deposits of demo units"
    links = {link for *_, link in overdue}
    assert len(links) == reachable, "one message per overdue deposit (to each holder user)"
    # every recipient is a user of the unit that holds the deposit
    for user_id, org_id, _, link in overdue:
        dep = int(link.rsplit("/", 1)[1])
        holder = query(app, "SELECT holder_id FROM dl_deposit WHERE id = :i", i=dep)[0][0]
        assert org_id == holder
        assert query(app, "SELECT organization_id FROM ab_user WHERE id = :u", u=user_id)[0][0] \
            == holder
    again = cli(app, "deposit", "notify-due")
    assert again.exit_code == 0 and "due soon: 0, overdue: 0" in again.output
    assert len(messages(app, "deposit.overdue")) == len(overdue)

    res = cli(app, "jobs", "run", "expert_credit.notify_evaluations")
    assert res.exit_code == 0 and "成功：处理" in res.output, res.output
    first = messages(app, "expert.evaluation_due")
    assert cli(app, "expert", "notify-evaluations").output.strip().endswith(": 0")
    assert messages(app, "expert.evaluation_due") == first


def test_drawn_expert_is_told(platform) -> None:  # noqa: F811
    app, _ = platform
    assert cli(app, "expert", "link-user", "expert", "ZJ0000074").exit_code == 0
    from addons.expert_credit.models import DrawRequest
    from addons.expert_credit.notices import experts_assigned
    from core.db import db

    expert_id = query(app, "SELECT id FROM ec_expert WHERE code = 'ZJ0000074'")[0][0]
    with app.app_context():
        req = db.session.query(DrawRequest).execution_options(erp_unscoped=True).first()
        experts_assigned(db.session, req, [expert_id, expert_id])
        db.session.commit()
    (row,) = messages(app, "expert.assigned")
    user = query(app, "SELECT id FROM ab_user WHERE username = 'expert'")[0][0]
    assert row[0] == user and row[3] == "/assignmentview/list/"
