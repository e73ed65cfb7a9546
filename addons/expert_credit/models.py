"""Review experts (评审专家, 财库〔2016〕198号): the provincial pool, declared relations,
verifiable draws with avoidance, assignments, performance evaluations, bad records and
the credit score history.

Region scoping (see docs/expert_credit.md, "Region scoping"):

* an expert belongs to the region that registered them (the city or the province); the
  expert managers of that region and above see and edit them; the draw reads the whole
  provincial pool (or the request's pool scope) unscoped, in SQL;
* draw requests, draws, assignments and evaluations carry the project's region;
* bad records and credit-score history carry the expert's region;
* record rule ``expert``: an expert sees their own profile, relations, specialties,
  assignments, evaluations, bad records and score history (``user_id`` link).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Model
from core.models import Organization
from core.tenancy import OWN_RULE, RegionScoped, own_units

EXPERT_STATES = {"active": "正常", "suspended": "暂停", "dismissed": "已解聘"}
RELATION_KINDS = {
    "employment": "任职/工作经历",
    "director": "担任董事、监事或高级管理人员",
    "shareholder": "控股股东或实际控制人/股东",
    "relative": "配偶或近亲属在该单位任法定代表人或任职",
}
BANDS = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格", "new": "暂无评价"}
REQUEST_STATES = {"open": "待抽取", "drawn": "已抽取", "closed": "已结束（种子已公开）",
                  "cancelled": "已取消"}
ASSIGNMENT_STATES = {"drawn": "待确认", "accepted": "已接受", "declined": "已拒绝"}
EVALUATION_STATES = {"pending": "待评价", "submitted": "已评价", "appealed": "申诉中",
                     "decided": "申诉已处理"}
BAD_RECORD_KINDS = {
    "not_independent": "未按照采购文件规定的评审程序、评审方法和评审标准进行独立评审",
    "leak": "泄露评审文件、评审情况",
    "no_withdrawal": "与供应商存在利害关系未回避",
    "improper_benefit": "收受采购人、采购代理机构、供应商贿赂或者获取其他不正当利益",
    "false_material": "提供虚假申请材料",
    "refuse_assist": "拒不履行配合答复供应商询问、质疑、投诉等法定义务",
    "damage_credibility": "以评审专家身份从事有损政府采购公信力的活动",
}
EXCLUSION_REASONS = {
    "suspended": "暂停期内",
    "dismissed": "已解聘",
    "failing_score": "信用分不合格（不参与抽取）",
    "booked": "当日已有评审任务",
    "declined": "已拒绝本次评审或已被本次抽中",
    "finance_supervisor": "财政部门监管人员",
    "purchaser_staff": "采购人在职人员",
    "employment": "近三年曾在投标供应商或采购人任职",
    "director": "近三年曾任投标供应商或采购人董事、监事、高管",
    "shareholder": "近三年曾为投标供应商或采购人控股股东/股东",
    "relative": "配偶或近亲属在投标供应商或采购人任法定代表人或任职",
}


def _own_expert(cls, scope):
    return cls.expert_id.in_(select(Expert.id).where(Expert.user_id == scope.user_id))


def _own_project(cls, scope):
    """Purchasers and agencies: records of their own unit's projects (core.tenancy reach)."""
    from addons.procurement_base.models import own_projects

    return cls.project_id.in_(own_projects(scope))


class Expert(RegionScoped, Model):
    """评审专家. ``id_number`` is masked by :mod:`.masking` for anyone who does not
    manage experts."""

    __tablename__ = "ec_expert"
    __record_rules__ = {"expert": lambda cls, scope: cls.user_id == scope.user_id}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"), unique=True)
    #: 专家编号: the stable public key the draw sorts the pool by ("ZJ" + 7 digits)
    code: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    id_number: Mapped[str] = mapped_column(String(18), nullable=False, unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"), index=True)
    employer_name: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(64))
    title_years: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active", index=True)
    suspended_until: Mapped[dt.date | None] = mapped_column(Date)
    #: 财政部门监管人员 (never drawn)
    finance_supervisor: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    credit_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    credit_band: Mapped[str] = mapped_column(String(16), nullable=False, default="new")
    note: Mapped[str | None] = mapped_column(Text)

    employer: Mapped[Organization | None] = relationship(foreign_keys=[employer_id])
    specialties: Mapped[list[ExpertSpecialty]] = relationship(
        back_populates="expert", cascade="all, delete-orphan")
    relations: Mapped[list[ExpertRelation]] = relationship(
        back_populates="expert", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


class ExpertSpecialty(RegionScoped, Model):
    """评审专业: a catalog code (pb_catalog) the expert may review."""

    __tablename__ = "ec_expert_specialty"
    __table_args__ = (UniqueConstraint("expert_id", "catalog_id", name="uq_ec_specialty"),
                      #: the draw's candidate lookup: experts of a specialty (covering)
                      Index("ix_ec_specialty_catalog_expert", "catalog_id", "expert_id"))
    __record_rules__ = {"expert": _own_expert}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("ec_expert.id"), nullable=False, index=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("pb_catalog.id"), nullable=False)

    expert: Mapped[Expert] = relationship(back_populates="specialties")
    catalog = relationship("CatalogItem")

    def __repr__(self) -> str:
        return str(self.catalog) if self.catalog else str(self.catalog_id)

    __str__ = __repr__


class ExpertRelation(RegionScoped, Model):
    """A declared relation that avoidance needs: the organisation by reference where it is
    on the platform, else by credit code, else by name."""

    __tablename__ = "ec_expert_relation"
    __record_rules__ = {"expert": _own_expert}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("ec_expert.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"), index=True)
    org_credit_code: Mapped[str | None] = mapped_column(String(18), index=True)
    org_name: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    #: position, or the relative (e.g. 配偶，法定代表人)
    detail: Mapped[str | None] = mapped_column(String(200))
    date_from: Mapped[dt.date | None] = mapped_column(Date)
    #: NULL: still current
    date_to: Mapped[dt.date | None] = mapped_column(Date)

    expert: Mapped[Expert] = relationship(back_populates="relations")
    org: Mapped[Organization | None] = relationship()

    def __repr__(self) -> str:
        return f"{RELATION_KINDS.get(self.kind, self.kind)} {self.org_name}"

    __str__ = __repr__


class DrawRequest(RegionScoped, Model):
    """抽取申请 for a project: the seed is fixed at creation, its SHA-256 published."""

    __tablename__ = "ec_draw_request"
    __record_rules__ = {OWN_RULE: _own_project}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False, index=True)
    review_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    review_date: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    review_place: Mapped[str | None] = mapped_column(String(200))
    #: pool scope: experts of this region and below (the province by default)
    pool_region_id: Mapped[int] = mapped_column(ForeignKey("erp_region.id"), nullable=False)
    #: the 32 random bytes, hex (published only once the request is closed)
    seed: Mapped[str] = mapped_column(String(64), nullable=False)
    seed_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    seed_revealed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    project = relationship("Project")
    #: two paths to erp_region: the mixin's ``region`` must name its column
    region = relationship("Region", foreign_keys="DrawRequest.region_id", lazy="joined",
                          innerjoin=True)
    pool_region = relationship("Region", foreign_keys=[pool_region_id])
    lines: Mapped[list[DrawRequestLine]] = relationship(
        back_populates="request", order_by="DrawRequestLine.seq", cascade="all, delete-orphan")
    draws: Mapped[list[Draw]] = relationship(back_populates="request", order_by="Draw.seq")

    def __repr__(self) -> str:
        return f"抽取申请 {self.id}"

    __str__ = __repr__


class DrawRequestLine(Model):
    """One specialty of a request: how many experts, how many reserves."""

    __tablename__ = "ec_draw_request_line"
    __table_args__ = (UniqueConstraint("request_id", "seq", name="uq_ec_request_line_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("ec_draw_request.id"), nullable=False,
                                            index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("pb_catalog.id"), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    reserves: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    request: Mapped[DrawRequest] = relationship(back_populates="lines")
    catalog = relationship("CatalogItem")


class Draw(RegionScoped, Model):
    """One draw of a request's chain (seq 1 = the first draw, then further draws).

    ``pool`` is the ordered eligible pool ("line|expert code|weight" lines) of each line;
    ``pool_hash`` its SHA-256; ``result`` the drawn experts in pick order ("line|code").
    """

    __tablename__ = "ec_draw"
    __table_args__ = (UniqueConstraint("request_id", "seq", name="uq_ec_draw_request_seq"),)
    __record_rules__ = {
        OWN_RULE: lambda cls, scope: cls.request_id.in_(
            select(DrawRequest.id).where(_own_project(DrawRequest, scope)).correlate(None)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("ec_draw_request.id"), nullable=False,
                                            index=True)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ec_draw.id"))
    algorithm: Mapped[str] = mapped_column(String(32), nullable=False)
    pool: Mapped[str] = mapped_column(Text, nullable=False)
    pool_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    pool_size: Mapped[int] = mapped_column(Integer, nullable=False)
    #: picks asked per line in this draw ("line|k" lines): main + reserves
    plan: Mapped[str] = mapped_column(Text, nullable=False)
    needed: Mapped[int] = mapped_column(Integer, nullable=False)
    drawn_count: Mapped[int] = mapped_column(Integer, nullable=False)
    shortfall: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    shortfall_note: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text, nullable=False)
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    drawn_by: Mapped[str | None] = mapped_column(String(64))

    request: Mapped[DrawRequest] = relationship(back_populates="draws")
    parent: Mapped[Draw | None] = relationship(remote_side=[id])
    exclusions: Mapped[list[DrawExclusion]] = relationship(
        back_populates="draw", order_by="DrawExclusion.expert_id")

    def __repr__(self) -> str:
        return f"第{self.seq}次抽取（申请 {self.request_id}）"

    __str__ = __repr__


class DrawExclusion(Model):
    """An expert of a requested specialty who was not in the pool, with the reasons."""

    __tablename__ = "ec_draw_exclusion"
    __table_args__ = (UniqueConstraint("draw_id", "expert_id", name="uq_ec_exclusion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("ec_draw.id"), nullable=False, index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("ec_expert.id"), nullable=False)
    #: comma-separated keys of EXCLUSION_REASONS
    reasons: Mapped[str] = mapped_column(String(200), nullable=False)

    draw: Mapped[Draw] = relationship(back_populates="exclusions")


class Assignment(RegionScoped, Model):
    """评审任务: an expert drawn for a request (main or reserve), accepted or declined."""

    __tablename__ = "ec_assignment"
    __table_args__ = (UniqueConstraint("request_id", "expert_id", name="uq_ec_assignment"),
                      Index("ix_ec_assignment_expert_day", "expert_id", "review_date"))
    __record_rules__ = {"expert": _own_expert, OWN_RULE: _own_project}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("ec_draw_request.id"), nullable=False,
                                            index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("ec_draw.id"), nullable=False, index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False, index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("ec_expert.id"), nullable=False, index=True)
    catalog_id: Mapped[int] = mapped_column(ForeignKey("pb_catalog.id"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    reserve: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    review_date: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    #: snapshot at the draw (the pool is provincial: the expert may be of another region)
    expert_name: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="drawn", index=True)
    responded_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decline_reason: Mapped[str | None] = mapped_column(String(500))

    request: Mapped[DrawRequest] = relationship()
    draw: Mapped[Draw] = relationship()
    project = relationship("Project")
    expert: Mapped[Expert] = relationship()
    catalog = relationship("CatalogItem")

    @property
    def shown_name(self) -> str:
        """The name as the current user may see it (hidden before the award notice)."""
        from .masking import name_for_viewer

        return name_for_viewer(self.expert_name, self.project)

    def __repr__(self) -> str:
        return f"评审任务 {self.id}"

    __str__ = __repr__


class Evaluation(RegionScoped, Model):
    """履职评价 of one expert after one review (criteria scores 0-100 each)."""

    __tablename__ = "ec_evaluation"
    __table_args__ = (UniqueConstraint("assignment_id", name="uq_ec_evaluation_assignment"),)
    __record_rules__ = {
        "expert": _own_expert,
        OWN_RULE: lambda cls, scope: or_(_own_project(cls, scope),
                                         cls.evaluator_org_id.in_(own_units(scope))),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("ec_assignment.id"), nullable=False)
    expert_id: Mapped[int] = mapped_column(ForeignKey("ec_expert.id"), nullable=False, index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("pb_project.id"), nullable=False, index=True)
    #: the agency of the project (for the completion report), else the purchaser
    evaluator_org_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"),
                                                         index=True)
    review_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    due_date: Mapped[dt.date] = mapped_column(Date, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    score_ethics: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    score_competence: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    score_discipline: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    score_integrity: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    total: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    remarks: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.date | None] = mapped_column(Date)
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    appeal_reason: Mapped[str | None] = mapped_column(Text)
    appealed_at: Mapped[dt.date | None] = mapped_column(Date)
    decision: Mapped[str | None] = mapped_column(String(16))
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.date | None] = mapped_column(Date)

    assignment: Mapped[Assignment] = relationship()
    expert: Mapped[Expert] = relationship()
    project = relationship("Project")
    evaluator_org: Mapped[Organization | None] = relationship()

    @property
    def shown_name(self) -> str:
        from .masking import name_for_viewer

        return name_for_viewer(self.assignment.expert_name if self.assignment else "", self.project)

    def __repr__(self) -> str:
        return f"履职评价 {self.id}"

    __str__ = __repr__


class BadRecord(RegionScoped, Model):
    """不良行为记录 (the seven kinds of 财库〔2016〕198号), with evidence and consequence."""

    __tablename__ = "ec_bad_record"
    __record_rules__ = {"expert": _own_expert, OWN_RULE: _own_project}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("ec_expert.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    occurred_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("pb_project.id"))
    evidence: Mapped[str] = mapped_column(Text, nullable=False)
    #: the consequence applied: suspended (until), dismissed, or penalty only
    consequence: Mapped[str | None] = mapped_column(String(200))
    recorded_by: Mapped[str | None] = mapped_column(String(64))

    expert: Mapped[Expert] = relationship()
    project = relationship("Project")

    def __repr__(self) -> str:
        return f"{BAD_RECORD_KINDS.get(self.kind, self.kind)}"

    __str__ = __repr__


class CreditScore(RegionScoped, Model):
    """信用分历史: one row per recomputation of an expert's score."""

    __tablename__ = "ec_credit_score"
    __record_rules__ = {"expert": _own_expert}

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("ec_expert.id"), nullable=False, index=True)
    as_of: Mapped[dt.date] = mapped_column(Date, nullable=False)
    score: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    band: Mapped[str] = mapped_column(String(16), nullable=False)
    base: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    penalty: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)
    evaluations: Mapped[int] = mapped_column(Integer, nullable=False)
    cause: Mapped[str | None] = mapped_column(String(200))

    expert: Mapped[Expert] = relationship()

    def __repr__(self) -> str:
        return f"{self.as_of} {self.score}"

    __str__ = __repr__
