"""Records of ``negative_list``: the rules (province-wide, with region overrides), a
project's checked documents and the findings of the checker.

Rules are reference data kept by the province (not a unit's business record): everyone
with the permission reads them; writes are checked in :mod:`.services` (province rules by
the province, an override only inside the writer's regions). Documents and findings belong
to a project: region-scoped, owned by the project's purchaser and agency (``own`` rule).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from addons.procurement_base.models import Project, own_projects
from core.db import Model
from core.models import Region
from core.tenancy import OWN_RULE, RegionScoped

#: categories of DOMAIN.md's negative-list table (财政部 2025 指引附件9 的 7 类, check)
CATEGORIES = {
    "location": "所在地、分支机构或距离",
    "track_record": "地区或行业业绩、奖项",
    "size": "规模条件（注册资本、资产、营业收入、人数、利润、纳税、成立年限）",
    "contract_value": "业绩合同金额门槛",
    "ownership": "所有制、组织形式或投资者",
    "brand": "指定品牌、专利、商标或产地",
    "credit_rating": "信用等级、协会证书",
    "authorisation": "制造商授权或承诺函",
    "registration": "入库、名录、定点或事先登记",
    "obtain_documents": "获取采购文件的条件",
    "test_report": "指定检测机构",
    "blacklist": "无依据的黑名单",
    "sme_proof": "中小企业证明与超额保证金",
    "business_scope": "经营范围",
}
FINDING_STATES = {
    "open": "待处理",
    "edited": "已修改",
    "justified": "已说明理由（待审核）",
    "accepted": "理由已认可",
    "rejected": "理由未被认可",
}
#: a project with findings in these states is not published where the region requires it
UNRESOLVED = ("open", "rejected")
SOURCES = {"text": "录入文本", "docx": "Word 文档（.docx）", "pdf": "PDF 文件"}


class NlRule(Model):
    """负面清单规则. ``region_id`` empty: the province's rule; set: that region's override of
    the province rule with the same code (or a rule of that region only)."""

    __tablename__ = "nl_rule"
    __table_args__ = (UniqueConstraint("code", "region_id", name="uq_nl_rule_code_region"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    #: literal words, one per line
    keywords: Mapped[str | None] = mapped_column(Text)
    #: regular expressions, one per line
    patterns: Mapped[str | None] = mapped_column(Text)
    #: comma-separated section kinds (empty: everywhere)
    applies_to: Mapped[str | None] = mapped_column(String(100))
    #: regular expressions, one per line: a match in the same sentence is lawful
    exceptions: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    guidance: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("erp_region.id"), index=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    region: Mapped[Region | None] = relationship()

    def __repr__(self) -> str:
        return f"{self.code} {self.name}"

    __str__ = __repr__


class NlDocument(RegionScoped, Model):
    """A procurement document of a project (招标文件、采购需求、合同草案), checked before
    publication. ``content``: one paragraph per line, a form feed between PDF pages."""

    __tablename__ = "nl_document"
    __record_rules__ = {OWN_RULE: lambda cls, scope: cls.project_id.in_(own_projects(scope))}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    source: Mapped[str] = mapped_column(String(10), nullable=False, default="text")
    filename: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text, nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    checked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    rules_checked: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    project: Mapped[Project] = relationship()
    findings: Mapped[list[NlFinding]] = relationship(back_populates="document",
                                                     order_by="NlFinding.offset",
                                                     cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return self.title

    __str__ = __repr__


class NlFinding(RegionScoped, Model):
    """A candidate barrier: the rule (code, legal basis as checked), the quoted sentence with
    its location and section, and how the publisher resolved it."""

    __tablename__ = "nl_finding"
    __record_rules__ = {OWN_RULE: lambda cls, scope: cls.project_id.in_(own_projects(scope))}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("nl_document.id"), nullable=False, index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False, index=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("nl_rule.id", ondelete="SET NULL"), index=True)
    rule_code: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    rule_name: Mapped[str] = mapped_column(String(200), nullable=False)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    legal_basis: Mapped[str] = mapped_column(Text, nullable=False)
    guidance: Mapped[str | None] = mapped_column(Text)
    matched: Mapped[str] = mapped_column(String(200), nullable=False)
    quote: Mapped[str] = mapped_column(Text, nullable=False)
    section: Mapped[str | None] = mapped_column(String(300))
    section_kind: Mapped[str] = mapped_column(String(16), nullable=False, default="general")
    location: Mapped[str] = mapped_column(String(60), nullable=False)
    offset: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open", index=True)
    justification: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_by_id: Mapped[int | None] = mapped_column(Integer)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)

    document: Mapped[NlDocument] = relationship(back_populates="findings")
    project: Mapped[Project] = relationship()

    def __repr__(self) -> str:
        return f"{self.rule_code} {self.matched}"

    __str__ = __repr__
