"""Idempotency keys of API writes, per caller (issue 11: an action declared ``idempotent``).

Revision ID: 0008_idempotency
Revises: 0007_jobs
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = '0008_idempotency'
down_revision = '0007_jobs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erp_idempotency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=40), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['erp_organization.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner', 'key', name='uq_erp_idempotency')
    )


def downgrade() -> None:
    op.drop_table('erp_idempotency')
