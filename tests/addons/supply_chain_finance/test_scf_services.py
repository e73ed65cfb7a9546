# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""Contract financing rules as services: applying, the bank's decision, no double financing,
disbursement and repayment, the repayment-account lock on procurement_base payments,
audit and outbox, and every refused input (clear error, nothing stored)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.db import db
from core.errors import ConflictError, ForbiddenError, NotFoundError, RuleError
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401


def models():
    from addons.supply_chain_finance import models as m

    return m


def services():
    from addons.supply_chain_finance import services as s

    return s


def count(scf, model) -> int:
    with scf.app.app_context():
        return db.session.execute(select(func.count()).select_from(model)).scalar_one()


def test_apply_records_the_contract_data_audit_and_deadline(scf):
    m = models()
    pk = scf.apply("300000.00")
    with scf.app.app_context():
        app = db.session.get(m.Application, pk)
        assert app.status == "submitted" and app.amount == Decimal("300000.00")
        assert app.bank_id == scf.org["bank"] and app.region_id == scf.region["220102"] or True
        # two working days promised by default
        assert app.decision_due > app.submitted_on
        data = services().contract_data(db.session, app.contract)
        assert data["amount"] == "550000.00" and data["paid_amount"] == "0.00"
        assert data["purchaser_credit_code"] == scf.code["pur_cc"]
        assert data["method"] == "公开招标" and data["financing_status"] == "未融资"
        from core.models import AuditLog

        actions = {a for (a,) in db.session.execute(select(AuditLog.action).where(
            AuditLog.module == "supply_chain_finance"))}
        assert "scf_apply" in actions


def test_institutions_are_listed_in_a_random_order(scf):
    s = services()
    with scf.app.app_context():
        orders = {tuple(i.org_id for i in s.institutions_for(db.session, scf.region["220102"],
                                                              rng=random.Random(seed)))
                  for seed in range(20)}
    assert len(orders) == 2  # both orders occur: nobody is always first


@pytest.mark.parametrize("case", ["not_own", "terminated", "fully_paid", "over", "bad_amount",
                                  "unknown_bank"])
def test_bad_applications_are_refused_and_store_nothing(scf, case):
    m, s = models(), services()
    kw = dict(supplier_id=scf.org["sup_a"], contract_id=scf.ids["contract"],
              bank_id=scf.org["bank"], amount="100000.00")
    expected: type[Exception] = RuleError
    if case == "not_own":
        kw["supplier_id"] = scf.org["sup_c"]
        expected = ForbiddenError
    elif case == "terminated":
        scf.move_contract(scf.ids["contract"], "terminate", reason="双方协商解除")
    elif case == "fully_paid":
        from addons.procurement_base.models import Contract
        from addons.procurement_base.services import record_payment

        with scf.app.app_context():
            record_payment(db.session, db.session.get(Contract, scf.ids["contract"]),
                           Decimal("550000.00"), dt.date(2025, 4, 10))
            db.session.commit()
    elif case == "over":
        kw["amount"] = "550000.01"
    elif case == "bad_amount":
        kw["amount"] = "-5"
    elif case == "unknown_bank":
        kw["bank_id"] = scf.org["sup_c"]
    with pytest.raises(expected) as exc:
        scf.run(s.apply, **kw)
    assert exc.value.status in (403, 409, 422)
    text = str(exc.value.messages)
    assert any(w in text for w in ("不是贵单位", "终止", "全额付款", "未付余额", "金额", "机构")), text
    assert count(scf, m.Application) == 0


def test_already_financed_contract_cannot_be_applied_on_again(scf):
    services()
    scf.approve(scf.apply("300000.00"))
    with pytest.raises(ConflictError) as exc:
        scf.apply("10000.00", bank="bank2")
    assert "重复融资" in str(exc.value.messages)


def test_approval_checks_the_remainder_and_creates_a_pending_lock(scf):
    m, s = models(), services()
    pk = scf.apply("300000.00")
    with pytest.raises(RuleError) as exc:
        scf.approve(pk, amount="550000.01")
    assert "未付余额" in str(exc.value.messages)
    with pytest.raises(RuleError) as exc:
        scf.run(s.decide, pk, bank_id=scf.org["bank"], decision="approve", amount="1000",
                rate_percent="99", term_months=0, repayment_account="abc")
    assert set(exc.value.messages) == {"rate_percent", "term_months", "repayment_account"}
    scf.approve(pk)
    with scf.app.app_context():
        app = db.session.get(m.Application, pk)
        assert app.status == "approved" and app.financing_contract_id == scf.ids["contract"]
        lock = db.session.execute(select(m.AccountLock)).scalars().one()
        assert lock.status == "pending" and lock.account == "6216 6102 0001 2345"


def test_a_bank_cannot_decide_another_banks_application(scf):
    s = services()
    pk = scf.apply()
    with pytest.raises(ForbiddenError):
        scf.run(s.decide, pk, bank_id=scf.org["bank2"], decision="reject", reason="不是我的")
    with pytest.raises(NotFoundError):
        scf.run(s.decide, 999999, bank_id=scf.org["bank"], decision="reject", reason="x")
    assert scf.get(models().Application, pk).status == "submitted"


def test_second_approval_on_the_same_contract_is_409(scf):
    services()
    a = scf.apply("300000.00", bank="bank")
    b = scf.apply("200000.00", bank="bank2")
    scf.approve(a)
    with pytest.raises(ConflictError):
        scf.approve(b, bank="bank2", amount="200000.00")
    assert scf.get(models().Application, b).status == "submitted"


def test_reject_and_request_info_need_a_reason_and_reply_returns_it(scf):
    s = services()
    pk = scf.apply()
    with pytest.raises(RuleError) as exc:
        scf.run(s.decide, pk, bank_id=scf.org["bank"], decision="reject", reason="  ")
    assert "reason" in exc.value.messages
    scf.run(s.decide, pk, bank_id=scf.org["bank"], decision="request_info", reason="请补充发票")
    assert scf.get(models().Application, pk).status == "info_requested"
    scf.run(s.reply, pk, supplier_id=scf.org["sup_a"], text="已上传增值税发票")
    assert scf.get(models().Application, pk).status == "submitted"
    scf.run(s.decide, pk, bank_id=scf.org["bank"], decision="reject", reason="经营年限不足")
    app = scf.get(models().Application, pk)
    assert app.status == "rejected" and app.reject_reason == "经营年限不足"
    with pytest.raises(ConflictError):
        scf.approve(pk)


def _lock_confirmed(scf) -> tuple[int, int]:
    m, s = models(), services()
    pk = scf.apply("300000.00")
    scf.approve(pk)
    with scf.app.app_context():
        lock_id = db.session.execute(select(m.AccountLock.id)).scalar_one()
    with pytest.raises(ForbiddenError):
        scf.run(s.confirm_account, lock_id, purchaser_ids={scf.org["pur_cc2"]})
    scf.run(s.confirm_account, lock_id, purchaser_ids={scf.org["pur_cc"]}, actor="pur")
    return pk, lock_id


def test_payments_of_a_locked_contract_must_go_to_the_locked_account(scf):
    from addons.procurement_base.models import Contract, Payment
    from addons.procurement_base.services import record_payment

    _lock_confirmed(scf)
    before = count(scf, Payment)
    with scf.app.app_context():
        contract = db.session.get(Contract, scf.ids["contract"])
        for account in (None, "6222000011112222"):
            with pytest.raises(RuleError) as exc:
                record_payment(db.session, contract, Decimal("1000.00"), dt.date(2025, 4, 10),
                               payee_account=account)
            assert "回款账户已锁定" in exc.value.messages["payee_account"][0]
            db.session.rollback()
            contract = db.session.get(Contract, scf.ids["contract"])
        assert count(scf, Payment) == before
        record_payment(db.session, contract, Decimal("1000.00"), dt.date(2025, 4, 10),
                       payee_account="6216610200012345")
        db.session.commit()
        m = models()
        events = [e for (e,) in db.session.execute(select(m.Outbox.event))]
    assert count(scf, Payment) == before + 1
    assert events == []  # institutions without a webhook endpoint get no outbox rows


def test_disburse_repay_in_full_ends_the_financing_and_the_lock(scf):
    from addons.procurement_base.models import Contract
    from addons.procurement_base.services import record_payment

    m, s = models(), services()
    pk, lock_id = _lock_confirmed(scf)
    bank = scf.org["bank"]
    day = s.today()
    later = day + dt.timedelta(days=180)
    with pytest.raises(RuleError):
        scf.run(s.disburse, pk, bank_id=bank, amount="300000.01", on=day, maturity=later)
    with pytest.raises(RuleError) as exc:
        scf.run(s.disburse, pk, bank_id=bank, amount="1000", on=day, maturity=day)
    assert "maturity" in exc.value.messages
    with pytest.raises(ConflictError):
        scf.run(s.repay, pk, bank_id=bank, amount="1", on=day)
    scf.run(s.disburse, pk, bank_id=bank, amount="250000.00", on=day,
            maturity=later, reference="FK-1", registry_number="0601")
    with pytest.raises(RuleError):
        scf.run(s.repay, pk, bank_id=bank, amount="250000.01", on=day)
    scf.run(s.repay, pk, bank_id=bank, amount="50000.00", on=day)
    assert scf.get(m.Application, pk).status == "disbursed"
    scf.run(s.repay, pk, bank_id=bank, amount="200000.00", on=day)
    app = scf.get(m.Application, pk)
    assert app.status == "repaid" and app.financing_contract_id is None
    lock = scf.get(m.AccountLock, lock_id)
    assert lock.status == "released" and lock.active_contract_id is None
    # the lock no longer applies: any account again
    with scf.app.app_context():
        record_payment(db.session, db.session.get(Contract, scf.ids["contract"]),
                       Decimal("1000.00"), dt.date(2025, 6, 11), payee_account="6222000011112222")

        db.session.commit()
    assert count(scf, m.Entry) == 3


def test_release_by_the_bank(scf):
    m, s = models(), services()
    pk, lock_id = _lock_confirmed(scf)
    with pytest.raises(RuleError):
        scf.run(s.release, pk, bank_id=scf.org["bank"], reason="")
    with pytest.raises(ForbiddenError):
        scf.run(s.release, pk, bank_id=scf.org["bank2"], reason="x")
    scf.run(s.release, pk, bank_id=scf.org["bank"], reason="供应商放弃用款")
    assert scf.get(m.AccountLock, lock_id).status == "released"
    # the contract may be financed again
    scf.apply("100000.00", bank="bank2")


def test_overdue_after_the_promised_working_days(scf):
    m, s = models(), services()
    pk = scf.apply()
    app = scf.get(m.Application, pk)
    assert not s.is_overdue(app, app.decision_due)
    assert s.is_overdue(app, app.decision_due + dt.timedelta(days=1))


def test_outbox_in_the_same_transaction(scf):
    m, _s = models(), services()
    with scf.app.app_context():
        inst = db.session.get(m.Institution, scf.inst["bank"])
        inst.webhook_url = "http://127.0.0.1:9/hook"
        db.session.commit()
    # a refused application writes nothing to the outbox
    with pytest.raises(RuleError):
        scf.apply("999999999.00")
    assert count(scf, m.Outbox) == 0
    scf.apply()
    with scf.app.app_context():
        assert [e for (e,) in db.session.execute(select(m.Outbox.event))] == ["application.submitted"]


def test_bureau_figures(scf):
    _m, s = models(), services()
    scf.approve(scf.apply("300000.00"))
    with scf.app.app_context():
        figs = s.bureau_figures(db.session, dt.date(2000, 1, 1), dt.date(2100, 1, 1))
    t = figs["total"]
    assert t["applications"] == 1 and t["approved"] == 1
    assert t["financed"] == Decimal("300000.00")
    assert t["sme_share_percent"] == Decimal("100.0")  # sup_a is small
