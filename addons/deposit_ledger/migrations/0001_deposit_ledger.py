"""deposit_ledger: deposits, immutable ledger, forfeiture reasons, LPR table, bank statements

The ledger table ``dl_entry`` refuses UPDATE and DELETE in the database too: a row trigger
on PostgreSQL, two ``RAISE(ABORT)`` triggers on SQLite (a later migration that rebuilds the
table in batch mode on SQLite must create them again).

Revision ID: dl_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from core.services.money import Money

revision = "dl_0001"
down_revision = None
branch_labels = ("deposit_ledger",)
depends_on = "pb_0002"

MESSAGE = "保证金台账分录不可修改或删除，更正请做冲销分录"
PG_FUNCTION = f"""
CREATE FUNCTION dl_entry_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE} (%)', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$
"""
PG_TRIGGER = """
CREATE TRIGGER trg_dl_entry_immutable BEFORE UPDATE OR DELETE ON dl_entry
FOR EACH ROW EXECUTE FUNCTION dl_entry_immutable()
"""
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER trg_dl_entry_no_update BEFORE UPDATE ON dl_entry "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER trg_dl_entry_no_delete BEFORE DELETE ON dl_entry "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]


def _region():
    return sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False,
                     index=True)


def upgrade() -> None:
    op.create_table(
        "dl_forfeit_reason",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(200)),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "dl_lpr_rate",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("effective_date", sa.Date(), nullable=False, unique=True),
        sa.Column("rate_percent", sa.Numeric(6, 4), nullable=False),
        sa.Column("source", sa.String(200)),
    )
    op.create_table(
        "dl_project_reason",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("pb_project.id"), nullable=False,
                  index=True),
        sa.Column("reason_id", sa.Integer(), sa.ForeignKey("dl_forfeit_reason.id"), nullable=False),
        sa.Column("clause", sa.String(100)),
        _region(),
        sa.UniqueConstraint("project_id", "reason_id", name="uq_dl_project_reason"),
    )
    op.create_table(
        "dl_deposit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("pb_project.id"), nullable=False,
                  index=True),
        sa.Column("package_id", sa.Integer(), sa.ForeignKey("pb_package.id"), index=True),
        sa.Column("bid_id", sa.Integer(), sa.ForeignKey("pb_bid.id"), index=True),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("pb_contract.id"), index=True),
        sa.Column("supplier_id", sa.Integer(), sa.ForeignKey("erp_organization.id"),
                  nullable=False, index=True),
        sa.Column("holder_id", sa.Integer(), sa.ForeignKey("erp_organization.id"),
                  nullable=False, index=True),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("guarantee_type", sa.String(16)),
        sa.Column("guarantee_number", sa.String(100)),
        sa.Column("guarantee_issuer", sa.String(200)),
        sa.Column("guarantee_valid_until", sa.Date()),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("received_date", sa.Date(), nullable=False),
        sa.Column("payer_account", sa.String(100)),
        sa.Column("payer_bank", sa.String(200)),
        sa.Column("receipt_reference", sa.String(100)),
        sa.Column("trigger", sa.String(20)),
        sa.Column("trigger_date", sa.Date()),
        sa.Column("due_date", sa.Date(), index=True),
        sa.Column("supplier_fault", sa.Boolean(), nullable=False),
        sa.Column("supplier_fault_reason", sa.Text()),
        sa.Column("converted_to_id", sa.Integer(), sa.ForeignKey("dl_deposit.id")),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("settled_date", sa.Date()),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime()),
        _region(),
        sa.UniqueConstraint("region_id", "number", name="uq_dl_deposit_region_number"),
    )
    op.create_table(
        "dl_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deposit_id", sa.Integer(), sa.ForeignKey("dl_deposit.id"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reversed_kind", sa.String(16)),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("payee_account", sa.String(100)),
        sa.Column("bank_reference", sa.String(100), index=True),
        sa.Column("voucher_no", sa.String(100)),
        sa.Column("reason_id", sa.Integer(), sa.ForeignKey("dl_forfeit_reason.id")),
        sa.Column("linked_entry_id", sa.Integer(), sa.ForeignKey("dl_entry.id")),
        sa.Column("reverses_id", sa.Integer(), sa.ForeignKey("dl_entry.id"), unique=True),
        sa.Column("late_fee", Money(), nullable=False),
        sa.Column("overdue_days", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("created_by", sa.String(128)),
        _region(),
    )
    op.create_table(
        "dl_statement_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("batch", sa.String(64), nullable=False, index=True),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("line_date", sa.Date(), nullable=False),
        sa.Column("amount", Money(), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("counterparty", sa.String(200)),
        sa.Column("reference", sa.String(100), nullable=False),
        sa.Column("imported_at", sa.DateTime()),
        _region(),
        sa.UniqueConstraint("region_id", "account", "line_date", "reference", "amount",
                            "direction", name="uq_dl_statement_line"),
    )
    op.create_table(
        "dl_statement_match",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("line_id", sa.Integer(), sa.ForeignKey("dl_statement_line.id"), nullable=False,
                  index=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("dl_entry.id"), nullable=False,
                  index=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decided_at", sa.DateTime()),
        _region(),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    elif dialect == "sqlite":
        for ddl in SQLITE_TRIGGERS:
            op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS trg_dl_entry_immutable ON dl_entry")
        op.execute("DROP FUNCTION IF EXISTS dl_entry_immutable()")
    for table in ("dl_statement_match", "dl_statement_line", "dl_entry", "dl_deposit",
                  "dl_project_reason", "dl_lpr_rate", "dl_forfeit_reason"):
        op.drop_table(table)
