# ruff: noqa: F811  (pytest fixtures imported from scfe_world)
"""政采贷 on an accepted e-mall order (the bridge ``scf_emall``): the supplier applies by order
(service, API, page link), the bank sees the order's data, the rules of contract financing hold
(not its order 403, not accepted 422, already financed 409, over order amount − paid − financed
422, nothing stored), the order's payment in ``emall`` goes to the confirmed repayment account
(another: 422 on ``payee_account``, nothing stored) until release, every lock change is audited
on the order; on PostgreSQL two banks approving the same order at the same moment: one 200,
one 409."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, select, text

from core.db import db
from core.errors import ConflictError, ForbiddenError, RuleError
from tests.addons.scf_emall.scfe_world import TODAY, pb, scf, scfe  # noqa: F401
from tests.addons.supply_chain_finance.test_scf_pages import plain, token, web

LOCKED = "6216 6102 0001 2345"  # scf_world.approve's account
OTHER = "6222000011112222"
APPROVE = {"decision": "approve", "amount": "20000.00", "rate_percent": "3.45",
           "term_months": 6, "repayment_account": LOCKED, "repayment_bank": "测试银行营业部"}


def write(w, path: str, user: str, body: dict, key: str | None = None, expect: int | None = None):
    headers = {**w.h(user), "Idempotency-Key": key or uuid.uuid4().hex}
    res = w.client.post(f"/api/v1/{path}", json=body, headers=headers)
    if expect is not None:
        assert res.status_code == expect, (path, res.status_code, res.get_data(as_text=True))
    return res


def order(w, status: str = "accepted", amount: str = "50000.00", supplier: str = "sup_a",
          purchaser: str = "pur_cc") -> int:
    """An e-mall order of ``supplier``; accepted (or disputed after acceptance): with the
    contract acceptance writes (emall's own create_contract)."""
    from addons.emall.models import EmallOrder
    from addons.emall.services.orders import create_contract
    from core.models import Organization

    with w.app.app_context():
        placed = dt.datetime.combine(TODAY - dt.timedelta(days=10), dt.time(9))
        o = EmallOrder(number=f"SCFO-{uuid.uuid4().hex[:10].upper()}", purchaser_id=w.org[purchaser],
                       supplier_id=w.org[supplier], amount=Decimal(amount), status=status,
                       placed_at=placed, delivered_at=placed + dt.timedelta(days=3),
                       region_id=db.session.get(Organization, w.org[purchaser]).region_id)
        if status in ("accepted", "disputed"):
            o.accepted_on = TODAY - dt.timedelta(days=5)
            o.payment_due = TODAY + dt.timedelta(days=20)
            o.disputed_from = "accepted" if status == "disputed" else None
        db.session.add(o)
        db.session.flush()
        if status in ("accepted", "disputed"):
            o.contract_id = create_contract(db.session, o).id
        db.session.commit()
        return o.id


def contract_of(w, order_id: int) -> int:
    from addons.emall.models import EmallOrder

    with w.app.app_context():
        return db.session.get(EmallOrder, order_id).contract_id


def apply_order(w, order_id: int, amount: str = "20000.00", bank: str = "bank", supplier: str = "sup_a"):
    from addons.scf_emall import financing

    return w.run(financing.apply_order, supplier_id=w.org[supplier], order_id=order_id,
                 bank_id=w.org[bank], amount=amount, purpose="订单货款周转")


def counts(w) -> tuple[int, int]:
    from addons.supply_chain_finance.models import AccountLock, Application

    return w.count(Application), w.count(AccountLock)


def confirmed(w, order_id: int, amount: str = "20000.00") -> int:
    """Applied, approved and the lock confirmed by the purchaser; the application id."""
    from addons.supply_chain_finance import services
    from addons.supply_chain_finance.models import AccountLock

    app_id = apply_order(w, order_id, amount)
    w.approve(app_id, amount=amount)
    with w.app.app_context():
        lock_id = db.session.execute(select(AccountLock.id).where(
            AccountLock.application_id == app_id)).scalar_one()
    w.run(services.confirm_account, lock_id, purchaser_ids={w.org["pur_cc"]}, actor="pur")
    return app_id


def payments(w, contract_id: int) -> list[tuple[str, str | None]]:
    from addons.procurement_base.models import Payment

    with w.app.app_context():
        return [(str(a), p) for a, p in db.session.execute(
            select(Payment.amount, Payment.payee_account).where(Payment.contract_id == contract_id)
            .order_by(Payment.id))]


def status_of(w, order_id: int) -> str:
    from addons.emall.models import EmallOrder

    with w.app.app_context():
        return db.session.get(EmallOrder, order_id).status


# -- applying ----------------------------------------------------------------------------------
def test_supplier_finances_its_accepted_order_and_the_bank_sees_the_order(scfe):
    from addons.supply_chain_finance import services
    from addons.supply_chain_finance.models import Application

    oid = order(scfe)
    cid = contract_of(scfe, oid)
    app_id = apply_order(scfe, oid)
    app = scfe.get(Application, app_id)
    assert app.contract_id == cid and app.contract_number.startswith("HT-SCFO-")
    with scfe.app.app_context():
        from addons.procurement_base.models import Contract

        data = services.contract_data(db.session, db.session.get(Contract, cid))
    o = data["emall_order"]
    assert o["order_number"] == app.contract_number[3:]
    assert o["order_status"] == "已验收" and o["delivery_status"].startswith("已送达")
    assert o["order_amount"] == "50000.00" and o["paid_amount"] == "0.00"
    assert o["purchaser_name"] and o["purchaser_credit_code"]
    assert data["acceptance_status"].startswith("已验收（")  # the order's, not the contract's
    assert data["method"] == "电子卖场" and data["purchaser_region"]


@pytest.mark.parametrize("case", ["not_own", "not_accepted", "disputed", "financed", "over",
                                  "over_after_payment"])
def test_bad_applications_are_refused_and_nothing_is_stored(scfe, case):
    from addons.procurement_base import services as pb_services
    from addons.procurement_base.models import Contract

    oid = order(scfe, status="delivered" if case == "not_accepted" else
                "disputed" if case == "disputed" else "accepted")
    amount = "20000.00"
    if case == "financed":
        scfe.approve(apply_order(scfe, oid), amount="20000.00")
    if case == "over":
        amount = "50000.01"
    if case == "over_after_payment":
        with scfe.app.app_context():
            pb_services.record_payment(db.session, db.session.get(Contract, contract_of(scfe, oid)),
                                       "40000.00", TODAY)
            db.session.commit()
        amount = "10000.01"
    before = counts(scfe)
    expected = {"not_own": (ForbiddenError, "order", "不是贵单位的订单"),
                "not_accepted": (RuleError, "order", "验收通过后才能申请融资"),
                "disputed": (RuleError, "order", "存在争议"),
                "financed": (ConflictError, "contract", "不能重复融资"),
                "over": (RuleError, "amount", "超过合同未付余额 ¥50,000.00"),
                "over_after_payment": (RuleError, "amount", "超过合同未付余额 ¥10,000.00")}[case]
    with pytest.raises(expected[0]) as exc:
        apply_order(scfe, oid, amount, supplier="sup_b" if case == "not_own" else "sup_a")
    assert expected[2] in str(exc.value.messages[expected[1]])
    assert counts(scfe) == before


def test_a_disputed_order_cannot_be_approved_either(scfe):
    """Applied while accepted, disputed afterwards: the bank's approval is refused (the
    contract row locked, the order's check run again)."""
    from addons.emall.models import EmallOrder

    oid = order(scfe)
    app_id = apply_order(scfe, oid)
    with scfe.app.app_context():
        o = db.session.get(EmallOrder, oid)
        o.status, o.disputed_from = "disputed", "accepted"
        db.session.commit()
    with pytest.raises(RuleError) as exc:
        scfe.approve(app_id, amount="20000.00")
    assert "存在争议" in str(exc.value.messages["contract"])
    assert counts(scfe)[1] == 0


def test_apply_by_order_through_the_api(scfe):
    oid = order(scfe)
    other = order(scfe, supplier="sup_b")
    waiting = order(scfe, status="shipped")
    listed = scfe.call("GET", "scf_emall_order/financeable", "sup_a", expect=200).json["result"]
    row = next(r for r in listed if r["id"] == oid)
    assert row["financeable_amount"] == "50000.00" and row["financing"] is None
    assert other not in [r["id"] for r in listed]
    body = {"bank": scfe.org["bank"], "amount": "20000.00", "purpose": "周转"}
    key = uuid.uuid4().hex
    first = write(scfe, f"scf_emall_order/{oid}/apply", "sup_a", body, key, expect=201)
    again = write(scfe, f"scf_emall_order/{oid}/apply", "sup_a", body, key, expect=201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json["result"]["id"] == again.json["result"]["id"]
    assert first.json["result"]["contract_id"] == contract_of(scfe, oid)
    app_id = first.json["result"]["id"]
    # the bank sees the order's data in the contract call
    res = scfe.call("GET", f"scf_application/{app_id}/contract", "bank", expect=200).json["result"]
    assert res["contract"]["emall_order"]["order_status"] == "已验收"
    before = counts(scfe)
    for pk, user, amount, status, field in (
            (other, "sup_a", "100.00", 403, "order"),
            (waiting, "sup_a", "100.00", 422, "order"),
            (oid, "sup_a", "50000.01", 422, "amount"),
            (999999, "sup_a", "100.00", 422, "order")):
        res = write(scfe, f"scf_emall_order/{pk}/apply", user,
                    {**body, "bank": scfe.org["bank2"], "amount": amount}, expect=status)
        assert field in res.json["message"], res.json
    assert counts(scfe) == before
    write(scfe, f"scf_application/{app_id}/decision", "bank", APPROVE, expect=200)
    listed = scfe.call("GET", "scf_emall_order/financeable", "sup_a", expect=200).json["result"]
    row = next(r for r in listed if r["id"] == oid)
    assert row["financeable_amount"] is None and row["financing_status"] == "已批准（待放款）"
    res = write(scfe, f"scf_emall_order/{oid}/apply", "sup_a", {**body, "bank": scfe.org["bank2"],
                                                                  "amount": "100.00"}, expect=409)
    assert "重复融资" in str(res.json["message"])
    assert counts(scfe) == (before[0], before[1] + 1)  # only the approval's lock
    res = scfe.client.post(f"/api/v1/scf_emall_order/{oid}/apply", json=body, headers=scfe.h("sup_a"))
    assert res.status_code == 400  # no Idempotency-Key
    # a bank may not apply
    assert scfe.client.post(f"/api/v1/scf_emall_order/{oid}/apply", json=body, headers={
        **scfe.h("bank"), "Idempotency-Key": "x"}).status_code in (401, 403)


def test_openapi_documents_the_order_endpoints(scfe):
    spec = scfe.call("GET", "_openapi", "admin", expect=200).json
    base = "/api/v1/scf_emall_order"
    assert {f"{base}/financeable", f"{base}/{{pk}}/apply"} <= set(spec["paths"])
    responses = spec["paths"][f"{base}/{{pk}}/apply"]["post"]["responses"]
    assert {"201", "403", "409", "422"} <= set(responses)


# -- the order's payment under the lock ----------------------------------------------------
def pay(w, order_id: int, account: str | None, expect: int):
    body = {"paid_on": TODAY.isoformat(), "payment_ref": "ZF-1"}
    if account is not None:
        body["payee_account"] = account
    res = w.client.post(f"/api/v1/emall_order/{order_id}/transition/pay", json=body, headers=w.h("pur"))
    assert res.status_code == expect, res.get_data(as_text=True)
    return res


def test_payment_of_a_locked_order_goes_to_the_locked_account(scfe):
    oid = order(scfe)
    cid = contract_of(scfe, oid)
    confirmed(scfe, oid)
    for account in (None, "", OTHER):
        res = pay(scfe, oid, account, 422)
        assert list(res.json["message"]) == ["payee_account"]
        msg = res.json["message"]["payee_account"][0]
        assert "该订单已办理政府采购合同融资" in msg and f"测试银行营业部 {LOCKED}" in msg
        assert status_of(scfe, oid) == "accepted" and payments(scfe, cid) == []
    res = pay(scfe, oid, LOCKED.replace(" ", ""), 200)
    assert res.json["result"]["status"] == "paid"
    assert payments(scfe, cid) == [("50000.00", LOCKED.replace(" ", ""))]


def test_without_a_confirmed_lock_and_after_release_any_account_is_accepted(scfe):
    from addons.supply_chain_finance import services

    oid = order(scfe)
    app_id = apply_order(scfe, oid)
    scfe.approve(app_id, amount="20000.00")  # pending: the purchaser has not confirmed
    pay(scfe, oid, OTHER, 200)
    oid2 = order(scfe)
    app2 = confirmed(scfe, oid2)
    pay(scfe, oid2, OTHER, 422)
    scfe.run(services.release, app2, bank_id=scfe.org["bank"], reason="借款人已提前结清")
    pay(scfe, oid2, None, 200)


def test_every_lock_change_is_audited_on_the_order(scfe):
    from addons.supply_chain_finance import services
    from core.models import AuditLog

    oid = order(scfe)
    app_id = confirmed(scfe, oid)
    scfe.run(services.disburse, app_id, bank_id=scfe.org["bank"], amount="20000.00",
             on=TODAY.isoformat(), maturity=(TODAY + dt.timedelta(days=90)).isoformat())
    scfe.run(services.repay, app_id, bank_id=scfe.org["bank"], amount="20000.00", on=TODAY.isoformat())
    with scfe.app.app_context():
        rows = db.session.execute(select(AuditLog.action, AuditLog.module, AuditLog.after).where(
            AuditLog.object_type == "emall_order", AuditLog.object_id == str(oid),
            AuditLog.action.like("scf_lock_%")).order_by(AuditLog.id)).all()
    assert [r[0] for r in rows] == ["scf_lock_created", "scf_lock_confirmed", "scf_lock_released"]
    assert {r[1] for r in rows} == {"scf_emall"}
    assert LOCKED in str(rows[1][2])


# -- pages ---------------------------------------------------------------------------------------
def test_order_page_links_and_the_pay_form(scfe):
    oid = order(scfe)
    cid = contract_of(scfe, oid)
    sup = web(scfe, "sup_a")
    html = sup.get(f"/orderview/show/{oid}").get_data(as_text=True)
    assert "申请融资（政采贷）" in html and f"/scf/apply/?contract={cid}" in html
    apply_page = sup.get(f"/scf/apply/?contract={cid}").get_data(as_text=True)
    assert f'id="scf-contract-{cid}"' in apply_page and "电子卖场订单 SCFO-" in apply_page
    first = re.search(r'scf-contract" data-contract="(\d+)"', apply_page).group(1)
    assert first == str(cid)  # the order's contract first, marked
    plain(apply_page)
    # the supplier applies on the page (the form of the apply page)
    csrf = token(sup, "/scf/apply/")
    res = sup.post("/scf/apply/", data={"csrf_token": csrf, "contract": str(cid), "bank": str(scfe.org["bank"]),
                                        "amount": "20000.00"})
    assert res.status_code == 302
    app_id = int(res.headers["Location"].rstrip("/").split("/")[-1])
    bank = web(scfe, "bank")
    show = bank.get(f"/applicationview/show/{app_id}").get_data(as_text=True)
    assert "电子卖场订单 SCFO-" in show and "送达情况" in show and "¥50,000.00" in show
    plain(show)
    write(scfe, f"scf_application/{app_id}/decision", "bank", APPROVE, expect=200)
    lock_id = scfe.call("GET", "scf_account_lock/", "pur", expect=200).json["ids"][0]
    write(scfe, f"scf_account_lock/{lock_id}/confirm", "pur", {}, expect=200)
    html = sup.get(f"/orderview/show/{oid}").get_data(as_text=True)
    assert "申请融资（政采贷）" not in html and "融资申请 RZ" in html
    # the purchaser's pay form: the locked account offered and explained
    pur = web(scfe, "pur")
    page = pur.get(f"/orderview/show/{oid}").get_data(as_text=True)
    plain(page)
    assert re.search(r'name="payee_account"[^>]*value="6216 6102 0001 2345"', page.replace("\n", " "))
    assert "付款只能付至该账户" in page and "回款账户（已锁定）" in page
    lock_url = re.search(r'href="(/accountlockview/show/\d+)"', page).group(1)
    lock_page = pur.get(lock_url).get_data(as_text=True)
    assert "电子卖场订单 SCFO-" in lock_page and "请在订单页面办理" in lock_page
    assert 'id="scf-pay"' not in lock_page  # paid through the order's pay step, not pb_payment
    csrf = token(pur, f"/orderview/show/{oid}")
    form = {"csrf_token": csrf, "paid_on": TODAY.isoformat(), "payment_ref": "ZF-9", "payee_account": OTHER}
    res = pur.post(f"/orderview/act/{oid}/pay", data=form, follow_redirects=True)
    assert "回款账户已锁定为" in res.get_data(as_text=True)
    assert status_of(scfe, oid) == "accepted" and payments(scfe, cid) == []
    pur.post(f"/orderview/act/{oid}/pay", data={**form, "payee_account": LOCKED})
    assert status_of(scfe, oid) == "paid" and payments(scfe, cid) == [("50000.00", LOCKED)]


# -- PostgreSQL: two banks approving the same order at the same moment ------------------------
def test_two_banks_approving_one_order_at_the_same_moment(scfe, pg_url):
    oid = order(scfe)
    cid = contract_of(scfe, oid)
    ids = {}
    for user in ("bank", "bank2"):
        ids[user] = write(scfe, f"scf_emall_order/{oid}/apply", "sup_a",
                          {"bank": scfe.org[user], "amount": "20000.00"}, expect=201).json["result"]["id"]
    app = scfe.app
    headers = {"bank": scfe.h("bank"), "bank2": scfe.h("bank2")}
    results: dict[str, int] = {}
    bodies: dict[str, dict] = {}

    def approve(user: str) -> None:
        client = app.test_client()
        res = client.post(f"/api/v1/scf_application/{ids[user]}/decision", json=APPROVE,
                          headers={**headers[user], "Idempotency-Key": uuid.uuid4().hex})
        results[user], bodies[user] = res.status_code, res.json

    engine = create_engine(pg_url)
    monitor = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with engine.connect() as blocker:
        tx = blocker.begin()
        blocker.execute(text("SELECT id FROM pb_contract WHERE id = :id FOR UPDATE"), {"id": cid})
        threads = [threading.Thread(target=approve, args=(u,)) for u in ("bank", "bank2")]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        waiting = 0
        while time.monotonic() < deadline:
            waiting = monitor.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database() AND query LIKE '%pb_contract%FOR UPDATE%'")).scalar()
            if waiting == 2:
                break
            time.sleep(0.05)
        assert waiting == 2, "both approvals should wait on the order's contract row"
        tx.commit()
    for t in threads:
        t.join(60)
    monitor.close()
    engine.dispose()
    assert sorted(results.values()) == [200, 409], bodies
    loser = next(u for u, s in results.items() if s == 409)
    assert "重复融资" in str(bodies[loser]["message"])
    from addons.supply_chain_finance.models import AccountLock, Application

    with app.app_context():
        states = sorted(s for (s,) in db.session.execute(
            select(Application.status).where(Application.contract_id == cid)))
        locks = db.session.execute(select(AccountLock.id).where(AccountLock.contract_id == cid)).all()
    assert states == ["approved", "submitted"] and len(locks) == 1
