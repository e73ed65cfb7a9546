"""framework_agreement: agreements, items, responses, shortlist, ledger lines, call-offs, bids, notices"""

import sqlalchemy as sa
from alembic import op

revision = "framework_agreement_0001"
down_revision = None
branch_labels = ("framework_agreement",)
depends_on = "emall_0002"

M = sa.Numeric(18, 2)


def _region():
    return sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False, index=True)


def _org(name, nullable=False):
    return sa.Column(name, sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=nullable, index=True)


def upgrade():
    op.create_table(
        "fa_agreement",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _org("collector_id"),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("form", sa.String(16), nullable=False),
        sa.Column("open_reason", sa.Text()),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("demand", sa.Text(), nullable=False),
        sa.Column("evaluation", sa.String(16), nullable=False),
        sa.Column("lab_instruments", sa.Boolean(), nullable=False),
        sa.Column("methods", sa.String(64), nullable=False),
        sa.Column("shortlist_cap", sa.Integer()),
        sa.Column("volume_discounts", sa.Text()),
        sa.Column("performance_area", sa.String(255)),
        sa.Column("performance_requirements", sa.Text()),
        sa.Column("payment_terms", sa.Text()),
        sa.Column("contract_template", sa.Text()),
        sa.Column("term_start", sa.Date(), nullable=False),
        sa.Column("term_end", sa.Date(), nullable=False),
        sa.Column("response_deadline", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("round_deadline", sa.DateTime()),
        sa.Column("published_on", sa.Date()),
        sa.Column("confirmed_on", sa.Date()),
        sa.Column("signed_on", sa.Date()),
        sa.Column("rotation_cycle", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime()),
        _region(),
        sa.UniqueConstraint("number", name="uq_fa_agreement_number"),
    )
    op.create_table(
        "fa_agreement_region",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("fa_agreement.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False),
        sa.UniqueConstraint("agreement_id", "region_id", name="uq_fa_agreement_region"),
    )
    op.create_table(
        "fa_agreement_purchaser",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("fa_agreement.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False),
        sa.UniqueConstraint("agreement_id", "org_id", name="uq_fa_agreement_purchaser"),
    )
    op.create_table(
        "fa_item",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("fa_agreement.id"), nullable=False, index=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("emall_category.id")),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spec", sa.Text()),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("ceiling_price", M, nullable=False),
        sa.Column("est_quantity", sa.Integer(), nullable=False),
        sa.Column("max_quantity", sa.Integer(), nullable=False),
        _region(),
    )
    op.create_table(
        "fa_response",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("fa_agreement.id"), nullable=False, index=True),
        _org("supplier_id"),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("evaluated_price", M, nullable=False),
        sa.Column("score", M),
        sa.Column("rank", sa.Integer()),
        sa.Column("note", sa.Text()),
        sa.Column("submitted_at", sa.DateTime()),
        _region(),
        sa.UniqueConstraint("agreement_id", "supplier_id", "round", name="uq_fa_response"),
    )
    op.create_table(
        "fa_response_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("response_id", sa.Integer(), sa.ForeignKey("fa_response.id"), nullable=False, index=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("fa_item.id"), nullable=False),
        sa.Column("supplier_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("emall_listing.id"), nullable=False),
        sa.Column("unit_price", M, nullable=False),
        sa.Column("supply_quantity", sa.Integer(), nullable=False),
        _region(),
    )
    op.create_table(
        "fa_member",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("fa_agreement.id"), nullable=False, index=True),
        _org("supplier_id"),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("rotation_position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("joined_on", sa.Date()),
        sa.Column("left_on", sa.Date()),
        sa.Column("removal_cause", sa.String(32)),
        sa.Column("left_note", sa.Text()),
        _region(),
        sa.UniqueConstraint("agreement_id", "supplier_id", name="uq_fa_member"),
    )
    op.create_table(
        "fa_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("fa_agreement.id"), nullable=False, index=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("fa_item.id"), nullable=False, index=True),
        _org("supplier_id"),
        sa.Column("listing_id", sa.Integer(), sa.ForeignKey("emall_listing.id"), nullable=False),
        sa.Column("agreement_price", M, nullable=False),
        sa.Column("ceiling_price", M, nullable=False),
        sa.Column("cap_quantity", sa.Integer(), nullable=False),
        sa.Column("ordered_quantity", sa.Integer(), nullable=False),
        sa.Column("ordered_amount", M, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _region(),
        sa.UniqueConstraint("item_id", "supplier_id", name="uq_fa_line"),
        sa.CheckConstraint("ordered_quantity <= cap_quantity AND ordered_quantity >= 0", name="ck_fa_line_cap"),
    )
    op.create_table(
        "fa_calloff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("fa_agreement.id"), nullable=False, index=True),
        sa.Column("item_id", sa.Integer(), sa.ForeignKey("fa_item.id"), nullable=False),
        _org("purchaser_id"),
        sa.Column("agreement_name", sa.String(200), nullable=False),
        sa.Column("item_name", sa.String(200), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        _org("supplier_id", nullable=True),
        sa.Column("line_id", sa.Integer(), sa.ForeignKey("fa_line.id"), index=True),
        sa.Column("unit_price", M),
        sa.Column("amount", M),
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("emall_order.id")),
        sa.Column("bid_deadline", sa.DateTime()),
        sa.Column("rotation_cycle", sa.Integer()),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime()),
        sa.Column("awarded_on", sa.Date()),
        sa.Column("note", sa.Text()),
        _region(),
        sa.UniqueConstraint("number", name="uq_fa_calloff_number"),
    )
    op.create_table(
        "fa_bid",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("calloff_id", sa.Integer(), sa.ForeignKey("fa_calloff.id"), nullable=False, index=True),
        sa.Column("supplier_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False),
        sa.Column("line_id", sa.Integer(), sa.ForeignKey("fa_line.id"), nullable=False),
        sa.Column("unit_price", M),
        sa.Column("submitted_at", sa.DateTime()),
        _region(),
        sa.UniqueConstraint("calloff_id", "supplier_id", name="uq_fa_bid"),
    )
    op.create_table(
        "fa_notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("agreement_id", sa.Integer(), sa.ForeignKey("fa_agreement.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source_key", sa.String(64), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("published_on", sa.Date()),
        sa.Column("hub_link", sa.String(255)),
        sa.Column("purchaser_id", sa.Integer(), sa.ForeignKey("erp_organization.id")),
        _region(),
        sa.UniqueConstraint("kind", "source_key", name="uq_fa_notice"),
    )


def downgrade():
    for table in ("fa_notice", "fa_bid", "fa_calloff", "fa_line", "fa_member", "fa_response_line", "fa_response",
                  "fa_item", "fa_agreement_purchaser", "fa_agreement_region", "fa_agreement"):
        op.drop_table(table)
