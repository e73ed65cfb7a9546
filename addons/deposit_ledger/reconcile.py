"""Reconciliation of the deposit account (保证金账户对账): import a bank statement (CSV or
XLSX), propose matches to the ledger by amount + bank reference + date window, list what is
unmatched on each side, and let a user confirm, reject or correct matches (audited).

Columns (Chinese or English headers): 日期/date, 金额/amount, 对方户名/counterparty,
流水号/reference, 收支方向/direction (收入/支出, 贷/借, in/out). A file with any bad row
is refused as a whole with a message per row and column; nothing is written.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from addons.procurement_base.services import Errors, RuleError
from core import tenancy
from core.errors import ConflictError, NotFoundError
from core.models import Region
from core.services import audit
from core.services.money import MoneyError, to_money
from core.tenancy import current_scope

from .models import MATCH_STATES, DepositEntry, StatementLine, StatementMatch

#: days a statement date may differ from the ledger date
DATE_WINDOW = 3
HEADERS = {
    "date": ("日期", "交易日期", "date"),
    "amount": ("金额", "交易金额", "amount"),
    "counterparty": ("对方户名", "对方名称", "counterparty"),
    "reference": ("流水号", "交易流水号", "参考号", "reference"),
    "direction": ("收支方向", "方向", "借贷标志", "direction"),
}
LABELS = {"date": "日期", "amount": "金额", "counterparty": "对方户名", "reference": "流水号",
          "direction": "收支方向"}
DIRECTIONS = {"收入": "in", "贷": "in", "in": "in", "credit": "in", "支出": "out", "借": "out",
              "out": "out", "debit": "out"}
IN_KINDS = ("receipt",)
OUT_KINDS = ("refund", "remittance")
MAX_ROWS = 50_000


def _read(filename: str, data: bytes) -> pd.DataFrame:
    name = filename.lower()
    try:
        if name.endswith(".csv"):
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                                       encoding=enc)
                except UnicodeDecodeError:
                    continue
            raise RuleError({"file": ["无法识别文件编码，请另存为 UTF-8 或 GB18030 编码的 CSV"]})
        if name.endswith(".xlsx"):
            return pd.read_excel(io.BytesIO(data), dtype=str, keep_default_na=False,
                                 engine="openpyxl")
    except RuleError:
        raise
    except ImportError:
        raise RuleError({"file": ["服务器未安装读取 XLSX 所需的 openpyxl，请上传 CSV"]}) from None
    except Exception:
        raise RuleError({"file": ["文件无法读取，请确认是有效的 CSV 或 XLSX 文件"]}) from None
    raise RuleError({"file": ["只支持 CSV 或 XLSX 格式的对账单"]})


def parse_statement(filename: str, data: bytes) -> list[dict[str, Any]]:
    """Rows of a statement, validated; :class:`RuleError` lists every problem."""
    df = _read(filename, data)
    cols = {str(c).strip(): c for c in df.columns}
    found, errors = {}, Errors()
    for key, names in HEADERS.items():
        hit = next((cols[n] for n in names if n in cols), None)
        if hit is None and key != "counterparty":
            errors.add("file", f"缺少“{LABELS[key]}”列（可用列名：{'、'.join(names)}）")
        found[key] = hit
    errors.raise_if_any()
    if len(df) == 0:
        raise RuleError({"file": ["对账单没有数据行"]})
    if len(df) > MAX_ROWS:
        raise RuleError({"file": [f"对账单最多 {MAX_ROWS} 行，请分批导入"]})
    out = []
    for i, rec in enumerate(df.to_dict("records"), start=2):
        row: dict[str, Any] = {}
        raw_date = str(rec[found["date"]]).strip()
        try:
            row["line_date"] = dt.date.fromisoformat(raw_date[:10].replace("/", "-"))
        except ValueError:
            errors.add(f"第{i}行", f"日期“{raw_date}”格式不正确，应为 YYYY-MM-DD")
        raw_amount = str(rec[found["amount"]]).strip()
        try:
            amount = to_money(raw_amount)
            if amount <= 0:
                errors.add(f"第{i}行", "金额必须大于零（方向请填在“收支方向”列）")
            row["amount"] = amount
        except MoneyError:
            errors.add(f"第{i}行", f"金额“{raw_amount}”格式不正确")
        raw_dir = str(rec[found["direction"]]).strip().lower()
        if raw_dir not in DIRECTIONS:
            errors.add(f"第{i}行", f"收支方向“{raw_dir}”不正确，应为 收入 或 支出")
        row["direction"] = DIRECTIONS.get(raw_dir)
        row["reference"] = str(rec[found["reference"]]).strip()[:100]
        if not row["reference"]:
            errors.add(f"第{i}行", "流水号不能为空")
        row["counterparty"] = (str(rec[found["counterparty"]]).strip()[:200]
                               if found["counterparty"] is not None else None)
        out.append(row)
    errors.raise_if_any()
    return out


def _region_id(session: Session, region_code: str | None) -> int:
    scope = current_scope()
    if region_code:
        rid = session.execute(select(Region.id).where(Region.code == region_code.strip())).scalar()
        if rid is None:
            raise RuleError({"region": [f"地区代码 {region_code} 不存在"]})
    elif scope.region_id is not None:
        rid = scope.region_id
    else:
        raise RuleError({"region": ["请选择对账单所属地区"]})
    tenancy.check_region_writable(StatementLine, rid, scope=scope)
    return rid


def import_statement(session: Session, filename: str, data: bytes, *,
                     region_code: str | None = None, account: str = "") -> dict[str, Any]:
    """Store the statement's lines (skipping ones already imported) and propose matches."""
    rows = parse_statement(filename, data)
    rid = _region_id(session, region_code)
    batch = f"{dt.date.today():%Y%m%d}-{uuid.uuid4().hex[:8]}"
    now = audit.utcnow()
    added, skipped = [], 0
    for row in rows:
        dup = session.execute(select(StatementLine.id).where(
            StatementLine.region_id == rid, StatementLine.account == account,
            StatementLine.line_date == row["line_date"], StatementLine.reference == row["reference"],
            StatementLine.amount == row["amount"], StatementLine.direction == row["direction"])).first()
        if dup is not None:
            skipped += 1
            continue
        line = StatementLine(batch=batch, account=account, region_id=rid, imported_at=now, **row)
        session.add(line)
        added.append(line)
    session.flush()
    audit.record(session, action="import_statement", object_type="dl_statement_line",
                 object_id=batch, after={"lines": len(added), "skipped": skipped,
                                          "file": filename}, module="deposit_ledger",
                 region_id=rid)
    proposed = propose(session, added)
    return {"batch": batch, "imported": len(added), "skipped_duplicates": skipped,
            "proposed": proposed}


def _taken_entries(session: Session) -> set[int]:
    return {e for (e,) in session.execute(select(StatementMatch.entry_id).where(
        StatementMatch.state.in_(("proposed", "confirmed"))))}


def propose(session: Session, lines: list[StatementLine]) -> int:
    """Propose one match per line: same amount and direction, and the same bank reference
    or a ledger date within :data:`DATE_WINDOW` days (reference first, then nearest date)."""
    if not lines:
        return 0
    taken = _taken_entries(session)
    lo = min(ln.line_date for ln in lines) - dt.timedelta(days=DATE_WINDOW)
    hi = max(ln.line_date for ln in lines) + dt.timedelta(days=DATE_WINDOW)
    amounts = sorted({ln.amount for ln in lines})
    candidates = session.execute(select(DepositEntry).where(
        DepositEntry.kind.in_(IN_KINDS + OUT_KINDS), DepositEntry.amount.in_(amounts))).scalars().all()
    reversed_ids = {r for (r,) in session.execute(select(DepositEntry.reverses_id).where(
        DepositEntry.reverses_id.is_not(None)))}
    n = 0
    for line in lines:
        kinds = IN_KINDS if line.direction == "in" else OUT_KINDS
        best, best_score = None, -1
        for e in candidates:
            if e.id in taken or e.id in reversed_ids or e.kind not in kinds or e.amount != line.amount:
                continue
            ref_ok = bool(e.bank_reference) and e.bank_reference == line.reference
            gap = abs((e.entry_date - line.line_date).days)
            if not ref_ok and gap > DATE_WINDOW:
                continue
            if not ref_ok and not (lo <= e.entry_date <= hi):
                continue
            score = (100 if ref_ok else 0) + (DATE_WINDOW + 1 - min(gap, DATE_WINDOW + 1))
            if score > best_score:
                best, best_score = e, score
        if best is not None:
            taken.add(best.id)
            session.add(StatementMatch(line_id=line.id, entry_id=best.id, state="proposed",
                                       score=best_score, region_id=line.region_id))
            n += 1
    session.flush()
    return n


def match_json(m: StatementMatch) -> dict[str, Any]:
    return {"id": m.id, "line_id": m.line_id, "entry_id": m.entry_id, "state": m.state,
            "state_label": MATCH_STATES.get(m.state), "score": m.score,
            "decided_by": m.decided_by,
            "line": {"date": m.line.line_date.isoformat(), "amount": str(m.line.amount),
                     "reference": m.line.reference, "counterparty": m.line.counterparty,
                     "direction": m.line.direction},
            "entry": {"deposit_id": m.entry.deposit_id, "kind": m.entry.kind,
                      "amount": str(m.entry.amount), "date": m.entry.entry_date.isoformat(),
                      "bank_reference": m.entry.bank_reference}}


def decide(session: Session, match_id: int, decision: str) -> StatementMatch:
    m = session.get(StatementMatch, match_id)
    if m is None:
        raise NotFoundError("未找到请求的资源")
    tenancy.check_region_writable(StatementMatch, m.region_id)
    if m.state != "proposed":
        raise ConflictError(f"该匹配已{MATCH_STATES[m.state]}，不能再次处理", code="invalid_state")
    before = m.state
    m.state = "confirmed" if decision == "confirm" else "rejected"
    m.decided_by = audit.resolve_actor()[0]
    m.decided_at = audit.utcnow()
    session.flush()
    audit.record(session, action=f"transition:{decision}_match", object_type="dl_statement_match",
                 object_id=m.id, before={"state": before},
                 after={"state": m.state, "line_id": m.line_id, "entry_id": m.entry_id},
                 module="deposit_ledger", region_id=m.region_id)
    return m


def manual_match(session: Session, line_id: int, entry_id: int) -> StatementMatch:
    """A user's correction: match the line to this entry (confirmed); other proposals for
    the line or the entry are rejected."""
    line = session.get(StatementLine, line_id)
    entry = session.get(DepositEntry, entry_id)
    errors = Errors()
    if line is None:
        errors.add("line", "流水不存在或不在您的管辖范围内")
    if entry is None:
        errors.add("entry", "台账分录不存在或不在您的管辖范围内")
    errors.raise_if_any()
    tenancy.check_region_writable(StatementLine, line.region_id)
    kinds = IN_KINDS if line.direction == "in" else OUT_KINDS
    if entry.kind not in kinds:
        errors.add("entry", "收入流水只能匹配收取分录，支出流水只能匹配退还或上缴分录")
    if entry.amount != line.amount:
        errors.add("entry", f"金额不一致：流水 {line.amount}，分录 {entry.amount}")
    if session.execute(select(StatementMatch.id).where(
            StatementMatch.state == "confirmed",
            (StatementMatch.line_id == line.id) | (StatementMatch.entry_id == entry.id))).first():
        errors.add("entry", "该流水或分录已有确认的匹配，请先否决原匹配")
    errors.raise_if_any()
    now, actor = audit.utcnow(), audit.resolve_actor()[0]
    for old in session.execute(select(StatementMatch).where(
            StatementMatch.state == "proposed",
            (StatementMatch.line_id == line.id) | (StatementMatch.entry_id == entry.id))).scalars():
        old.state, old.decided_by, old.decided_at = "rejected", actor, now
        audit.record(session, action="transition:reject_match", object_type="dl_statement_match",
                     object_id=old.id, before={"state": "proposed"}, after={"state": "rejected"},
                     module="deposit_ledger", region_id=old.region_id, reason="人工更正匹配")
    m = StatementMatch(line_id=line.id, entry_id=entry.id, state="confirmed", score=0,
                       decided_by=actor, decided_at=now, region_id=line.region_id)
    session.add(m)
    session.flush()
    audit.record(session, action="transition:correct_match", object_type="dl_statement_match",
                 object_id=m.id, after={"state": "confirmed", "line_id": line.id,
                                        "entry_id": entry.id},
                 module="deposit_ledger", region_id=m.region_id, reason="人工更正匹配")
    return m


def state(session: Session, batch: str | None = None) -> dict[str, Any]:
    """Matches of the batch (or all), unmatched lines, and ledger entries in the statement's
    date range without a match."""
    lines_q = select(StatementLine)
    if batch:
        lines_q = lines_q.where(StatementLine.batch == batch)
    lines = session.execute(lines_q.order_by(StatementLine.line_date, StatementLine.id)
                            .limit(5000)).scalars().all()
    line_ids = [ln.id for ln in lines]
    matches = session.execute(select(StatementMatch).where(
        StatementMatch.line_id.in_(line_ids), StatementMatch.state != "rejected")
        .order_by(StatementMatch.id)).scalars().all() if line_ids else []
    matched_lines = {m.line_id for m in matches}
    unmatched_lines = [ln for ln in lines if ln.id not in matched_lines]
    unmatched_entries: list[DepositEntry] = []
    if lines:
        lo = min(ln.line_date for ln in lines) - dt.timedelta(days=DATE_WINDOW)
        hi = max(ln.line_date for ln in lines) + dt.timedelta(days=DATE_WINDOW)
        taken = _taken_entries(session)
        unmatched_entries = [e for e in session.execute(select(DepositEntry).where(
            DepositEntry.kind.in_(IN_KINDS + OUT_KINDS), DepositEntry.entry_date >= lo,
            DepositEntry.entry_date <= hi).order_by(DepositEntry.entry_date).limit(5000)).scalars()
            if e.id not in taken]
    return {
        "matches": [match_json(m) for m in matches],
        "unmatched_lines": [{"id": ln.id, "date": ln.line_date.isoformat(), "amount": str(ln.amount),
                             "direction": ln.direction, "reference": ln.reference,
                             "counterparty": ln.counterparty} for ln in unmatched_lines],
        "unmatched_entries": [{"id": e.id, "deposit_id": e.deposit_id, "kind": e.kind,
                               "amount": str(e.amount), "date": e.entry_date.isoformat(),
                               "bank_reference": e.bank_reference} for e in unmatched_entries],
        "totals": {"lines": len(lines), "matched": len(matched_lines),
                   "in": str(sum((ln.amount for ln in lines if ln.direction == "in"), Decimal(0))),
                   "out": str(sum((ln.amount for ln in lines if ln.direction == "out"), Decimal(0)))},
    }
