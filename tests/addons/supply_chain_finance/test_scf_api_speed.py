# ruff: noqa: F811  (pytest fixtures imported from scf_world)
"""The bank's application list and contract call without FAB's per-request overhead
(bench/scf.py): the list's own count and page query answer exactly what FAB's query answers
(every filter, order and page the API takes, and the dotted cases that keep FAB's way), and
the contract call reads the contract and its parties in one statement."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from core.db import db
from tests.addons.supply_chain_finance.scf_world import pb, scf  # noqa: F401

QUERIES = [
    "",
    "?q=(filters:!((col:status,opr:eq,value:submitted)),page_size:25)",
    "?q=(order_column:amount,order_direction:asc,page_size:2)",
    "?q=(order_column:amount,order_direction:asc,page:1,page_size:2)",
    "?q=(order_column:number,order_direction:desc)",
    "?q=(filters:!((col:contract_number,opr:ct,value:'HT')),page_size:3)",
    "?q=(filters:!((col:status,opr:neq,value:rejected)))",
    "?q=(columns:!(id,number,bank.name))",
    "?q=(filters:!((col:status,opr:eq,value:nothing)))",
]


@pytest.fixture
def several(scf):
    """Applications of two banks in several states."""
    from addons.supply_chain_finance import services

    scf.apply(amount="100000.00")
    rejected = scf.apply(amount="120000.00", bank="bank2")
    scf.run(services.decide, rejected, bank_id=scf.org["bank2"], decision="reject", reason="不符合准入条件")
    scf.apply(amount="90000.00", bank="bank2")
    return scf


@pytest.mark.parametrize("user", ["bank", "bank2", "sup_a", "admin"])
def test_list_answers_exactly_what_fab_answers(several, user):
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from addons.supply_chain_finance.api import ApplicationApi, _ListQuery

    api = next(v for v in several.app.appbuilder.baseviews if isinstance(v, ApplicationApi))
    assert type(api.datamodel) is _ListQuery
    for q in QUERIES:
        ours = several.call("GET", f"scf_application/{q}", user, expect=200).json
        api.datamodel.__class__ = SQLAInterface
        try:
            fab = several.call("GET", f"scf_application/{q}", user, expect=200).json
        finally:
            api.datamodel.__class__ = _ListQuery
        assert ours == fab, (user, q)
    if user.startswith("bank"):
        rows = several.call("GET", "scf_application/", user, expect=200).json["result"]
        assert rows and {r["bank"]["id"] for r in rows} == {several.org[user]}


def test_list_and_contract_statement_counts(several):
    pk = several.call("GET", "scf_application/", "bank", expect=200).json["ids"][0]
    several.call("GET", f"scf_application/{pk}/contract", "bank", expect=200)  # warm caches
    with several.app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            statements.append(statement)

    def run(path: str) -> list[str]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            several.call("GET", path, "bank", expect=200)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return [s for s in statements if "erp_signal" not in s]

    listed = run("scf_application/?q=(filters:!((col:status,opr:eq,value:submitted)),page_size:25)")
    assert len(listed) <= 3, "\n".join(listed)  # user, count, page
    assert not any("FROM (SELECT" in s for s in listed), "the count wraps the page query again"
    # user, application, contract with its parties, paid, plan, lock, financing (was 11)
    contract = run(f"scf_application/{pk}/contract")
    assert len(contract) <= 7, "\n".join(contract)
