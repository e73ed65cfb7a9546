# ruff: noqa: F811  (pytest fixtures imported from dl_world)
"""The rules users rely on, through the API (both databases): caps with the cap in the
message, settle once (a second refund is 409, nothing written), refund-due dates in working
days, the late fee with the LPR of each day, forfeiture only for a listed reason and
remittance, conversion as one linked pair, reversals, guarantees, audit records, the
immutable ledger, supplier visibility."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from core.db import db
from core.models import AuditLog
from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401

D = dt.date


def entries(dl, pk: int, user: str = "agency") -> dict:
    return dl.call("GET", f"dl_deposit/{pk}/entries", user, expect=200).json


def count_entries(dl) -> int:
    from addons.deposit_ledger.models import DepositEntry

    return dl.count(DepositEntry)


# -- caps -----------------------------------------------------------------------------------------
def test_bid_deposit_above_two_percent_of_the_package_budget_is_refused(dl):
    # package budget 600,000.00 -> cap 12,000.00
    res = dl.deposit(amount="12000.01", expect=422)
    msg = res.json["message"]["amount"][0]
    assert "2%" in msg and "¥12,000.00" in msg and "采购包预算" in msg
    assert dl.deposit(amount="12000.00").status_code == 201


def test_performance_deposit_above_ten_percent_of_the_contract_is_refused(dl):
    # contract amount 550,000.00 -> cap 55,000.00
    res = dl.deposit("LY-001", kind="performance", supplier="sup_a", amount="55000.01", expect=422)
    assert "10%" in res.json["message"]["amount"][0] and "¥55,000.00" in res.json["message"]["amount"][0]
    dl.deposit("LY-001", kind="performance", supplier="sup_a", amount="55000.00")


def test_caps_are_settings_overridable_per_region(dl):
    from core.services import settings

    with dl.app.app_context():
        region = dl.region["220100"]
        settings.set("deposit.bid_cap_percent", "1", region, session=db.session)
        db.session.commit()
    res = dl.deposit(amount="6000.01", expect=422)
    assert "1%" in res.json["message"]["amount"][0]
    dl.deposit(amount="6000.00")


def test_bad_input_is_refused_field_by_field_and_nothing_is_written(dl):
    before = count_entries(dl)
    res = dl.deposit(form="cash", amount="-5", received_date="2025-13-01", expect=422)
    assert set(res.json["message"]) >= {"amount"}
    res = dl.deposit(form="cash", expect=422)
    assert "不收取现金" in res.json["message"]["form"][0]
    res = dl.deposit(form="guarantee", expect=422)
    assert {"guarantee_type", "guarantee_number", "guarantee_issuer",
            "guarantee_valid_until"} <= set(res.json["message"])
    res = dl.deposit(amount=12.5, expect=422)  # a float is never money
    assert "amount" in res.json["message"]
    assert count_entries(dl) == before


def test_a_supplier_may_not_record_deposits_and_sees_only_its_own(dl):
    res = dl.deposit(user="sup_a", supplier="sup_a", expect=None)
    assert res.status_code in (401, 403, 404)  # no permission to post
    mine = dl.deposit("BZJ-A", supplier="sup_a").json["id"]
    other = dl.deposit("BZJ-C").json["id"]
    listed = dl.call("GET", "dl_deposit/", "sup_a", expect=200).json
    assert listed["ids"] == [mine]
    dl.call("GET", f"dl_deposit/{other}", "sup_a", expect=404)
    dl.call("GET", f"dl_deposit/{mine}/entries", "sup_a", expect=200)
    assert dl.act(mine, "refund", user="sup_a", expect=None).status_code in (401, 403, 404)
    assert entries(dl, mine)["deposit"]["status"] == "held"


# -- settle once -----------------------------------------------------------------------------------
def test_each_deposit_settles_once(dl):
    pk = dl.deposit().json["id"]
    dl.act(pk, "trigger", trigger="award_notice", date="2025-03-31")
    res = dl.act(pk, "refund", date="2025-04-02", bank_reference="OUT-1")
    state = res.json["result"]["deposit"]
    assert state["status"] == "refunded" and state["held"] == "0.00"
    assert state["refunded"] == state["received"] == "10000.00"
    before = count_entries(dl)
    res = dl.act(pk, "refund", date="2025-04-02", bank_reference="OUT-2", expect=409)
    assert res.json["code"] == "invalid_state" and "已退还" in res.json["message"]
    res = dl.act(pk, "forfeit", reason=dl.reasons["refuse_sign"], expect=409)
    assert count_entries(dl) == before


def test_refund_validates_amount_reference_and_date(dl):
    pk = dl.deposit().json["id"]
    res = dl.act(pk, "refund", amount="5000.00", expect=422)
    assert "在管余额" in res.json["message"]["amount"][0]
    assert "bank_reference" in res.json["message"]
    res = dl.act(pk, "refund", date="2025-03-01", bank_reference="X", expect=422)
    assert "收取日期" in res.json["message"]["entry_date"][0]
    res = dl.act(pk, "refund", amount=100.5, expect=422)  # float refused by the schema
    assert "amount" in res.json["message"]
    assert entries(dl, pk)["deposit"]["status"] == "held"


# -- due dates ------------------------------------------------------------------------------------
def test_due_date_skips_weekends_holidays_counts_make_up_days_and_not_the_trigger_day(dl):
    pk = dl.deposit().json["id"]
    # Friday 2025-03-21: the 5th working day after it is Friday 2025-03-28
    res = dl.act(pk, "trigger", trigger="award_notice", date="2025-03-21",
           override_reason="假设的中标通知书日期（计算应退还日期）")
    assert res.json["result"]["deposit"]["due_date"] == "2025-03-28"
    # Tuesday 2025-09-30, before the National Day holiday (10-01..10-08 off, Saturday
    # 10-11 a make-up working day): 10-09, 10-10, 10-11, 10-13, 10-14
    res = dl.act(pk, "trigger", trigger="award_notice", date="2025-09-30",
           override_reason="假设的中标通知书日期（计算应退还日期）")
    assert res.json["result"]["deposit"]["due_date"] == "2025-10-14"
    res = dl.act(pk, "trigger", trigger="award_notice", date="2999-01-01", expect=422)
    assert "trigger_date" in res.json["message"]
    res = dl.act(pk, "trigger", trigger="nonsense", date="2025-03-21", expect=422)
    assert "trigger" in res.json["message"]


def test_due_lists(dl):
    pk = dl.deposit().json["id"]
    dl.act(pk, "trigger", trigger="award_notice", date="2025-03-21",
           override_reason="假设的中标通知书日期（计算应退还日期）")
    overdue = dl.call("GET", "dl_deposit/due/overdue", "agency", expect=200).json["result"]
    assert [d["id"] for d in overdue] == [pk] and overdue[0]["overdue_days"] > 0
    assert dl.call("GET", "dl_deposit/due/today", "agency", expect=200).json["result"] == []
    dl.call("GET", "dl_deposit/due/whenever", "agency", expect=404)


# -- late fee ---------------------------------------------------------------------------------------
def test_late_fee_on_an_overdue_refund(dl):
    pk = dl.deposit().json["id"]
    dl.act(pk, "trigger", trigger="award_notice", date="2025-03-21",
           override_reason="假设的中标通知书日期（计算应退还日期）")  # due 2025-03-28
    res = dl.act(pk, "refund", date="2025-04-30", bank_reference="OUT-LATE")
    entry = res.json["result"]["entry"]
    # 33 days at LPR 3.10% x 1.2 / 360 on 10,000.00 = 34.10
    assert entry["overdue_days"] == 33 and entry["late_fee"] == "34.10"
    assert entry["amount"] == "10000.00"


def test_no_late_fee_when_the_delay_is_the_suppliers_fault(dl):
    pk = dl.deposit().json["id"]
    res = dl.act(pk, "trigger", trigger="award_notice", date="2025-03-21",
           override_reason="假设的中标通知书日期（计算应退还日期）", supplier_fault=True,
                 expect=422)
    assert "supplier_fault_reason" in res.json["message"]
    dl.act(pk, "trigger", trigger="award_notice", date="2025-03-21",
           override_reason="假设的中标通知书日期（计算应退还日期）", supplier_fault=True,
           supplier_fault_reason="供应商基本账户已注销，未及时提供新账户")
    entry = dl.act(pk, "refund", date="2025-04-30", bank_reference="OUT-F").json["result"]["entry"]
    assert entry["late_fee"] == "0.00" and entry["overdue_days"] == 33


def test_late_fee_applies_each_lpr_to_its_own_days(dl):
    from addons.deposit_ledger import services

    with dl.app.app_context():
        # 2024-07-11..21: 11 days at 3.45 %; 2024-07-22..31: 10 days at 3.35 %
        fee = services.late_fee(db.session, Decimal("10000.00"), D(2024, 7, 10), D(2024, 7, 31))
        assert fee.days == 21
        assert [(s["days"], s["lpr"]) for s in fee.segments] == [(11, Decimal("3.45")),
                                                                   (10, Decimal("3.35"))]
        # 10000 x (3.45 x 11 + 3.35 x 10) x 1.2 / 100 / 360 = 23.8166... -> 23.82
        assert fee.fee == Decimal("23.82")
        assert services.late_fee(db.session, Decimal("10000.00"), D(2024, 7, 10),
                                 D(2024, 7, 10)).fee == Decimal("0.00")
        with pytest.raises(services.RuleError):
            services.late_fee(db.session, Decimal("1.00"), D(2019, 1, 1), D(2019, 9, 1))


# -- forfeiture and remittance ----------------------------------------------------------------------
def test_forfeiture_only_for_a_reason_the_project_lists_then_remittance(dl):
    pk = dl.deposit().json["id"]
    reason = dl.reasons["withdraw_in_validity"]
    res = dl.act(pk, "forfeit", reason=reason, date="2025-03-25", expect=422)
    assert "招标文件载明" in res.json["message"]["reason"][0]
    dl.post("dl_project_reason", {"project": dl.ids["project"], "reason": reason,
                                  "clause": "第二章 第15.3条"}, "agency", expect=201)
    dl.post("dl_project_reason", {"project": dl.ids["project"], "reason": reason},
            "agency", expect=409)
    res = dl.act(pk, "forfeit", reason=reason, date="2025-03-25")
    assert res.json["result"]["deposit"]["status"] == "forfeited"
    assert res.json["result"]["deposit"]["unremitted"] == "10000.00"
    res = dl.act(pk, "remit", date="2025-04-01", expect=422)
    assert "voucher_no" in res.json["message"]
    res = dl.act(pk, "remit", date="2025-04-01", voucher_no="FS2025040100012")
    state = res.json["result"]["deposit"]
    assert state["status"] == "remitted" and state["remitted"] == state["forfeited"] == "10000.00"
    dl.act(pk, "remit", date="2025-04-01", voucher_no="again", expect=409)


# -- conversion --------------------------------------------------------------------------------------
def test_winner_bid_deposit_converts_into_the_performance_deposit_once(dl):
    loser = dl.deposit().json["id"]
    res = dl.act(loser, "convert", contract=dl.ids["contract"], date="2025-04-03", expect=422)
    assert "contract" in res.json["message"] or "bid" in res.json["message"]
    pk = dl.deposit("BZJ-A", supplier="sup_a").json["id"]
    res = dl.act(pk, "convert", contract=dl.ids["contract"], date="2025-04-03")
    bid, perf = res.json["result"]["deposit"], res.json["result"]["performance_deposit"]
    assert bid["status"] == "converted" and bid["held"] == "0.00" and bid["converted"] == "10000.00"
    assert perf["status"] == "held" and perf["held"] == perf["received"] == "10000.00"
    perf_entries = entries(dl, perf["id"])["result"]
    bid_entries = entries(dl, pk)["result"]
    assert [e["kind"] for e in perf_entries] == ["conversion_in"]
    assert perf_entries[0]["linked_entry_id"] == bid_entries[-1]["id"]
    assert bid_entries[-1]["kind"] == "conversion_out"
    # the money exists once: held over both deposits is 10,000.00
    assert Decimal(bid["held"]) + Decimal(perf["held"]) == Decimal("10000.00")
    dl.act(pk, "convert", contract=dl.ids["contract"], expect=409)
    # reversing the conversion voids the performance deposit and holds the bid deposit again
    res = dl.act(pk, "reverse", reason="合同编号录错")
    assert res.json["result"]["deposit"]["status"] == "held"
    assert entries(dl, perf["id"])["deposit"]["status"] == "void"


# -- reversals and immutability ------------------------------------------------------------------------
def test_reversal_restores_the_balance_and_needs_a_reason(dl):
    pk = dl.deposit().json["id"]
    dl.act(pk, "refund", date="2025-03-25", bank_reference="OUT-9")
    res = dl.act(pk, "reverse", expect=422)
    assert "reason" in res.json["message"]
    ents = entries(dl, pk)["result"]
    res = dl.act(pk, "reverse", reason="银行退票", entry=ents[0]["id"], expect=422)
    assert "最近一笔" in res.json["message"]["entry"][0]
    res = dl.act(pk, "reverse", reason="银行退票", entry=ents[-1]["id"])
    state = res.json["result"]["deposit"]
    assert state["status"] == "held" and state["held"] == "10000.00" and state["refunded"] == "0.00"
    assert res.json["result"]["entry"]["reverses_id"] == ents[-1]["id"]
    dl.act(pk, "refund", date="2025-03-26", bank_reference="OUT-10")
    # reversing the receipt of a held deposit voids it
    pk2 = dl.deposit("BZJ-002").json["id"]
    res = dl.act(pk2, "reverse", reason="重复登记")
    assert res.json["result"]["deposit"]["status"] == "void"
    assert res.json["result"]["deposit"]["received"] == "0.00"
    dl.act(pk2, "refund", bank_reference="X", expect=409)


def test_ledger_entries_are_immutable(dl):
    from addons.deposit_ledger.models import DepositEntry
    from addons.deposit_ledger.services import LedgerImmutableError

    pk = dl.deposit().json["id"]
    with dl.app.app_context():
        e = db.session.execute(select(DepositEntry).where(DepositEntry.deposit_id == pk)).scalar_one()
        e.amount = Decimal("1.00")
        with pytest.raises(LedgerImmutableError):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(DepositEntry, e.id))
        with pytest.raises(LedgerImmutableError):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(LedgerImmutableError):
            db.session.execute(update(DepositEntry).values(note="x"))
        db.session.rollback()
        # and the database itself refuses (triggers), whatever the client
        with pytest.raises(DatabaseError):
            db.session.execute(text("UPDATE dl_entry SET amount = 1"))
        db.session.rollback()
        with pytest.raises(DatabaseError):
            db.session.execute(text("DELETE FROM dl_entry"))
        db.session.rollback()
    dl.call("DELETE", f"dl_deposit/{pk}", "agency", expect=422)
    assert entries(dl, pk)["result"][0]["amount"] == "10000.00"


def test_every_entry_and_state_change_is_audited(dl):
    pk = dl.deposit().json["id"]
    dl.act(pk, "trigger", trigger="award_notice", date="2025-03-21",
           override_reason="假设的中标通知书日期（计算应退还日期）")
    dl.act(pk, "refund", date="2025-03-25", bank_reference="OUT-A")
    dl.act(pk, "reverse", reason="退票")
    with dl.app.app_context():
        rows = db.session.execute(select(AuditLog.action, AuditLog.object_type, AuditLog.actor)
                                  .where(AuditLog.module == "deposit_ledger",
                                         AuditLog.object_type.like("dl_%"))
                                  .order_by(AuditLog.id)).all()
    actions = [(a, o) for a, o, _ in rows]
    assert ("create", "dl_deposit") in actions
    assert actions.count(("create", "dl_entry")) == 3  # receipt, refund, reversal
    assert ("transition:refund", "dl_deposit") in actions
    assert ("transition:reverse", "dl_deposit") in actions
    assert ("update", "dl_deposit") in actions  # trigger and due date
    assert {actor for *_, actor in rows} == {"agency"}


def test_guarantee_is_released_never_refunded(dl):
    pk = dl.deposit(form="guarantee", guarantee_type="e_guarantee", guarantee_number="EG-2025-1",
                    guarantee_issuer="吉林银行", guarantee_valid_until="2025-12-31").json["id"]
    assert entries(dl, pk)["result"] == []  # no money moved
    res = dl.act(pk, "refund", bank_reference="X", expect=422)
    assert "解除保函" in res.json["message"]["form"][0]
    res = dl.act(pk, "release", date="2025-04-01")
    assert res.json["result"]["deposit"]["status"] == "released"


def test_purchaser_of_another_unit_cannot_act(dl):
    pk = dl.deposit().json["id"]
    res = dl.act(pk, "refund", user="pur_jl", bank_reference="X", expect=None)
    assert res.status_code == 404  # another city: not even visible
    # another unit of the same district: not visible either (own reach, issue 12 finding 2)
    res = dl.act(pk, "refund", user="pur2", bank_reference="X", expect=404)
    assert entries(dl, pk)["deposit"]["status"] == "held"


def test_ledger_export_for_the_auditor_matches_the_balances(dl):
    import io

    import openpyxl

    a = dl.deposit().json["id"]
    dl.deposit("BZJ-002", supplier="sup_a")
    dl.act(a, "refund", date="2025-03-25", bank_reference="OUT-X")
    res = dl.call("GET", "dl_deposit/export/", "auditor", expect=200)
    ws = openpyxl.load_workbook(io.BytesIO(res.data)).active
    rows = list(ws.iter_rows(min_row=3, values_only=True))[:-1]  # title, header; totals
    by_number = {r[0]: r for r in rows}
    assert set(by_number) == {"BZJ-001", "BZJ-002"}
    assert by_number["BZJ-001"][3] == "已退还" and by_number["BZJ-001"][-1] == 0
    assert by_number["BZJ-002"][-1] == 10000
    assert dl.call("GET", "dl_deposit/export/", "sup_a").status_code in (401, 403, 404)
