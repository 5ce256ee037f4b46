"""The report as one standalone HTML page a lead would rather look at than read.

Figures first (a row of big numbers), then the week-by-week chart, then one line per pair with a
coloured status and the reason when a pair needs attention. One file: CSS inline in ``<style>``,
the chart as inline SVG, no scripts, no fonts or images fetched. Every piece of user text is escaped
with ``html.escape(quote=True)``; the only link is the lead's ``mailto:``, built from a checked address.
"""

from __future__ import annotations

import html
from datetime import datetime
from urllib.parse import quote

from worker.core.render import RenderError, mail_address
from worker.core.words import plural
from worker.report import render_ratings
from worker.report.cells import blackout_days, person, short_date, when, zone_label
from worker.report.chart import sessions_chart
from worker.report.model import PairRow, PairStatus, ProgrammeReport

# status -> (badge background, text colour); attention-worthy states stand out, finished ones recede.
_BADGES = {
    PairStatus.BOOKED: ("#d1f2e6", "#03543f"),
    PairStatus.PENDING: ("#e4e7eb", "#323f4b"),
    PairStatus.UNSCHEDULED: ("#fde8c8", "#8a4b08"),
    PairStatus.REFUSED: ("#fbd5d5", "#9b1c1c"),
    PairStatus.FINISHED: ("#e1effe", "#1e429f"),
    PairStatus.CANCELLED: ("#e4e7eb", "#52606d"),
    PairStatus.ERROR: ("#fbd5d5", "#9b1c1c"),
}
_NEEDS_ATTENTION = {PairStatus.UNSCHEDULED, PairStatus.REFUSED, PairStatus.ERROR}

_CSS = """
body{margin:0;background:#f5f7fa;color:#1f2933;font:14px/1.45 'Segoe UI',Calibri,Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px;color:#243b53}
.meta{color:#52606d;margin:0 0 20px}
.meta a{color:#0f6cbd}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 0;background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:12px 14px;min-width:96px}
.card .n{font-size:28px;font-weight:600;line-height:1.1}
.card .l{color:#52606d;font-size:13px}
.panel{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:16px}
.statuses{margin:12px 0 0;color:#52606d}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #e4e7eb;border-radius:8px}
th,td{padding:8px 8px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#f0f4f8;font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:#486581}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.attention td{background:#fffaf0}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600}
.why{display:block;color:#52606d;font-size:12px;margin-top:3px;max-width:260px}
.who{display:block;color:#52606d;font-size:12px}
.scroll{overflow-x:auto}
td:last-child,td:nth-last-child(2){white-space:nowrap}
footer{color:#7b8794;font-size:12px;margin-top:24px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _lead(address: str) -> str:
    try:
        safe = mail_address(address)
    except RenderError:
        return _e(address)  # shown, never linked
    return f'<a href="mailto:{_e(quote(safe, safe="@.+-_"))}">{_e(safe)}</a>'


def _cards(report: ProgrammeReport) -> str:
    t = report.totals
    cancelled = max(t.cancelled, sum(n for _, n in report.cancellations))  # see cells.totals_rows
    figures = [("Pairs", t.pairs), ("Sessions held", t.held), ("Upcoming", t.upcoming), ("Moved", t.moved),
               ("Declined", t.declined), ("Cancelled", cancelled), ("Feedback sent", t.feedback_sent)]
    cards = "".join(f'<div class="card"><div class="n">{n}</div><div class="l">{_e(label)}</div></div>'
                    for label, n in figures)
    statuses = " · ".join(f"{n} {status.value}" for status, n in t.by_status if n) or "no pairs"
    return f'<div class="cards">{cards}</div>\n<p class="statuses">Pairs: {_e(statuses)}</p>'


def _badge(status: PairStatus) -> str:
    background, colour = _BADGES[status]
    return f'<span class="badge" style="background:{background};color:{colour}">{_e(status.value)}</span>'


_COUNTS = (("Held", "held"), ("Upcoming", "upcoming"), ("Moved", "moved"), ("Declined", "declined"),
           ("Cancelled", "cancelled"), ("Feedback", "feedback_sent"))


def _pair_cell(row: PairRow) -> str:
    return (f'<td><strong>{_e(person(row.mentor))}</strong> &rarr; <strong>{_e(person(row.mentee))}</strong>'
            f'<span class="who">{_e(row.mentor.address)} &rarr; {_e(row.mentee.address)}</span>'
            f'<span class="who">{_e(row.pair_id)} · {_e(row.policy)}</span></td>')


def _day(at: datetime | None, report: ProgrammeReport) -> str:
    # The year is in the page's header; a dash reads better than an empty cell.
    return _e(when(at, report.zone, year=False)) if at is not None else "&mdash;"


def _table(report: ProgrammeReport) -> str:
    """One line per pair: who (mentor → mentee), status and why, the counts, last and next session."""
    if not report.pairs:
        return "<p>No pairs in the programme.</p>"
    head = ("<th>Pair (mentor &rarr; mentee)</th><th>Status</th>"
            + "".join(f'<th class="num">{label}</th>' for label, _ in _COUNTS)
            + "<th>Last session</th><th>Next session</th>")
    rows = []
    for row in report.pairs:
        why = f'<span class="why">{_e(row.status_detail)}</span>' if row.status_detail else ""
        counts = "".join(f'<td class="num">{getattr(row, field)}</td>' for _, field in _COUNTS)
        attention = ' class="attention"' if row.status in _NEEDS_ATTENTION else ""
        rows.append(f"<tr{attention}>{_pair_cell(row)}<td>{_badge(row.status)}{why}</td>{counts}"
                    f"<td>{_day(row.last_session, report)}</td>"
                    f"<td>{_day(row.next_session, report)}</td></tr>")
    return (f'<div class="scroll"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n' + "\n".join(rows)
            + "\n</tbody>\n</table></div>")


def _extras(report: ProgrammeReport) -> str:
    """Cancellations by cause and the blackouts with their reasons."""
    parts = []
    if report.cancellations:
        items = "".join(f"<li>{_e(cause)}: {n}</li>" for cause, n in report.cancellations)
        parts.append(f"<h2>Cancellations by cause</h2>\n<ul>{items}</ul>")
    if report.blackouts:
        items = "".join(
            f"<li>{_e(blackout_days(b.start, b.end))}: {_e(b.reason or 'no reason given')} "
            f"({_e(plural(b.skipped, 'session'))} skipped)</li>"
            for b in report.blackouts
        )
        parts.append(f"<h2>Blackouts</h2>\n<ul>{items}</ul>")
    return "\n".join(parts)


def render_html(report: ProgrammeReport) -> str:
    zone = report.zone
    today = report.generated_at.astimezone(zone).date()
    chart = sessions_chart(report.sessions_per_week, title=f"Sessions per week, {report.name}", today=today)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.name)}: programme report</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{_e(report.name)}</h1>",
        f'<p class="meta">Programme report · {short_date(report.start)} to {short_date(report.end)} · '
        f"lead {_lead(report.lead)} · generated {_e(when(report.generated_at, zone))} "
        f"({_e(zone_label(report))})</p>",
        _cards(report),
        "<h2>Sessions per week</h2>",
        f'<div class="panel">{chart}</div>',
        "<h2>Pairs</h2>",
        _table(report),
        _extras(report),
        render_ratings.html_section(report),
        f"<footer>Times in {_e(zone_label(report))}. Held: ended and not cancelled, not declined by both. "
        "Counts come from the programme mailbox's calendar and sent mail.</footer>",
        "</main>",
        "</body>",
        "</html>",
        "",
    ])
