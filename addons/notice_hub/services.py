"""Business rules of ``notice_hub``: taking drafts from the modules (core.notices), review and
publication by the owner, 更正 notices, deadlines, and the outbox rows of a publication.

Plain Python on a session, shared by the API, the pages, the CLI, the jobs and the tests.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
from decimal import Decimal
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core import notices as core_notices
from core import outbox
from core.errors import ConflictError, ForbiddenError, RuleError
from core.models import Organization, Region
from core.rules import ModelRules
from core.services import audit, settings, workdays
from core.services.cjk_search import field_tokens
from core.services.money import fmt_yuan
from core.tenancy import current_scope, writable_regions

from .models import STATES, Notice, NoticeOutbox, NoticeType

MODULE = "notice_hub"
CST = dt.timezone(dt.timedelta(hours=8))
UNSCOPED = {"erp_unscoped": True}
FTS_TABLE = "nh_notice_fts"

settings.declare("notice_hub.ocid_prefix", type="str", default="ocds-jlgp00", module=MODULE,
                 label_zh="OCDS ocid 前缀",
                 help_zh="在 OCDS 登记的前缀（ocds-xxxxxx）；未登记时为平台自用前缀")
settings.declare("notice_hub.receivers", type="str", default="portal", module=MODULE,
                 label_zh="公告推送接收方", help_zh="逗号分隔；portal = 中国政府采购网（全国平台）")
settings.declare("notice_hub.portal_url", type="str", default="", module=MODULE,
                 label_zh="全国平台接收地址", help_zh="HTTP 适配器的地址；为空时只排队不推送")
settings.declare("notice_hub.portal_timeout", type="int", default=10, module=MODULE,
                 label_zh="全国平台推送超时（秒）")

_env = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


def today() -> dt.date:
    return dt.datetime.now(CST).date()


def now() -> dt.datetime:
    return dt.datetime.now(CST).replace(tzinfo=None, microsecond=0)


# -- notice types --------------------------------------------------------------------------------
def notice_type(session: Session, kind: str) -> NoticeType | None:
    return session.scalar(select(NoticeType).where(NoticeType.kind == kind)
                          .execution_options(**UNSCOPED))


def kind_label(kind: str | None) -> str:
    return core_notices.NOTICE_KINDS.get(kind or "", kind or "—")


def render(session: Session, notice: Notice) -> str:
    """The notice's text from its type's template (sandboxed; a broken template is refused)."""
    nt = notice_type(session, notice.kind)
    template = nt.template if nt is not None else "{{ title }}\n\n{{ body }}"
    try:
        data = json.loads(notice.data) if notice.data else {}
    except ValueError:
        data = {}
    def org(oid):
        return (session.get(Organization, oid).name if oid and session.get(Organization, oid) else "")
    refers = notice.refers_to if notice.refers_to_id else None
    try:
        return _env.from_string(template).render(
            title=notice.title, body=notice.summary or "", publisher=org(notice.publisher_org_id),
            purchaser=org(notice.purchaser_org_id),
            amount=fmt_yuan(notice.amount) if notice.amount is not None else "",
            event_date=notice.event_date.isoformat() if notice.event_date else "",
            due_date=notice.due_date.isoformat() if notice.due_date else "", data=data,
            refers_to=(f"{refers.number or ''} {refers.title}".strip() if refers else "")).strip()
    except Exception as exc:  # a template the admin broke: say so, publish nothing
        raise RuleError({"_schema": [f"公告类型“{kind_label(notice.kind)}”的模板有误：{exc}"]}) from None


def legal_due(session: Session, kind: str, event_date: dt.date, workdays_n: int | None,
              due_date: dt.date | None) -> dt.date | None:
    if due_date is not None:
        return due_date
    if workdays_n is None:
        nt = notice_type(session, kind)
        workdays_n = nt.deadline_workdays if nt is not None else None
    if workdays_n is None:
        return None
    return workdays.add_working_days(event_date, int(workdays_n), session)


# -- core.notices: taking drafts from the modules -----------------------------------------------
def _draft_errors(draft: core_notices.NoticeDraft) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (draft.title or "").strip():
        errors["title"] = ["公告须有标题"]
    elif len(draft.title) > 300:
        errors["title"] = ["公告标题不能超过 300 个字符"]
    if not (draft.body or "").strip():
        errors["body"] = ["公告须有正文"]
    if not draft.region_id:
        errors["region_id"] = ["公告须有所属地区"]
    if not isinstance(draft.event_date, dt.date):
        errors["event_date"] = ["公告须有触发事项的日期"]
    if not draft.publisher_org_id:
        errors["publisher_org_id"] = ["公告须有发布单位"]
    if draft.amount is not None and (not isinstance(draft.amount, Decimal) or draft.amount < 0):
        errors["amount"] = ["金额须为不小于零的金额"]
    return errors


def source_key(source: str, source_id: int, kind: str) -> str:
    return f"{source}:{source_id}:{kind}"


def ref_of(notice: Notice) -> core_notices.NoticeRef:
    return core_notices.NoticeRef(MODULE, notice.id, f"/notices/{notice.id}", notice.status)


def take_draft(session: Session, draft: core_notices.NoticeDraft) -> core_notices.NoticeRef:
    """core.notices.PUBLISHERS: the draft becomes (or updates) a notice draft."""
    errors = _draft_errors(draft)
    if errors:
        raise RuleError(errors)
    key = source_key(draft.source, draft.source_id, draft.kind)
    with session.no_autoflush:
        notice = session.scalar(select(Notice).where(Notice.source_key == key)
                                .execution_options(**UNSCOPED))
        refers_id = None
        if draft.refers_to is not None:
            original = session.get(Notice, draft.refers_to.notice_id, execution_options=UNSCOPED)
            _check_refers(original, draft.region_id)
            refers_id = original.id if original is not None else None
    if notice is not None and notice.status != "draft":
        return ref_of(notice)  # published (immutable) or withdrawn: the same notice
    if notice is None:
        notice = Notice(source_key=key, source=draft.source, source_id=draft.source_id,
                        kind=draft.kind, status="draft", created_at=now(), source_withdrawn=False)
        session.add(notice)
    notice.region_id = draft.region_id
    notice.title = draft.title.strip()
    notice.summary = draft.body.strip()
    notice.data = json.dumps(draft.data, ensure_ascii=False, sort_keys=True, default=str)
    notice.publisher_org_id = draft.publisher_org_id
    notice.purchaser_org_id = draft.purchaser_org_id
    notice.amount = draft.amount
    notice.event_date = draft.event_date
    notice.due_date = legal_due(session, draft.kind, draft.event_date, draft.deadline_workdays,
                                draft.due_date)
    notice.refers_to_id = refers_id
    notice.link = draft.link
    session.flush()
    if notice.ocid is None:
        notice.ocid = ocid_for(session, notice)
    return ref_of(notice)


def _check_refers(original: Notice | None, region_id: int) -> None:
    if original is None:
        raise RuleError({"refers_to": ["所更正的公告不存在"]})
    if original.status != "published":
        raise RuleError({"refers_to": ["只能更正已发布的公告"]})
    if original.region_id != region_id:
        raise RuleError({"refers_to": ["不能更正其他地区的公告"]})


def source_withdrawn(session: Session, source: str, source_id: int) -> None:
    """core.notices.WITHDRAWN: drafts of that record may no longer be published."""
    rows = session.scalars(select(Notice).where(Notice.source == source, Notice.source_id == source_id,
                                                Notice.status == "draft")
                           .execution_options(**UNSCOPED))
    for n in rows:
        n.source_withdrawn = True
    session.flush()


def ocid_for(session: Session, notice: Notice) -> str:
    """The contracting process of a notice: the producing record's (project, comparison...),
    so that every notice of one process shares it."""
    prefix = settings.get("notice_hub.ocid_prefix", session=session)
    if notice.refers_to_id is not None and notice.refers_to is not None and notice.refers_to.ocid:
        return notice.refers_to.ocid
    data = json.loads(notice.data) if notice.data else {}
    process = data.get("process") or (f"{notice.source}-{notice.source_id}" if notice.source_id
                                      else f"notice-{notice.id}")
    return f"{prefix}-{str(process).replace('.', '-').replace('_', '-')}"


# -- rules (pages and API) -----------------------------------------------------------------------
class NoticeRules(ModelRules):
    """A draft is edited by its owner; a published notice never changes."""

    def validate(self, session: Session, item: Notice) -> None:
        errors: dict[str, list[str]] = {}
        if not (item.title or "").strip():
            errors["title"] = ["请填写公告标题"]
        if item.kind not in core_notices.NOTICE_KINDS:
            errors["kind"] = ["请选择公告类型"]
        if not (item.summary or "").strip():
            errors["summary"] = ["请填写公告正文"]
        if item.event_date is None:
            errors["event_date"] = ["请填写事项发生日期"]
        if item.amount is not None and item.amount < 0:
            errors["amount"] = ["金额不能为负数"]
        if errors:
            raise RuleError(errors)
        item.title = item.title.strip()

    def before_add(self, session: Session, item: Notice) -> None:
        self.validate(session, item)
        scope = current_scope()
        item.status = "draft"
        item.created_at = now()
        item.source = "notice_hub.nh_notice"
        item.source_withdrawn = False
        if item.publisher_org_id is None and item.publisher is None:
            item.publisher_org_id = scope.org_id
        if item.due_date is None and item.event_date is not None:
            item.due_date = legal_due(session, item.kind, item.event_date, None, None)

    def before_update(self, session: Session, item: Notice) -> None:
        if self.old(item, "status") != "draft":
            raise ConflictError("已发布的公告不能修改；如需更正，请发布更正公告", code="immutable")
        self.validate(session, item)

    def may_delete(self, session: Session, item: Notice) -> None:
        if item.status != "draft":
            raise ConflictError("已发布的公告不能删除；如需更正，请发布更正公告", code="immutable")


RULES = NoticeRules()


# -- publication ---------------------------------------------------------------------------------
def assert_owner(session: Session, notice: Notice) -> None:
    """The owner publishes: a user of the publishing organisation (or its competent unit), a
    region official of the notice's region, or the platform admin."""
    scope = current_scope()
    if scope.unrestricted:
        return
    if scope.reach == "own":
        org_ids = {scope.org_id}
        if scope.org_id is not None:
            org_ids |= set(session.scalars(select(Organization.id).where(
                Organization.parent_id == scope.org_id)))
        if notice.publisher_org_id not in org_ids:
            raise ForbiddenError("只有发布单位可以审核发布本公告")
    elif notice.region_id not in (scope.region_ids or ()):
        raise ForbiddenError("只能发布本地区的公告")


def publish_refusal(notice: Notice) -> str | None:
    if notice.status != "draft":
        return "公告已发布，不能再次发布" if notice.status == "published" else "公告已撤回"
    if notice.source_withdrawn:
        return "公告对应的记录已撤回，不能发布"
    return None


def publish(session: Session, notice: Notice, *, actor: Any = None,
            at: dt.datetime | None = None) -> Notice:
    """Publish a reviewed draft: number, publication time, delay against the legal deadline,
    the keyword index and one outbox row per receiver, all in the caller's transaction."""
    refusal = publish_refusal(notice)
    if refusal:
        raise ConflictError(refusal, code="publish_refused")
    missing = {}
    for field_, label in (("title", "标题"), ("summary", "正文"), ("event_date", "事项发生日期"),
                          ("publisher_org_id", "发布单位")):
        if not getattr(notice, field_):
            missing[field_] = [f"发布前请填写{label}"]
    if missing:
        raise RuleError(missing)
    if notice.refers_to_id is not None:
        _check_refers(notice.refers_to, notice.region_id)
    at = at or now()
    notice.body = render(session, notice)
    notice.status = "published"
    notice.published_at = at
    notice.published_by = getattr(actor, "username", None) or (actor if isinstance(actor, str) else None)
    region = session.get(Region, notice.region_id)
    notice.number = f"JLGG-{region.code if region else notice.region_id}-{at.year}-{notice.id:07d}"
    on = at.date()
    notice.delay_workdays = (max(workdays.working_days_between(notice.due_date, on, session), 0)
                             if notice.due_date is not None and on > notice.due_date else 0)
    if notice.ocid is None:
        notice.ocid = ocid_for(session, notice)
    session.flush()
    index_notices(session.connection(), [(notice.id, notice.title, notice.body, notice.kind, notice.region_id,
                                          notice.amount, notice.published_at)])
    enqueue_receivers(session, notice, at=at)
    audit.record(session, action="transition:publish", object_type="nh_notice", object_id=notice.id,
                 before={"status": "draft"}, after={"status": "published", "number": notice.number},
                 module=MODULE, region_id=notice.region_id, actor=actor)
    return notice


def receivers(session: Session) -> list[str]:
    raw = settings.get("notice_hub.receivers", session=session) or ""
    return [r.strip() for r in str(raw).split(",") if r.strip()]


def enqueue_receivers(session: Session, notice: Notice, *, at: dt.datetime | None = None) -> None:
    from .portal import payload_of

    for receiver in receivers(session):
        key = f"notice:{notice.id}:{receiver}"
        session.add(NoticeOutbox(**outbox.outbox_values(
            key=key, topic=f"notice.{notice.kind}", payload=payload_of(session, notice)),
            receiver=receiver, notice_id=notice.id, region_id=notice.region_id))
    session.flush()


def correct(session: Session, original: Notice, *, title: str, body: str,
            kind: str = "change", event_date: dt.date | None = None, actor: Any = None) -> Notice:
    """A 更正 (or 终止) notice draft referring to a published notice of the user's region."""
    if kind not in ("change", "termination", "framework_change"):
        raise RuleError({"kind": ["更正只能是更正公告或终止公告"]})
    if original.status != "published":
        raise RuleError({"refers_to": ["只能更正已发布的公告"]})
    allowed = writable_regions(Notice)
    if allowed is not None and original.region_id not in allowed:
        raise RuleError({"refers_to": ["不能更正其他地区的公告"]})
    errors = {}
    if not (title or "").strip():
        errors["title"] = ["请填写更正公告标题"]
    if not (body or "").strip():
        errors["body"] = ["请填写更正内容"]
    if errors:
        raise RuleError(errors)
    n = Notice(kind=kind, title=title.strip(), summary=body.strip(), status="draft",
               source=original.source, source_id=original.source_id, source_key=None,
               source_withdrawn=False, region_id=original.region_id,
               publisher_org_id=original.publisher_org_id,
               purchaser_org_id=original.purchaser_org_id, amount=original.amount,
               event_date=event_date or today(), refers_to_id=original.id, data=original.data,
               link=original.link, ocid=original.ocid, created_at=now())
    session.add(n)
    session.flush()
    return n


# -- keyword index -------------------------------------------------------------------------------
def index_tokens(title: str, body: str) -> tuple[str, str]:
    """(title tokens with pinyin, body tokens) as space-separated text."""
    t, tp = field_tokens(title or "", pinyin=True)
    b, _bp = field_tokens((body or "")[:20000], pinyin=False)
    return " ".join((*t, *tp)), " ".join(b)


# Filter tags: the notice's type, its region and its amount band, indexed beside the words
# (SQLite: the FTS5 column ``tags``; PostgreSQL: weight D of the tsvector) so that a keyword
# search with filters intersects them inside the index; the exact conditions still apply.
AMOUNT_EDGES = tuple(m * 10 ** e for e in range(0, 16) for m in (1, 2, 5))


def amount_band(amount: Any) -> int | None:
    """The 1-2-5 band of an amount: 0 below 1 yuan, k for AMOUNT_EDGES[k-1] <= amount < the next."""
    if amount is None:
        return None
    a = Decimal(str(amount))
    return bisect.bisect_right(AMOUNT_EDGES, a)


def amount_bands(lo: Any, hi: Any) -> list[int] | None:
    """The bands meeting [lo, hi] (either may be None: open)."""
    first = amount_band(lo) if lo is not None else 0
    last = amount_band(hi) if hi is not None else len(AMOUNT_EDGES)
    assert first is not None and last is not None
    return list(range(first, last + 1))


def filter_tags(kind: Any, region_id: Any, amount: Any) -> list[str]:
    tags = [f"k{str(kind).replace('_', '')}", f"r{int(region_id)}"]
    band = amount_band(amount)
    if band is not None:
        tags.append(f"a{band}")
    return tags


#: SQLite: FTS5 rowid = seconds of publication since 2000 << 31 | notice id, so that the index
#: order is the publication order (newest first = ORDER BY rowid DESC) and the id is rowid & ID_MASK
ID_BITS = 31
ID_MASK = (1 << ID_BITS) - 1
EPOCH = dt.datetime(2000, 1, 1)


def sort_second(published_at: Any) -> int:
    if isinstance(published_at, str):
        published_at = dt.datetime.fromisoformat(published_at)
    if isinstance(published_at, dt.date) and not isinstance(published_at, dt.datetime):
        published_at = dt.datetime.combine(published_at, dt.time())
    return min(max(int((published_at - EPOCH).total_seconds()), 0), (1 << 32) - 1)


def sort_key(published_at: Any, notice_id: int) -> int:
    return sort_second(published_at) << ID_BITS | int(notice_id)


def _tsvector(title_toks: str, body_toks: str, tags: list[str] | None = None) -> str:
    from core.services.cjk_search import segment

    return " ".join(x for x in (segment(title_toks.split(), "A"), segment(body_toks.split(), "B"),
                                segment(tags or [], "D")) if x)


def pg_document(notice_id: int, title: str, body: str, kind: str, region_id: int, amount: Any,
                published_at: Any) -> str:
    """PostgreSQL: the ``search_vector`` text of a notice (what :func:`index_notices` writes)."""
    return _tsvector(*index_tokens(title, body), filter_tags(kind, region_id, amount))


def index_notices(conn: Any, rows: list[tuple]) -> None:
    """Write the keyword index of published notices (PostgreSQL column; SQLite FTS5 rows).
    ``rows``: (id, title, body, kind, region_id, amount, published_at)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("UPDATE nh_notice SET search_vector = CAST(:v AS tsvector) WHERE id = :id"),
                     [{"id": r[0], "v": pg_document(*r)} for r in rows])
        return
    docs = []
    for i, t, b, kind, region_id, amount, published_at in rows:
        tt, bb = index_tokens(t, b)
        docs.append({"id": i, "k": sort_key(published_at, i), "t": tt, "b": bb,
                     "g": " ".join(filter_tags(kind, region_id, amount))})
    conn.execute(text(f"INSERT OR REPLACE INTO {FTS_TABLE}(rowid, title, body, tags) VALUES (:k, :t, :b, :g)"),
                 docs)
    # SQLite: the column only marks the notice as indexed (its index is the FTS5 table)
    conn.execute(text("UPDATE nh_notice SET search_vector = '1' WHERE id = :id"), [{"id": d["id"]} for d in docs])


INDEX_COLUMNS = "id, title, body, kind, region_id, amount, published_at"


def catch_up_index(conn: Any, limit: int = 50_000) -> int:
    """Index published notices that arrived around :func:`publish` (demo data, imports)."""
    rows = [tuple(r) for r in conn.execute(text(
        f"SELECT {INDEX_COLUMNS} FROM nh_notice WHERE status = 'published' AND search_vector IS NULL "
        "ORDER BY id LIMIT :n"), {"n": limit})]
    index_notices(conn, rows)
    return len(rows)


def after_core_insert(conn: Any, clauseelement: Any, multiparams: Any, params: Any,
                      execution_options: Any, result: Any) -> None:
    """Rows inserted into nh_notice outside :func:`publish` (the data loader of demo data,
    imports) that are already published: index them on the same connection and transaction
    (a partial index finds them; one cheap query per INSERT statement otherwise)."""
    from sqlalchemy.sql.dml import Insert

    if isinstance(clauseelement, Insert) and getattr(clauseelement.table, "name", None) == "nh_notice":
        catch_up_index(conn)


def install_listeners() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "after_execute", after_core_insert):
        event.listen(Engine, "after_execute", after_core_insert)


# -- deadlines -----------------------------------------------------------------------------------
def deadline_rows(session: Session, *, on: dt.date | None = None, which: str = "all",
                  limit: int = 500) -> list[dict[str, Any]]:
    """The officials' deadline list: drafts due (deadline today or later), overdue (past it,
    not published) and published late (with the delay in working days)."""
    on = on or today()
    q = select(Notice).where(Notice.due_date.is_not(None))
    if which == "due":
        q = q.where(Notice.status == "draft", Notice.due_date >= on)
    elif which == "overdue":
        q = q.where(Notice.status == "draft", Notice.due_date < on)
    elif which == "late":
        q = q.where(Notice.status == "published", Notice.delay_workdays > 0)
    else:
        q = q.where((Notice.status == "draft") | (Notice.delay_workdays > 0))
    out = []
    for n in session.scalars(q.order_by(Notice.due_date, Notice.id).limit(limit)):
        if n.status == "draft":
            state = "overdue" if n.due_date < on else "due"
            days = workdays.working_days_between(on, n.due_date, session) if state == "due" else \
                workdays.working_days_between(n.due_date, on, session)
        else:
            state, days = "late", n.delay_workdays or 0
        out.append({"notice": n, "state": state, "days": days})
    return out


DEADLINE_STATES = {"due": "待发布（未到期）", "overdue": "已逾期未发布", "late": "逾期发布"}


def deadline_counts(session: Session, on: dt.date | None = None) -> dict[str, int]:
    on = on or today()

    def n(*where: Any) -> int:
        return session.scalar(select(func.count()).select_from(Notice).where(*where)) or 0

    return {
        "due": n(Notice.status == "draft", Notice.due_date >= on),
        "overdue": n(Notice.status == "draft", Notice.due_date < on),
        "late": n(Notice.status == "published", Notice.delay_workdays > 0),
    }


def check_deadlines(session: Session, on: dt.date | None = None) -> int:
    """The periodic deadline check: tell each publishing organisation once per day of the
    drafts that fall due tomorrow or are overdue (idempotent per notice, state and day)."""
    from core.messages import Message, notify

    on = on or today()
    sent = 0
    for row in deadline_rows(session, on=on, which="overdue") + [
            r for r in deadline_rows(session, on=on, which="due") if r["days"] <= 1]:
        n = row["notice"]
        if n.publisher_org_id is None:
            continue
        kind = f"notice_hub.{row['state']}"
        title = (f"公告已逾期未发布：{n.title}" if row["state"] == "overdue"
                 else f"公告将于 {n.due_date.isoformat()} 到期：{n.title}")
        link = f"/noticeview/show/{n.id}"
        stamp = f"{link}?d={on.isoformat()}"
        if session.scalar(select(func.count()).select_from(Message).where(
                Message.kind == kind, Message.link == stamp).execution_options(**UNSCOPED)):
            continue
        notify(session, org_id=n.publisher_org_id, kind=kind, title=title[:200],
               body=f"法定发布期限 {n.due_date.isoformat()}，请尽快审核发布。", link=stamp)
        sent += 1
    return sent


STATE_LABELS = STATES
