"""Audit log (append-only).

Revision ID: 0003_audit
Revises: 0002_tenancy
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa

revision = '0003_audit'
down_revision = '0002_tenancy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
