"""Public notices (公告) from any module, through one extension point.

A module that must publish something (a framework agreement's shortlist, an SME disclosure,
an e-mall comparison result, a deposit-cleanup announcement...) describes it as a
:class:`NoticeDraft` and calls :func:`submit`::

    from core.notices import NoticeDraft, submit

    ref = submit(session, NoticeDraft(
        kind="framework_shortlist", region_id=agreement.region_id,
        title=f"{agreement.name} 入围结果公告", body=text,
        source="framework_agreement.fa_agreement", source_id=agreement.id,
        publisher_org_id=agreement.collector_id, event_date=confirmed_on,
        deadline_workdays=2, link=f"/faagreementview/show/{agreement.id}",
    ))
    if ref is None:
        ...  # no notices module here: keep and show the notice in this module

The notices module (``notice_hub``) implements :data:`PUBLISHERS`: it takes the draft into its
own review-and-publish flow (the owner publishes; a published notice is immutable) and
returns a :class:`NoticeRef`. Where no notices module is installed and enabled for the
draft's region, :func:`submit` returns ``None`` and the producing module keeps the notice
itself, so every producer works with or without ``notice_hub``.

Contract for an implementation of :data:`PUBLISHERS`:

* idempotent per ``(source, source_id, kind)``: submitting the same draft again returns the
  existing notice's reference (a changed draft of a notice not yet published updates it);
* it runs in the caller's session and transaction: the notice exists exactly when the
  producer's change commits;
* it raises :class:`core.errors.RuleError` for a draft that cannot be taken (missing
  required fields), which the producer lets through to the user.

When the record behind a notice is withdrawn, the producer calls :func:`withdraw`; the
notices module then refuses to publish drafts of that record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.hooks import Hook

__all__ = [
    "NOTICE_KINDS", "NoticeDraft", "NoticeRef", "PUBLISHERS", "WITHDRAWN", "submit", "withdraw",
]

#: Every kind of notice a module may submit, with its Chinese name. The notices module maps
#: each to the national portal's categories and the provincial site's codes (configurable);
#: a module that needs a new kind adds it here.
NOTICE_KINDS: dict[str, str] = {
    "procurement": "采购公告",
    "change": "更正公告",
    "termination": "终止公告",
    "award": "中标（成交）结果公告",
    "contract": "合同公告",
    "framework_solicitation": "框架协议征集公告",
    "framework_shortlist": "框架协议入围结果公告",
    "framework_change": "框架协议入围变更公告",
    "framework_deal": "框架协议成交结果公告",
    "framework_summary": "框架协议采购汇总公告",
    "emall_result": "电子卖场竞价（比价）结果公告",
    "deposit_cleanup": "保证金清理公告",
    "sme_disclosure": "中小企业预留项目执行情况公开",
}


@dataclass(frozen=True)
class NoticeRef:
    """Where the notices module keeps a submitted notice."""

    module: str
    notice_id: int
    url: str
    status: str  # draft / published / withdrawn (the notices module's own words)


@dataclass
class NoticeDraft:
    """What a producing module knows of a notice; the notices module renders and publishes it."""

    kind: str
    region_id: int
    title: str
    #: the notice's text (plain text; paragraphs separated by blank lines)
    body: str
    #: ``"<module>.<table>"`` of the record behind the notice
    source: str
    source_id: int
    #: the triggering event (award confirmed, agreement expired...): legal deadlines count from it
    event_date: dt.date
    #: the organisation that publishes (collecting party, budget unit, agency)
    publisher_org_id: int | None = None
    #: legal deadline in working days after ``event_date`` (the trigger day not counted)
    deadline_workdays: int | None = None
    #: an absolute legal deadline instead (the SME disclosure: 31 March)
    due_date: dt.date | None = None
    purchaser_org_id: int | None = None
    amount: Decimal | None = None
    #: structured facts for templates and OCDS: JSON-safe values only (Decimal as str)
    data: dict[str, Any] = field(default_factory=dict)
    #: a change (更正) or termination notice names the notice it corrects
    refers_to: NoticeRef | None = None
    #: the record's page on the platform
    link: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in NOTICE_KINDS:
            raise ValueError(f"unknown notice kind {self.kind!r} (core.notices.NOTICE_KINDS)")
        if self.deadline_workdays is not None and self.due_date is not None:
            raise ValueError("a notice has a deadline in working days or a due date, not both")


PUBLISHERS = Hook(
    "core.notices.publishers",
    doc="fn(session, draft: NoticeDraft) -> NoticeRef | None: take the draft into the notices "
        "module (idempotent per source, source_id, kind); RuleError when it cannot be taken.",
)

WITHDRAWN = Hook(
    "core.notices.withdrawn",
    doc="fn(session, source: str, source_id: int) -> None: the record behind notices was "
        "withdrawn; unpublished drafts of it may no longer be published.",
)


def submit(session: Session, draft: NoticeDraft) -> NoticeRef | None:
    """Hand ``draft`` to the notices module of its region; ``None`` when there is none."""
    for ref in PUBLISHERS.call(draft.region_id, session, draft):
        if ref is not None:
            return ref
    return None


def withdraw(session: Session, region_id: int | None, source: str, source_id: int) -> None:
    """Tell the notices module that the record ``source``/``source_id`` was withdrawn."""
    WITHDRAWN.call(region_id, session, source, source_id)
