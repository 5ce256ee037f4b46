"""What each notice says about time and why: the facts the planner hands to ``render``.

Every notice a participant gets names its sessions by day, date, local time and zone name, in each of
the two people's own zones (``render.format_when``); a date without a session says why (the blackout's
``reason`` as the lead wrote it, one person's absence, a busy week, a clock change: the slot engine's
reason for that date when the planner has it); a series says whether it is the pair's first
(welcome) or replaces one whose policy changed (the new rhythm). Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import TypedDict

from worker.core import render
from worker.core.desired import Desired, Observed, PairDesired, Participant
from worker.core.slot_model import Constraint
from worker.core.types import Attendee, BusyStatus, Recurrence, Session

DATES_LISTED = 3  # coming sessions an invitation or a rhythm notice lists


def zone_of(desired: Desired, observed: Observed, address: str) -> tzinfo:
    """A person's own zone (their working hours'), else the programme's."""
    sched = observed.schedules.get(address)
    return sched.working_hours.zone if sched and sched.working_hours else desired.zone


def zones(desired: Desired, observed: Observed, pair: PairDesired) -> list[tzinfo]:
    """The mentee's zone first (the series is kept in it), then the mentor's."""
    return [zone_of(desired, observed, a) for a in (pair.mentee.address, pair.mentor.address)]


def greetings(pair: PairDesired) -> tuple[str, str]:
    return (pair.mentor.greeting, pair.mentee.greeting)


class SeriesFrame(TypedDict):
    """The arguments every series body of ``render`` takes alike: the programme, the pair, the curriculum."""

    programme_name: str
    purpose: str | None
    mentor: render.PersonLike
    mentee: render.PersonLike
    lead: str
    curriculum: list[render.AgendaLike]
    topics: list[str]
    join_hint: bool
    moves_declined: bool
    greetings: tuple[str, str]


def series_frame(desired: Desired, pair: PairDesired) -> SeriesFrame:
    """What the series' invitation and each session's agenda say alike, for ``render.invite_body`` and
    ``render.session_agenda_body``."""
    rules = pair.rules
    return SeriesFrame(
        programme_name=desired.name,
        purpose=desired.purpose,
        mentor=(pair.mentor.name, pair.mentor.address),
        mentee=(pair.mentee.name, pair.mentee.address),
        lead=desired.lead,
        curriculum=[(a.title, list(a.items)) for a in rules.agenda],
        topics=list(pair.topics),
        join_hint=rules.teams_meeting,
        moves_declined=rules.on_conflict == "move",
        greetings=greetings(pair),
    )


def session_agenda(
    desired: Desired, pair: PairDesired, session: int, *, moved: str | None = None
) -> tuple[str, str]:
    """``(subject, body)`` of one session's agenda (``Session N`` where the curriculum has no entry for
    it); ``moved`` makes it the notice of a session moved within its week."""
    agenda = pair.rules.agenda_for(session)
    title, items = (agenda.title, list(agenda.items)) if agenda else (f"Session {session}", [])
    body = render.session_agenda_body(
        **series_frame(desired, pair), session_number=session, agenda=(title, items), moved=moved
    )
    subject = render.session_subject(
        desired.name, pair.mentor.name, pair.mentee.name, session_number=session, title=title
    )
    return subject, body


def when(desired: Desired, observed: Observed, pair: PairDesired, start: datetime) -> str:
    return render.format_when(start, zones(desired, observed, pair))


def blackout_reason(desired: Desired, day: date) -> str | None:
    """The lead's reason for a blackout holding ``day`` ("" when it has none); None outside blackouts."""
    for first, last, reason in desired.blackout_reasons:
        if first <= day <= last:
            return reason.strip()
    if any(first <= day <= last for first, last in desired.blackouts):
        return ""
    return None


def _away(observed: Observed, who: Participant, start: datetime) -> bool:
    """Out of office at some point in the week (Monday to Sunday, UTC) of ``start``."""
    sched = observed.schedules.get(who.address)
    if sched is None:
        return False
    monday = (start - timedelta(days=start.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    begin, end = monday.timestamp(), (monday + timedelta(days=7)).timestamp()
    return any(b.status is BusyStatus.OOF and b.start_s < end and begin < b.end_s for b in sched.busy)


# The slot engine's reason a pattern date has no session (or not at its usual time), as people read it.
# Outlook's working hours are the same every week, so a rule that breaks in one week only is a clock
# change: the two zones (or the series' and a person's) shift on different dates.
_NO_TIME_BECAUSE = {
    Constraint.LOCAL_TIME: "the clocks change that night, so the usual time does not exist or happens twice",
    Constraint.WORKING_HOURS: "the clocks change in one of your zones that week, so your working hours "
    "do not meet at the usual time",
    Constraint.DAYS: "the clocks change in one of your zones that week, so the usual time falls outside "
    "your working days",
    Constraint.WINDOW: "the clocks change in one of your zones that week, so the usual time falls outside "
    "the programme's hours",
    Constraint.AVOID: "the clocks change in one of your zones that week, so the usual time falls in "
    "hours the programme avoids",
    Constraint.BUSY: "you had no free time in common that week",
}


def why_no_session(
    desired: Desired, observed: Observed, pair: PairDesired, start: datetime, reason: Constraint | None = None
) -> str:
    """Why the session that the pattern put at ``start`` does not take place there. ``reason`` is the
    slot engine's (a ``Skip``'s); without it (a series read back from the calendar) a blackout or an
    absence is looked for."""
    if reason in (None, Constraint.BLACKOUT):
        blackout = blackout_reason(desired, start.astimezone(desired.zone).date())
        if blackout is not None:
            return blackout or f"{desired.name} takes a break that week"
    if reason in (None, Constraint.BLACKOUT, Constraint.BUSY):
        away = [p for p in (pair.mentor, pair.mentee) if _away(observed, p, start)]
        if len(away) == 1:
            return f"{away[0].name} is away that week"
        if away:
            return "you are both away that week"
    if reason is not None and reason in _NO_TIME_BECAUSE:
        return _NO_TIME_BECAUSE[reason]
    return "no time that week suited you both"


def moved_to(desired: Desired, observed: Observed, pair: PairDesired, new: datetime) -> str:
    """"moved to Thursday 18 February 2027, 10:00 (Europe/Paris)"."""
    return f"moved to {when(desired, observed, pair, new)}"


def series_dates(
    desired: Desired,
    observed: Observed,
    pair: PairDesired,
    sessions: Sequence[Session],
    pattern: Sequence[Session],
    skips: Mapping[date, Constraint | None],
    zone: tzinfo,
    *,
    moved_because: Callable[[datetime], Constraint | None] | None = None,
) -> tuple[list[str], list[tuple[str, str]]]:
    """A new series' first dates as people read them, and its dates without a session with why: the
    pattern dates it skips (``skips``: date in the series' ``zone`` -> the slot engine's reason), and
    those whose session moved (``moved_because``: the rule its usual time broke, when known)."""
    dates = [when(desired, observed, pair, s.start) for s in sessions[:DATES_LISTED]]
    by_number = {s.number: s for s in sessions}
    no_session: list[tuple[str, str]] = []
    held_numbers = iter(sorted(by_number))
    for slot in pattern:
        day = slot.start.astimezone(zone).date()
        if day in skips:
            why = why_no_session(desired, observed, pair, slot.start, skips[day])
            no_session.append((render.format_day(day), why))
            continue
        number = next(held_numbers, None)
        session = by_number.get(number) if number is not None else None
        if session is not None and session.moved and session.start != slot.start:
            because = moved_because(slot.start) if moved_because is not None else None
            why = _moved_why(desired, observed, pair, slot.start, because)
            no_session.append(
                (render.format_day(day), f"{moved_to(desired, observed, pair, session.start)} ({why})")
            )
    return dates, no_session


def _moved_why(
    desired: Desired, observed: Observed, pair: PairDesired, usual: datetime, reason: Constraint | None
) -> str:
    """Why a session of a new series is not at its usual time, though its week had room."""
    if reason is Constraint.BUSY:
        away = [p for p in (pair.mentor, pair.mentee) if _away(observed, p, usual)]
        return (
            f"{away[0].name} is away then" if len(away) == 1 else
            "you are both away then" if away else
            "one of you is busy at the usual time"
        )
    if reason is None:
        blackout = blackout_reason(desired, usual.astimezone(desired.zone).date())
        if blackout is None:
            return "the usual time did not suit you both that week"
    return why_no_session(desired, observed, pair, usual, reason)


_MOVED_BECAUSE = {
    "conflict": "a new commitment took its time",
    "out_of_office": "{away} is away then",
    "declined": "{declined} could not make it",
    # a clock change the series' zone does not share, or working hours changed since booking
    "outside_hours": "its time fell outside one of your working days (a clock change or new working hours)",
}


def moved_notice(
    desired: Desired,
    observed: Observed,
    pair: PairDesired,
    *,
    session: int,
    old_start: datetime,
    new_start: datetime,
    reason: str,
    declined: Sequence[str] = (),
) -> tuple[str, str]:
    """``(subject, body)`` of a session moved within its week: its agenda, led by where it went and why
    ("moved to Wednesday 27 January 2027, 09:30 (Europe/Paris), as Jean Dubois could not make Tuesday
    26 January 2027, 09:30 (Europe/Paris)")."""
    names = {p.address: p.name for p in (pair.mentor, pair.mentee)}
    if reason == "blackout":
        why = blackout_reason(desired, old_start.astimezone(desired.zone).date()) or "the programme's break"
    else:
        who = " and ".join(names.get(a, a) for a in declined) or "one of you"
        away = [p.name for p in (pair.mentor, pair.mentee) if _away(observed, p, old_start)]
        why = _MOVED_BECAUSE.get(reason, "its time no longer suited you both").format(
            declined=who, away=" and ".join(away) or "one of you"
        )
    moved = (
        f"now {when(desired, observed, pair, new_start)}, instead of "
        f"{when(desired, observed, pair, old_start)}: {why}"
    )
    return session_agenda(desired, pair, session, moved=moved)


def new_rhythm(recurrence: Recurrence, first: datetime, zone: tzinfo) -> str:
    index = recurrence.index.value if recurrence.index is not None else None
    return render.rhythm(str(recurrence.cadence), first, zone, week_index=index)


def attendee_people(
    attendees: Sequence[Attendee], observed: Observed
) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str]]:
    """A series' two people as ``(name, address)``, and their greetings, named as the directory names
    them (for a pair gone from pairs.yaml, whose series is all that is left of it)."""
    people = []
    for attendee in [*attendees[:2], *[Attendee("")] * (2 - len(attendees[:2]))]:
        who = Participant(attendee.address, attendee.name or attendee.address).from_directory(observed.people)
        people.append(who)
    mentor, mentee = people
    return (mentor.name, mentor.address), (mentee.name, mentee.address), (mentor.greeting, mentee.greeting)
