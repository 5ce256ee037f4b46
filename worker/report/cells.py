"""How the report's values read, shared by every format so the Markdown, CSV and HTML agree.

``COLUMNS`` is the per-pair table once, in order; each format only decides how to escape and lay
out a cell. Times are shown in the programme's zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo

from worker.core.render import Person, one_line
from worker.report.model import PairRow, ProgrammeReport

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def person(who: Person) -> str:
    return one_line(who.name, 120) or who.address


def short_date(day: date) -> str:
    """"11 Jan 2027": written out so it never depends on the host's locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def zone_name(zone: tzinfo) -> str:
    """The IANA name of ``zone`` (``Europe/Paris``), as every time in the report names its zone."""
    return str(getattr(zone, "key", None) or zone)


def when(at: datetime | None, zone: tzinfo, *, year: bool = True, named: bool = True) -> str:
    """"Tue 9 Feb 2027 10:00 Europe/Paris" in ``zone`` ("Tue 9 Feb 10:00 Europe/Paris" without
    ``year``; without the zone only where the zone is named next to it), or "" for no session."""
    if at is None:
        return ""
    local = at.astimezone(zone)
    day = short_date(local.date()) if year else f"{local.day} {_MONTHS[local.month - 1]}"
    text = f"{_DAYS[local.weekday()]} {day} {local:%H:%M}"
    return f"{text} {zone_name(zone)}" if named else text


def iso(at: datetime | None, zone: tzinfo) -> str:
    """ISO 8601 with the programme zone's offset, for machines (CSV)."""
    return at.astimezone(zone).isoformat(timespec="minutes") if at is not None else ""


def zone_label(report: ProgrammeReport) -> str:
    return zone_name(report.zone)


def blackout_days(start: date, end: date) -> str:
    """"22 Feb 2027 to 26 Feb 2027", or one day."""
    return short_date(start) if start == end else f"{short_date(start)} to {short_date(end)}"


# (header, value for people) — the counts stay ints so CSV keeps them numeric.
Cell = str | int
COLUMNS: tuple[tuple[str, Callable[[PairRow, tzinfo], Cell]], ...] = (
    ("Pair", lambda r, z: r.pair_id),
    ("Mentor", lambda r, z: person(r.mentor)),
    ("Mentee", lambda r, z: person(r.mentee)),
    ("Policy", lambda r, z: r.policy),
    ("Status", lambda r, z: r.status.value),
    ("Held", lambda r, z: r.held),
    ("Upcoming", lambda r, z: r.upcoming),
    ("Moved", lambda r, z: r.moved),
    ("Declined", lambda r, z: r.declined),
    ("Cancelled", lambda r, z: r.cancelled),
    ("Feedback sent", lambda r, z: r.feedback_sent),
    ("Last session", lambda r, z: when(r.last_session, z)),
    ("Next session", lambda r, z: when(r.next_session, z)),
)

def totals_rows(report: ProgrammeReport) -> list[tuple[str, int]]:
    """The programme totals as (label, figure), in reading order; statuses no pair has are left out."""
    t = report.totals
    rows = [("Pairs", t.pairs)]
    rows += [(f"Pairs {status.value}", n) for status, n in t.by_status if n]
    # A cancelled series or occurrence leaves the calendar: the audit log's count by cause is the fuller one.
    cancelled = max(t.cancelled, sum(n for _, n in report.cancellations))
    rows += [("Sessions held", t.held), ("Sessions upcoming", t.upcoming), ("Sessions moved", t.moved),
             ("Sessions declined", t.declined), ("Sessions cancelled", cancelled),
             ("Feedback emails sent", t.feedback_sent)]
    return rows
