"""Booking a pair: the slot engine's request from the pair and the calendars, and the ``Book`` from its
answer (a whole or a partial series, with its exceptions and the notes that explain them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from worker.core import notices, render, slots
from worker.core.actions import (
    Book,
    CancelReason,
    EscalationReason,
)
from worker.core.desired import (
    PROP_FINGERPRINT,
    PROP_FIRST,
    PROP_KEY,
    PROP_PLANNED,
    PROP_PROGRAMME,
    PROP_SKIPPED,
    PROP_WANTED,
    PairDesired,
    Participant,
)
from worker.core.intervals import to_seconds, to_seconds_ceil
from worker.core.plan.escalate import _escalate
from worker.core.plan.state import _BOOKING_NS, PairState, PairStatus, _Run
from worker.core.recurrence import sessions_of
from worker.core.types import (
    Attendee,
    Interval,
    Schedule,
    SeriesSpec,
    Session,
)


def _busy_without(run: _Run, address: str, exclude: Iterable[Interval]) -> Schedule:
    """``address``'s schedule minus our own sessions (each excluded interval hides one busy item).

    Compared in UTC seconds, as ``Busy`` holds them (sessions are whole minutes).
    """
    sched = run.observed.schedules[address]
    pending = [(to_seconds(i.start), to_seconds_ceil(i.end)) for i in exclude]
    kept = []
    for b in sched.busy:
        if pending and (seconds := (b.start_s, b.end_s)) in pending:
            pending.remove(seconds)
            continue
        kept.append(b)
    return Schedule(address, sched.horizon, tuple(kept), sched.working_hours, sched.error)


def _iana_name(zone: tzinfo) -> str | None:
    """The IANA key of a ``ZoneInfo``; None for a zone Graph gave only by its rules (no key)."""
    return zone.key if isinstance(zone, ZoneInfo) else None


def _person(
    run: _Run, who: Participant, exclude: Iterable[Interval], sched: Schedule | None = None
) -> slots.Person:
    """The slot engine's view of ``who``: their schedule without ``exclude`` (or ``sched``, already so)."""
    sched = sched or _busy_without(run, who.address, exclude)
    hours = sched.working_hours
    zone = hours.zone if hours else run.desired.zone
    # The series is expressed in an IANA zone (Graph's name for it may be a Windows one); Outlook's
    # "Customized Time Zone" has no IANA name, so such a person's series is kept in the programme's zone.
    zone_name = _iana_name(zone) or _iana_name(run.desired.zone) or "UTC"
    return slots.Person(
        address=who.address,
        zone=zone,
        zone_name=zone_name,
        working_hours=hours,
        busy=sched.busy,
        name=who.name,
    )


def _slot_policy(run: _Run, pair: PairDesired, sessions: int) -> slots.SlotPolicy:
    r = pair.rules
    return slots.SlotPolicy(
        cadence=r.cadence,
        duration=r.duration,
        sessions=sessions,
        days=r.days,
        window=r.hours,
        avoid=r.avoid,
        buffer=r.buffer,
        lookahead=r.lookahead,
        blackouts=run.desired.blackouts,
        program_zone=run.desired.zone,
        program_start=max(run.desired.start, pair.start),
        program_end=run.desired.end,
        max_exceptions=r.max_exceptions,
    )


def _committed(
    run: _Run, pair: PairDesired, exclude: Iterable[Interval] = ()
) -> dict[str, tuple[Interval, ...]]:
    """This run's sessions of the pair's two people (the slot engine reads no one else's), less ``exclude``:
    built per pair from the two lists, not from everyone's (which made planning quadratic in pairs)."""
    left = tuple(exclude)
    return {
        a: tuple(i for i in run.committed[a] if i not in left)
        for a in (pair.mentor.address, pair.mentee.address)
        if a in run.committed
    }


def _book(
    run: _Run, pair: PairDesired, *, first_number: int, exclude: Iterable[Interval], recut: bool = False
) -> PairStatus:
    desired, now = run.desired, run.now
    remaining = pair.rules.sessions - (first_number - 1)
    if remaining <= 0 or now.astimezone(desired.zone).date() > desired.end:
        return PairStatus(pair.id, PairState.FINISHED)
    exclude = tuple(exclude)
    # Never book a first session inside the freeze window: people need notice, and it could not be moved.
    earliest = max(
        now + pair.rules.freeze,
        datetime.combine(max(pair.start, desired.start), time(0), tzinfo=desired.zone),
    )
    if earliest >= run.observed.horizon.end:
        return PairStatus(pair.id, PairState.PENDING, f"starts {pair.start.isoformat()}")
    request = slots.SeriesRequest(
        mentor=_person(run, pair.mentor, exclude),
        mentee=_person(run, pair.mentee, exclude),
        policy=_slot_policy(run, pair, remaining),
        earliest=earliest.astimezone(UTC),
        horizon=run.observed.horizon,
        committed=_committed(run, pair),
    )
    found = slots.find_series(request)
    if isinstance(found, slots.NoSlot):
        _escalate(run, pair, EscalationReason.NO_SLOT, found.message, period="week")
        return PairStatus(pair.id, PairState.UNSCHEDULED, found.message)
    sessions = tuple(Session(s.number + first_number - 1, s.start, s.end, s.moved) for s in found.sessions)
    for s in sessions:
        for who in (pair.mentor.address, pair.mentee.address):
            run.committed[who].append(Interval(s.start, s.end))
    note = render.cancellation_comment(CancelReason.BLACKOUT, desired.name) if found.skipped else ""
    spec, _ = _series_spec(run, pair, found, first_number, sessions, recut=recut, request=request)
    # Each skipped date's cancellation says when and why (the engine's reason for that date, not
    # "a blackout" for every date: a busy week or a clock change reads as such).
    notes = tuple(
        (skip.day, _skip_comment(run, pair, skip.start, sessions, skip.reason)) for skip in found.skips
    )
    shortfall = ""
    if found.shortfall is not None:
        total = first_number - 1 + found.wanted
        shortfall = _shortfall_text(sessions[-1].number, total, found.shortfall.message)
        episode = found.shortfall.first.astimezone(desired.zone).date().isoformat()
        _escalate(run, pair, EscalationReason.PARTIAL, shortfall, period=f"partial-{episode}")
    reasons = tuple(skip.reason for skip in found.skips)
    book = Book(
        pair.id, spec, sessions, found.skipped, note, reasons, notes, wanted=found.wanted, shortfall=shortfall
    )
    run.actions.append(book)
    detail = f"{book.summary} from {sessions[0].start.isoformat()}"
    return PairStatus(pair.id, PairState.BOOKED, f"{detail}; {shortfall}" if shortfall else detail)


def _shortfall_text(last: int, total: int, why: str) -> str:
    """"booked 5 of 10: sessions 6–10 could not be placed: from Sun 4 Apr 2027, when ..."."""
    missing = f"session {last + 1}" if last + 1 == total else f"sessions {last + 1}–{total}"
    return f"booked {last} of {total}: {missing} could not be placed: {why}"


def _planned(slot: slots.SeriesSlot, first_number: int) -> list[str]:
    """The numbers of the sessions the booking moves off the pattern (the fix-up's moves), written on the
    series with its create, so a repair after a crash before the fix-up makes those moves as the booking
    meant them, whatever on_conflict and max_moves say of later conflicts."""
    return [str(s.number + first_number - 1) for s in slot.sessions if s.moved]


def transaction_id(programme: str, pair: str, fingerprint: str, first_number: int, start: date) -> str:
    """Deterministic per booking: a retried or raced create of the same series is de-duplicated by Graph."""
    return str(
        uuid.uuid5(_BOOKING_NS, f"{programme}/{pair}/{fingerprint}/{first_number}/{start.isoformat()}")
    )


def _skip_comment(
    run: _Run,
    pair: PairDesired,
    start: datetime,
    sessions: Iterable[Session],
    reason: slots.Constraint | None = None,
) -> str:
    """The cancellation note of the session the pattern put at ``start``: its date, why (``reason``, the
    engine's, when known), and the next."""
    desired, observed = run.desired, run.observed
    after = next((s for s in sorted(sessions, key=lambda s: s.start) if s.start > start), None)
    return render.cancellation_comment(
        CancelReason.BLACKOUT,
        desired.name,
        when=notices.when(desired, observed, pair, start),
        why=notices.why_no_session(desired, observed, pair, start, reason),
        next_session=notices.when(desired, observed, pair, after.start) if after else "",
    )


def _series_spec(
    run: _Run,
    pair: PairDesired,
    slot: slots.SeriesSlot,
    first_number: int,
    sessions: tuple[Session, ...],
    *,
    recut: bool,
    request: slots.SeriesRequest,
) -> tuple[SeriesSpec, list[Session]]:
    """The series to create, and every session its pattern yields (skipped dates included). The
    invitation lists the dates without a session with the engine's reason for each (``slot.skips``),
    and the sessions moved within their week with the rule their usual time broke."""
    desired, rules = run.desired, pair.rules
    start_local = datetime.combine(slot.recurrence.start, slot.start_local)
    zone = ZoneInfo(slot.zone_name)
    pattern = sessions_of(slot.recurrence, at=slot.start_local, duration=rules.duration, zone=zone)

    def moved_because(usual: datetime) -> slots.Constraint | None:
        if notices.blackout_reason(desired, usual.astimezone(desired.zone).date()) is not None:
            return slots.Constraint.BLACKOUT
        broken = slots.rules_broken(request.mentor, request.mentee, request.policy, usual)
        return broken or slots.Constraint.BUSY

    dates, no_session = notices.series_dates(
        desired,
        run.observed,
        pair,
        sessions,
        pattern,
        {skip.day: skip.reason for skip in slot.skips},
        zone,
        moved_because=moved_because,
    )
    rhythm = notices.new_rhythm(slot.recurrence, pattern[0].start, zone) if recut else None
    agenda = rules.agenda_for(first_number)
    body = render.invite_body(
        **notices.series_frame(desired, pair),
        session_number=first_number,
        agenda=(agenda.title, list(agenda.items)) if agenda else None,
        new_rhythm=rhythm,
        dates=dates,
        no_session=no_session,
    )
    spec = SeriesSpec(
        organizer=pair.organizer,
        key=pair.id,
        subject=render.invite_subject(desired.name, pair.mentor.name, pair.mentee.name),
        body_html=body,
        start_local=start_local,
        end_local=start_local + rules.duration,
        zone_name=slot.zone_name,
        recurrence=slot.recurrence,
        attendees=(
            Attendee(pair.mentor.address, name=pair.mentor.name),
            Attendee(pair.mentee.address, name=pair.mentee.name),
        ),
        protection=rules.protection,
        teams_meeting=rules.teams_meeting,
        transaction_id=transaction_id(
            desired.key, pair.id, pair.fingerprint, first_number, slot.recurrence.start
        ),
        properties={
            **({PROP_SKIPPED: ",".join(d.isoformat() for d in slot.skipped)} if slot.skipped else {}),
            **({PROP_WANTED: str(first_number - 1 + slot.wanted)} if slot.partial else {}),
            **({PROP_PLANNED: ",".join(planned)} if (planned := _planned(slot, first_number)) else {}),
            PROP_KEY: pair.id,
            PROP_PROGRAMME: desired.key,
            PROP_FINGERPRINT: pair.fingerprint,
            PROP_FIRST: str(first_number),
        },
    )
    return spec, pattern
