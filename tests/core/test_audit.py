"""Audit log: append-only table, the record() service, what the core audits (module
operations, per-region enablement, state transitions), the read-only page with filters
and Excel export, and the auditors' API scoped by region. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from core.addons.security import sync_module_roles
from core.db import db
from core.models import AuditLog, Organization, Region
from core.services import audit
from core.services.statemachine import StateMachine, Transition
from tests.conftest import (
    BACKEND,
    FIXTURES,
    FX_ADDONS,
    cli,
    init_db,
    installer,
    query,
    table_names,
)
from tests.core.test_web import jwt, login_form

ROLE = "Audit Reader"


def audit_rows(app, where: str = "1 = 1", **params) -> list[dict]:
    with app.app_context(), db.engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT * FROM erp_audit_log WHERE {where} ORDER BY id"), params
        ).mappings().all()
    return [dict(r) for r in rows]


def region_id(app, code: str) -> int:
    return query(app, "SELECT id FROM erp_region WHERE code = :c", c=code)[0][0]


def write(app, **kwargs) -> int:
    with app.app_context(), db.engine.begin() as conn:
        return audit.record(conn, **kwargs)


# -- the service ----------------------------------------------------------------------------
def test_record_stores_json_with_decimals_and_dates_as_strings(app) -> None:
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=5)
    rid = region_id(app, "220100")
    new_id = write(
        app, action="update", object_type="deposit", object_id=42, module="deposit_ledger",
        region_id=rid, reason="更正金额",
        before={"amount": Decimal("100.00"), "due": dt.date(2024, 10, 8)},
        after={"amount": Decimal("80.50"), "at": dt.datetime(2024, 10, 8, 9, 30),
               "tags": {"b", "a"}},
    )
    (row,) = audit_rows(app, "id = :i", i=new_id)
    assert row["actor"] == "system" and row["actor_id"] is None
    assert row["object_type"] == "deposit" and row["object_id"] == "42"
    assert row["region_id"] == rid and row["module"] == "deposit_ledger"
    assert json.loads(row["before"]) == {"amount": "100.00", "due": "2024-10-08"}
    assert json.loads(row["after"]) == {"amount": "80.50", "at": "2024-10-08T09:30:00",
                                        "tags": ["a", "b"]}
    assert '"80.50"' in row["after"], "Decimal is a JSON string, never a float"
    at = row["at"] if isinstance(row["at"], dt.datetime) else dt.datetime.fromisoformat(row["at"])
    assert before <= at <= before + dt.timedelta(minutes=1), "at is UTC"


def test_actor_from_argument_context_and_user_object(app) -> None:
    class U:
        username, id = "alice", 7

    i1 = write(app, action="create", object_type="x", object_id=1, actor=U())
    with audit.acting_as("nightly-job"):
        i2 = write(app, action="create", object_type="x", object_id=2)
    i3 = write(app, action="create", object_type="x", object_id=3, actor="bob")
    got = {r["id"]: (r["actor"], r["actor_id"]) for r in audit_rows(app)}
    assert got[i1] == ("alice", 7) and got[i2] == ("nightly-job", None)
    assert got[i3] == ("bob", None)


def test_update_and_delete_of_the_log_are_refused_by_the_database(app) -> None:
    new_id = write(app, action="create", object_type="x", object_id=1, after={"v": 1})
    for sql in ("UPDATE erp_audit_log SET actor = 'mallory'",
                "DELETE FROM erp_audit_log",
                f"DELETE FROM erp_audit_log WHERE id = {new_id}"):
        with app.app_context(), db.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                with conn.begin():
                    conn.execute(text(sql))
    if BACKEND == "postgresql":
        with app.app_context(), db.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                with conn.begin():
                    conn.execute(text("TRUNCATE erp_audit_log"))
    (row,) = audit_rows(app, "id = :i", i=new_id)
    assert row["actor"] == "system"
    assert query(app, "SELECT COUNT(*) FROM erp_audit_log WHERE id = :i", i=new_id) == [(1,)]


def test_orm_session_cannot_change_a_record_either(app) -> None:
    new_id = write(app, action="create", object_type="x", object_id=1)
    with app.app_context():
        rec = db.session.get(AuditLog, new_id)
        rec.reason = "tampered"
        with pytest.raises(DBAPIError):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.get(AuditLog, new_id))
        with pytest.raises(DBAPIError):
            db.session.commit()
        db.session.rollback()
    assert audit_rows(app, "id = :i", i=new_id)[0]["reason"] is None


# -- what the core audits ---------------------------------------------------------------------
def test_module_install_upgrade_uninstall_purge_are_audited(app) -> None:
    inst = installer(app)
    inst.install(["fx_base"])
    inst.upgrade(["fx_base"])
    inst.uninstall("fx_base")
    inst.purge("fx_base")
    rows = audit_rows(app, "object_type = 'erp_module' AND object_id = 'fx_base'")
    assert [r["action"] for r in rows] == [
        "install_module", "upgrade_module", "uninstall_module", "purge_module"
    ]
    assert all(r["actor"] == "system" and r["module"] == "fx_base" for r in rows)
    assert rows[0]["before"] is None
    assert json.loads(rows[0]["after"])["state"] == "installed"
    assert json.loads(rows[2]["after"])["state"] == "uninstalled"
    purge = json.loads(rows[3]["after"])
    assert purge["dropped_tables"] == {"fx_item": 4}
    assert json.loads(rows[3]["before"])["state"] == "uninstalled"


def test_failed_install_leaves_no_audit_record(app_factory) -> None:
    app = app_factory([FX_ADDONS, FIXTURES / "faulty"])
    init_db(app)
    with pytest.raises(Exception, match="boom in hook"):
        installer(app).install(["fx_badhook"])
    assert audit_rows(app, "object_type = 'erp_module' AND object_id LIKE 'fx_%'") == []


def test_cli_operations_and_enablement_are_audited_as_cli(app) -> None:
    assert cli(app, "module", "install", "fx_base").exit_code == 0
    assert cli(app, "tenant", "enable", "220100", "fx_base").exit_code == 0
    assert cli(app, "tenant", "disable", "220102", "fx_base").exit_code == 0
    assert cli(app, "tenant", "enable", "220102", "fx_base").exit_code == 0
    rows = audit_rows(app)
    assert rows[-4]["action"] == "install_module" and rows[-4]["actor"] == "cli"
    enab = [r for r in rows if r["object_type"] == "erp_region_module"]
    assert [(r["action"], r["object_id"], r["actor"]) for r in enab] == [
        ("enable_module", "220100:fx_base", "cli"),
        ("disable_module", "220102:fx_base", "cli"),
        ("reset_module", "220102:fx_base", "cli"),
    ]
    assert enab[0]["region_id"] == region_id(app, "220100")
    assert json.loads(enab[1]["after"]) == {"enabled": False}
    assert json.loads(enab[2]["before"]) == {"enabled": False} and enab[2]["after"] is None


def test_state_transitions_are_audited_by_default(app) -> None:
    machine = StateMachine(
        field="size",
        states={"micro": "微型", "small": "小型"},
        transitions=[Transition("grow", "micro", "small", label_zh="升级")],
        subject_zh="企业",
    )
    rid = region_id(app, "220100")
    with app.app_context():
        org = Organization(name="测试供应商", org_type="supplier", region_id=rid, size="micro")
        db.session.add(org)
        machine.trigger(org, "grow", actor="alice", reason="年报更新", voucher="NB-1")
        db.session.commit()
        org_id = org.id
    (row,) = audit_rows(app, "action = 'transition:grow'")
    assert row["object_type"] == "erp_organization" and row["object_id"] == str(org_id)
    assert row["region_id"] == rid and row["actor"] == "alice" and row["reason"] == "年报更新"
    assert json.loads(row["before"]) == {"state": "micro"}
    assert json.loads(row["after"]) == {"state": "small", "ctx": {"voucher": "NB-1"}}

    # a rolled-back transition leaves no record
    with app.app_context():
        org = db.session.get(Organization, org_id)
        org.size = "micro"
        machine.trigger(org, "grow")
        db.session.rollback()
    assert len(audit_rows(app, "action = 'transition:grow'")) == 1

    # plain objects in pure code: nothing to write to, nothing written, no error
    doc = {"size": "micro"}
    machine.trigger(doc, "grow")
    assert doc["size"] == "small"


def test_strict_transition_hook_refuses_unaudited_transitions(app) -> None:
    machine = StateMachine(
        states={"draft": "草稿", "paid": "已缴纳"},
        transitions=[Transition("pay", "draft", "paid")],
        on_transition=audit.transition_hook(module="deposit_ledger", object_type="deposit"),
    )
    doc = {"id": 5, "state": "draft"}
    with pytest.raises(audit.AuditError):
        machine.trigger(doc, "pay")
    assert doc["state"] == "draft", "the state is restored when the audit fails"
    with app.app_context():
        machine.trigger(doc, "pay", session=db.session)
        db.session.commit()
    (row,) = audit_rows(app, "action = 'transition:pay'")
    assert (row["object_type"], row["object_id"], row["module"]) == ("deposit", "5",
                                                                    "deposit_ledger")


# -- page and API ---------------------------------------------------------------------------
@pytest.fixture
def logged(app):
    installer(app).install(["fx_base"])
    cc, jl = region_id(app, "220100"), region_id(app, "220200")
    write(app, action="update", object_type="deposit", object_id=1, region_id=cc,
          module="deposit_ledger", after={"amount": Decimal("1.50")}, actor="cc_clerk")
    write(app, action="update", object_type="deposit", object_id=2, region_id=jl,
          module="deposit_ledger", after={"amount": Decimal("2.50")}, actor="jl_clerk")
    return app


def test_page_lists_filters_and_is_read_only(logged) -> None:
    client = logged.test_client()
    login_form(client)
    page = client.get("/erp/audit/list/").get_data(as_text=True)
    assert "审计日志" in page and "cc_clerk" in page and "jl_clerk" in page
    assert "安装模块" in page and "导出 Excel" in page
    # equal-to filter on the actor (index 3 of the text filters)
    page = client.get("/erp/audit/list/?_flt_3_actor=cc_clerk").get_data(as_text=True)
    assert "cc_clerk" in page and "jl_clerk" not in page
    # time range in Beijing time: everything was written in the last minutes
    now_cst = dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)
    later = (now_cst + dt.timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    page = client.get(f"/erp/audit/list/?_flt_0_at={later}").get_data(as_text=True)
    assert "cc_clerk" not in page
    page = client.get(f"/erp/audit/list/?_flt_1_at={later}").get_data(as_text=True)
    assert "cc_clerk" in page
    # no add / edit / delete
    count = query(logged, "SELECT COUNT(*) FROM erp_audit_log")
    assert client.get("/erp/audit/add").status_code in (302, 403, 404)
    res = client.post("/erp/audit/delete/1")
    assert res.status_code in (302, 400, 403, 404, 405)
    assert query(logged, "SELECT COUNT(*) FROM erp_audit_log") == count


def test_export_is_the_filtered_list_as_xlsx(logged) -> None:
    client = logged.test_client()
    login_form(client)
    res = client.get("/erp/audit/export/?_flt_3_module=deposit_ledger")
    assert res.status_code == 200
    assert res.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in res.headers["Content-Disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(res.data)).active
    values = [[c for c in row] for row in ws.iter_rows(values_only=True)]
    assert values[0][0] == "审计日志"
    header = list(values[1])
    assert header[:3] == ["编号", "时间（北京时间）", "操作人"]
    body = [dict(zip(header, r, strict=True)) for r in values[2:]]
    assert sorted(r["操作人"] for r in body) == ["cc_clerk", "jl_clerk"]
    assert {r["地区"] for r in body} == {"长春市", "吉林市"}
    # the change in words (field label, before → after), never raw JSON
    changes = next(r["变更内容（字段：变更前 → 变更后）"] for r in body if r["操作人"] == "cc_clerk")
    assert changes == "金额：— → 1.50"


def _reader(app) -> None:
    """A 长春市 user with the auditors' read permissions on the audit log."""
    state = app.extensions["erp"]
    grants = ("can_list on AuditLog", "can_show on AuditLog", "can_export on AuditLog",
              "can_get on AuditLog", "can_info on AuditLog")
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "tests", {ROLE: grants}, state.core_pairs(), "test")
    res = cli(app, "user", "create", "--username", "cc_auditor", "--password", "secret123",
              "--role", ROLE, "--region", "220100")
    assert res.exit_code == 0, res.output


def test_region_user_reads_only_records_of_their_regions(logged) -> None:
    _reader(logged)
    client = logged.test_client()
    headers = jwt(client, "cc_auditor", "secret123")
    res = client.get("/api/v1/audit_log/", headers=headers)
    assert res.status_code == 200, res.get_data(as_text=True)
    actors = {r["actor"] for r in res.json["result"]}
    assert actors == {"cc_clerk"}, "no 吉林市 record, no platform-wide record"
    jl_id = audit_rows(logged, "actor = 'jl_clerk'")[0]["id"]
    cc_id = audit_rows(logged, "actor = 'cc_clerk'")[0]["id"]
    assert client.get(f"/api/v1/audit_log/{jl_id}", headers=headers).status_code == 404
    got = client.get(f"/api/v1/audit_log/{cc_id}", headers=headers)
    assert got.status_code == 200 and got.json["result"]["region"]["code"] == "220100"
    # the page and the export apply the same scope
    web = logged.test_client()
    login_form(web, "cc_auditor", "secret123")
    page = web.get("/erp/audit/list/").get_data(as_text=True)
    assert "cc_clerk" in page and "jl_clerk" not in page and "安装模块" not in page
    assert web.get(f"/erp/audit/show/{jl_id}").status_code in (302, 404)
    ws = openpyxl.load_workbook(io.BytesIO(web.get("/erp/audit/export/").data)).active
    assert [r[2] for r in ws.iter_rows(min_row=3, values_only=True)] == ["cc_clerk"]


def test_api_is_get_only_and_filters(logged) -> None:
    client = logged.test_client()
    headers = jwt(client)
    q = json.dumps({"filters": [{"col": "actor", "opr": "eq", "value": "jl_clerk"}]})
    res = client.get("/api/v1/audit_log/", query_string={"q": q}, headers=headers)
    assert res.status_code == 200
    assert [r["actor"] for r in res.json["result"]] == ["jl_clerk"]
    assert res.json["result"][0]["after"] == '{"amount": "2.50"}'
    count = query(logged, "SELECT COUNT(*) FROM erp_audit_log")
    first = audit_rows(logged)[0]["id"]
    assert client.post("/api/v1/audit_log/", json={"action": "x"}, headers=headers).status_code \
        in (404, 405)
    assert client.put(f"/api/v1/audit_log/{first}", json={"reason": "x"},
                      headers=headers).status_code in (404, 405)
    assert client.delete(f"/api/v1/audit_log/{first}", headers=headers).status_code in (404, 405)
    assert query(logged, "SELECT COUNT(*) FROM erp_audit_log") == count


def test_menu_shows_the_audit_page_to_the_admin(logged) -> None:
    client = logged.test_client()
    login_form(client)
    home = client.get("/").get_data(as_text=True)
    assert "审计日志" in home and "参数设置" in home and "节假日维护" in home
    with logged.app_context():
        assert db.session.execute(select(Region.code).where(Region.code == "220000")).scalar()
    assert re.search(r"/erp/audit/list/", home)


def test_core_migrations_downgrade_and_upgrade_again(app) -> None:
    """0004 and 0003 go down (tables, triggers, function) and up again cleanly."""
    from alembic import command

    from core.addons import migrations

    registry = app.extensions["erp"].registry
    write(app, action="create", object_type="x", object_id=1)
    with app.app_context(), db.engine.begin() as conn:
        command.downgrade(migrations.make_config(registry, conn), "0002_tenancy")
    assert not {"erp_audit_log", "erp_setting_value", "erp_holiday"} & table_names(app)
    with app.app_context(), db.engine.begin() as conn:
        command.upgrade(migrations.make_config(registry, conn), "core@head")
    new_id = write(app, action="create", object_type="x", object_id=2)
    with app.app_context(), db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            with conn.begin():
                conn.execute(text("DELETE FROM erp_audit_log"))
    assert audit_rows(app, "id = :i", i=new_id)
