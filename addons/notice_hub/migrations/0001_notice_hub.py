"""notice_hub: notice types, notices (with the keyword index), attachments, outbox"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "notice_hub_0001"
down_revision = None
branch_labels = ("notice_hub",)
depends_on = "0001_core"


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "nh_notice_type",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(40), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("national_category", sa.String(100), nullable=False),
        sa.Column("national_code", sa.String(20), nullable=False),
        sa.Column("provincial_code", sa.String(20), nullable=False),
        sa.Column("ocds_tag", sa.String(40), nullable=False),
        sa.Column("deadline_workdays", sa.Integer()),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "nh_notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(40), unique=True),
        sa.Column("kind", sa.String(40), nullable=False, index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("source_id", sa.Integer()),
        sa.Column("source_key", sa.String(160), unique=True),
        sa.Column("source_withdrawn", sa.Boolean(), nullable=False),
        sa.Column("publisher_org_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), index=True),
        sa.Column("purchaser_org_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), index=True),
        sa.Column("amount", sa.Numeric(18, 2)),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date()),
        sa.Column("refers_to_id", sa.Integer(), sa.ForeignKey("nh_notice.id"), index=True),
        sa.Column("link", sa.String(300)),
        sa.Column("ocid", sa.String(120), index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime()),
        sa.Column("published_by", sa.String(128)),
        sa.Column("delay_workdays", sa.Integer()),
        sa.Column("search_vector", postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite")),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False, index=True),
    )
    op.create_index("ix_nh_notice_pub", "nh_notice", ["status", "published_at"])
    op.create_index("ix_nh_notice_due", "nh_notice", ["status", "due_date"])
    op.create_index("ix_nh_notice_source", "nh_notice", ["source", "source_id"])
    unindexed = sa.text("status = 'published' AND search_vector IS NULL")
    op.create_index("ix_nh_notice_unindexed", "nh_notice", ["id"], postgresql_where=unindexed,
                    sqlite_where=unindexed)
    if pg:
        op.create_index("ix_nh_notice_search_vector", "nh_notice", ["search_vector"],
                        postgresql_using="gin")
    else:
        op.create_index("ix_nh_notice_search_vector", "nh_notice", ["search_vector"],
                        sqlite_where=sa.text("search_vector IS NOT NULL"))
        op.execute("CREATE VIRTUAL TABLE nh_notice_fts USING fts5(title, body, "
                   "tokenize = 'unicode61 remove_diacritics 0', columnsize = 0)")
    op.create_table(
        "nh_attachment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("nh_notice.id"), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64)),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False, index=True),
    )
    op.create_table(
        "nh_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(120), nullable=False, unique=True),
        sa.Column("topic", sa.String(60), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("delivered_at", sa.DateTime()),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("receipt", sa.String(120)),
        sa.Column("receiver", sa.String(40), nullable=False),
        sa.Column("notice_id", sa.Integer(), sa.ForeignKey("nh_notice.id"), nullable=False, index=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False, index=True),
    )


def downgrade():
    op.drop_table("nh_outbox")
    op.drop_table("nh_attachment")
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS nh_notice_fts")
    op.drop_table("nh_notice")
    op.drop_table("nh_notice_type")
