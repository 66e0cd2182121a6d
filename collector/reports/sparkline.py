"""Small trend charts as inline SVG, drawn on the server (no JavaScript, nothing fetched).

Sizes are SVG attributes and colours come from CSS classes (``collector/web/static/style.css``), so
the pages carry no ``style`` attribute and pass a strict Content-Security-Policy. Every chart has a
``<title>`` (read by screen readers and shown on hover) that says in words what it draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def _points(
    values: Sequence[float | None], width: float, height: float, pad: float
) -> list[list[tuple[float, float]]]:
    """Polyline segments (a gap where there is no value), y from 0 (bottom) to 100 (top)."""
    n = max(1, len(values) - 1)
    segments: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        x = pad + (width - 2 * pad) * i / n
        y = pad + (height - 2 * pad) * (1 - max(0.0, min(100.0, v)) / 100)
        segments[-1].append((x, y))
    return [s for s in segments if s]


def _path(segment: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)


def sparkline(values: Sequence[float | None], *, title: str, width: int = 120, height: int = 28) -> str:
    """A compliance line (0-100 %) over the days of ``values``; the last point is marked."""
    body = [f"<title>{escape(title)}</title>"]
    body.append(f'<line class="spark-base" x1="2" y1="{height - 2}" x2="{width - 2}" y2="{height - 2}"/>')
    segments = _points(values, width, height, 2)
    for seg in segments:
        if len(seg) == 1:
            x, y = seg[0]
            body.append(f'<circle class="spark-dot" cx="{x:.1f}" cy="{y:.1f}" r="1.5"/>')
        else:
            body.append(f'<polyline class="spark-line" points="{_path(seg)}"/>')
    if segments:
        x, y = segments[-1][-1]
        body.append(f'<circle class="spark-end" cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" role="img" aria-label="{escape(title)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">' + "".join(body) + "</svg>"
    )


def trend_chart(
    values: Sequence[float | None],
    *,
    title: str,
    labels: Sequence[str],
    marks: Sequence[int] = (),
    value_label: str | None = None,
    width: int = 960,
    height: int = 190,
) -> str:
    """A larger line chart of compliance (0-100 %): a grid at 25 % steps, x labels at ``marks``
    (indexes into ``values`` and ``labels``), ``value_label`` written at the end of the line."""
    left, right, top, bottom = 34, 52, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    body = [f"<title>{escape(title)}</title>"]
    for pct in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - pct / 100)
        body.append(f'<line class="chart-grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>')
        body.append(f'<text class="chart-axis" x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{pct}</text>')
    n = max(1, len(values) - 1)
    for i in marks:
        if 0 <= i < len(labels):
            x = left + plot_w * i / n
            body.append(
                f'<line class="chart-mark" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}"/>'
            )
            body.append(
                f'<text class="chart-axis" x="{x:.1f}" y="{height - 6}" text-anchor="middle">'
                f"{escape(labels[i])}</text>"
            )
    segments = [[(x + left, y + top) for x, y in seg] for seg in _points(values, plot_w, plot_h, 0)]
    for seg in segments:
        if len(seg) == 1:
            x, y = seg[0]
            body.append(f'<circle class="chart-dot" cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>')
        else:
            body.append(f'<polyline class="chart-line" points="{_path(seg)}"/>')
    if segments:
        x, y = segments[-1][-1]
        body.append(f'<circle class="chart-end" cx="{x:.1f}" cy="{y:.1f}" r="3.5"/>')
        if value_label:
            body.append(
                f'<text class="chart-value" x="{x + 6:.1f}" y="{y + 4:.1f}">{escape(value_label)}</text>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" role="img" '
        f'aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        + "".join(body)
        + "</svg>"
    )
