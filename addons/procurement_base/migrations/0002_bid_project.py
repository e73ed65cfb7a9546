"""pb_bid.project_id: the bid's project (kept equal to its package's project)

A bid names its project as well as its package, so a client that sends both is checked
(a package of another project is refused) and bids can be listed and searched by project.
Existing bids get the project of their package.

Revision ID: pb_0002
Revises: pb_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "pb_0002"
down_revision = "pb_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pb_bid", schema=None) as batch_op:
        batch_op.add_column(sa.Column("project_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_pb_bid_project_id", "pb_project", ["project_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_pb_bid_project_id"), ["project_id"], unique=False)
    op.execute(
        "UPDATE pb_bid SET project_id = "
        "(SELECT pb_package.project_id FROM pb_package WHERE pb_package.id = pb_bid.package_id) "
        "WHERE project_id IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("pb_bid", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pb_bid_project_id"))
        batch_op.drop_constraint("fk_pb_bid_project_id", type_="foreignkey")
        batch_op.drop_column("project_id")
