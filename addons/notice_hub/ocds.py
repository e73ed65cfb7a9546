"""OCDS 1.1.5: one release per published notice, compiled records per contracting process,
release packages per notice and bulk packages per region and month (streamed in constant
memory). Mapping choices: docs/notice_hub.md, "OCDS".

* **ocid**: ``<notice_hub.ocid_prefix>-<process>``; the process is the producing record's
  (``pb-project-<id>``, ``emall-<comparison number>``, ``fa-<agreement>``...), so every notice of
  one project shares its ocid; a 更正 keeps its original's.
* **release id**: ``<ocid>-<notice number>``; ``date`` the publication time (+08:00); ``tag``
  from the notice type (公告类型对照表, column OCDS 发布标签).
* **parties**: organisations with their unified social credit code as identifier (scheme
  ``CN-USCC``); ``id`` ``CN-USCC-<code>`` (``org-<id>`` without a code).
* A module may add to a release through :data:`RELEASE_EXTENDERS` (the framework-agreement
  module links each call-off to its agreement with ``relatedProcesses`` ``framework``), or
  give ``data["related_processes"]`` in its draft.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.hooks import Hook
from core.models import Organization
from core.tenancy import snapshot

from .models import DEFAULT_TAGS, Notice, NoticeType

SCHEMA_DIR = Path(__file__).resolve().parent / "ocds_schema"
VERSION = "1.1"
PUBLISHER = {"name": "吉林省财政厅（吉林省政府采购网）"}
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
CST = dt.timezone(dt.timedelta(hours=8))
SCHEME = "CN-USCC"

RELEASE_EXTENDERS = Hook(
    "notice_hub.ocds_release",
    doc="fn(session, notice, data: dict, release: dict) -> None: add to the OCDS release of a "
        "notice of the implementing module (e.g. relatedProcesses 'framework' for a call-off, "
        "tender.techniques.hasFrameworkAgreement); only the keys of the 1.1.5 release schema.",
)

#: procurement methods (procurement_base codes) -> OCDS procurementMethod
METHODS = {
    "public_tender": "open", "invitation": "selective", "competitive_negotiation": "limited",
    "competitive_consultation": "limited", "single_source": "direct", "inquiry": "limited",
    "framework_agreement": "open", "emall": "open", "comparison": "open",
}
METHOD_DETAILS = {
    "public_tender": "公开招标", "invitation": "邀请招标", "competitive_negotiation": "竞争性谈判",
    "competitive_consultation": "竞争性磋商", "single_source": "单一来源", "inquiry": "询价",
    "framework_agreement": "框架协议采购", "emall": "电子卖场", "comparison": "电子卖场竞价",
}
#: tender status by notice kind (the notice says where the process stands)
TENDER_STATUS = {
    "procurement": "active", "change": "active", "termination": "cancelled", "award": "complete",
    "contract": "complete", "framework_solicitation": "active", "framework_shortlist": "complete",
    "framework_change": "complete", "framework_deal": "complete", "framework_summary": "complete",
    "emall_result": "complete",
}


class ExportError(ValueError):
    """A bad export request (the CLI and the pages show the message)."""


def _iso(value: dt.datetime | None) -> str:
    return (value or dt.datetime(2000, 1, 1)).replace(tzinfo=CST, microsecond=0).isoformat()


def _value(amount: Any) -> dict[str, Any] | None:
    if amount in (None, ""):
        return None
    # OCDS amounts are JSON numbers: the two-decimal amount, converted only here (a float's
    # shortest text round-trips every amount below 10^15 exactly)
    return {"amount": float(Decimal(str(amount)).quantize(Decimal("0.01"))), "currency": "CNY"}


class _Parties:
    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Any]] = {}

    def add(self, party: dict[str, Any] | None, role: str) -> dict[str, str] | None:
        if not party or not party.get("name"):
            return None
        code = party.get("credit_code")
        pid = f"{SCHEME}-{code}" if code else f"org-{party.get('id') or party['name']}"
        entry = self.by_id.get(pid)
        if entry is None:
            entry = {"id": pid, "name": party["name"], "roles": []}
            if code:
                entry["identifier"] = {"scheme": SCHEME, "id": code, "legalName": party["name"]}
            self.by_id[pid] = entry
        if role not in entry["roles"]:
            entry["roles"].append(role)
        return {"id": pid, "name": party["name"]}


def _org(session: Session, oid: int | None, cache: dict[int, Any] | None = None) -> dict[str, Any] | None:
    if not oid:
        return None
    if cache is not None and oid in cache:
        return cache[oid]
    org = session.get(Organization, oid)
    out = {"id": org.id, "name": org.name, "credit_code": org.credit_code} if org is not None else None
    if cache is not None:
        cache[oid] = out
    return out


def release(session: Session, notice: Notice, *, tags: dict[str, str] | None = None,
            orgs: dict[int, Any] | None = None) -> dict[str, Any]:
    """The OCDS release of a published notice."""
    data = json.loads(notice.data) if notice.data else {}
    if tags is None:
        tags = tag_table(session)
    parties = _Parties()
    buyer = parties.add(data.get("purchaser") or _org(session, notice.purchaser_org_id, orgs), "buyer")
    publisher = data.get("agency") or _org(session, notice.publisher_org_id, orgs)
    proc = parties.add(publisher, "procuringEntity")
    method = data.get("method")
    rel: dict[str, Any] = {
        "ocid": notice.ocid, "id": f"{notice.ocid}-{notice.number or notice.id}",
        "date": _iso(notice.published_at), "tag": [tags.get(notice.kind, DEFAULT_TAGS.get(notice.kind, "tender"))],
        "initiationType": "tender", "language": "zh",
    }
    if buyer:
        rel["buyer"] = buyer
    tender: dict[str, Any] = {"id": str(data.get("project_number") or data.get("process") or notice.id),
                              "title": data.get("project_name") or notice.title}
    if notice.kind in TENDER_STATUS:
        tender["status"] = TENDER_STATUS[notice.kind]
    if method:
        tender["procurementMethod"] = METHODS.get(method, "open")
        tender["procurementMethodDetails"] = METHOD_DETAILS.get(method, method)
    if data.get("budget"):
        tender["value"] = _value(data["budget"])
    if proc:
        tender["procuringEntity"] = proc
    if notice.kind == "deposit_cleanup" or notice.kind == "sme_disclosure":
        rel["planning"] = {"rationale": notice.title}
    else:
        rel["tender"] = tender
    awards = []
    for i, a in enumerate(data.get("awards") or [], 1):
        sup = parties.add(a.get("supplier"), "supplier")
        awards.append({"id": f"{notice.ocid}-award-{a.get('package') or i}",
                       "title": a.get("package_name") or notice.title, "status": "active",
                       "date": _iso(notice.published_at), "value": _value(a.get("amount")),
                       "suppliers": [sup] if sup else []})
    if notice.kind == "emall_result" and data.get("supplier"):
        sup = parties.add(data["supplier"], "supplier")
        awards.append({"id": f"{notice.ocid}-award-1", "title": notice.title, "status": "active",
                       "date": _iso(notice.published_at), "value": _value(data.get("award_amount")),
                       "suppliers": [sup] if sup else []})
    if awards:
        rel["awards"] = awards
    if notice.kind == "contract":
        sup = parties.add(data.get("supplier"), "supplier")
        award_id = f"{notice.ocid}-award-contract-{notice.source_id}"
        rel.setdefault("awards", []).append({"id": award_id, "status": "active",
                                             "value": _value(data.get("amount")),
                                             "suppliers": [sup] if sup else []})
        rel["contracts"] = [{"id": f"{notice.ocid}-contract-{notice.source_id}", "awardID": award_id,
                             "title": data.get("contract_number") or notice.title,
                             "status": "active", "value": _value(data.get("amount")),
                             "dateSigned": f"{data['signed_date']}T00:00:00+08:00"
                             if data.get("signed_date") else None}]
    related = []
    for i, r in enumerate(data.get("related_processes") or [], 1):
        related.append({"id": str(i), "relationship": list(r.get("relationship") or ["framework"]),
                        "title": r.get("title") or "", "scheme": "ocid", "identifier": r["ocid"]})
    if notice.refers_to_id is not None and notice.refers_to is not None:
        related.append({"id": str(len(related) + 1), "relationship": ["parent"],
                        "title": f"更正的原公告 {notice.refers_to.number}", "scheme": "ocid",
                        "identifier": notice.refers_to.ocid})
    if related:
        rel["relatedProcesses"] = related
    if parties.by_id:
        rel["parties"] = list(parties.by_id.values())
    RELEASE_EXTENDERS.call(notice.region_id, session, notice, data, rel)
    return _clean(rel)


def _clean(obj: Any) -> Any:
    """Drop None values and empty containers (OCDS: omit what is not known)."""
    if isinstance(obj, dict):
        out = {k: _clean(v) for k, v in obj.items()}
        return {k: v for k, v in out.items() if v is not None and v != [] and v != {}}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def tag_table(session: Session) -> dict[str, str]:
    return dict(session.execute(select(NoticeType.kind, NoticeType.ocds_tag)
                                .execution_options(erp_unscoped=True)).all())


def package_meta(uri: str) -> dict[str, Any]:
    return {"uri": uri, "version": VERSION, "publishedDate": _iso(dt.datetime.now(CST).replace(tzinfo=None)),
            "publisher": PUBLISHER, "license": LICENSE,
            "publicationPolicy": "https://www.ccgp-jilin.gov.cn/ocds/policy"}


def release_package(session: Session, notice: Notice, base_url: str) -> dict[str, Any]:
    return {**package_meta(f"{base_url}/ocds/releases/{notice.id}.json"),
            "releases": [release(session, notice)]}


# -- compiled records ----------------------------------------------------------------------------
def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    """OCDS merge: objects merged field by field, arrays of objects with ``id`` merged by id,
    other values replaced by the newer release's."""
    for key, value in new.items():
        old = into.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            _merge(old, value)
        elif (isinstance(value, list) and isinstance(old, list) and value and
              all(isinstance(v, dict) and "id" in v for v in value)):
            by_id = {o.get("id"): o for o in old if isinstance(o, dict)}
            for v in value:
                if v["id"] in by_id:
                    _merge(by_id[v["id"]], v)
                else:
                    old.append(json.loads(json.dumps(v)))
        else:
            into[key] = json.loads(json.dumps(value))


def record(session: Session, ocid: str, base_url: str) -> dict[str, Any] | None:
    notices = list(session.scalars(select(Notice).where(Notice.ocid == ocid, Notice.status == "published")
                                   .order_by(Notice.published_at, Notice.id)))
    if not notices:
        return None
    tags = tag_table(session)
    releases = [release(session, n, tags=tags) for n in notices]
    compiled: dict[str, Any] = {}
    for r in releases:
        _merge(compiled, {k: v for k, v in r.items() if k != "tag"})
    compiled["tag"] = ["compiled"]
    compiled["id"] = f"{ocid}-compiled"
    return {"ocid": ocid, "releases": [{"url": f"{base_url}/ocds/releases/{n.id}.json", "date": r["date"],
                                        "tag": r["tag"]} for n, r in zip(notices, releases, strict=True)],
            "compiledRelease": compiled}


def record_package(session: Session, ocid: str, base_url: str) -> dict[str, Any] | None:
    rec = record(session, ocid, base_url)
    if rec is None:
        return None
    return {**package_meta(f"{base_url}/ocds/records/{ocid}.json"), "records": [rec]}


# -- bulk: per region and month, streamed ------------------------------------------------------------
def month_bounds(month: str) -> tuple[dt.datetime, dt.datetime]:
    try:
        year, mon = (int(x) for x in month.split("-"))
        last = calendar.monthrange(year, mon)[1]
    except (ValueError, calendar.IllegalMonthError):
        raise ExportError(f"月份“{month}”格式不正确，应为 YYYY-MM") from None
    return dt.datetime(year, mon, 1), dt.datetime(year, mon, last) + dt.timedelta(days=1)


def stream_bulk(session: Session, region: str, month: str, base_url: str,
                batch: int = 500, subtree: bool = True) -> Iterator[str]:
    """A release package of every notice published in ``region`` (and its subordinate
    regions, unless ``subtree`` is false) in ``month``, as JSON text chunks: one batch of
    rows in memory at a time."""
    snap = snapshot()
    if region not in snap.id_of:
        raise ExportError(f"没有行政区划代码为“{region}”的地区")
    start, end = month_bounds(month)
    regions = sorted(snap.subtree(snap.id_of[region])) if subtree else [snap.id_of[region]]
    meta = package_meta(f"{base_url}/ocds/bulk/{region}/{month}.json")
    head = json.dumps(meta, ensure_ascii=False, separators=(",", ":"))[:-1]
    yield head + ',"releases":['
    tags = tag_table(session)
    orgs: dict[int, Any] = {}  # organisations repeat across notices (bounded by their number)
    last_key: tuple[dt.datetime, int] | None = None
    first = True
    while True:
        q = (select(Notice).where(Notice.status == "published", Notice.region_id.in_(regions),
                                  Notice.published_at >= start, Notice.published_at < end)
             .order_by(Notice.published_at, Notice.id).limit(batch))
        if last_key is not None:
            q = q.where((Notice.published_at > last_key[0]) |
                        ((Notice.published_at == last_key[0]) & (Notice.id > last_key[1])))
        rows = list(session.scalars(q))
        if not rows:
            break
        parts = []
        for n in rows:
            parts.append(("" if first else ",") + json.dumps(release(session, n, tags=tags, orgs=orgs),
                                                             ensure_ascii=False, separators=(",", ":")))
            first = False
        last_key = (rows[-1].published_at, rows[-1].id)
        session.expunge_all()  # constant memory: forget the batch
        yield "".join(parts)
    yield "]}"


def months_between(start: dt.date, end: dt.date) -> list[str]:
    if start > end:
        raise ExportError(f"开始日期（{start.isoformat()}）不能晚于结束日期（{end.isoformat()}）")
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def regions_with_notices(session: Session, start: dt.date, end: dt.date) -> list[str]:
    """Region codes that published something in the range (each exported on its own)."""
    ids = session.scalars(select(Notice.region_id).where(
        Notice.status == "published", Notice.published_at >= dt.datetime.combine(start, dt.time()),
        Notice.published_at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time())).distinct())
    codes = snapshot().code_of
    return sorted(codes[i] for i in ids if i in codes)


# -- validation (tests, the CLI's --check) ------------------------------------------------------------
def validator(kind: str = "release-package") -> Any:
    """A jsonschema validator of the vendored OCDS 1.1.5 schema (no network)."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    base = "https://standard.open-contracting.org/schema/1__1__5/"
    registry = Registry().with_resources(
        (base + f.name, Resource.from_contents(json.loads(f.read_text(encoding="utf-8")),
                                               default_specification=DRAFT4))
        for f in SCHEMA_DIR.glob("*.json"))
    schema = json.loads((SCHEMA_DIR / f"{kind}-schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, registry=registry,
                                      format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
