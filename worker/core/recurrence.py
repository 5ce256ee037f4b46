"""Session dates of one of our series, from its ``Recurrence``.

The planner needs to know which session an occurrence is (its agenda, its feedback key), and Graph
gives only the occurrence's original start. Our series use two patterns only (weekly every N weeks,
and relativeMonthly on the n-th or last weekday), expanded here in the series' own zone so each
session keeps its wall-clock time across DST. The sandbox has its own, independent expansion.
"""

from __future__ import annotations

from datetime import UTC as _UTC
from datetime import date, datetime, time, timedelta, tzinfo

from worker.core.calendar_math import nth_weekday
from worker.core.types import CadenceKind, Recurrence, Session, WeekIndex


def session_dates(rec: Recurrence) -> list[date]:
    """Every session date of the series, in the series' zone, in order (``rec.count`` of them)."""
    if rec.cadence.kind is CadenceKind.WEEKLY:
        step = timedelta(weeks=rec.cadence.interval)
        return [rec.start + step * i for i in range(rec.count)]
    index = rec.index or WeekIndex.FIRST  # Graph's default for relativeMonthly
    dates: list[date] = []
    month0 = rec.start.year * 12 + rec.start.month - 1
    i = 0
    while len(dates) < rec.count:
        y, m = divmod(month0 + i * rec.cadence.interval, 12)
        day = nth_weekday(y, m + 1, rec.weekday, index)
        if day >= rec.start:
            dates.append(day)
        i += 1
    return dates


def localize(day: date, at: time, zone: tzinfo) -> datetime:
    """Wall-clock ``at`` on ``day`` in ``zone``; a time that does not exist (spring forward) moves
    forward by the gap, as Exchange does."""
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone)
    roundtrip = aware.astimezone(_UTC).astimezone(zone).replace(tzinfo=None)
    if roundtrip != naive:  # inside a gap: zoneinfo used the offset before the transition
        aware = (aware.astimezone(_UTC)).astimezone(zone)
    return aware


def sessions_of(
    rec: Recurrence, *, at: time, duration: timedelta, zone: tzinfo, first_number: int = 1
) -> list[Session]:
    """The series' sessions as UTC intervals, numbered from ``first_number``."""
    out = []
    for i, day in enumerate(session_dates(rec)):
        start = localize(day, at, zone).astimezone(_UTC)
        out.append(Session(number=first_number + i, start=start, end=start + duration))
    return out


def held_sessions(
    rec: Recurrence,
    *,
    at: time,
    duration: timedelta,
    zone: tzinfo,
    first_number: int = 1,
    skipped: frozenset[date] = frozenset(),
) -> list[Session]:
    """The sessions a series holds: its pattern less the ``skipped`` dates (blacked-out weeks that
    were cancelled at booking), numbered in order from ``first_number``."""
    pattern = sessions_of(rec, at=at, duration=duration, zone=zone)
    held = [s for s in pattern if s.start.astimezone(zone).date() not in skipped]
    return [Session(first_number + i, s.start, s.end) for i, s in enumerate(held)]


def parse_skipped(value: str | None) -> frozenset[date]:
    """The ``skipped`` property of a series: ISO dates, comma-separated."""
    return frozenset(date.fromisoformat(d) for d in (value or "").split(",") if d)
