"""pb_payment.payee_account: the account a payment went to (收款账户)

A contract financed through ``supply_chain_finance`` whose repayment account the purchaser
confirmed is paid only to that account; the payment page and API name the account paid, and
it is kept with the payment. Existing payments have none (NULL).

Revision ID: pb_0003
Revises: pb_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "pb_0003"
down_revision = "pb_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pb_payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payee_account", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pb_payment", schema=None) as batch_op:
        batch_op.drop_column("payee_account")
