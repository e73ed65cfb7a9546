"""Tests for core.services.export (formatted xlsx exports), read back with openpyxl."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl.worksheet.worksheet import Worksheet

from core.services.export import (
    XLSX_MIMETYPE,
    ColumnSpec,
    XlsxSheet,
    content_disposition,
    display_width,
    safe_sheet_name,
    send_xlsx,
    write_workbook,
    write_xlsx,
    write_xlsx_file,
    xlsx_response_iter,
)
from core.services.money import MoneyTypeError

D = Decimal

COLUMNS = [
    ColumnSpec("no", "序号", "int", total=False),
    ColumnSpec("supplier", "供应商名称", "text"),
    ColumnSpec("amount", "合同金额（元）", "money"),
    ColumnSpec("qty", "数量", "int"),
    ColumnSpec("signed", "签订日期", "date"),
    ColumnSpec("created", "创建时间", "datetime"),
    ColumnSpec("rate", "保证金比例", "percent"),
]

ROWS = [
    {
        "no": 1,
        "supplier": "长春市第一建筑有限公司",
        "amount": D("1234567.89"),
        "qty": 3,
        "signed": date(2024, 3, 1),
        "created": datetime(2024, 3, 1, 9, 30, 15),
        "rate": D("0.02"),
    },
    {
        "no": 2,
        "supplier": "吉林省办公用品公司",
        "amount": D("0.10"),
        "qty": 1200,
        "signed": date(2024, 12, 31),
        "created": datetime(2024, 12, 31, 23, 59, 59),
        "rate": D("0.025"),
    },
    {
        "no": 3,
        "supplier": '=HYPERLINK("http://evil")',  # must stay literal text
        "amount": D("0.20"),
        "qty": 0,
        "signed": None,
        "created": None,
        "rate": None,
    },
]


def load(data: bytes, *, data_only: bool = False) -> Worksheet:
    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=data_only)
    return wb.worksheets[0]


def values(ws: Worksheet) -> list[tuple[object, ...]]:
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


@pytest.fixture(scope="module")
def sheet_bytes() -> bytes:
    return write_xlsx(ROWS, COLUMNS, sheet_name="合同清单")


def test_headers_values_and_sheet_name(sheet_bytes: bytes) -> None:
    ws = load(sheet_bytes)
    assert ws.title == "合同清单"
    rows = values(ws)
    assert rows[0] == (
        "序号",
        "供应商名称",
        "合同金额（元）",
        "数量",
        "签订日期",
        "创建时间",
        "保证金比例",
    )
    assert rows[1] == (
        1,
        "长春市第一建筑有限公司",
        1234567.89,
        3,
        datetime(2024, 3, 1),
        datetime(2024, 3, 1, 9, 30, 15),
        0.02,
    )
    assert rows[2][2] == 0.1
    assert rows[3] == (3, '=HYPERLINK("http://evil")', 0.2, 0, None, None, None)
    assert ws.cell(4, 2).data_type == "s", "text is never written as a formula"
    assert len(rows) == 5  # header + 3 rows + totals


def test_money_values_are_exact_at_fen(sheet_bytes: bytes) -> None:
    ws = load(sheet_bytes)
    for r, row in enumerate(ROWS, start=2):
        cell = ws.cell(r, 3).value
        assert isinstance(cell, float)
        assert D(repr(cell)).quantize(D("0.01")) == row["amount"]


def test_number_formats(sheet_bytes: bytes) -> None:
    ws = load(sheet_bytes)
    assert ws["A2"].number_format == "#,##0"
    assert ws["B2"].number_format == "General"
    assert ws["C2"].number_format == "#,##0.00"
    assert ws["D2"].number_format == "#,##0"
    assert ws["E2"].number_format == "yyyy-mm-dd"
    assert ws["F2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert ws["G2"].number_format == "0.00%"
    assert ws["C5"].number_format == "#,##0.00"  # totals keep the column format
    assert ws["A1"].font.b, "header is bold"
    assert ws["C5"].font.b, "totals are bold"


def test_frozen_header_and_autofilter(sheet_bytes: bytes) -> None:
    ws = load(sheet_bytes)
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:G4", "header + data rows, not the totals row"


def test_totals_row(sheet_bytes: bytes) -> None:
    ws = load(sheet_bytes)
    total_row = [c.value for c in ws[5]]
    assert total_row[0] == "合计", "label in the first column that is not summed"
    assert total_row[1] is None
    assert total_row[2] == "=SUM(C2:C4)"
    assert total_row[3] == "=SUM(D2:D4)"
    assert total_row[4:] == [None, None, None]
    cached = load(sheet_bytes, data_only=True)
    assert cached["C5"].value == pytest.approx(1234568.19)
    assert D(repr(cached["C5"].value)) == D("1234568.19"), "exact Decimal sum cached"
    assert cached["D5"].value == 1203


def test_column_widths_count_cjk_double(sheet_bytes: bytes) -> None:
    ws = load(sheet_bytes)
    width_b = ws.column_dimensions["B"].width
    # "长春市第一建筑有限公司" = 11 CJK chars = 22 units (+ padding)
    assert 24 <= width_b <= 30
    assert ws.column_dimensions["E"].width >= 12  # yyyy-mm-dd + filter button
    assert ws.column_dimensions["C"].width >= len("合同金额（元）") * 2
    assert display_width("合计") == 4
    assert display_width("abc") == 3
    assert display_width("ＡＢ1") == 5  # full-width letters count double


def test_title_row_shifts_header() -> None:
    data = write_xlsx(ROWS[:2], COLUMNS, sheet_name="清单", title="2024年合同汇总表")
    ws = load(data)
    assert ws["A1"].value == "2024年合同汇总表"
    assert "A1:G1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A2"].value == "序号"
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:G4"
    assert ws["C5"].value == "=SUM(C3:C4)"
    assert ws["A5"].value == "合计"


def test_dataframe_source_with_decimal_object_column() -> None:
    df = pd.DataFrame(
        {
            "supplier": ["甲公司", "乙公司", None],
            "amount": [D("100.005"), D("2.675"), D("0.01")],  # rounded half up to fen
            "qty": pd.array([1, None, 3], dtype="Int64"),
            "signed": pd.to_datetime(["2024-01-02", None, "2024-05-06"]),
            "ignored": [1, 2, 3],
        }
    )
    cols = [
        ColumnSpec("supplier", "供应商", "text"),
        ColumnSpec("amount", "金额", "money"),
        ColumnSpec("qty", "数量", "int"),
        ColumnSpec("signed", "日期", "date"),
    ]
    ws = load(write_xlsx(df, cols, sheet_name="df"))
    rows = values(ws)
    assert rows[0] == ("供应商", "金额", "数量", "日期")
    assert rows[1] == ("甲公司", 100.01, 1, datetime(2024, 1, 2))
    assert rows[2] == ("乙公司", 2.68, None, None)
    assert rows[3] == (None, 0.01, 3, datetime(2024, 5, 6))
    assert rows[4] == ("合计", "=SUM(B2:B4)", "=SUM(C2:C4)", None)
    cached = load(write_xlsx(df, cols, sheet_name="df"), data_only=True)
    assert D(repr(cached["B5"].value)) == D("102.70")


def test_dataframe_missing_column() -> None:
    with pytest.raises(KeyError, match="nope"):
        write_xlsx(pd.DataFrame({"a": [1]}), [ColumnSpec("nope", "无")], sheet_name="x")


def test_tuple_and_object_rows() -> None:
    @dataclass
    class Row:
        name: str
        amount: Decimal

    cols = [ColumnSpec("name", "名称"), ColumnSpec("amount", "金额", "money")]
    rows: list[object] = [("元组", "1,000.5"), Row("对象", D("2")), ["列表", 3]]
    ws = load(write_xlsx(rows, cols, sheet_name="s"))
    assert values(ws)[1:4] == [("元组", 1000.5), ("对象", 2), ("列表", 3)]
    with pytest.raises(ValueError, match="expected 2"):
        write_xlsx([("only one",)], cols, sheet_name="s")


def test_money_column_refuses_float() -> None:
    cols = [ColumnSpec("amount", "金额", "money")]
    with pytest.raises(MoneyTypeError):
        write_xlsx([{"amount": 1.5}], cols, sheet_name="s")
    # NaN is a missing value, not a float amount.
    ws = load(write_xlsx([{"amount": float("nan")}], cols, sheet_name="s"))
    assert ws["A2"].value is None


def test_text_conversions_and_aware_datetimes() -> None:
    cols = [
        ColumnSpec("v", "值"),
        ColumnSpec("t", "时间", "datetime"),
        ColumnSpec("d", "日期", "date"),
        ColumnSpec("p", "比例", "percent"),
    ]
    utc = datetime(2024, 1, 1, 20, 0, tzinfo=UTC)
    rows = [
        {"v": True, "t": utc, "d": utc, "p": "2.5%"},
        {"v": D("1.50"), "t": "2024-02-03T04:05:06", "d": "2024-02-03", "p": 0.125},
        {"v": 42, "t": date(2024, 3, 4), "d": datetime(2024, 3, 4, 23, 0), "p": 1},
    ]
    got = values(load(write_xlsx(rows, cols, sheet_name="s", totals=True)))
    assert got[1] == ("是", datetime(2024, 1, 2, 4, 0), datetime(2024, 1, 2), 0.025)
    assert got[2] == ("1.50", datetime(2024, 2, 3, 4, 5, 6), datetime(2024, 2, 3), 0.125)
    assert got[3] == ("42", datetime(2024, 3, 4), datetime(2024, 3, 4), 1)
    assert len(got) == 4, "no totals row when no column is summed"


def test_empty_export_has_zero_totals() -> None:
    ws = load(write_xlsx([], COLUMNS, sheet_name="空"))
    assert values(ws) == [
        ("序号", "供应商名称", "合同金额（元）", "数量", "签订日期", "创建时间", "保证金比例"),
        ("合计", None, 0, 0, None, None, None),
    ]
    assert ws.auto_filter.ref == "A1:G1"


def test_no_totals_and_fixed_width() -> None:
    cols = [ColumnSpec("a", "金额", "money", width=33)]
    ws = load(write_xlsx([{"a": "1"}], cols, sheet_name="s", totals=False))
    assert values(ws) == [("金额",), (1,)]
    assert 33 <= ws.column_dimensions["A"].width < 34


def test_column_spec_validation() -> None:
    with pytest.raises(ValueError, match="unknown column kind"):
        ColumnSpec("a", "A", "float")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="only money/int"):
        ColumnSpec("a", "A", "text", total=True)
    assert ColumnSpec("a", "A", "money").summed
    assert not ColumnSpec("a", "A", "int", total=False).summed


def test_safe_sheet_name() -> None:
    assert safe_sheet_name("2024/01 采购[汇总]") == "2024_01 采购_汇总_"
    assert len(safe_sheet_name("长" * 40)) == 31
    assert safe_sheet_name("  ") == "Sheet1"
    ws = load(write_xlsx([], [ColumnSpec("a", "A")], sheet_name="a/b:c"))
    assert ws.title == "a_b_c"


def test_write_file_and_multiple_sheets(tmp_path: Path) -> None:
    path = tmp_path / "合同.xlsx"
    n = write_xlsx_file(path, ROWS, COLUMNS, sheet_name="合同")
    assert n == 3
    assert values(openpyxl.load_workbook(path).worksheets[0])[0][1] == "供应商名称"

    sheets = [
        XlsxSheet(ROWS, COLUMNS, "明细"),
        XlsxSheet(
            [{"k": "合计金额", "v": D("1234568.19")}],
            [ColumnSpec("k", "项目"), ColumnSpec("v", "金额", "money")],
            "汇总",
        ),
    ]
    multi = tmp_path / "multi.xlsx"
    write_workbook(multi, sheets)
    wb = openpyxl.load_workbook(multi)
    assert wb.sheetnames == ["明细", "汇总"]
    assert [s.rows_written for s in sheets] == [3, 1]
    assert wb["汇总"]["B3"].value == "=SUM(B2:B2)"


def _big_rows(n: int) -> Iterator[tuple[int, str, Decimal, int, date]]:
    start = date(2024, 1, 1)
    for i in range(n):
        yield (
            i + 1,
            f"供应商{i % 97}",
            D(i % 100_000).scaleb(-2),
            i % 7,
            start + timedelta(days=i % 365),
        )


def test_large_generator_export_in_constant_memory(tmp_path: Path) -> None:
    n = 100_000
    cols = [
        ColumnSpec("no", "序号", "int", total=False),
        ColumnSpec("name", "供应商", "text"),
        ColumnSpec("amount", "金额", "money"),
        ColumnSpec("qty", "数量", "int"),
        ColumnSpec("day", "日期", "date"),
    ]
    path = tmp_path / "big.xlsx"
    written = write_xlsx_file(path, _big_rows(n), cols, sheet_name="大数据", constant_memory=True)
    assert written == n

    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb.worksheets[0]
    count = 0
    last = None
    expected = _big_rows(n)
    for row in ws.iter_rows(min_row=2, max_row=n + 1, values_only=True):
        exp = next(expected)
        if count % 9973 == 0:  # spot-check rows across the sheet
            assert row[0] == exp[0]
            assert row[1] == exp[1]
            assert D(repr(row[2])).quantize(D("0.01")) == exp[2]
            assert row[4] == datetime.combine(exp[4], datetime.min.time())
        count += 1
        last = row
    assert count == n
    assert last is not None and last[0] == n
    totals = next(ws.iter_rows(min_row=n + 2, max_row=n + 2, values_only=True))
    assert totals[:4] == ("合计", None, f"=SUM(C2:C{n + 1})", f"=SUM(D2:D{n + 1})")
    wb.close()
    expected_total = sum((r[2] for r in _big_rows(n)), D("0.00"))
    cached = openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets[0]
    total_cell = next(cached.iter_rows(min_row=n + 2, max_row=n + 2, values_only=True))[2]
    assert D(repr(total_cell)) == expected_total


def _peak_bytes(path: Path, n: int, *, constant_memory: bool) -> int:
    cols = [
        ColumnSpec("no", "序号", "int", total=False),
        ColumnSpec("name", "供应商", "text"),
        ColumnSpec("amount", "金额", "money"),
        ColumnSpec("qty", "数量", "int"),
        ColumnSpec("day", "日期", "date"),
    ]
    tracemalloc.start()
    try:
        write_xlsx_file(path, _big_rows(n), cols, sheet_name="s", constant_memory=constant_memory)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_constant_memory_does_not_grow_with_rows(tmp_path: Path) -> None:
    """Rows from a generator are flushed as written, never accumulated."""
    small = _peak_bytes(tmp_path / "small.xlsx", 1_000, constant_memory=True)
    large = _peak_bytes(tmp_path / "large.xlsx", 10_000, constant_memory=True)
    in_memory = _peak_bytes(tmp_path / "mem.xlsx", 10_000, constant_memory=False)
    assert large < small + 512 * 1024, (small, large)
    assert in_memory > 3 * large, "the measurement would notice materialized rows"


# Amounts with up to 15 significant digits (|amount| < 10**13 yuan).
FIFTEEN_DIGIT_AMOUNTS = st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1).map(
    lambda fen: D(fen).scaleb(-2)
)


@settings(max_examples=25, deadline=None)
@given(st.lists(FIFTEEN_DIGIT_AMOUNTS, min_size=1, max_size=30))
def test_prop_money_cells_exact_up_to_15_digits(amounts: list[Decimal]) -> None:
    cols = [ColumnSpec("a", "金额", "money")]
    ws = load(write_xlsx([{"a": a} for a in amounts], cols, sheet_name="s"), data_only=True)
    got = [ws.cell(r, 1).value for r in range(2, len(amounts) + 2)]
    assert [D(repr(g)).quantize(D("0.01")) for g in got] == amounts
    total = sum(amounts, D("0.00"))
    cached = ws.cell(len(amounts) + 2, 1).value
    # The cached total is the exact Decimal text; openpyxl reads it as a float.
    assert cached == float(total)


def test_xlsx_response_iter_streams_chunks() -> None:
    stream = xlsx_response_iter(ROWS, COLUMNS, sheet_name="流", chunk_size=1024)
    chunks = list(stream)
    assert len(chunks) > 1 and all(len(c) <= 1024 for c in chunks)
    data = b"".join(chunks)
    assert len(data) == stream.size
    assert values(load(data))[0][1] == "供应商名称"
    stream.close()  # idempotent


# --------------------------------------------------------------------------- HTTP


def test_content_disposition_rfc5987() -> None:
    header = content_disposition("2024年合同清单.xlsx")
    assert header.startswith("attachment; filename=\"2024.xlsx\"; filename*=UTF-8''")
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert encoded.isascii() and " " not in encoded
    assert unquote(encoded) == "2024年合同清单.xlsx"
    assert 'filename="export.xlsx"' in content_disposition("合同.xlsx")
    evil = content_disposition('a"b\r\nSet-Cookie: x/../y.xlsx')
    assert "\r" not in evil and "\n" not in evil
    assert 'filename="a_b__Set-Cookie: x_.._y.xlsx"' in evil


def test_send_xlsx_bytes_path_and_stream(tmp_path: Path) -> None:
    data = write_xlsx(ROWS, COLUMNS, sheet_name="合同")

    resp = send_xlsx(data, "合同清单")
    assert resp.mimetype == XLSX_MIMETYPE
    assert resp.headers["Content-Disposition"].endswith(
        "filename*=UTF-8''%E5%90%88%E5%90%8C%E6%B8%85%E5%8D%95.xlsx"
    )
    assert resp.headers["Content-Length"] == str(len(data))
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.get_data() == data

    path = tmp_path / "x.xlsx"
    path.write_bytes(data)
    resp = send_xlsx(path, "合同清单.xlsx")
    assert resp.headers["Content-Length"] == str(len(data))
    assert b"".join(resp.response) == data
    resp.close()

    stream = xlsx_response_iter(ROWS, COLUMNS, sheet_name="合同")
    resp = send_xlsx(stream, "合同清单.xlsx")
    assert resp.headers["Content-Length"] == str(stream.size)
    body = b"".join(resp.response)
    assert len(body) == stream.size
    assert values(load(body)) == values(load(data))
    resp.close()


def test_fast_row_path_writes_exactly_what_xlsxwriter_writes(monkeypatch) -> None:
    """Constant-memory exports serialise data rows directly (5x faster); the sheet XML must
    be byte-identical to xlsxwriter's own cell writers, escaping and edge cases included."""
    import zipfile

    import core.services.export as ex

    cols = [ex.ColumnSpec("a", "编号"), ex.ColumnSpec("c", "金额", "money"),
            ex.ColumnSpec("d", "日期", "date"), ex.ColumnSpec("t", "时间", "datetime"),
            ex.ColumnSpec("e", "笔数", "int"), ex.ColumnSpec("p", "比例", "percent"),
            ex.ColumnSpec("x", "备注")]
    rows = [
        ("A&B<c>", Decimal("12345.675"), date(2021, 3, 4), datetime(2024, 5, 6, 7, 8, 9, 500000),
         7, Decimal("0.02"), " leading space"),
        ("_x0041_ \x01ctl", Decimal("-0.5"), date(1900, 2, 28), datetime(1900, 1, 1, 12), 0, "3%",
         None),
        (None, None, None, None, None, None, 'line\nbreak "q"'),
        ("😀" * 20000, 1, "2020-01-01", "2020-01-01T00:00:00+08:00", "1,234", 0.5, True),
    ]

    def sheet_xml(fast: bool) -> bytes:
        if not fast:
            monkeypatch.setattr(ex, "_fast_rows_supported", lambda ws: False)
        data = ex.write_xlsx(iter(rows), cols, sheet_name="s", title="标题")
        monkeypatch.undo()
        return zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")

    fast, slow = sheet_xml(True), sheet_xml(False)
    assert b"_x005F_x0041_" in fast and b"&amp;B&lt;c&gt;" in fast  # the tricky cases are there
    assert fast == slow


def test_width_bound_never_underestimates_assigned_characters() -> None:
    import random
    import unicodedata

    from core.services.export import _width_bound

    rnd = random.Random(7)
    for _ in range(20000):
        chars = [chr(rnd.choice([rnd.randrange(0x20, 0x7F), rnd.randrange(0x80, 0x3FFFF)]))
                 for _ in range(6)]
        text = "".join(c for c in chars if unicodedata.category(c) not in ("Cn", "Cs"))
        assert _width_bound(text) >= display_width(text), text
