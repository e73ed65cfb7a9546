"""The purchaser's payment plans past their date and not covered by payments (paid in plan
order): red above the 付款计划 list (未付金额, 已逾期 N 天) and a workbench card 合同款逾期未付."""

from __future__ import annotations

import datetime as dt

from tests.addons.procurement_base.pb_world import PASSWORD, pb  # noqa: F401
from tests.core.test_web import login_form
from tests.core.test_workbench import cards


def test_overdue_plan_lines_red_and_counted(pb) -> None:  # noqa: F811
    ids = pb.signed_contract("OV-001", amount="300000.00")
    from addons.procurement_base.services import today as pb_today

    today = pb_today()  # the platform's day (Beijing time)
    for seq, days, amount in ((1, -40, "100000.00"), (2, -10, "100000.00"), (3, 20, "100000.00")):
        pb.post("pb_payment_plan", {"contract": ids["contract"], "seq": seq,
                                    "due_date": (today + dt.timedelta(days=days)).isoformat(),
                                    "amount": amount}, expect=201)
    # the first line paid in full, the second in part: the second is overdue by 70,000
    pb.post("pb_payment", {"contract": ids["contract"], "paid_date": today.isoformat(),
                           "amount": "130000.00"}, expect=201)
    client = pb.app.test_client()
    login_form(client, "pur", PASSWORD)
    assert cards(client.get("/").get_data(as_text=True))["合同款逾期未付"] == 1
    html = client.get("/paymentplanview/list/").get_data(as_text=True)
    panel = html.split('id="pb-overdue-plans"')[1].split("</table>")[0]
    assert panel.count("pb-overdue-row") == 1
    assert "第2期" in panel and "¥70,000.00" in panel and "已逾期 10 天" in panel
    assert "None" not in panel
    # paid up: nothing overdue
    pb.post("pb_payment", {"contract": ids["contract"], "paid_date": today.isoformat(),
                           "amount": "70000.00"}, expect=201)
    assert cards(client.get("/").get_data(as_text=True))["合同款逾期未付"] == 0
    assert 'id="pb-overdue-plans"' not in client.get("/paymentplanview/list/").get_data(as_text=True)
