"""The slot engine: one recurring slot per pair that holds for every session, in both people's zones.

Where it sits: the planner calls ``find_series`` for a pair without a series and ``reslot_session``
for one session that was declined or double-booked; it turns the answer into a ``Book``/``Move``
decision or, for a ``NoSlot``, an escalation to the programme lead. Pure: no I/O, no clock, no
logging. Everything the engine needs arrives in the request.

How a series is chosen:
- Candidates are (first date, local start time) in the series zone, which is the mentee's: dates
  from ``earliest`` to ``earliest + lookahead`` on the policy's days, times on the ``step`` grid
  inside the policy window. The series is expanded in that zone (weekly, every N weeks, or the n-th
  / last weekday of every N months), so each session keeps its wall-clock time; each session is
  then judged in UTC against both people's rules in their own zones, so a week where two zones'
  daylight-saving rules differ is caught. A wall time in a DST gap or fold is never used.
- Rules (programme dates, days, working hours, window, avoid, blackouts) are checked for every
  session; busy time (plus buffer; this run's committed sessions count as busy) only for sessions
  that start before the free/busy horizon ends.
- The first session must hold where it is. A later session that a blackout hits, or that an
  out-of-office hits when nothing else rejects it (so adding busy time never adds a slot), is moved
  to the best clean slot in its own week (at least two calendar days from its neighbours), or, if
  the week has none, cancelled (``SeriesSlot.skipped``) with the series extended by one
  occurrence. Any other failure rejects the candidate.
- Ranking, best first: at most ``allowed_disruptions`` moves/skips; earliest first date; fewest
  moves/skips; ``preference`` of the local start time; earliest start time.
- Symmetry: the two people are read identically except that the mentee's zone is the series'
  zone (so swapping two people who share a zone changes nothing).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import lru_cache

from worker.core.availability import Board, Outcome
from worker.core.calendar_math import (
    DAY,
    ZoneClock,
    add_months,
    daily_range,
    day_date,
    epoch_day,
    monday_of,
    nth_weekday,
    time_of,
    week_index_of,
)
from worker.core.explain import describe
from worker.core.intervals import from_seconds, to_seconds
from worker.core.slot_model import (
    Constraint,
    NoSlot,
    Person,
    ReslotRequest,
    SeriesRequest,
    SeriesSlot,
    SlotPolicy,
)
from worker.core.types import CadenceKind, Recurrence, Session, WeekIndex

__all__ = [
    "Constraint",
    "NoSlot",
    "Person",
    "ReslotRequest",
    "SeriesRequest",
    "SeriesSlot",
    "SlotPolicy",
    "allowed_disruptions",
    "candidate_times",
    "find_series",
    "preference",
    "reslot_session",
]

MIN_GAP_DAYS = 2  # a moved session keeps at least this many calendar days from its neighbours
_HOUR = 3600


def allowed_disruptions(occurrences: int) -> int:
    """A series may need one move or skip per five occurrences before any cleaner series beats it."""
    return occurrences // 5


def preference(weekday: int, start: int) -> int:
    """Rank of a local start time (seconds of the day), lower is better.

    Mid-morning first, then around midday, early afternoon, early morning, late afternoon, anything
    else; a Monday morning or a Friday afternoon comes after all of those.
    """
    if 9 * _HOUR + 1800 <= start < 11 * _HOUR + 1800:
        band = 0
    elif 11 * _HOUR + 1800 <= start < 14 * _HOUR:
        band = 1
    elif 14 * _HOUR <= start < 16 * _HOUR:
        band = 2
    elif 8 * _HOUR <= start < 9 * _HOUR + 1800:
        band = 3
    elif 16 * _HOUR <= start < 18 * _HOUR:
        band = 4
    else:
        band = 5
    if (weekday == 0 and start < 12 * _HOUR) or (weekday == 4 and start >= 12 * _HOUR):
        band += 6
    return band


def candidate_times(policy: SlotPolicy) -> tuple[int, ...]:
    """Start times (seconds of the day, series zone) on the step grid whose session fits the window."""
    return _grid(policy.step, policy.duration, policy.window)


@lru_cache(maxsize=256)
def _grid(step_: timedelta, duration_: timedelta, window_: tuple[time, time]) -> tuple[int, ...]:
    step = max(int(step_.total_seconds()), 60)
    duration = int(duration_.total_seconds())
    window = daily_range(*window_)
    return tuple(
        t
        for t in range(0, DAY, step)
        if t + duration <= DAY and any(lo <= t and t + duration <= hi for lo, hi in window)
    )


@lru_cache(maxsize=64)
def preference_orders(times: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """The candidate times of each weekday, best first (shared by every pair with the same grid)."""
    def order(weekday: int) -> tuple[int, ...]:
        return tuple(sorted(times, key=lambda t: (preference(weekday, t), t)))

    return tuple(order(weekday) for weekday in range(7))


@lru_cache(maxsize=4096)
def week_order(
    times: tuple[int, ...], days: frozenset[int], weekday: int, start: int
) -> tuple[tuple[int, int], ...]:
    """(weekday, time) of every other slot of a week, in the order a moved session tries them:
    the same local time first, then ``preference``, then the nearest day, then the earliest."""
    options = sorted(
        (t != start, preference(other, t), abs(other - weekday), other, t)
        for other in range(7)
        if other in days
        for t in times
        if (other, t) != (weekday, start)
    )
    return tuple((other, t) for *_, other, t in options)


def occurrence_date(first: date, policy: SlotPolicy, k: int, index: WeekIndex | None) -> date:
    """The k-th (0-based) date of the pattern that starts on ``first``."""
    if policy.cadence.kind is CadenceKind.WEEKLY:
        return first + timedelta(weeks=policy.cadence.interval * k)
    year, month = add_months(first, policy.cadence.interval * k)
    assert index is not None
    return nth_weekday(year, month, first.weekday(), index)


@dataclass(slots=True)
class _Series:
    first: date
    start: int  # seconds of the day, series zone
    held: list[tuple[int, bool]]  # (UTC seconds, moved)
    skipped: list[date]
    occurrences: int

    @property
    def disruptions(self) -> int:
        return sum(moved for _, moved in self.held) + len(self.skipped)

    @property
    def over_share(self) -> bool:
        return self.disruptions > allowed_disruptions(self.occurrences)


class _Engine:
    """One request's search state: the board, the candidate grid and the series zone."""

    def __init__(self, board: Board, policy: SlotPolicy) -> None:
        self.board = board
        self.policy = policy
        self.series = board.series
        self.times = candidate_times(policy)
        self.by_preference = preference_orders(self.times)
        self._open_days: dict[date, bool] = {}

    def local_day(self, instant: int) -> date:
        return day_date(self.series.wall(instant) // DAY)

    def week_options(
        self, regular: date, start: int, prev_day: date | None, next_day: date | None
    ) -> Iterator[tuple[date, int]]:
        """Every slot of ``regular``'s week except the regular one, best first, with spacing applied.

        Best: the same local time on another day, then by ``preference``, nearest day, earliest.
        """
        order = week_order(self.times, self.policy.days, regular.weekday(), start)
        monday = monday_of(regular)
        for weekday, t in order:
            day = monday + timedelta(days=weekday)
            if prev_day is not None and abs((day - prev_day).days) < MIN_GAP_DAYS:
                continue
            if next_day is not None and abs((next_day - day).days) < MIN_GAP_DAYS:
                continue
            yield day, t

    def day_has_room(self, day: date) -> bool:
        """Whether any clean start falls on this local day at all (a blacked-out week is then skipped
        in one look per day rather than one per time)."""
        room = self._open_days.get(day)
        if room is None:
            number = epoch_day(day)
            spans = self.series.wall_range(number * DAY, (number + 1) * DAY)
            room = bool(spans) and self.board.starts.overlaps(spans[0][0], spans[-1][1])
            self._open_days[day] = room
        return room

    def move(self, regular: date, start: int, prev_day: date | None, next_day: date | None) -> int | None:
        monday = monday_of(regular)
        if not any(self.day_has_room(monday + timedelta(days=d)) for d in self.policy.days):
            return None  # e.g. a week inside a blackout: nothing to try
        for day, t in self.week_options(regular, start, prev_day, next_day):
            if not self.day_has_room(day):
                continue
            instant = self.series.local_instant(epoch_day(day), t)
            if instant is not None and self.board.clean(instant):
                return instant
        return None

    def expand(self, pattern: _Pattern, start: int) -> _Series | Constraint | int:
        """The series of ``pattern`` at ``start``, or why not: a constraint the engine knows at once
        (LOCAL_TIME, PROGRAMME_DATES), or the instant of the session that failed, for ``Board.explain``."""
        policy, board, clock = self.policy, self.board, self.series
        series = _Series(pattern.first, start, [], [], 0)
        k = 0
        while len(series.held) < policy.sessions:
            day, number, offset = pattern.occurrence(k)
            if offset is not None:
                instant: int | None = number * DAY + start - offset
            else:
                instant = clock.local_instant(number, start)
            if instant is None:
                return Constraint.LOCAL_TIME
            if not (board.first_start <= instant < board.last_start):
                if k == 0:
                    return Constraint.PROGRAMME_DATES
                break
            outcome = board.outcome(instant)
            if outcome is Outcome.OK:
                series.held.append((instant, False))
            elif outcome is Outcome.DISRUPTED and k > 0:
                prev_day = self.local_day(series.held[-1][0])
                next_day = pattern.occurrence(k + 1)[0]
                moved = self.move(day, start, prev_day, next_day)
                if moved is None:
                    series.skipped.append(day)
                else:
                    series.held.append((moved, True))
            else:
                return instant
            k += 1
            series.occurrences = k
        return series

    def candidates(self, earliest: int, latest: int) -> Iterator[tuple[_Pattern, tuple[int, ...]]]:
        """Each candidate first date (a pattern) in order, with its times in preference order."""
        day = self.local_day(earliest)
        last = self.local_day(latest)
        while day <= last:
            if day.weekday() in self.policy.days:
                yield _Pattern(day, self.policy, self.series), self.by_preference[day.weekday()]
            day += timedelta(days=1)


class _Pattern:
    """The occurrence dates of a series from ``first``, with each local day's UTC offset, memoised
    so the candidate times of one date share them."""

    __slots__ = ("_clock", "_index", "_occurrences", "_policy", "first")

    def __init__(self, first: date, policy: SlotPolicy, clock: ZoneClock) -> None:
        self.first = first
        self._policy = policy
        self._clock = clock
        self._index = week_index_of(first) if policy.cadence.kind is CadenceKind.MONTHLY else None
        self._occurrences: list[tuple[date, int, int | None]] = []

    def occurrence(self, k: int) -> tuple[date, int, int | None]:
        """(local date, epoch day, that day's constant UTC offset or None) of the k-th occurrence."""
        while len(self._occurrences) <= k:
            day = occurrence_date(self.first, self._policy, len(self._occurrences), self._index)
            number = epoch_day(day)
            self._occurrences.append((day, number, self._clock.day_offset(number)))
        return self._occurrences[k]


def find_series(req: SeriesRequest) -> SeriesSlot | NoSlot:
    """The best series for a pair, or why there is none (see the module docstring for the rules)."""
    policy = req.policy
    earliest = to_seconds(req.earliest)
    latest = earliest + int(policy.lookahead.total_seconds())
    end_of_programme = epoch_day(policy.program_end) * DAY
    board = Board(
        mentor=req.mentor,
        mentee=req.mentee,
        policy=policy,
        committed=req.committed,
        horizon_end=to_seconds(req.horizon.end),
        span=(earliest - 8 * DAY, max(end_of_programme, latest) + 9 * DAY),
    )
    engine = _Engine(board, policy)
    rejected: list[int] = []  # instants of rejected sessions, explained only if no series is found
    reasons: Counter[Constraint] = Counter()  # candidates rejected for a reason known at once
    # best key overall: (over share, first date, disruptions, preference, start); dates come in order
    fallback: tuple[tuple[object, ...], _Series] | None = None
    day_best: tuple[tuple[object, ...], _Series] | None = None
    for pattern, order in engine.candidates(earliest, latest):
        day = pattern.first
        if day_best is not None and not day_best[1].over_share:
            return _series_slot(engine, req, day_best[1])
        if day_best is not None and fallback is None:
            fallback = day_best
        day_best = None
        _, number, offset = pattern.occurrence(0)
        if offset is not None:  # an ordinary day: every first session at once, by the day's offset
            base = number * DAY - offset
            clean = board.starts.members(engine.times, base)
            firsts: list[tuple[int, int | None]] = [(t, base + t) for t in order]
        else:
            firsts = [(t, engine.series.local_instant(number, t)) for t in order]
            clean = {t for t, instant in firsts if instant is not None and board.clean(instant)}
        for start, instant in firsts:
            if instant is not None:
                if not (earliest <= instant < latest):
                    continue
                if start not in clean:  # the first session must hold where it is
                    rejected.append(instant)
                    continue
            found = engine.expand(pattern, start)
            if isinstance(found, int):
                rejected.append(found)
                continue
            if isinstance(found, Constraint):
                reasons[found] += 1
                continue
            key = (found.over_share, found.disruptions, preference(day.weekday(), start), start)
            if day_best is None or key < day_best[0]:
                day_best = (key, found)
            if found.disruptions == 0:
                # times come in preference order, so nothing later today (or later) can beat it
                return _series_slot(engine, req, found)
    if day_best is not None and not day_best[1].over_share:
        return _series_slot(engine, req, day_best[1])
    if fallback is None:
        fallback = day_best
    if fallback is not None:
        return _series_slot(engine, req, fallback[1])
    counts = board.explain_many(rejected)
    counts.update(reasons)
    if not engine.times:
        default = Constraint.WINDOW
    elif not policy.days:
        default = Constraint.DAYS
    else:
        default = Constraint.PROGRAMME_DATES
    return describe(board, counts, policy, reference=earliest, default=default)


def _series_slot(engine: _Engine, req: SeriesRequest, found: _Series) -> SeriesSlot:
    policy = req.policy
    duration = timedelta(seconds=engine.board.duration)
    recurrence = Recurrence(
        cadence=policy.cadence,
        weekday=found.first.weekday(),
        start=found.first,
        count=found.occurrences,
        zone_name=req.mentee.zone_name,
        index=week_index_of(found.first) if policy.cadence.kind is CadenceKind.MONTHLY else None,
    )
    sessions = tuple(
        Session(number, from_seconds(instant), from_seconds(instant) + duration, moved)
        for number, (instant, moved) in enumerate(found.held, start=1)
    )
    return SeriesSlot(
        recurrence, time_of(found.start), req.mentee.zone_name, duration, sessions, tuple(found.skipped)
    )


def reslot_session(req: ReslotRequest) -> Session | NoSlot:
    """The best clean slot in the session's own week, two days from its neighbours, outside the freeze."""
    policy = req.policy
    old = to_seconds(req.session.start)
    now = to_seconds(req.now)
    freeze = int(req.freeze.total_seconds())
    board = Board(
        mentor=req.mentor,
        mentee=req.mentee,
        policy=policy,
        committed=req.committed,
        horizon_end=to_seconds(req.horizon.end),
        span=(old - 8 * DAY, old + 8 * DAY),
        series_zone=req.series_zone,
    )
    engine = _Engine(board, policy)
    if old - now < freeze:
        return describe(board, Counter({Constraint.FREEZE: 1}), policy, reference=old)
    old_wall = engine.series.wall(old)
    regular, start = day_date(old_wall // DAY), old_wall % DAY
    counts: Counter[Constraint] = Counter()
    neighbours = [
        engine.local_day(to_seconds(n)) for n in (req.previous_start, req.next_start) if n is not None
    ]
    for day, t in engine.week_options(regular, start, None, None):
        instant = engine.series.local_instant(epoch_day(day), t)
        if instant is None:
            counts[Constraint.LOCAL_TIME] += 1
        elif instant - now < freeze:
            counts[Constraint.FREEZE] += 1
        elif any(abs((day - n).days) < MIN_GAP_DAYS for n in neighbours):
            counts[Constraint.SPACING] += 1
        elif board.clean(instant):
            duration = timedelta(seconds=board.duration)
            return Session(req.session.number, from_seconds(instant), from_seconds(instant) + duration, True)
        else:
            counts[board.explain(instant) or Constraint.BUSY] += 1
    default = Constraint.WINDOW if not engine.times else Constraint.DAYS
    return describe(board, counts, policy, reference=old, default=default)
