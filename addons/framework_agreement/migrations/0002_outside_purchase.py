"""framework_agreement: outside-purchase reports (协议外采购, 110号令)"""

import sqlalchemy as sa
from alembic import op

revision = "framework_agreement_0002"
down_revision = "framework_agreement_0001"
branch_labels = None
depends_on = None

M = sa.Numeric(18, 2)


def upgrade():
    op.create_table(
        "fa_outside",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("fa_agreement.id"), nullable=False, index=True),
        sa.Column("line_id", sa.Integer(), sa.ForeignKey("fa_line.id"), nullable=False, index=True),
        sa.Column("purchaser_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False, index=True),
        sa.Column("agreement_name", sa.String(200), nullable=False),
        sa.Column("item_name", sa.String(200), nullable=False),
        sa.Column("shortlisted_name", sa.String(200), nullable=False),
        sa.Column("agreement_price", M, nullable=False),
        sa.Column("outside_supplier", sa.String(200), nullable=False),
        sa.Column("outside_price", M, nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", M, nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column("refusal", sa.Text(), nullable=False),
        sa.Column("purchase_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("reported_on", sa.Date(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False, index=True),
    )


def downgrade():
    op.drop_table("fa_outside")
