"""supply_chain_finance: institutions and their regions, financing applications, entries,
repayment-account locks, bank-API idempotency keys, webhook outbox and delivery log

Revision ID: scf_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from core.services.money import Money

revision = "scf_0001"
down_revision = None
branch_labels = ("supply_chain_finance",)
depends_on = "pb_0002"


def upgrade():
    op.create_table(
        "scf_institution",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("decision_days", sa.Integer()),
        sa.Column("products", sa.Text()),
        sa.Column("contact", sa.String(64)),
        sa.Column("phone", sa.String(32)),
        sa.Column("webhook_url", sa.String(500)),
        sa.Column("webhook_secret", sa.String(128)),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "scf_institution_region",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("institution_id", sa.Integer(), sa.ForeignKey("scf_institution.id"),
                  nullable=False, index=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False),
        sa.UniqueConstraint("institution_id", "region_id", name="uq_scf_inst_region"),
    )
    op.create_table(
        "scf_application",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False,
                  index=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("pb_contract.id"), nullable=False,
                  index=True),
        sa.Column("contract_number", sa.String(50), nullable=False),
        sa.Column("supplier_id", sa.Integer(), sa.ForeignKey("erp_organization.id"),
                  nullable=False, index=True),
        sa.Column("bank_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  index=True),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("purpose", sa.Text()),
        sa.Column("contact", sa.String(64)),
        sa.Column("phone", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("decision_due", sa.Date(), index=True),
        sa.Column("decided_at", sa.DateTime()),
        sa.Column("decided_on", sa.Date()),
        sa.Column("info_request", sa.Text()),
        sa.Column("supplier_reply", sa.Text()),
        sa.Column("reject_reason", sa.Text()),
        sa.Column("approved_amount", Money()),
        sa.Column("rate_percent", sa.Numeric(7, 4)),
        sa.Column("term_months", sa.Integer()),
        sa.Column("repayment_account", sa.String(64)),
        sa.Column("repayment_account_name", sa.String(200)),
        sa.Column("repayment_bank", sa.String(200)),
        sa.Column("registry_number", sa.String(64)),
        sa.Column("financing_contract_id", sa.Integer(), sa.ForeignKey("pb_contract.id")),
        sa.Column("disbursed_amount", Money(), nullable=False),
        sa.Column("disbursed_on", sa.Date()),
        sa.Column("maturity_date", sa.Date()),
        sa.Column("repaid_amount", Money(), nullable=False),
        sa.Column("last_repaid_on", sa.Date()),
        sa.Column("closed_on", sa.Date()),
        sa.Column("release_reason", sa.Text()),
        sa.UniqueConstraint("number", name="uq_scf_application_number"),
        sa.UniqueConstraint("financing_contract_id", name="uq_scf_application_financing"),
    )
    op.create_table(
        "scf_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False,
                  index=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("scf_application.id"),
                  nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(100)),
        sa.Column("created_at", sa.DateTime()),
    )
    op.create_table(
        "scf_account_lock",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False,
                  index=True),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("pb_contract.id"), nullable=False,
                  index=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("scf_application.id"),
                  nullable=False, index=True),
        sa.Column("contract_number", sa.String(50), nullable=False),
        sa.Column("bank_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False,
                  index=True),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("account_name", sa.String(200)),
        sa.Column("account_bank", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("active_contract_id", sa.Integer(), sa.ForeignKey("pb_contract.id")),
        sa.Column("confirmed_at", sa.DateTime()),
        sa.Column("confirmed_by", sa.String(128)),
        sa.Column("released_at", sa.DateTime()),
        sa.Column("release_reason", sa.Text()),
        sa.UniqueConstraint("active_contract_id", name="uq_scf_lock_active_contract"),
    )
    op.create_table(
        "scf_idempotency",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bank_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("bank_id", "key", name="uq_scf_idempotency"),
    )
    op.create_table(
        "scf_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.String(40), nullable=False, unique=True),
        sa.Column("institution_id", sa.Integer(), sa.ForeignKey("scf_institution.id"),
                  nullable=False, index=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime()),
    )
    op.create_table(
        "scf_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("scf_outbox.id"), nullable=False,
                  index=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("duration_ms", sa.Integer()),
    )


def downgrade():
    for table in ("scf_delivery", "scf_outbox", "scf_idempotency", "scf_account_lock",
                  "scf_entry", "scf_application", "scf_institution_region", "scf_institution"):
        op.drop_table(table)
