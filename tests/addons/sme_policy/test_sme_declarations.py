"""The 中小企业声明函 per bid (bad input, who may file it, until the deadline), a reserved
package with fewer than three SME bids stopped at opening and re-run unreserved, and the
price deduction offered to the evaluation."""

from __future__ import annotations

from decimal import Decimal

from tests.addons.sme_policy.sme_world import DEADLINE, NOTICE, OPENING


def _published(sme, number: str, **extra) -> tuple[int, int]:
    p = sme.project(number, budget="1000000.00", bid_deadline=DEADLINE, **extra)
    pkg = sme.package(p, budget="1000000.00", sme_reserved=extra.get("sme_measure") == "whole")
    if extra.get("sme_measure") != "whole":
        sme.policy(p, reason="测试：不预留", deduction_rate="10", group_deduction_rate="5")
    sme.move(p, "publish", date=NOTICE)
    return p, pkg


def test_declaration_bad_input_is_refused_by_field(sme) -> None:
    from addons.sme_policy.models import Declaration

    p, pkg = _published(sme, "DCL-1")
    bid = sme.bid(pkg, "sup_a", "900000.00")
    for body, field in (({"size": "large"}, "size"), ({"size": "huge"}, "size"),
                        ({"industry": "spaceflight"}, "industry"),
                        ({"arrangement": "consortium"}, "small_micro_share"),
                        ({"small_micro_share": "40"}, "small_micro_share"),
                        ({"arrangement": "team"}, "arrangement"),
                        ({"employees": -3}, "employees"),
                        ({"declared_on": "2025-03-25"}, "declared_on")):
        res = sme.declare(bid, expect=422, **body)
        assert field in res.json["message"], (body, res.json)
    assert sme.count(Declaration) == 0
    sme.declare(bid, user="sup_a")
    assert sme.declare(bid, expect=409).json["code"] == "duplicate"


def test_only_the_bidder_files_its_declaration(sme) -> None:
    p, pkg = _published(sme, "DCL-2")
    bid = sme.bid(pkg, "sup_a", "900000.00")
    # another supplier does not even see the bid before opening
    res = sme.declare(bid, user="sup_b", expect=422)
    assert "bid" in res.json["message"]
    from addons.sme_policy.models import Declaration

    assert sme.count(Declaration) == 0


def test_reserved_package_needs_three_sme_bids_then_reruns_unreserved(sme) -> None:
    from addons.procurement_base.models import Package, Project
    from addons.sme_policy.models import ProjectPolicy
    from core.db import db

    p, pkg = _published(sme, "DCL-3", sme_measure="whole")
    a = sme.bid(pkg, "sup_a", "900000.00")
    b = sme.bid(pkg, "sup_b", "910000.00")
    sme.bid(pkg, "sup_c", "920000.00")          # large firm: no declaration
    da = sme.declare(a, size="small").json["id"]
    sme.declare(b, user="sup_b", size="micro")
    res = sme.move(p, "open_bidding", date=OPENING, expect=422)
    assert "不足 3 家" in str(res.get_json())
    # a published project's settings cannot be added any more
    assert sme.policy(p, expect=422).json["message"]["project"]
    # the service behind the 转为非预留重新采购 action
    with sme.app.app_context():
        from addons.sme_policy import policy
        from core.tenancy import SYSTEM, use_scope

        with use_scope(SYSTEM):
            project = db.session.get(Project, p)
            new = policy.rerun_unreserved(db.session, project)
            db.session.commit()
            new_id = new.id
        project = db.session.get(Project, p)
        assert project.status == "terminated"
        copy = db.session.get(Project, new_id)
        assert copy.status == "draft" and copy.sme_measure == "none"
        assert copy.number == "DCL-3-R"
        pkgs = db.session.execute(db.select(Package).where(Package.project_id == new_id)).scalars().all()
        assert [x.sme_reserved for x in pkgs] == [False]
        rp = db.session.execute(db.select(ProjectPolicy).where(
            ProjectPolicy.project_id == new_id)).scalar_one()
        assert rp.rerun_of_id == p and "不足 3 家" in rp.reason
    # the re-run publishes: its reason is recorded
    sme.move(new_id, "publish", date=NOTICE)
    # the terminated procurement's declaration can no longer change (saving it unchanged is fine)
    assert "bid" in sme.put("sme_declaration", da, {"size": "micro"}, "sup_a",
                            expect=422).json["message"]
    sme.put("sme_declaration", da, {"size": "small"}, "sup_a", expect=200)


def test_rerun_action_through_the_api(sme) -> None:
    p, pkg = _published(sme, "DCL-4", sme_measure="whole")
    a = sme.bid(pkg, "sup_a", "900000.00")
    sme.declare(a)
    # the settings of a whole-reserved project are created before publication
    q = sme.project("DCL-5", budget="1000000.00", bid_deadline=DEADLINE, sme_measure="whole")
    qpkg = sme.package(q, budget="1000000.00", sme_reserved=True)
    pol = sme.policy(q, small_micro_percent="100").json["id"]
    sme.move(q, "publish", date=NOTICE)
    sme.declare(sme.bid(qpkg, "sup_a", "800000.00"))
    res = sme.call("POST", f"sme_project/{pol}/transition/rerun", "pur", {"number": "DCL-5-X"},
                   expect=200)
    assert res.json["result"]["new_number"] == "DCL-5-X"
    # nothing to re-run any more: the old project is terminated
    res = sme.call("POST", f"sme_project/{pol}/transition/rerun", "pur", {}, expect=None)
    assert res.status_code in (404, 409, 422), res.json
    # another unit's purchaser may not re-run it
    del p, pkg


def test_price_deduction_for_small_and_micro_firms(sme) -> None:
    from addons.procurement_base.models import Bid
    from addons.procurement_base.services import evaluated_price
    from core.db import db

    p, pkg = _published(sme, "DCL-6")
    small = sme.bid(pkg, "sup_a", "900000.00")
    big = sme.bid(pkg, "sup_c", "880000.00")
    group = sme.bid(pkg, "sup_b", "890000.00")
    sme.declare(small, size="small")
    sme.declare(group, user="sup_b", size="medium", arrangement="consortium", small_micro_share="30")
    with sme.app.app_context():
        price, adj = evaluated_price(db.session, db.session.get(Bid, small))
        assert price == Decimal("810000.00") and adj[0].rate == Decimal("10")
        price, adj = evaluated_price(db.session, db.session.get(Bid, big))
        assert price == Decimal("880000.00") and adj == []
        price, adj = evaluated_price(db.session, db.session.get(Bid, group))
        assert price == Decimal("845500.00") and "联合体" in adj[0].reason


def test_lists_answer_every_actor(sme) -> None:
    """The APIs list with each actor's record rules applied (no dotted columns of other
    region-scoped records: the rules do not reach aliases)."""
    p, pkg = _published(sme, "DCL-7")
    sme.declare(sme.bid(pkg, "sup_a", "900000.00"))
    for user in ("admin", "pur", "agency", "sup_a", "sup_b", "auditor", "city_admin", "unit"):
        for resource in ("sme_project", "sme_declaration", "sme_disclosure"):
            res = sme.call("GET", f"{resource}/", user)
            assert res.status_code in (200, 403), (user, resource, res.status_code)
    assert sme.call("GET", "sme_project/", "sup_a", expect=200).json["count"] == 1
    assert sme.call("GET", "sme_declaration/", "sup_a", expect=200).json["count"] == 1
    # another supplier sees no declaration before opening
    assert sme.call("GET", "sme_declaration/", "sup_b", expect=200).json["count"] == 0
