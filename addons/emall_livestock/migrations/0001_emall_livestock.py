"""emall_livestock: livestock-system purchasers steered to the livestock pavilion

Revision ID: emall_livestock_0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "emall_livestock_0001"
down_revision = None
branch_labels = ("emall_livestock",)
depends_on = "pb_0002"


def upgrade() -> None:
    op.create_table(
        "emall_livestock_purchaser",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("include_subordinates", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), server_default=sa.text("(CURRENT_TIMESTAMP)"),
                  nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["erp_organization.id"],
                                name="fk_emall_livestock_purchaser_org"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id"),
    )


def downgrade() -> None:
    op.drop_table("emall_livestock_purchaser")
