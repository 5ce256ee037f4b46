"""What a programme would yield, read off the plan a run would carry out: no model of its own.

Where it sits: ``crossgen forecast`` runs the very pass ``crossgen plan`` runs (observe, then the
planner, which asks the slot engine's ``find_series`` for every pair without a series) and hands
the resulting ``Plan`` here. A pair's forecast is therefore exactly what the next ``run`` books:
the ``Book`` decision's sessions, its first session, and the pattern dates it skips (``Book.skipped``);
a partial series forecasts the sessions it places out of ``Book.wanted``, with its ``shortfall``.

A skipped date is put down to the slot engine's own reason for it (``Book.skip_causes``): a programme
blackout; a rule of the two people's days that breaks that week only (working hours, days, the policy's
hours, a wall time that does not exist) is a clock change, since Outlook's working hours are the same
every week; busy time is an absence when someone is out of office that week, else a busy week.
A pair that already has a live series is forecast from that series' own pattern; its skipped dates
carry no reason, so each is put down to the first cause that applies: a blackout; a clock change (the
two people's UTC offsets differ from the first session's); an absence; else a busy week.

Pure: no I/O, no clock (``now`` comes in), no logging.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from worker.core.actions import Book
from worker.core.desired import PROP_FIRST, PROP_PROGRAMME, PROP_SKIPPED, Desired, Observed
from worker.core.plan import PROP_ENDED, PairState, Plan
from worker.core.recurrence import held_sessions, parse_skipped
from worker.core.slot_model import Constraint
from worker.core.types import BusyStatus, OccurrenceInfo, SeriesInfo, Session


class LostTo(enum.Enum):
    """Why a session the series' pattern would have held is not held."""

    BLACKOUT = "blackout"
    CLOCK_CHANGE = "clock change"
    ABSENCE = "absence"
    BUSY = "busy week"  # no free time in common that week, nobody out of office


@dataclass(frozen=True, slots=True)
class Lost:
    day: date  # the pattern date, in the series' zone
    cause: LostTo


@dataclass(frozen=True, slots=True)
class PairForecast:
    """One pair: the sessions still to come before the programme ends, as the next run decides them.

    ``state`` is the planner's (``booked`` for a series already in Outlook, ``bookable`` for one the
    next run would create, else ``unscheduled``, ``refused``, ``pending``, ``finished``, ``error``).
    """

    pair: str
    mentor: str
    mentee: str
    mentor_name: str
    mentee_name: str
    policy: str
    wanted: int  # the sessions still wanted: a booking's ``Book.wanted``, else the policy's not yet held
    state: str
    sessions: tuple[Session, ...]
    lost: tuple[Lost, ...]
    zone_name: str | None
    detail: str = ""  # the planner's detail; for a partial booking, which sessions could not be placed

    @property
    def first(self) -> Session | None:
        return self.sessions[0] if self.sessions else None

    @property
    def moved(self) -> int:
        return sum(s.moved for s in self.sessions)


@dataclass(frozen=True, slots=True)
class Forecast:
    programme: str
    policy: str | None  # the what-if policy, None for each pair's own
    now: datetime
    start: date
    end: date
    zone: tzinfo
    pairs: tuple[PairForecast, ...]

    @property
    def sessions(self) -> int:
        return sum(len(p.sessions) for p in self.pairs)

    @property
    def lost(self) -> int:
        return sum(len(p.lost) for p in self.pairs)


BOOKABLE = "bookable"


def forecast(
    desired: Desired,
    observed: Observed,
    plan: Plan,
    *,
    now: datetime,
    policy: str | None = None,
    names: Mapping[str, str] | None = None,
) -> Forecast:
    """Each pair of ``desired`` as ``plan`` (the planner's decision over ``observed``) leaves it.
    ``names``: people's names as the directory gives them, by address (else the programme's)."""
    names = names or {}
    books = {a.pair: a for a in plan.of_kind(Book)}
    statuses = {s.pair: s for s in plan.statuses}
    live: dict[str, SeriesInfo] = {}
    for s in observed.series:
        if s.properties.get(PROP_PROGRAMME, desired.key) == desired.key and PROP_ENDED not in s.properties:
            live.setdefault(s.key, s)
    out = []
    for pair in desired.pairs:
        status = statuses.get(pair.id)
        state, detail = (status.state, status.detail) if status else (PairState.ERROR, "not planned")
        sessions: tuple[Session, ...] = ()
        lost: tuple[Lost, ...] = ()
        zone_name: str | None = None
        book = books.get(pair.id)
        people = (pair.mentor.address, pair.mentee.address)
        wanted = pair.rules.sessions
        if book is not None:
            state, zone_name = BOOKABLE, book.spec.zone_name
            sessions = book.sessions
            wanted = book.wanted or len(sessions)
            lost = _causes(book.skipped, sessions, desired, observed, people, _reasons(book))
        elif state in (PairState.BOOKED, PairState.FINISHED) and pair.id in live:
            series = live[pair.id]
            zone_name = series.zone_name
            pattern = _pattern(series)
            sessions = tuple(
                s for s in _as_held(pattern, observed.occurrences.get(series.id)) if s.start >= now
            )
            held = max((s.number for s in pattern if s.start < now), default=0)
            wanted = max(0, pair.rules.sessions - held)
            today = now.astimezone(ZoneInfo(series.zone_name)).date()
            skipped = sorted(d for d in parse_skipped(series.properties.get(PROP_SKIPPED)) if d >= today)
            lost = _causes(skipped, sessions, desired, observed, people)
        out.append(
            PairForecast(
                pair=pair.id,
                mentor=pair.mentor.address,
                mentee=pair.mentee.address,
                mentor_name=names.get(pair.mentor.address) or pair.mentor.name,
                mentee_name=names.get(pair.mentee.address) or pair.mentee.name,
                policy=pair.rules.name,
                wanted=wanted,
                state=state,
                sessions=sessions,
                lost=lost,
                zone_name=zone_name,
                detail=book.shortfall if book is not None else detail,
            )
        )
    return Forecast(desired.name, policy, now, desired.start, desired.end, desired.zone, tuple(out))


def _as_held(pattern: list[Session], occurrences: Iterable[OccurrenceInfo] | None) -> list[Session]:
    """The pattern's sessions where the calendar holds them: a session moved within its week (an
    exception, ``original_start`` its pattern time) at its new time, one cancelled since left out.
    Without the occurrences (not read), the pattern as it stands."""
    if occurrences is None:
        return pattern
    by_start = {(o.original_start or o.start): o for o in occurrences}
    out = []
    for session in pattern:
        occ = by_start.get(session.start)
        if occ is None:
            out.append(session)
        elif not occ.is_cancelled:
            moved = session.moved or occ.start != session.start
            out.append(Session(session.number, occ.start, occ.end, moved))
    return out


def _pattern(series: SeriesInfo) -> list[Session]:
    if series.recurrence is None:
        return [Session(int(series.properties.get(PROP_FIRST, 1)), series.start, series.end)]
    zone = ZoneInfo(series.recurrence.zone_name)
    return held_sessions(
        series.recurrence,
        at=series.start.astimezone(zone).time().replace(tzinfo=None),
        duration=series.end - series.start,
        zone=zone,
        first_number=int(series.properties.get(PROP_FIRST, 1)),
        skipped=parse_skipped(series.properties.get(PROP_SKIPPED)),
    )


# A rule of the people's days that breaks in one week only: Outlook's working hours, the policy's days
# and hours are the same every week, so only a clock change (or a wall time that does not exist) does it.
_CLOCK_RULES = frozenset(
    {Constraint.LOCAL_TIME, Constraint.WORKING_HOURS, Constraint.DAYS, Constraint.WINDOW, Constraint.AVOID}
)


def _reasons(book: Book) -> list[Constraint | None]:
    """The slot engine's reason for each of ``book.skipped`` (None where the planner gave none)."""
    if len(book.skip_causes) != len(book.skipped):
        return [None] * len(book.skipped)
    return list(book.skip_causes)


def _causes(
    skipped: Iterable[date],
    sessions: tuple[Session, ...],
    desired: Desired,
    observed: Observed,
    people: tuple[str, str],
    reasons: Iterable[Constraint | None] | None = None,
) -> tuple[Lost, ...]:
    """Each skipped date with its cause: the slot engine's ``reasons`` where given, else inferred."""
    days = list(skipped)
    known = list(reasons) if reasons is not None else [None] * len(days)
    zones = [_zone(observed, who, desired.zone) for who in people]
    reference = sessions[0].start if sessions else None
    out = []
    for day, reason in zip(days, known, strict=True):
        blackout = any(first <= day <= last for first, last in desired.blackouts)
        if reason is Constraint.BLACKOUT or (reason is None and blackout):
            cause = LostTo.BLACKOUT
        elif reason in _CLOCK_RULES or (
            reason is None
            and reference is not None
            and _gap(zones, reference) != _gap(zones, _noon(day, desired.zone))
        ):
            cause = LostTo.CLOCK_CHANGE
        elif _away(observed, people, day, desired.zone):
            cause = LostTo.ABSENCE
        else:
            cause = LostTo.BUSY
        out.append(Lost(day, cause))
    return tuple(out)


def _away(observed: Observed, people: tuple[str, str], day: date, zone: tzinfo) -> bool:
    """Someone out of office in the week (Monday to Sunday, programme zone) of ``day``."""
    monday = datetime.combine(day - timedelta(days=day.weekday()), time(0), tzinfo=zone)
    begin, end = monday.timestamp(), (monday + timedelta(days=7)).timestamp()
    for who in people:
        schedule = observed.schedules.get(who)
        if schedule and any(
            b.status is BusyStatus.OOF and b.start_s < end and begin < b.end_s for b in schedule.busy
        ):
            return True
    return False


def _zone(observed: Observed, address: str, default: tzinfo) -> tzinfo:
    schedule = observed.schedules.get(address)
    return schedule.working_hours.zone if schedule and schedule.working_hours else default


def _noon(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(12), tzinfo=zone)


def _gap(zones: list[tzinfo], at: datetime) -> timedelta:
    """The difference between the two people's UTC offsets at ``at``."""
    a, b = (at.astimezone(z).utcoffset() or timedelta() for z in zones)
    return a - b


def weekly(result: Forecast) -> Mapping[date, tuple[int, int]]:
    """(sessions, lost) per week (Monday, programme zone), every week from start to end, for the chart."""
    monday = result.start - timedelta(days=result.start.weekday())
    weeks: dict[date, list[int]] = {}
    while monday <= result.end:
        weeks[monday] = [0, 0]
        monday += timedelta(days=7)

    def week_of(day: date) -> date:
        return day - timedelta(days=day.weekday())

    for p in result.pairs:
        for s in p.sessions:
            key = week_of(s.start.astimezone(result.zone).date())
            if key in weeks:
                weeks[key][0] += 1
        for lost in p.lost:
            key = week_of(lost.day)
            if key in weeks:
                weeks[key][1] += 1
    return {k: (v[0], v[1]) for k, v in weeks.items()}
