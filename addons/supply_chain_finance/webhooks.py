"""Signed webhooks to the institutions (出站通知).

An event is written to ``scf_outbox`` by :func:`enqueue` **in the transaction of the change
that caused it** (an application rolled back never announces itself); :func:`deliver_due`
(``erp scf deliver``, run by cron or a worker) posts due events and logs every attempt in
``scf_delivery``. A failed attempt is retried with exponential backoff (30 s, 1, 2, 4 ...
minutes, at most one hour apart) up to :data:`MAX_ATTEMPTS`, then the event is marked failed.

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
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, MutableSet
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Delivery, Institution, Outbox

MAX_ATTEMPTS = 10
TOLERANCE_SECONDS = 300
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600


class WebhookRefused(ValueError):
    """A receiver refuses a delivery (bad signature, stale timestamp, replay)."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return int(res.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(BASE_DELAY_SECONDS * 2 ** max(attempts - 1, 0), MAX_DELAY_SECONDS))


def deliver_due(session: Session, *, post: Post | None = None, limit: int = 100,
                timeout: float = 5.0, at: dt.datetime | None = None) -> dict[str, int]:
    """Post every due event once; log each attempt; returns counts. The caller commits."""
    post = post or _http_post
    at = at or _utcnow()
    rows = list(session.execute(
        select(Outbox).where(Outbox.status == "pending", Outbox.next_attempt_at <= at)
        .order_by(Outbox.id).limit(limit).with_for_update(skip_locked=True, of=Outbox)).scalars())
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for row in rows:
        inst = row.institution
        body = row.payload.encode()
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-SCF-Event": row.event,
                   "X-SCF-Event-Id": row.event_id, "X-SCF-Timestamp": ts,
                   "X-SCF-Signature": sign(inst.webhook_secret or "", ts, row.event_id, body)}
        row.attempts += 1
        started = time.monotonic()
        status, error = None, None
        try:
            status = post(inst.webhook_url or "", body, headers, timeout)
        except Exception as exc:  # network errors of any kind: logged and retried
            error = f"{type(exc).__name__}: {exc}"[:1000]
        ok = status is not None and 200 <= status < 300
        session.add(Delivery(outbox_id=row.id, attempt=row.attempts, at=at, url=inst.webhook_url or "",
                             status_code=status, ok=ok, error=error,
                             duration_ms=int((time.monotonic() - started) * 1000)))
        if ok:
            row.status, row.delivered_at = "delivered", at
            counts["delivered"] += 1
        elif row.attempts >= MAX_ATTEMPTS:
            row.status = "failed"
            counts["failed"] += 1
        else:
            row.next_attempt_at = at + backoff(row.attempts)
            counts["retry"] += 1
    session.flush()
    return counts
