"""``plan(desired, observed, now)``: one reconcile pass decided, with no side effects.

A purely computational function (kopf's word): it reads the programme as it should be and the
calendars as they are, and returns the actions that make them match, as values. It touches no
network, no clock and no logger; ``worker.reconcile.apply`` is the only code that writes.

Per pair, in this order:
1. refuse a pair inside one reporting line (and retire its series);
2. send the feedback owed for sessions that took place (oldest first), and notice disengagement;
3. with no live series, find the best recurring slot and book it, or escalate "no slot";
4. with a live series whose policy changed, end it after its last past session and book anew;
5. otherwise repair it: a declined or double-booked future session moves within its week (or the
   lead is told), and each upcoming session gets its own agenda shortly before it.
Series whose pair has left the programme are cancelled with a kind message.
Every write carries a deterministic key, so applying the same plan twice changes nothing.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TypeVar
from zoneinfo import ZoneInfo

from worker.core import notices, ratings, render, slots
from worker.core.actions import (
    Action,
    Book,
    Cancel,
    CancelReason,
    CancelScope,
    Escalate,
    EscalationReason,
    Move,
    MoveReason,
    Role,
    SendFeedback,
    UpdateAgenda,
)
from worker.core.desired import (
    PROP_AGENDA,
    PROP_FINGERPRINT,
    PROP_FIRST,
    PROP_KEY,
    PROP_MOVES,
    PROP_PROGRAMME,
    PROP_SKIPPED,
    PROP_WANTED,
    AgendaEntry,
    Desired,
    Observed,
    PairDesired,
    Participant,
    shard_owns,
)
from worker.core.intervals import to_seconds, to_seconds_ceil
from worker.core.recurrence import held_sessions, parse_skipped, sessions_of
from worker.core.types import (
    Attendee,
    BusyStatus,
    Interval,
    MailSpec,
    OccurrenceInfo,
    Response,
    Schedule,
    SeriesInfo,
    SeriesSpec,
    Session,
)

PROP_ENDED = "ended"  # on a series we ended after a policy change: the date of its last session
_BOOKING_NS = uuid.UUID("5b0f6f63-8d0c-4b8e-9a53-0c5c3a6e2a11")
DISENGAGED_AFTER = timedelta(days=30)


class PairState:
    BOOKED = "booked"
    UNSCHEDULED = "unscheduled"
    REFUSED = "refused"
    FINISHED = "finished"
    PENDING = "pending"  # starts later than the free/busy horizon
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class PairStatus:
    pair: str
    state: str
    detail: str = ""


_A = TypeVar("_A")  # one kind of action, picked out of a plan


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    statuses: tuple[PairStatus, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.actions)

    def of_kind(self, kind: type[_A]) -> list[_A]:
        return [a for a in self.actions if isinstance(a, kind)]


@dataclass
class _Run:
    """Mutable scratch of one plan() call: what is already committed to whom in this pass."""

    desired: Desired
    observed: Observed
    now: datetime
    committed: dict[str, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    actions: list[Action] = field(default_factory=list)
    ratings_by_pair: dict[str, list[ratings.Rating]] | None = None  # ``observed.ratings``, grouped once


def plan(desired: Desired, observed: Observed, now: datetime) -> Plan:
    """Decide one reconcile pass. ``now`` is aware; nothing here reads the clock."""
    planner = Planner(desired, observed, now)
    for pair in desired.pairs:
        planner.pair(pair)
    planner.retirements()
    return planner.plan()


class Planner:
    """``plan`` one pair at a time, for a run that starts writing while it is still reading.

    Pairs are decided in the programme's order, as ``plan`` decides them, each with the sessions that
    earlier pairs committed to its people. ``observed`` must hold every series (and occurrence) read;
    its schedules and chains may still be filling, as long as a pair's two people are in before
    :meth:`pair` is called for it. So a run that feeds pairs as their reads arrive makes the very
    decisions ``plan`` would have made over the finished reads.
    """

    def __init__(self, desired: Desired, observed: Observed, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._run = _Run(desired, observed, now.astimezone(UTC))
        ours = [s for s in observed.series if s.properties.get(PROP_PROGRAMME, desired.key) == desired.key]
        self._by_pair: dict[str, list[SeriesInfo]] = defaultdict(list)
        for series in ours:
            self._by_pair[series.key].append(series)
        self._statuses: list[PairStatus] = []

    def pair(self, pair: PairDesired) -> tuple[PairStatus, list[Action]]:
        """Decide ``pair``; its status, and its actions in the order they are to be carried out."""
        run = self._run
        before = len(run.actions)
        pair = pair.from_directory(run.observed.people)  # people as the directory names them
        status = _isolated(run, pair, sorted(self._by_pair.get(pair.id, []), key=_series_order))
        self._statuses.append(status)
        return status, run.actions[before:]

    def retirements(self) -> list[Action]:
        """Cancel the series of pairs gone from the whole programme (another shard's pair is not ours
        to cancel). Called once, after the last pair."""
        run, desired = self._run, self._run.desired
        before = len(run.actions)
        wanted = {p.id for p in desired.pairs} | desired.all_pairs
        for key in sorted(set(self._by_pair) - wanted):
            if not shard_owns(
                desired.shard,
                organizer=self._by_pair[key][0].organizer,
                organizers=desired.all_organizers or desired.organizers,
                pair=key,
            ):
                continue
            for series in sorted(self._by_pair[key], key=_series_order):
                _retire(run, key, series, CancelReason.PAIR_REMOVED)
        return run.actions[before:]

    def plan(self) -> Plan:
        """Everything decided so far, as one ``Plan``."""
        return Plan(tuple(self._run.actions), tuple(self._statuses))


def _isolated(run: _Run, pair: PairDesired, series: list[SeriesInfo]) -> PairStatus:
    """Plan one pair; a value this pair's series carry that we cannot read (a zone Graph reports
    as "Customized Time Zone", a mangled property) fails that pair alone, with nothing half-decided."""
    before = len(run.actions)
    try:
        status = _plan_pair(run, pair, series)
        _name_next_sessions(run, pair, series, before)
        return status
    except (ValueError, LookupError) as exc:  # ZoneInfoNotFoundError is a KeyError
        del run.actions[before:]
        return PairStatus(pair.id, PairState.ERROR, f"cannot read this pair's series: {exc!r}")


def _series_order(series: SeriesInfo) -> tuple[bool, datetime, datetime, str]:
    """Oldest first: of two series for one pair (two workers raced, or a crash hid the first create)
    the one created first is kept, as participants may have answered it already."""
    return (series.created is None, series.created or series.start, series.start, series.id)


# --- one pair ---------------------------------------------------------------------------------


def _plan_pair(run: _Run, pair: PairDesired, series: list[SeriesInfo]) -> PairStatus:
    desired, observed = run.desired, run.observed
    if observed.unreadable:  # its series may be in a mailbox we could not list: never book blind
        why = "; ".join(f"{box}: {error}" for box, error in sorted(observed.unreadable.items()))
        return PairStatus(pair.id, PairState.ERROR, f"could not list the series: {why}")
    if desired.reject_reporting_lines and not all(
        a in observed.chains for a in (pair.mentor.address, pair.mentee.address)
    ):
        return PairStatus(pair.id, PairState.ERROR, "manager chains could not be read; not booked")
    if desired.reject_reporting_lines and _same_reporting_line(observed, pair):
        for s in series:
            if PROP_ENDED not in s.properties:
                _retire(run, pair.id, s, CancelReason.PAIR_REMOVED)
        detail = f"{pair.mentor.address} and {pair.mentee.address} are in one reporting line"
        _escalate(run, pair, EscalationReason.REPORTING_LINE, detail, period="once")
        return PairStatus(pair.id, PairState.REFUSED, detail)

    ended = [s for s in series if PROP_ENDED in s.properties]
    live = [s for s in series if PROP_ENDED not in s.properties]
    for duplicate in live[1:]:  # two workers raced, or a crash hid the first: keep the oldest
        run.actions.append(
            Cancel(
                pair.id,
                duplicate.organizer,
                duplicate.id,
                CancelScope.SERIES,
                CancelReason.DUPLICATE,
                render.cancellation_comment(CancelReason.DUPLICATE, desired.name),
            )
        )
    current = live[0] if live else None

    held_so_far = 0
    for s in [*ended, *([current] if current else [])]:
        held_so_far = max(held_so_far, _feedback_and_count(run, pair, s))
    _check_disengagement(run, pair, series)

    for person in (pair.mentor, pair.mentee):
        sched = observed.schedules.get(person.address)
        if sched is None:  # the read failed (a transient error): an error of this run, not news for the lead
            return PairStatus(pair.id, PairState.ERROR, f"{person.address}: no free/busy could be read")
        if sched.error:  # Graph could not resolve the person: the lead should look at the pairs file
            unknown = _is_unknown(sched.error)
            detail = _unknown_person(person, sched.error) if unknown else f"{person.address}: {sched.error}"
            _escalate(run, pair, EscalationReason.UNKNOWN_PERSON, detail, period="week")
            # No one to book with is the lead's to fix, not a failure of this run.
            return PairStatus(pair.id, PairState.UNSCHEDULED if unknown else PairState.ERROR, detail)

    if current is None:
        first = _next_number(ended, run, pair)
        return _book(run, pair, first_number=first, exclude=())
    if current.properties.get(PROP_FINGERPRINT, pair.fingerprint) != pair.fingerprint:
        return _recut(run, pair, current)
    return _repair(run, pair, current)


def _unknown_person(person: Participant, error: str) -> str:
    """The lead's sentence for someone Microsoft 365 does not know (getSchedule's 5009 "Unable to resolve
    e-mail address", a user that is not found), with Graph's own words kept at the end for IT."""
    who = person.address if person.name in ("", person.address) else f"{person.name} ({person.address})"
    return (
        f"{who} has no mailbox in this Microsoft 365 tenant, so the pair cannot be booked: "
        f"check the address in pairs.yaml (Graph: {error})"
    )


def _is_unknown(error: str) -> bool:
    """Whether a schedule error says the address resolves to no mailbox (5009), not a passing failure."""
    lowered = error.lower()
    return error.startswith("5009") or "unable to resolve" in lowered or "not found" in lowered


def _same_reporting_line(observed: Observed, pair: PairDesired) -> bool:
    mentor, mentee = pair.mentor.address, pair.mentee.address
    return mentee in observed.chains.get(mentor, ()) or mentor in observed.chains.get(mentee, ())


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


# --- feedback and disengagement ------------------------------------------------------------------


def _declined_by(occ: OccurrenceInfo) -> set[str]:
    return {a.address for a in occ.attendees if a.response is Response.DECLINED}


def _held(occ: OccurrenceInfo, pair: PairDesired, end_before: datetime) -> bool:
    """Took place: ended before ``end_before``, not cancelled, not declined by both participants."""
    both = {pair.mentor.address, pair.mentee.address}
    return occ.end <= end_before and not occ.is_cancelled and not both <= _declined_by(occ)


def _feedback_and_count(run: _Run, pair: PairDesired, series: SeriesInfo) -> int:
    """Queue the feedback owed for held sessions of ``series``; return the highest session number held."""
    rules = pair.rules
    numbered = _numbered(series, pair, run)
    highest = 0
    pair_start = datetime.combine(pair.start, time(0), tzinfo=run.desired.zone)
    for index, (session, occ) in enumerate(numbered):
        if occ.start < pair_start:
            continue
        if _held(occ, pair, run.now):
            highest = max(highest, session.number)
        if rules.feedback is None or not _held(occ, pair, run.now - rules.feedback.send_after):
            continue
        upcoming = next((s for s, o in numbered[index + 1 :] if not o.is_cancelled), None)
        for role in (Role.MENTOR, Role.MENTEE):
            key = f"{run.desired.key}/{pair.id}/feedback/{session.number}/{role.value}"
            if key in run.observed.sent:
                continue
            mail = _feedback_mail(run, pair, series, session, role, upcoming, key)
            run.actions.append(
                SendFeedback(pair.id, session.number, role, mail, occ.end, occ.start, upcoming)
            )
    return highest


def _name_next_sessions(run: _Run, pair: PairDesired, series: list[SeriesInfo], before: int) -> None:
    """Each feedback email of this pair names its next session as the calendar will hold it once this
    pass's writes are done (a session moved or dropped now, a new series booked now), not as the series'
    pattern put it: its feedback was written before the repairs were decided, so it is written again
    where that next session differs."""
    mine = run.actions[before:]
    if not any(isinstance(a, SendFeedback) for a in mine):
        return  # most passes of most pairs: nothing to name
    moved = {a.occurrence_id: a.new for a in mine if isinstance(a, Move)}
    dropped = {a.event_id for a in mine if isinstance(a, Cancel) and a.scope is not CancelScope.END_AFTER}
    ended = {a.event_id: a.last_date for a in mine if isinstance(a, Cancel) and a.last_date is not None}
    live: list[Session] = []
    for s in series:
        if s.id in dropped:
            continue
        zone = ZoneInfo(s.zone_name)
        for session, occ in _numbered(s, pair, run):
            anchor = (occ.original_start or occ.start).astimezone(zone).date()
            last = ended.get(s.id)
            if occ.is_cancelled or occ.id in dropped or (last is not None and anchor > last):
                continue
            live.append(moved.get(occ.id, session))
    for action in mine:
        if isinstance(action, Book):
            live += action.sessions
    live.sort(key=lambda x: x.start)
    organizers = {s.organizer for s in series}
    for i, action in enumerate(mine, start=before):
        if not isinstance(action, SendFeedback) or action.mail.sender not in organizers:
            continue
        after = max(action.session_end, run.now)
        upcoming = next((x for x in live if x.start >= after and x.number != action.session), None)
        if upcoming == action.upcoming:
            continue
        owner = next(s for s in series if s.organizer == action.mail.sender)
        held = Session(action.session, action.session_start or action.session_end, action.session_end)
        mail = _feedback_mail(run, pair, owner, held, action.role, upcoming, action.mail.key)
        run.actions[i] = SendFeedback(
            pair.id, action.session, action.role, mail, action.session_end, action.session_start, upcoming
        )


def _zone_of(run: _Run, address: str) -> tzinfo:
    """A person's own zone (their working hours'), else the programme's."""
    sched = run.observed.schedules.get(address)
    return sched.working_hours.zone if sched and sched.working_hours else run.desired.zone


def _local_date(run: _Run, address: str, at: datetime) -> date:
    return at.astimezone(_zone_of(run, address)).date()


def _feedback_mail(
    run: _Run,
    pair: PairDesired,
    series: SeriesInfo,
    session: Session,
    role: Role,
    upcoming: Session | None,
    key: str,
) -> MailSpec:
    assert pair.rules.feedback is not None
    me, partner = (pair.mentor, pair.mentee) if role is Role.MENTOR else (pair.mentee, pair.mentor)
    day = _local_date(run, me.address, session.start)
    zone = _zone_of(run, me.address)
    values = {
        "pair": pair.id,
        "session": str(session.number),
        "role": role.value,
        "mentor": pair.mentor.address,
        "mentee": pair.mentee.address,
        "partner": partner.name,
        "date": day.isoformat(),
    }
    form = render.form_link(pair.rules.feedback.form, values)
    subject = render.feedback_subject(pair.rules.feedback.subject, values)
    agenda = pair.rules.agenda_for(session.number)
    nxt = None
    if upcoming is not None:
        next_agenda = pair.rules.agenda_for(upcoming.number)
        nxt = (
            render.format_local(upcoming.start, zone, render.zone_label(zone, upcoming.start)),
            next_agenda.title if next_agenda else f"Session {upcoming.number}",
        )
    links = []
    if run.desired.rating_key:  # one-click rating links, to the mailbox the email comes from
        links = [
            (link.value, link.url)
            for link in ratings.rating_links(
                run.desired.rating_key, mailbox=series.organizer, programme=run.desired.key,
                programme_name=run.desired.name, pair=pair.id, session=session.number, role=role.value,
            )
        ]
    html, text = render.feedback_email(
        programme_name=run.desired.name,
        recipient_name=me.greeting,
        role=role,
        partner_name=partner.name,
        session_number=session.number,
        session_date_local=render.format_local(session.start, zone, render.zone_label(zone, session.start)),
        agenda=(agenda.title, list(agenda.items)) if agenda else (f"Session {session.number}", []),
        next_session=nxt,
        form_url=form,
        lead=run.desired.lead,
        subject=subject,
        rating_links=links,
    )
    return MailSpec(sender=series.organizer, key=key, to=(me.address,), subject=subject, html=html, text=text)


def _check_disengagement(run: _Run, pair: PairDesired, series: list[SeriesInfo]) -> None:
    """Tell the lead, once per episode, when a pair has stalled: its last two sessions did not take place
    (declined or cancelled), or none has for 30 days while sessions were due. Judged against the
    series' own pattern, so a monthly pair is not "silent" between sessions and a finished one never is."""
    expected: list[Session] = []
    held: dict[int, datetime] = {}
    seen: dict[int, OccurrenceInfo] = {}
    for s in series:
        expected += _expected(s)
        for session, occ in _numbered(s, pair, run):
            seen[session.number] = occ
            if _held(occ, pair, run.now):
                held[session.number] = occ.end
    both = {pair.mentor.address, pair.mentee.address}

    def missed(session: Session) -> bool:  # cancelled (gone from the calendar), or declined by either
        occ = seen.get(session.number)
        return occ is None or occ.is_cancelled or bool(_declined_by(occ) & both)

    due = sorted((x for x in expected if x.end <= run.now), key=lambda x: x.end)
    if not due:
        return
    anchor = max(held.values(), default=datetime.combine(pair.start, time(0), tzinfo=run.desired.zone))
    missed_since = [x for x in due if x.end > anchor and x.number not in held]
    gaps = [b.start - a.start for a, b in itertools.pairwise(expected) if b.start > a.start]
    silence_limit = max([DISENGAGED_AFTER, *gaps])
    reason = ""
    if len(due) >= 2 and missed(due[-1]) and missed(due[-2]):
        reason = "the last two sessions were declined or cancelled"
    elif missed_since and run.now - anchor > silence_limit:
        reason = f"no session has taken place for {(run.now - anchor).days} days"
    if reason:
        episode = anchor.date().isoformat() if held else "never"
        _escalate(run, pair, EscalationReason.DISENGAGED, reason, period=f"since-{episode}")
        return
    # The ratings tell the same story a calendar cannot: low twice running, or no more answers.
    feedback = pair.rules.feedback
    if feedback is None or not run.observed.ratings:
        return
    answer_by = run.now - feedback.send_after - ratings.ANSWER_WITHIN
    answerable = [n for n, end in held.items() if end <= answer_by]
    if run.ratings_by_pair is None:
        run.ratings_by_pair = defaultdict(list)
        for rating in run.observed.ratings:
            run.ratings_by_pair[rating.pair].append(rating)
    found = ratings.concern(run.ratings_by_pair.get(pair.id, []), due=answerable)
    if found is not None:
        _escalate(run, pair, EscalationReason.DISENGAGED, found[1], period=found[0])


def held_numbers(desired: Desired, observed: Observed, pair: PairDesired, now: datetime) -> frozenset[int]:
    """The numbers of ``pair``'s sessions that took place by ``now``, as the planner counts them (for
    judging ratings: only a session that took place can be rated)."""
    run = _Run(desired, observed, now.astimezone(UTC))
    ours = [s for s in observed.series if s.key == pair.id
            and s.properties.get(PROP_PROGRAMME, desired.key) == desired.key]
    return frozenset(
        session.number
        for s in ours
        for session, occ in _numbered(s, pair, run)
        if _held(occ, pair, run.now)
    )


# --- booking --------------------------------------------------------------------------------------


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
    reasons = tuple(_SKIPPED_BECAUSE.get(skip.reason, skip.reason.value) for skip in found.skips)
    book = Book(
        pair.id, spec, sessions, found.skipped, note, reasons, notes, wanted=found.wanted, shortfall=shortfall
    )
    run.actions.append(book)
    detail = f"{book.summary} from {sessions[0].start.isoformat()}"
    return PairStatus(pair.id, PairState.BOOKED, f"{detail}; {shortfall}" if shortfall else detail)


_SKIPPED_BECAUSE = {
    slots.Constraint.BLACKOUT: "a programme blackout",
    slots.Constraint.BUSY: "no time free for both that week",
    slots.Constraint.WORKING_HOURS: "their working hours do not meet that week",
    slots.Constraint.DAYS: "their working days do not meet that week",
    slots.Constraint.WINDOW: "no common time inside the policy's hours that week",
    slots.Constraint.AVOID: "no common time outside the avoided hours that week",
    slots.Constraint.LOCAL_TIME: "a clock change",
}


def _shortfall_text(last: int, total: int, why: str) -> str:
    """"booked 5 of 10: sessions 6–10 could not be placed: from Sun 4 Apr 2027, when ..."."""
    missing = f"session {last + 1}" if last + 1 == total else f"sessions {last + 1}–{total}"
    return f"booked {last} of {total}: {missing} could not be placed: {why}"


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
        programme_name=desired.name,
        purpose=desired.purpose,
        mentor=(pair.mentor.name, pair.mentor.address),
        mentee=(pair.mentee.name, pair.mentee.address),
        lead=desired.lead,
        curriculum=[(a.title, list(a.items)) for a in rules.agenda],
        session_number=first_number,
        agenda=(agenda.title, list(agenda.items)) if agenda else None,
        topics=list(pair.topics),
        join_hint=rules.teams_meeting,
        moves_declined=rules.on_conflict == "move",
        greetings=notices.greetings(pair),
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
            PROP_KEY: pair.id,
            PROP_PROGRAMME: desired.key,
            PROP_FINGERPRINT: pair.fingerprint,
            PROP_FIRST: str(first_number),
        },
    )
    return spec, pattern


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


# --- repair and agendas --------------------------------------------------------------------------


def _repair(run: _Run, pair: PairDesired, series: SeriesInfo) -> PairStatus:
    rules, now = pair.rules, run.now
    numbered = _numbered(series, pair, run)
    own = [Interval(o.start, o.end) for _, o in numbered if not o.is_cancelled]
    # Each person's schedule without this series' own sessions, worked out once for the pair, not once
    # per session judged (it scans every busy item).
    schedules = {who: _busy_without(run, who, own) for who in (pair.mentor.address, pair.mentee.address)}
    for _, occ in numbered:
        if not occ.is_cancelled:
            for who in (pair.mentor.address, pair.mentee.address):
                run.committed[who].append(Interval(occ.start, occ.end))
    horizon_end = run.observed.horizon.end
    people = (
        _person(run, pair.mentor, own, schedules[pair.mentor.address]),
        _person(run, pair.mentee, own, schedules[pair.mentee.address]),
    )
    _cancel_skipped(run, pair, series)
    upcoming = [(s, o) for s, o in numbered if o.start >= now and not o.is_cancelled]
    for index, (session, occ) in enumerate(upcoming):
        if occ.start < now + rules.freeze or occ.end > horizon_end:
            continue
        reason = _trouble(run, pair, occ, schedules, people)
        if reason is None:
            continue
        moves = int(occ.properties.get(PROP_MOVES, "0") or 0)
        period = f"session-{session.number}-{occ.start.date().isoformat()}"
        blackout = reason is MoveReason.BLACKOUT  # the programme's own rule: applies whatever the policy
        # a session outside someone's hours cannot stay where it is, whatever on_conflict says
        must_move = blackout or reason is MoveReason.OUTSIDE_HOURS
        if rules.on_conflict == "keep" and not must_move:
            detail = f"session {session.number} on {occ.start.date().isoformat()}: {reason.value} (kept)"
            _escalate(run, pair, EscalationReason.CONFLICT_KEPT, detail, period=period)
            continue
        if moves >= rules.max_moves and not must_move:
            detail = f"session {session.number} was moved {moves} times already; {reason.value} again"
            _escalate(run, pair, EscalationReason.CANNOT_MOVE, detail, period=period)
            continue
        prev_start = upcoming[index - 1][1].start if index > 0 else _previous_start(numbered, occ)
        next_start = upcoming[index + 1][1].start if index + 1 < len(upcoming) else None
        exclude = [Interval(occ.start, occ.end)]
        request = slots.ReslotRequest(
            mentor=_person(run, pair.mentor, own, schedules[pair.mentor.address]),
            mentee=_person(run, pair.mentee, own, schedules[pair.mentee.address]),
            policy=_slot_policy(run, pair, rules.sessions),
            session=Session(session.number, occ.start, occ.end),
            series_zone=ZoneInfo(series.zone_name),
            previous_start=prev_start,
            next_start=next_start,
            now=now,
            freeze=rules.freeze,
            horizon=run.observed.horizon,
            committed=_committed(run, pair, exclude),
        )
        found = slots.reslot_session(request)
        if isinstance(found, slots.NoSlot) and blackout:
            # No other time that week: the session is dropped and its date joins the series' skipped
            # dates, so the sessions after it keep their numbers (agenda, feedback) without a gap.
            later = [s for s, _ in upcoming[index + 1 :]]
            comment = _skip_comment(run, pair, occ.start, later, slots.Constraint.BLACKOUT)
            zone = ZoneInfo(series.zone_name)
            skipped = parse_skipped(series.properties.get(PROP_SKIPPED))
            skipped |= {(occ.original_start or occ.start).astimezone(zone).date()}
            marked = ",".join(sorted(d.isoformat() for d in skipped))
            run.actions.append(
                Cancel(
                    pair.id,
                    series.organizer,
                    occ.id,
                    CancelScope.OCCURRENCE,
                    CancelReason.BLACKOUT,
                    comment,
                    series_id=series.id,
                    skipped=marked,
                )
            )
            continue
        if isinstance(found, slots.NoSlot):
            when = occ.start.date().isoformat()
            detail = f"session {session.number} on {when} ({reason.value}): {found.message}"
            _escalate(run, pair, EscalationReason.CANNOT_MOVE, detail, period=period)
            continue
        new = Session(session.number, found.start, found.end, moved=True)
        for who in (pair.mentor.address, pair.mentee.address):
            run.committed[who].append(Interval(new.start, new.end))
        declined = sorted(_declined_by(occ) & {pair.mentor.address, pair.mentee.address})
        subject, body = notices.moved_notice(
            run.desired, run.observed, pair, session=session.number, old_start=occ.start,
            new_start=new.start, reason=reason.value, declined=declined,
        )  # fmt: skip
        run.actions.append(
            Move(
                pair.id,
                series.organizer,
                occ.id,
                session.number,
                occ.start,
                new,
                reason,
                moves,
                series.zone_name,
                subject,
                body,
            )
        )
    _agendas(run, pair, series, numbered)
    if all(o.end <= now for _, o in numbered) and numbered and not upcoming:
        return PairStatus(pair.id, PairState.FINISHED)
    last = max((s.number for s in _expected(series)), default=0)
    wanted = int(series.properties.get(PROP_WANTED, "0") or 0)
    if last < wanted:  # a partial series: the lead was told which sessions need a decision
        return PairStatus(pair.id, PairState.BOOKED, f"booked {last} of {wanted}")
    return PairStatus(pair.id, PairState.BOOKED)


def _cancel_skipped(run: _Run, pair: PairDesired, series: SeriesInfo) -> None:
    """Occurrences on the dates the slot engine skipped (blacked-out weeks) are cancelled: at booking
    by apply, and here again if a crash came between the create and those cancels."""
    skipped = parse_skipped(series.properties.get(PROP_SKIPPED))
    if not skipped or series.recurrence is None:
        return
    zone = ZoneInfo(series.recurrence.zone_name)
    listed = run.observed.occurrences.get(series.id, ())
    for occ in listed:
        anchor = (occ.original_start or occ.start).astimezone(zone).date()
        if anchor in skipped and not occ.is_cancelled and occ.start >= run.now:
            live = [
                Session(0, o.start, o.end)
                for o in listed
                if not o.is_cancelled and (o.original_start or o.start).astimezone(zone).date() not in skipped
            ]
            comment = _skip_comment(run, pair, occ.start, live)
            run.actions.append(
                Cancel(
                    pair.id, series.organizer, occ.id, CancelScope.OCCURRENCE, CancelReason.BLACKOUT, comment
                )
            )


def _previous_start(numbered: list[tuple[Session, OccurrenceInfo]], occ: OccurrenceInfo) -> datetime | None:
    before = [o.start for _, o in numbered if o.start < occ.start and not o.is_cancelled]
    return before[-1] if before else None


def _trouble(
    run: _Run,
    pair: PairDesired,
    occ: OccurrenceInfo,
    schedules: Mapping[str, Schedule],
    people: tuple[slots.Person, slots.Person] | None = None,
) -> MoveReason | None:
    """Why a future session needs repair: declined, outside someone's hours (a clock change the
    series' zone does not share, hours changed since, or a booking whose moves a crash cut short),
    out of office, or double-booked (judged on each person's ``schedules``, which leave out the
    series' own sessions)."""
    day = occ.start.astimezone(run.desired.zone).date()
    if any(first <= day <= last for first, last in run.desired.blackouts):
        return MoveReason.BLACKOUT
    if _declined_by(occ) & {pair.mentor.address, pair.mentee.address}:
        return MoveReason.DECLINED
    if people is not None:
        policy = _slot_policy(run, pair, pair.rules.sessions)
        if slots.rules_broken(*people, policy, occ.start) is not None:
            return MoveReason.OUTSIDE_HOURS
    span = Interval(occ.start, occ.end)
    start, end = to_seconds(span.start), to_seconds_ceil(span.end)  # UTC seconds, as Busy holds them
    worst: MoveReason | None = None
    for who in (pair.mentor.address, pair.mentee.address):
        for b in schedules[who].busy:
            if b.start_s < end and start < b.end_s and b.status.blocks:
                if b.status is BusyStatus.OOF:
                    return MoveReason.OUT_OF_OFFICE
                worst = MoveReason.CONFLICT
    return worst


def _agendas(
    run: _Run, pair: PairDesired, series: SeriesInfo, numbered: list[tuple[Session, OccurrenceInfo]]
) -> None:
    rules, now = pair.rules, run.now
    for session, occ in numbered:
        if occ.is_cancelled or not (now < occ.start <= now + rules.agenda_lead):
            continue
        if occ.properties.get(PROP_AGENDA) == str(session.number):
            continue
        if session.number == int(series.properties.get(PROP_FIRST, 1)) and not occ.is_exception:
            continue  # the series' invitation already carries its first session's agenda
        agenda = rules.agenda_for(session.number) or AgendaEntry(f"Session {session.number}")
        body = render.session_agenda_body(
            programme_name=run.desired.name,
            purpose=run.desired.purpose,
            mentor=(pair.mentor.name, pair.mentor.address),
            mentee=(pair.mentee.name, pair.mentee.address),
            lead=run.desired.lead,
            curriculum=[(a.title, list(a.items)) for a in rules.agenda],
            session_number=session.number,
            agenda=(agenda.title, list(agenda.items)),
            topics=list(pair.topics),
            join_hint=rules.teams_meeting,
            moves_declined=rules.on_conflict == "move",
            greetings=notices.greetings(pair),
        )
        subject = render.session_subject(
            run.desired.name,
            pair.mentor.name,
            pair.mentee.name,
            session_number=session.number,
            title=agenda.title,
        )
        run.actions.append(
            UpdateAgenda(pair.id, series.organizer, occ.id, session.number, occ.start, subject, body)
        )


# --- escalation -----------------------------------------------------------------------------------


def _escalate(run: _Run, pair: PairDesired, reason: EscalationReason, detail: str, *, period: str) -> None:
    """Tell the lead, at most once per ``period`` ("once", "week", or a named episode)."""
    if period == "week":
        year, week, _ = run.now.isocalendar()
        period = f"{year}-W{week:02d}"
    key = f"{run.desired.key}/{pair.id}/escalate/{reason.value}/{period}"
    if key in run.observed.sent:
        return  # the lead already knows; the pair's status still says so
    subject, html, text = render.escalation_email(
        reason=reason,
        programme_name=run.desired.name,
        pair=((pair.mentor.name, pair.mentor.address), (pair.mentee.name, pair.mentee.address)),
        detail=detail,
        suggestions=[],
    )
    mail = MailSpec(
        sender=pair.organizer, key=key, to=(run.desired.lead,), subject=subject, html=html, text=text
    )
    run.actions.append(Escalate(pair.id, reason, detail, mail))
