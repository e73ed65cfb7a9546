"""Settings (per-region overrides) and the admin-maintained holiday table.

Revision ID: 0004_settings
Revises: 0003_audit
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa

revision = '0004_settings'
down_revision = '0003_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erp_setting_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=True),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=True),
    sa.Column('changed_by', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'],
                            name='fk_erp_setting_value_region_id'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', 'region_id', name='uq_erp_setting_value_key_region')
    )
    # NULLs are distinct in the unique constraint: one platform-wide row per key
    op.create_index('uq_erp_setting_value_platform_key', 'erp_setting_value', ['key'],
                    unique=True,
                    sqlite_where=sa.text('region_id IS NULL'),
                    postgresql_where=sa.text('region_id IS NULL'))

    op.create_table('erp_holiday',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_working_day', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day', name='uq_erp_holiday_day')
    )
    op.create_table('erp_holiday_year',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('year', name='uq_erp_holiday_year_year')
    )


def downgrade() -> None:
    op.drop_table('erp_holiday_year')
    op.drop_table('erp_holiday')
    op.drop_index('uq_erp_setting_value_platform_key', table_name='erp_setting_value')
    op.drop_table('erp_setting_value')
