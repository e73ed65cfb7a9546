"""Audit log (append-only).

Revision ID: 0003_audit
Revises: 0002_tenancy
Create Date: 2026-11-27

The table is append-only at the database level: on PostgreSQL a statement-level trigger
raises on UPDATE, DELETE and TRUNCATE; on SQLite two triggers ``RAISE(ABORT, ...)`` on
UPDATE and DELETE. (A later migration that rebuilds this table with batch mode on SQLite
must create the triggers again.)
"""

from alembic import op
import sqlalchemy as sa

revision = '0003_audit'
down_revision = '0002_tenancy'
branch_labels = None
depends_on = None

APPEND_ONLY_MESSAGE = 'erp_audit_log is append-only: UPDATE and DELETE are not allowed'

PG_FUNCTION = f"""
CREATE FUNCTION erp_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{APPEND_ONLY_MESSAGE} (%)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""
PG_TRIGGER = """
CREATE TRIGGER trg_erp_audit_log_append_only
BEFORE UPDATE OR DELETE OR TRUNCATE ON erp_audit_log
FOR EACH STATEMENT EXECUTE FUNCTION erp_audit_log_append_only()
"""
SQLITE_TRIGGERS = [
    f"""
CREATE TRIGGER trg_erp_audit_log_no_update BEFORE UPDATE ON erp_audit_log
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END
""",
    f"""
CREATE TRIGGER trg_erp_audit_log_no_delete BEFORE DELETE ON erp_audit_log
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END
""",
]


def upgrade() -> None:
    op.create_table('erp_audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('module', sa.String(length=64), nullable=True),
    sa.Column('object_type', sa.String(length=64), nullable=False),
    sa.Column('object_id', sa.String(length=128), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], name='fk_erp_audit_log_region_id'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_erp_audit_log_at', 'erp_audit_log', ['at'], unique=False)
    op.create_index('ix_erp_audit_log_object', 'erp_audit_log', ['object_type', 'object_id'],
                    unique=False)
    op.create_index('ix_erp_audit_log_region_id', 'erp_audit_log', ['region_id'], unique=False)

    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    elif dialect == 'sqlite':
        for ddl in SQLITE_TRIGGERS:
            op.execute(ddl)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS trg_erp_audit_log_append_only ON erp_audit_log')
    elif dialect == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS trg_erp_audit_log_no_update')
        op.execute('DROP TRIGGER IF EXISTS trg_erp_audit_log_no_delete')
    op.drop_index('ix_erp_audit_log_region_id', table_name='erp_audit_log')
    op.drop_index('ix_erp_audit_log_object', table_name='erp_audit_log')
    op.drop_index('ix_erp_audit_log_at', table_name='erp_audit_log')
    op.drop_table('erp_audit_log')
    if dialect == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS erp_audit_log_append_only()')
