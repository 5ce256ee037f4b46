"""Our series as the planner reads them: their sessions on the pattern, numbered, and which were held."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from worker.core.desired import (
    PROP_FIRST,
    PROP_SKIPPED,
    PairDesired,
)
from worker.core.plan.state import PROP_ENDED, _Run
from worker.core.recurrence import held_sessions, parse_skipped
from worker.core.types import (
    OccurrenceInfo,
    Response,
    SeriesInfo,
    Session,
)


def _series_order(series: SeriesInfo) -> tuple[bool, datetime, datetime, str]:
    """Oldest first: of two series for one pair (two workers raced, or a crash hid the first create)
    the one created first is kept, as participants may have answered it already."""
    return (series.created is None, series.created or series.start, series.start, series.id)


def _next_number(ended: list[SeriesInfo], run: _Run, pair: PairDesired) -> int:
    """A re-cut series continues the session count of the series it replaced."""
    number = 1
    for s in ended:
        past = [x for x in _expected(s) if x.start < run.now]
        if past:
            number = max(number, past[-1].number + 1)
    return number


def _expected(series: SeriesInfo) -> list[Session]:
    """The series' sessions on its pattern (before any move), numbered as we numbered them."""
    if series.recurrence is None:
        return [Session(int(series.properties.get(PROP_FIRST, 1)), series.start, series.end)]
    zone = ZoneInfo(series.recurrence.zone_name)
    local = series.start.astimezone(zone)
    sessions = held_sessions(
        series.recurrence,
        at=local.time().replace(tzinfo=None),
        duration=series.end - series.start,
        zone=zone,
        first_number=int(series.properties.get(PROP_FIRST, 1)),
        skipped=parse_skipped(series.properties.get(PROP_SKIPPED)),
    )
    if PROP_ENDED in series.properties:
        last = date.fromisoformat(series.properties[PROP_ENDED])
        sessions = [s for s in sessions if s.start.astimezone(zone).date() <= last]
    return sessions


def _numbered(series: SeriesInfo, pair: PairDesired, run: _Run) -> list[tuple[Session, OccurrenceInfo]]:
    """Match each observed occurrence to its session number by its original (pattern) start."""
    expected = {s.start: s for s in _expected(series)}
    out = []
    for occ in run.observed.occurrences.get(series.id, ()):
        anchor = occ.original_start or occ.start
        session = expected.get(anchor.astimezone(UTC))
        if session is None:
            nearest = min(expected.values(), key=lambda s: abs(s.start - anchor), default=None)
            if nearest is None or abs(nearest.start - anchor) > timedelta(hours=12):
                continue
            session = nearest
        out.append((Session(session.number, occ.start, occ.end, occ.is_exception), occ))
    out.sort(key=lambda pair_: pair_[0].number)
    return out


def _declined_by(occ: OccurrenceInfo) -> set[str]:
    return {a.address for a in occ.attendees if a.response is Response.DECLINED}


def _held(occ: OccurrenceInfo, pair: PairDesired, end_before: datetime) -> bool:
    """Took place: ended before ``end_before``, not cancelled, not declined by both participants."""
    both = {pair.mentor.address, pair.mentee.address}
    return occ.end <= end_before and not occ.is_cancelled and not both <= _declined_by(occ)
