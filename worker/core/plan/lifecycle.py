"""Ending a series: a re-cut after a policy change (end the old one, book anew), and a goodbye when
the pair leaves."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from worker.core import notices, render
from worker.core.actions import (
    Book,
    Cancel,
    CancelReason,
    CancelScope,
)
from worker.core.desired import (
    PROP_FIRST,
    PairDesired,
)
from worker.core.plan.book import _book
from worker.core.plan.series import _expected
from worker.core.plan.state import PROP_ENDED, PairStatus, _Run
from worker.core.types import (
    Interval,
    SeriesInfo,
)


def _recut(run: _Run, pair: PairDesired, current: SeriesInfo) -> PairStatus:
    """The pair's policy changed: end the old series after its last past session, book anew from there."""
    expected = _expected(current)
    past = [s for s in expected if s.start < run.now]
    future = [
        Interval(o.start, o.end) for o in run.observed.occurrences.get(current.id, ()) if o.start >= run.now
    ]
    first = past[-1].number + 1 if past else int(current.properties.get(PROP_FIRST, 1))
    at = len(run.actions)
    status = _book(run, pair, first_number=first, exclude=future, recut=True)
    # The old series' note says where the sessions go: the new booking's rhythm and first dates.
    book = next((a for a in run.actions[at:] if isinstance(a, Book)), None)
    rhythm, dates = "", []
    if book is not None:
        zone = ZoneInfo(book.spec.zone_name)
        rhythm = notices.new_rhythm(book.spec.recurrence, book.sessions[0].start, zone)
        dates = [notices.when(run.desired, run.observed, pair, s.start) for s in book.sessions[:3]]
    comment = render.cancellation_comment(
        CancelReason.POLICY_CHANGED,
        run.desired.name,
        lead=run.desired.lead,
        new_rhythm=rhythm,
        next_session=dates[0] if dates else "",
    )
    if past:
        last = past[-1].start.astimezone(ZoneInfo(current.zone_name)).date()
        notice = render.rhythm_end_body(
            programme_name=run.desired.name,
            mentor=(pair.mentor.name, pair.mentor.address),
            mentee=(pair.mentee.name, pair.mentee.address),
            lead=run.desired.lead,
            greetings=notices.greetings(pair),
            new_rhythm=rhythm or None,
            dates=dates,
        )
        cancel = Cancel(
            pair.id,
            current.organizer,
            current.id,
            CancelScope.END_AFTER,
            CancelReason.POLICY_CHANGED,
            comment,
            last_date=last,
            notice_html=notice,
        )
    else:
        cancel = Cancel(
            pair.id, current.organizer, current.id, CancelScope.SERIES, CancelReason.POLICY_CHANGED, comment
        )
    run.actions.insert(at, cancel)
    return status


def _retire(run: _Run, key: str, series: SeriesInfo, reason: CancelReason) -> None:
    """Cancel a series' future sessions with a kind message; keep the past (it happened)."""
    if PROP_ENDED in series.properties:
        return
    occurrences = run.observed.occurrences.get(series.id, ())
    future = [o for o in occurrences if o.start >= run.now and not o.is_cancelled]
    # The past is judged on the series' pattern, not on what the read window holds: an old series whose
    # sessions fall before the window still has a history to keep.
    expected = _expected(series)
    past = [s for s in expected if s.start < run.now]
    if not future and len(past) == len(expected):
        return  # nothing left to cancel
    comment = render.cancellation_comment(reason, run.desired.name, lead=run.desired.lead)
    if past:
        # The pattern date of the last past session, so one moved earlier is not cut from history.
        last = past[-1].start.astimezone(ZoneInfo(series.zone_name)).date()
        mentor, mentee, hello = notices.attendee_people(series.attendees, run.observed)
        zone = ZoneInfo(series.zone_name)
        was = past[-1].start  # where the pattern put it; where it took place if it was moved
        was = next((o.start for o in occurrences if (o.original_start or o.start) == was), was)
        held = render.format_local(was, zone, render.zone_label(zone, was))
        notice = render.goodbye_body(
            programme_name=run.desired.name,
            mentor=mentor,
            mentee=mentee,
            lead=run.desired.lead,
            greetings=hello,
            last_session=held,
        )
        run.actions.append(
            Cancel(
                key,
                series.organizer,
                series.id,
                CancelScope.END_AFTER,
                reason,
                comment,
                last_date=last,
                notice_html=notice,
            )
        )
    else:
        run.actions.append(Cancel(key, series.organizer, series.id, CancelScope.SERIES, reason, comment))
