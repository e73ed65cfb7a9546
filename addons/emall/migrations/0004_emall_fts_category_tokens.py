"""emall search (SQLite): the FTS5 table gets the column ``cats``

``cats`` holds a token ``c<id>`` for the listing's category and for each of its ancestors, so
that a keyword + category search is intersected inside the index (issue 14; docs/emall.md,
"Search performance"). FTS5 cannot add a column: the table is rebuilt and every document
copied with its category tokens computed in SQL from the category tree (no re-tokenising:
about 20 s per 1,000,000 listings). PostgreSQL: nothing (its index is the ``tsvector``).

Revision ID: emall_0004
Revises: emall_0003
Create Date: 2026-12-05 02:00:00
"""

from alembic import op

revision = "emall_0004"
down_revision = "emall_0003"
branch_labels = None
depends_on = None

FTS_OPTIONS = "tokenize = 'unicode61 remove_diacritics 0', columnsize = 0"

#: category id -> its tokens (itself and every ancestor; a cycle stops at 50 levels)
CHAINS = """
WITH RECURSIVE up(cat, anc, depth) AS (
    SELECT id, id, 0 FROM emall_category
    UNION ALL
    SELECT up.cat, c.parent_id, up.depth + 1 FROM up JOIN emall_category c ON c.id = up.anc
    WHERE c.parent_id IS NOT NULL AND up.depth < 50),
chain(cat, toks) AS (SELECT cat, group_concat('c' || anc, ' ') FROM up GROUP BY cat)
"""


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    if not _sqlite():
        return
    op.execute("ALTER TABLE emall_listing_fts RENAME TO emall_listing_fts_old")
    op.execute(f"CREATE VIRTUAL TABLE emall_listing_fts USING fts5(name, category, attrs, head, cats, "
               f"{FTS_OPTIONS})")
    op.execute(f"INSERT INTO emall_listing_fts(rowid, name, category, attrs, head, cats) {CHAINS} "
               "SELECT f.rowid, f.name, f.category, f.attrs, f.head, coalesce(chain.toks, '') "
               "FROM emall_listing_fts_old f LEFT JOIN emall_listing l ON l.id = f.rowid "
               "LEFT JOIN chain ON chain.cat = l.category_id")
    op.execute("DROP TABLE emall_listing_fts_old")


def downgrade() -> None:
    if not _sqlite():
        return
    op.execute("ALTER TABLE emall_listing_fts RENAME TO emall_listing_fts_new")
    op.execute(f"CREATE VIRTUAL TABLE emall_listing_fts USING fts5(name, category, attrs, head, {FTS_OPTIONS})")
    op.execute("INSERT INTO emall_listing_fts(rowid, name, category, attrs, head) "
               "SELECT rowid, name, category, attrs, head FROM emall_listing_fts_new")
    op.execute("DROP TABLE emall_listing_fts_new")
