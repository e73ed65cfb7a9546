# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""Migration ``scf_0002``: the bank API's idempotency keys move to core's ``erp_idempotency``.
A key stored before the upgrade (in ``scf_idempotency``) still replays its answer after it;
the downgrade puts the organisations' keys back."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from alembic import command
from sqlalchemy import inspect, text

from core.addons.migrations import make_config
from core.db import db
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401
from tests.conftest import installer


def _migrate(scf, fn, target: str) -> None:
    registry = installer(scf.app).registry
    with scf.app.app_context(), db.engine.begin() as conn:
        fn(make_config(registry, conn), target)


def test_stored_keys_move_to_core_and_still_replay(scf):
    _migrate(scf, command.downgrade, "scf_0001")
    answer = json.dumps({"result": {"id": 999, "status": "submitted"}})
    path = "/api/v1/scf_application/apply"
    body = json.dumps({"contract": scf.ids["contract"], "bank": scf.org["bank"],
                       "amount": "1.00"}).encode()
    digest = hashlib.sha256(b"POST" + path.encode() + b"\n" + body).hexdigest()
    with scf.app.app_context(), db.engine.begin() as conn:
        assert "scf_idempotency" in inspect(conn).get_table_names()
        conn.execute(text(
            "INSERT INTO scf_idempotency (bank_id, key, method, path, request_hash, status_code,"
            " response, created_at) VALUES (:org, 'old-key-1', 'POST', :path, :hash, 201,"
            " :answer, :at)"), {"org": scf.org["sup_a"], "path": path, "hash": digest,
                                "answer": answer, "at": dt.datetime(2026, 1, 2)})
    _migrate(scf, command.upgrade, "supply_chain_finance@head")
    with scf.app.app_context(), db.engine.connect() as conn:
        assert "scf_idempotency" not in inspect(conn).get_table_names()
        rows = conn.execute(text("SELECT owner, org_id, status_code FROM erp_idempotency "
                                 "WHERE key = 'old-key-1'")).all()
    assert [tuple(r) for r in rows] == [(f"org:{scf.org['sup_a']}", scf.org["sup_a"], 201)]
    # the supplier's retry of that request gets the stored answer; nothing is created
    res = scf.client.post(path, data=body, content_type="application/json",
                          headers={**scf.h("sup_a"), "Idempotency-Key": "old-key-1"})
    assert res.status_code == 201 and res.headers.get("Idempotent-Replayed") == "true"
    assert res.json == json.loads(answer)
    # and back: the organisation's keys return to the add-on's table
    _migrate(scf, command.downgrade, "scf_0001")
    with scf.app.app_context(), db.engine.connect() as conn:
        keys = {k for (k,) in conn.execute(text("SELECT key FROM scf_idempotency"))}
    assert "old-key-1" in keys
    _migrate(scf, command.upgrade, "supply_chain_finance@head")
