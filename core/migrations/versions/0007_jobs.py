"""The job runner's per-job lock and last run (issue 17 item 4).

Revision ID: 0007_jobs
Revises: 0006_login_attempts
Create Date: 2026-12-04
"""

from alembic import op
import sqlalchemy as sa

revision = '0007_jobs'
down_revision = '0006_login_attempts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('erp_job',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('module', sa.String(length=64), nullable=False),
    sa.Column('run_token', sa.String(length=40), nullable=True),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('running_since', sa.DateTime(), nullable=True),
    sa.Column('last_started_at', sa.DateTime(), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(), nullable=True),
    sa.Column('last_status', sa.String(length=16), nullable=True),
    sa.Column('last_result', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_duration_ms', sa.Integer(), nullable=True),
    sa.Column('last_trigger', sa.String(length=16), nullable=True),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('runs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('erp_job')
