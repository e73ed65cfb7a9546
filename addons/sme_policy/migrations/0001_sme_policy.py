"""sme_policy: project SME settings, SME declarations per bid, annual disclosures"""

import sqlalchemy as sa
from alembic import op

revision = "sme_0001"
down_revision = None
branch_labels = ("sme_policy",)
depends_on = "pb_0004"

def _money(name: str, nullable: bool = False) -> sa.Column:
    if nullable:
        return sa.Column(name, sa.Numeric(18, 2))
    return sa.Column(name, sa.Numeric(18, 2), nullable=False)


def _pct(name: str, nullable: bool = False) -> sa.Column:
    if nullable:
        return sa.Column(name, sa.Numeric(7, 2))
    return sa.Column(name, sa.Numeric(7, 2), nullable=False)


def _entered(name: str) -> sa.Column:
    return sa.Column(name, sa.Numeric(9, 4))


def _region() -> sa.Column:
    return sa.Column("region_id", sa.Integer(), sa.ForeignKey("erp_region.id"), nullable=False)


def upgrade():
    op.create_table(
        "sme_project",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("pb_project.id"), nullable=False),
        sa.Column("suits_sme", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text()),
        _entered("small_micro_percent"),
        _entered("deduction_rate"),
        _entered("group_deduction_rate"),
        sa.Column("rerun_of_id", sa.Integer(), sa.ForeignKey("pb_project.id")),
        sa.Column("note", sa.Text()),
        _region(),
        sa.UniqueConstraint("project_id", name="uq_sme_project_project"),
    )
    op.create_index("ix_sme_project_region_id", "sme_project", ["region_id"])

    op.create_table(
        "sme_declaration",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("bid_id", sa.Integer(), sa.ForeignKey("pb_bid.id"), nullable=False),
        sa.Column("package_id", sa.Integer(), sa.ForeignKey("pb_package.id"), nullable=False),
        sa.Column("supplier_id", sa.Integer(), sa.ForeignKey("erp_organization.id"),
                  nullable=False),
        sa.Column("industry", sa.String(16), nullable=False),
        sa.Column("size", sa.String(16), nullable=False),
        sa.Column("arrangement", sa.String(16), nullable=False),
        _entered("small_micro_share"),
        sa.Column("employees", sa.Integer()),
        _money("revenue", True),
        sa.Column("declared_on", sa.Date()),
        _region(),
        sa.UniqueConstraint("bid_id", name="uq_sme_declaration_bid"),
    )
    op.create_index("ix_sme_declaration_region_id", "sme_declaration", ["region_id"])
    op.create_index("ix_sme_declaration_supplier_id", "sme_declaration", ["supplier_id"])
    op.create_index("ix_sme_declaration_package_supplier", "sme_declaration",
                    ["package_id", "supplier_id"])

    op.create_table(
        "sme_disclosure",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("erp_organization.id"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _money("total_amount"), _money("suitable_amount"), _money("reserved_whole"),
        _money("reserved_package"), _money("reserved_consortium"), _money("reserved_subcontract"),
        _money("reserved_total"), _money("sme_amount"), _money("small_micro_amount"),
        _pct("reserved_share"), _pct("sme_share"), _pct("small_micro_share"),
        _pct("target_reserved"), _pct("target_small_micro"),
        sa.Column("shortfall_explanation", sa.Text()),
        sa.Column("computed_at", sa.DateTime()),
        sa.Column("reviewed_at", sa.DateTime()),
        sa.Column("signed_at", sa.DateTime()),
        sa.Column("signed_by", sa.String(100)),
        sa.Column("published_on", sa.Date()),
        sa.Column("due_date", sa.Date()),
        sa.Column("notice_link", sa.String(255)),
        _region(),
        sa.UniqueConstraint("unit_id", "year", name="uq_sme_disclosure_unit_year"),
    )
    op.create_index("ix_sme_disclosure_region_id", "sme_disclosure", ["region_id"])
    op.create_index("ix_sme_disclosure_unit_id", "sme_disclosure", ["unit_id"])
    op.create_index("ix_sme_disclosure_status", "sme_disclosure", ["status"])

    op.create_table(
        "sme_disclosure_line",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("disclosure_id", sa.Integer(), sa.ForeignKey("sme_disclosure.id"),
                  nullable=False),
        sa.Column("project_id", sa.Integer(), sa.ForeignKey("pb_project.id")),
        sa.Column("project_number", sa.String(50), nullable=False),
        sa.Column("project_name", sa.String(200), nullable=False),
        sa.Column("measure", sa.String(16), nullable=False),
        _money("contract_amount"),
        _money("reserved_amount"),
        sa.Column("contract_numbers", sa.Text()),
        sa.Column("link", sa.String(255)),
        _region(),
    )
    op.create_index("ix_sme_disclosure_line_region_id", "sme_disclosure_line", ["region_id"])
    op.create_index("ix_sme_disclosure_line_disclosure_id", "sme_disclosure_line",
                    ["disclosure_id"])


def downgrade():
    op.drop_table("sme_disclosure_line")
    op.drop_table("sme_disclosure")
    op.drop_table("sme_declaration")
    op.drop_table("sme_project")
