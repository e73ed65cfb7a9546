# ruff: noqa: F811  (pytest fixtures imported from dl_world)
"""The demo data (every state, both cities, consistent ledgers, late fees as the service
computes them), the cleanup classification and report (API, xlsx, CLI), bulk actions and
the announcement list, and bank reconciliation (import, validation, matches, audit)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select

from core.db import db
from core.models import AuditLog, Region
from core.tenancy import SYSTEM, use_scope
from tests.addons.deposit_ledger.dl_world import dl, pb  # noqa: F401
from tests.conftest import cli, installer

CUTOFF = dt.date(2022, 5, 1)


@pytest.fixture
def demo(app):
    inst = installer(app)
    assert "deposit_ledger" in inst.install(["deposit_ledger"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "deposit_ledger").exit_code == 0
    return app


def test_demo_data_every_state_both_cities_consistent_ledgers(demo):
    from addons.deposit_ledger import services
    from addons.deposit_ledger.models import Deposit, DepositEntry

    with demo.app_context(), use_scope(SYSTEM):
        s = db.session
        deps = s.execute(select(Deposit)).scalars().all()
        codes = dict(s.execute(select(Region.id, Region.code)).all())
        assert {d.status for d in deps} == set(services.STATES)
        assert any(codes[d.region_id].startswith("2201") for d in deps)
        assert any(codes[d.region_id].startswith("2202") for d in deps)
        assert len({d.supplier_id for d in deps}) >= 5
        for d in deps:
            b = services.balances(s, d.id)
            if d.form == "guarantee":
                assert b.received == 0
            elif d.status == "held":
                assert b.held == b.received == d.amount
            elif d.status == "void":
                assert b.received == 0
            else:
                assert b.held == 0 and b.refunded + b.forfeited + b.converted == b.received
            if d.due_date and d.trigger_date:
                assert d.due_date == services.compute_due(s, d)
        for e in s.execute(select(DepositEntry).where(DepositEntry.kind == "refund")).scalars():
            dep = s.get(Deposit, e.deposit_id)
            fee = services.late_fee(s, e.amount, dep.due_date, e.entry_date)
            assert e.late_fee == (Decimal("0.00") if dep.supplier_fault else fee.fee), dep.number
            assert e.overdue_days == fee.days
    # a demo reload is idempotent and never touches the ledger
    assert cli(demo, "demo", "load").exit_code == 0


def test_cleanup_classification_and_report(demo):
    from addons.deposit_ledger import cleanup

    with demo.app_context(), use_scope(SYSTEM):
        df = cleanup.classify(db.session, CUTOFF, as_of=dt.date(2026, 1, 1))
        assert set(df["category"]) == {"refundable", "to_remit", "review"}
        assert (df["finished"] < CUTOFF).all()
        assert set(df["status"]) <= {"held", "forfeited"}
        # the accrued fee of every refundable money deposit equals the service's late fee
        from addons.deposit_ledger import services

        for r in df[df["category"] == "refundable"].itertuples():
            if r.form == "guarantee":
                assert r.fee_fen == 0
                continue
            fee = services.late_fee(db.session, Decimal(r.fen) / 100, r.due_date, dt.date(2026, 1, 1))
            assert Decimal(int(r.fee_fen)) / 100 == fee.fee
        rep = cleanup.report(db.session, CUTOFF)
        assert rep.by_agency["count"].sum() == len(rep.rows) == rep.by_region["count"].sum()
        assert set(rep.by_region["city"]) == {"长春市", "吉林市"}
        later = cleanup.classify(db.session, dt.date(2020, 1, 1))
        assert len(later) == 0  # nothing finished before 2020


def test_cleanup_api_xlsx_announcement_and_region_filter(demo):
    from tests.core.test_web import jwt

    client = demo.test_client()
    h = jwt(client)
    res = client.get("/api/v1/dl_cleanup/?cutoff=2022-05-01", headers=h)
    assert res.status_code == 200 and res.json["count"] > 0
    assert set(res.json["summary"]) == {"refundable", "to_remit", "review"}
    res_cc = client.get("/api/v1/dl_cleanup/?cutoff=2022-05-01&region=220100", headers=h)
    assert 0 < res_cc.json["count"] < res.json["count"]
    assert client.get("/api/v1/dl_cleanup/?cutoff=20220501", headers=h).status_code == 400
    assert client.get("/api/v1/dl_cleanup/?region=999999", headers=h).status_code == 400
    rep = client.get("/api/v1/dl_cleanup/report?cutoff=2022-05-01", headers=h).json
    assert {r["city"] for r in rep["by_region"]} == {"长春市", "吉林市"}
    ann = client.get("/api/v1/dl_cleanup/announcement", headers=h).json["result"]
    assert ann and {a["category"] for a in ann} <= {"待上缴国库", "需核实（缺少退还事由）"}
    res = client.get("/api/v1/dl_cleanup/export?cutoff=2022-05-01", headers=h)
    assert res.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(res.data))
    assert wb.sheetnames == ["按收取单位", "按地区", "明细"]
    detail = list(wb["明细"].iter_rows(min_row=2, values_only=True))  # below the title
    assert detail[0][0] == "保证金编号" and len(detail) - 2 == res_count(client, h)  # header, totals


def res_count(client, h) -> int:
    return client.get("/api/v1/dl_cleanup/?cutoff=2022-05-01", headers=h).json["count"]


def test_cleanup_bulk_refund_and_remit(demo):
    from tests.core.test_web import jwt

    client = demo.test_client()
    h = jwt(client)
    rows = client.get("/api/v1/dl_cleanup/?cutoff=2022-05-01&category=refundable", headers=h).json
    money_ids = [r["id"] for r in rows["result"] if r["form"] != "guarantee"]
    res = client.post("/api/v1/dl_cleanup/bulk", headers=h,
                      json={"action": "refund", "ids": money_ids, "bank_reference": "QL2026"})
    assert res.status_code == 200 and sorted(res.json["done"]) == sorted(money_ids)
    res = client.post("/api/v1/dl_cleanup/bulk", headers=h,
                      json={"action": "refund", "ids": money_ids[:1], "bank_reference": "QL2026"})
    assert res.json["done"] == [] and str(money_ids[0]) in res.json["refused"]
    remit = client.get("/api/v1/dl_cleanup/?category=to_remit", headers=h).json["result"]
    res = client.post("/api/v1/dl_cleanup/bulk", headers=h,
                      json={"action": "remit", "ids": [r["id"] for r in remit]})
    assert res.json["done"] == [] and all("voucher_no" not in v or "缴款凭证" in v
                                          for v in res.json["refused"].values())
    res = client.post("/api/v1/dl_cleanup/bulk", headers=h,
                      json={"action": "remit", "ids": [r["id"] for r in remit], "voucher_no": "FS1"})
    assert sorted(res.json["done"]) == sorted(r["id"] for r in remit)
    after = client.get("/api/v1/dl_cleanup/", headers=h).json["summary"]
    assert after["refundable"]["count"] == len(rows["result"]) - len(money_ids)
    assert after["to_remit"]["count"] == 0
    res = client.post("/api/v1/dl_cleanup/bulk", headers=h, json={"action": "burn", "ids": [1]})
    assert res.status_code == 422 and "action" in res.json["message"]


def test_cli_cleanup_report(demo, tmp_path):
    out = tmp_path / "report.xlsx"
    res = cli(demo, "deposit", "cleanup-report", "--cutoff", "2022-05-01", "--region", "220200",
              "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "written to" in res.output
    wb = openpyxl.load_workbook(out)
    cities = {r[0] for r in wb["按地区"].iter_rows(min_row=3, values_only=True)} - {None}
    assert cities <= {"吉林市", "合计"}
    assert cli(demo, "deposit", "cleanup-report", "--cutoff", "x", "--out",
               str(out)).exit_code != 0
    res = cli(demo, "deposit", "cleanup-report", "--region", "999", "--out", str(out))
    assert res.exit_code != 0 and "unknown region" in res.output


# -- reconciliation ------------------------------------------------------------------------------------
def _statement(rows: list[tuple]) -> bytes:
    lines = ["日期,金额,对方户名,流水号,收支方向"] + [",".join(map(str, r)) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_reconciliation_import_match_confirm_correct(dl):
    a = dl.deposit("BZJ-R1").json["id"]
    b = dl.deposit("BZJ-R2", supplier="sup_a", amount="9000.00").json["id"]
    dl.act(a, "refund", date="2025-03-25", bank_reference="OUT-R1")
    data = _statement([
        ("2025-03-20", "10000.00", "长春丙设备", "IN-BZJ-R1", "收入"),     # by reference
        ("2025-03-21", "9000.00", "长春甲科技", "BANK-XYZ", "收入"),       # by amount + date
        ("2025-03-25", "10000.00", "长春丙设备", "OUT-R1", "支出"),        # refund
        ("2025-03-28", "777.00", "不明款项", "UNKNOWN-1", "收入"),          # unmatched
    ])
    client = dl.client
    h = dl.h("agency")
    res = client.post("/api/v1/dl_reconcile/import", headers=h,
                      data={"file": (io.BytesIO(data), "对账单.csv")},
                      content_type="multipart/form-data")
    assert res.status_code == 200, res.json
    assert res.json["imported"] == 4 and res.json["proposed"] == 3
    batch = res.json["batch"]
    again = client.post("/api/v1/dl_reconcile/import", headers=h,
                        data={"file": (io.BytesIO(data), "对账单.csv")},
                        content_type="multipart/form-data")
    assert again.json["imported"] == 0 and again.json["skipped_duplicates"] == 4
    st = client.get(f"/api/v1/dl_reconcile/?batch={batch}", headers=h).json
    assert [u["reference"] for u in st["unmatched_lines"]] == ["UNKNOWN-1"]
    by_ref = {m["line"]["reference"]: m for m in st["matches"]}
    assert by_ref["BANK-XYZ"]["entry"]["deposit_id"] == b
    m = by_ref["IN-BZJ-R1"]["id"]
    res = client.post(f"/api/v1/dl_reconcile/match/{m}/confirm", headers=h)
    assert res.status_code == 200 and res.json["result"]["id"] == m
    assert res.json["result"]["state"] == "confirmed" and res.json["result"]["decided_by"] == "agency"
    assert client.post(f"/api/v1/dl_reconcile/match/{m}/confirm", headers=h).status_code == 409
    wrong = by_ref["BANK-XYZ"]["id"]
    assert client.post(f"/api/v1/dl_reconcile/match/{wrong}/reject", headers=h).status_code == 200
    # correction by hand: an amount that differs is refused, the right entry accepted
    line = by_ref["BANK-XYZ"]["line_id"]
    entry = by_ref["BANK-XYZ"]["entry"]
    entries_b = dl.call("GET", f"dl_deposit/{b}/entries", "agency", expect=200).json["result"]
    res = client.post("/api/v1/dl_reconcile/match", headers=h,
                      json={"line": st["unmatched_lines"][0]["id"], "entry": entries_b[0]["id"]})
    assert res.status_code == 422 and "金额不一致" in res.json["message"]["entry"][0]
    res = client.post("/api/v1/dl_reconcile/match", headers=h,
                      json={"line": line, "entry": entries_b[0]["id"]})
    assert res.status_code == 200 and res.json["result"]["state"] == "confirmed"
    del entry
    with dl.app.app_context():
        actions = {a for (a,) in db.session.execute(select(AuditLog.action).where(
            AuditLog.object_type == "dl_statement_match"))}
    assert {"transition:confirm_match", "transition:reject_match",
            "transition:correct_match"} <= actions


def test_reconciliation_refuses_bad_files_with_chinese_messages(dl):
    client, h = dl.client, dl.h("agency")

    def post(data: bytes, name: str = "s.csv"):
        return client.post("/api/v1/dl_reconcile/import", headers=h,
                           data={"file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")

    res = post("日期,金额\n2025-03-01,1\n".encode())
    assert res.status_code == 422 and any("流水号" in m for m in res.json["message"]["file"])
    res = post(_statement([("2025-02-30", "abc", "x", "R1", "进账")]))
    msgs = res.json["message"]["第2行"]
    assert res.status_code == 422 and len(msgs) == 3
    assert post(b"not a spreadsheet", "s.xlsx").status_code == 422
    assert post(b"x", "s.pdf").json["message"]["file"] == ["只支持 CSV 或 XLSX 格式的对账单"]
    res = client.post("/api/v1/dl_reconcile/import", headers=h, data={},
                      content_type="multipart/form-data")
    assert res.status_code == 422 and "file" in res.json["message"]
    # XLSX works as well
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["交易日期", "交易金额", "对方户名", "交易流水号", "借贷标志"])
    ws.append(["2025-03-20", "10000.00", "x", "R-X", "贷"])
    buf = io.BytesIO()
    wb.save(buf)
    res = post(buf.getvalue(), "s.xlsx")
    assert res.status_code == 200 and res.json["imported"] == 1


def test_purge_and_reinstall_with_demo(demo):
    from tests.conftest import table_names

    res = cli(demo, "module", "uninstall", "deposit_ledger", "--purge", "--yes")
    assert res.exit_code == 0, res.output
    assert not {t for t in table_names(demo) if t.startswith("dl_")}
    res = cli(demo, "module", "install", "deposit_ledger", "--demo")
    assert res.exit_code == 0, res.output
