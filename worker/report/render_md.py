"""The report as Markdown: what `crossgen report --format md` prints, for a wiki page or a terminal.

Markdown passes raw HTML through and gives ``|`` meaning in tables, so every piece of user text is
flattened to one line and its Markdown/HTML punctuation backslash-escaped (CommonMark renders an
escaped character literally): a mentor called ``<script>`` stays text, a topic with ``|`` stays in
its cell.
"""

from __future__ import annotations

import re

from worker.core.render import one_line
from worker.core.words import plural
from worker.report import render_ratings
from worker.report.cells import COLUMNS, blackout_days, person, short_date, totals_rows, when, zone_label
from worker.report.model import ProgrammeReport

_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~#!])")


def md_text(text: object) -> str:
    """``text`` on one line, safe in a Markdown paragraph or table cell."""
    return _SPECIAL.sub(r"\\\1", one_line(str(text), 500))


def _table(header: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    aligns = ["---:" if i in numeric else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(aligns) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_md(report: ProgrammeReport) -> str:
    zone = report.zone
    lines = [
        f"# {md_text(report.name)}: programme report",
        "",
        f"Programme from {short_date(report.start)} to {short_date(report.end)}; "
        f"lead {md_text(report.lead)}; "
        f"generated {md_text(when(report.generated_at, zone))}; times in {md_text(zone_label(report))}.",
        "",
        "## Totals",
        "",
        *_table(["", "Count"], [[md_text(label), str(n)] for label, n in totals_rows(report)], {1}),
        "",
        "## Pairs",
        "",
    ]
    if report.pairs:
        header = [name for name, _ in COLUMNS]
        rows = [[md_text(value(row, zone)) for _, value in COLUMNS] for row in report.pairs]
        numeric = {i for i, (_, value) in enumerate(COLUMNS) if isinstance(value(report.pairs[0], zone), int)}
        lines += _table(header, rows, numeric)
    else:
        lines.append("No pairs in the programme.")
    notes = [row for row in report.pairs if row.status_detail.strip()]
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- **{md_text(person(row.mentor))} → {md_text(person(row.mentee))}** "
                  f"({row.status.value}): {md_text(row.status_detail)}" for row in notes]
    lines += _extras(report)
    weeks = [w for w in report.sessions_per_week if w.held or w.upcoming or w.cancelled]
    if weeks:
        lines += ["", "## Sessions per week", ""]
        lines += _table(["Week of", "Held", "Upcoming", "Cancelled"],
                        [[short_date(w.week_start), str(w.held), str(w.upcoming), str(w.cancelled)]
                         for w in weeks], {1, 2, 3})
    lines += render_ratings.markdown(report)
    return "\n".join(lines) + "\n"


def _extras(report: ProgrammeReport) -> list[str]:
    """Cancellations by cause and the blackouts with their reasons, each under its own heading."""
    lines: list[str] = []
    if report.cancellations:
        lines += ["", "## Cancellations by cause", ""]
        rows = [[md_text(cause), str(n)] for cause, n in report.cancellations]
        lines += _table(["Cause", "Cancellations"], rows, {1})
    if report.blackouts:
        lines += ["", "## Blackouts", ""]
        lines += [
            f"- {blackout_days(b.start, b.end)}: {md_text(b.reason or 'no reason given')} "
            f"({plural(b.skipped, 'session')} skipped)"
            for b in report.blackouts
        ]
    return lines
