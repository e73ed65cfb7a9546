"""emall: purchasers' ratings of accepted orders; the measure of a confirmed price anomaly

``emall_rating`` (one per order: delivery, quality, service 1–5, comment; region-scoped by
the purchaser's region) and ``emall_price_alert.measure`` / ``correct_by`` (delist, or
price correction by a date).

Revision ID: emall_0003
Revises: emall_0002
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "emall_0003"
down_revision = "emall_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "emall_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("purchaser_id", sa.Integer(), nullable=False),
        sa.Column("delivery", sa.Integer(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("service", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("rated_at", sa.DateTime(), nullable=False),
        sa.Column("rated_by", sa.String(length=128), nullable=True),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["emall_order.id"]),
        sa.ForeignKeyConstraint(["supplier_id"], ["erp_organization.id"]),
        sa.ForeignKeyConstraint(["purchaser_id"], ["erp_organization.id"]),
        sa.ForeignKeyConstraint(["region_id"], ["erp_region.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id"),
    )
    with op.batch_alter_table("emall_rating", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_emall_rating_region_id"), ["region_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_emall_rating_supplier_id"), ["supplier_id"], unique=False)
    with op.batch_alter_table("emall_price_alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("measure", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("correct_by", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("emall_price_alert", schema=None) as batch_op:
        batch_op.drop_column("correct_by")
        batch_op.drop_column("measure")
    with op.batch_alter_table("emall_rating", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emall_rating_supplier_id"))
        batch_op.drop_index(batch_op.f("ix_emall_rating_region_id"))
    op.drop_table("emall_rating")
