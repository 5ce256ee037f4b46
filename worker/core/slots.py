"""The slot engine: one recurring slot per pair that holds for as many sessions as can be held, in
both people's zones.

Where it sits: the planner calls ``find_series`` for a pair without a series and ``reslot_session``
for one session that was declined or double-booked; it turns the answer into a ``Book``/``Move``
decision or, for a ``NoSlot``, an escalation to the programme lead. Pure: no I/O, no clock, no
logging. Everything the engine needs arrives in the request.

How a series is chosen:
- Anchors: a series keeps its wall-clock time in one zone. The candidates are anchored in the
  mentee's zone, the mentor's zone and UTC (zones whose offsets agree over the programme are one
  anchor): when two zones change clocks on different dates, or one never does, the common time is
  fixed in one person's zone and drifts in the other's, and only that person's zone holds it.
- Candidates are (anchor, first date, local start time): dates from ``earliest`` to
  ``earliest + lookahead`` on the policy's days, times on the ``step`` grid inside the policy
  window. The series is expanded in the anchor zone (weekly, every N weeks, or the n-th / last
  weekday of every N months); each session is judged in UTC against both people's rules in their
  own zones. A wall time in a DST gap or fold is never used.
- Rules (programme dates, days, working hours, window, avoid, blackouts) are checked for every
  session; busy time (plus buffer; this run's committed sessions count as busy) only for sessions
  that start before the free/busy horizon ends.
- The first session must hold where it is. A later session that fails at its regular place, for
  any reason, is an exception: it is moved to the best clean slot in its own week (at least two
  calendar days from its neighbours), or, if the week has none, cancelled (``SeriesSlot.skips``)
  with the series extended by one occurrence. A series takes at most ``policy.exception_cap``
  exceptions; where one more would be needed, or the programme ends, the series stops, and the
  sessions it could not place are its ``shortfall`` (a partial series; cancelled weeks at its end
  are dropped, not booked).
- Ranking, best first: most sessions held; at most ``allowed_disruptions`` exceptions; earliest
  first date (the programme's zone); fewest exceptions; a person's zone before UTC (a UTC series
  moves in both people's calendars at their clock changes); ``preference`` of the start time in
  both people's own zones (the worse of the two first); earliest start; the anchor's name.
- Symmetry: nothing depends on which person is the mentor, so swapping them changes nothing.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from operator import itemgetter
from zoneinfo import ZoneInfo

from worker.core.availability import Board, Outcome, rounded_span, rule_sets
from worker.core.calendar_math import (
    DAY,
    ZoneClock,
    add_months,
    clock_for,
    daily_range,
    day_date,
    epoch_day,
    monday_of,
    nth_weekday,
    time_of,
    week_index_of,
    weekday_of,
)
from worker.core.explain import describe, shortfall_of
from worker.core.intervals import IntervalSet, from_seconds, to_seconds
from worker.core.slot_model import (
    Constraint,
    NoSlot,
    Person,
    ReslotRequest,
    SeriesRequest,
    SeriesSlot,
    Shortfall,
    Skip,
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
    "Shortfall",
    "Skip",
    "SlotPolicy",
    "allowed_disruptions",
    "candidate_times",
    "find_series",
    "preference",
    "reslot_session",
    "rules_broken",
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


@lru_cache(maxsize=4096)
def week_rank(
    times: tuple[int, ...], days: frozenset[int], weekday: int, start: int
) -> dict[tuple[int, int], int]:
    """``week_order`` as a rank per (weekday, time): a move compares the clean slots it finds by it."""
    return {slot: rank for rank, slot in enumerate(week_order(times, days, weekday, start))}


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
    start: int  # seconds of the day, anchor zone
    held: list[tuple[int, bool]]  # (UTC seconds, moved)
    skips: list[tuple[date, int, Constraint | None]]  # cancelled: (local date, regular start, why if known)
    occurrences: int
    missing: int | None = None  # regular UTC start of the first occurrence not placed (a shortfall)
    capped: bool = False  # it stopped at the policy's cap on exceptions
    ended: bool = False  # it ran into the programme's end before it had all its sessions
    dropped: int = 0  # cancelled weeks after the last session held, left out of the series

    @property
    def disruptions(self) -> int:
        return sum(moved for _, moved in self.held) + len(self.skips)

    @property
    def over_share(self) -> bool:
        return self.disruptions > allowed_disruptions(self.occurrences)


class _Engine:
    """One anchor's search state: the board (shared by the anchors), the candidate grid and the
    anchor zone's clock."""

    def __init__(self, board: Board, policy: SlotPolicy, clock: ZoneClock | None = None) -> None:
        self.board = board
        self.policy = policy
        self.series = clock or board.series
        self.times = candidate_times(policy)
        self._open_days: dict[int, bool] = {}
        self._weeks: dict[date, list[tuple[int, int, int, int]]] = {}
        self._allowed_days: dict[int, bool] = {}

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
        return self._day_meets(self.board.starts, epoch_day(day), self._open_days)

    def _day_meets(self, starts: IntervalSet, number: int, memo: dict[int, bool]) -> bool:
        """Whether any instant of local day ``number`` is in ``starts``, memoised in ``memo``."""
        found = memo.get(number)
        if found is None:
            lo, hi = self._day_span(number)
            found = memo[number] = lo < hi and starts.overlaps(lo, hi)
        return found

    def _day_span(self, number: int) -> tuple[int, int]:
        """The UTC span of local day ``number`` (empty if the day has no wall time at all)."""
        offset = self.series.day_offset(number)
        if offset is not None:
            return number * DAY - offset, (number + 1) * DAY - offset
        spans = self.series.wall_range(number * DAY, (number + 1) * DAY)
        return (spans[0][0], spans[-1][1]) if spans else (0, 0)

    def day_allowed(self, number: int) -> bool:
        """Whether any start on local day ``number`` passes every rule (busy time aside): a session
        whose day has none cannot hold at its regular place, whatever its time (a blackout day)."""
        return self._day_meets(self.board.allowed, number, self._allowed_days)

    def certain_exceptions(self, pattern: _Pattern) -> int:
        """A lower bound on the exceptions of any full series on ``pattern``: among its first
        ``sessions`` occurrences (a series whose exceptions are all moves holds no more), those whose
        day has no start any rule allows. Shared by every time of one first date, so a date's later
        candidates are given up without expanding them."""
        if pattern.certain is None:
            certain = 0
            for k in range(self.policy.sessions):
                _, number, _ = pattern.occurrence(k)
                if number * DAY >= self.board.last_start:
                    break
                if not self.day_allowed(number):
                    certain += 1
            pattern.certain = certain
        return pattern.certain

    def week_clean(self, monday: date) -> list[tuple[int, int, int, int]]:
        """(weekday, epoch day, local start, UTC instant) of every clean slot of a week on the policy's
        days, read from the board once per week and anchor: every candidate's moves in that week share it."""
        clean = self._weeks.get(monday)
        if clean is None:
            clean = []
            for other in sorted(self.policy.days):
                day = monday + timedelta(days=other)
                if not self.day_has_room(day):
                    continue
                number = epoch_day(day)
                offset = self.series.day_offset(number)
                if offset is not None:
                    base = number * DAY - offset
                    members = self.board.starts.members(self.times, base)
                    clean += [(other, number, t, base + t) for t in members]
                else:
                    for t in self.times:
                        instant = self.series.local_instant(number, t)
                        if instant is not None and self.board.clean(instant):
                            clean.append((other, number, t, instant))
            self._weeks[monday] = clean
        return clean

    def move(self, regular: date, start: int, prev: int | None, after: int | None) -> int | None:
        """The best clean slot of ``regular``'s week other than the regular one, in ``week_options``'
        order, at least ``MIN_GAP_DAYS`` from the local days (epoch days) ``prev`` and ``after``."""
        clean = self.week_clean(monday_of(regular))
        if not clean:
            return None  # e.g. a week inside a blackout: nothing to try
        ranks = week_rank(self.times, self.policy.days, regular.weekday(), start)
        best: tuple[int, int] | None = None
        for other, number, t, instant in clean:
            if prev is not None and abs(number - prev) < MIN_GAP_DAYS:
                continue
            if after is not None and abs(after - number) < MIN_GAP_DAYS:
                continue
            rank = ranks.get((other, t))  # None: the regular place itself
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, instant)
        return None if best is None else best[1]

    def expand(
        self, pattern: _Pattern, start: int, limit: int | None = None
    ) -> _Series | Constraint | int | None:
        """The series of ``pattern`` at ``start``, or why not: a constraint the engine knows at once
        (LOCAL_TIME, PROGRAMME_DATES), or the instant of a first session that failed, for
        ``Board.explain``. Later sessions that fail become exceptions, up to the policy's cap. None
        when it would need more than ``limit`` exceptions (a better series is already known)."""
        policy, board, clock = self.policy, self.board, self.series
        cap = policy.exception_cap
        series = _Series(pattern.first, start, [], [], 0)
        exceptions = 0
        last_held = 0  # occurrences up to and including the last held one
        k = 0
        while len(series.held) < policy.sessions:
            day, number, instant = _placed(pattern, clock, start, k)
            if instant is None and k == 0:
                return Constraint.LOCAL_TIME
            regular = instant if instant is not None else _noon(clock, number)
            if not (board.first_start <= regular < board.last_start):
                if k == 0:
                    return Constraint.PROGRAMME_DATES
                series.ended = True
                break
            outcome = Outcome.FAILED if instant is None else board.outcome(instant)
            if outcome is Outcome.OK:
                series.held.append((regular, False))
                last_held = k + 1
            elif k == 0:
                return regular
            elif exceptions >= cap:
                series.missing = regular  # one exception more than the policy allows: stop here
                series.capped = True
                break
            elif limit is not None and exceptions >= limit:
                return None  # one more exception than the best series known: it cannot win
            else:
                exceptions += 1
                prev = clock.wall(series.held[-1][0]) // DAY
                moved = self.move(day, start, prev, pattern.occurrence(k + 1)[1])
                if moved is None:
                    series.skips.append((day, regular, Constraint.LOCAL_TIME if instant is None else None))
                else:
                    series.held.append((moved, True))
                    last_held = k + 1
            k += 1
        # Cancelled weeks after the last held session are not booked: the series ends before them.
        while series.skips and series.skips[-1][0] > pattern.occurrence(last_held - 1)[0]:
            series.missing = series.skips.pop()[1]
            series.dropped += 1
        series.occurrences = last_held
        if series.missing is None and len(series.held) < policy.sessions and k > 0:
            series.missing = _regular(pattern, clock, start, last_held)
        return series

    def firsts(self, earliest: int, latest: int) -> Iterator[tuple[_Pattern, int, int]]:
        """(pattern, local start, UTC instant) of every first session in [earliest, latest) that is
        clean where it is, in date order."""
        day = self.local_day(earliest)
        last = self.local_day(latest)
        board = self.board
        while day <= last:
            if day.weekday() in self.policy.days:
                pattern = _Pattern(day, self.policy, self.series)
                _, number, offset = pattern.occurrence(0)
                if offset is not None:  # an ordinary day: every first session at once, by its offset
                    base = number * DAY - offset
                    for t in sorted(board.starts.members(self.times, base)):
                        if earliest <= base + t < latest:
                            yield pattern, t, base + t
                else:
                    for t in self.times:
                        instant = self.series.local_instant(number, t)
                        if instant is not None and earliest <= instant < latest and board.clean(instant):
                            yield pattern, t, instant
            day += timedelta(days=1)

    def rejected_firsts(self, earliest: int, latest: int) -> Iterator[int]:
        """The instants of the first sessions in [earliest, latest) that do not hold where they are."""
        day = self.local_day(earliest)
        last = self.local_day(latest)
        while day <= last:
            if day.weekday() in self.policy.days:
                number = epoch_day(day)
                for t in self.times:
                    instant = self.series.local_instant(number, t)
                    if instant is not None and earliest <= instant < latest and not self.board.clean(instant):
                        yield instant
            day += timedelta(days=1)


def _noon(clock: ZoneClock, number: int) -> int:
    """An instant on local day ``number`` (its noon), for an occurrence whose wall time does not exist."""
    return number * DAY + DAY // 2 - clock.offset_at(number * DAY)


def _placed(pattern: _Pattern, clock: ZoneClock, start: int, k: int) -> tuple[date, int, int | None]:
    """(local date, epoch day, UTC start) of the k-th occurrence at its regular place; the start is
    None where the wall time does not exist once (a clock change's gap or fold)."""
    day, number, offset = pattern.occurrence(k)
    if offset is not None:
        return day, number, number * DAY + start - offset
    return day, number, clock.local_instant(number, start)


def _regular(pattern: _Pattern, clock: ZoneClock, start: int, k: int) -> int:
    """The UTC start of the k-th occurrence at its regular place (its day's noon in a DST gap)."""
    _, number, instant = _placed(pattern, clock, start, k)
    return instant if instant is not None else _noon(clock, number)


class _Pattern:
    """The occurrence dates of a series from ``first``, with each local day's UTC offset, memoised
    so the candidate times of one date share them."""

    __slots__ = ("_clock", "_index", "_occurrences", "_policy", "certain", "first")

    def __init__(self, first: date, policy: SlotPolicy, clock: ZoneClock) -> None:
        self.first = first
        self._policy = policy
        self._clock = clock
        self._index = week_index_of(first) if policy.cadence.kind is CadenceKind.MONTHLY else None
        self._occurrences: list[tuple[date, int, int | None]] = []
        self.certain: int | None = None  # see _Engine.certain_exceptions

    def occurrence(self, k: int) -> tuple[date, int, int | None]:
        """(local date, epoch day, that day's constant UTC offset or None) of the k-th occurrence."""
        while len(self._occurrences) <= k:
            day = occurrence_date(self.first, self._policy, len(self._occurrences), self._index)
            number = epoch_day(day)
            self._occurrences.append((day, number, self._clock.day_offset(number)))
        return self._occurrences[k]


_First = tuple[int, int, "_Anchor", _Engine, _Pattern, int, int]  # (date, anchor no., anchor, engine, ...)


@dataclass(frozen=True, slots=True)
class _Anchor:
    name: str  # the IANA name the series is booked in
    zone: tzinfo


def anchors(mentor: Person, mentee: Person, lo: int, hi: int, step: int) -> tuple[_Anchor, ...]:
    """The zones a series may keep its wall time in: each person's (by the IANA name their series is
    booked in), names sorted, then UTC, without repeats.

    Two zones are one anchor when one is the other shifted by a constant (the same clock changes at
    the same instants, an offset difference on the ``step`` grid): a series in either is the same
    series, so Paris and London, or New York and Chicago, are searched once, in the first by name.
    UTC is an anchor only when both people's zones change clocks, at different instants: only then can
    a time fixed in neither person's zone be the one that holds (otherwise UTC is one of the people's
    zones shifted, or drifts against both of them at once).
    """
    named: dict[str, tzinfo] = {}
    for person in (mentor, mentee):
        named.setdefault(person.zone_name, _zone_named(person))
    shapes = {name: _shape(zone, lo, hi, step) for name, zone in named.items()}
    found = [(_Anchor(name, named[name]), shapes[name]) for name in sorted(n for n in named if n != "UTC")]
    changes = {shape[1] for shape in shapes.values()}
    if "UTC" in named or (len(changes) == 2 and all(changes)):
        found.append((_Anchor("UTC", UTC), shapes.get("UTC") or _shape(UTC, lo, hi, step)))
    kept: list[tuple[_Anchor, tuple[int, tuple[int, ...], tuple[int, ...]]]] = []
    for anchor, shape in found:
        if all(shape != seen for _, seen in kept):
            kept.append((anchor, shape))
    return tuple(anchor for anchor, _ in kept)


def _shape(zone: tzinfo, lo: int, hi: int, step: int) -> tuple[int, tuple[int, ...], tuple[int, ...]]:
    """A zone's offsets over [lo, hi] up to a constant shift on the step grid: (offset mod step, the
    instants of its clock changes, its offsets after them relative to the first)."""
    clock = clock_for(zone)
    clock.cover(lo, hi)
    base = clock.offset_at(lo)
    changes = tuple(clock.transitions_within(lo, hi))
    return base % step, changes, tuple(clock.offset_at(c) - base for c in changes)


def _zone_named(person: Person) -> tzinfo:
    """The zone a person's series would be booked in: their own, unless Graph gave it only by its
    rules (Outlook's "Customized Time Zone"), in which case ``zone_name`` names another one."""
    if person.zone_name == "UTC":
        return UTC
    if getattr(person.zone, "key", None) == person.zone_name:
        return person.zone
    return ZoneInfo(person.zone_name)


def _both_preferences(board: Board, instant: int) -> tuple[int, int]:
    """``preference`` of a start in each person's own zone: (the worse, the sum)."""
    bands = []
    for view in board.people:
        wall = view.clock.wall(instant)
        bands.append(preference(weekday_of(wall // DAY), wall % DAY))
    return max(bands), sum(bands)


def find_series(req: SeriesRequest) -> SeriesSlot | NoSlot:
    """The best series for a pair, or why there is none (see the module docstring for the rules)."""
    policy = req.policy
    earliest = to_seconds(req.earliest)
    latest = earliest + int(policy.lookahead.total_seconds())
    end_of_programme = epoch_day(policy.program_end) * DAY
    span = (earliest - 8 * DAY, max(end_of_programme, latest) + 9 * DAY)
    board = Board(
        mentor=req.mentor,
        mentee=req.mentee,
        policy=policy,
        committed=req.committed,
        horizon_end=to_seconds(req.horizon.end),
        span=span,
    )
    programme_clock = clock_for(policy.program_zone)
    step = max(int(policy.step.total_seconds()), 60)
    found_anchors = anchors(req.mentor, req.mentee, *span, step)
    engines = [(a, _Engine(board, policy, clock_for(a.zone))) for a in found_anchors]

    # The clean first sessions of every anchor, merged by programme date as the search reaches them
    # (most pairs stop at their first date): a date's candidates are tried best preference first, so
    # the first full series without exceptions ends the search.
    def stream(position: int, anchor: _Anchor, engine: _Engine) -> Iterator[_First]:
        for pattern, start, instant in engine.firsts(earliest, latest):
            yield programme_clock.wall(instant) // DAY, position, anchor, engine, pattern, start, instant

    merged = heapq.merge(*(stream(i, a, e) for i, (a, e) in enumerate(engines)), key=itemgetter(0))
    best: tuple[tuple[object, ...], _Series, _Engine, _Anchor] | None = None
    reasons: Counter[Constraint] = Counter()  # candidates rejected for a reason known at once
    for day, firsts in itertools.groupby(merged, key=itemgetter(0)):
        if best is not None and best[0][0] == -policy.sessions and not best[1].over_share:
            break  # a later date cannot beat a full series within its share
        candidates = sorted(
            ((_both_preferences(board, f[6]), f[6], f[1], f[3], f[2], f[4], f[5]) for f in firsts),
            key=itemgetter(0, 1, 2),
        )
        for pref, instant, position, engine, anchor, pattern, start in candidates:
            utc = anchor.name == "UTC"  # a last resort: it drifts in both zones at their clock changes
            limit = _limit(best, day, policy.sessions, utc)
            if limit is not None and engine.certain_exceptions(pattern) > limit:
                continue
            found = engine.expand(pattern, start, limit)
            if found is None:
                continue
            if isinstance(found, Constraint):
                reasons[found] += 1
                continue
            if isinstance(found, int):  # cannot happen: the first session is clean
                continue
            key = (-len(found.held), found.over_share, day, found.disruptions, utc, pref, instant, position)
            if best is None or key < best[0]:
                best = (key, found, engine, anchor)
            if found.disruptions == 0 and len(found.held) == policy.sessions and not utc:
                break  # candidates come in preference order: nothing later on this date beats it
    if best is not None:
        return _series_slot(best[2], best[3], req, best[1])
    rejected = list(engines[0][1].rejected_firsts(earliest, latest))  # the first anchor's grid explains
    counts = board.explain_many(rejected)
    busy_starts = [start for start in rejected if board.allowed.has(start)]
    counts.update(reasons)
    if not candidate_times(policy):
        default = Constraint.WINDOW
    elif not policy.days:
        default = Constraint.DAYS
    else:
        default = Constraint.PROGRAMME_DATES
    return describe(board, counts, policy, reference=earliest, default=default, busy_starts=busy_starts)


def _limit(
    best: tuple[tuple[object, ...], _Series, _Engine, _Anchor] | None, day: int, sessions: int, utc: bool
) -> int | None:
    """The most exceptions a candidate on ``day`` (coming later in the search than ``best``) may need
    and still beat ``best``, or None when ``best`` is not a full series (a partial one is beaten by
    sessions held, whatever the exceptions). Past this bound the candidate is given up unexpanded
    or halfway, which changes no answer:
    - on ``best``'s date, within its share: fewer exceptions than ``best`` (or as many, in a person's
      zone against a UTC ``best``), since a later candidate's preference is no better;
    - otherwise it must itself be within its share: at most ``sessions // 4`` exceptions, since
      d <= occurrences // 5 <= (sessions + d) / 5 (and on ``best``'s date no fewer than ``best``'s).
    """
    if best is None or best[0][0] != -sessions:
        return None
    key, found = best[0], best[1]
    share = sessions // 4
    if key[2] != day:
        return share
    own = found.disruptions - (0 if key[4] and not utc else 1)
    return max(own, share) if key[1] else own


def _series_slot(engine: _Engine, anchor: _Anchor, req: SeriesRequest, found: _Series) -> SeriesSlot:
    policy, board = req.policy, engine.board
    duration = timedelta(seconds=board.duration)
    recurrence = Recurrence(
        cadence=policy.cadence,
        weekday=found.first.weekday(),
        start=found.first,
        count=found.occurrences,
        zone_name=anchor.name,
        index=week_index_of(found.first) if policy.cadence.kind is CadenceKind.MONTHLY else None,
    )
    sessions = tuple(
        Session(number, from_seconds(instant), from_seconds(instant) + duration, moved)
        for number, (instant, moved) in enumerate(found.held, start=1)
    )
    skips = tuple(
        Skip(day, from_seconds(instant), why or board.explain(instant) or Constraint.BUSY)
        for day, instant, why in found.skips
    )
    shortfall = None
    wanted = policy.sessions
    missing = policy.sessions - len(sessions)
    if missing and found.ended and not found.capped:
        # "the series ends after this many sessions, or at program.end": the programme's end is the
        # policy's own limit, not a shortfall; the weeks without a time that pushed sessions past it are
        missing = min(missing, len(skips) + found.dropped)
        wanted = len(sessions) + missing
    if missing and found.missing is not None:
        last = found.held[-1][0] if found.held else found.missing
        shortfall = shortfall_of(
            board,
            policy,
            count=missing,
            last=last,
            first=found.missing,
            capped=found.capped,
            kept=found.disruptions,
            dropped=found.dropped,
        )
    return SeriesSlot(
        recurrence,
        time_of(found.start),
        anchor.name,
        duration,
        sessions,
        skips,
        wanted=wanted,
        shortfall=shortfall,
    )


def rules_broken(mentor: Person, mentee: Person, policy: SlotPolicy, start: datetime) -> Constraint | None:
    """The first rule (days, working hours, window, avoid) a session at ``start`` breaks for either
    person in their own zone, or None: how a repair notices a session a clock change or new working
    hours left outside someone's day. Busy time and blackouts are not judged here."""
    at = to_seconds(start)
    end = at + int(policy.duration.total_seconds())
    lo, hi = rounded_span(at - 8 * DAY, at + 9 * DAY)
    for person in (mentor, mentee):
        rules, layers = rule_sets(person.zone, person.hours, policy.days, policy.window, policy.avoid, lo, hi)
        if not rules.contains(at, end):
            for constraint, layer in layers.items():  # days, working hours, window, avoid
                if not layer.contains(at, end):
                    return constraint
    return None


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
