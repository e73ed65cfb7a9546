"""framework_agreement: volume-discount schedule (量大优惠阶梯) and the discount applied per call-off"""

import sqlalchemy as sa
from alembic import op

revision = "framework_agreement_0003"
down_revision = "framework_agreement_0002"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("fa_agreement") as batch:
        batch.add_column(sa.Column("discount_tiers", sa.String(255)))
    with op.batch_alter_table("fa_calloff") as batch:
        batch.add_column(sa.Column("agreement_price", sa.Numeric(18, 2)))
        batch.add_column(sa.Column("discount_percent", sa.Numeric(5, 2)))


def downgrade():
    with op.batch_alter_table("fa_calloff") as batch:
        batch.drop_column("discount_percent")
        batch.drop_column("agreement_price")
    with op.batch_alter_table("fa_agreement") as batch:
        batch.drop_column("discount_tiers")
