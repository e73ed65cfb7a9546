# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""收款账户 on procurement_base's payments: after the purchaser confirms a financed contract's
repayment-account lock, a payment through the API or the payment page is saved only when it
names the locked account (another account: 422 / a field error, nothing saved); the page
offers the locked account as the default and says why; without a lock the field is optional."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core.db import db
from core.errors import RuleError
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401
from tests.addons.supply_chain_finance.test_scf_pages import token, web

LOCKED = "6216 6102 0001 2345"  # as the bank entered it (scf_world.approve)
OTHER = "6222000011112222"
REFUSAL = "回款账户已锁定为 测试银行营业部 6216 6102 0001 2345"


def _confirmed_lock(scf) -> None:
    from addons.supply_chain_finance import services
    from addons.supply_chain_finance.models import AccountLock

    scf.approve(scf.apply("300000.00"))
    with scf.app.app_context():
        lock_id = db.session.execute(select(AccountLock.id)).scalar_one()
    scf.run(services.confirm_account, lock_id, purchaser_ids={scf.org["pur_cc"]}, actor="pur")


def _payments(scf) -> list[tuple[str, str | None]]:
    from addons.procurement_base.models import Payment

    with scf.app.app_context():
        return [(str(a), p) for a, p in db.session.execute(
            select(Payment.amount, Payment.payee_account).order_by(Payment.id))]


def _body(scf, account: str | None = None, amount: str = "1000.00") -> dict:
    body = {"contract": scf.ids["contract"], "paid_date": "2025-04-10", "amount": amount}
    if account is not None:
        body["payee_account"] = account
    return body


def test_api_payment_of_a_locked_contract_goes_to_the_locked_account(scf):
    _confirmed_lock(scf)
    before = _payments(scf)
    for account in (None, "", OTHER):
        res = scf.post("pb_payment", _body(scf, account), "pur", expect=422)
        assert list(res.json["message"]) == ["payee_account"]
        assert REFUSAL in res.json["message"]["payee_account"][0]
    assert _payments(scf) == before
    res = scf.post("pb_payment", _body(scf, LOCKED), "pur", expect=201)
    shown = scf.call("GET", f"pb_payment/{res.json['id']}", "pur", expect=200).json["result"]
    assert shown["payee_account"] == LOCKED
    # the account written without spaces is the same account
    scf.post("pb_payment", _body(scf, LOCKED.replace(" ", ""), "2000.00"), "pur", expect=201)
    assert _payments(scf) == before + [("1000.00", LOCKED), ("2000.00", LOCKED.replace(" ", ""))]
    # changing a saved payment to another account is refused as well
    res = scf.put("pb_payment", shown["id"], {"payee_account": OTHER}, "pur", expect=422)
    assert REFUSAL in res.json["message"]["payee_account"][0]
    assert _payments(scf)[-2] == ("1000.00", LOCKED)


def test_page_payment_of_a_locked_contract_goes_to_the_locked_account(scf):
    _confirmed_lock(scf)
    client = web(scf, "pur")
    url = f"/paymentview/add?_flt_0_contract={scf.ids['contract']}"
    page = client.get(url).get_data(as_text=True)
    assert "收款账户" in page and "付款只能付至该账户" in page
    assert re.search(r'name="payee_account"[^>]*value="6216 6102 0001 2345"', page) or \
        re.search(r'value="6216 6102 0001 2345"[^>]*name="payee_account"', page)
    before = _payments(scf)
    csrf = token(client, "/paymentview/add")
    form = {"csrf_token": csrf, "contract": str(scf.ids["contract"]), "paid_date": "2025-04-10",
            "amount": "1000.00", "reference": "", "payee_account": OTHER}
    res = client.post("/paymentview/add", data=form)
    html = res.get_data(as_text=True)
    assert res.status_code == 200 and REFUSAL in html
    assert html.index(REFUSAL) > html.index('name="payee_account"')  # on the field
    assert "付款只能付至该账户" in html  # the hint beside the field again
    assert _payments(scf) == before
    res = client.post("/paymentview/add", data={**form, "payee_account": LOCKED})
    assert res.status_code == 302, res.get_data(as_text=True)[:2000]
    assert _payments(scf) == before + [("1000.00", LOCKED)]
    listing = client.get("/paymentview/list/").get_data(as_text=True)
    assert "收款账户" in listing and LOCKED in listing
    from addons.procurement_base.models import Payment

    with scf.app.app_context():
        pk = db.session.execute(select(Payment.id).order_by(Payment.id.desc())).scalars().first()
    edit = client.get(f"/paymentview/edit/{pk}").get_data(as_text=True)
    assert "付款只能付至该账户" in edit and LOCKED in edit


def test_without_a_lock_the_payee_account_is_optional(scf):
    before = _payments(scf)
    scf.post("pb_payment", _body(scf), "pur", expect=201)
    scf.post("pb_payment", _body(scf, "6222 0000 3333 4444", "2000.00"), "pur", expect=201)
    assert _payments(scf) == before + [("1000.00", None), ("2000.00", "6222 0000 3333 4444")]
    # an approved financing whose lock the purchaser has not yet confirmed locks nothing
    scf.approve(scf.apply("300000.00"))
    scf.post("pb_payment", _body(scf, amount="3000.00"), "pur", expect=201)
    client = web(scf, "pur")
    page = client.get(f"/paymentview/add?_flt_0_contract={scf.ids['contract']}")
    assert page.status_code == 200 and "付款只能付至该账户" not in page.get_data(as_text=True)
    csrf = token(client, "/paymentview/add")
    res = client.post("/paymentview/add", data={
        "csrf_token": csrf, "contract": str(scf.ids["contract"]), "paid_date": "2025-04-10",
        "amount": "4000.00", "reference": "", "payee_account": ""})
    assert res.status_code == 302
    assert _payments(scf)[-1] == ("4000.00", None)


def test_demo_payments_stay_valid(app):
    """Every demo payment passes the payment rules with supply_chain_finance's demo locks:
    those paid after a confirmed lock name the locked account."""
    from addons.procurement_base.models import Payment
    from addons.procurement_base.services.contracts import validate_payment
    from addons.supply_chain_finance.models import AccountLock
    from tests.conftest import cli, installer

    assert "supply_chain_finance" in installer(app).install(["supply_chain_finance"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "supply_chain_finance").exit_code == 0
    with app.app_context():
        locks = list(db.session.execute(
            select(AccountLock).where(AccountLock.status == "locked")).scalars())
        locked = {lk.contract_id: lk.account for lk in locks}
        since = {lk.contract_id: lk.confirmed_at.date() for lk in locks}
        payments = list(db.session.execute(select(Payment)).scalars())
        assert {p.contract_id for p in payments} & set(locked)
        after = [(p.id, p.payee_account, locked[p.contract_id]) for p in payments
                 if p.contract_id in locked and p.paid_date >= since[p.contract_id]]
        before = [p.id for p in payments
                  if p.contract_id in locked and p.paid_date < since[p.contract_id]]
        assert after and before
        assert all(account == lock for _, account, lock in after)
        for pay in payments:
            validate_payment(db.session, pay)
            if pay.contract_id in locked and pay.payee_account is None:
                # paid before the lock: its voucher may be corrected, its money not moved
                pay.reference = "国库集中支付 更正"
                validate_payment(db.session, pay)
                pay.amount = pay.amount - 1
                with pytest.raises(RuleError):
                    validate_payment(db.session, pay)
                db.session.rollback()
        db.session.rollback()


def test_lock_page_leads_the_purchaser_to_the_payment_form(scf):
    """A confirmed lock's page tells the purchaser where to pay and links to 登记付款 with the
    contract chosen, where the locked account is offered and explained."""
    from addons.supply_chain_finance.models import AccountLock

    _confirmed_lock(scf)
    with scf.app.app_context():
        lock_id = db.session.execute(select(AccountLock.id)).scalar_one()
    client = web(scf, "pur")
    page = client.get(f"/accountlockview/show/{lock_id}").get_data(as_text=True)
    assert "付款只能付至该账户" in page and "登记付款（付至该账户）" in page
    href = re.search(r'id="scf-pay" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert f"_flt_0_contract={scf.ids['contract']}" in href
    form = client.get(href).get_data(as_text=True)
    assert "付款只能付至该账户" in form and LOCKED in form
    # the supplier sees where its contract is paid, but gets no payment button
    supplier_page = web(scf, "sup_a").get(f"/accountlockview/show/{lock_id}").get_data(as_text=True)
    assert "付款只能付至该账户" in supplier_page and "scf-pay" not in supplier_page
