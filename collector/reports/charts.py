"""Small server-rendered SVG charts (no JavaScript, no build step): bars and stacked bars.

Every chart carries a <title> and a text label on each bar, so it reads without colour and a
screen reader can announce it.
"""

from __future__ import annotations

from html import escape

PALETTE = {
    "replace_now": "#b3261e",
    "plan_12_months": "#e07b00",
    "monitor": "#d4b400",
    "healthy": "#2e7d32",
    "unknown": "#9e9e9e",
    "ended": "#b3261e",
    "ending": "#e07b00",
    "supported": "#2e7d32",
}
DEFAULT_COLOR = "#3b5b92"


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    t = escape(title)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="{t}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
        f"<title>{t}</title>" + "".join(body) + "</svg>"
    )


def bar_chart(items: list[tuple[str, int]], title: str, *, colors: dict[str, str] | None = None) -> str:
    """Vertical bars, one per (label, value); ``colors`` maps a label to its colour."""
    width, height, top, bottom, left = 520, 250, 40, 40, 10
    n = max(1, len(items))
    peak = max([v for _, v in items] + [1])
    slot = (width - 2 * left) / n
    bar_w = slot * 0.7
    plot_h = height - top - bottom
    body = [f'<text x="{left}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        h = plot_h * value / peak
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - h
        color = (colors or {}).get(label, DEFAULT_COLOR)
        body.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{escape(label)}: {value}</title></rect>"
        )
        cx = x + bar_w / 2
        body.append(f'<text x="{cx:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{value}</text>')
        body.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" font-size="11" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    body.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - left}" y2="{top + plot_h}" stroke="#555"/>'
    )
    return _svg(width, height, title, body)


def stacked_bars(
    rows: list[tuple[str, dict[str, int]]],
    keys: list[tuple[str, str]],
    title: str,
) -> str:
    """Horizontal stacked bars: one row per (label, counts by key); ``keys`` = (key, legend label)."""
    label_w, bar_w, row_h = 200, 560, 22
    width = label_w + bar_w + 20
    legend_h = 22
    height = 30 + legend_h + row_h * max(1, len(rows)) + 10
    body = [f'<text x="0" y="16" font-size="13" font-weight="bold">{escape(title)}</text>']
    x = 0
    for key, legend in keys:
        color = PALETTE.get(key, DEFAULT_COLOR)
        body.append(f'<rect x="{x}" y="26" width="12" height="12" fill="{color}"/>')
        body.append(f'<text x="{x + 16}" y="37" font-size="11">{escape(legend)}</text>')
        x += 22 + 7 * len(legend)
    peak = max([sum(c.values()) for _, c in rows] + [1])
    y = 30 + legend_h
    for label, counts in rows:
        short = label if len(label) <= 30 else label[:29] + "…"
        body.append(f'<text x="0" y="{y + 15}" font-size="11">{escape(short)}</text>')
        bx = float(label_w)
        for key, legend in keys:
            value = counts.get(key, 0)
            if not value:
                continue
            w = bar_w * value / peak
            color = PALETTE.get(key, DEFAULT_COLOR)
            body.append(
                f'<rect x="{bx:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{color}">'
                f"<title>{escape(label)} — {escape(legend)}: {value}</title></rect>"
            )
            if w >= 14:
                body.append(
                    f'<text x="{bx + w / 2:.1f}" y="{y + 15}" font-size="10" fill="#fff" '
                    f'text-anchor="middle">{value}</text>'
                )
            bx += w
        body.append(f'<text x="{bx + 4:.1f}" y="{y + 15}" font-size="10">{sum(counts.values())}</text>')
        y += row_h
    return _svg(width, height, title, body)
