"""The set-aside rules checked at publication (46号 art. 8, 19号), framework agreements exempt,
and the project settings' bad input."""

from __future__ import annotations


def _msg(res) -> str:
    return str(res.get_json())


def test_small_goods_project_must_be_reserved_or_give_a_reason(sme) -> None:
    p = sme.project("SME-1", budget="1000000.00")
    sme.package(p, budget="1000000.00")
    res = sme.publish(p, expect=422)
    assert "应整体预留给中小企业" in _msg(res)
    with sme.app.app_context():
        from addons.procurement_base.models import Project
        from core.db import db

        assert db.session.get(Project, p).status == "draft"
    sme.policy(p, reason="本项目为专用软件升级，仅原厂可提供")
    sme.publish(p)


def test_whole_reservation_publishes(sme) -> None:
    p = sme.project("SME-2", budget="1500000.00", sme_measure="whole")
    sme.package(p, budget="1500000.00", sme_reserved=True)
    sme.publish(p)


def test_large_project_needs_30_percent_and_60_percent_small_micro(sme) -> None:
    p = sme.project("SME-3", budget="3000000.00", sme_measure="package",
                    sme_reserved_amount="600000.00")
    sme.package(p, "1", budget="600000.00", sme_reserved=True)
    sme.package(p, "2", budget="2400000.00")
    res = sme.publish(p, expect=422)
    assert "30" in _msg(res) and "900,000.00" in _msg(res)

    q = sme.project("SME-4", budget="3000000.00", sme_measure="package",
                    sme_reserved_amount="900000.00")
    sme.package(q, "1", budget="900000.00", sme_reserved=True)
    pol = sme.policy(q, small_micro_percent="50").json["id"]
    res = sme.publish(q, expect=422)
    assert "小微企业的比例应不低于 60" in _msg(res)
    sme.put("sme_project", pol, {"small_micro_percent": "60"}, expect=200)
    sme.publish(q)


def test_works_threshold_is_four_million(sme) -> None:
    p = sme.project("SME-W", budget="3500000.00", catalog=sme.catalog_b)
    sme.package(p, budget="3500000.00")
    res = sme.publish(p, expect=422)
    assert "4,000,000.00" in _msg(res)
    big = sme.project("SME-W2", budget="5000000.00", catalog=sme.catalog_b,
                      sme_measure="package", sme_reserved_amount="1500000.00")
    sme.package(big, budget="1500000.00", sme_reserved=True)
    res = sme.publish(big, expect=422)
    assert "40%" in _msg(res)


def test_framework_agreement_is_exempt(sme) -> None:
    p = sme.project("SME-FA", budget="1000000.00", method="framework_agreement")
    sme.package(p, budget="1000000.00")
    sme.publish(p)


def test_not_suiting_smes_needs_a_reason(sme) -> None:
    p = sme.project("SME-5", budget="1000000.00")
    res = sme.policy(p, suits_sme=False, expect=422)
    assert "reason" in res.json["message"]
    sme.policy(p, suits_sme=False, reason="进口大型医疗设备，无国内中小企业可提供")
    sme.package(p, budget="1000000.00")
    sme.publish(p)


def test_policy_bad_input_changes_nothing(sme) -> None:
    from addons.sme_policy.models import ProjectPolicy

    p = sme.project("SME-6", budget="3000000.00")
    n = sme.count(ProjectPolicy)
    for body, field in (({"deduction_rate": "25"}, "deduction_rate"),
                        ({"deduction_rate": "abc"}, "deduction_rate"),
                        ({"deduction_rate": "12.345"}, "deduction_rate"),
                        ({"group_deduction_rate": "8"}, "group_deduction_rate"),
                        ({"small_micro_percent": "101"}, "small_micro_percent"),
                        ({"small_micro_percent": "-1"}, "small_micro_percent")):
        res = sme.policy(p, expect=422, **body)
        assert field in res.json["message"], res.json
    assert sme.policy(999999, expect=422).status_code == 422
    assert sme.count(ProjectPolicy) == n
    pk = sme.policy(p, deduction_rate="15", group_deduction_rate="5").json["id"]
    assert sme.policy(p, expect=409).json["message"]
    whole = sme.project("SME-7", budget="1000000.00", sme_measure="whole")
    res = sme.policy(whole, deduction_rate="10", expect=422)
    assert "整体预留" in _msg(res)
    # after publication the settings are frozen
    sme.package(p, budget="3000000.00")
    sme.put("sme_project", pk, {"reason": "专用设备，无中小企业供应", "small_micro_percent": "60"},
            expect=200)
    sme.publish(p)
    res = sme.put("sme_project", pk, {"deduction_rate": "10"}, expect=422)
    assert "发布后" in _msg(res)


def test_purchaser_of_another_unit_may_not_set_policy(sme) -> None:
    p = sme.project("SME-8", budget="1000000.00")
    from addons.sme_policy.models import ProjectPolicy

    # another city: the project is out of sight
    res = sme.policy(p, user="pur_jl", reason="x", expect=422)
    assert "不在您的管辖范围内" in _msg(res)
    # same region, another unit of the same competent unit: not its project either
    res = sme.policy(p, user="pur2", reason="x", expect=422)
    # the auditor reads but may not write
    sme.policy(p, user="auditor", reason="x", expect=403)
    assert sme.count(ProjectPolicy) == 0
    sme.policy(p, user="pur", reason="专用软件升级")
