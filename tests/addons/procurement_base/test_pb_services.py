"""Service level (plain Python on a session, no request): the project and contract state
machines with their guards and audit records, outstanding amounts and payments that never
exceed the contract amount, the roles an organisation's users may hold. Both databases;
the row lock that keeps concurrent payments apart on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from addons.procurement_base import services
from addons.procurement_base.models import Bid, CatalogItem, Contract, Package, Payment, Project
from core.db import db
from core.models import AuditLog, Organization, Region
from core.services.statemachine import TransitionError
from tests.addons.procurement_base.pb_world import pb  # noqa: F401

D = dt.date


def _orgs(session: Session) -> dict[str, Organization]:
    return {o.name: o for o in session.execute(select(Organization)).scalars()}


def build(session: Session, number: str = "SV-001", *, budget: str = "900000.00") -> Project:
    """A draft project with two packages, through the validators."""
    orgs = _orgs(session)
    region = session.execute(select(Region).where(Region.code == "220102")).scalar_one()
    catalog = session.execute(select(CatalogItem).where(CatalogItem.code == "A02")).scalar_one()
    p = Project(number=number, name="服务层测试项目", purchaser=orgs["长春市第二中学（测试）"],
                agency=orgs["长春市采购代理（测试）有限公司"], catalog=catalog,
                method="public_tender", budget=budget, region=region,
                bid_deadline=dt.datetime(2025, 3, 24, 9, 0))
    services.validate_project(session, p)
    session.add(p)
    session.flush()
    for n, amount in (("1", "500000.00"), ("2", "400000.00")):
        pkg = Package(project=p, number=n, name=f"第{n}包", budget=amount)
        services.validate_package(session, pkg)
        session.add(pkg)
    session.flush()
    return p


def bid(session: Session, pkg: Package, supplier: str, price: str) -> Bid:
    b = Bid(package=pkg, supplier=_orgs(session)[supplier], price=price,
            submitted_at=dt.datetime(2025, 3, 20, 10, 0))
    services.validate_bid(session, b)
    session.add(b)
    session.flush()
    return b


def transitions_of(session: Session, obj) -> list[tuple[str, str, str]]:
    rows = session.execute(select(AuditLog).where(
        AuditLog.object_type == obj.__tablename__, AuditLog.object_id == str(obj.id),
        AuditLog.action.like("transition:%")).order_by(AuditLog.id)).scalars()
    return [(r.action, json.loads(r.before)["state"], json.loads(r.after)["state"]) for r in rows]


def test_project_lifecycle_and_audit(pb) -> None:  # noqa: F811
    with pb.app.app_context():
        s = db.session
        p = build(s)
        assert p.status == "draft" and p.region.code == "220102"
        services.transition_project(s, p, "publish", on=D(2025, 3, 3))
        pkg1, pkg2 = p.packages
        a = bid(s, pkg1, "长春甲科技（测试）有限公司", "480000.00")
        c = bid(s, pkg1, "长春丙设备（测试）有限公司", "470000.00")
        b = bid(s, pkg2, "吉林乙医疗（测试）有限公司", "390000.00")
        assert a.project is p, "the bid takes its package's project"
        services.transition_project(s, p, "open_bidding", on=D(2025, 3, 24))
        services.transition_project(s, p, "evaluate")
        services.transition_project(s, p, "award", on=D(2025, 3, 31), winning_bids=[a.id, b.id])
        assert (a.status, b.status, c.status) == ("won", "won", "lost")
        assert p.status == "awarded" and p.award_date == D(2025, 3, 31)

        contracts = []
        for pkg, winner, amount in ((pkg1, a, "480000.00"), (pkg2, b, "390000.00")):
            ct = Contract(number=f"SV-HT-{pkg.number}", project=p, package=pkg,
                          purchaser=p.purchaser, supplier=winner.supplier, amount=amount)
            services.validate_contract(s, ct)
            s.add(ct)
            s.flush()
            services.transition_contract(s, ct, "sign", on=D(2025, 4, 3))
            contracts.append(ct)
        assert contracts[1].sme_label == "micro"
        services.transition_project(s, p, "contract")
        assert p.contract_date == D(2025, 4, 3), "the earliest signing date"
        with pytest.raises(TransitionError, match="还有 2 个合同未履行完毕"):
            services.transition_project(s, p, "complete")
        for ct in contracts:
            services.transition_contract(s, ct, "perform")
            services.transition_contract(s, ct, "complete")
        services.transition_project(s, p, "complete")
        s.commit()
        assert transitions_of(s, p) == [
            ("transition:publish", "draft", "published"),
            ("transition:open_bidding", "published", "bidding"),
            ("transition:evaluate", "bidding", "evaluated"),
            ("transition:award", "evaluated", "awarded"),
            ("transition:contract", "awarded", "contracted"),
            ("transition:complete", "contracted", "completed"),
        ]
        award = s.execute(select(AuditLog).where(AuditLog.action == "transition:award")).scalar_one()
        assert award.module == "procurement_base" and award.region_id == p.region_id
        assert json.loads(award.after)["ctx"]["winning_bids"] == [a.id, b.id]
        assert transitions_of(s, contracts[0]) == [
            ("transition:sign", "draft", "signed"), ("transition:perform", "signed", "performing"),
            ("transition:complete", "performing", "completed")]


def test_guards_refuse_and_change_nothing(pb) -> None:  # noqa: F811
    with pb.app.app_context():
        s = db.session
        orgs = _orgs(s)
        catalog = s.execute(select(CatalogItem).where(CatalogItem.code == "A02")).scalar_one()
        empty = Project(number="SV-EMPTY", name="无采购包", purchaser=orgs["长春市第二中学（测试）"],
                        catalog=catalog, method="inquiry", budget="100.00")
        services.validate_project(s, empty)
        s.add(empty)
        s.flush()
        with pytest.raises(TransitionError, match="至少需要一个采购包") as info:
            services.transition_project(s, empty, "publish", on=D(2025, 3, 3))
        assert (info.value.status, info.value.code) == (422, "guard_refused")
        assert empty.status == "draft" and empty.notice_date is None, "the date is restored"

        p = build(s, "SV-002")
        with pytest.raises(TransitionError) as info:
            services.transition_project(s, p, "award")
        assert (info.value.status, info.value.code) == (409, "invalid_state")
        assert info.value.message == "采购项目状态为“草稿”，不能执行“确定中标”"
        with pytest.raises(TransitionError) as info:
            services.transition_project(s, p, "terminate")
        assert info.value.code == "reason_required"
        with pytest.raises(TransitionError) as info:
            services.transition_project(s, p, "nope")
        assert (info.value.status, info.value.code) == (422, "unknown_transition")

        services.transition_project(s, p, "publish", on=D(2025, 3, 3))
        with pytest.raises(TransitionError, match="没有有效投标，不能开标"):
            services.transition_project(s, p, "open_bidding", on=D(2025, 3, 24))
        pkg1 = p.packages[0]
        first = bid(s, pkg1, "长春甲科技（测试）有限公司", "480000.00")
        with pytest.raises(TransitionError, match="开标日期（2025-03-20）不能早于投标截止时间"):
            services.transition_project(s, p, "open_bidding", on=D(2025, 3, 20))
        assert p.status == "published" and p.opening_date is None
        services.transition_project(s, p, "open_bidding", on=D(2025, 3, 24))
        services.transition_project(s, p, "evaluate")

        # award needs a won bid, and an award date on or after the opening
        with pytest.raises(TransitionError, match="尚未确定中标供应商"):
            services.transition_project(s, p, "award", on=D(2025, 3, 31))
        with pytest.raises(TransitionError, match=r"中标日期（2025-03-23）不能早于开标日期（2025-03-24）"):
            services.transition_project(s, p, "award", on=D(2025, 3, 23), winning_bids=[first.id])
        assert p.status == "evaluated" and p.award_date is None
        assert first.status == "submitted", "the winner marked for a refused award is undone"
        with pytest.raises(services.RuleError) as rule:
            services.transition_project(s, p, "award", on=D(2025, 3, 31), winning_bids=[999999])
        assert rule.value.messages == {"winning_bids": ["投标 999999 不存在或不属于本项目"]}
        services.transition_project(s, p, "award", on=D(2025, 3, 31), winning_bids=[first.id])

        # the contract transition needs a signed contract
        with pytest.raises(TransitionError, match="项目尚无已签订的合同"):
            services.transition_project(s, p, "contract")
        ct = Contract(number="SV-HT-9", project=p, package=pkg1, purchaser=p.purchaser,
                      supplier=first.supplier, amount="480000.00")
        services.validate_contract(s, ct)
        s.add(ct)
        s.flush()
        with pytest.raises(TransitionError, match="项目尚无已签订的合同"):
            services.transition_project(s, p, "contract")
        services.transition_contract(s, ct, "sign", on=D(2025, 4, 1))
        services.transition_project(s, p, "contract")

        # failing (废标) and terminating need a reason; the reason is in the audit log
        other = build(s, "SV-003")
        services.transition_project(s, other, "publish", on=D(2025, 3, 3))
        services.transition_project(s, other, "fail", reason="提交投标文件的供应商不足三家")
        assert other.status == "failed"
        s.commit()
        row = s.execute(select(AuditLog).where(AuditLog.action == "transition:fail")).scalar_one()
        assert row.reason == "提交投标文件的供应商不足三家"


def test_outstanding_amount_and_payments_never_exceed_the_contract(pb) -> None:  # noqa: F811
    ids = pb.signed_contract("SV-100", amount="550000.00")
    with pb.app.app_context():
        s = db.session
        ct = s.get(Contract, ids["contract"])
        assert services.outstanding(s, ct) == Decimal("550000.00")
        services.record_payment(s, ct, "165000.00", D(2025, 4, 10), "预付款 30%")
        services.record_payment(s, ct, Decimal("300000.00"), D(2025, 5, 10))
        assert services.paid_total(s, ct.id) == Decimal("465000.00")
        assert services.outstanding(s, ct) == Decimal("85000.00")
        assert ct.paid_amount == Decimal("465000.00") and ct.outstanding == Decimal("85000.00")
        with pytest.raises(services.RuleError) as info:
            services.record_payment(s, ct, "85000.01", D(2025, 6, 10))
        assert info.value.messages == {"amount": [
            "累计付款 ¥550,000.01 将超过合同金额 ¥550,000.00（未付余额 ¥85,000.00）"]}
        last = services.record_payment(s, ct, "85000.00", D(2025, 6, 10))
        assert services.outstanding(s, ct) == Decimal("0.00")
        s.commit()
        # editing a payment is checked against the others; the contract cannot shrink below
        last.amount = Decimal("85000.01")
        with pytest.raises(services.RuleError):
            services.validate_payment(s, last)
        s.rollback()
        ct = s.get(Contract, ids["contract"])
        ct.amount = Decimal("500000.00")
        with pytest.raises(services.RuleError) as info:
            services.validate_contract(s, ct)
        assert info.value.messages == {"amount": ["合同金额不能低于已付金额 ¥550,000.00"]}
        s.rollback()


def test_payments_need_a_signed_contract_and_sane_dates(pb) -> None:  # noqa: F811
    ids = pb.awarded_project("SV-110")
    draft = pb.contract(ids).json["id"]
    res = pb.post("pb_payment", {"contract": draft, "paid_date": "2025-04-10", "amount": "1.00"},
                  expect=422)
    assert res.json["message"] == {"contract": ["合同状态为“草稿”，签订后才能登记付款"]}
    pb.move_contract(draft, "sign", date="2025-04-03")
    res = pb.post("pb_payment", {"contract": draft, "paid_date": "2025-04-01", "amount": "1.00"},
                  expect=422)
    assert res.json["message"] == {"paid_date": ["付款日期不能早于合同签订日期（2025-04-03）"]}
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    res = pb.post("pb_payment", {"contract": draft, "paid_date": future, "amount": "1.00"},
                  expect=422)
    assert res.json["message"] == {"paid_date": ["付款日期不能晚于今天"]}
    res = pb.post("pb_payment_plan", {"contract": draft, "seq": 1, "due_date": "2025-05-01",
                                      "amount": "550000.01"}, expect=422)
    assert res.json["message"] == {"amount": ["付款计划合计 ¥550,000.01 超过合同金额 ¥550,000.00"]}
    pb.post("pb_payment_plan", {"contract": draft, "seq": 1, "due_date": "2025-05-01",
                                "amount": "165000.00"}, expect=201)
    res = pb.post("pb_payment_plan", {"contract": draft, "seq": 1, "due_date": "2025-06-01",
                                      "amount": "1.00"}, expect=409)
    assert res.json["message"] == {"seq": ["第 1 期付款计划已存在"]}


def test_money_changes_are_audited(pb) -> None:  # noqa: F811
    ids = pb.signed_contract("SV-120")
    pay = pb.post("pb_payment", {"contract": ids["contract"], "paid_date": "2025-04-10",
                                 "amount": "1000.00", "reference": "GKZF-1"}, expect=201).json["id"]
    pb.put("pb_payment", pay, {"amount": "1500.00"}, expect=200)
    pb.put("pb_payment", pay, {"reference": "GKZF-1A"}, expect=200)
    pb.call("DELETE", f"pb_payment/{pay}", expect=200)
    with pb.app.app_context():
        rows = db.session.execute(select(AuditLog).where(
            AuditLog.object_type == "pb_payment", AuditLog.object_id == str(pay)
        ).order_by(AuditLog.id)).scalars().all()
        assert [r.action for r in rows] == ["create", "update", "delete"], "a reference change is no money change"
        assert json.loads(rows[0].after)["amount"] == "1000.00"
        assert json.loads(rows[1].before)["amount"] == "1000.00"
        assert json.loads(rows[1].after)["amount"] == "1500.00"
        assert json.loads(rows[2].before)["amount"] == "1500.00"
        assert {r.actor for r in rows} == {"admin"}
        budgets = db.session.execute(select(AuditLog.action).where(
            AuditLog.object_type == "pb_project", AuditLog.object_id == str(ids["project"]))).scalars().all()
        assert "create" in budgets


def test_allowed_roles_follow_the_organisation_type() -> None:
    assert services.allowed_roles("supplier") == {"供应商"}
    assert services.allowed_roles("bank") == services.allowed_roles("insurer") == {"银行"}
    assert services.allowed_roles("purchaser") == services.allowed_roles("competent_unit") == {"采购人"}
    assert services.allowed_roles("agency") == {"采购代理机构"}
    # modules add roles for institutions (emall: 电子卖场管理) when they are imported
    assert "采购代理机构" in services.allowed_roles("central_procurement")
    assert services.allowed_roles("finance") == {"地区管理员", "审计监督"}
    assert services.allowed_roles("expert_body") == {"评审专家"}
    assert services.allowed_roles("nonsense") == frozenset()
    assert services.check_user_roles("supplier", ["供应商"]) == []
    assert services.check_user_roles("supplier", ["供应商", "采购人"]) == [
        "“供应商”单位的用户只能拥有以下角色：供应商；不能拥有：采购人"]


def test_concurrent_payments_wait_for_each_other(pb, pg_url) -> None:  # noqa: F811
    """PostgreSQL: the contract row is locked while a payment is checked, so a second
    payment on the same contract waits (here: times out) instead of passing the check on
    stale totals."""
    ids = pb.signed_contract("SV-200", amount="100000.00")
    with pb.app.app_context():
        first, second = Session(db.engine), Session(db.engine)
        try:
            ct1 = first.get(Contract, ids["contract"])
            services.record_payment(first, ct1, "60000.00", D(2025, 4, 10))  # holds the lock
            second.execute(text("SET LOCAL lock_timeout = '300ms'"))
            ct2 = second.get(Contract, ids["contract"])
            with pytest.raises(OperationalError, match="lock"):
                services.record_payment(second, ct2, "60000.00", D(2025, 4, 11))
            second.rollback()
            first.commit()
            ct2 = second.get(Contract, ids["contract"])
            with pytest.raises(services.RuleError, match="未付余额 ¥40,000.00"):
                services.record_payment(second, ct2, "60000.00", D(2025, 4, 11))
            second.rollback()
            assert second.execute(select(Payment.amount)).scalars().all() == [Decimal("60000.00")]
        finally:
            first.close()
            second.close()
