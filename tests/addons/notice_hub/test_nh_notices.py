# ruff: noqa: F811  (pytest fixtures imported from the worlds)
"""Notices through core.notices: drafts taken idempotently, the legal deadline in working
days, publication by the owner only, immutability, 更正 of the same region only, withdrawn
records, and the outbox row written with the publication."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.db import db
from tests.addons.notice_hub.nh_world import draft, nh, pb, submit  # noqa: F401


def _notice(w, pk):
    from addons.notice_hub.models import Notice

    with w.app.app_context():
        n = db.session.get(Notice, pk)
        return {c: getattr(n, c) for c in ("status", "number", "due_date", "delay_workdays", "body",
                                           "title", "refers_to_id", "ocid")}


def test_submit_is_idempotent_and_counts_working_days(nh):
    ref = submit(nh, draft(nh, deadline_workdays=2))
    assert ref is not None and ref.module == "notice_hub" and ref.status == "draft"
    # 2025-03-31 is a Monday: 2 working days later is Wednesday 2 April
    assert _notice(nh, ref.notice_id)["due_date"] == dt.date(2025, 4, 2)
    again = submit(nh, draft(nh, deadline_workdays=2, title="更新后的标题"))
    assert again.notice_id == ref.notice_id
    assert _notice(nh, ref.notice_id)["title"] == "更新后的标题"
    # the type's default deadline applies when the module gives none (award: 2 working days);
    # 2025-04-03 Thu + 2 working days skips 清明 (4-6 April) -> Tuesday 8 April
    other = submit(nh, draft(nh, source_id=2, event_date=dt.date(2025, 4, 3)))
    assert _notice(nh, other.notice_id)["due_date"] == dt.date(2025, 4, 8)


def test_submit_without_required_fields_is_refused(nh):
    import pytest

    from core.errors import RuleError
    from core.notices import submit as core_submit

    d = draft(nh, title=" ", body="")
    d.publisher_org_id = None
    with nh.app.app_context():
        with pytest.raises(RuleError) as exc:
            core_submit(db.session, d)
        db.session.rollback()
    assert {"title", "body", "publisher_org_id"} <= set(exc.value.messages)
    assert nh.call("GET", "nh_notice/", expect=200).json["count"] == 0


def test_owner_publishes_draft_other_region_may_not(nh):
    ref = submit(nh, draft(nh))
    pk = ref.notice_id
    # another organisation's official does not even see it; a supervisor may not publish
    nh.call("POST", f"nh_notice/{pk}/publish", "nh_jl", {}, expect=404)
    res = nh.call("POST", f"nh_notice/{pk}/publish", "nh_sup", {})
    assert res.status_code in (403, 404), res.json
    res = nh.call("POST", f"nh_notice/{pk}/publish", "nh_pur", {}, expect=200)
    n = _notice(nh, pk)
    assert n["status"] == "published" and n["number"].startswith("JLGG-220102-")
    assert "采购人：长春市第二中学（测试）" in n["body"]
    # published long after the deadline (2025-04-02): the delay is counted in working days
    assert n["delay_workdays"] > 0
    # immutable: edit and delete refused, nothing changed; publishing again refused
    res = nh.call("PUT", f"nh_notice/{pk}", "nh_pur", {"title": "改标题"})
    assert res.status_code == 409, res.json
    assert nh.call("DELETE", f"nh_notice/{pk}", "nh_pur").status_code == 409
    assert _notice(nh, pk)["title"] == "长春市第二中学教学设备采购项目中标结果公告"
    assert nh.call("POST", f"nh_notice/{pk}/publish", "nh_pur", {}).status_code in (409, 422)
    # a submit of the same record after publication returns the published notice unchanged
    assert submit(nh, draft(nh, title="再次提交")).status == "published"
    assert _notice(nh, pk)["title"] == "长春市第二中学教学设备采购项目中标结果公告"
    # the outbox row was written with the publication
    from addons.notice_hub.models import NoticeOutbox

    with nh.app.app_context():
        rows = db.session.scalars(select(NoticeOutbox)).all()
        assert [(r.key, r.status) for r in rows] == [(f"notice:{pk}:portal", "pending")]


def test_correction_refers_to_original_and_stays_in_its_region(nh):
    pk = submit(nh, draft(nh)).notice_id
    nh.call("POST", f"nh_notice/{pk}/publish", "nh_pur", {}, expect=200)
    # 吉林市's official cannot correct 长春市's notice (it is public: seen, not writable)
    res = nh.call("POST", f"nh_notice/{pk}/correct", "nh_jl", {"title": "更正", "body": "金额更正"})
    assert res.status_code in (403, 404, 422), res.json
    # a module's 更正 draft for another region is refused too
    import pytest

    from core.errors import RuleError
    from core.notices import NoticeRef

    original = NoticeRef("notice_hub", pk, f"/notices/{pk}", "published")
    with pytest.raises(RuleError) as exc:
        submit(nh, draft(nh, org="pur_jl", region="220200", kind="change", source_id=9,
                         refers_to=original))
    assert "refers_to" in exc.value.messages
    # missing fields: field messages, nothing written
    res = nh.call("POST", f"nh_notice/{pk}/correct", "nh_pur", {"title": "更正"})
    assert res.status_code == 422 and "body" in res.json["message"], res.json
    res = nh.call("POST", f"nh_notice/{pk}/correct", "nh_pur",
                  {"title": "关于教学设备采购项目中标结果的更正公告", "body": "中标金额更正为 549,000.00 元。"})
    assert res.status_code == 201, res.json
    cid = res.json["result"]["id"]
    nh.call("POST", f"nh_notice/{cid}/publish", "nh_pur", {}, expect=200)
    c = _notice(nh, cid)
    assert c["refers_to_id"] == pk and c["ocid"] == _notice(nh, pk)["ocid"]
    assert "本公告更正/终止：JLGG-220102-" in c["body"]
    assert _notice(nh, pk)["status"] == "published"


def test_withdrawn_record_cannot_be_published(nh):
    from core.notices import withdraw

    pk = submit(nh, draft(nh, source_id=5)).notice_id
    with nh.app.app_context():
        withdraw(db.session, nh.region["220102"], "procurement_base.pb_project", 5)
        db.session.commit()
    res = nh.call("POST", f"nh_notice/{pk}/publish", "nh_pur", {})
    assert res.status_code in (409, 422), res.json
    assert _notice(nh, pk)["status"] == "draft"
