"""In-app messages (站内消息).

Revision ID: 0005_messages
Revises: 0004_settings
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = '0005_messages'
down_revision = '0004_settings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erp_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'),
              nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], name='fk_erp_message_user_id',
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['erp_organization.id'], name='fk_erp_message_org_id'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_erp_message_user_read', 'erp_message', ['user_id', 'read_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_erp_message_user_read', table_name='erp_message')
    op.drop_table('erp_message')
