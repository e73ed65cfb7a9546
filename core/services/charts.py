"""Charts as server-rendered inline SVG: no JavaScript, no CDN, prints and works offline.

Every add-on draws its charts with these two functions, so pages look alike and the
government intranet needs nothing from the internet::

    from core.services.charts import bar_chart, line_chart

    svg = bar_chart(["长春市", "吉林市"], {"已退还": [12, 5], "逾期": [3, 1]},
                    title="保证金退还情况", unit="笔", stacked=True)
    # in a template: {{ svg }}   (the result is Markup, already escaped)

Values may be ``int``, ``Decimal``, ``float`` or ``None`` (drawn as 0 and shown as "—" in
the tooltip); they are only scaled for drawing, never used for arithmetic on money. Each
bar and point carries a ``<title>`` tooltip with the exact value, and the chart carries
``role="img"`` and an ``aria-label`` so screen readers announce it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from html import escape

from markupsafe import Markup

Number = int | float | Decimal | None

#: colour-blind-friendly palette (Okabe–Ito), cycled for more series
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000")

#: a series whose name says it is overdue / refused is drawn in red, whatever its position
ALERT_COLOUR = "#C9302C"
ALERT_WORDS = ("逾期", "超期", "违约", "overdue")

WIDTH = 720
ROW_HEIGHT = 26  # per category, horizontal bars
HEIGHT = 320
FONT = 'font-family="sans-serif" font-size="12"'


class ChartError(ValueError):
    """Series that do not fit the labels."""


def _num(v: Number) -> float:
    if v is None:
        return 0.0
    f = float(v)
    return f if math.isfinite(f) else 0.0


def _fmt(v: Number, unit: str) -> str:
    if v is None:
        return "—"
    if isinstance(v, Decimal):
        text = f"{v:,.2f}" if v != v.to_integral_value() else f"{v:,.0f}"
    elif isinstance(v, float):
        text = f"{v:,.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{v:,}"
    return f"{text}{unit}"


def nice_ticks(high: float, count: int = 5, *, integer: bool = False) -> list[float]:
    """Round tick values 0..>=high (1, 2, 2.5 or 5 times a power of ten); ``integer``: whole
    steps only (counts: never 0.5 orders)."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    power = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer else (1, 2, 2.5, 5, 10)
    step = next(m * power for m in steps if m * power >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    n = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(n + 1)]


def _tick_label(v: float) -> str:
    if v >= 1e8:
        return f"{v / 1e8:g}亿"
    if v >= 1e4:
        return f"{v / 1e4:g}万"
    return f"{v:g}"


def _check(labels: Sequence[str], series: Mapping[str, Sequence[Number]]) -> None:
    if not series:
        raise ChartError("a chart needs at least one series")
    for name, values in series.items():
        if len(values) != len(labels):
            raise ChartError(
                f"series {name!r} has {len(values)} values for {len(labels)} labels"
            )


def series_colours(names: Sequence[str]) -> list[str]:
    """One colour per series: overdue-like series in :data:`ALERT_COLOUR`, the others from
    the palette in order (skipping the palette's reddish vermillion)."""
    plain = [c for c in PALETTE if c != "#D55E00"]
    out, k = [], 0
    for name in names:
        if any(w in str(name).lower() for w in ALERT_WORDS):
            out.append(ALERT_COLOUR)
        else:
            out.append(plain[k % len(plain)])
            k += 1
    return out


def is_count(series: Mapping[str, Sequence[Number]]) -> bool:
    """Whole numbers only (``int`` values, or no value at all): counts, ticked in whole steps."""
    return all(v is None or (isinstance(v, int) and not isinstance(v, bool))
               for vs in series.values() for v in vs)


def fill_months(values: Mapping[str, Number], first: str, last: str,
                default: Number = 0) -> tuple[list[str], list[Number]]:
    """Months ``first``..``last`` (``YYYY-MM``) with their values; a month without a value
    is shown as ``default`` (0), never skipped."""
    y, m = (int(p) for p in first.split("-")[:2])
    ly, lm = (int(p) for p in last.split("-")[:2])
    labels: list[str] = []
    while (y, m) <= (ly, lm):
        labels.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return labels, [values.get(label, default) for label in labels]


def _legend(series: Mapping[str, Sequence[Number]], y: int) -> list[str]:
    out, x = [], 60
    colours = series_colours(list(series))
    for i, name in enumerate(series):
        colour = colours[i]
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>')
        out.append(f'<text x="{x + 16}" y="{y}" {FONT}>{escape(name)}</text>')
        x += 28 + 13 * len(name)
    return out


def _svg(title: str, width: int, height: int, body: list[str], summary: str) -> Markup:
    label = escape(f"{title}：{summary}" if summary else title)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="erp-chart" role="img" '
        f'aria-label="{label}" viewBox="0 0 {width} {height}" width="100%" '
        f'style="max-width:{width}px">'
        f"<title>{escape(title)}</title>"
        f'<text x="{width // 2}" y="20" text-anchor="middle" font-family="sans-serif" '
        f'font-size="15" font-weight="bold">{escape(title)}</text>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _summary(labels: Sequence[str], series: Mapping[str, Sequence[Number]], unit: str) -> str:
    parts = []
    for name, values in series.items():
        shown = "，".join(f"{lab} {_fmt(v, unit)}" for lab, v in zip(labels, values, strict=True))
        parts.append(f"{name}：{shown}" if len(series) > 1 else shown)
    text = "；".join(parts)
    return text if len(text) <= 600 else text[:600] + "…"


def bar_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[Number]],
    *,
    title: str,
    unit: str = "",
    stacked: bool = False,
    horizontal: bool = False,
) -> Markup:
    """Grouped (or stacked) bars, one group per label, one colour per series."""
    labels = [str(label) for label in labels]
    _check(labels, series)
    names = list(series)
    n = max(len(labels), 1)
    if stacked:
        high = max((sum(max(_num(series[s][i]), 0) for s in names) for i in range(len(labels))),
                   default=0)
    else:
        high = max((_num(v) for vs in series.values() for v in vs), default=0)
    ticks = nice_ticks(high, integer=is_count(series))
    top = ticks[-1] or 1.0
    colours = series_colours(names)
    body: list[str] = []
    legend_y = 44
    if len(names) > 1:
        body += _legend(series, legend_y)
    plot_top = 60 if len(names) > 1 else 40

    if horizontal:
        left = 10 + min(220, 13 * max((len(label) for label in labels), default=2))
        right = WIDTH - 30
        height = plot_top + n * ROW_HEIGHT + 40
        bottom = plot_top + n * ROW_HEIGHT
        scale = (right - left) / top
        for t in ticks:
            x = left + t * scale
            body.append(f'<line x1="{x:.1f}" y1="{plot_top}" x2="{x:.1f}" y2="{bottom}" '
                        f'stroke="#ddd"/>')
            body.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" {FONT}>'
                        f"{_tick_label(t)}</text>")
        band = ROW_HEIGHT * 0.8
        for i, label in enumerate(labels):
            y0 = plot_top + i * ROW_HEIGHT + ROW_HEIGHT * 0.1
            body.append(f'<text x="{left - 6}" y="{y0 + band / 2 + 4:.1f}" text-anchor="end" '
                        f"{FONT}>{escape(label)}</text>")
            offset = 0.0
            for j, name in enumerate(names):
                v = series[name][i]
                w = max(_num(v), 0) * scale
                h = band if stacked else band / len(names)
                y = y0 if stacked else y0 + j * h
                x = left + (offset if stacked else 0)
                body.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                    f'fill="{colours[j]}"><title>{escape(label)} '
                    f"{escape(name)}：{escape(_fmt(v, unit))}</title></rect>"
                )
                if stacked:
                    offset += w
        body.append(f'<line x1="{left}" y1="{plot_top}" x2="{left}" y2="{bottom}" '
                    f'stroke="#333"/>')
        return _svg(title, WIDTH, height, body, _summary(labels, series, unit))

    left, right, bottom = 60, WIDTH - 20, HEIGHT - 60
    scale = (bottom - plot_top) / top
    for t in ticks:
        y = bottom - t * scale
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
                    f"{_tick_label(t)}</text>")
    slot = (right - left) / n
    band = slot * 0.8
    rotate = n > 8 or max((len(label) for label in labels), default=0) * 12 > slot
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        base = bottom
        for j, name in enumerate(names):
            v = series[name][i]
            h = max(_num(v), 0) * scale
            w = band if stacked else band / len(names)
            x = x0 if stacked else x0 + j * w
            y = base - h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" '
                f'fill="{colours[j]}"><title>{escape(label)} {escape(name)}：'
                f"{escape(_fmt(v, unit))}</title></rect>"
            )
            if stacked:
                base = y
        cx = left + i * slot + slot / 2
        if rotate:
            body.append(f'<text x="{cx:.1f}" y="{bottom + 12}" text-anchor="end" '
                        f'transform="rotate(-40 {cx:.1f} {bottom + 12})" {FONT}>'
                        f"{escape(label)}</text>")
        else:
            body.append(f'<text x="{cx:.1f}" y="{bottom + 16}" text-anchor="middle" {FONT}>'
                        f"{escape(label)}</text>")
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>')
    if unit:
        body.append(f'<text x="{left - 6}" y="{plot_top - 8}" text-anchor="end" {FONT}>'
                    f"{escape(unit)}</text>")
    return _svg(title, WIDTH, HEIGHT, body, _summary(labels, series, unit))


def line_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[Number]],
    *,
    title: str,
    unit: str = "",
) -> Markup:
    """One line per series over the labels (e.g. months); ``None`` leaves a gap."""
    labels = [str(label) for label in labels]
    _check(labels, series)
    names = list(series)
    high = max((_num(v) for vs in series.values() for v in vs), default=0)
    ticks = nice_ticks(high, integer=is_count(series))
    top = ticks[-1] or 1.0
    colours = series_colours(names)
    body: list[str] = []
    if len(names) > 1:
        body += _legend(series, 44)
    plot_top = 60 if len(names) > 1 else 40
    left, right, bottom = 60, WIDTH - 20, HEIGHT - 60
    scale = (bottom - plot_top) / top
    for t in ticks:
        y = bottom - t * scale
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#ddd"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
                    f"{_tick_label(t)}</text>")
    n = len(labels)
    step = (right - left) / max(n - 1, 1)
    every = max(1, math.ceil(n / 12))
    for i, label in enumerate(labels):
        if i % every == 0 or i == n - 1:
            x = left + i * step
            body.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" {FONT}>'
                        f"{escape(label)}</text>")
    for j, name in enumerate(names):
        colour = colours[j]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(series[name]):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x, y = left + i * step, bottom - max(_num(v), 0) * scale
            segment.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>'
                        f"{escape(labels[i])} {escape(name)}：{escape(_fmt(v, unit))}"
                        f"</title></circle>")
        if segment:
            segments.append(segment)
        for seg in segments:
            body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                        f'points="{" ".join(seg)}"/>')
    body.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>')
    if unit:
        body.append(f'<text x="{left - 6}" y="{plot_top - 8}" text-anchor="end" {FONT}>'
                    f"{escape(unit)}</text>")
    return _svg(title, WIDTH, HEIGHT, body, _summary(labels, series, unit))
