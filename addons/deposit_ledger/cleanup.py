"""The cleanup of old deposits (保证金清理) and the finance bureau's figures, set-based.

One SQL statement classifies every deposit still held (or forfeited and not remitted) of a
project finished before the cut-off (``CASE`` in the database, no per-row ORM); pandas
shapes the report per agency and per region; the accrued late fee is computed for all rows
at once with exact integer arithmetic (the same formula and rounding as
:func:`services.late_fee`). Reads go through the session, so the central row scoping
limits them to the user's regions.

Categories: ``refundable`` (退还条件已满足: the trigger event is recorded), ``to_remit``
(已不予退还、待上缴国库), ``review`` (需核实: no trigger event recorded).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import BigInteger, case, cast, func, select
from sqlalchemy.orm import Session

from addons.procurement_base.models import Project
from core.models import Organization, Region
from core.services import settings
from core.services.export import ColumnSpec, XlsxSheet, write_workbook
from core.services.statemachine import TransitionError

from . import services
from .models import FORMS, KINDS, STATES, TRIGGERS, Deposit, DepositEntry

CATEGORIES = {"refundable": "可立即退还", "to_remit": "待上缴国库", "review": "需核实（缺少退还事由）"}
#: a project is finished (for the cleanup) in these states, on its last procurement date
FINISHED = ("awarded", "contracted", "completed", "terminated", "failed")


def default_cutoff(session: Session) -> dt.date:
    return settings.get("deposit.cleanup_cutoff", session=session)


def region_filter(session: Session, code: str | None) -> frozenset[int] | None:
    """The ids of region ``code`` and below (None: no filter)."""
    if not code:
        return None
    rows = session.execute(select(Region.id, Region.code, Region.parent_id)).all()
    by_code = {c: i for i, c, _ in rows}
    if code not in by_code:
        raise ValueError(f"地区代码 {code} 不存在")
    children: dict[int | None, list[int]] = {}
    for i, _, p in rows:
        children.setdefault(p, []).append(i)
    out, todo = set(), [by_code[code]]
    while todo:
        r = todo.pop()
        out.add(r)
        todo.extend(children.get(r, ()))
    return frozenset(out)


def _finish_expr():
    return func.coalesce(Project.contract_date, Project.award_date, Project.opening_date,
                         Project.notice_date)


def classify_stmt(cutoff: dt.date, region_ids: frozenset[int] | None = None):
    D, P = Deposit, Project
    finished = _finish_expr()
    category = case((D.status == "forfeited", "to_remit"),
                    (D.trigger_date.is_not(None), "refundable"), else_="review")
    stmt = (
        select(D.id, D.number, D.kind, D.form, D.status, D.region_id, D.holder_id,
               D.supplier_id, D.project_id, P.number.label("project_number"),
               P.name.label("project_name"), finished.label("finished"), D.received_date,
               D.trigger, D.trigger_date, D.due_date, D.supplier_fault,
               cast(func.round(D.amount * 100), BigInteger).label("fen"),
               category.label("category"))
        .join(P, P.id == D.project_id)
        .where(D.status.in_(("held", "forfeited")), P.status.in_(FINISHED), finished < cutoff)
        .order_by(D.id)
    )
    if region_ids is not None:
        stmt = stmt.where(D.region_id.in_(sorted(region_ids)))
    return stmt


COLUMNS = ["id", "number", "kind", "form", "status", "region_id", "holder_id", "supplier_id",
           "project_id", "project_number", "project_name", "finished", "received_date",
           "trigger", "trigger_date", "due_date", "supplier_fault", "fen", "category"]


def _day(value: Any) -> Any:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def classify(session: Session, cutoff: dt.date, *, region_ids: frozenset[int] | None = None,
             as_of: dt.date | None = None) -> pd.DataFrame:
    """One row per deposit to clean up, with names, overdue days and the accrued fee."""
    as_of = as_of or services.today()
    # plain tuples: pandas inspects Row objects one by one
    rows = [tuple(r) for r in session.execute(classify_stmt(cutoff, region_ids))]
    df = pd.DataFrame.from_records(rows, columns=COLUMNS)
    del rows
    for col in ("finished", "received_date", "trigger_date", "due_date"):
        if len(df) and not isinstance(df[col].iloc[0], dt.date | type(None)):
            df[col] = df[col].map(_day)
    df["fen"] = df["fen"].astype("int64") if len(df) else df["fen"]
    df["supplier_fault"] = df["supplier_fault"].astype(bool) if len(df) else df["supplier_fault"]
    _names(session, df)
    due = pd.to_datetime(df["due_date"], errors="coerce")
    overdue = (pd.Timestamp(as_of) - due).dt.days
    df["overdue_days"] = overdue.where(overdue > 0, 0).fillna(0).astype("int64") \
        if len(df) else pd.Series(dtype="int64")
    df["fee_fen"] = accrued_fees(session, df, as_of)
    return df


def _names(session: Session, df: pd.DataFrame) -> None:
    regions = session.execute(select(Region.id, Region.code, Region.name, Region.parent_id)).all()
    name = {i: n for i, _, n, _ in regions}
    code = {i: c for i, c, _, _ in regions}
    id_of = {c: i for i, c, _, _ in regions}

    def city(rid: int) -> str:
        c = code.get(rid, "")
        if len(c) == 6 and c[2:4] != "00":
            return name.get(id_of.get(c[:4] + "00"), name.get(rid, ""))
        return name.get(rid, "")

    org_ids = set(df["holder_id"]).union(df["supplier_id"]) if len(df) else set()
    orgs = dict(session.execute(select(Organization.id, Organization.name)
                                .where(Organization.id.in_(sorted(int(i) for i in org_ids))))
                .all()) if org_ids else {}
    df["region_name"] = df["region_id"].map(name)
    df["city"] = df["region_id"].map(city)
    df["holder"] = df["holder_id"].map(orgs)
    df["supplier"] = df["supplier_id"].map(orgs)


def accrued_fees(session: Session, df: pd.DataFrame, as_of: dt.date) -> pd.Series:
    """Accrued late fee in fen per row (0 for guarantees, forfeited deposits, supplier
    fault, not yet due). Exact integers: rate in 1/10000 %, markup as a fraction, one
    ROUND_HALF_UP per deposit, as :func:`services.late_fee`."""
    if not len(df):
        return pd.Series(dtype="int64")
    periods = services.lpr_periods(session)
    if not periods:
        return pd.Series(0, index=df.index, dtype="int64")
    markup = Decimal(settings.get("deposit.late_fee_markup", session=session))
    basis = int(settings.get("deposit.day_count_basis", session=session))
    m_num, m_den = markup.as_integer_ratio()
    epoch = dt.date(1970, 1, 1)
    starts = np.array([(d - epoch).days for d, _ in periods], dtype="int64")
    rates = np.array([int(r * 10000) for _, r in periods], dtype="int64")
    # cumulative rate-days up to (and including) each start - 1
    cum = np.concatenate([[0], np.cumsum(rates[:-1] * np.diff(starts))])

    def upto(days: np.ndarray) -> np.ndarray:
        """sum of rate units over the days (starts[0] .. d], clipped at the table's start."""
        d = np.maximum(days, starts[0] - 1)
        i = np.searchsorted(starts, d, side="right") - 1
        i = np.clip(i, 0, len(starts) - 1)
        out = cum[i] + rates[i] * (d - starts[i] + 1)
        return np.where(d < starts[0], 0, out)

    due = pd.to_datetime(df["due_date"], errors="coerce")
    mask = ((df["category"] == "refundable") & (df["form"] != "guarantee")
            & (~df["supplier_fault"]) & due.notna())
    fees = np.zeros(len(df), dtype=object)
    if mask.any():
        due_days = ((due[mask] - pd.Timestamp(epoch)).dt.days).to_numpy(dtype="int64")
        asof_day = (as_of - epoch).days
        units = upto(np.full_like(due_days, asof_day)) - upto(due_days)
        units = np.where(due_days < asof_day, units, 0)
        den = m_den * 10000 * 100 * basis
        fen = df.loc[mask, "fen"].to_numpy(dtype="int64")
        idx = np.flatnonzero(mask.to_numpy())
        for k, (p, u) in enumerate(zip(fen.tolist(), units.tolist(), strict=True)):
            num = p * u * m_num
            fees[idx[k]] = (2 * num + den) // (2 * den)  # ROUND_HALF_UP (num >= 0)
    return pd.Series(fees, index=df.index).fillna(0).astype("int64")


def summary(df: pd.DataFrame) -> dict[str, Any]:
    out = {}
    for key, label in CATEGORIES.items():
        part = df[df["category"] == key]
        out[key] = {"label": label, "count": int(len(part)), "amount": yuan(int(part["fen"].sum())),
                    "accrued_fee": yuan(int(part["fee_fen"].sum()))}
    return out


def yuan(fen: int) -> str:
    return str(Decimal(int(fen)).scaleb(-2).quantize(Decimal("0.01")))


def _dec(fen: Any) -> Decimal:
    return Decimal(int(fen)).scaleb(-2).quantize(Decimal("0.01"))


def row_json(r: Any) -> dict[str, Any]:
    return {"id": int(r.id), "number": r.number, "kind": r.kind, "form": r.form, "status": r.status,
            "category": r.category, "category_label": CATEGORIES[r.category],
            "project_number": r.project_number, "supplier": r.supplier, "holder": r.holder,
            "region": r.region_name, "amount": yuan(r.fen),
            "finished": r.finished.isoformat() if r.finished else None,
            "due_date": r.due_date.isoformat() if isinstance(r.due_date, dt.date) else None,
            "overdue_days": int(r.overdue_days), "accrued_fee": yuan(r.fee_fen)}


@dataclass
class Report:
    cutoff: dt.date
    rows: pd.DataFrame
    by_agency: pd.DataFrame
    by_region: pd.DataFrame


def _group(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if not len(df):
        cols = [*keys, "count", "fen", "refundable_count", "refundable_fen", "to_remit_count",
                "to_remit_fen", "review_count", "review_fen", "max_overdue_days", "fee_fen"]
        return pd.DataFrame(columns=cols)
    g = df.groupby(keys, dropna=False)
    out = g.agg(count=("id", "size"), fen=("fen", "sum"), max_overdue_days=("overdue_days", "max"),
                fee_fen=("fee_fen", "sum"))
    per = df.pivot_table(index=keys, columns="category", values="fen",
                         aggfunc=["size", "sum"], fill_value=0)
    for cat in CATEGORIES:
        out[f"{cat}_count"] = per["size"][cat] if ("size", cat) in per.columns else 0
        out[f"{cat}_fen"] = per["sum"][cat] if ("sum", cat) in per.columns else 0
    out = out.reset_index().sort_values("fen", ascending=False)
    return out


def report(session: Session, cutoff: dt.date, *, region_ids: frozenset[int] | None = None,
           as_of: dt.date | None = None) -> Report:
    df = classify(session, cutoff, region_ids=region_ids, as_of=as_of)
    return Report(cutoff, df, _group(df, ["holder", "city"]), _group(df, ["city"]))


def frame_json(df: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for rec in df.to_dict("records"):
        row = {}
        for k, v in rec.items():
            if k.endswith("fen"):
                row[k[:-3] + "amount" if k != "fen" else "amount"] = yuan(v)
            elif isinstance(v, np.integer):
                row[k] = int(v)
            elif isinstance(v, dt.date):
                row[k] = v.isoformat()
            else:
                row[k] = v
        out.append(row)
    return out


GROUP_COLUMNS = [
    ColumnSpec("count", "笔数", "int"), ColumnSpec("amount", "金额（元）", "money"),
    ColumnSpec("refundable_count", "可立即退还笔数", "int"),
    ColumnSpec("refundable_amount", "可立即退还金额", "money"),
    ColumnSpec("to_remit_count", "待上缴笔数", "int"),
    ColumnSpec("to_remit_amount", "待上缴金额", "money"),
    ColumnSpec("review_count", "需核实笔数", "int"), ColumnSpec("review_amount", "需核实金额", "money"),
    ColumnSpec("max_overdue_days", "最长逾期天数", "int", total=False),
    ColumnSpec("fee", "应计资金占用费（元）", "money"),
]
DETAIL_COLUMNS = [
    ColumnSpec("number", "保证金编号"), ColumnSpec("category", "清理类别"),
    ColumnSpec("kind", "类型"), ColumnSpec("form", "缴纳形式"), ColumnSpec("status", "状态"),
    ColumnSpec("project_number", "项目编号"), ColumnSpec("project_name", "项目名称"),
    ColumnSpec("finished", "项目结束日期", "date"), ColumnSpec("city", "市（州）"),
    ColumnSpec("region_name", "所在地区"), ColumnSpec("holder", "收取单位"),
    ColumnSpec("supplier", "供应商"), ColumnSpec("amount", "金额（元）", "money"),
    ColumnSpec("received_date", "收取日期", "date"), ColumnSpec("trigger", "退还事由"),
    ColumnSpec("trigger_date", "触发日期", "date"), ColumnSpec("due_date", "应退还日期", "date"),
    ColumnSpec("overdue_days", "逾期天数", "int", total=False),
    ColumnSpec("fee", "应计资金占用费（元）", "money"),
]


def _group_rows(df: pd.DataFrame, keys: list[str]) -> Iterator[dict[str, Any]]:
    for rec in df.to_dict("records"):
        row = {k: rec[k] for k in keys}
        row.update({c.key: rec.get(c.key.replace("amount", "fen") if c.key.endswith("amount")
                                   else c.key) for c in GROUP_COLUMNS if c.key not in ("fee",)})
        for c in GROUP_COLUMNS:
            if c.kind == "money":
                src = "fee_fen" if c.key == "fee" else c.key.replace("amount", "fen")
                row[c.key] = _dec(rec[src])
            elif c.kind == "int":
                row[c.key] = int(rec[c.key])
        yield row


def _detail_rows(df: pd.DataFrame) -> Iterator[tuple]:
    kinds, forms, states, trig = KINDS, FORMS, STATES, TRIGGERS
    cols = ["number", "category", "kind", "form", "status", "project_number", "project_name",
            "finished", "city", "region_name", "holder", "supplier", "fen", "received_date",
            "trigger", "trigger_date", "due_date", "overdue_days", "fee_fen"]
    for t in df[cols].itertuples(index=False, name=None):
        (number, cat, kind, form, status, pn, pname, fin, city, rname, holder, sup, fen, rec,
         trigger, tdate, due, od, fee) = t
        yield (number, CATEGORIES[cat], kinds.get(kind, kind), forms.get(form, form),
               states.get(status, status), pn, pname, fin, city, rname, holder, sup, _dec(fen),
               rec, trig.get(trigger, "") if trigger else "", tdate, due, int(od), _dec(fee))


def write_report(target: Any, rep: Report) -> None:
    title = f"保证金清理报表（截止日期 {rep.cutoff.isoformat()}）"
    sheets = [
        XlsxSheet(_group_rows(rep.by_agency, ["holder", "city"]),
                  [ColumnSpec("holder", "收取单位（代理机构/采购人）"), ColumnSpec("city", "市（州）"),
                   *GROUP_COLUMNS], "按收取单位", title=title),
        XlsxSheet(_group_rows(rep.by_region, ["city"]), [ColumnSpec("city", "市（州）"), *GROUP_COLUMNS],
                  "按地区", title=title),
        XlsxSheet(_detail_rows(rep.rows), DETAIL_COLUMNS, "明细", title=title),
    ]
    write_workbook(target, sheets)


def report_xlsx(session: Session, cutoff: dt.date, *, region_ids: frozenset[int] | None = None
                ) -> bytes:
    buf = io.BytesIO()
    write_report(buf, report(session, cutoff, region_ids=region_ids))
    return buf.getvalue()


def announcement(session: Session, cutoff: dt.date, *, region_ids: frozenset[int] | None = None
                 ) -> pd.DataFrame:
    """公告清单: deposits that will not be refunded (to remit) or whose supplier must come
    forward (review), for the public announcement before remittance."""
    df = classify(session, cutoff, region_ids=region_ids)
    df = df[df["category"].isin(["to_remit", "review"])]
    return df[["number", "project_number", "project_name", "supplier", "holder", "city", "fen",
               "received_date", "category"]].assign(
        category=lambda d: d["category"].map(CATEGORIES)).rename(columns={"fen": "fen"})


def announce(session: Session, cutoff: dt.date, *, region_ids: frozenset[int] | None = None,
             on: dt.date | None = None) -> list[Any]:
    """Submit the 保证金清理公告 through core.notices: one notice per holding unit (agency or
    purchaser) listing its deposits that will not be refunded or whose supplier must come
    forward, before remittance. Idempotent per cut-off and holder. Returns the notices'
    references (None where no notices module takes them: the announcement page stays the
    record)."""
    from core.notices import NoticeDraft, submit

    df = classify(session, cutoff, region_ids=region_ids)
    df = df[df["category"].isin(["to_remit", "review"])]
    on = on or services.today()
    refs = []
    for holder_id, part in df.groupby("holder_id"):
        holder = session.get(Organization, int(holder_id))
        if holder is None:
            continue
        total = Decimal(int(part["fen"].sum())) / 100
        lines = [f"{i}. 保证金 {r.number}，项目 {r.project_number} {r.project_name}，供应商 {r.supplier}，"
                 f"金额 {Decimal(int(r.fen)) / 100:,.2f} 元（{CATEGORIES.get(r.category, r.category)}）"
                 for i, r in enumerate(part.itertuples(), 1)]
        body = (f"下列保证金所属采购项目已于 {cutoff.isoformat()} 前结束，但尚未退还。请相关供应商自公告之日起"
                "与收取单位联系；逾期无人认领且无合法退还依据的，依法上缴同级国库。\n" + "\n".join(lines))
        refs.append(submit(session, NoticeDraft(
            kind="deposit_cleanup", region_id=holder.region_id,
            title=f"{holder.name}关于无法退还保证金的公告（截止 {cutoff.isoformat()}）", body=body,
            source=f"deposit_ledger.cleanup:{cutoff.isoformat()}", source_id=int(holder_id),
            event_date=on, publisher_org_id=holder.id, amount=total,
            data={"process": f"deposit-cleanup-{cutoff.isoformat()}-{int(holder_id)}",
                  "cutoff": cutoff.isoformat(), "deposits": [str(n) for n in part["number"]]},
            link=f"/deposit/cleanup/announcement?cutoff={cutoff.isoformat()}")))
    return refs


def bulk(session: Session, action: str, ids: list[int], *, on: dt.date | None = None,
         bank_reference: str | None = None, voucher_no: str | None = None
         ) -> tuple[list[int], dict[int, str]]:
    """Apply ``action`` to each deposit in its own savepoint; returns (done, refused)."""
    done, refused = [], {}
    for dep_id in dict.fromkeys(ids):
        dep = session.get(Deposit, dep_id)
        if dep is None:
            refused[dep_id] = "保证金不存在或不在您的管辖范围内"
            continue
        sp = session.begin_nested()
        try:
            if action == "refund":
                ref = f"{bank_reference}-{dep.number}" if bank_reference else None
                services.refund(session, dep_id, on=on, bank_reference=ref)
            elif action == "release":
                services.release(session, dep_id, on=on, note="保证金清理")
            elif action == "remit":
                services.remit(session, dep_id, on=on, voucher_no=voucher_no)
            else:
                raise ValueError(action)
            sp.commit()
            done.append(dep_id)
        except (services.RuleError, TransitionError) as exc:
            sp.rollback()
            msgs = exc.messages if hasattr(exc, "messages") else str(exc)
            if isinstance(msgs, dict):
                msgs = "；".join(m for v in msgs.values() for m in (v if isinstance(v, list) else [v]))
            refused[dep_id] = str(msgs)
    return done, refused


# -- the finance dashboard ----------------------------------------------------------------------------
def dashboard(session: Session, as_of: dt.date | None = None) -> dict[str, Any]:
    """Held, due (within the due-soon window) and overdue deposits by agency and by city
    (one GROUP BY), and the cleanup's progress by month (one GROUP BY)."""
    as_of, until = services.due_window(session, on=as_of)
    D = Deposit
    fen = cast(func.round(D.amount * 100), BigInteger)
    held = D.status == "held"
    due = held & D.due_date.is_not(None) & (D.due_date >= as_of) & (D.due_date <= until)
    over = held & D.due_date.is_not(None) & (D.due_date < as_of)
    stmt = (select(D.holder_id, D.region_id,
                   func.sum(case((held, 1), else_=0)), func.sum(case((held, fen), else_=0)),
                   func.sum(case((due, 1), else_=0)), func.sum(case((due, fen), else_=0)),
                   func.sum(case((over, 1), else_=0)), func.sum(case((over, fen), else_=0)))
            .where(D.status.in_(("held", "forfeited")))
            .group_by(D.holder_id, D.region_id))
    cols = ["holder_id", "region_id", "held_count", "held_fen", "due_count", "due_fen",
            "overdue_count", "overdue_fen"]
    df = pd.DataFrame.from_records(session.execute(stmt).all(), columns=cols)
    for c in cols[2:]:
        df[c] = df[c].fillna(0).astype("int64") if len(df) else df[c]
    df["supplier_id"] = df["holder_id"]
    _names(session, df)
    agg = {c: "sum" for c in cols[2:]}
    by_agency = df.groupby("holder").agg(agg).reset_index().sort_values("held_fen", ascending=False) \
        if len(df) else pd.DataFrame(columns=["holder", *cols[2:]])
    by_city = df.groupby("city").agg(agg).reset_index().sort_values("held_fen", ascending=False) \
        if len(df) else pd.DataFrame(columns=["city", *cols[2:]])
    return {"as_of": as_of, "soon_until": until, "by_agency": by_agency, "by_city": by_city,
            "progress": progress(session)}


def progress(session: Session, cutoff: dt.date | None = None) -> pd.DataFrame:
    """Per month: deposits of projects finished before the cut-off that were settled
    (refunded, remitted, released) that month - the cleanup's progress over time."""
    cutoff = cutoff or default_cutoff(session)
    D, E, P = Deposit, DepositEntry, Project
    if session.get_bind().dialect.name == "postgresql":
        month = func.to_char(D.settled_date, "YYYY-MM")
    else:
        month = func.strftime("%Y-%m", D.settled_date)
    stmt = (select(month.label("month"), D.status, func.count(D.id),
                   func.sum(cast(func.round(D.amount * 100), BigInteger)))
            .join(P, P.id == D.project_id)
            .where(D.status.in_(("refunded", "remitted", "released", "converted")),
                   D.settled_date.is_not(None), D.settled_date >= cutoff,
                   _finish_expr() < cutoff)
            .group_by(month, D.status).order_by(month))
    df = pd.DataFrame.from_records(session.execute(stmt).all(),
                                   columns=["month", "status", "count", "fen"])
    del E
    return df


# -- the deposit ledger as a spreadsheet (every deposit with its balances) --------------------------
LEDGER_COLUMNS = [
    # fixed widths for text columns: the writer then skips measuring every cell
    ColumnSpec("number", "保证金编号", width=24), ColumnSpec("kind", "类型", width=12),
    ColumnSpec("form", "缴纳形式", width=10), ColumnSpec("status", "状态", width=20),
    ColumnSpec("project_number", "项目编号", width=18), ColumnSpec("supplier", "供应商", width=36),
    ColumnSpec("holder", "收取单位", width=36), ColumnSpec("region", "所在地区", width=14),
    ColumnSpec("received_date", "收取日期", "date"), ColumnSpec("due_date", "应退还日期", "date"),
    ColumnSpec("amount", "金额（元）", "money"), ColumnSpec("received", "已收取", "money"),
    ColumnSpec("refunded", "已退还", "money"), ColumnSpec("forfeited", "不予退还", "money"),
    ColumnSpec("remitted", "已上缴", "money"), ColumnSpec("converted", "已转履约", "money"),
    ColumnSpec("held", "在管余额", "money"),
]


def ledger_stmt():
    """Every visible deposit with its balances: one statement, the entries summed per
    deposit and bucket in a grouped subquery (a reversal subtracts from its bucket)."""
    from sqlalchemy.orm import aliased

    D, E = Deposit, DepositEntry
    kind = case((E.kind == "reversal", E.reversed_kind), else_=E.kind)
    fen = cast(func.round(E.amount * 100), BigInteger) * case((E.kind == "reversal", -1), else_=1)

    def bucket(*kinds):
        return func.sum(case((kind.in_(kinds), fen), else_=0))

    sums = (select(E.deposit_id.label("deposit_id"),
                   bucket("receipt", "conversion_in").label("received"),
                   bucket("refund").label("refunded"), bucket("forfeiture").label("forfeited"),
                   bucket("remittance").label("remitted"), bucket("conversion_out").label("converted"))
            .group_by(E.deposit_id).subquery())
    sup, hol = aliased(Organization), aliased(Organization)
    return (select(D.number, D.kind, D.form, D.status, Project.number, sup.name, hol.name,
                   Region.name, D.received_date, D.due_date,
                   cast(func.round(D.amount * 100), BigInteger), sums.c.received, sums.c.refunded,
                   sums.c.forfeited, sums.c.remitted, sums.c.converted)
            .join(Project, Project.id == D.project_id)
            .join(sup, sup.id == D.supplier_id).join(hol, hol.id == D.holder_id)
            .join(Region, Region.id == D.region_id)
            .outerjoin(sums, sums.c.deposit_id == D.id)
            .order_by(D.id))


def _ledger_rows(session: Session) -> Iterator[tuple]:
    for row in session.execute(ledger_stmt().execution_options(yield_per=5000)):
        (number, kind, form, status, pn, sup, hol, region, rec, due, fen, received, refunded,
         forfeited, remitted, converted) = row
        received, refunded, forfeited, remitted, converted = (
            int(v or 0) for v in (received, refunded, forfeited, remitted, converted))
        yield (number, KINDS.get(kind, kind), FORMS.get(form, form), STATES.get(status, status),
               pn, sup, hol, region, _day(rec), _day(due), _dec(fen), _dec(received),
               _dec(refunded), _dec(forfeited), _dec(remitted), _dec(converted),
               _dec(received - refunded - forfeited - converted))


def write_ledger(target: Any, session: Session) -> int:
    """Stream every visible deposit with its balances into an xlsx (constant memory)."""
    sheet = XlsxSheet(_ledger_rows(session), LEDGER_COLUMNS, "保证金台账",
                      title=f"保证金台账（导出日期 {services.today().isoformat()}）")
    write_workbook(target, [sheet])
    return sheet.rows_written


def ledger_xlsx(session: Session) -> bytes:
    buf = io.BytesIO()
    write_ledger(buf, session)
    return buf.getvalue()
