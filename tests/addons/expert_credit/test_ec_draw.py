"""The draw: the documented function (ec-draw-v1), replays, avoidance rules (one test per
rule), the window rule, shortfall and further draws, and the statistical band test."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
from sqlalchemy import select

from addons.expert_credit import draw as algo
from core.db import db
from tests.addons.expert_credit.ec_world import ON, REVIEW, draw, ec, pb, request  # noqa: F401
from tests.conftest import cli

SEED = bytes(range(32))


# -- the pure function ----------------------------------------------------------------------
def test_the_function_is_the_documented_one() -> None:
    """Re-implemented here from docs/expert_credit.md: weighted picks by rejection-sampled
    HMAC-SHA256 blocks over the pool in id order."""
    pool = [("ZJ0000003", 12), ("ZJ0000005", 10), ("ZJ0000008", 6), ("ZJ0000013", 10),
            ("ZJ0000021", 12)]

    def reference(seed, seq, line, pool, k):
        rest, out, c = list(pool), [], 0
        while len(out) < k and rest:
            total = sum(w for _, w in rest)
            while True:
                msg = f"ec-draw-v1|{seq}|{line}|{c}".encode()
                x = int.from_bytes(hmac.new(seed, msg, hashlib.sha256).digest(), "big")
                c += 1
                if x < 2**256 - 2**256 % total:
                    break
            r, acc = x % total, 0
            for i, (e, w) in enumerate(rest):
                acc += w
                if r < acc:
                    out.append(e)
                    rest.pop(i)
                    break
        return out

    for seq in (1, 2):
        assert algo.pick(SEED, seq, 1, pool, 3) == reference(SEED, seq, 1, pool, 3)
    assert algo.seed_hash(SEED) == hashlib.sha256(SEED).hexdigest()
    text = algo.pool_text([(1, pool)])
    assert text.splitlines()[0] == "1|ZJ0000003|12"
    assert algo.parse_pool(text) == {1: pool}


def test_same_inputs_same_result_and_changes_as_documented() -> None:
    pool = [(f"ZJ{i:07d}", 10) for i in range(1, 201)]
    first = algo.pick(SEED, 1, 1, pool, 7)
    assert algo.pick(SEED, 1, 1, pool, 7) == first
    assert len(set(first)) == 7
    # another seed: another result
    assert algo.pick(bytes(32), 1, 1, pool, 7) != first
    # the first m picks do not depend on k (a replay of a shortfall draw reproduces it)
    assert algo.pick(SEED, 1, 1, pool, 3) == first[:3]
    # a further draw (seq 2) uses another stream
    assert algo.pick(SEED, 2, 1, pool, 7) != first
    # another pool (one expert fewer): W changes, so r = x mod W changes: another result
    assert algo.pick(SEED, 1, 1, pool[:-1], 7) != first
    # another weight for one expert changes the hash and (generally) the result
    heavier = [(c, 30 if c == first[0] else w) for c, w in pool]
    assert algo.pool_hash(algo.pool_text([(1, heavier)])) != algo.pool_hash(algo.pool_text([(1, pool)]))
    # a pool with a different weight or member changes the hash
    assert algo.pool_hash(algo.pool_text([(1, pool)])) != algo.pool_hash(
        algo.pool_text([(1, pool[1:])]))
    # zero weights never drawn; bad pools refused
    assert algo.pick(SEED, 1, 1, [("A", 0), ("B", 1)], 2) == ["B"]
    with pytest.raises(ValueError):
        algo.pick(SEED, 1, 1, [("B", 1), ("A", 1)], 1)
    with pytest.raises(ValueError):
        algo.pick(b"short", 1, 1, pool, 1)


def test_band_frequencies_follow_the_weights() -> None:
    """20,000 seeded single picks from 10 excellent (12), 10 good (10), 10 pass (6) and
    5 failing (0) experts: each band's share is within 1.5 percentage points of
    n_b * w_b / sum (3.4 standard deviations at most ~0.44 pp); failing never drawn."""
    bands = {"excellent": 12, "good": 10, "pass": 6, "fail": 0}
    pool, band_of = [], {}
    eid = 0
    for band, w in bands.items():
        for _ in range(10 if band != "fail" else 5):
            eid += 1
            pool.append((f"ZJ{eid:07d}", w))
            band_of[f"ZJ{eid:07d}"] = band
    total = sum(w for _, w in pool)
    counts = dict.fromkeys(bands, 0)
    n = 20_000
    for i in range(n):
        seed = hashlib.sha256(f"band-test-{i}".encode()).digest()
        for e in algo.pick(seed, 1, 1, pool, 1):
            counts[band_of[e]] += 1
    assert counts["fail"] == 0
    for band, w in bands.items():
        expected = 10 * w / total if band != "fail" else 0
        assert abs(counts[band] / n - expected) < 0.015, (band, counts[band] / n, expected)


# -- database-backed -----------------------------------------------------------------------
def _ids(ec, fn):  # noqa: F811
    with ec.app.app_context():
        return fn()


def _eligible(ec, req_id):  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import DrawRequest

    with ec.app.app_context():
        req = db.session.get(DrawRequest, req_id)
        ctx = s.context_for(db.session, req)
        ids: dict[str, int] = {}
        pool = [ids[code] for code, _ in s.eligible_pool(db.session, ctx, ec.a02, ids)]
        excl = s.exclusions(db.session, ctx, ec.a02)
        return pool, excl


def test_replay_reproduces_every_draw_and_the_cli_finds_tampering(ec) -> None:  # noqa: F811
    for _ in range(6):
        ec.expert()
    req = request(ec, count=2, reserves=1)
    d1, picks = draw(ec, req)
    assert len(picks) == 3
    res = cli(ec.app, "expert", "replay-draw", str(d1))
    assert res.exit_code == 0, res.output
    assert "OK" in res.output and "1 replayed, 0 differ" in res.output
    # tamper with the recorded result: the replay fails, exit non-zero
    from addons.expert_credit.models import Draw

    with ec.app.app_context():
        d = db.session.get(Draw, d1)
        a, b = d.result.splitlines()[:2]
        d.result = "\n".join([b, a, *d.result.splitlines()[2:]])
        db.session.commit()
    res = cli(ec.app, "expert", "replay-draw", "--all")
    assert res.exit_code != 0
    assert "MISMATCH" in res.output and "1 differ" in res.output


@pytest.mark.parametrize("rule", [
    "employment", "employment_old", "director", "shareholder", "relative", "relative_ended",
    "purchaser_staff", "purchaser_relation", "finance_supervisor", "suspended",
    "suspension_over", "dismissed", "failing_score", "credit_code_fallback", "name_fallback",
])
def test_each_avoidance_rule(ec, rule) -> None:  # noqa: F811
    """One expert per case next to a clean one; the case expert is excluded with the
    reason named (or, for *_old / *_ended / suspension_over, is eligible)."""
    clean = ec.expert("无关专家")
    three_years = dt.date(2022, 3, 27)  # within 3 years of the 2025-03-26 review
    cases = {
        "employment": (dict(relations=[dict(kind="employment", org="sup_a", date_from=dt.date(2015, 1, 1), date_to=three_years)]), "employment"),
        "employment_old": (dict(relations=[dict(kind="employment", org="sup_a", date_to=dt.date(2022, 3, 25))]), None),
        "director": (dict(relations=[dict(kind="director", org="sup_c", detail="监事")]), "director"),
        "shareholder": (dict(relations=[dict(kind="shareholder", org="sup_c", date_to=dt.date(2024, 1, 1))]), "shareholder"),
        "relative": (dict(relations=[dict(kind="relative", org="sup_a", detail="配偶任法定代表人")]), "relative"),
        "relative_ended": (dict(relations=[dict(kind="relative", org="sup_a", date_to=dt.date(2025, 1, 1))]), None),
        "purchaser_staff": (dict(employer="pur_cc"), "purchaser_staff"),
        "purchaser_relation": (dict(relations=[dict(kind="employment", org="pur_cc")]), "employment"),
        "finance_supervisor": (dict(finance=True), "finance_supervisor"),
        "suspended": (dict(status="suspended", until=dt.date(2025, 3, 26)), "suspended"),
        "suspension_over": (dict(status="suspended", until=dt.date(2025, 3, 25)), None),
        "dismissed": (dict(status="dismissed"), "dismissed"),
        "failing_score": (dict(band="fail"), "failing_score"),
        "credit_code_fallback": (dict(relations=[dict(kind="director", org_credit_code=ec.pb.code["sup_a"], org_name="甲公司（旧称）")]), "director"),
        "name_fallback": (dict(relations=[dict(kind="shareholder", org_name="长春丙设备（测试）有限公司")]), "shareholder"),
    }
    kwargs, reason = cases[rule]
    other = ec.expert(f"案例专家-{rule}", **kwargs)
    req = request(ec, count=1)
    pool, excl = _eligible(ec, req)
    assert clean in pool
    if reason is None:
        assert other in pool and other not in excl
    else:
        assert other not in pool
        assert reason in excl[other], excl.get(other)
    # and the recorded draw keeps the exclusion with its reason
    d, picks = draw(ec, req)
    assert other not in picks or reason is None
    if reason:
        from addons.expert_credit.models import DrawExclusion

        with ec.app.app_context():
            row = db.session.execute(select(DrawExclusion).where(
                DrawExclusion.draw_id == d, DrawExclusion.expert_id == other)).scalar_one()
            assert reason in row.reasons.split(",")


def test_booked_that_day_and_declined_are_excluded(ec) -> None:  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import Assignment

    a, b, c = ec.expert(), ec.expert(), ec.expert()
    first = request(ec, count=1, seed=bytes(32))
    _, picks = draw(ec, first)
    booked = picks[0]
    second = request(ec, count=2)
    pool, excl = _eligible(ec, second)
    assert booked not in pool and "booked" in excl[booked]
    # another day: not booked
    other_day = request(ec, count=1, review=REVIEW + dt.timedelta(days=1), on=ON + dt.timedelta(days=1))
    pool, _ = _eligible(ec, other_day)
    assert booked in pool
    # declined in this request: excluded from its further draws
    _, picks2 = draw(ec, second)
    with ec.app.app_context():
        asg = db.session.execute(select(Assignment).where(Assignment.request_id == second,
                                                          Assignment.expert_id == picks2[0])).scalar_one()
        s.respond(db.session, asg, False, reason="出差")
        db.session.commit()
    pool, excl = _eligible(ec, second)
    assert picks2[0] not in pool and "declined" in excl[picks2[0]]
    assert {a, b, c} >= set(picks2) | {booked}


def test_conflicted_expert_never_drawn_over_10000_seeded_draws(ec) -> None:  # noqa: F811
    """The eligible pool comes from SQL once; 10,000 seeds run the pure draw over it; a
    smaller DB-backed check runs 25 complete draws through the service."""
    conflicted = [ec.expert(relations=[dict(kind="director", org="sup_a")]),
                  ec.expert(employer="pur_cc"),
                  ec.expert(relations=[dict(kind="relative", org="sup_c")])]
    clean = [ec.expert() for _ in range(9)]
    req = request(ec, count=3)
    pool, _ = _eligible(ec, req)
    assert set(pool) == set(clean)
    weighted = [(e, 10) for e in pool]
    for i in range(10_000):
        seed = hashlib.sha256(f"conflict-{i}".encode()).digest()
        assert not set(algo.pick(seed, 1, 1, weighted, 3)) & set(conflicted)
    from addons.expert_credit import services as s
    from addons.expert_credit.models import DrawRequest

    for i in range(25):
        rid = request(ec, count=3, seed=hashlib.sha256(f"db-{i}".encode()).digest())
        _, picks = draw(ec, rid)
        assert len(picks) == 3 and not set(picks) & set(conflicted)
        with ec.app.app_context():  # free the experts for the next request of the same day
            s.cancel_request  # noqa: B018
            db.session.execute(
                __import__("sqlalchemy").delete(__import__(
                    "addons.expert_credit.models", fromlist=["Assignment"]).Assignment)
                .where(__import__("addons.expert_credit.models", fromlist=["Assignment"])
                       .Assignment.request_id == rid))
            db.session.get(DrawRequest, rid)
            db.session.commit()


def test_window_rule_past_date_and_negotiation_exemption(ec) -> None:  # noqa: F811
    from addons.expert_credit import services as s
    from addons.procurement_base.models import Project
    from addons.procurement_base.services import RuleError

    ec.expert()
    with ec.app.app_context():
        p = db.session.get(Project, ec.project)
        line = [s.LineSpec(ec.a02, 1)]
        # 3 working days before (Friday 2025-03-21 for Wednesday 2025-03-26): refused
        with pytest.raises(RuleError) as err:
            s.create_request(db.session, p, REVIEW, line, on=dt.date(2025, 3, 21))
        assert "不得早于评审日前 2 个工作日" in err.value.messages["review_at"][0]
        # the weekend does not count: Monday is 2 working days before Wednesday -> allowed
        s.create_request(db.session, p, REVIEW, line, on=dt.date(2025, 3, 24))
        # a past review date: refused
        with pytest.raises(RuleError) as err:
            s.create_request(db.session, p, REVIEW, line, on=dt.date(2025, 3, 27))
        assert "已过" in err.value.messages["review_at"][0]
        # negotiation-type methods are exempt from the window (not from the past-date rule)
        p.method = "competitive_negotiation"
        s.create_request(db.session, p, REVIEW, line, on=dt.date(2025, 3, 10))
        db.session.rollback()


def test_shortfall_is_reported_and_a_further_draw_joins_the_chain(ec) -> None:  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import Assignment, Draw

    experts = [ec.expert() for _ in range(3)]
    req = request(ec, count=5)
    d1, picks = draw(ec, req)
    assert sorted(picks) == sorted(experts)
    with ec.app.app_context():
        d = db.session.get(Draw, d1)
        assert d.shortfall == 2 and d.needed == 5
        assert "符合条件 3 人，需要 5 人" in d.shortfall_note and "缺 2 人" in d.shortfall_note
    # one declines; two new experts join the pool; the further draw fills 3 places
    with ec.app.app_context():
        asg = db.session.execute(select(Assignment).where(Assignment.request_id == req,
                                                          Assignment.expert_id == picks[0])).scalar_one()
        s.respond(db.session, asg, False, reason="身体原因")
        db.session.commit()
    new = [ec.expert(), ec.expert()]
    d2, picks2 = draw(ec, req)
    assert sorted(picks2) == sorted(new)
    with ec.app.app_context():
        d = db.session.get(Draw, d2)
        assert d.seq == 2 and d.parent_id == d1 and d.needed == 3 and d.shortfall == 1
    res = cli(ec.app, "expert", "replay-draw", "--all")
    assert res.exit_code == 0, res.output
    assert "2 replayed, 0 differ" in res.output


def test_reserve_steps_in_when_a_main_expert_declines(ec) -> None:  # noqa: F811
    from addons.expert_credit import services as s
    from addons.expert_credit.models import Assignment, Evaluation

    for _ in range(5):
        ec.expert()
    req = request(ec, count=2, reserves=1)
    _, picks = draw(ec, req)
    with ec.app.app_context():
        rows = {a.expert_id: a for a in db.session.execute(
            select(Assignment).where(Assignment.request_id == req)).scalars()}
        assert [rows[e].reserve for e in picks] == [False, False, True]
        s.respond(db.session, rows[picks[2]], True)  # the reserve agrees to stand by
        s.respond(db.session, rows[picks[0]], False, reason="回避")
        db.session.commit()
        assert rows[picks[2]].reserve is False
        # evaluations exist for the main experts who accepted
        evs = db.session.execute(select(Evaluation.expert_id)).scalars().all()
        assert picks[2] in evs
        # a further draw is refused: the line is full again
        from addons.expert_credit.models import DrawRequest
        from addons.procurement_base.services import RuleError

        s.respond(db.session, rows[picks[1]], True)
        with pytest.raises(RuleError):
            s.perform_draw(db.session, db.session.get(DrawRequest, req), on=ON)
