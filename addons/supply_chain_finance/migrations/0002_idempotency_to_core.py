"""supply_chain_finance: the bank API's idempotency keys move to core's ``erp_idempotency``
(issue 11): the rows of ``scf_idempotency`` are copied as ``owner = 'org:<bank_id>'`` (the
key's organisation, as core keys them), so a retry of a write made before the upgrade still
gets its stored answer; then the table is dropped.

Revision ID: scf_0002
Revises: scf_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "scf_0002"
down_revision = "scf_0001"
branch_labels = None
depends_on = "0008_idempotency"

COLUMNS = ("key", "method", "path", "request_hash", "status_code", "response", "created_at")


def _table(name: str, *extra: sa.Column) -> sa.Table:
    return sa.table(name, *(sa.column(c) for c in COLUMNS), *extra)


def upgrade():
    bind = op.get_bind()
    old = _table("scf_idempotency", sa.column("bank_id"))
    new = _table("erp_idempotency", sa.column("owner"), sa.column("org_id"))
    taken = {(o, k) for o, k in bind.execute(sa.select(new.c.owner, new.c.key))}
    rows = []
    for r in bind.execute(sa.select(old)).mappings():
        owner = f"org:{r['bank_id']}"
        if (owner, r["key"]) in taken:
            continue
        rows.append({**{c: r[c] for c in COLUMNS}, "owner": owner, "org_id": r["bank_id"]})
    if rows:
        op.bulk_insert(new, rows)
    op.drop_table("scf_idempotency")


def downgrade():
    op.create_table(
        "scf_idempotency",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bank_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("bank_id", "key", name="uq_scf_idempotency"),
    )
    bind = op.get_bind()
    new = _table("erp_idempotency", sa.column("owner"), sa.column("org_id"))
    old = _table("scf_idempotency", sa.column("bank_id"))
    rows = [{**{c: r[c] for c in COLUMNS}, "bank_id": r["org_id"]}
            for r in bind.execute(sa.select(new).where(new.c.owner.like("org:%"))).mappings()]
    if rows:
        op.bulk_insert(old, rows)
