"""In-app messages (站内消息) and their delivery adapters.

A service tells the users concerned by an event::

    from core.messages import notify

    notify(session, org_id=order.supplier_id, kind="emall.order_placed",
           title="新订单待确认", body=f"订单 {order.number} 已下单，请确认。",
           link=f"/emallorderview/show/{order.id}")

``notify`` writes one :class:`Message` row per recipient in the caller's session (so the
message exists exactly when the business change commits) and, after the commit, hands each
message to the configured delivery adapters. The in-app channel is the row itself and is
always on; e-mail and SMS adapters are switched on by settings::

    ERP_MESSAGE_ADAPTERS = ["core.messages.EmailDelivery", "core.messages.SmsDelivery"]
    ERP_MAIL_SERVER = "smtp.example.gov.cn"; ERP_MAIL_PORT = 25; ERP_MAIL_SENDER = "..."
    ERP_SMS_GATEWAY_URL = "https://sms-gateway.example/send"; ERP_SMS_TOKEN = "..."

An adapter is any class with ``name`` and ``deliver(recipient, message)``; a failing adapter
is logged and never undoes the business change (the in-app message is already stored).
Recipients are given as user ids, as an organisation (every active user of it), or both;
duplicates are sent once. Nothing is sent to nobody: no recipient, no row.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import smtplib
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    event,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Model

log = logging.getLogger(__name__)

#: kind -> Chinese label shown on the message page (a kind not listed shows as 通知)
KIND_LABELS: dict[str, str] = {
    "emall.admission_decided": "入驻审核结果",
    "emall.listing_decided": "商品审核结果",
    "emall.order_placed": "新订单",
    "emall.order_shipped": "订单已发货",
    "emall.order_accepted": "订单已验收",
    "emall.comparison_opened": "竞价邀请",
    "emall.comparison_closing": "竞价即将截止",
    "emall.comparison_closed": "竞价结果",
    "emall.price_anomaly": "价格异常",
    "deposit.due_soon": "保证金即将到期",
    "deposit.overdue": "保证金逾期未退",
    "expert.evaluation_due": "履职评价待填写",
    "expert.assigned": "评审任务",
    "sme.disclosure_due": "中小企业预留执行情况待公开",
    "sme.disclosure_overdue": "中小企业预留执行情况逾期未公开",
    "system": "系统通知",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, "通知")


class Message(Model):
    """One message to one user. Read when ``read_at`` is set; never edited otherwise."""

    __tablename__ = "erp_message"
    __table_args__ = (Index("ix_erp_message_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("ab_user.id", name="fk_erp_message_user_id", ondelete="CASCADE"),
        nullable=False,
    )
    #: the organisation the message was addressed to (None: sent to the user personally)
    org_id: Mapped[int | None] = mapped_column(
        ForeignKey("erp_organization.id", name="fk_erp_message_org_id")
    )
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: a path inside the platform (``/...``) the message opens
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime, nullable=False, server_default=func.now()
    )
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    def __repr__(self) -> str:
        return self.title

    __str__ = __repr__


# -- delivery adapters ------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    user_id: int
    username: str
    name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Notice:
    """What an adapter receives: the stored message's values, taken when it was flushed."""

    id: int
    kind: str
    title: str
    body: str
    link: str | None


class Delivery(Protocol):
    """A delivery channel. ``deliver`` may raise: the failure is logged, nothing is undone."""

    name: str

    def deliver(self, recipient: Recipient, message: Notice) -> None: ...


class InAppDelivery:
    """The message row is the in-app delivery: shown on 站内消息 and counted in the navbar."""

    name = "in_app"

    def deliver(self, recipient: Recipient, message: Notice) -> None:
        return None


class EmailDelivery:
    """E-mail through an SMTP relay (``ERP_MAIL_SERVER``, ``ERP_MAIL_PORT``, ``ERP_MAIL_SENDER``,
    optional ``ERP_MAIL_USERNAME`` / ``ERP_MAIL_PASSWORD`` / ``ERP_MAIL_STARTTLS``)."""

    name = "email"

    def __init__(self, config: dict[str, Any]) -> None:
        self.server = config.get("ERP_MAIL_SERVER")
        self.port = int(config.get("ERP_MAIL_PORT", 25))
        self.sender = config.get("ERP_MAIL_SENDER") or "noreply@localhost"
        self.username = config.get("ERP_MAIL_USERNAME")
        self.password = config.get("ERP_MAIL_PASSWORD")
        self.starttls = bool(config.get("ERP_MAIL_STARTTLS", False))
        self.base_url = (config.get("ERP_PUBLIC_URL") or "").rstrip("/")

    def deliver(self, recipient: Recipient, message: Notice) -> None:
        if not self.server or not recipient.email:
            return
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.sender
        mail["To"] = recipient.email
        text = message.body
        if message.link:
            text += f"\n\n{self.base_url}{message.link}"
        mail.set_content(text)
        with smtplib.SMTP(self.server, self.port, timeout=10) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(mail)


class SmsDelivery:
    """SMS through an HTTP gateway: POST JSON ``{"phone", "text"}`` to ``ERP_SMS_GATEWAY_URL``
    with ``Authorization: Bearer ERP_SMS_TOKEN``. The phone is the recipient's organisation's."""

    name = "sms"

    def __init__(self, config: dict[str, Any]) -> None:
        self.url = config.get("ERP_SMS_GATEWAY_URL")
        self.token = config.get("ERP_SMS_TOKEN")

    def deliver(self, recipient: Recipient, message: Notice) -> None:
        if not self.url or not recipient.phone:
            return
        payload = json.dumps(
            {"phone": recipient.phone, "text": f"【{message.title}】{message.body}"[:300]},
            ensure_ascii=False,
        ).encode()
        req = urllib.request.Request(self.url, data=payload, method="POST",
                                     headers={"Content-Type": "application/json"})
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=10) as res:
            if res.status >= 300:
                raise RuntimeError(f"SMS gateway answered {res.status}")


def _import(path: str) -> Any:
    from importlib import import_module

    module, _, attr = path.rpartition(".")
    return getattr(import_module(module), attr)


def configured_adapters(config: dict[str, Any] | None = None) -> list[Delivery]:
    """In-app first, then the adapters named by ``ERP_MESSAGE_ADAPTERS`` (dotted paths of
    classes taking the app config, or instances)."""
    if config is None:
        from flask import current_app, has_app_context

        config = current_app.config if has_app_context() else {}
    out: list[Delivery] = [InAppDelivery()]
    for item in config.get("ERP_MESSAGE_ADAPTERS") or ():
        if isinstance(item, str):
            cls = _import(item)
            out.append(cls(config))
        elif isinstance(item, type):
            out.append(item(config))
        else:
            out.append(item)
    return out


# -- notify ----------------------------------------------------------------------------------
_PENDING = "erp_pending_messages"


def _recipients(session: Session, user_ids: Iterable[int] | None,
                org_id: int | None) -> list[Recipient]:
    from core.models import Organization
    from core.security import ErpUser

    ids = {int(u) for u in (user_ids or ()) if u is not None}
    cond = ErpUser.id.in_(sorted(ids)) if ids else None
    if org_id is not None:
        by_org = ErpUser.organization_id == org_id
        cond = by_org if cond is None else (cond | by_org)
    if cond is None:
        return []
    rows = session.execute(
        select(ErpUser.id, ErpUser.username, ErpUser.first_name, ErpUser.last_name,
               ErpUser.email, ErpUser.active, Organization.phone)
        .outerjoin(Organization, Organization.id == ErpUser.organization_id)
        .where(cond)
        .order_by(ErpUser.id)
    ).all()
    out = []
    for r in rows:
        if not r.active and r.id not in ids:
            continue
        name = f"{r.last_name or ''}{r.first_name or ''}".strip() or r.username
        out.append(Recipient(r.id, r.username, name, r.email or None, r.phone or None))
    return out


def notify(
    session: Session,
    *,
    user_ids: Iterable[int] | None = None,
    org_id: int | None = None,
    kind: str,
    title: str,
    body: str,
    link: str | None = None,
) -> list[Message]:
    """Store a message for each recipient (users given and/or every active user of the
    organisation) in ``session``; deliver through the adapters once the session commits."""
    if link is not None and not link.startswith("/"):
        raise ValueError("a message link is a path inside the platform, starting with '/'")
    recipients = _recipients(session, user_ids, org_id)
    messages = []
    for rec in recipients:
        msg = Message(user_id=rec.user_id, org_id=org_id, kind=kind, title=title[:200],
                      body=body, link=link, created_at=dt.datetime.now(dt.UTC).replace(tzinfo=None))
        session.add(msg)
        messages.append(msg)
        session.info.setdefault(_PENDING, []).append((rec, msg))
    return messages


_FLUSHED = "erp_flushed_messages"


@event.listens_for(Session, "after_flush_postexec")
def _snapshot_flushed(session: Session, flush_context: Any) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    keep, done = [], session.info.setdefault(_FLUSHED, [])
    for rec, msg in pending:
        if msg.id is None:
            keep.append((rec, msg))
        else:
            done.append((rec, Notice(msg.id, msg.kind, msg.title, msg.body, msg.link)))
    session.info[_PENDING] = keep


@event.listens_for(Session, "after_commit")
def _deliver_after_commit(session: Session) -> None:
    session.info.pop(_PENDING, None)
    pending: Sequence[tuple[Recipient, Notice]] = session.info.pop(_FLUSHED, ())
    if not pending:
        return
    try:
        adapters = configured_adapters()
    except Exception:  # a misconfigured adapter path must not break the committed change
        log.exception("message adapters could not be loaded")
        adapters = [InAppDelivery()]
    for rec, msg in pending:
        for adapter in adapters:
            try:
                adapter.deliver(rec, msg)
            except Exception:
                log.exception("delivery of message %s to %s by %s failed", msg.id,
                              rec.username, adapter.name)


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_FLUSHED, None)


# -- reading -----------------------------------------------------------------------------------
def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.count(Message.id)).where(Message.user_id == user_id, Message.read_at.is_(None))
    ) or 0


def messages_of(session: Session, user_id: int, *, unread_only: bool = False, page: int = 0,
                page_size: int = 20) -> tuple[int, list[Message]]:
    cond = [Message.user_id == user_id]
    if unread_only:
        cond.append(Message.read_at.is_(None))
    total = session.scalar(select(func.count(Message.id)).where(*cond)) or 0
    rows = session.scalars(
        select(Message).where(*cond).order_by(Message.created_at.desc(), Message.id.desc())
        .offset(page * page_size).limit(page_size)
    ).all()
    return total, list(rows)


def mark_read(session: Session, user_id: int, message_ids: Iterable[int] | None = None) -> int:
    """Mark the user's messages read (all when ``message_ids`` is None); returns how many."""
    stmt = update(Message).where(Message.user_id == user_id, Message.read_at.is_(None))
    if message_ids is not None:
        stmt = stmt.where(Message.id.in_([int(i) for i in message_ids]))
    res = session.execute(stmt.values(read_at=dt.datetime.now(dt.UTC).replace(tzinfo=None)))
    return res.rowcount or 0
