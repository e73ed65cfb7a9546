"""supply_chain_finance: the institution's webhook signature scheme (HMAC-SHA256, HMAC-SM3, SM2)

Revision ID: scf_sig_scheme
Revises: scf_0002

The revision id names the change, not a number, so that this file can be renumbered (or
another revision put before it) by changing ``down_revision`` alone.
"""

import sqlalchemy as sa
from alembic import op

revision = "scf_sig_scheme"
down_revision = "scf_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("scf_institution", sa.Column("signature_scheme", sa.String(16), nullable=False,
                                               server_default="hmac-sha256"))


def downgrade():
    # a plain ALTER TABLE ... DROP COLUMN (SQLite >= 3.35): a batch "move and copy" would drop
    # scf_institution, which the outbox and region rows reference
    op.drop_column("scf_institution", "signature_scheme")
