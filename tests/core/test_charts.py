"""Inline SVG charts: valid XML, exact values in tooltips, escaping, bad input refused."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from core.services.charts import ChartError, bar_chart, line_chart, nice_ticks

NS = "{http://www.w3.org/2000/svg}"


def parse(svg) -> ET.Element:
    return ET.fromstring(str(svg))


def test_bar_chart_draws_one_bar_per_value_with_exact_tooltips() -> None:
    svg = bar_chart(["长春市", "吉林市"], {"金额": [Decimal("1234.50"), Decimal("10")]},
                    title="保证金", unit="元")
    root = parse(svg)
    assert root.get("role") == "img" and "保证金" in root.get("aria-label")
    rects = root.findall(f"{NS}rect")
    tips = [r.find(f"{NS}title").text for r in rects]
    assert tips == ["长春市 金额：1,234.50元", "吉林市 金额：10元"]
    heights = [float(r.get("height")) for r in rects]
    assert heights[0] > heights[1] * 100  # drawn to scale
    assert "http" not in str(svg).replace("http://www.w3.org/2000/svg", "")  # nothing fetched


@pytest.mark.parametrize("horizontal", [False, True])
def test_stacked_bars_stack_and_grouped_bars_sit_side_by_side(horizontal: bool) -> None:
    series = {"已退还": [3, 1], "逾期": [2, None]}
    stacked = parse(bar_chart(["甲", "乙"], series, title="t", stacked=True,
                              horizontal=horizontal))
    bars = [r for r in stacked.findall(f"{NS}rect") if r.find(f"{NS}title") is not None]
    assert len(bars) == 4
    assert bars[3].find(f"{NS}title").text == "乙 逾期：—"
    pos = "x" if horizontal else "y"
    assert float(bars[0].get(pos)) != float(bars[1].get(pos))  # second segment stacked on first
    legend = [t.text for t in stacked.findall(f"{NS}text")]
    assert "已退还" in legend and "逾期" in legend


def test_labels_are_escaped() -> None:
    svg = str(bar_chart(["<script>alert(1)</script>"], {"a&b": [1]}, title="x<y"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    parse(svg)


def test_line_chart_gaps_on_none() -> None:
    root = parse(line_chart(["1月", "2月", "3月", "4月"], {"进度": [1, 2, None, 4]},
                            title="清理进度", unit="%"))
    lines = root.findall(f"{NS}polyline")
    assert [len(p.get("points").split()) for p in lines] == [2, 1]
    assert len(root.findall(f"{NS}circle")) == 3


def test_empty_and_mismatched_input() -> None:
    parse(bar_chart([], {"a": []}, title="无数据"))
    parse(line_chart(["a"], {"s": [0]}, title="零"))
    with pytest.raises(ChartError, match="2 values for 1 labels"):
        bar_chart(["a"], {"s": [1, 2]}, title="t")
    with pytest.raises(ChartError):
        line_chart(["a"], {}, title="t")


def test_nice_ticks() -> None:
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(97) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(12_000_000)[-1] >= 12_000_000


def test_counts_tick_in_whole_numbers_and_overdue_is_red() -> None:
    from core.services.charts import ALERT_COLOUR, bar_chart, fill_months, nice_ticks

    assert nice_ticks(2, integer=True) == [0.0, 1.0, 2.0]
    assert all(t == int(t) for t in nice_ticks(3, integer=True))
    svg = str(bar_chart(["1月", "2月"], {"订单数": [1, 2]}, title="订单", unit="笔"))
    ticks = re.findall(r'text-anchor="end" font-family="sans-serif" font-size="12">([^<]+)<', svg)
    assert ticks and all("." not in t for t in ticks), ticks
    svg = str(bar_chart(["长春市"], {"已退还": [3], "逾期未退": [2]}, title="退还", stacked=True))
    assert f'fill="{ALERT_COLOUR}"' in svg
    assert svg.count(ALERT_COLOUR) == 2, "the bar and its legend swatch; nothing else is red"
    labels, values = fill_months({"2026-01": 3, "2026-04": 1}, "2025-12", "2026-04")
    assert labels == ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04"]
    assert values == [0, 3, 0, 0, 1], "empty months are zero, never skipped"
