"""RSS 2.0 and Atom feeds of published notices, per region (with its subordinate regions) and
type: the 50 newest."""

from __future__ import annotations

import datetime as dt
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.notices import NOTICE_KINDS
from core.tenancy import snapshot

from .models import Notice

CST = dt.timezone(dt.timedelta(hours=8))


def _rows(session: Session, region: str | None, kind: str | None, limit: int = 50) -> list[Notice]:
    q = select(Notice).where(Notice.status == "published")
    if region:
        snap = snapshot()
        q = q.where(Notice.region_id.in_(sorted(snap.subtree(snap.id_of[region]))))
    if kind:
        q = q.where(Notice.kind == kind)
    return list(session.scalars(q.order_by(Notice.published_at.desc(), Notice.id.desc()).limit(limit)))


def feed(session: Session, fmt: str, *, region: str | None, kind: str | None, base_url: str) -> str:
    snap = snapshot()
    name = "吉林省政府采购公告"
    if region:
        name += f" · {snap.name_of[snap.id_of[region]]}"
    if kind:
        name += f" · {NOTICE_KINDS[kind]}"
    rows = _rows(session, region, kind)
    self_url = f"{base_url}/notices/feed.{fmt}"
    if fmt == "rss":
        items = "".join(
            f"<item><title>{escape(n.title)}</title><link>{base_url}/notices/{n.id}</link>"
            f"<guid isPermaLink=\"false\">{escape(n.number or str(n.id))}</guid>"
            f"<category>{escape(NOTICE_KINDS.get(n.kind, n.kind))}</category>"
            f"<pubDate>{n.published_at.replace(tzinfo=CST).strftime('%a, %d %b %Y %H:%M:%S +0800')}</pubDate>"
            f"<description>{escape((n.body or '')[:500])}</description></item>" for n in rows)
        return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel>"
                f"<title>{escape(name)}</title><link>{base_url}/notices/</link>"
                f"<description>{escape(name)}</description><language>zh-cn</language>{items}"
                "</channel></rss>")
    updated = (rows[0].published_at if rows else dt.datetime(2020, 1, 1)).replace(tzinfo=CST).isoformat()
    entries = "".join(
        f"<entry><title>{escape(n.title)}</title><link href=\"{base_url}/notices/{n.id}\"/>"
        f"<id>{base_url}/notices/{n.id}</id>"
        f"<updated>{n.published_at.replace(tzinfo=CST).isoformat()}</updated>"
        f"<category term=\"{escape(n.kind)}\" label=\"{escape(NOTICE_KINDS.get(n.kind, n.kind))}\"/>"
        f"<summary>{escape((n.body or '')[:500])}</summary></entry>" for n in rows)
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">"
            f"<title>{escape(name)}</title><id>{escape(self_url)}</id>"
            f"<link rel=\"self\" href=\"{escape(self_url)}\"/><updated>{updated}</updated>{entries}</feed>")
