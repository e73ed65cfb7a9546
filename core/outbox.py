"""The transactional outbox: messages to other systems, never lost, delivered once.

A module that must tell a receiver (a bank's webhook, the national procurement portal...)
about a change writes an outbox row **in the transaction of that change** (a rolled-back
change never announces itself; a receiver that is down loses nothing). A worker
(:func:`deliver_due`, run as a periodic job of the module) sends the due rows, retries a
failed attempt with exponential backoff and, after the last attempt, leaves the row in the
dead-letter list (status ``failed``) with the receiver's last answer, where an admin can
read it and send it again (:func:`resend`).

A module keeps its own outbox table (its receivers, its payload) and gets the columns and
the delivery loop from here::

    class NoticeOutbox(OutboxColumns, Model):
        __tablename__ = "nh_outbox"
        receiver: Mapped[str] = ...

    row = NoticeOutbox(**outbox_values(key=f"notice:{n.id}:portal", topic="notice.published",
                                       payload=json.dumps(...)), receiver="portal")
    session.add(row)                      # flushed and committed with the caller's change

    deliver_due(session, NoticeOutbox, send=lambda row: adapter.send(row))

Idempotency: every row has a unique ``key`` (``event_id`` for older tables), sent with every
attempt (``Idempotency-Key``); a receiver that saw it before answers "duplicate" and keeps
one copy, which the sender counts as delivered. Concurrent workers never send the same row
at once (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers).
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

__all__ = [
    "Answer", "OutboxColumns", "STATUSES", "backoff", "dead_letters", "deliver_due",
    "http_post", "outbox_values", "resend", "utcnow",
]

STATUSES = {"pending": "待发送", "delivered": "已送达", "failed": "发送失败（死信）"}
MAX_ATTEMPTS = 10
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def backoff(attempts: int, *, base: int = BASE_DELAY_SECONDS,
            ceiling: int = MAX_DELAY_SECONDS) -> dt.timedelta:
    """Wait after the ``attempts``-th failed attempt: base, 2 base, 4 base ... at most ceiling."""
    return dt.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), ceiling))


@dataclass(frozen=True)
class Answer:
    """What one delivery attempt got back."""

    ok: bool
    status_code: int | None = None
    #: the receiver's words (or the network error), kept for the dead-letter list
    detail: str | None = None
    #: the receiver already had it (counts as delivered)
    duplicate: bool = False
    #: the receiver's receipt number, when it gives one
    receipt: str | None = None


class OutboxColumns:
    """The columns of an outbox table (a mixin before ``core.db.Model``)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: idempotency key: the same on every attempt, unique in the table
    key: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    topic: Mapped[str] = mapped_column(String(60), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str | None] = mapped_column(String(120))


def outbox_values(*, key: str, topic: str, payload: str,
                  at: dt.datetime | None = None) -> dict[str, Any]:
    """Column values of a new pending row of an :class:`OutboxColumns` table."""
    at = at or utcnow()
    return {"key": key, "topic": topic, "payload": payload, "status": "pending", "attempts": 0,
            "next_attempt_at": at, "created_at": at}


Send = Callable[[Any], Answer]
OnAttempt = Callable[[Any, Answer, dt.datetime, int], None]


def deliver_due(session: Session, model: type, send: Send, *, limit: int = 100,
                at: dt.datetime | None = None, max_attempts: int = MAX_ATTEMPTS,
                wait: Callable[[int], dt.timedelta] = backoff,
                on_attempt: OnAttempt | None = None, where: Any = None) -> dict[str, int]:
    """Send every due pending row of ``model`` once; returns counts. The caller commits.

    ``send(row)`` returns an :class:`Answer` (an exception is a failed attempt, its text kept);
    ``on_attempt(row, answer, at, duration_ms)`` logs the attempt where the module keeps its
    log. A row whose last attempt fails becomes ``failed`` (the dead-letter list).
    """
    at = at or utcnow()
    query = (select(model).where(model.status == "pending", model.next_attempt_at <= at)
             .order_by(model.id).limit(limit)
             .with_for_update(skip_locked=True, of=model))
    if where is not None:
        query = query.where(where)
    rows = list(session.execute(query).scalars())
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for row in rows:
        row.attempts = (row.attempts or 0) + 1
        started = time.monotonic()
        try:
            answer = send(row)
        except Exception as exc:  # network errors of any kind: kept and retried
            answer = Answer(ok=False, detail=f"{type(exc).__name__}: {exc}"[:1000])
        duration_ms = int((time.monotonic() - started) * 1000)
        if hasattr(row, "last_error"):
            row.last_status_code = answer.status_code
            row.last_error = None if answer.ok else (answer.detail or "")[:2000]
            if answer.receipt:
                row.receipt = answer.receipt[:120]
        if on_attempt is not None:
            on_attempt(row, answer, at, duration_ms)
        if answer.ok:
            row.status, row.delivered_at = "delivered", at
            counts["delivered"] += 1
        elif row.attempts >= max_attempts:
            row.status = "failed"
            counts["failed"] += 1
        else:
            row.next_attempt_at = at + wait(row.attempts)
            counts["retry"] += 1
    session.flush()
    return counts


def dead_letters(session: Session, model: type, *, limit: int = 200) -> list[Any]:
    """The rows that gave up (newest first)."""
    return list(session.scalars(select(model).where(model.status == "failed")
                                .order_by(model.id.desc()).limit(limit)))


def resend(session: Session, row: Any, *, at: dt.datetime | None = None) -> None:
    """Put a dead letter back in the queue (a fresh series of attempts, same key)."""
    from core.errors import ConflictError

    if row.status != "failed":
        raise ConflictError("只有发送失败（死信）的消息可以重新发送")
    row.status, row.attempts, row.next_attempt_at = "pending", 0, at or utcnow()
    session.flush()


def http_post(url: str, body: bytes, headers: dict[str, str],
              timeout: float) -> tuple[int, bytes]:
    """POST ``body``; returns the status and the answer's body (HTTP errors are answers)."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return int(res.status), res.read(65536)
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read(65536) if exc.fp else b""
