"""scf_emall: the supplier's consent to show its e-mall transaction profile (scf_emall_consent),
an institution's parameters of the indicative line (scf_emall_line_params)

Revision ID: scfe_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from core.services.money import Money

revision = "scfe_0001"
down_revision = None
branch_labels = ("scf_emall",)
depends_on = ("scf_0001", "emall_0001")


def upgrade():
    op.create_table(
        "scf_emall_consent",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("supplier_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  index=True),
        sa.Column("bank_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.Column("granted_by", sa.String(128)),
        sa.Column("revoked_at", sa.DateTime()),
        sa.Column("revoked_by", sa.String(128)),
        sa.Column("line_amount", Money()),
        sa.Column("line_valid_until", sa.Date()),
        sa.Column("line_note", sa.Text()),
        sa.Column("line_decided_at", sa.DateTime()),
        sa.Column("line_decided_by", sa.String(128)),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False, index=True),
    )
    op.create_table(
        "scf_emall_line_params",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bank_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  unique=True),
        sa.Column("line_months", sa.Integer()),
        sa.Column("line_cap", Money()),
        sa.Column("min_active_months", sa.Integer()),
        sa.Column("updated_at", sa.DateTime()),
        sa.Column("updated_by", sa.String(128)),
    )


def downgrade():
    op.drop_table("scf_emall_line_params")
    op.drop_table("scf_emall_consent")
