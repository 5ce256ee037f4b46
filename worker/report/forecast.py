"""The forecast as the lead reads it (Markdown, or one HTML page with a chart) and as machines read it.

``forecast_json`` is the contract's shape (../shared/spec/cli.md): ``{"pairs": [...]}``, each pair with
``pair``, ``mentor``, ``mentee``, ``sessions`` (how many it would hold before the programme ends),
``first`` (ISO 8601 with the series zone's offset, or null) and ``lost``; plus the details a lead asks
next (each session's start, the causes of what is lost, the planner's state and why).
Every piece of user text in the HTML is escaped.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

from worker.core.forecast import Forecast, LostTo, PairForecast, weekly
from worker.report.cells import short_date, when
from worker.report.chart import sessions_chart
from worker.report.model import WeekCount

CAUSES = tuple(c.value for c in LostTo)


def _iso(p: PairForecast, at: Any) -> str:
    zone = ZoneInfo(p.zone_name) if p.zone_name else None
    return str(at.astimezone(zone).isoformat() if zone else at.isoformat())


def pair_json(p: PairForecast) -> dict[str, Any]:
    causes = Counter(lost.cause.value for lost in p.lost)
    return {
        "pair": p.pair,
        "mentor": p.mentor,
        "mentee": p.mentee,
        "policy": p.policy,
        "state": p.state,
        "sessions": len(p.sessions),
        "wanted": p.wanted,
        "first": _iso(p, p.first.start) if p.first else None,
        "lost": len(p.lost),
        "lost_to": {cause: causes[cause] for cause in CAUSES},
        "lost_dates": [{"date": lost.day.isoformat(), "cause": lost.cause.value} for lost in p.lost],
        "moved": p.moved,
        "starts": [_iso(p, s.start) for s in p.sessions],
        "detail": p.detail,
    }


def forecast_json(result: Forecast) -> dict[str, Any]:
    return {
        "programme": result.programme,
        "as_of": result.now.isoformat(),
        "policy": result.policy,
        "pairs": [pair_json(p) for p in result.pairs],
        "sessions": result.sessions,
        "lost": result.lost,
    }


def _title(result: Forecast) -> str:
    what_if = f" if every pair were on {result.policy}" if result.policy else ""
    return f"{result.programme}: forecast{what_if}"


def _lost_text(p: PairForecast) -> str:
    if not p.lost:
        return "0"
    causes = Counter(lost.cause.value for lost in p.lost)
    return f"{len(p.lost)} (" + ", ".join(f"{n} {c}" for c, n in causes.items()) + ")"


def _why(p: PairForecast) -> str:
    return p.detail.replace("\n", " ") if p.detail else ""


def render_md(result: Forecast) -> str:
    zone = result.zone
    lines = [
        f"# {_title(result)}",
        "",
        f"From the calendars as of {when(result.now, zone)}; the programme runs "
        f"{short_date(result.start)} to {short_date(result.end)}. "
        f"{result.sessions} sessions in all, {result.lost} lost.",
        "",
        "| pair | policy | sessions | first session | lost | state |",
        "|---|---|---:|---|---|---|",
    ]
    for p in result.pairs:
        who = f"{p.mentor_name} → {p.mentee_name}".replace("|", "\\|")
        first = ""
        if p.first and p.zone_name:
            first = when(p.first.start, ZoneInfo(p.zone_name))  # "Tue 12 Jan 2027 09:30 Europe/Paris"
        state = p.state + (f": {_why(p)}" if _why(p) else "")
        lines.append(
            f"| {who} | {p.policy} | {len(p.sessions)} of {p.wanted} | {first} | {_lost_text(p)} | "
            f"{state.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


_CSS = """
body{margin:0;background:#f5f7fa;color:#1f2933;font:14px/1.45 'Segoe UI',Calibri,Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:24px;margin:0 0 4px}.meta{color:#52606d;margin:0 0 20px}
.panel{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:16px;margin-bottom:20px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e4e7eb}
th,td{padding:8px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#f0f4f8;font-size:12px;text-transform:uppercase;color:#486581}
td.num{text-align:right;font-variant-numeric:tabular-nums}.why{display:block;color:#52606d;font-size:12px}
"""


def render_html(result: Forecast) -> str:
    weeks = [WeekCount(day, 0, held, lost) for day, (held, lost) in weekly(result).items()]
    chart = sessions_chart(weeks, title=_title(result), labels={"upcoming": "Forecast", "cancelled": "Lost"})
    rows = []
    for p in result.pairs:
        first = when(p.first.start, ZoneInfo(p.zone_name), named=False) if p.first and p.zone_name else ""
        rows.append(
            "<tr>"
            f'<td>{_e(p.mentor_name)} → {_e(p.mentee_name)}<span class="why">{_e(p.pair)}</span></td>'
            f"<td>{_e(p.policy)}</td>"
            f'<td class="num">{len(p.sessions)} of {p.wanted}</td>'
            f'<td>{_e(first)}<span class="why">{_e(p.zone_name or "")}</span></td>'
            f"<td>{_e(_lost_text(p))}</td>"
            f'<td>{_e(p.state)}<span class="why">{_e(_why(p))}</span></td>'
            "</tr>"
        )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{_e(_title(result))}</title><style>{_CSS}</style></head><body><main>",
            f"<h1>{_e(_title(result))}</h1>",
            f'<p class="meta">From the calendars as of {_e(when(result.now, result.zone))}: '
            f"{result.sessions} sessions, {result.lost} lost.</p>",
            f'<div class="panel">{chart}</div>',
            "<table><thead><tr><th>Pair</th><th>Policy</th><th>Sessions</th><th>First session</th>"
            "<th>Lost</th><th>State</th></tr></thead><tbody>",
            *rows,
            "</tbody></table></main></body></html>",
        ]
    )
