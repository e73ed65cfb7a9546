"""The agreement's public notices: produced through :func:`core.notices.submit`; kept and
published here when no notices module takes them. Legal deadlines in working days with the
platform calendar (``core.services.workdays``); the due list shows what is waiting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.jobs import periodic
from core.notices import NOTICE_KINDS, NoticeDraft, submit
from core.services import audit, settings, workdays
from core.services.money import fmt_yuan
from core.tenancy import Scope

from ..models import FaAgreement, FaCallOff, FaNotice
from .common import (
    MODULE,
    UNSCOPED,
    ConflictError,
    actor_scope,
    assert_collector,
    own_unit_ids,
    setting,
    today,
)

KIND_DEADLINES = {  # kind -> setting with its deadline in working days (None: none)
    "framework_solicitation": None,
    "framework_shortlist": "shortlist_notice_workdays",
    "framework_change": "shortlist_notice_workdays",
    "framework_deal": "deal_notice_workdays",
    "framework_summary": None,  # counted from expiry, below
}
#: the notices about the agreement itself share its contracting process (OCDS ``ocid``)
AGREEMENT_KINDS = ("framework_solicitation", "framework_shortlist", "framework_change")
#: the notices module's ocid prefix, read by name (this module does not depend on it)
OCID_PREFIX_SETTING, OCID_PREFIX_DEFAULT = "notice_hub.ocid_prefix", "ocds-jlgp00"


def agreement_process(agreement: FaAgreement) -> str:
    """The agreement's own contracting process (solicitation, shortlist, changes)."""
    return f"fa-agreement-{agreement.id}"


def process_data(session: Session, agreement: FaAgreement, kind: str, source_key: str,
                 data: dict[str, Any] | None) -> dict[str, Any]:
    """The notice's process for OCDS: the agreement's notices share the agreement's process;
    each call-off award (and the direct-selection summary) is a process of its own, linked to
    the agreement's with ``related_processes`` relationship ``framework`` (read by a notices
    module that publishes OCDS; plain data otherwise)."""
    out = dict(data or {})
    out.setdefault("method", "framework_agreement")
    if kind in AGREEMENT_KINDS:
        out.setdefault("process", agreement_process(agreement))
        return out
    out.setdefault("process", f"{agreement_process(agreement)}-{source_key.replace(':', '-')}")
    try:
        prefix = settings.get(OCID_PREFIX_SETTING, session=session)
    except settings.SettingError:  # no notices module: the prefix it would use
        prefix = OCID_PREFIX_DEFAULT
    out.setdefault("related_processes", [{"ocid": f"{prefix}-{agreement_process(agreement)}",
                                          "relationship": ["framework"],
                                          "title": f"{agreement.name}（{agreement.number}）"}])
    return out


def issue(session: Session, agreement: FaAgreement, kind: str, source_key: str, title: str,
          body: str, *, event_date: dt.date, due_date: dt.date | None = None,
          amount: Decimal | None = None, purchaser_id: int | None = None,
          data: dict[str, Any] | None = None, region_id: int | None = None) -> FaNotice:
    """One notice per (kind, source_key), idempotent. Handed to the notices module; kept here
    as a draft to publish when none takes it."""
    existing = session.execute(select(FaNotice).where(FaNotice.kind == kind, FaNotice.source_key == source_key),
                               execution_options=UNSCOPED).scalar_one_or_none()
    if existing is not None:
        return existing
    key = KIND_DEADLINES.get(kind)
    days = setting(session, key, agreement.region_id) if key else None
    if due_date is None and days is not None:
        due_date = workdays.add_working_days(event_date, int(days), session)
    notice = FaNotice(agreement_id=agreement.id, kind=kind, source_key=source_key, title=title, body=body,
                      event_date=event_date, due_date=due_date, status="draft", purchaser_id=purchaser_id,
                      region_id=region_id or agreement.region_id)
    session.add(notice)
    session.flush()
    data = process_data(session, agreement, kind, source_key, data)
    ref = submit(session, NoticeDraft(
        kind=kind, region_id=notice.region_id, title=title, body=body,
        source=f"{MODULE}.fa_notice", source_id=notice.id, event_date=event_date,
        publisher_org_id=agreement.collector_id,
        deadline_workdays=int(days) if (days is not None and kind != "framework_summary") else None,
        due_date=due_date if kind == "framework_summary" else None,
        purchaser_org_id=purchaser_id, amount=amount, data=data,
        link=f"/faagreementview/show/{agreement.id}"))
    if ref is not None:
        notice.status = "submitted"
        notice.hub_link = ref.url
    return notice


def publish(session: Session, notice: FaNotice, *, scope: Scope | None = None) -> FaNotice:
    """The collecting party publishes a notice kept here (published notices are immutable)."""
    scope = actor_scope(scope)
    agreement = session.get(FaAgreement, notice.agreement_id, execution_options=UNSCOPED)
    if not (notice.purchaser_id and notice.purchaser_id in own_unit_ids(session, scope.org_id)):
        assert_collector(session, agreement, scope)
    if notice.status != "draft":
        raise ConflictError(f"公告状态为“{'已发布' if notice.status == 'published' else '已交公告模块'}”，不能再发布")
    notice.status = "published"
    notice.published_on = today()
    audit.record(session, action="publish", object_type="fa_notice", object_id=notice.id,
                 after={"kind": notice.kind, "title": notice.title}, module=MODULE,
                 region_id=notice.region_id)
    return notice


def kind_label(kind: str) -> str:
    return NOTICE_KINDS.get(kind, kind)


def due_notices(session: Session, *, within: int | None = None) -> list[FaNotice]:
    """Notices kept here not yet published, soonest due first (the reader's scope applies)."""
    stmt = select(FaNotice).where(FaNotice.status == "draft").order_by(FaNotice.due_date.is_(None),
                                                                        FaNotice.due_date, FaNotice.id)
    rows = list(session.execute(stmt).scalars())
    if within is not None:
        limit = today() + dt.timedelta(days=within)
        rows = [n for n in rows if n.due_date is None or n.due_date <= limit]
    return rows


def summary_text(session: Session, agreement: FaAgreement) -> tuple[str, Decimal, dict[str, Any]]:
    """Direct selection over the term: number of contracts and total per supplier."""
    from core.models import Organization

    rows = session.execute(
        select(Organization.name, func.count(FaCallOff.id), func.coalesce(func.sum(FaCallOff.amount), 0))
        .join(Organization, Organization.id == FaCallOff.supplier_id)
        .where(FaCallOff.agreement_id == agreement.id, FaCallOff.method == "direct",
               FaCallOff.status == "ordered")
        .group_by(Organization.name).order_by(Organization.name), execution_options=UNSCOPED).all()
    total = sum((Decimal(r[2]) for r in rows), Decimal("0.00"))
    lines = [f"{name}：{count} 份合同，合计 {fmt_yuan(Decimal(amount))}" for name, count, amount in rows]
    body = (f"{agreement.name}（{agreement.number}）协议期 {agreement.term_start:%Y-%m-%d} 至 "
            f"{agreement.term_end:%Y-%m-%d} 已届满。直接选定方式成交情况：\n\n"
            + ("\n".join(lines) if lines else "协议期内无直接选定成交。")
            + f"\n\n合计 {fmt_yuan(total)}。")
    data = {"suppliers": [{"name": n, "contracts": c, "amount": str(Decimal(a))} for n, c, a in rows]}
    return body, total, data


def summary_due_date(session: Session, agreement: FaAgreement) -> dt.date:
    days = int(setting(session, "summary_notice_workdays", agreement.region_id))
    return workdays.add_working_days(agreement.term_end, days, session)


@periodic("framework_agreement.expire_and_summarise", module=MODULE, every="1h",
          doc="框架协议期满：协议置为已到期，生成直接选定成交汇总公告（期满后 10 个工作日内发布）")
def expire_and_summarise(session: Session) -> int:
    """Idempotent: an expired agreement gets its summary notice once (unique kind + key)."""
    done = 0
    day = today()
    due = session.execute(select(FaAgreement).where(FaAgreement.status == "active",
                                                    FaAgreement.term_end < day),
                          execution_options=UNSCOPED).scalars().all()
    for ag in due:
        ag.status = "expired"
        audit.record(session, action="transition:expire", object_type="fa_agreement", object_id=ag.id,
                     after={"status": "expired"}, module=MODULE, region_id=ag.region_id)
    expired = session.execute(select(FaAgreement).where(FaAgreement.status == "expired"),
                              execution_options=UNSCOPED).scalars().all()
    for ag in expired:
        if "direct" not in ag.method_list:
            continue
        key = f"agreement:{ag.id}"
        if session.execute(select(FaNotice.id).where(FaNotice.kind == "framework_summary",
                                                     FaNotice.source_key == key),
                           execution_options=UNSCOPED).first():
            continue
        body, total, data = summary_text(session, ag)
        issue(session, ag, "framework_summary", key, f"{ag.name} 成交结果汇总公告（直接选定）", body,
              event_date=ag.term_end, due_date=summary_due_date(session, ag), amount=total, data=data)
        done += 1
    session.flush()
    return done + len(due)
