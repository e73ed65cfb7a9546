"""Failed-login counters shared by every worker (issue 12 finding 7).

Revision ID: 0006_login_attempts
Revises: 0005_messages
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = '0006_login_attempts'
down_revision = '0005_messages'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erp_login_attempt',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade() -> None:
    op.drop_table('erp_login_attempt')
