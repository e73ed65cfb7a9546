"""Signed webhooks to the institutions (出站通知).

An event is written to ``scf_outbox`` by :func:`enqueue` **in the transaction of the change
that caused it** (an application rolled back never announces itself); :func:`deliver_due`
(``erp scf deliver``, run by cron or a worker) posts due events and logs every attempt in
``scf_delivery``. A failed attempt is retried with exponential backoff (30 s, 1, 2, 4 ...
minutes, at most one hour apart) up to :data:`MAX_ATTEMPTS`, then the event is marked failed
(the delivery loop and backoff are the platform's transactional outbox, :mod:`core.outbox`).

Every request carries::

    Content-Type: application/json
    X-SCF-Event: application.submitted
    X-SCF-Event-Id: 0f8c...            (unique per event; the same on every retry)
    X-SCF-Timestamp: 1733300000        (Unix seconds of this attempt)
    X-SCF-Signature: sha256=<hex>      HMAC-SHA256(secret, f"{timestamp}.{event_id}.{body}")

A receiver checks the signature with the shared secret, refuses a timestamp more than
:data:`TOLERANCE_SECONDS` away from its clock and an event id it has already processed
(replay): :func:`verify` is the reference implementation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, MutableSet
from typing import Any

from sqlalchemy.orm import Session

from core import outbox

from .models import Delivery, Institution, Outbox

MAX_ATTEMPTS = 10
TOLERANCE_SECONDS = 300
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600


class WebhookRefused(ValueError):
    """A receiver refuses a delivery (bad signature, stale timestamp, replay)."""


def _utcnow() -> dt.datetime:
    return outbox.utcnow()


def enqueue(session: Session, inst: Institution | None, event: str, data: dict[str, Any]) -> Outbox | None:
    """Write an event for ``inst`` to the outbox (same transaction as the caller's change)."""
    if inst is None or not inst.webhook_url:
        return None
    event_id = uuid.uuid4().hex
    at = _utcnow()
    body = {"event": event, "event_id": event_id, "created_at": at.isoformat() + "Z", "data": data}
    row = Outbox(event_id=event_id, institution_id=inst.id, event=event,
                 payload=json.dumps(body, ensure_ascii=False, sort_keys=True, default=str),
                 status="pending", attempts=0, next_attempt_at=at, created_at=at)
    session.add(row)  # flushed with the caller's change (never from inside a validator)
    return row


def sign(secret: str, timestamp: str, event_id: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.{event_id}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, headers: Any, body: bytes, *, seen: MutableSet[str] | None = None,
           now: float | None = None) -> str:
    """The receiver's check; returns the event id or raises :class:`WebhookRefused`."""
    event_id = headers.get("X-SCF-Event-Id") or ""
    timestamp = headers.get("X-SCF-Timestamp") or ""
    signature = headers.get("X-SCF-Signature") or ""
    if not event_id or not timestamp.isdigit():
        raise WebhookRefused("缺少事件编号或时间戳")
    if not hmac.compare_digest(sign(secret, timestamp, event_id, body), signature):
        raise WebhookRefused("签名不符")
    if abs((now if now is not None else time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        raise WebhookRefused("时间戳超出允许范围（可能是重放）")
    if seen is not None:
        if event_id in seen:
            raise WebhookRefused("事件已处理（重放）")
        seen.add(event_id)
    return event_id


Post = Callable[[str, bytes, dict[str, str], float], int]


def _http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    return outbox.http_post(url, body, headers, timeout)[0]


def backoff(attempts: int) -> dt.timedelta:
    return outbox.backoff(attempts, base=BASE_DELAY_SECONDS, ceiling=MAX_DELAY_SECONDS)


def deliver_due(session: Session, *, post: Post | None = None, limit: int = 100,
                timeout: float = 5.0, at: dt.datetime | None = None) -> dict[str, int]:
    """Post every due event once (core.outbox's loop); log each attempt; the caller commits."""
    post = post or _http_post

    def send(row: Outbox) -> outbox.Answer:
        inst = row.institution
        body = row.payload.encode()
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-SCF-Event": row.event,
                   "X-SCF-Event-Id": row.event_id, "X-SCF-Timestamp": ts,
                   "X-SCF-Signature": sign(inst.webhook_secret or "", ts, row.event_id, body)}
        status = post(inst.webhook_url or "", body, headers, timeout)
        return outbox.Answer(ok=200 <= status < 300, status_code=status)

    def log(row: Outbox, answer: outbox.Answer, when: dt.datetime, duration_ms: int) -> None:
        session.add(Delivery(outbox_id=row.id, attempt=row.attempts, at=when,
                             url=row.institution.webhook_url or "",
                             status_code=answer.status_code, ok=answer.ok,
                             error=None if answer.status_code is not None else answer.detail,
                             duration_ms=duration_ms))

    return outbox.deliver_due(session, Outbox, send, limit=limit, at=at,
                              max_attempts=MAX_ATTEMPTS, wait=backoff, on_attempt=log)
