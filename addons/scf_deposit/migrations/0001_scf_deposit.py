"""scf_deposit: electronic guarantees (scf_guarantee)

Revision ID: scfd_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from core.services.money import Money

revision = "scfd_0001"
down_revision = None
branch_labels = ("scf_deposit",)
depends_on = ("scf_0001", "dl_0001")


def upgrade():
    op.create_table(
        "scf_guarantee",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_number", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("pb_project.id"), nullable=False, index=True),
        sa.Column("package_id", sa.Integer(), sa.ForeignKey("pb_package.id"), index=True),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("pb_contract.id"), index=True),
        sa.Column("supplier_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  index=True),
        sa.Column("issuer_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  index=True),
        sa.Column("beneficiary_id", sa.Integer(), sa.ForeignKey("erp_organization.id"),
                  nullable=False, index=True),
        sa.Column("requested_amount", Money(), nullable=False),
        sa.Column("ciphered", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("number", sa.String(64)),
        sa.Column("amount", Money()),
        sa.Column("valid_from", sa.Date()),
        sa.Column("valid_until", sa.Date()),
        sa.Column("file_name", sa.String(200)),
        sa.Column("file_sha256", sa.String(64)),
        sa.Column("file_sm3", sa.String(64)),
        sa.Column("code_salt", sa.String(32)),
        sa.Column("code_digest", sa.String(64)),
        sa.Column("issued_at", sa.DateTime()),
        sa.Column("decline_reason", sa.Text()),
        sa.Column("required_amount", Money()),
        sa.Column("verified_at", sa.DateTime()),
        sa.Column("verified_by", sa.String(128)),
        sa.Column("deposit_id", sa.Integer(), sa.ForeignKey("dl_deposit.id"), unique=True),
        sa.Column("claim_reason_id", sa.Integer(), sa.ForeignKey("dl_forfeit_reason.id")),
        sa.Column("claim_note", sa.Text()),
        sa.Column("claimed_on", sa.Date()),
        sa.Column("claim_paid_amount", Money()),
        sa.Column("claim_paid_on", sa.Date()),
        sa.Column("claim_reference", sa.String(100)),
        sa.Column("released_on", sa.Date()),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False,
                  index=True),
        sa.UniqueConstraint("request_number", name="uq_scf_guarantee_request"),
        sa.UniqueConstraint("issuer_id", "number", name="uq_scf_guarantee_number"),
    )


def downgrade():
    op.drop_table("scf_guarantee")
