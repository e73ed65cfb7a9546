"""Excel export of a disclosure (core.services.export): the summary sheet in the order of the
national template's items and the project list."""

from __future__ import annotations

from typing import Any

from core.services.export import ColumnSpec, XlsxSheet, send_xlsx, write_workbook

from .models import Disclosure
from .policy import measure_label

SUMMARY = [ColumnSpec("item", "项目"), ColumnSpec("value", "金额（元）", "money", total=False),
           ColumnSpec("note", "说明")]
LINES = [ColumnSpec("number", "项目编号"), ColumnSpec("name", "项目名称"),
         ColumnSpec("measure", "预留措施"), ColumnSpec("contract_amount", "合同金额（元）", "money"),
         ColumnSpec("reserved_amount", "预留金额（元）", "money"),
         ColumnSpec("contracts", "合同"), ColumnSpec("link", "合同公告链接")]


def summary_rows(item: Disclosure) -> list[dict[str, Any]]:
    return [
        {"item": "采购总额", "value": item.total_amount, "note": ""},
        {"item": "适宜由中小企业提供的采购金额", "value": item.suitable_amount, "note": ""},
        {"item": "预留总额", "value": item.reserved_total,
         "note": f"占适宜金额 {item.reserved_share}%（目标 {item.target_reserved}%）"},
        {"item": "其中：整体预留", "value": item.reserved_whole, "note": ""},
        {"item": "其中：设置专门采购包", "value": item.reserved_package, "note": ""},
        {"item": "其中：要求以联合体形式参加", "value": item.reserved_consortium, "note": ""},
        {"item": "其中：要求合同分包", "value": item.reserved_subcontract, "note": ""},
        {"item": "授予中小企业合同金额", "value": item.sme_amount,
         "note": f"占采购总额 {item.sme_share}%"},
        {"item": "授予小微企业合同金额", "value": item.small_micro_amount,
         "note": f"预留份额中小微企业占比 {item.small_micro_share}%（目标 {item.target_small_micro}%）"},
        {"item": "未完成目标的原因说明", "value": None, "note": item.shortfall_explanation or "—"},
    ]


def line_rows(item: Disclosure) -> list[dict[str, Any]]:
    return [{"number": ln.project_number, "name": ln.project_name,
             "measure": measure_label(ln.measure), "contract_amount": ln.contract_amount,
             "reserved_amount": ln.reserved_amount, "contracts": ln.contract_numbers or "",
             "link": ln.link or ""} for ln in item.lines]


def disclosure_xlsx(item: Disclosure, target: Any) -> None:
    title = f"{item.unit.name} {item.year} 年度中小企业预留项目执行情况"
    write_workbook(target, [
        XlsxSheet(summary_rows(item), SUMMARY, "执行情况", title=title, totals=False),
        XlsxSheet(line_rows(item), LINES, "预留项目清单", title=f"{title}：预留项目清单"),
    ])


def send_disclosure(item: Disclosure) -> Any:
    import io

    buf = io.BytesIO()
    disclosure_xlsx(item, buf)
    return send_xlsx(buf.getvalue(), f"中小企业预留执行情况_{item.unit.name}_{item.year}.xlsx")
