# ruff: noqa: F811  (pytest fixtures imported from the worlds)
"""The producers submit through core.notices: procurement_base's award and contract notices
become drafts in notice_hub (due 2 working days after the event); a terminated project
withdraws its drafts; where notice_hub is switched off for a region the award still works
and no notice is made (the module keeps its own record)."""

from __future__ import annotations

from sqlalchemy import select

from core.db import db
from tests.addons.notice_hub.nh_world import nh, pb  # noqa: F401
from tests.conftest import cli


def _notices(w):
    from addons.notice_hub.models import Notice

    with w.app.app_context():
        return [(n.kind, n.source, n.source_id, n.status, n.due_date.isoformat() if n.due_date else None,
                 n.source_withdrawn, n.publisher_org_id)
                for n in db.session.scalars(select(Notice).order_by(Notice.id))]


def test_award_and_contract_submit_notices(nh):
    ids = nh.signed_contract("CC-2025-101")
    rows = _notices(nh)
    # award 2025-03-31 (Mon) + 2 working days; signing 2025-04-03 (Thu) + 2 skips 清明
    assert rows == [
        ("award", "procurement_base.pb_project", ids["project"], "draft", "2025-04-02", False,
         nh.org["agency_cc"]),
        ("contract", "procurement_base.pb_contract", ids["contract"], "draft", "2025-04-08", False,
         nh.org["pur_cc"]),
    ]
    # the award notice names the winner and its price; the agency publishes it
    from addons.notice_hub.models import Notice

    with nh.app.app_context():
        award = db.session.scalars(select(Notice).where(Notice.kind == "award")).one()
        assert "长春甲科技（测试）有限公司" in award.summary and "550,000.00 元" in award.summary
        assert award.ocid.endswith(f"pb-project-{ids['project']}")


def test_terminated_project_withdraws_its_drafts(nh):
    ids = nh.awarded_project("CC-2025-102")
    nh.move(ids["project"], "terminate", reason="采购需求取消")
    assert [r[5] for r in _notices(nh)] == [True]


def test_without_notice_hub_in_the_region_the_award_still_works(nh):
    assert cli(nh.app, "tenant", "disable", "220100", "notice_hub").exit_code == 0
    ids = nh.awarded_project("CC-2025-103")
    assert ids["project"] and _notices(nh) == []
