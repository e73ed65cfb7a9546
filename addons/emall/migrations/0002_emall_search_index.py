"""emall search: keyword index of listings and the synonyms table

PostgreSQL: ``emall_listing.search_vector`` (tsvector) with a GIN index. SQLite: the column
stays NULL (its partial index stays empty) and the index is the FTS5 table
``emall_listing_fts``, with a narrow covering index ``ix_emall_listing_hit`` for joining its
hits to the listings (empty on PostgreSQL). ``emall_synonym`` seeded with the catalog's common names. The
documents of existing listings are written by the search module on the first search (or
``erp emall reindex``).

Revision ID: emall_0002
Revises: emall_0001
Create Date: 2026-12-04 12:30:00
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "emall_0002"
down_revision = "emall_0001"
branch_labels = None
depends_on = None

#: (term, synonyms, mutual): what purchasers type → the catalog's words
SEED = [
    ("电脑", "计算机、台式计算机、便携式计算机", False),
    ("台式机", "台式计算机", False),
    ("台式电脑", "台式计算机", False),
    ("笔记本", "便携式计算机", False),
    ("笔记本电脑", "便携式计算机", False),
    ("手提电脑", "便携式计算机", False),
    ("平板", "平板式计算机", False),
    ("平板电脑", "平板式计算机", False),
    ("打印机", "打印设备", True),
    ("复印机", "复印设备", True),
    ("一体机", "多功能一体机", False),
    ("投影机", "投影仪", True),
    ("显示屏", "显示器", True),
    ("路由", "路由器", False),
    ("空调", "空调机", True),
    ("电视", "电视机", False),
    ("饮水器", "饮水机", True),
    ("电话", "电话机", False),
    ("秤", "衡器", False),
    ("打印纸", "复印纸", False),
    ("a4纸", "复印纸", False),
    ("墨盒", "硒鼓墨盒", False),
    ("硒鼓", "硒鼓墨盒", False),
    ("碳粉", "硒鼓墨盒、墨粉", False),
    ("桌子", "台、桌类、办公桌", False),
    ("椅子", "椅凳类、办公椅", False),
    ("柜子", "柜类、文件柜", False),
    ("床", "床类", False),
    # livestock pavilion (畜牧行业馆)
    ("疫苗", "兽用生物制品", False),
    ("兽用疫苗", "兽用生物制品、疫苗", False),
    ("动物药", "兽药", False),
    ("消毒液", "消毒剂", True),
    ("耳标", "畜禽标识", True),
    ("冻精", "冷冻精液", True),
    ("冷藏车", "冷藏运输车", True),
    ("冷链车", "冷藏运输车", False),
    ("冷藏包", "冷藏箱", True),
    ("诊断试剂", "检测试剂", True),
    ("试纸", "快速检测试纸、胶体金", False),
    ("注射器", "免疫注射器械、连续注射器", False),
    ("布病", "布鲁氏菌病", False),
    ("蓝耳病", "猪繁殖与呼吸综合征", False),
    ("鸡瘟", "新城疫", False),
    ("禽流感", "高致病性禽流感", False),
    ("抗生素", "抗微生物药", False),
    ("驱虫药", "抗寄生虫药", False),
    ("预混料", "添加剂预混合饲料", True),
    ("浓缩料", "浓缩饲料", True),
    ("全价料", "配合饲料", True),
    ("猪饲料", "配合饲料、猪", False),
    ("种公猪", "种猪", False),
]


def upgrade() -> None:
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    with op.batch_alter_table("emall_listing", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_vector", postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite"),
                                      nullable=True))
    if pg:
        op.create_index("ix_emall_listing_search_vector", "emall_listing", ["search_vector"],
                        postgresql_using="gin")
    else:
        op.create_index("ix_emall_listing_search_vector", "emall_listing", ["search_vector"],
                        sqlite_where=sa.text("search_vector IS NOT NULL"))
        op.execute("CREATE VIRTUAL TABLE emall_listing_fts USING fts5(name, category, attrs, head, "
                   "tokenize = 'unicode61 remove_diacritics 0', columnsize = 0)")
    cover = ["id", "status", "supplier_id", "category_id", "price", "stock", "pavilion", "cold_chain"]
    if pg:  # empty on PostgreSQL (the GIN index answers there); the model declares it for both
        op.create_index("ix_emall_listing_hit", "emall_listing", cover, postgresql_where=sa.text("false"))
    else:
        op.create_index("ix_emall_listing_hit", "emall_listing", cover)
    synonym = op.create_table(
        "emall_synonym",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=50), nullable=False),
        sa.Column("synonyms", sa.String(length=500), nullable=False),
        sa.Column("mutual", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("term"),
    )
    now = dt.datetime.now().replace(microsecond=0)
    op.bulk_insert(synonym, [{"term": t, "synonyms": s, "mutual": m, "active": True, "note": "平台预置",
                              "updated_at": now} for t, s, m in SEED])


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_table("emall_synonym")
    if bind.dialect.name != "postgresql":
        op.execute("DROP TABLE IF EXISTS emall_listing_fts")
    op.drop_index("ix_emall_listing_hit", table_name="emall_listing")
    op.drop_index("ix_emall_listing_search_vector", table_name="emall_listing")
    with op.batch_alter_table("emall_listing", schema=None) as batch_op:
        batch_op.drop_column("search_vector")
