"""Framework agreements end to end through the services: solicitation rules, shortlisting,
call-offs by the three methods through the e-mall, the ledger, removal and the summary."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import db
from core.errors import ConflictError, ErpError, ForbiddenError, RuleError
from core.tenancy import SYSTEM, Scope, use_scope
from tests.addons.framework_agreement.fa_world import FaWorld, draft, now, passed


def _count(model) -> int:
    return db.session.execute(select(func.count()).select_from(model),
                              execution_options={"erp_unscoped": True}).scalar()


def _purchaser(fa: FaWorld, key: str = "pur") -> Scope:
    from core.models import Organization
    from core.tenancy import snapshot

    org = db.session.get(Organization, fa.org(f"{key}_cc" if key == "pur" else key))
    return Scope(actor="purchaser", org_id=org.id, region_id=org.region_id,
                 region_ids=frozenset(snapshot().subtree(org.region_id)), org_type="purchaser")


def _as(fa: FaWorld, org_key: str) -> Scope:
    """The scope of a user of that organisation (supplier or the provincial centre)."""
    from core.models import Organization
    from core.tenancy import snapshot

    org = db.session.get(Organization, fa.org(org_key))
    if org.org_type == "supplier":
        return Scope(actor="supplier", org_id=org.id, region_id=org.region_id, org_type="supplier")
    return Scope(actor="agency", org_id=org.id, region_id=org.region_id,
                 region_ids=frozenset(snapshot().subtree(org.region_id)), org_type=org.org_type)


def test_solicitation_rules(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement

    with fa.app.app_context(), use_scope(SYSTEM):
        s = db.session
        before = _count(FaAgreement)
        today = now().date()
        cases = [
            ({"term_end": today + dt.timedelta(days=25 + 400)}, "term_end", "期限超过上限"),
            ({"response_deadline": now() + dt.timedelta(days=10)}, "response_deadline", "不得少于 20 日"),
            ({"form": "open", "open_reason": ""}, "open_reason", "开放式"),
            ({"demand": "符合资格条件即入围"}, "demand", "符合资格条件即入围"),
            ({"methods": "lottery"}, "methods", "第二阶段成交方式"),
        ]
        for over, field, words in cases:
            with pytest.raises(RuleError) as exc:
                draft(s, fa.em.org, fa.em.region, fa.em.cat, **over)
            assert any(words in m for m in exc.value.messages[field]), exc.value.messages
            s.rollback()
        # services last up to two years
        ag = draft(s, fa.em.org, fa.em.region, fa.em.cat, kind="services",
                   term_end=today + dt.timedelta(days=25 + 600))
        assert ag.id
        s.rollback()
        assert _count(FaAgreement) == before
        # the demand is frozen once published
        ag = s.get(FaAgreement, fa.ag)
        ag.demand = "改过的需求"
        with pytest.raises(RuleError) as exc:
            fs.AGREEMENT.before_update(s, ag)
        assert "不得修改" in exc.value.messages["demand"][0]
        s.rollback()
        from addons.framework_agreement.models import FaItem

        item = s.get(FaItem, fa.item)
        item.ceiling_price = Decimal("9000.00")
        with pytest.raises(RuleError):
            fs.ITEM.before_update(s, item)
        s.rollback()


def test_quote_above_ceiling_and_shortlist_rules(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement, FaMember, FaResponse

    with fa.app.app_context(), use_scope(SYSTEM):
        s = db.session
        ag = draft(s, fa.em.org, fa.em.region, fa.em.cat)
        fs.publish(s, ag)
        item = ag.items[0].id
        with pytest.raises(RuleError) as exc:
            fs.submit_response(s, ag, fa.org("sup_a"), [{"item": item, "listing": fa.listing["sup_a"],
                                                          "unit_price": "5000.01"}])
        assert "超过最高限制单价" in exc.value.messages["unit_price"][0]
        assert s.execute(select(func.count()).select_from(FaResponse).where(FaResponse.agreement_id == ag.id)).scalar() == 0
        # another supplier's product is refused
        with pytest.raises(RuleError):
            fs.submit_response(s, ag, fa.org("sup_a"), [{"item": item, "listing": fa.listing["sup_b"],
                                                          "unit_price": "4000"}])
        # before the deadline nobody evaluates
        with pytest.raises(ConflictError):
            fs.confirm_shortlist(s, ag)
        fs.submit_response(s, ag, fa.org("sup_a"), [{"item": item, "listing": fa.listing["sup_a"], "unit_price": "4000"}])
        s.commit()
        passed(s, ag.id)
        ag = s.get(FaAgreement, ag.id)
        with pytest.raises(RuleError) as exc:  # one compliant response is not enough
            fs.confirm_shortlist(s, ag)
        assert "不足 2 家" in exc.value.messages["_schema"][0]
        s.rollback()
        # two responses: at least one is eliminated; admitting both is refused
        ag.response_deadline = now() + dt.timedelta(days=1)
        s.flush()
        fs.submit_response(s, ag, fa.org("sup_b"), [{"item": item, "listing": fa.listing["sup_b"], "unit_price": "4100"}])
        s.commit()
        passed(s, ag.id)
        ag = s.get(FaAgreement, ag.id)
        with pytest.raises(RuleError) as exc:
            fs.confirm_shortlist(s, ag, count=2)
        assert "淘汰率低于 20%" in exc.value.messages["count"][0]
        s.rollback()
        assert s.execute(select(func.count()).select_from(FaMember).where(FaMember.agreement_id == ag.id)).scalar() == 0
        ag = s.get(FaAgreement, ag.id)
        members = fs.confirm_shortlist(s, ag)
        assert [m.supplier_id for m in members] == [fa.org("sup_a")]  # price priority: the lowest
        assert fs.max_shortlisted(s, ag, 10) == 8 and fs.max_shortlisted(s, ag, 3) == 2
        s.rollback()


def test_world_shortlist_and_agreement_prices(fa: FaWorld) -> None:
    from addons.framework_agreement.models import FaAgreement, FaLine, FaNotice, FaResponse

    with fa.app.app_context(), use_scope(SYSTEM):
        s = db.session
        ag = s.get(FaAgreement, fa.ag)
        assert ag.status == "active"
        statuses = dict(s.execute(select(FaResponse.supplier_id, FaResponse.status)
                                  .where(FaResponse.agreement_id == ag.id)).all())
        assert statuses == {fa.org("sup_a"): "shortlisted", fa.org("sup_b"): "shortlisted",
                            fa.org("sup_c"): "eliminated"}
        prices = dict(s.execute(select(FaLine.supplier_id, FaLine.agreement_price).where(FaLine.agreement_id == ag.id)).all())
        assert prices == {fa.org("sup_a"): Decimal("4500.00"), fa.org("sup_b"): Decimal("4700.00")}
        notice = s.execute(select(FaNotice).where(FaNotice.kind == "framework_shortlist")).scalar_one()
        from core.services import workdays

        assert notice.due_date == workdays.add_working_days(ag.confirmed_on, 2, s)
        assert notice.status == "draft"  # no notices module: kept here


def test_direct_selection_places_framework_order(fa: FaWorld) -> None:
    from addons.emall.models import EmallOrder
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaCallOff, FaLine

    with fa.app.app_context():
        s = db.session
        with use_scope(_purchaser(fa)):
            c = fs.direct_select(s, fa.ag, fa.line["sup_b"], 3, unit_price="4600")
        s.commit()
        order = s.get(EmallOrder, c.order_id)
        assert (order.channel, order.pricing, order.amount) == ("framework", "framework", Decimal("13800.00"))
        assert order.supplier_id == fa.org("sup_b")
        line = s.get(FaLine, fa.line["sup_b"])
        assert (line.ordered_quantity, line.ordered_amount) == (3, Decimal("13800.00"))
        # above the e-mall's direct limit (50,000): the amount bands do not apply
        with use_scope(_purchaser(fa)):
            big = fs.direct_select(s, fa.ag, fa.line["sup_a"], 10)
        assert big.amount == Decimal("45000.00")
        s.rollback()
        before = _count(FaCallOff), _count(EmallOrder)
        with use_scope(_purchaser(fa)):
            with pytest.raises(RuleError) as exc:  # above the agreement price
                fs.direct_select(s, fa.ag, fa.line["sup_b"], 1, unit_price="4700.01")
            assert "超过协议价格" in exc.value.messages["unit_price"][0]
            s.rollback()
            with pytest.raises(ConflictError) as exc:  # beyond what is left (10 - 3)
                fs.direct_select(s, fa.ag, fa.line["sup_b"], 8)
            assert "剩余 7" in str(exc.value.args[0] if exc.value.args else exc.value)
            s.rollback()
        with use_scope(_purchaser(fa, "pur_jl")), pytest.raises(ForbiddenError) as exc:  # 吉林市: not entitled
            fs.direct_select(s, fa.ag, fa.line["sup_b"], 1)
        assert "适用范围" in str(exc.value)
        s.rollback()
        assert (_count(FaCallOff), _count(EmallOrder)) == before


def test_after_expiry_and_emall_channel_guard(fa: FaWorld) -> None:
    from addons.emall.models import EmallListing
    from addons.emall.services import orders as eo
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement
    from core.models import Organization

    with fa.app.app_context():
        s = db.session
        ag = s.get(FaAgreement, fa.ag)
        ag.term_end = now().date() - dt.timedelta(days=1)
        ag.term_start = now().date() - dt.timedelta(days=30)
        s.flush()
        with use_scope(_purchaser(fa)), pytest.raises(RuleError) as exc:
            fs.direct_select(s, fa.ag, fa.line["sup_a"], 1)
        assert "协议期满后不得继续成交" in exc.value.messages["agreement"][0]
        s.rollback()
        # an order in the framework channel that does not come from a call-off is refused
        with use_scope(SYSTEM), pytest.raises(RuleError) as exc:
            eo.place_order(s, s.get(Organization, fa.org("pur_cc")), s.get(Organization, fa.org("sup_a")),
                           [{"listing": s.get(EmallListing, fa.listing["sup_a"]), "quantity": 1,
                             "unit_price": "1.00"}], channel="framework", pricing="comparison")
        assert "框架协议" in exc.value.messages["channel"][0]
        s.rollback()


def test_second_competition(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaBid, FaCallOff, FaNotice

    with fa.app.app_context():
        s = db.session
        deadline = now() + dt.timedelta(days=5)
        with use_scope(_purchaser(fa)):
            with pytest.raises(RuleError) as exc:  # sup_b not invited
                fs.start_competition(s, fa.ag, fa.item, 2, [fa.org("sup_a")], deadline)
            assert "未邀请" in exc.value.messages["invited"][0]
            s.rollback()
            with pytest.raises(RuleError) as exc:  # no reasonable window
                fs.start_competition(s, fa.ag, fa.item, 2, [fa.org("sup_a"), fa.org("sup_b")], now())
            assert "合理的响应时间" in exc.value.messages["deadline"][0]
            s.rollback()
            assert _count(FaCallOff) == 0 and _count(FaBid) == 0
            c = fs.start_competition(s, fa.ag, fa.item, 2, [fa.org("sup_a"), fa.org("sup_b")], deadline)
            s.commit()
            cid = c.id
        with use_scope(_as(fa, "sup_a")):
            with pytest.raises(RuleError) as exc:
                fs.submit_bid(s, s.get(FaCallOff, cid), "4500.01")
            assert "超过协议价格" in exc.value.messages["unit_price"][0]
            fs.submit_bid(s, s.get(FaCallOff, cid), "4400")
        with use_scope(_purchaser(fa)), pytest.raises(ConflictError):  # sup_b has not bid yet
            fs.award_competition(s, s.get(FaCallOff, cid))
        with use_scope(_as(fa, "sup_b")):
            fs.submit_bid(s, s.get(FaCallOff, cid), "4300")
        with pytest.raises(ForbiddenError), use_scope(_as(fa, "sup_c")):  # not invited
            fs.submit_bid(s, s.get(FaCallOff, cid), "4000")
        with use_scope(_purchaser(fa)):
            c = fs.award_competition(s, s.get(FaCallOff, cid))
        s.commit()
        assert (c.status, c.supplier_id, c.unit_price, c.amount) == (
            "ordered", fa.org("sup_b"), Decimal("4300.00"), Decimal("8600.00"))
        deal = s.execute(select(FaNotice).where(FaNotice.kind == "framework_deal")).scalar_one()
        assert deal.region_id == c.region_id and deal.purchaser_id == fa.org("pur_cc")


def test_rotation_one_per_supplier_per_cycle(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs

    with fa.app.app_context():
        s = db.session
        got = []
        with use_scope(_purchaser(fa)):
            for _ in range(5):
                got.append(fs.rotate(s, fa.ag, fa.item, 1).supplier_id)
        a, b = fa.org("sup_a"), fa.org("sup_b")
        assert got == [a, b, a, b, a]


def test_removal_no_rejoin_and_summary(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement, FaMember, FaNotice

    with fa.app.app_context():
        s = db.session
        with use_scope(_purchaser(fa)):
            fs.direct_select(s, fa.ag, fa.line["sup_a"], 2)
        with use_scope(_as(fa, "inst")):
            m = s.execute(select(FaMember).where(FaMember.supplier_id == fa.org("sup_a"))).scalar_one()
            with pytest.raises(RuleError):
                fs.remove_member(s, m, "dislike")
            fs.remove_member(s, m, "collusion", note="与他人串通报价")
        with use_scope(_purchaser(fa)), pytest.raises(ConflictError):
            fs.direct_select(s, fa.ag, fa.line["sup_a"], 1)
        s.rollback()
        with use_scope(_purchaser(fa)):
            fs.direct_select(s, fa.ag, fa.line["sup_b"], 1)
        with use_scope(SYSTEM):
            m = s.execute(select(FaMember).where(FaMember.supplier_id == fa.org("sup_a"))).scalar_one()
            fs.remove_member(s, m, "collusion")
            ag = s.get(FaAgreement, fa.ag)
            ag.round_deadline = None
            fs.start_supplement(s, ag, now() + dt.timedelta(days=21))
            with pytest.raises(RuleError) as exc:
                fs.submit_response(s, ag, fa.org("sup_a"), [{"item": fa.item, "listing": fa.listing["sup_a"],
                                                             "unit_price": "4000"}])
            assert "不得再次入围" in exc.value.messages["supplier"][0]
            # expiry: the job writes the direct-selection summary once
            ag.term_end = now().date() - dt.timedelta(days=1)
            ag.term_start = ag.term_end - dt.timedelta(days=30)
            s.flush()
            assert fs.expire_and_summarise(s) >= 1
            assert fs.expire_and_summarise(s) == 0
            summary = s.execute(select(FaNotice).where(FaNotice.kind == "framework_summary")).scalar_one()
            assert "1 份合同" in summary.body and summary.due_date > ag.term_end
        s.rollback()


def test_errors_are_4xx(fa: FaWorld) -> None:
    for cls in (RuleError, ConflictError, ForbiddenError):
        assert issubclass(cls, ErpError)


def test_open_agreement_join_review_exit_and_notices(fa: FaWorld) -> None:
    from addons.framework_agreement import services as fs
    from addons.framework_agreement.models import FaAgreement, FaMember, FaNotice, FaResponse

    with fa.app.app_context():
        s = db.session
        with use_scope(SYSTEM):
            ag = draft(s, fa.em.org, fa.em.region, fa.em.cat, name="开放式测试协议", form="open",
                       open_reason="供应商数量不能事先确定", methods="direct,rotation")
            fs.publish(s, ag)
            item = ag.items[0].id
            for sup, price in (("sup_a", "4500"), ("sup_b", "4800")):
                fs.submit_response(s, ag, fa.org(sup), [{"item": item, "listing": fa.listing[sup], "unit_price": price}])
            s.commit()
            pk = ag.id
        passed(s, pk)
        with use_scope(_as(fa, "inst")):
            ag = s.get(FaAgreement, pk)
            assert len(fs.confirm_shortlist(s, ag)) == 2  # open: every compliant response is admitted
            passed(s, pk, deadline=False, term=True)
            fs.sign(s, s.get(FaAgreement, pk))
            s.commit()
        with use_scope(_as(fa, "sup_c")):  # a third supplier applies during the term
            resp = fs.submit_response(s, s.get(FaAgreement, pk), fa.org("sup_c"),
                                      [{"item": item, "listing": fa.listing["sup_c"], "unit_price": "4700"}])
            assert resp.status == "applied"
            s.commit()
            rid = resp.id
        with use_scope(_as(fa, "sup_a")), pytest.raises(ForbiddenError):  # only the collecting party reviews
            fs.review_application(s, s.get(FaResponse, rid), True)
        with use_scope(_as(fa, "inst")):
            fs.review_application(s, s.get(FaResponse, rid), True)
            s.commit()
        member = s.execute(select(FaMember).where(FaMember.agreement_id == pk, FaMember.supplier_id == fa.org("sup_c")),
                           execution_options={"erp_unscoped": True}).scalar_one()
        assert (member.status, member.rotation_position) == ("active", 3)
        with use_scope(_as(fa, "sup_c")):
            fs.exit_agreement(s, member, reason="产能调整")
            s.commit()
        kinds = sorted(n.kind for n in s.execute(select(FaNotice).where(FaNotice.agreement_id == pk),
                                                   execution_options={"erp_unscoped": True}).scalars())
        assert kinds == ["framework_change", "framework_change", "framework_shortlist", "framework_solicitation"]
        # the collecting party publishes a kept notice; twice is refused; a supplier may not
        notice = s.execute(select(FaNotice).where(FaNotice.agreement_id == pk, FaNotice.kind == "framework_shortlist"),
                           execution_options={"erp_unscoped": True}).scalar_one()
        with use_scope(_as(fa, "sup_a")), pytest.raises(ForbiddenError):
            fs.publish_notice(s, notice)
        with use_scope(_as(fa, "inst")):
            fs.publish_notice(s, notice)
            assert notice.status == "published"
            with pytest.raises(ConflictError):
                fs.publish_notice(s, notice)
        s.rollback()
