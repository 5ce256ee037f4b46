"""A small inline SVG of sessions per week, stacked held / upcoming / cancelled, for the HTML report.

Hand-written SVG rather than a charting library: it is one picture, it must work in a standalone file
with no scripts and no external assets, and its geometry is easy to test (every bar carries
``data-kind`` and ``data-count``, and heights are proportional to counts on one scale).
Colours are from the Okabe-Ito palette, readable with the common colour-vision deficiencies, and each
series is also named in the legend and in each bar's tooltip.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from worker.report.model import WeekCount

WIDTH, HEIGHT = 960, 300
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 44, 58
SERIES = (  # (kind, label, colour), bottom to top
    ("held", "Held", "#009E73"),
    ("upcoming", "Upcoming", "#56B4E9"),
    ("cancelled", "Cancelled", "#D55E00"),
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT = 'font-family="Segoe UI, Arial, sans-serif" fill="#3e4c59"'


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _label(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]}"


def nice_scale(largest: int) -> tuple[int, int]:
    """``(top, step)`` of the y axis: a 1-2-5 step giving at most five gridlines above zero."""
    if largest <= 0:
        return 1, 1
    raw = largest / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    return step * math.ceil(largest / step), step


class _Frame:
    """The plot area and the one vertical scale every bar is drawn on."""

    def __init__(self, weeks: Sequence[WeekCount]) -> None:
        self.weeks = weeks
        self.plot_w, self.plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        self.base_y = TOP + self.plot_h
        self.top, self.step = nice_scale(max((w.held + w.upcoming + w.cancelled for w in weeks), default=0))
        self.scale = self.plot_h / self.top
        self.band = self.plot_w / max(len(weeks), 1)

    def centre(self, index: int) -> float:
        return LEFT + index * self.band + self.band / 2


def _axes(f: _Frame) -> list[str]:
    parts = []
    for value in range(0, f.top + 1, f.step):
        y = f.base_y - value * f.scale
        stroke = "#9aa5b1" if value == 0 else "#e4e7eb"
        parts.append(f'<line x1="{LEFT}" y1="{y:.2f}" x2="{WIDTH - RIGHT}" y2="{y:.2f}" stroke="{stroke}"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 4:.2f}" text-anchor="end" font-size="12" {_TEXT}>'
                     f"{value}</text>")
    mid = TOP + f.plot_h / 2
    parts.append(f'<text x="14" y="{mid:.2f}" text-anchor="middle" font-size="12" {_TEXT} '
                 f'transform="rotate(-90 14 {mid:.2f})">Sessions</text>')
    parts.append(f'<text x="{LEFT + f.plot_w / 2:.2f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="12" '
                 f"{_TEXT}>Week starting (Monday)</text>")
    every = max(1, math.ceil(len(f.weeks) / 13))  # about a dozen date labels, never overlapping
    for index, week in enumerate(f.weeks):
        if index % every == 0:
            parts.append(f'<text x="{f.centre(index):.2f}" y="{f.base_y + 18}" text-anchor="middle" '
                         f'font-size="11" {_TEXT}>{_label(week.week_start)}</text>')
    return parts


def _series(labels: Mapping[str, str] | None) -> tuple[tuple[str, str, str], ...]:
    """SERIES with the legend's words replaced where ``labels`` says (the forecast's own words)."""
    labels = labels or {}
    return tuple((kind, labels.get(kind, label), colour) for kind, label, colour in SERIES)


def _bars(f: _Frame, series: Sequence[tuple[str, str, str]] = SERIES) -> list[str]:
    parts = []
    bar_w = max(2.0, f.band * 0.7)
    for index, week in enumerate(f.weeks):
        x = f.centre(index) - bar_w / 2
        y = float(f.base_y)
        for kind, label, colour in series:
            count = getattr(week, kind)
            if not count:
                continue
            height = count * f.scale
            y -= height
            parts.append(
                f'<rect x="{x:.2f}" y="{y:.2f}" width="{bar_w:.2f}" height="{height:.2f}" '
                f'fill="{colour}" data-week="{week.week_start.isoformat()}" data-kind="{kind}" '
                f'data-count="{count}"><title>Week of {_label(week.week_start)}: {count} {label.lower()}'
                "</title></rect>"
            )
    return parts


def _today(f: _Frame, today: date | None) -> list[str]:
    if today is None or not f.weeks:
        return []
    first, last = f.weeks[0].week_start, f.weeks[-1].week_start
    if not first <= today < last + timedelta(days=7):
        return []
    cx = f.centre((today - first).days // 7)
    return [f'<line x1="{cx:.2f}" y1="{TOP - 4}" x2="{cx:.2f}" y2="{f.base_y}" stroke="#52606d" '
            'stroke-dasharray="4 3"/>',
            f'<text x="{cx + 4:.2f}" y="{TOP + 6}" font-size="11" {_TEXT}>today</text>']


def _legend(totals: dict[str, int], series: Sequence[tuple[str, str, str]] = SERIES) -> list[str]:
    parts = []
    x = LEFT
    for kind, label, colour in series:
        text = f"{label} ({totals[kind]})"
        parts.append(f'<rect x="{x}" y="12" width="14" height="14" fill="{colour}"/>')
        parts.append(f'<text x="{x + 20}" y="24" font-size="13" {_TEXT}>{_e(text)}</text>')
        x += 30 + 8 * len(text)
    return parts


def sessions_chart(
    weeks: Sequence[WeekCount],
    *,
    title: str,
    today: date | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The chart as an ``<svg>`` element; ``today`` (a date in the programme's zone) marks its week.
    ``labels`` renames series in the legend and tooltips (the forecast calls upcoming "Forecast")."""
    frame = _Frame(weeks)
    series = _series(labels)
    totals = {kind: sum(getattr(w, kind) for w in weeks) for kind, _, _ in series}
    if weeks:
        first, last = weeks[0].week_start, weeks[-1].week_start
        desc = f"Sessions per week from {_label(first)} {first.year} to {_label(last)} {last.year}: "
    else:
        desc = "No weeks to show: "
    desc += ", ".join(f"{totals[kind]} {label.lower()}" for kind, label, _ in series) + "."
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'role="img" aria-labelledby="chart-title chart-desc" style="max-width:1100px;display:block;">',
        f'<title id="chart-title">{_e(title)}</title>',
        f'<desc id="chart-desc">{_e(desc)}</desc>',
        *_axes(frame),
        *_bars(frame, series),
        *_today(frame, today),
        *_legend(totals, series),
        "</svg>",
    ])
