"""The report for a person at a terminal: what ``crossgen report`` shows when stdout is a terminal.

The Markdown table has a column per figure and reads well on a wiki page, not in 80 columns. Here the
figures come first as sentences, then one row per pair with only what a lead scans for (who, status,
held and upcoming, the next session with its zone), then the reasons, the cancellations by cause,
the blackouts and the ratings (headline, topics, pairs to look at, the lead's confidential comments)
under the table, pairs named by their people. Every cell wraps; nothing is cut.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from worker.core.words import plural
from worker.report.cells import blackout_days, person, short_date, when, zone_label
from worker.report.model import ProgrammeReport
from worker.report.ratings import one_decimal
from worker.report.render_ratings import headline

if TYPE_CHECKING:
    from rich.console import Console


def render_terminal(report: ProgrammeReport, console: Console) -> None:
    from rich import box
    from rich.table import Table

    zone = report.zone
    t = report.totals

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    say(f"{report.name}: programme report")
    say(
        f"{short_date(report.start)} to {short_date(report.end)}; lead {report.lead}; "
        f"generated {when(report.generated_at, zone)}"
    )
    statuses = ", ".join(f"{n} {status.value}" for status, n in t.by_status if n)
    say("")
    say(f"{plural(t.pairs, 'pair')}" + (f" ({statuses})" if statuses else ""))
    say(
        f"Sessions: {t.held} held, {t.upcoming} upcoming, {t.moved} moved, {t.declined} declined, "
        f"{max(t.cancelled, sum(n for _, n in report.cancellations))} cancelled; "
        f"{plural(t.feedback_sent, 'feedback email')} sent"
    )
    if report.pairs:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=None)
        longest = max(
            len(w) for row in report.pairs for w in f"{person(row.mentor)} {person(row.mentee)}".split()
        )
        table.add_column("pair (mentor → mentee)", overflow="fold", min_width=min(longest, 20))
        table.add_column("status", overflow="fold")
        table.add_column("held", justify="right", min_width=4)
        table.add_column("upcoming", justify="right", min_width=4)
        table.add_column("next session", overflow="fold", min_width=len(zone_label(report)))
        for row in report.pairs:
            upcoming = when(row.next_session, zone)
            table.add_row(
                f"{person(row.mentor)} → {person(row.mentee)}",
                row.status.value,
                str(row.held),
                str(row.upcoming),
                "\n".join(upcoming.rsplit(" ", 1)) if upcoming else "-",
            )
        console.print(table)
    notes = [row for row in report.pairs if row.status_detail.strip()]
    for row in notes:
        say(f"- {person(row.mentor)} → {person(row.mentee)} ({row.status.value}): {row.status_detail}")
    if report.cancellations:
        say("")
        say("Cancellations by cause:")
        for cause, n in report.cancellations:
            say(f"- {cause}: {n}")
    if report.blackouts:
        say("")
        say("Blackouts:")
        for b in report.blackouts:
            skipped = plural(b.skipped, "session")
            say(f"- {blackout_days(b.start, b.end)}: {b.reason or 'no reason given'} ({skipped} skipped)")
    _ratings(report, say)


def _ratings(report: ProgrammeReport, say: Callable[[str], None]) -> None:
    r = report.ratings
    rows = {row.pair_id: row for row in report.pairs}

    def who(pair_id: str) -> str:
        row = rows.get(pair_id)
        return f"{person(row.mentor)} → {person(row.mentee)}" if row else pair_id

    say("")
    say(f"Ratings: {headline(r)}")
    if r.topics:
        say("By topic, best first: " + "; ".join(
            f"{t.topic} {one_decimal(t.average)} ({plural(t.ratings, 'rating')})" for t in r.topics
        ))
    for pair_id, why in r.attention:
        say(f"- look at {who(pair_id)}: {why}")
    if r.comments:
        say("Comments (confidential: for the programme lead only):")
        for c in r.comments:
            say(f"- {who(c.pair_id)}, session {c.session}, {c.role}: {c.text}")
