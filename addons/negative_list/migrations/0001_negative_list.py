"""negative_list: rules, checked documents and findings"""

import sqlalchemy as sa
from alembic import op

revision = "negative_list_0001"
down_revision = None
branch_labels = ("negative_list",)
depends_on = ("0001_core", "pb_0001")


def upgrade():
    op.create_table(
        "nl_rule",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("keywords", sa.Text()),
        sa.Column("patterns", sa.Text()),
        sa.Column("applies_to", sa.String(100)),
        sa.Column("exceptions", sa.Text()),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("guidance", sa.Text()),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id")),
        sa.Column("updated_at", sa.DateTime()),
        sa.UniqueConstraint("code", "region_id", name="uq_nl_rule_code_region"),
    )
    op.create_index("ix_nl_rule_code", "nl_rule", ["code"])
    op.create_index("ix_nl_rule_region_id", "nl_rule", ["region_id"])
    op.create_table(
        "nl_document",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("pb_project.id"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("filename", sa.String(255)),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime()),
        sa.Column("rules_checked", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False),
    )
    op.create_index("ix_nl_document_project_id", "nl_document", ["project_id"])
    op.create_index("ix_nl_document_region_id", "nl_document", ["region_id"])
    op.create_table(
        "nl_finding",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("document_id", sa.Integer(), sa.ForeignKey("nl_document.id"), nullable=False),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("pb_project.id"), nullable=False),
        sa.Column("rule_id", sa.Integer(), sa.ForeignKey("nl_rule.id", ondelete="SET NULL")),
        sa.Column("rule_code", sa.String(20), nullable=False),
        sa.Column("rule_name", sa.String(200), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("guidance", sa.Text()),
        sa.Column("matched", sa.String(200), nullable=False),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("section", sa.String(300)),
        sa.Column("section_kind", sa.String(16), nullable=False),
        sa.Column("location", sa.String(60), nullable=False),
        sa.Column("offset", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("justification", sa.Text()),
        sa.Column("resolved_by", sa.String(100)),
        sa.Column("resolved_by_id", sa.Integer()),
        sa.Column("resolved_at", sa.DateTime()),
        sa.Column("review_note", sa.Text()),
        sa.Column("reviewed_by", sa.String(100)),
        sa.Column("reviewed_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False),
    )
    for col in ("document_id", "project_id", "rule_id", "rule_code", "status", "created_at", "region_id"):
        op.create_index(f"ix_nl_finding_{col}", "nl_finding", [col])


def downgrade():
    for col in ("document_id", "project_id", "rule_id", "rule_code", "status", "created_at", "region_id"):
        op.drop_index(f"ix_nl_finding_{col}", table_name="nl_finding")
    op.drop_table("nl_finding")
    op.drop_index("ix_nl_document_region_id", table_name="nl_document")
    op.drop_index("ix_nl_document_project_id", table_name="nl_document")
    op.drop_table("nl_document")
    op.drop_index("ix_nl_rule_region_id", table_name="nl_rule")
    op.drop_index("ix_nl_rule_code", table_name="nl_rule")
    op.drop_table("nl_rule")
