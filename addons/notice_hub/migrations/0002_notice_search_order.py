"""notice_hub: the keyword index in publication order, with filter tags

SQLite: ``nh_notice_fts`` is rebuilt with a third column ``tags`` (type, region, amount band)
and its rowid becomes the publication sort key (seconds since 2000 << 31 | notice id), so the
newest matches are the highest rowids. PostgreSQL: the tsvector gains the same tags at weight D.
The published notices are indexed again here (in batches).

Revision ID: notice_hub_0002
Revises: notice_hub_0001
Create Date: 2026-12-05 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "notice_hub_0002"
down_revision = "notice_hub_0001"
branch_labels = None
depends_on = None


def _reindex(conn) -> None:
    from addons.notice_hub.services import catch_up_index

    conn.execute(sa.text("UPDATE nh_notice SET search_vector = NULL WHERE status = 'published'"))
    while catch_up_index(conn, limit=20_000):
        pass


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS nh_notice_fts")
        op.execute("CREATE VIRTUAL TABLE nh_notice_fts USING fts5(title, body, tags, "
                   "tokenize = 'unicode61 remove_diacritics 0', columnsize = 0, detail = full)")
    _reindex(conn)


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS nh_notice_fts")
        op.execute("CREATE VIRTUAL TABLE nh_notice_fts USING fts5(title, body, "
                   "tokenize = 'unicode61 remove_diacritics 0', columnsize = 0)")
    conn.execute(sa.text("UPDATE nh_notice SET search_vector = NULL WHERE status = 'published'"))
