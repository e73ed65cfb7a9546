"""The notices of the province (公告), their types, attachments and outbox.

* :class:`NoticeType`: one row per kind of :data:`core.notices.NOTICE_KINDS`, mapping it to the
  national portal's category and the provincial site's code, with its body template and its
  default legal deadline (a table the platform admin edits: 公告类型对照表).
* :class:`Notice`: a draft taken from a module (``core.notices.submit``) or written by an
  official, published by its owner (the publishing organisation); a published notice is
  immutable, a change is a 更正 notice that refers to it.
* :class:`NoticeOutbox`: the transactional outbox to the receivers (the national portal),
  written in the publication's transaction (:mod:`core.outbox`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Model
from core.models import Organization
from core.outbox import OutboxColumns
from core.services.money import Money
from core.tenancy import OWN_RULE, RegionScoped, own_units

STATES = {"draft": "草稿", "published": "已发布", "withdrawn": "已撤回"}
#: OCDS release tags by notice kind (docs/notice_hub.md, "OCDS")
DEFAULT_TAGS = {
    "procurement": "tender", "change": "tenderAmendment", "termination": "tenderCancellation",
    "award": "award", "contract": "contract", "framework_solicitation": "tender",
    "framework_shortlist": "award", "framework_change": "awardUpdate",
    "framework_deal": "award", "framework_summary": "contractUpdate",
    "emall_result": "award", "deposit_cleanup": "planning", "sme_disclosure": "planning",
}


def _published(cls: Any, scope: Any) -> Any:
    return cls.status == "published"


class NoticeType(Model):
    """公告类型对照表: a kind of notice, its national and provincial codes and its template."""

    __tablename__ = "nh_notice_type"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    #: 中国政府采购网 category (e.g. 中标公告) and its code
    national_category: Mapped[str] = mapped_column(String(100), nullable=False)
    national_code: Mapped[str] = mapped_column(String(20), nullable=False)
    #: 吉林省政府采购网 column code
    provincial_code: Mapped[str] = mapped_column(String(20), nullable=False)
    #: OCDS release tag of a notice of this kind
    ocds_tag: Mapped[str] = mapped_column(String(40), nullable=False, default="tender")
    #: default legal deadline in working days after the triggering event (None: none)
    deadline_workdays: Mapped[int | None] = mapped_column(Integer)
    #: the body template (Jinja, sandboxed): fields title, body, publisher, purchaser,
    #: amount, event_date, due_date, data, refers_to
    template: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


class Notice(RegionScoped, Model):
    """公告. Everyone (anonymous too) reads published ones; drafts only their owner and the
    region's supervisors."""

    __tablename__ = "nh_notice"
    __table_args__ = (
        Index("ix_nh_notice_pub", "status", "published_at"),
        Index("ix_nh_notice_due", "status", "due_date"),
        Index("ix_nh_notice_source", "source", "source_id"),
        Index("ix_nh_notice_search_vector", "search_vector", postgresql_using="gin",
              sqlite_where=text("search_vector IS NOT NULL")),
        # published notices not yet indexed (demo data, imports): caught up at the next search
        Index("ix_nh_notice_unindexed", "id",
              postgresql_where=text("status = 'published' AND search_vector IS NULL"),
              sqlite_where=text("status = 'published' AND search_vector IS NULL")),
    )
    __record_rules__ = {
        "public": _published,
        "supplier": _published,
        "bank": _published,
        "expert": _published,
        OWN_RULE: lambda cls, scope: or_(cls.publisher_org_id.in_(own_units(scope)),
                                         cls.purchaser_org_id.in_(own_units(scope)),
                                         cls.status == "published"),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: 公告编号, given at publication (JLGG-<region code>-<year>-<id>)
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    #: what the producing module wrote (plain text)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: the text rendered from the type's template (frozen at publication)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: structured facts (JSON text) for the template and OCDS
    data: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="draft")
    #: "<module>.<table>" and id of the record behind the notice
    source: Mapped[str] = mapped_column(String(80), nullable=False, default="notice_hub.nh_notice")
    source_id: Mapped[int | None] = mapped_column(Integer)
    #: idempotency of core.notices.submit: "<source>:<source_id>:<kind>" (NULL for notices
    #: written on the notices pages)
    source_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    #: the record behind it was withdrawn: a draft may no longer be published
    source_withdrawn: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    publisher_org_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"), index=True)
    purchaser_org_id: Mapped[int | None] = mapped_column(ForeignKey("erp_organization.id"), index=True)
    amount: Mapped[Decimal | None] = mapped_column(Money())
    #: the triggering event; the legal deadline counts from it
    event_date: Mapped[dt.date] = mapped_column(Date, nullable=False)
    #: the legal deadline of publication
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    refers_to_id: Mapped[int | None] = mapped_column(ForeignKey("nh_notice.id"), index=True)
    link: Mapped[str | None] = mapped_column(String(300))
    #: OCDS: the contracting process of the notice (ocid), given at creation
    ocid: Mapped[str | None] = mapped_column(String(120), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    published_by: Mapped[str | None] = mapped_column(String(128))
    #: working days published after the legal deadline (0: on time)
    delay_workdays: Mapped[int | None] = mapped_column(Integer)
    #: PostgreSQL: the keyword index document (written at publication); SQLite: NULL (FTS5
    #: table nh_notice_fts instead)
    search_vector: Mapped[Any] = mapped_column(TSVECTOR().with_variant(Text(), "sqlite"),
                                               nullable=True, deferred=True)

    publisher: Mapped[Organization | None] = relationship(foreign_keys=[publisher_org_id])
    purchaser: Mapped[Organization | None] = relationship(foreign_keys=[purchaser_org_id])
    refers_to: Mapped[Notice | None] = relationship(remote_side=[id])
    attachments: Mapped[list[NoticeAttachment]] = relationship(
        back_populates="notice", order_by="NoticeAttachment.id")

    def __repr__(self) -> str:
        return self.title

    __str__ = __repr__


class NoticeAttachment(RegionScoped, Model):
    """An attachment of a notice (a document's name, address and SHA-256)."""

    __tablename__ = "nh_attachment"
    __record_rules__ = {
        "public": lambda cls, scope: cls.notice_id.in_(_published_ids()),
        "supplier": lambda cls, scope: cls.notice_id.in_(_published_ids()),
        "bank": lambda cls, scope: cls.notice_id.in_(_published_ids()),
        "expert": lambda cls, scope: cls.notice_id.in_(_published_ids()),
        OWN_RULE: lambda cls, scope: cls.notice_id.in_(_owned_ids(scope)),
    }

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("nh_notice.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    sha256: Mapped[str | None] = mapped_column(String(64))

    notice: Mapped[Notice] = relationship(back_populates="attachments")

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


def _published_ids() -> Any:
    from sqlalchemy import select

    return select(Notice.id).where(Notice.status == "published").correlate(None)


def _owned_ids(scope: Any) -> Any:
    from sqlalchemy import select

    units = own_units(scope)
    return select(Notice.id).where(or_(Notice.publisher_org_id.in_(units),
                                       Notice.purchaser_org_id.in_(units),
                                       Notice.status == "published")).correlate(None)


class NoticeOutbox(OutboxColumns, RegionScoped, Model):
    """A published notice on its way to a receiver (the national portal)."""

    __tablename__ = "nh_outbox"

    receiver: Mapped[str] = mapped_column(String(40), nullable=False)
    notice_id: Mapped[int] = mapped_column(ForeignKey("nh_notice.id"), nullable=False, index=True)

    notice: Mapped[Notice] = relationship()

    def __repr__(self) -> str:
        return self.key

    __str__ = __repr__


def notice_interface() -> Any:
    """FAB's data model of ``nh_notice`` without its internal keyword-index column (FAB would
    build a filter for it and log "Filter type not supported" on every start)."""
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    class NoticeInterface(SQLAInterface):
        def __init__(self, obj: Any, session: Any = None) -> None:
            super().__init__(obj, session)
            self.list_properties.pop("search_vector", None)

    return NoticeInterface(Notice)
