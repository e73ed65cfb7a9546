"""pb_bid.withdrawn_at and pb_bid.withdrawal_notice: a bid withdrawn before the deadline

A supplier may withdraw its bid in writing before the bid deadline (招标投标法第二十九条;
财政部令第87号第三十四条); the moment (Beijing time) and the written notice are kept with the
bid, and the withdrawal date starts the refund clock of its bid deposit. Existing bids have
neither (NULL).

Revision ID: pb_0004
Revises: pb_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "pb_0004"
down_revision = "pb_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pb_bid", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_notice", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pb_bid", schema=None) as batch_op:
        batch_op.drop_column("withdrawal_notice")
        batch_op.drop_column("withdrawn_at")
