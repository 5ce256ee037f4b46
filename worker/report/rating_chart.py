"""An inline SVG of the average rating per month (bars on a fixed 0-5 scale), for both HTML reports.

Same manner as ``chart``: hand-written SVG, no scripts or external assets, every bar carrying
``data-month``, ``data-average`` and ``data-count`` so its geometry is easy to test, a tooltip per bar,
and a colour (Okabe-Ito bluish green) that reads with the common colour-vision deficiencies.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from worker.report.ratings import MonthRating, month_label

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 24, 44
COLOUR = "#009E73"
_TEXT = 'font-family="Segoe UI, Arial, sans-serif" fill="#3e4c59"'


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def ratings_chart(months: Sequence[MonthRating], *, title: str) -> str:
    """The chart as an ``<svg>`` element: one bar per month with ratings, its height the average."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base_y = TOP + plot_h
    scale = plot_h / 5
    band = plot_w / max(len(months), 1)
    parts = []
    for value in range(6):
        y = base_y - value * scale
        stroke = "#9aa5b1" if value == 0 else "#e4e7eb"
        parts.append(f'<line x1="{LEFT}" y1="{y:.2f}" x2="{WIDTH - RIGHT}" y2="{y:.2f}" stroke="{stroke}"/>')
        parts.append(
            f'<text x="{LEFT - 8}" y="{y + 4:.2f}" text-anchor="end" font-size="12" {_TEXT}>{value}</text>'
        )
    bar_w = min(56.0, band * 0.6)
    for index, month in enumerate(months):
        centre = LEFT + index * band + band / 2
        height = month.average * scale
        label = month_label(month.month)
        parts.append(
            f'<rect x="{centre - bar_w / 2:.2f}" y="{base_y - height:.2f}" width="{bar_w:.2f}" '
            f'height="{height:.2f}" fill="{COLOUR}" data-month="{month.month.isoformat()}" '
            f'data-average="{month.average:.1f}" data-count="{month.ratings}">'
            f"<title>{label}: {month.average:.1f} of 5 from {month.ratings} ratings</title></rect>"
        )
        parts.append(
            f'<text x="{centre:.2f}" y="{base_y - height - 5:.2f}" text-anchor="middle" '
            f'font-size="12" {_TEXT}>{month.average:.1f}</text>'
        )
        parts.append(
            f'<text x="{centre:.2f}" y="{base_y + 18}" text-anchor="middle" font-size="11" '
            f"{_TEXT}>{label}</text>"
        )
    if months:
        desc = (
            "Average rating per month: "
            + ", ".join(f"{month_label(m.month)} {m.average:.1f} ({m.ratings})" for m in months)
            + "."
        )
    else:
        desc = "No ratings yet."
        parts.append(
            f'<text x="{LEFT + plot_w / 2:.2f}" y="{TOP + plot_h / 2:.2f}" text-anchor="middle" '
            f'font-size="13" {_TEXT}>No ratings yet</text>'
        )
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
            'aria-labelledby="ratings-title ratings-desc" style="max-width:720px;display:block;">',
            f'<title id="ratings-title">{_e(title)}</title>',
            f'<desc id="ratings-desc">{_e(desc)}</desc>',
            *parts,
            "</svg>",
        ]
    )
