"""Spreadsheet exports (导出): rows or a pandas DataFrame to a formatted ``.xlsx``.

Pure Python on top of ``xlsxwriter``; only :func:`send_xlsx` touches Flask (and
imports it lazily).

Layout of a sheet::

    [title row, merged across all columns]      (only if ``title`` is given)
    header row: bold, shaded, autofilter, frozen below it
    data rows, one per input row, formatted by column kind
    totals row "合计": =SUM(...) for money/int columns   (if ``totals``)

Column kinds (:class:`ColumnSpec`.kind) and their Excel number formats:

============  ==========================  ===============================================
kind          format                      accepted values
============  ==========================  ===============================================
``text``      General (literal string)    anything; ``bool`` -> 是/否, ``Decimal`` -> plain
``money``     ``#,##0.00``                ``Decimal``/``int``/``str`` (floats refused)
``int``       ``#,##0``                   integers, integral ``Decimal``/``float``, ``str``
``date``      ``yyyy-mm-dd``              ``date``/``datetime``/ISO ``str``
``datetime``  ``yyyy-mm-dd hh:mm:ss``     ``datetime``/``date``/ISO ``str``
``percent``   ``0.00%``                   a *fraction*: ``Decimal("0.02")`` shows 2.00%
============  ==========================  ===============================================

``None``, NaN, ``pd.NA`` and ``NaT`` give an empty cell. Text is always written
as a literal string, never as a formula or a link (no formula injection).
Aware datetimes are converted to China Standard Time (UTC+8, no DST since
1991) and written without zone, as Excel has no time zones.

Money and the xlsx format
-------------------------
Money stays ``Decimal`` (via :func:`core.services.money.quantize`, ROUND_HALF_UP
to fen) until the cell is written; only then is it converted with
``float(d)``, because an xlsx number cell *is* an IEEE double - that is the
file format's limit, not ours. ``float(d)`` is the double nearest to ``d`` and
xlsxwriter writes it with 16 significant digits, so every amount with at most
15 significant digits (|amount| < 10,000,000,000,000 yuan) reads back
exactly at fen precision; Excel itself only keeps 15 significant digits.
The totals are ``=SUM()`` formulas, so Excel adds the cells itself; their cached
values (what non-recalculating readers such as previewers or ``openpyxl``'s
``data_only`` see) are the exact ``Decimal`` sums written as decimal text.

Memory
------
Rows are consumed from any iterable one at a time and written in order, so with
``constant_memory=True`` (the default, xlsxwriter's ``{'constant_memory': True}``:
each row is flushed to a temporary file as soon as the next one starts) an
export never materializes all rows - pass a generator or a streaming query
(``session.execute(stmt).yield_per(1000)``). A DataFrame is iterated with
``itertuples`` and never copied to ``to_excel``. Column widths are tracked while
streaming and set at the end.

Tip: ``pandas.read_sql`` turns ``NUMERIC`` into ``float`` unless called with
``coerce_float=False``; money columns refuse floats.
"""

from __future__ import annotations

import io
import math
import numbers
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, get_args
from urllib.parse import quote

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from core.services.money import quantize

if TYPE_CHECKING:
    from flask import Response

__all__ = [
    "ColumnKind",
    "ColumnSpec",
    "XLSX_MIMETYPE",
    "XlsxSheet",
    "XlsxStream",
    "content_disposition",
    "display_width",
    "safe_sheet_name",
    "send_xlsx",
    "write_workbook",
    "write_xlsx",
    "write_xlsx_file",
    "xlsx_response_iter",
]

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOTAL_LABEL = "合计"
CHINA_TZ = timezone(timedelta(hours=8), "CST")
"""China Standard Time; used to write aware datetimes (Asia/Shanghai has had no DST since 1991)."""

ColumnKind = Literal["text", "money", "int", "date", "datetime", "percent"]
KINDS: frozenset[str] = frozenset(get_args(ColumnKind))

NUM_FORMATS: dict[str, str | None] = {
    "text": None,
    "money": "#,##0.00",
    "int": "#,##0",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "percent": "0.00%",
}

MIN_WIDTH = 6.0
MAX_WIDTH = 60.0
_HEADER_PAD = 4.0  # room for the autofilter drop-down button
_CELL_PAD = 2.0
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One exported column.

    Attributes:
        key: DataFrame column name, mapping key or attribute name of the row.
        header: header text (Chinese welcome).
        kind: ``text``, ``money``, ``int``, ``date``, ``datetime`` or ``percent``.
        width: fixed column width in Excel character units; ``None`` = computed
            from the header and the data (CJK characters count double).
        total: whether the totals row sums this column; ``None`` = yes for
            ``money`` and ``int`` columns (set ``False`` for e.g. a 序号 column).
        num_format: override the kind's Excel number format.
    """

    key: str
    header: str
    kind: ColumnKind = "text"
    width: float | None = None
    total: bool | None = None
    num_format: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.total and self.kind not in ("money", "int"):
            raise ValueError(f"column {self.key!r}: only money/int columns can be totalled")

    @property
    def summed(self) -> bool:
        """Whether the totals row holds a ``SUM`` for this column."""
        if self.total is None:
            return self.kind in ("money", "int")
        return self.total


RowSource = Iterable[Any]
"""A pandas ``DataFrame`` or an iterable of rows: mappings (missing keys -> empty
cell), tuples/lists in column order, SQLAlchemy ``Row``\\ s (by key) or objects
(by attribute)."""


@dataclass(slots=True)
class XlsxSheet:
    """One sheet of a workbook for :func:`write_workbook`."""

    source: RowSource
    columns: Sequence[ColumnSpec]
    sheet_name: str
    title: str | None = None
    totals: bool = True
    rows_written: int = field(default=0, init=False)


# --------------------------------------------------------------------------- widths


def display_width(text: str) -> int:
    """Width of ``text`` in Excel character units: East Asian wide/full-width chars count 2."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _width_bound(text: str) -> int:
    """A cheap upper bound of :func:`display_width` for assigned characters: every wide
    one is U+1100 or above, 3 or more bytes in UTF-8, so it adds at least 2 bytes over
    its one character. (Only a column's width depends on it.)"""
    n = len(text)
    return n if text.isascii() else n + (len(text.encode("utf-8", "surrogatepass")) - n) // 2


def _clamp_width(w: float) -> float:
    return max(MIN_WIDTH, min(MAX_WIDTH, w))


# --------------------------------------------------------------------------- values


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    # pd.NA / pd.NaT without importing pandas
    return type(value).__name__ in ("NAType", "NaTType")


def _naive_cst(dt: datetime) -> datetime:
    if dt.tzinfo is not None and dt.utcoffset() is not None:
        return dt.astimezone(CHINA_TZ).replace(tzinfo=None)
    return dt.replace(tzinfo=None)


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return _naive_cst(value)
    if isinstance(value, date):
        return datetime.combine(value, time())
    if isinstance(value, str):
        return _naive_cst(datetime.fromisoformat(value.strip()))
    raise TypeError(f"not a date/datetime: {value!r}")


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return _naive_cst(value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
    raise TypeError(f"not a date: {value!r}")


def _as_int(value: Any) -> int:
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, Decimal | float) and value == int(value):
        return int(value)
    if isinstance(value, str):
        return int(value.strip().replace(",", ""))
    raise ValueError(f"not an integer: {value!r}")


def _as_fraction(value: Any) -> float:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("%", "％")):
            return float(Decimal(text[:-1].strip()) / 100)
        return float(Decimal(text))
    if isinstance(value, numbers.Real | Decimal):  # float, int, numpy scalars, Decimal
        return float(value)
    raise TypeError(f"not a percentage: {value!r}")


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime):
        return _naive_cst(value).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class _Column:
    """Per-column writer state: format, running total, measured width."""

    __slots__ = ("_ws", "fmt", "spec", "total", "total_fmt", "width", "write")

    def __init__(self, spec: ColumnSpec, ws: Worksheet, fmt: Any, total_fmt: Any) -> None:
        self.spec = spec
        self.fmt = fmt
        self.total_fmt = total_fmt
        self.total: Decimal | int = Decimal("0.00") if spec.kind == "money" else 0
        self.width = float(display_width(spec.header)) + _HEADER_PAD
        self.write: Callable[[int, int, Any], None] = getattr(self, f"_w_{spec.kind}")
        self._ws = ws

    # Each writer: value is never missing here.
    def _w_text(self, row: int, col: int, value: Any) -> None:
        text = _as_text(value)
        self._ws.write_string(row, col, text, self.fmt)
        if self.spec.width is None and self.width < MAX_WIDTH and _width_bound(text) + _CELL_PAD > self.width:
            # len() is a lower bound of the display width; skip the scan for long text.
            w = MAX_WIDTH if len(text) >= MAX_WIDTH else display_width(text) + _CELL_PAD
            if w > self.width:
                self.width = w

    def _w_money(self, row: int, col: int, value: Any) -> None:
        d = quantize(value)  # Decimal, ROUND_HALF_UP; refuses floats
        self.total += d
        # xlsx stores IEEE doubles: float() is the last step (see module docstring).
        self._ws.write_number(row, col, float(d), self.fmt)
        self._grow(len(f"{d:,.2f}"))

    def _w_int(self, row: int, col: int, value: Any) -> None:
        n = _as_int(value)
        self.total += n
        self._ws.write_number(row, col, n, self.fmt)
        self._grow(len(f"{n:,}"))

    def _w_date(self, row: int, col: int, value: Any) -> None:
        self._ws.write_datetime(row, col, _as_date(value), self.fmt)
        self._grow(10)

    def _w_datetime(self, row: int, col: int, value: Any) -> None:
        self._ws.write_datetime(row, col, _as_datetime(value), self.fmt)
        self._grow(19)

    def _w_percent(self, row: int, col: int, value: Any) -> None:
        x = _as_fraction(value)
        self._ws.write_number(row, col, x, self.fmt)
        self._grow(len(f"{x * 100:.2f}%"))

    def _grow(self, chars: int) -> None:
        w = chars + _CELL_PAD
        if w > self.width:
            self.width = w

    # Fast path (constant memory): the XML of a cell after ``<c r="A1" s="N"``.
    def _x_text(self, value: Any) -> str:
        text = _as_text(value)
        # measured only when even an all-wide text could widen the column
        if self.spec.width is None and self.width < MAX_WIDTH and _width_bound(text) + _CELL_PAD > self.width:
            w = MAX_WIDTH if len(text) >= MAX_WIDTH else display_width(text) + _CELL_PAD
            if w > self.width:
                self.width = w
        return _xml_text(text)

    def _x_money(self, value: Any) -> str:
        d = quantize(value)
        self.total += d
        self._grow(len(f"{d:,.2f}"))
        return f"><v>{float(d):.16G}</v></c>"

    def _x_int(self, value: Any) -> str:
        n = _as_int(value)
        self.total += n
        self._grow(len(f"{n:,}"))
        return f"><v>{n:.16G}</v></c>"

    def _x_date(self, value: Any) -> str:
        self._grow(10)
        return f"><v>{_excel_serial(_as_date(value)):.16G}</v></c>"

    def _x_datetime(self, value: Any) -> str:
        self._grow(19)
        return f"><v>{_excel_serial(_as_datetime(value)):.16G}</v></c>"

    def _x_percent(self, value: Any) -> str:
        x = _as_fraction(value)
        self._grow(len(f"{x * 100:.2f}%"))
        return f"><v>{x:.16G}</v></c>"


def _row_getter(keys: Sequence[str]) -> Callable[[Any], Sequence[Any]]:
    n = len(keys)

    def get(row: Any) -> Sequence[Any]:
        if isinstance(row, Mapping):
            return [row.get(k) for k in keys]
        mapping = getattr(row, "_mapping", None)  # SQLAlchemy Row
        if isinstance(mapping, Mapping):
            return [mapping[k] for k in keys]
        if isinstance(row, tuple | list):
            if len(row) != n:
                raise ValueError(f"row has {len(row)} values, expected {n}: {row!r}")
            return row
        return [getattr(row, k) for k in keys]

    return get


def _iter_rows(source: RowSource, keys: Sequence[str]) -> Iterator[Sequence[Any]]:
    if hasattr(source, "itertuples") and hasattr(source, "columns"):  # pandas DataFrame
        missing = [k for k in keys if k not in source.columns]
        if missing:
            raise KeyError(f"DataFrame has no column(s) {missing}")
        yield from source.loc[:, list(keys)].itertuples(index=False, name=None)
        return
    if isinstance(source, str | bytes | Mapping):
        raise TypeError("source must be a DataFrame or an iterable of rows")
    get = _row_getter(keys)
    for row in source:
        yield get(row)


_INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


def safe_sheet_name(name: str) -> str:
    """Make ``name`` a valid Excel sheet name: no ``[]:*?/\\``, <= 31 chars, not blank."""
    cleaned = _INVALID_SHEET_CHARS.sub("_", name).strip().strip("'")[:31].strip()
    return cleaned or "Sheet1"


# --------------------------------------------------------------------------- fast rows
#
# In constant-memory mode xlsxwriter serialises each cell through several generic
# layers (cell tuples, attribute lists, per-cell escaping calls): about 10 us a cell,
# which makes a 200,000-row report take minutes. For the data rows only, _FastRows
# writes the same XML (inline strings, numbers, the same style indexes) straight into
# the sheet's row stream that xlsxwriter itself writes to (``ws.fh``), then hands the
# sheet back to xlsxwriter for the totals row, widths, autofilter and assembly. It
# relies on four documented-in-source internals of xlsxwriter 3.x (``fh``,
# ``previous_row``, ``_write_single_row``, ``_check_dimensions``); if they are
# missing the exporter falls back to xlsxwriter's own cell writers (same file,
# slower). tests/core/test_export.py compares both paths cell by cell.

_XML_SPECIAL = re.compile(r'["&<>\n]')
_NEEDS_CONTROL_ESCAPE = re.compile(r"_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\ufffe\uffff]")
_EDGE_SPACE = re.compile(r"^\s|\s$")
_EXCEL_EPOCH = date(1899, 12, 31).toordinal()
_MAX_CHARS = 32767  # Excel's limit per cell, in UTF-16 units


def _xml_text(text: str) -> str:
    """``text`` as the body of an inline-string cell, escaped exactly as xlsxwriter does."""
    if len(text) > _MAX_CHARS // 2 and len(text.encode("utf-16-le", "surrogatepass")) // 2 > _MAX_CHARS:
        units = 0
        for i, ch in enumerate(text):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > _MAX_CHARS:
                text = text[:i]
                break
    if _NEEDS_CONTROL_ESCAPE.search(text):
        text = XMLwriter._escape_control_characters(text)
    if _XML_SPECIAL.search(text):
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
    return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _excel_serial(value: date | datetime) -> float:
    """Excel's 1900 serial number (with its 1900 leap-year bug), as xlsxwriter computes it."""
    if isinstance(value, datetime):
        days = value.toordinal() - _EXCEL_EPOCH
        serial = days + (value.hour * 3600 + value.minute * 60 + value.second
                         + value.microsecond / 1e6) / 86400
        if value.isocalendar() == (1900, 1, 1):  # xlsxwriter's time-only convention
            serial -= 1
    else:
        serial = value.toordinal() - _EXCEL_EPOCH
    return serial + 1 if serial > 59 else serial


def _fast_rows_supported(ws: Worksheet) -> bool:
    return bool(ws.constant_memory) and all(
        hasattr(ws, name) for name in ("fh", "previous_row", "_write_single_row",
                                       "_check_dimensions")
    )


# --------------------------------------------------------------------------- writing


def _formats(wb: Workbook) -> dict[str, Any]:
    base = {"font_size": 11, "valign": "vcenter"}
    f: dict[str, Any] = {
        "title": wb.add_format(
            {"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"}
        ),
        "header": wb.add_format(
            {**base, "bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center"}
        ),
        "total_label": wb.add_format({**base, "bold": True, "top": 1, "align": "center"}),
        "total_blank": wb.add_format({**base, "top": 1}),
    }
    return f


def _write_sheet(wb: Workbook, fmts: dict[str, Any], sheet: XlsxSheet) -> int:
    columns = list(sheet.columns)
    if not columns:
        raise ValueError("at least one column is required")
    ws = wb.add_worksheet(safe_sheet_name(sheet.sheet_name))
    cols: list[_Column] = []
    for spec in columns:
        num_format = spec.num_format or NUM_FORMATS[spec.kind]
        props: dict[str, Any] = {"valign": "vcenter"}
        if num_format:
            props["num_format"] = num_format
        cols.append(
            _Column(
                spec,
                ws,
                wb.add_format(props),
                wb.add_format({**props, "bold": True, "top": 1}),
            )
        )
    last_col = len(cols) - 1

    row = 0
    if sheet.title:
        if last_col > 0:
            ws.merge_range(row, 0, row, last_col, sheet.title, fmts["title"])
        else:
            ws.write_string(row, 0, sheet.title, fmts["title"])
        ws.set_row(row, 28)
        row += 1
    header_row = row
    for c, col in enumerate(cols):
        ws.write_string(row, c, col.spec.header, fmts["header"])
    ws.freeze_panes(header_row + 1, 0)

    first_data = header_row + 1
    row = first_data
    rows = _iter_rows(sheet.source, [c.spec.key for c in cols])
    if _fast_rows_supported(ws):
        ws._write_single_row(first_data)  # flush the header row; data rows follow it
        fh = ws.fh
        cells = [
            (f'<c r="{xl_col_to_name(c)}', f'" s="{col.fmt._get_xf_index()}"',
             getattr(col, f"_x_{col.spec.kind}"))
            for c, col in enumerate(cols)
        ]
        for values in rows:
            r1 = row + 1
            parts = [f'<row r="{r1}">']
            for (head, style, xml), value in zip(cells, values, strict=True):
                if not _is_missing(value):
                    parts.append(f"{head}{r1}{style}{xml(value)}")
            parts.append("</row>")
            fh.write("".join(parts))
            row += 1
        if row > first_data:
            ws.previous_row = row - 1
            ws._check_dimensions(row - 1, last_col)
    else:
        for values in rows:
            for c, (col, value) in enumerate(zip(cols, values, strict=True)):
                if not _is_missing(value):
                    col.write(row, c, value)
            row += 1
    n_rows = row - first_data
    last_data = row - 1

    ws.autofilter(header_row, 0, max(header_row, last_data), last_col)

    summed = [c.spec.summed for c in cols]
    if sheet.totals and any(summed):
        label_col = next((i for i, s in enumerate(summed) if not s), None)
        for c, col in enumerate(cols):
            if summed[c]:
                if n_rows:
                    letter = xl_col_to_name(c)
                    formula = f"=SUM({letter}{first_data + 1}:{letter}{last_data + 1})"
                    # Cached result = exact Decimal/int sum, written as decimal text.
                    ws.write_formula(row, c, formula, col.total_fmt, col.total)
                else:
                    ws.write_number(row, c, 0, col.total_fmt)
                col._grow(len(f"{col.total:,}"))
            elif c == label_col:
                ws.write_string(row, c, TOTAL_LABEL, fmts["total_label"])
            else:
                ws.write_blank(row, c, None, fmts["total_blank"])

    # Column info is emitted when the sheet is assembled, so in constant_memory
    # mode widths measured while streaming can still be applied here.
    for c, col in enumerate(cols):
        width = col.spec.width if col.spec.width is not None else _clamp_width(col.width)
        ws.set_column(c, c, width)

    sheet.rows_written = n_rows
    return n_rows


def write_workbook(
    target: str | os.PathLike[str] | IO[bytes],
    sheets: Sequence[XlsxSheet],
    *,
    constant_memory: bool = True,
    tmpdir: str | None = None,
) -> None:
    """Write ``sheets`` (in order) to ``target``: a file path or a binary file object.

    Each :class:`XlsxSheet` gets its ``rows_written`` set. ``tmpdir`` is where
    xlsxwriter keeps its per-sheet temporary files in constant-memory mode.
    """
    if not sheets:
        raise ValueError("at least one sheet is required")
    options: dict[str, Any] = {
        "constant_memory": constant_memory,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }
    if tmpdir is not None:
        options["tmpdir"] = tmpdir
    wb = xlsxwriter.Workbook(
        os.fspath(target) if isinstance(target, str | os.PathLike) else target, options
    )
    try:
        fmts = _formats(wb)
        for sheet in sheets:
            _write_sheet(wb, fmts, sheet)
    finally:
        wb.close()


def write_xlsx(
    frames_or_rows: RowSource,
    columns: Sequence[ColumnSpec],
    *,
    sheet_name: str,
    title: str | None = None,
    totals: bool = True,
    constant_memory: bool = True,
    tmpdir: str | None = None,
) -> bytes:
    """Export one sheet and return the ``.xlsx`` file as bytes.

    Args:
        frames_or_rows: a pandas ``DataFrame`` (columns picked by ``ColumnSpec.key``)
            or any iterable of rows (mappings, tuples in column order, SQLAlchemy
            rows, objects); consumed once, row by row.
        columns: the exported columns, in order.
        sheet_name: sheet name (made valid by :func:`safe_sheet_name`).
        title: optional title row merged across the columns above the header.
        totals: add a "合计" row with ``SUM`` formulas for money/int columns.
        constant_memory: stream rows to disk (default). Only the finished file
            is held in memory; use :func:`write_xlsx_file` or
            :func:`xlsx_response_iter` to avoid even that.
        tmpdir: directory for xlsxwriter's temporary files.
    """
    buf = io.BytesIO()
    write_workbook(
        buf,
        [XlsxSheet(frames_or_rows, columns, sheet_name, title, totals)],
        constant_memory=constant_memory,
        tmpdir=tmpdir,
    )
    return buf.getvalue()


def write_xlsx_file(
    path: str | os.PathLike[str],
    frames_or_rows: RowSource,
    columns: Sequence[ColumnSpec],
    *,
    sheet_name: str,
    title: str | None = None,
    totals: bool = True,
    constant_memory: bool = True,
    tmpdir: str | None = None,
) -> int:
    """Like :func:`write_xlsx` but writes to ``path``; returns the number of data rows."""
    sheet = XlsxSheet(frames_or_rows, columns, sheet_name, title, totals)
    write_workbook(path, [sheet], constant_memory=constant_memory, tmpdir=tmpdir)
    return sheet.rows_written


class XlsxStream:
    """Iterator over the bytes of a finished file, in chunks; closes (and so
    deletes, for an anonymous temporary file) the file when exhausted or closed.

    Works as a WSGI response body: werkzeug calls :meth:`close` after sending.
    ``size`` is the total length in bytes (for ``Content-Length``).
    """

    def __init__(self, fileobj: IO[bytes], size: int, chunk_size: int = _CHUNK) -> None:
        self._f: IO[bytes] | None = fileobj
        self.size = size
        self.chunk_size = chunk_size

    def __iter__(self) -> XlsxStream:
        return self

    def __next__(self) -> bytes:
        if self._f is None:
            raise StopIteration
        chunk = self._f.read(self.chunk_size)
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self) -> XlsxStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def xlsx_response_iter(
    frames_or_rows: RowSource,
    columns: Sequence[ColumnSpec],
    *,
    sheet_name: str,
    title: str | None = None,
    totals: bool = True,
    chunk_size: int = _CHUNK,
    tmpdir: str | None = None,
) -> XlsxStream:
    """Export into an anonymous temporary file and return an iterator over its bytes.

    The workbook is written *now* (rows are consumed during this call, while a
    database session / request context is still available), in constant-memory
    mode; only then is the finished file streamed in ``chunk_size`` pieces, so
    neither the rows nor the file are ever held in memory whole. An xlsx is a
    zip archive whose directory is written last, so no byte can be sent before
    the whole workbook is written. Pass the result to :func:`send_xlsx`.
    """
    fh = tempfile.TemporaryFile(dir=tmpdir)  # unlinked at once on POSIX
    try:
        write_workbook(
            fh,
            [XlsxSheet(frames_or_rows, columns, sheet_name, title, totals)],
            constant_memory=True,
            tmpdir=tmpdir,
        )
        size = fh.seek(0, os.SEEK_END)
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    return XlsxStream(fh, size, chunk_size)


# --------------------------------------------------------------------------- HTTP

_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\"]')


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """A ``Content-Disposition`` value that works for Chinese file names.

    ``attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>``
    (RFC 6266 / RFC 5987). Path separators, quotes and control characters are
    replaced by ``_``; browsers use ``filename*``, old clients the fallback.
    """
    name = _UNSAFE_FILENAME.sub("_", filename).strip() or "export.xlsx"
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ascii_stem = (
        unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii").strip()
    )
    ascii_ext = ext.encode("ascii", "ignore").decode("ascii")
    if not ascii_stem.strip("._- "):
        ascii_stem = "export"
    fallback = ascii_stem + (f".{ascii_ext}" if ascii_ext else "")
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def send_xlsx(
    data: bytes | bytearray | memoryview | str | os.PathLike[str] | Iterable[bytes],
    filename: str,
) -> Response:
    """A ``flask.Response`` downloading an xlsx as ``filename`` (Chinese welcome).

    ``data`` is the file's bytes (from :func:`write_xlsx`), a path to a file
    (from :func:`write_xlsx_file`; streamed in chunks, not deleted) or an
    iterable of byte chunks such as :func:`xlsx_response_iter`'s result.
    ``.xlsx`` is appended to ``filename`` if missing. The response is marked
    ``no-store``: exports contain procurement data that must not be cached.
    """
    from flask import Response  # keep this module importable without Flask

    if not filename.lower().endswith(".xlsx"):
        filename += ".xlsx"
    headers = {
        "Content-Disposition": content_disposition(filename),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    body: Any
    if isinstance(data, bytes | bytearray | memoryview):
        body = bytes(data)
        headers["Content-Length"] = str(len(body))
    elif isinstance(data, str | os.PathLike):
        path = Path(data)
        size = path.stat().st_size
        body = XlsxStream(path.open("rb"), size)
        headers["Content-Length"] = str(size)
    else:
        body = data
        size = getattr(data, "size", None)
        if isinstance(size, int):
            headers["Content-Length"] = str(size)
    return Response(body, mimetype=XLSX_MIMETYPE, headers=headers, direct_passthrough=True)
