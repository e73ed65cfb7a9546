"""Credit score formula, bands, bad-record consequences, overdue evaluations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db import db
from tests.addons.expert_credit.ec_world import ec, pb  # noqa: F401

D = Decimal
ON = dt.date(2025, 11, 28)
ARGS = {"window_days": 730, "half_life_days": 365, "initial": D(80)}


def compute_score(*args, **kwargs):
    # imported late: importing the add-on's models before the platform does would leave
    # their tables without the module tag the tenancy layer relies on
    from addons.expert_credit.services import compute_score as fn

    return fn(*args, **kwargs)


def test_formula_time_decay_window_and_penalty() -> None:
    # no evaluations: the initial score
    assert compute_score([], [], ON, **ARGS) == (D("80.00"), D("80.00"), D("0.00"), 0)
    # two evaluations, one a half-life old: weights 1 and 0.5
    score, base, pen, n = compute_score([(ON, D(90)), (ON - dt.timedelta(days=365), D(60))], [], ON,
                                        **ARGS)
    assert (score, n) == (D("80.00"), 2)  # (90*1 + 60*0.5) / 1.5
    # outside the window: ignored
    score, *_ = compute_score([(ON, D(90)), (ON - dt.timedelta(days=731), D(10))], [], ON, **ARGS)
    assert score == D("90.00")
    # penalties inside the window, clamped at 0
    score, base, pen, n = compute_score([(ON, D(90))], [(ON - dt.timedelta(days=10), 30)], ON,
                                        **ARGS)
    assert (score, pen) == (D("60.00"), D("30.00"))
    assert compute_score([(ON, D(50))], [(ON, 100)], ON, **ARGS)[0] == D("0.00")
    # never floats
    assert all(isinstance(x, Decimal) for x in compute_score([(ON, D("77.77"))], [], ON, **ARGS)[:3])


def test_bands_follow_the_settings(ec) -> None:  # noqa: F811
    from addons.expert_credit.services import band_of
    from core.services import settings

    with ec.app.app_context():
        s = db.session
        assert [band_of(D(x), s, None) for x in ("85", "84.99", "75", "60", "59.99")] == [
            "excellent", "good", "good", "pass", "fail"]
        assert band_of(None, s, None) == "new"
        settings.set("expert.band_excellent", "90", None, session=s)
        assert band_of(D("85"), s, None) == "good"
        s.rollback()


@pytest.mark.parametrize("kind,status,months", [
    ("leak", "suspended", 12), ("refuse_assist", "suspended", 3),
    ("improper_benefit", "dismissed", None), ("false_material", "dismissed", None),
])
def test_bad_record_consequences(ec, kind, status, months) -> None:  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import CreditScore, Expert
    from core.models import AuditLog

    eid = ec.expert()
    with ec.app.app_context():
        e = db.session.get(Expert, eid)
        rec = s.record_bad_record(db.session, e, kind, dt.date(2025, 11, 1), "证据：评审录像",
                                  on=ON)
        db.session.commit()
        assert e.status == status
        if months:
            assert e.suspended_until == dt.date(2025 + (11 + months - 1) // 12, (11 + months - 1) % 12 + 1, 28)
            assert "暂停抽取至" in rec.consequence
        hist = db.session.execute(select(CreditScore).where(CreditScore.expert_id == eid)).scalar_one()
        assert hist.penalty == D(s.BAD_DEFAULTS[kind][0]) and hist.score == max(D(80) - hist.penalty, 0)
        actions = {a for (a,) in db.session.execute(select(AuditLog.action).where(
            AuditLog.object_type.in_(("ec_expert", "ec_bad_record"))))}
        assert "create" in actions and f"transition:{'dismiss' if status == 'dismissed' else 'suspend'}" in actions


def test_bad_record_refusals(ec) -> None:  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import BadRecord, Expert
    from addons.procurement_base.services import RuleError

    eid = ec.expert()
    with ec.app.app_context():
        e = db.session.get(Expert, eid)
        with pytest.raises(RuleError) as err:
            s.record_bad_record(db.session, e, "nope", ON + dt.timedelta(days=1), " ", on=ON)
        assert set(err.value.messages) == {"kind", "occurred_on", "evidence"}
        db.session.rollback()
        assert db.session.execute(select(BadRecord)).first() is None


def test_overdue_evaluations_and_lifting_suspensions(ec) -> None:  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import Assignment, Evaluation, Expert
    from tests.addons.expert_credit.ec_world import draw, request

    eid = ec.expert()
    rid = request(ec, count=1)
    draw(ec, rid)
    with ec.app.app_context():
        a = db.session.execute(select(Assignment).where(Assignment.request_id == rid)).scalar_one()
        s.respond(db.session, a, True)
        db.session.commit()
        ev = db.session.execute(select(Evaluation)).scalar_one()
        assert ev.due_date == dt.date(2025, 4, 2)
        assert s.overdue_evaluations(db.session, on=dt.date(2025, 4, 2)) == []
        assert [x.id for x in s.overdue_evaluations(db.session, on=dt.date(2025, 4, 3))] == [ev.id]
        # a late evaluation is accepted (and counted late in the report)
        s.submit_evaluation(db.session, ev, {"ethics": 80, "competence": 80, "discipline": 80,
                                             "integrity": 80}, None, on=dt.date(2025, 4, 7))
        db.session.commit()
        from addons.expert_credit import reports

        row = reports.completion(db.session, on=dt.date(2025, 4, 7))[0]
        assert (row["total"], row["done"], row["on_time"]) == (1, 1, 0)
        e = db.session.get(Expert, eid)
        e.status, e.suspended_until = "suspended", dt.date(2025, 4, 1)
        db.session.commit()
        assert s.lift_expired_suspensions(db.session, on=dt.date(2025, 4, 2)) == 1
        db.session.commit()
        assert e.status == "active"
