"""The demo data: loads fast, every recorded draw replays, conflicts are real."""

from __future__ import annotations

import time

from tests.conftest import cli, installer, query


def test_demo_loads_and_every_draw_replays(app) -> None:
    inst = installer(app)
    t0 = time.perf_counter()
    assert cli(app, "module", "install", "expert_credit", "--demo").exit_code == 0
    elapsed = time.perf_counter() - t0
    print(f"install procurement_base + expert_credit with demo: {elapsed:.1f}s")
    assert "expert_credit" in inst.installed()
    assert query(app, "SELECT count(*) FROM ec_expert")[0][0] >= 300
    res = cli(app, "expert", "replay-draw", "--all")
    assert res.exit_code == 0, res.output
    assert ", 0 differ" in res.output
    # avoidance conflicts with demo suppliers were recorded with their reasons
    reasons = {r for (text,) in query(app, "SELECT reasons FROM ec_draw_exclusion")
               for r in text.split(",")}
    assert {"employment", "director", "relative"} & reasons
    # records in 长春市 and 吉林市 for every scoped table
    for table in ("ec_expert", "ec_draw_request", "ec_assignment", "ec_evaluation",
                  "ec_bad_record", "ec_credit_score", "ec_expert_relation", "ec_expert_specialty"):
        codes = {c[:4] for (c,) in query(app, f"SELECT r.code FROM {table} t JOIN erp_region r "
                                              "ON r.id = t.region_id")}
        assert {"2201", "2202"} <= codes, table
    # the demo evaluations' totals follow the default weights
    for e, c, d, i, total in query(app, "SELECT score_ethics, score_competence, score_discipline, "
                                        "score_integrity, total FROM ec_evaluation WHERE total IS NOT NULL"):
        from decimal import Decimal

        assert (Decimal(str(e)) * 20 + Decimal(str(c)) * 50 + Decimal(str(d)) * 20 + Decimal(str(i)) * 10) / 100 == Decimal(str(total))
