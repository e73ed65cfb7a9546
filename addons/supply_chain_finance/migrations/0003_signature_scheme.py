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
    with op.batch_alter_table("scf_institution") as batch:
        batch.add_column(sa.Column("signature_scheme", sa.String(16), nullable=False,
                                   server_default="hmac-sha256"))


def downgrade():
    with op.batch_alter_table("scf_institution") as batch:
        batch.drop_column("signature_scheme")
