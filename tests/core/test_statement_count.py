"""A list API call by a region-scoped user costs at most 3 SQL statements (user, count,
page): permission checks, module state, region tree and enablement come from the worker's
caches (re-validated against the database at most once per ERP_STATE_POLL_SECONDS)."""

from __future__ import annotations

from sqlalchemy import event

from core.addons.security import sync_module_roles
from core.db import db
from tests.conftest import cli, init_db, installer
from tests.core.test_web import jwt


def test_list_api_statement_count(app_factory) -> None:
    app = app_factory(ERP_STATE_POLL_SECONDS=3600)
    init_db(app)
    installer(app).install(["fx_scoped"], demo=True)
    assert cli(app, "tenant", "enable", "220000", "fx_scoped").exit_code == 0
    with app.app_context(), db.engine.begin() as conn:
        sync_module_roles(conn, "tests", {"Doc Reader": ("* on FxDocApi",)},
                          app.extensions["erp"].pairs("fx_scoped"), "test")
    cli(app, "user", "create", "--username", "cc", "--password", "secret123",
        "--role", "Doc Reader", "--region", "220100")
    client = app.test_client()
    headers = jwt(client, "cc", "secret123")
    assert client.get("/api/v1/fx_doc/", headers=headers).status_code == 200  # warm caches

    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        res = client.get("/api/v1/fx_doc/", headers=headers)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert res.status_code == 200
    assert {r["region"]["code"] for r in res.json["result"]} <= {"220100", "220102"}
    assert res.json["count"] == 2
    real = [s for s in statements if not s.strip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
    assert len(real) <= 3, "\n".join(real)
