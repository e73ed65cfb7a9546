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


def process_revision_directives(context, revision, directives):
    """Drop ``info={'erp_module': ...}`` (our ownership tag) from generated create_table."""
    from alembic.operations import ops

    for script in directives:
        for op_ in script.upgrade_ops.ops if script.upgrade_ops else []:
            if isinstance(op_, ops.CreateTableOp):
                op_.info = {}
                if op_.kw:
                    op_.kw.pop("info", None)


def render_item(type_, obj, autogen_context):
    """Migrations use plain SQLAlchemy types: ``Money()`` is rendered as Numeric(18, 2)."""
    from core.services.money import Money

    if type_ == "type" and isinstance(obj, Money):
        return "sa.Numeric(precision=18, scale=2)"
    return False


context.configure(
    connection=connection,
    process_revision_directives=process_revision_directives,
    render_item=render_item,
    target_metadata=metadata,
    include_object=include_object,
    compare_type=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
