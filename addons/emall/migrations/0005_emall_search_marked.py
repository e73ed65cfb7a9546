"""emall search: the PostgreSQL index document's new format (field-marked lexemes, price band)

The ``tsvector`` of a listing now marks each lexeme with its field (``'A打印'`` in the name,
``'B…'`` category path, ``'C…'`` attributes, ``'D…'`` head) and carries the listing's price
band (``'P38'``), so a query on one field or a price range is answered by the GIN index
instead of reading every keyword hit from the table (docs/emall.md, "Search performance").
Documents of the old format no longer match: they are cleared here, and the search module
rebuilds the missing ones on the first search (``catch_up``) - on a large catalogue run
``erp emall reindex`` right after upgrading. SQLite (FTS5 table) is unchanged.

Revision ID: emall_0005
Revises: emall_0004
Create Date: 2026-12-05 02:00:00
"""

from alembic import op

revision = "emall_0005"
down_revision = "emall_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE emall_listing SET search_vector = NULL WHERE search_vector IS NOT NULL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":  # the old format: rebuilt by the old code's catch-up
        op.execute("UPDATE emall_listing SET search_vector = NULL WHERE search_vector IS NOT NULL")
