"""scf_advance: advance payments and their policies (scf_advance)

Revision ID: scfa_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from core.services.money import Money

revision = "scfa_0001"
down_revision = None
branch_labels = ("scf_advance",)
depends_on = "scf_0001"


def upgrade():
    op.create_table(
        "scf_advance",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("pb_contract.id"), nullable=False, index=True),
        sa.Column("contract_number", sa.String(50), nullable=False),
        sa.Column("open_contract_id", sa.Integer(), sa.ForeignKey("pb_contract.id")),
        sa.Column("purchaser_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  index=True),
        sa.Column("supplier_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  index=True),
        sa.Column("share_percent", sa.Numeric(5, 2), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("delivery_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("agreed_at", sa.DateTime(), nullable=False),
        sa.Column("insurer_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), index=True),
        sa.Column("policy_number", sa.String(64)),
        sa.Column("insured_credit_code", sa.String(18)),
        sa.Column("policy_amount", Money()),
        sa.Column("valid_until", sa.Date()),
        sa.Column("file_sha256", sa.String(64)),
        sa.Column("presented_at", sa.DateTime()),
        sa.Column("verified_at", sa.DateTime()),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("pb_payment.id")),
        sa.Column("paid_on", sa.Date()),
        sa.Column("closed_on", sa.Date()),
        sa.Column("claim_reason", sa.Text()),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False, index=True),
        sa.UniqueConstraint("open_contract_id", name="uq_scf_advance_open_contract"),
    )


def downgrade():
    op.drop_table("scf_advance")
