"""Charts drawn on the server as SVG: no JavaScript, no CDN, readable with images off (every bar has a title)."""

from markupsafe import Markup, escape

from esoz.status.metrics import Point
from esoz.status.timefmt import kyiv
from esoz.status.uptime import Day

LEVEL_TEXT = {
    "none": "немає даних",
    "ok": "без збоїв",
    "degraded": "уповільнення",
    "partial": "короткочасні збої",
    "outage": "збій",
    "maintenance": "планові роботи",
}


def _pct(value: float | None) -> str:
    return "немає даних" if value is None else f"{value:.2f}".replace(".", ",") + " %"


def uptime_bars(days: list[Day], label: str) -> Markup:
    """One bar per day, oldest on the left; the viewBox stretches to the column width."""
    gap, width, height = 2, 8, 34
    total = len(days) * (width + gap) - gap
    parts = [
        f'<svg class="bars" viewBox="0 0 {total} {height}" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    for i, day in enumerate(days):
        tip = f"{day.day:%d.%m.%Y}: {_pct(day.uptime)}, {LEVEL_TEXT[day.level]}"
        parts.append(
            f'<rect class="lv-{day.level}" x="{i * (width + gap)}" y="0" width="{width}" height="{height}" rx="1">'
            f"<title>{escape(tip)}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice_max(value: float) -> float:
    for step in (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000):
        if value <= step:
            return float(step)
    return value


def latency_chart(points: list[Point], label: str, time_fmt: str, width: int = 720) -> Markup:
    """p50 and p95 lines (ms) over time; gaps where there were no requests. `width` is the viewBox width:
    the page draws a narrow variant for phones so that labels keep a readable size."""
    w, h, left, right, top, bottom = width, (220 if width >= 600 else 200), 44, 10, 12, 28
    ticks = 5 if width >= 600 else 3
    pw, ph = w - left - right, h - top - bottom
    values = [v for p in points for v in (p.p50, p.p95) if v is not None]
    ymax = _nice_max(max(values) if values else 100.0)
    n = max(len(points) - 1, 1)

    def x(i: int) -> float:
        return left + pw * i / n

    def y(v: float) -> float:
        return top + ph * (1 - min(v, ymax) / ymax)

    out = [
        f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{escape(label)}">',
        f"<title>{escape(label)}</title>",
    ]
    for k in range(5):  # horizontal grid with ms labels
        v = ymax * k / 4
        out.append(f'<line class="grid" x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>')
        tick = f"{v:g}".replace(".", ",")
        out.append(f'<text class="axis" x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{tick}</text>')
    out.append(f'<text class="axis" x="{left + 4}" y="{top + 12}">мс</text>')
    for k in range(ticks):  # time labels
        i = round((len(points) - 1) * k / (ticks - 1))
        if 0 <= i < len(points):
            anchor = "start" if k == 0 else "end" if k == ticks - 1 else "middle"
            out.append(
                f'<text class="axis" x="{x(i):.1f}" y="{h - 8}" text-anchor="{anchor}">'
                f"{escape(kyiv(points[i].at, time_fmt))}</text>"
            )
    for name, attr in (("p95", "p95"), ("p50", "p50")):
        segments: list[list[str]] = [[]]
        for i, p in enumerate(points):
            v = getattr(p, attr)
            if v is None:
                if segments[-1]:
                    segments.append([])
                continue
            segments[-1].append(f"{x(i):.1f},{y(v):.1f}")
        for seg in segments:
            if len(seg) == 1:
                cx, cy = seg[0].split(",")
                out.append(f'<circle class="line-{name}" cx="{cx}" cy="{cy}" r="2"/>')
            elif seg:
                out.append(f'<polyline class="line-{name}" points="{" ".join(seg)}"/>')
    if not values:
        middle = f'x="{left + pw / 2}" y="{top + ph / 2}" text-anchor="middle"'
        out.append(f'<text class="empty" {middle}>немає запитів</text>')
    out.append("</svg>")
    return Markup("".join(out))
