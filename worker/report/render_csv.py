"""The report as CSV, one row per pair: for a lead's spreadsheet.

RFC 4180 through the ``csv`` module (CRLF line ends, quoting where needed). A spreadsheet runs a
cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, tab or CR) as a formula, so any
text cell starting with one is prefixed with a single quote (OWASP's advice for CSV injection).
Counts stay numbers; times are ISO 8601 with the programme zone's offset.
"""

from __future__ import annotations

import csv
import io

from worker.report.cells import iso, person
from worker.report.model import PairRow, ProgrammeReport
from worker.report.ratings import one_decimal

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

HEADER = ("pair", "mentor", "mentor_address", "mentee", "mentee_address", "policy", "status",
          "status_detail", "held", "upcoming", "moved", "declined", "cancelled", "feedback_sent",
          "last_session", "next_session", "ratings", "average_rating", "mentor_response_rate",
          "mentee_response_rate")


def csv_cell(value: str | int) -> str | int:
    """``value`` made inert for spreadsheets: text that could start a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _row(row: PairRow, report: ProgrammeReport) -> tuple[str | int, ...]:
    return (row.pair_id, person(row.mentor), row.mentor.address, person(row.mentee), row.mentee.address,
            row.policy, row.status.value, row.status_detail, row.held, row.upcoming, row.moved, row.declined,
            row.cancelled, row.feedback_sent, iso(row.last_session, report.zone),
            iso(row.next_session, report.zone), *_ratings(row, report))


def _ratings(row: PairRow, report: ProgrammeReport) -> tuple[str | int, ...]:
    """``ratings``, ``average_rating`` (one decimal, empty when none) and each role's response rate (the
    share of its feedback emails answered with a rating, two decimals, empty when none was sent)."""
    mine = report.ratings.of(row.pair_id)
    rates = [mine.response_rate(role) if mine else None for role in ("mentor", "mentee")]
    return (row.ratings, one_decimal(row.average_rating), *("" if r is None else f"{r:.2f}" for r in rates))


def render_csv(report: ProgrammeReport) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in report.pairs:
        writer.writerow([csv_cell(value) for value in _row(row, report)])
    return out.getvalue()
