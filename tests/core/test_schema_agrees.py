"""Models and migrations agree: after installing every module, autogenerate finds nothing.

Covers the core schema (FAB's security tables and the add-on system tables), every add-on
shipped in addons/ and the fixture add-ons with models. A module added later is covered
with no new test code.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.db import db, metadata
from tests.conftest import installer


def test_models_and_migrations_agree(app) -> None:
    inst = installer(app)
    everything = [n for n in inst.registry.order if inst.registry[n].installable]
    inst.install(everything)
    installed = set(inst.installed())
    wanted = {
        name
        for name, table in metadata.tables.items()
        if table.info.get("erp_module") is None or table.info["erp_module"] in installed
    }
    assert {"ab_user", "erp_module", "fx_item"} <= wanted

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "table":
            return name in wanted
        table = getattr(obj, "table", None)
        return table is None or table.name in wanted

    with app.app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": include}
        )
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models and migrations differ: {diff}"
