"""Alembic environment of the platform (configured in code by core.addons.migrations).

Always runs online, on the connection handed over in ``config.attributes['connection']``:
the caller owns the transaction, so a failed step rolls everything back.
"""

from alembic import context

from core.db import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - misuse
    raise RuntimeError("migrations run only through the erp CLI (no connection given)")

include_tables = config.attributes.get("include_tables")


def include_object(obj, name, type_, reflected, compare_to):
    if include_tables is None:
        return True
    if type_ == "table":
        return name in include_tables
    table = getattr(obj, "table", None)
    if table is not None:
        return table.name in include_tables
    return True


context.configure(
    connection=connection,
    target_metadata=metadata,
    include_object=include_object,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
