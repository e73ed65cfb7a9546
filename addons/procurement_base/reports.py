"""Excel exports of the project list and the contract list (core.services.export).

The caller passes a query that already carries the user's filters and the central region
scoping (the pages' search filters or the API's ``?q=`` filters, applied by FAB to an
ORM query, which the tenancy layer scopes); here the rows become formatted xlsx sheets
with Chinese headers, money in ``#,##0.00`` and a 合计 row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Query

from core.services.export import ColumnSpec, xlsx_response_iter

from .models import (
    CONTRACT_STATES,
    METHODS,
    PROJECT_STATES,
    SME_LABELS,
    SME_MEASURES,
    Bid,
    Contract,
    Package,
)

CST = dt.timezone(dt.timedelta(hours=8), "CST")
SOURCES = {"project": "采购项目", "emall": "电子卖场"}

PROJECT_COLUMNS = [
    ColumnSpec("number", "项目编号"),
    ColumnSpec("name", "项目名称", width=36),
    ColumnSpec("region", "所在地区"),
    ColumnSpec("purchaser", "采购人", width=28),
    ColumnSpec("agency", "代理机构", width=28),
    ColumnSpec("catalog", "采购品目"),
    ColumnSpec("method", "采购方式"),
    ColumnSpec("budget", "预算金额（元）", "money"),
    ColumnSpec("sme_measure", "中小企业预留措施"),
    ColumnSpec("sme_reserved_amount", "预留金额（元）", "money"),
    ColumnSpec("packages", "采购包数", "int"),
    ColumnSpec("awarded", "中标金额（元）", "money"),
    ColumnSpec("contracted", "合同金额（元）", "money"),
    ColumnSpec("status", "状态"),
    ColumnSpec("notice_date", "公告日期", "date"),
    ColumnSpec("opening_date", "开标日期", "date"),
    ColumnSpec("award_date", "中标日期", "date"),
    ColumnSpec("contract_date", "合同签订日期", "date"),
]

CONTRACT_COLUMNS = [
    ColumnSpec("number", "合同编号"),
    ColumnSpec("source", "来源"),
    ColumnSpec("project", "项目编号"),
    ColumnSpec("package", "采购包"),
    ColumnSpec("order_ref", "电子卖场订单号"),
    ColumnSpec("region", "所在地区"),
    ColumnSpec("purchaser", "采购人", width=28),
    ColumnSpec("supplier", "供应商", width=28),
    ColumnSpec("sme_label", "企业规模"),
    ColumnSpec("amount", "合同金额（元）", "money"),
    ColumnSpec("paid", "已付金额（元）", "money"),
    ColumnSpec("outstanding", "未付金额（元）", "money"),
    ColumnSpec("signed_date", "签订日期", "date"),
    ColumnSpec("status", "状态"),
]


def _chunks(query: Query, size: int = 500) -> Iterator[list[Any]]:
    """The query's rows, page by page (keeps memory flat without server-side cursors)."""
    offset = 0
    while True:
        rows = query.limit(size).offset(offset).all()
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        offset += size


def project_rows(query: Query) -> Iterable[dict[str, Any]]:
    session = query.session
    for chunk in _chunks(query):
        ids = [p.id for p in chunk]
        n_packages = dict(session.execute(
            select(Package.project_id, func.count(Package.id))
            .where(Package.project_id.in_(ids)).group_by(Package.project_id)).all())
        awarded = dict(session.execute(
            select(Package.project_id, func.sum(Bid.price))
            .join(Bid, Bid.package_id == Package.id)
            .where(Package.project_id.in_(ids), Bid.status == "won")
            .group_by(Package.project_id)).all())
        contracted = dict(session.execute(
            select(Contract.project_id, func.sum(Contract.amount))
            .where(Contract.project_id.in_(ids), Contract.status != "terminated")
            .group_by(Contract.project_id)).all())
        for p in chunk:
            yield {
                "number": p.number,
                "name": p.name,
                "region": p.region.name if p.region else "",
                "purchaser": p.purchaser.name if p.purchaser else "",
                "agency": p.agency.name if p.agency else "",
                "catalog": str(p.catalog) if p.catalog else "",
                "method": METHODS.get(p.method, p.method),
                "budget": p.budget,
                "sme_measure": SME_MEASURES.get(p.sme_measure, p.sme_measure),
                "sme_reserved_amount": p.sme_reserved_amount,
                "packages": n_packages.get(p.id, 0),
                "awarded": _money(awarded.get(p.id)),
                "contracted": _money(contracted.get(p.id)),
                "status": PROJECT_STATES.get(p.status, p.status),
                "notice_date": p.notice_date,
                "opening_date": p.opening_date,
                "award_date": p.award_date,
                "contract_date": p.contract_date,
            }


def contract_rows(query: Query) -> Iterable[dict[str, Any]]:
    for chunk in _chunks(query):
        for c in chunk:
            paid = c.paid_amount
            yield {
                "number": c.number,
                "source": SOURCES.get(c.source, c.source),
                "project": c.project.number if c.project else "",
                "package": f"包{c.package.number} {c.package.name}" if c.package else "",
                "order_ref": c.order_ref,
                "region": c.region.name if c.region else "",
                "purchaser": c.purchaser.name if c.purchaser else "",
                "supplier": c.supplier.name if c.supplier else "",
                "sme_label": SME_LABELS.get(c.sme_label, c.sme_label),
                "amount": c.amount,
                "paid": paid,
                "outstanding": c.outstanding,
                "signed_date": c.signed_date,
                "status": CONTRACT_STATES.get(c.status, c.status),
            }


def _money(value: Any) -> Any:
    if value is None:
        return None
    from core.services.money import quantize

    # SQLite sums NUMERIC as float: its repr is the stored decimal text
    return quantize(repr(value) if isinstance(value, float) else value)


def _stamp() -> str:
    return dt.datetime.now(CST).strftime("%Y%m%d_%H%M%S")


def project_xlsx(query: Query) -> tuple[Any, str]:
    """(streamed body, file name) of the project list."""
    body = xlsx_response_iter(project_rows(query), PROJECT_COLUMNS, sheet_name="采购项目",
                              title="采购项目一览表")
    return body, f"采购项目_{_stamp()}.xlsx"


def contract_xlsx(query: Query) -> tuple[Any, str]:
    """(streamed body, file name) of the contract list."""
    body = xlsx_response_iter(contract_rows(query), CONTRACT_COLUMNS, sheet_name="采购合同",
                              title="采购合同一览表")
    return body, f"采购合同_{_stamp()}.xlsx"
