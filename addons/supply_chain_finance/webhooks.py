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
    X-SCF-Signature: <scheme>=<hex>    over the bytes f"{timestamp}.{event_id}." + body
    X-SCF-Key-Id: 01e6e00fb53eef9c     (SM2 only: the platform key's fingerprint)

The institution's signature scheme (``Institution.signature_scheme``, :data:`SCHEMES`):

* ``hmac-sha256`` (default): ``sha256=`` HMAC-SHA256 with the shared secret;
* ``hmac-sm3``: ``sm3=`` HMAC-SM3 (GB/T 32905) with the shared secret;
* ``sm2``: ``sm2=`` the platform's SM3withSM2 signature (DER, hex) with its private key
  (:mod:`.sm2key`, ``erp scf sm2-keygen``); the institution verifies with the platform's
  public key (``GET /api/v1/scf_institution/sm2_public_key``), no shared secret.

A receiver checks the signature with the scheme it agreed (never the one the request names),
refuses a timestamp more than :data:`TOLERANCE_SECONDS` away from its clock and an event id
it has already processed (replay): :func:`verify` is the reference implementation.
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

from . import sm2key
from .models import SIGNATURE_SCHEMES as SCHEMES
from .models import Delivery, Institution, Outbox

MAX_ATTEMPTS = 10
TOLERANCE_SECONDS = 300
BASE_DELAY_SECONDS = 30
MAX_DELAY_SECONDS = 3600
DEFAULT_SCHEME = "hmac-sha256"
#: the ``X-SCF-Signature`` prefix of each scheme
PREFIXES = {"hmac-sha256": "sha256", "hmac-sm3": "sm3", "sm2": "sm2"}


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


def signed_bytes(timestamp: str, event_id: str, body: bytes) -> bytes:
    """What is signed: ``f"{timestamp}.{event_id}."`` followed by the raw body."""
    return f"{timestamp}.{event_id}.".encode() + body


def sign(secret: str, timestamp: str, event_id: str, body: bytes, *,
         scheme: str = DEFAULT_SCHEME, key: sm2key.Sm2Key | None = None) -> str:
    """The ``X-SCF-Signature`` value: HMAC with ``secret`` or, for ``sm2``, the platform's
    SM2 signature with ``key``."""
    data = signed_bytes(timestamp, event_id, body)
    if scheme == "sm2":
        if key is None:
            raise sm2key.Sm2KeyError("SM2 签名需要平台私钥")
        return "sm2=" + sm2key.sign(key, data)
    if scheme == "hmac-sm3":
        return "sm3=" + sm2key.hmac_sm3(secret.encode(), data)
    if scheme != "hmac-sha256":
        raise ValueError(f"unknown signature scheme {scheme!r}")
    return "sha256=" + hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def verify(key: str, headers: Any, body: bytes, *, seen: MutableSet[str] | None = None,
           now: float | None = None, scheme: str = DEFAULT_SCHEME) -> str:
    """The receiver's check; returns the event id or raises :class:`WebhookRefused`.

    ``key`` is the shared secret (``hmac-sha256``, ``hmac-sm3``) or the platform's SM2
    public key (``sm2``: hex, ``04`` + X + Y); ``scheme`` is the one agreed with the platform
    (a request signed with another scheme is refused)."""
    event_id = headers.get("X-SCF-Event-Id") or ""
    timestamp = headers.get("X-SCF-Timestamp") or ""
    signature = headers.get("X-SCF-Signature") or ""
    if not event_id or not timestamp.isdigit():
        raise WebhookRefused("缺少事件编号或时间戳")
    if scheme not in SCHEMES:
        raise ValueError(f"unknown signature scheme {scheme!r}")
    prefix, _, value = signature.partition("=")
    if prefix != PREFIXES[scheme] or not value:
        raise WebhookRefused("签名算法与约定的不一致")
    if scheme == "sm2":
        try:
            ok = sm2key.verify(key, signed_bytes(timestamp, event_id, body), value)
        except sm2key.Sm2KeyError:
            ok = False
    else:
        ok = hmac.compare_digest(sign(key, timestamp, event_id, body, scheme=scheme), signature)
    if not ok:
        raise WebhookRefused("签名不符")
    if abs((now if now is not None else time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        raise WebhookRefused("时间戳超出允许范围（可能是重放）")
    if seen is not None:
        if event_id in seen:
            raise WebhookRefused("事件已处理（重放）")
        seen.add(event_id)
    return event_id


def public_key_info(config: Any = None) -> dict[str, Any] | None:
    """What an institution needs to verify SM2 webhooks (None: no platform key yet); never
    the private key."""
    try:
        key = platform_key(config)
    except sm2key.Sm2KeyError:
        return None
    return {"algorithm": "SM3withSM2", "curve": "sm2p256v1", "user_id": sm2key.USER_ID,
            "key_id": key.key_id, "public_key": key.public_key,
            "public_key_pem": sm2key.public_pem(key.public_key),
            "signature_header": "X-SCF-Signature: sm2=<DER 编码签名的十六进制>",
            "signed_data": "{X-SCF-Timestamp}.{X-SCF-Event-Id}.{原始请求体}"}


def platform_key(config: Any = None) -> sm2key.Sm2Key:
    """The platform's SM2 key pair from its key file (``current_app.config`` by default)."""
    if config is None:
        from flask import current_app

        config = current_app.config
    return sm2key.read_key(sm2key.key_path(config))


Post = Callable[[str, bytes, dict[str, str], float], int]


def _http_post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    return outbox.http_post(url, body, headers, timeout)[0]


def backoff(attempts: int) -> dt.timedelta:
    return outbox.backoff(attempts, base=BASE_DELAY_SECONDS, ceiling=MAX_DELAY_SECONDS)


def deliver_due(session: Session, *, post: Post | None = None, limit: int = 100,
                timeout: float = 5.0, at: dt.datetime | None = None,
                key: sm2key.Sm2Key | None = None) -> dict[str, int]:
    """Post every due event once (core.outbox's loop), signed with its institution's scheme
    (``key``: the platform's SM2 key, read from the key file when an institution needs it);
    log each attempt; the caller commits."""
    post = post or _http_post
    keys: dict[str, sm2key.Sm2Key] = {} if key is None else {"sm2": key}

    def sm2_key() -> sm2key.Sm2Key:
        if "sm2" not in keys:  # read once per run, only when an institution signs with SM2
            keys["sm2"] = platform_key()
        return keys["sm2"]

    def send(row: Outbox) -> outbox.Answer:
        inst = row.institution
        scheme = inst.signature_scheme or DEFAULT_SCHEME
        body = row.payload.encode()
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json", "X-SCF-Event": row.event,
                   "X-SCF-Event-Id": row.event_id, "X-SCF-Timestamp": ts}
        if scheme == "sm2":
            try:
                signer = sm2_key()
            except sm2key.Sm2KeyError as exc:  # logged and retried once the key exists
                return outbox.Answer(ok=False, detail=str(exc))
            headers["X-SCF-Signature"] = sign("", ts, row.event_id, body, scheme="sm2", key=signer)
            headers["X-SCF-Key-Id"] = signer.key_id
        else:
            headers["X-SCF-Signature"] = sign(inst.webhook_secret or "", ts, row.event_id, body,
                                              scheme=scheme)
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
