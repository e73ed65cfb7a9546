"""Reports of ``expert_credit`` (pages 统计报表, Excel exports): evaluation completion and
timeliness per agency, score distribution, experts drawn most often, declines; and the
expert list export (ID numbers masked per :mod:`.masking`).

Queries run on the ORM session, so the central region scoping applies: a 长春市 user
counts 长春市's evaluations and assignments only.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core.models import Organization
from core.services.charts import bar_chart
from core.services.export import ColumnSpec, write_xlsx, xlsx_response_iter

from . import masking, services
from .models import BANDS, EXPERT_STATES, Assignment, Evaluation, Expert

CST = dt.timezone(dt.timedelta(hours=8), "CST")
REPORTS = {"completion": "履职评价完成及时率", "scores": "信用分分布", "most_drawn": "抽中次数最多的专家",
           "declines": "拒绝评审统计"}
BUCKETS = [("0–59", 0, 60), ("60–74", 60, 75), ("75–84", 75, 85), ("85–100", 85, 101)]


def _stamp() -> str:
    return dt.datetime.now(CST).strftime("%Y%m%d%H%M")


def completion(session: Session, on: dt.date | None = None) -> list[dict[str, Any]]:
    on = on or services.today()
    rows = session.execute(select(Evaluation.evaluator_org_id, Evaluation.status,
                                  Evaluation.due_date, Evaluation.submitted_at)).all()
    names = dict(session.execute(select(Organization.id, Organization.name)).all())
    agg: dict[Any, dict[str, int]] = {}
    for org, status, due, submitted in rows:
        a = agg.setdefault(org, {"total": 0, "done": 0, "on_time": 0, "overdue": 0})
        a["total"] += 1
        if status != "pending":
            a["done"] += 1
            if submitted is not None and submitted <= due:
                a["on_time"] += 1
        elif due < on:
            a["overdue"] += 1
    out = []
    for org, a in sorted(agg.items(), key=lambda kv: names.get(kv[0], "")):
        out.append({"agency": names.get(org, "（未指定）"), **a,
                    "completion": Decimal(a["done"]) / a["total"] if a["total"] else Decimal(0),
                    "timeliness": Decimal(a["on_time"]) / a["done"] if a["done"] else Decimal(0)})
    return out


def scores(session: Session) -> dict[str, Any]:
    experts = session.execute(select(Expert.credit_score, Expert.credit_band)).all()
    bands = Counter(b for _, b in experts)
    buckets = [sum(1 for s, _ in experts if s is not None and lo <= s < hi)
               for _, lo, hi in BUCKETS]
    return {"bands": [(BANDS[b], bands.get(b, 0)) for b in BANDS],
            "buckets": list(zip([b[0] for b in BUCKETS], buckets, strict=True)),
            "total": len(experts)}


def most_drawn(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Assignment.expert_id, func.max(Assignment.expert_name), func.count(Assignment.id),
               func.sum(case((Assignment.status == "accepted", 1), else_=0)))
        .group_by(Assignment.expert_id)
        .order_by(func.count(Assignment.id).desc(), Assignment.expert_id).limit(limit)).all()
    visible = services.names_visible(None)
    return [{"expert_id": eid, "name": name if visible else services.HIDDEN_NAME, "drawn": n,
             "accepted": int(acc or 0)} for eid, name, n, acc in rows]


def declines(session: Session) -> dict[str, Any]:
    rows = session.execute(select(Assignment.review_date, Assignment.status,
                                  Assignment.decline_reason)).all()
    months: dict[str, list[int]] = {}
    reasons: Counter[str] = Counter()
    for day, status, reason in rows:
        m = months.setdefault(day.strftime("%Y-%m"), [0, 0])
        m[0] += 1
        if status == "declined":
            m[1] += 1
            reasons[(reason or "未说明").strip()[:20]] += 1
    if months:  # a month without draws is shown as zero, never skipped
        from core.services.charts import fill_months

        labels, _ = fill_months({}, min(months), max(months))
        months = {k: months.get(k, [0, 0]) for k in labels}
    ordered = sorted(months.items())
    return {"months": [{"month": k, "drawn": v[0], "declined": v[1],
                        "rate": Decimal(v[1]) / v[0] if v[0] else Decimal(0)} for k, v in ordered],
            "reasons": reasons.most_common(10)}


def build_all(session: Session) -> dict[str, Any]:
    return {"completion": completion(session), "scores": scores(session),
            "most_drawn": most_drawn(session), "declines": declines(session)}


def charts(data: dict[str, Any]) -> dict[str, Any]:
    comp = data["completion"]
    out = {
        "completion": bar_chart(
            [r["agency"][:14] for r in comp],
            {"按期完成": [r["on_time"] for r in comp],
             "逾期完成": [r["done"] - r["on_time"] for r in comp],
             "逾期未评": [r["overdue"] for r in comp]},
            title="各机构履职评价完成情况", unit="条", stacked=True, horizontal=True),
        "scores": bar_chart([b for b, _ in data["scores"]["buckets"]],
                            {"专家人数": [n for _, n in data["scores"]["buckets"]]},
                            title="信用分分布", unit="人"),
        "most_drawn": bar_chart([r["name"][:10] + f"#{r['expert_id']}" for r in data["most_drawn"][:10]],
                                {"抽中": [r["drawn"] for r in data["most_drawn"][:10]],
                                 "接受": [r["accepted"] for r in data["most_drawn"][:10]]},
                                title="抽中次数最多的专家（前 10 名）", unit="次", horizontal=True),
        "declines": bar_chart([m["month"] for m in data["declines"]["months"]],
                              {"抽中": [m["drawn"] for m in data["declines"]["months"]],
                               "拒绝": [m["declined"] for m in data["declines"]["months"]]},
                              title="各月抽中与拒绝人次", unit="人次"),
    }
    return out


def export(session: Session, name: str) -> tuple[bytes, str]:
    if name == "completion":
        rows = completion(session)
        cols = [ColumnSpec("agency", "评价机构", width=36), ColumnSpec("total", "应评价", "int"),
                ColumnSpec("done", "已评价", "int"), ColumnSpec("on_time", "按期评价", "int"),
                ColumnSpec("overdue", "逾期未评", "int"),
                ColumnSpec("completion", "完成率", "percent"),
                ColumnSpec("timeliness", "及时率", "percent")]
    elif name == "scores":
        data = scores(session)
        rows = [{"group": f"分数段 {b}", "n": n} for b, n in data["buckets"]] + [
            {"group": f"等级 {b}", "n": n} for b, n in data["bands"]]
        cols = [ColumnSpec("group", "分组", width=24), ColumnSpec("n", "专家人数", "int", total=False)]
    elif name == "most_drawn":
        rows = most_drawn(session, limit=200)
        cols = [ColumnSpec("expert_id", "专家编号", "int", total=False),
                ColumnSpec("name", "姓名"), ColumnSpec("drawn", "抽中次数", "int"),
                ColumnSpec("accepted", "接受次数", "int")]
    else:
        rows = declines(session)["months"]
        cols = [ColumnSpec("month", "月份"), ColumnSpec("drawn", "抽中人次", "int"),
                ColumnSpec("declined", "拒绝人次", "int"), ColumnSpec("rate", "拒绝率", "percent")]
    body = write_xlsx(rows, cols, sheet_name=REPORTS[name], title=REPORTS[name])
    return body, f"{REPORTS[name]}_{_stamp()}.xlsx"


EXPERT_COLUMNS = [
    ColumnSpec("id", "编号", "int", total=False), ColumnSpec("name", "姓名"),
    ColumnSpec("id_number", "身份证号码", width=22), ColumnSpec("region", "所属地区"),
    ColumnSpec("employer", "工作单位", width=30), ColumnSpec("title", "专业技术职称"),
    ColumnSpec("specialties", "评审专业", width=30), ColumnSpec("status", "状态"),
    ColumnSpec("suspended_until", "暂停截止日期", "date"), ColumnSpec("score", "信用分"),
    ColumnSpec("band", "信用等级"),
]


def expert_rows(query: Any) -> list[dict[str, Any]]:
    manager = services.manages_experts()
    out = []
    for e in query:
        out.append({"id": e.id, "name": e.name,
                    "id_number": masking.id_for_viewer(e.id_number, manager=manager),
                    "region": e.region.name if e.region else "",
                    "employer": e.employer_name or "", "title": e.title or "",
                    "specialties": "、".join(s.catalog.code for s in e.specialties if s.catalog),
                    "status": EXPERT_STATES.get(e.status, e.status),
                    "suspended_until": e.suspended_until,
                    "score": str(e.credit_score) if e.credit_score is not None else "",
                    "band": BANDS.get(e.credit_band, e.credit_band)})
    return out


def expert_xlsx(query: Any) -> tuple[Any, str]:
    body = xlsx_response_iter(expert_rows(query), EXPERT_COLUMNS, sheet_name="评审专家",
                              title="评审专家一览表")
    return body, f"评审专家_{_stamp()}.xlsx"
