"""The company summary (``crossgen report --audience company``): the programme's success, for company
communications. Aggregates only: no names, no addresses, no pair ids, no comments.

Built from the lead's ``ProgrammeReport`` (so its figures are the report's figures) and rendered as
Markdown, CSV (``figure,value`` rows) or one standalone HTML page with the ratings chart. A figure made
of fewer than ``MIN_GROUP`` ratings (a topic, a month, the average itself) is left out rather than shown:
in a small programme it would point at a person.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass

from worker.report.cells import short_date
from worker.report.model import PairStatus, ProgrammeReport
from worker.report.rating_chart import ratings_chart
from worker.report.ratings import MonthRating, TopicRating, month_label, one_decimal, percent
from worker.report.render_csv import csv_cell

MIN_GROUP = 3
BEST_TOPICS = 3
_TAKING_PART = {PairStatus.BOOKED, PairStatus.FINISHED, PairStatus.PENDING}


@dataclass(frozen=True, slots=True)
class CompanySummary:
    programme: str
    period: str
    pairs: int
    people: int
    sessions_held: int
    ratings: int
    average_rating: float | None
    response_rate: float | None
    best_topics: tuple[TopicRating, ...]
    trend: tuple[MonthRating, ...]


def company_summary(report: ProgrammeReport) -> CompanySummary:
    taking_part = [row for row in report.pairs if row.status in _TAKING_PART or row.held]
    people = {p.address.lower() for row in taking_part for p in (row.mentor, row.mentee) if p.address}
    r = report.ratings
    enough = r.received >= MIN_GROUP
    return CompanySummary(
        programme=report.name,
        period=f"{short_date(report.start)} to {short_date(report.end)}",
        pairs=len(taking_part),
        people=len(people),
        sessions_held=report.totals.held,
        ratings=r.received,
        average_rating=r.average if enough else None,
        response_rate=r.response_rate() if enough else None,
        best_topics=tuple(t for t in r.topics if t.ratings >= MIN_GROUP)[:BEST_TOPICS],
        trend=tuple(m for m in r.trend if m.ratings >= MIN_GROUP),
    )


def _figures(s: CompanySummary) -> list[tuple[str, str]]:
    return [
        ("Pairs taking part", str(s.pairs)),
        ("People taking part", str(s.people)),
        ("Sessions held", str(s.sessions_held)),
        ("Ratings received", str(s.ratings)),
        ("Average rating (of 5)", one_decimal(s.average_rating) or "not enough ratings yet"),
        ("Response rate", percent(s.response_rate) or "not enough ratings yet"),
    ]


def render_company_md(report: ProgrammeReport) -> str:
    from worker.report.render_md import md_text

    s = company_summary(report)
    lines = [
        f"# {md_text(s.programme)}: how the programme is going",
        "",
        f"{s.period}.",
        "",
        "| Figure | Value |",
        "| --- | ---: |",
    ]
    lines += [f"| {label} | {md_text(value)} |" for label, value in _figures(s)]
    if s.best_topics:
        lines += ["", "## Best-rated topics", ""]
        lines += [
            f"{i}. {md_text(t.topic)}: {one_decimal(t.average)} of 5 ({t.ratings} ratings)"
            for i, t in enumerate(s.best_topics, start=1)
        ]
    if s.trend:
        lines += [
            "",
            "## Average rating per month",
            "",
            "| Month | Average | Ratings |",
            "| --- | ---: | ---: |",
        ]
        lines += [f"| {month_label(m.month)} | {one_decimal(m.average)} | {m.ratings} |" for m in s.trend]
    lines += ["", f"Aggregates only; a figure drawn from fewer than {MIN_GROUP} ratings is not shown."]
    return "\n".join(lines) + "\n"


def render_company_csv(report: ProgrammeReport) -> str:
    s = company_summary(report)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("figure", "value"))
    writer.writerow(("programme", csv_cell(s.programme)))
    writer.writerows(
        [
            ("pairs", s.pairs),
            ("people", s.people),
            ("sessions_held", s.sessions_held),
            ("ratings", s.ratings),
            ("average_rating", one_decimal(s.average_rating)),
            ("response_rate", "" if s.response_rate is None else f"{s.response_rate:.2f}"),
        ]
    )
    for i, t in enumerate(s.best_topics, start=1):
        writer.writerow((f"best_topic_{i}", csv_cell(f"{t.topic} ({one_decimal(t.average)})")))
    return out.getvalue()


def render_company_html(report: ProgrammeReport) -> str:
    s = company_summary(report)

    def e(text: object) -> str:
        return html.escape(str(text), quote=True)

    cards = "".join(
        f'<div class="card"><div class="n">{e(value)}</div><div class="l">{e(label)}</div></div>'
        for label, value in _figures(s)
    )
    topics = "".join(
        f"<li>{e(t.topic)}: <strong>{one_decimal(t.average)}</strong> of 5 ({t.ratings} ratings)</li>"
        for t in s.best_topics
    )
    chart = ratings_chart(s.trend, title=f"Average rating per month, {s.programme}")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{e(s.programme)}: how the programme is going</title>",
            "<style>body{margin:0;background:#f5f7fa;color:#1f2933;"
            "font:15px/1.5 'Segoe UI',Calibri,Arial,sans-serif}"
            "main{max-width:900px;margin:0 auto;padding:28px}h1{font-size:26px;margin:0 0 4px}"
            "h2{font-size:18px;margin:28px 0 10px}.cards{display:flex;flex-wrap:wrap;gap:12px}"
            ".card{flex:1 1 0;min-width:120px;background:#fff;border:1px solid #e4e7eb;"
            "border-radius:8px;padding:14px}"
            ".card .n{font-size:30px;font-weight:600}.card .l{color:#52606d;font-size:13px}"
            ".panel{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:16px}"
            "footer{color:#7b8794;font-size:12px;margin-top:24px}</style>",
            "</head>",
            "<body>",
            "<main>",
            f"<h1>{e(s.programme)}</h1>",
            f"<p>{e(s.period)}</p>",
            f'<div class="cards">{cards}</div>',
            *(["<h2>Best-rated topics</h2>", f"<ol>{topics}</ol>"] if topics else []),
            "<h2>Average rating per month</h2>",
            f'<div class="panel">{chart}</div>',
            f"<footer>Aggregates only; a figure drawn from fewer than {MIN_GROUP} ratings is not shown."
            "</footer>",
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )
