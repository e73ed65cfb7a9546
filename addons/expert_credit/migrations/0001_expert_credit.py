"""expert_credit: experts, relations, specialties, draw requests, draws, exclusions,
assignments, evaluations, bad records, credit score history

Revision ID: ec_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "ec_0001"
down_revision = None
branch_labels = ("expert_credit",)
depends_on = "pb_0002"


def upgrade() -> None:
    op.create_table('ec_draw_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('review_at', sa.DateTime(), nullable=False),
    sa.Column('review_date', sa.Date(), nullable=False),
    sa.Column('review_place', sa.String(length=200), nullable=True),
    sa.Column('pool_region_id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    sa.Column('seed_hash', sa.String(length=64), nullable=False),
    sa.Column('seed_revealed_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['pool_region_id'], ['erp_region.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['pb_project.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_ec_draw_request_project_id'), 'ec_draw_request', ['project_id'], unique=False)
    op.create_index(op.f('ix_ec_draw_request_region_id'), 'ec_draw_request', ['region_id'], unique=False)
    op.create_index(op.f('ix_ec_draw_request_review_date'), 'ec_draw_request', ['review_date'], unique=False)
    op.create_index(op.f('ix_ec_draw_request_status'), 'ec_draw_request', ['status'], unique=False)
    op.create_table('ec_expert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('employer_id', sa.Integer(), nullable=True),
    sa.Column('employer_name', sa.String(length=200), nullable=True),
    sa.Column('title', sa.String(length=64), nullable=True),
    sa.Column('title_years', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('suspended_until', sa.Date(), nullable=True),
    sa.Column('finance_supervisor', sa.Boolean(), nullable=False),
    sa.Column('credit_score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('credit_band', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['employer_id'], ['erp_organization.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('id_number'),
    sa.UniqueConstraint('user_id')
    )
    op.create_index(op.f('ix_ec_expert_employer_id'), 'ec_expert', ['employer_id'], unique=False)
    op.create_index(op.f('ix_ec_expert_name'), 'ec_expert', ['name'], unique=False)
    op.create_index(op.f('ix_ec_expert_region_id'), 'ec_expert', ['region_id'], unique=False)
    op.create_index(op.f('ix_ec_expert_status'), 'ec_expert', ['status'], unique=False)
    op.create_table('ec_bad_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('consequence', sa.String(length=200), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['ec_expert.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['pb_project.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_ec_bad_record_expert_id'), 'ec_bad_record', ['expert_id'], unique=False)
    op.create_index(op.f('ix_ec_bad_record_region_id'), 'ec_bad_record', ['region_id'], unique=False)
    op.create_table('ec_credit_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('band', sa.String(length=16), nullable=False),
    sa.Column('base', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('penalty', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('evaluations', sa.Integer(), nullable=False),
    sa.Column('cause', sa.String(length=200), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['ec_expert.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_ec_credit_score_expert_id'), 'ec_credit_score', ['expert_id'], unique=False)
    op.create_index(op.f('ix_ec_credit_score_region_id'), 'ec_credit_score', ['region_id'], unique=False)
    op.create_table('ec_draw',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('algorithm', sa.String(length=32), nullable=False),
    sa.Column('pool', sa.Text(), nullable=False),
    sa.Column('pool_hash', sa.String(length=64), nullable=False),
    sa.Column('pool_size', sa.Integer(), nullable=False),
    sa.Column('plan', sa.Text(), nullable=False),
    sa.Column('needed', sa.Integer(), nullable=False),
    sa.Column('drawn_count', sa.Integer(), nullable=False),
    sa.Column('shortfall', sa.Integer(), nullable=False),
    sa.Column('shortfall_note', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('drawn_at', sa.DateTime(), nullable=False),
    sa.Column('drawn_by', sa.String(length=64), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['ec_draw.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['ec_draw_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'seq', name='uq_ec_draw_request_seq')
    )
    op.create_index(op.f('ix_ec_draw_region_id'), 'ec_draw', ['region_id'], unique=False)
    op.create_index(op.f('ix_ec_draw_request_id'), 'ec_draw', ['request_id'], unique=False)
    op.create_table('ec_draw_request_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('catalog_id', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('reserves', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['catalog_id'], ['pb_catalog.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['ec_draw_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'seq', name='uq_ec_request_line_seq')
    )
    op.create_index(op.f('ix_ec_draw_request_line_request_id'), 'ec_draw_request_line', ['request_id'], unique=False)
    op.create_table('ec_expert_relation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('org_credit_code', sa.String(length=18), nullable=True),
    sa.Column('org_name', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('date_from', sa.Date(), nullable=True),
    sa.Column('date_to', sa.Date(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['expert_id'], ['ec_expert.id'], ),
    sa.ForeignKeyConstraint(['org_id'], ['erp_organization.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_ec_expert_relation_expert_id'), 'ec_expert_relation', ['expert_id'], unique=False)
    op.create_index(op.f('ix_ec_expert_relation_org_credit_code'), 'ec_expert_relation', ['org_credit_code'], unique=False)
    op.create_index(op.f('ix_ec_expert_relation_org_id'), 'ec_expert_relation', ['org_id'], unique=False)
    op.create_index(op.f('ix_ec_expert_relation_org_name'), 'ec_expert_relation', ['org_name'], unique=False)
    op.create_index(op.f('ix_ec_expert_relation_region_id'), 'ec_expert_relation', ['region_id'], unique=False)
    op.create_table('ec_expert_specialty',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('catalog_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['catalog_id'], ['pb_catalog.id'], ),
    sa.ForeignKeyConstraint(['expert_id'], ['ec_expert.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('expert_id', 'catalog_id', name='uq_ec_specialty')
    )
    op.create_index('ix_ec_specialty_catalog_expert', 'ec_expert_specialty', ['catalog_id', 'expert_id'], unique=False)
    op.create_index(op.f('ix_ec_expert_specialty_expert_id'), 'ec_expert_specialty', ['expert_id'], unique=False)
    op.create_index(op.f('ix_ec_expert_specialty_region_id'), 'ec_expert_specialty', ['region_id'], unique=False)
    op.create_table('ec_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('catalog_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('reserve', sa.Boolean(), nullable=False),
    sa.Column('review_date', sa.Date(), nullable=False),
    sa.Column('expert_name', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.Column('decline_reason', sa.String(length=500), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['catalog_id'], ['pb_catalog.id'], ),
    sa.ForeignKeyConstraint(['draw_id'], ['ec_draw.id'], ),
    sa.ForeignKeyConstraint(['expert_id'], ['ec_expert.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['pb_project.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['ec_draw_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'expert_id', name='uq_ec_assignment')
    )
    op.create_index(op.f('ix_ec_assignment_draw_id'), 'ec_assignment', ['draw_id'], unique=False)
    op.create_index('ix_ec_assignment_expert_day', 'ec_assignment', ['expert_id', 'review_date'], unique=False)
    op.create_index(op.f('ix_ec_assignment_expert_id'), 'ec_assignment', ['expert_id'], unique=False)
    op.create_index(op.f('ix_ec_assignment_project_id'), 'ec_assignment', ['project_id'], unique=False)
    op.create_index(op.f('ix_ec_assignment_region_id'), 'ec_assignment', ['region_id'], unique=False)
    op.create_index(op.f('ix_ec_assignment_request_id'), 'ec_assignment', ['request_id'], unique=False)
    op.create_index(op.f('ix_ec_assignment_review_date'), 'ec_assignment', ['review_date'], unique=False)
    op.create_index(op.f('ix_ec_assignment_status'), 'ec_assignment', ['status'], unique=False)
    op.create_table('ec_draw_exclusion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('draw_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['draw_id'], ['ec_draw.id'], ),
    sa.ForeignKeyConstraint(['expert_id'], ['ec_expert.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('draw_id', 'expert_id', name='uq_ec_exclusion')
    )
    op.create_index(op.f('ix_ec_draw_exclusion_draw_id'), 'ec_draw_exclusion', ['draw_id'], unique=False)
    op.create_table('ec_evaluation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('evaluator_org_id', sa.Integer(), nullable=True),
    sa.Column('review_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('score_ethics', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('score_competence', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('score_discipline', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('score_integrity', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('total', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.Date(), nullable=True),
    sa.Column('submitted_by', sa.String(length=64), nullable=True),
    sa.Column('appeal_reason', sa.Text(), nullable=True),
    sa.Column('appealed_at', sa.Date(), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.Date(), nullable=True),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['ec_assignment.id'], ),
    sa.ForeignKeyConstraint(['evaluator_org_id'], ['erp_organization.id'], ),
    sa.ForeignKeyConstraint(['expert_id'], ['ec_expert.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['pb_project.id'], ),
    sa.ForeignKeyConstraint(['region_id'], ['erp_region.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assignment_id', name='uq_ec_evaluation_assignment')
    )
    op.create_index(op.f('ix_ec_evaluation_due_date'), 'ec_evaluation', ['due_date'], unique=False)
    op.create_index(op.f('ix_ec_evaluation_evaluator_org_id'), 'ec_evaluation', ['evaluator_org_id'], unique=False)
    op.create_index(op.f('ix_ec_evaluation_expert_id'), 'ec_evaluation', ['expert_id'], unique=False)
    op.create_index(op.f('ix_ec_evaluation_project_id'), 'ec_evaluation', ['project_id'], unique=False)
    op.create_index(op.f('ix_ec_evaluation_region_id'), 'ec_evaluation', ['region_id'], unique=False)
    op.create_index(op.f('ix_ec_evaluation_status'), 'ec_evaluation', ['status'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_ec_evaluation_status'), table_name='ec_evaluation')
    op.drop_index(op.f('ix_ec_evaluation_region_id'), table_name='ec_evaluation')
    op.drop_index(op.f('ix_ec_evaluation_project_id'), table_name='ec_evaluation')
    op.drop_index(op.f('ix_ec_evaluation_expert_id'), table_name='ec_evaluation')
    op.drop_index(op.f('ix_ec_evaluation_evaluator_org_id'), table_name='ec_evaluation')
    op.drop_index(op.f('ix_ec_evaluation_due_date'), table_name='ec_evaluation')
    op.drop_table('ec_evaluation')
    op.drop_index(op.f('ix_ec_draw_exclusion_draw_id'), table_name='ec_draw_exclusion')
    op.drop_table('ec_draw_exclusion')
    op.drop_index(op.f('ix_ec_assignment_status'), table_name='ec_assignment')
    op.drop_index(op.f('ix_ec_assignment_review_date'), table_name='ec_assignment')
    op.drop_index(op.f('ix_ec_assignment_request_id'), table_name='ec_assignment')
    op.drop_index(op.f('ix_ec_assignment_region_id'), table_name='ec_assignment')
    op.drop_index(op.f('ix_ec_assignment_project_id'), table_name='ec_assignment')
    op.drop_index(op.f('ix_ec_assignment_expert_id'), table_name='ec_assignment')
    op.drop_index('ix_ec_assignment_expert_day', table_name='ec_assignment')
    op.drop_index(op.f('ix_ec_assignment_draw_id'), table_name='ec_assignment')
    op.drop_table('ec_assignment')
    op.drop_index(op.f('ix_ec_expert_specialty_region_id'), table_name='ec_expert_specialty')
    op.drop_index(op.f('ix_ec_expert_specialty_expert_id'), table_name='ec_expert_specialty')
    op.drop_index('ix_ec_specialty_catalog_expert', table_name='ec_expert_specialty')
    op.drop_table('ec_expert_specialty')
    op.drop_index(op.f('ix_ec_expert_relation_region_id'), table_name='ec_expert_relation')
    op.drop_index(op.f('ix_ec_expert_relation_org_name'), table_name='ec_expert_relation')
    op.drop_index(op.f('ix_ec_expert_relation_org_id'), table_name='ec_expert_relation')
    op.drop_index(op.f('ix_ec_expert_relation_org_credit_code'), table_name='ec_expert_relation')
    op.drop_index(op.f('ix_ec_expert_relation_expert_id'), table_name='ec_expert_relation')
    op.drop_table('ec_expert_relation')
    op.drop_index(op.f('ix_ec_draw_request_line_request_id'), table_name='ec_draw_request_line')
    op.drop_table('ec_draw_request_line')
    op.drop_index(op.f('ix_ec_draw_request_id'), table_name='ec_draw')
    op.drop_index(op.f('ix_ec_draw_region_id'), table_name='ec_draw')
    op.drop_table('ec_draw')
    op.drop_index(op.f('ix_ec_credit_score_region_id'), table_name='ec_credit_score')
    op.drop_index(op.f('ix_ec_credit_score_expert_id'), table_name='ec_credit_score')
    op.drop_table('ec_credit_score')
    op.drop_index(op.f('ix_ec_bad_record_region_id'), table_name='ec_bad_record')
    op.drop_index(op.f('ix_ec_bad_record_expert_id'), table_name='ec_bad_record')
    op.drop_table('ec_bad_record')
    op.drop_index(op.f('ix_ec_expert_status'), table_name='ec_expert')
    op.drop_index(op.f('ix_ec_expert_region_id'), table_name='ec_expert')
    op.drop_index(op.f('ix_ec_expert_name'), table_name='ec_expert')
    op.drop_index(op.f('ix_ec_expert_employer_id'), table_name='ec_expert')
    op.drop_table('ec_expert')
    op.drop_index(op.f('ix_ec_draw_request_status'), table_name='ec_draw_request')
    op.drop_index(op.f('ix_ec_draw_request_review_date'), table_name='ec_draw_request')
    op.drop_index(op.f('ix_ec_draw_request_region_id'), table_name='ec_draw_request')
    op.drop_index(op.f('ix_ec_draw_request_project_id'), table_name='ec_draw_request')
    op.drop_table('ec_draw_request')
