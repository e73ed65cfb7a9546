"""The province's statistics of the negative list (evidence for the next revision of the
list): findings per rule, per region and per agency, how they were resolved (edited,
justified, accepted, rejected, still open) and per month, with charts
(:mod:`core.services.charts`) and Excel (:mod:`core.services.export`). Queries run in the
user's scope: a province-wide user sees the province, a city's auditor the city."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from addons.procurement_base.models import Project
from core.models import Organization, Region
from core.services.charts import bar_chart, fill_months, line_chart
from core.services.export import ColumnSpec, XlsxSheet, write_workbook

from .models import FINDING_STATES, SOURCES, NlDocument, NlFinding

STATUS_KEYS = tuple(FINDING_STATES)
REPORTS = {"rules": "按规则统计", "regions": "按地区统计", "agencies": "按代理机构统计",
           "months": "按月统计"}


def _counts() -> list[Any]:
    return [func.count(NlFinding.id).label("total"),
            *[func.sum(case((NlFinding.status == s, 1), else_=0)).label(s) for s in STATUS_KEYS]]


def _rows(session: Session, *keys: Any, group: list[Any] | None = None, join: Any = None,
          order: Any = None) -> list[dict[str, Any]]:
    stmt = select(*keys, *_counts()).select_from(NlFinding)
    for target, cond in join or ():
        stmt = stmt.outerjoin(target, cond)
    stmt = stmt.group_by(*(group or keys)).order_by(order if order is not None else func.count(NlFinding.id).desc())
    out = []
    for row in session.execute(stmt).mappings():
        d = dict(row)
        for s in STATUS_KEYS:
            d[s] = int(d[s] or 0)
        d["unresolved"] = d["open"] + d["rejected"]
        d["justified_all"] = d["justified"] + d["accepted"]
        out.append(d)
    return out


def by_rule(session: Session) -> list[dict[str, Any]]:
    return _rows(session, NlFinding.rule_code.label("code"), NlFinding.rule_name.label("name"),
                 group=[NlFinding.rule_code, NlFinding.rule_name])


def by_region(session: Session) -> list[dict[str, Any]]:
    return _rows(session, Region.name.label("region"), group=[Region.name],
                 join=[(Region, Region.id == NlFinding.region_id)])


def by_agency(session: Session) -> list[dict[str, Any]]:
    agency = aliased(Organization)
    rows = _rows(session, agency.name.label("agency"), group=[agency.name],
                 join=[(Project, Project.id == NlFinding.project_id),
                       (agency, agency.id == Project.agency_id)])
    for r in rows:
        r["agency"] = r["agency"] or "（采购人自行组织）"
    return rows


def by_month(session: Session) -> list[dict[str, Any]]:
    rows = session.execute(select(NlFinding.created_at, NlFinding.status)).all()
    months: dict[str, dict[str, Any]] = {}
    for created, status in rows:
        key = created.strftime("%Y-%m")
        m = months.setdefault(key, {"month": key, "total": 0, **dict.fromkeys(STATUS_KEYS, 0)})
        m["total"] += 1
        m[status] += 1
    for m in months.values():
        m["unresolved"] = m["open"] + m["rejected"]
        m["justified_all"] = m["justified"] + m["accepted"]
    return [months[k] for k in sorted(months)]


def build(session: Session) -> dict[str, Any]:
    totals = dict.fromkeys(STATUS_KEYS, 0)
    for status, n in session.execute(select(NlFinding.status, func.count(NlFinding.id))
                                     .group_by(NlFinding.status)):
        totals[status] = n
    projects = session.scalar(select(func.count(func.distinct(NlFinding.project_id)))) or 0
    documents = session.scalar(select(func.count(NlDocument.id))) or 0
    return {"totals": totals, "total": sum(totals.values()), "projects": projects,
            "documents": documents, "rules": by_rule(session), "regions": by_region(session),
            "agencies": by_agency(session), "months": by_month(session)}


def charts(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if data["rules"]:
        top = data["rules"][:15]
        out["rules"] = bar_chart([f"{r['code']} {r['name'][:14]}" for r in top],
                                 {"已修改": [r["edited"] for r in top],
                                  "说明理由": [r["justified_all"] for r in top],
                                  "未处理": [r["unresolved"] for r in top]},
                                 title="各规则的检查结果（前 15 条）", unit="条", stacked=True,
                                 horizontal=True)
    if data["regions"]:
        out["regions"] = bar_chart([r["region"] for r in data["regions"]],
                                   {"已修改": [r["edited"] for r in data["regions"]],
                                    "说明理由": [r["justified_all"] for r in data["regions"]],
                                    "未处理": [r["unresolved"] for r in data["regions"]]},
                                   title="各地区的检查结果", unit="条", stacked=True)
    if data["months"]:
        values = {m["month"]: m["total"] for m in data["months"]}
        labels, totals = fill_months(values, data["months"][0]["month"], data["months"][-1]["month"])
        edited = fill_months({m["month"]: m["edited"] for m in data["months"]}, labels[0], labels[-1])[1]
        out["months"] = line_chart(labels, {"检查结果": totals, "已修改": edited},
                                   title="各月检查结果", unit="条")
    return out


def _status_columns() -> list[ColumnSpec]:
    return [ColumnSpec("total", "检查结果", "int"), ColumnSpec("edited", "已修改", "int"),
            ColumnSpec("justified", "已说明理由（待审核）", "int"),
            ColumnSpec("accepted", "理由已认可", "int"), ColumnSpec("rejected", "理由未被认可", "int"),
            ColumnSpec("open", "待处理", "int")]


def export(session: Session) -> tuple[bytes, str]:
    """One workbook, a sheet per view of the statistics."""
    import io

    data = build(session)
    sheets = [
        XlsxSheet(data["rules"], [ColumnSpec("code", "规则编号"), ColumnSpec("name", "规则名称", width=40),
                                  *_status_columns()], REPORTS["rules"], "负面清单检查结果（按规则）"),
        XlsxSheet(data["regions"], [ColumnSpec("region", "地区", width=20), *_status_columns()],
                  REPORTS["regions"], "负面清单检查结果（按地区）"),
        XlsxSheet(data["agencies"], [ColumnSpec("agency", "代理机构", width=36), *_status_columns()],
                  REPORTS["agencies"], "负面清单检查结果（按代理机构）"),
        XlsxSheet(data["months"], [ColumnSpec("month", "月份"), *_status_columns()],
                  REPORTS["months"], "负面清单检查结果（按月）"),
    ]
    buf = io.BytesIO()
    write_workbook(buf, sheets)
    return buf.getvalue(), f"负面清单检查统计_{dt.date.today():%Y%m%d}.xlsx"


def finding_json(f: NlFinding) -> dict[str, Any]:
    return {"id": f.id, "rule_code": f.rule_code, "rule_name": f.rule_name, "matched": f.matched,
            "quote": f.quote, "section": f.section, "section_kind": f.section_kind,
            "location": f.location, "legal_basis": f.legal_basis, "status": f.status,
            "status_label": FINDING_STATES[f.status]}


def document_json(doc: NlDocument) -> dict[str, Any]:
    return {"id": doc.id, "project_id": doc.project_id, "title": doc.title, "source": doc.source,
            "source_label": SOURCES.get(doc.source, doc.source), "filename": doc.filename,
            "size_bytes": doc.size_bytes, "rules_checked": doc.rules_checked,
            "checked_at": doc.checked_at.isoformat() if doc.checked_at else None,
            "findings": [finding_json(f) for f in doc.findings]}
