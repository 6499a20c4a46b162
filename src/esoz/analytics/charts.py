"""Dashboard charts drawn on the server as SVG (no JavaScript, no CDN). Each chart is drawn twice, wide and narrow
(360 px), so labels keep a readable size; the page shows one by CSS. The data table under it is the fallback."""

import math
from typing import Any

from markupsafe import Markup, escape

from esoz.analytics.schemas import Chart


def _num(value: Any) -> float | None:
    """Plotted value: a suppressed count ("<5") is drawn as nothing, a missing rate as a gap."""
    if value is None:
        return None
    if isinstance(value, str):
        return 0.0
    return float(value)


def _nice(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value))
    for k in (1, 2, 4, 6, 8, 10):  # quarters of these stay short numbers
        if value <= k * step * (1 + 1e-9):
            return k * step
    return value


def fmt(value: float, percent: bool = False) -> str:
    if percent:
        return f"{value * 100:.0f} %"
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f} млн".replace(".", ",")
    if value >= 10_000:
        return f"{value / 1000:.0f} тис."
    return f"{round(value, 12):.4g}".replace(".", ",")


def _head(w: int, h: int, title: str) -> list[str]:
    return [f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(title)}">',
            f"<title>{escape(title)}</title>"]  # fmt: skip


def _grid(out: list[str], left: int, right: int, top: int, ph: int, ymax: float, percent: bool) -> None:
    for k in range(5):
        v = ymax * k / 4
        y = top + ph * (1 - k / 4)
        out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt(v, percent)}</text>')


def _xlabels(out: list[str], labels: list[str], xs: list[float], y: float, every: int, edges: bool) -> None:
    last = len(labels) - 1
    for i, (label, x) in enumerate(zip(labels, xs, strict=True)):
        if i % every == 0:
            # The last label sits on the right edge: anchored inwards so that it is not cut off.
            anchor = "end" if i == last and last > 0 and edges else "middle"
            out.append(f'<text class="axis" x="{x:.1f}" y="{y}" text-anchor="{anchor}">{escape(label)}</text>')


def columns(chart: Chart, width: int) -> Markup:
    """Vertical bars per x value; several series stacked (`stacked`) or side by side (`bars`)."""
    plot, rows = chart.plot, chart.rows
    series, stacked = plot["series"], plot["kind"] == "stacked"
    labels = [str(r[plot["x"]]) for r in rows]
    values = [[_num(r.get(s)) or 0.0 for s in series] for r in rows]
    top_value = max((sum(v) if stacked else max(v, default=0) for v in values), default=0)
    ymax = _nice(top_value)
    w, h, left, right, top, bottom = width, 240 if width >= 600 else 220, 56, 8, 10, 26
    pw, ph = w - left - right, h - top - bottom
    n = max(len(rows), 1)
    slot = pw / n
    out = _head(w, h, chart.title)
    _grid(out, left, w - right, top, ph, ymax, False)
    bar_w = slot * 0.7 / (1 if stacked else len(series))
    for i, row_values in enumerate(values):
        x0, base = left + slot * i + slot * 0.15, 0.0
        for j, v in enumerate(row_values):
            if v <= 0:
                continue
            bh = ph * v / ymax
            x = x0 if stacked else x0 + j * bar_w
            y = top + ph * (1 - (base + v) / ymax) if stacked else top + ph - bh
            tip = f"{labels[i]}: {chart_title(chart, series[j])} — {rows[i].get(series[j])}"
            out.append(f'<rect class="s{j}" x="{x:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 1):.1f}" '
                       f'height="{bh:.1f}"><title>{escape(tip)}</title></rect>')  # fmt: skip
            if stacked:
                base += v
    every = max(1, round(n / (8 if width >= 600 else 4)))
    _xlabels(out, labels, [left + slot * (i + 0.5) for i in range(len(rows))], h - 8, every, False)
    if top_value == 0:
        out.append(
            f'<text class="empty" x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle">немає даних</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def chart_title(chart: Chart, key: str) -> str:
    return next((c.title for c in chart.columns if c.key == key), key)


def lines(chart: Chart, width: int) -> Markup:
    """Lines over time; vertical markers (restrictions coming into force) where `plot.markers` says."""
    plot, rows = chart.plot, chart.rows
    percent = bool(plot.get("percent"))
    labels = [str(r[plot["x"]]) for r in rows]
    series = plot["series"]
    values = [[_num(r.get(s)) for r in rows] for s in series]
    present = [v for vs in values for v in vs if v is not None]
    ymax = 1.0 if percent else _nice(max(present, default=0))
    w, h, left, right, top, bottom = width, 240 if width >= 600 else 220, 56, 12, 10, 26
    pw, ph = w - left - right, h - top - bottom
    n = max(len(rows) - 1, 1)

    def x(i: float) -> float:
        return left + pw * i / n

    def y(v: float) -> float:
        return top + ph * (1 - min(v, ymax) / ymax)

    out = _head(w, h, chart.title)
    _grid(out, left, w - right, top, ph, ymax, percent)
    for marker in plot.get("markers", []):
        if marker["x"] in labels:
            mx = x(labels.index(marker["x"]))
            out.append(f'<line class="marker" x1="{mx:.1f}" x2="{mx:.1f}" y1="{top}" y2="{top + ph}">'
                       f'<title>{escape(marker["label"])}</title></line>')  # fmt: skip
    for j, vs in enumerate(values):
        segment: list[str] = []
        for i, v in enumerate([*vs, None]):
            if v is not None:
                segment.append(f"{x(i):.1f},{y(v):.1f}")
                continue
            if len(segment) == 1:
                cx, cy = segment[0].split(",")
                out.append(f'<circle class="s{j}" cx="{cx}" cy="{cy}" r="3"/>')
            elif segment:
                out.append(f'<polyline class="s{j}" points="{" ".join(segment)}"/>')
            segment = []
    every = max(1, round(len(rows) / (8 if width >= 600 else 4)))
    _xlabels(out, labels, [x(i) for i in range(len(rows))], h - 8, every, True)
    if not present:
        out.append(
            f'<text class="empty" x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle">немає даних</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def hbars(chart: Chart, width: int, limit: int = 27) -> Markup:
    """Horizontal bars, one per row (oblasts, programmes, INNs); on phones the label sits above its bar."""
    plot, rows = chart.plot, chart.rows[:limit]
    key = plot["series"][0]
    values = [_num(r.get(key)) or 0.0 for r in rows]
    vmax = max(values, default=0) or 1.0
    narrow = width < 600
    label_w = 0 if narrow else 260
    row_h = 34 if narrow else 22
    w, h = width, max(len(rows), 1) * row_h + 8
    out = _head(w, h, chart.title)
    for i, (row, v) in enumerate(zip(rows, values, strict=True)):
        y0 = 4 + i * row_h
        label = str(row.get(plot["x"]) or "—")
        shown = row.get(key)
        shown = "—" if shown is None else fmt(shown) if not isinstance(shown, str) else shown
        bar_y = y0 + (15 if narrow else 3)
        if narrow:
            out.append(f'<text class="label" x="0" y="{y0 + 11}">{escape(label[:48])}</text>')
        else:
            out.append(
                f'<text class="label" x="{label_w - 6}" y="{y0 + 14}" text-anchor="end">{escape(label[:40])}</text>'
            )
        room = w - label_w - 70
        bw = room * v / vmax
        if bw > 0:
            out.append(f'<rect class="s0" x="{label_w}" y="{bar_y}" width="{bw:.1f}" height="14">'
                       f"<title>{escape(label)}: {escape(str(shown))}</title></rect>")  # fmt: skip
        out.append(f'<text class="value" x="{label_w + bw + 4:.1f}" y="{bar_y + 12}">{escape(str(shown))}</text>')
    if not rows:
        out.append(f'<text class="empty" x="{w / 2}" y="20" text-anchor="middle">немає даних</text>')
    out.append("</svg>")
    return Markup("".join(out))


def draw(chart: Chart, width: int) -> Markup | None:
    kind = chart.plot.get("kind")
    if kind in ("bars", "stacked"):
        return columns(chart, width)
    if kind in ("line", "lines"):
        return lines(chart, width)
    if kind == "hbars":
        return hbars(chart, width)
    return None
