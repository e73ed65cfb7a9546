"""Receivers of published notices (the national portal, 中国政府采购网) through the outbox.

The national portal has no public API here, so a receiver is an interface
(:class:`Receiver`: ``send(row) -> core.outbox.Answer``) and the platform ships one
configurable HTTP adapter (:class:`HttpReceiver`, settings ``notice_hub.portal_url`` and
``notice_hub.portal_timeout``). The adapter's wire format::

    POST <portal_url>
    Content-Type: application/json
    Idempotency-Key: notice:<id>:portal          (the same on every attempt)
    {"key": ..., "notice": {"number", "kind", "national_category", "national_code",
                            "provincial_code", "region_code", "title", "body", ...}}

Answers: ``2xx`` with JSON ``{"status": "accepted" | "duplicate", "receipt": "..."}`` is
delivered (a duplicate means the portal already keeps one copy); ``409`` is a duplicate;
anything else (5xx, a timeout, a 2xx whose body is not that JSON) is a failed attempt,
retried with backoff, its text kept for the dead-letter list.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy.orm import Session

from core import outbox
from core.hooks import Hook
from core.jobs import periodic
from core.models import Organization, Region
from core.services import settings

from .models import Notice, NoticeOutbox, NoticeType

RECEIVERS = Hook(
    "notice_hub.receivers",
    doc="fn(session, name: str) -> Receiver | None: the receiver called ``name`` (setting "
        "notice_hub.receivers), for another receiver than the national portal.",
)


class Receiver(Protocol):
    def send(self, row: NoticeOutbox) -> outbox.Answer: ...


Post = Callable[[str, bytes, dict[str, str], float], tuple[int, bytes]]


class HttpReceiver:
    """The configurable HTTP adapter of the national portal."""

    def __init__(self, url: str, *, timeout: float = 10.0, post: Post | None = None) -> None:
        self.url, self.timeout, self.post = url, timeout, post or outbox.http_post

    def send(self, row: NoticeOutbox) -> outbox.Answer:
        if not self.url:
            return outbox.Answer(ok=False, detail="未配置全国平台接收地址（notice_hub.portal_url）")
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": row.key}
        status, raw = self.post(self.url, row.payload.encode(), headers, self.timeout)
        text = raw.decode("utf-8", "replace")[:1000]
        if status == 409:
            return outbox.Answer(ok=True, status_code=status, duplicate=True, detail=text)
        if not 200 <= status < 300:
            return outbox.Answer(ok=False, status_code=status, detail=f"HTTP {status}：{text}")
        try:
            answer = json.loads(text)
            state = answer.get("status")
        except (ValueError, AttributeError):
            return outbox.Answer(ok=False, status_code=status,
                                 detail=f"接收方应答无法识别（不是约定的 JSON）：{text[:200]}")
        if state not in ("accepted", "duplicate"):
            return outbox.Answer(ok=False, status_code=status,
                                 detail=f"接收方应答无法识别（status={state!r}）：{text[:200]}")
        receipt = answer.get("receipt")
        return outbox.Answer(ok=True, status_code=status, duplicate=state == "duplicate",
                             receipt=str(receipt) if receipt is not None else None)


def receiver_for(session: Session, name: str) -> Receiver | None:
    if name == "portal":
        return HttpReceiver(settings.get("notice_hub.portal_url", session=session) or "",
                            timeout=float(settings.get("notice_hub.portal_timeout", session=session)))
    for r in RECEIVERS.call(None, session, name):
        if r is not None:
            return r
    return None


def payload_of(session: Session, notice: Notice) -> str:
    nt = session.query(NoticeType).filter(NoticeType.kind == notice.kind).execution_options(
        erp_unscoped=True).first()
    region = session.get(Region, notice.region_id)
    def org(oid):
        return (session.get(Organization, oid) if oid else None)
    pub, pur = org(notice.publisher_org_id), org(notice.purchaser_org_id)
    body = {
        "number": notice.number, "kind": notice.kind,
        "national_category": nt.national_category if nt else None,
        "national_code": nt.national_code if nt else None,
        "provincial_code": nt.provincial_code if nt else None,
        "region_code": region.code if region else None,
        "title": notice.title, "body": notice.body,
        "publisher": {"name": pub.name, "credit_code": pub.credit_code} if pub else None,
        "purchaser": {"name": pur.name, "credit_code": pur.credit_code} if pur else None,
        "amount": str(notice.amount) if notice.amount is not None else None,
        "published_at": notice.published_at.isoformat() if notice.published_at else None,
        "refers_to": notice.refers_to.number if notice.refers_to_id and notice.refers_to else None,
        "ocid": notice.ocid,
    }
    return json.dumps({"notice": body}, ensure_ascii=False, sort_keys=True)


def deliver(session: Session, *, limit: int = 100, at: Any = None,
            receivers: dict[str, Receiver] | None = None) -> dict[str, int]:
    """Send the due outbox rows to their receivers (the caller commits)."""
    cache: dict[str, Receiver | None] = dict(receivers or {})

    def send(row: NoticeOutbox) -> outbox.Answer:
        if row.receiver not in cache:
            cache[row.receiver] = receiver_for(session, row.receiver)
        rec = cache[row.receiver]
        if rec is None:
            return outbox.Answer(ok=False, detail=f"未知的接收方“{row.receiver}”")
        body = json.loads(row.payload)
        body["key"] = row.key
        row_payload = json.dumps(body, ensure_ascii=False, sort_keys=True)
        proxy = _Row(row, row_payload)
        return rec.send(proxy)  # type: ignore[arg-type]

    return outbox.deliver_due(session, NoticeOutbox, send, limit=limit, at=at)


class _Row:
    """The row as a receiver sees it (the payload with its idempotency key)."""

    def __init__(self, row: NoticeOutbox, payload: str) -> None:
        self.key, self.payload, self.receiver, self.notice_id = row.key, payload, row.receiver, row.notice_id


@periodic("notice_hub.deliver", module="notice_hub", every="1m",
          doc="推送已发布公告到全国平台等接收方（失败按退避重试，最终失败进入死信列表）")
def deliver_job(session: Session) -> int:
    counts = deliver(session)
    return counts["delivered"]
