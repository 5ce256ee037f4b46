"""Where a session may go, precomputed once per request as UTC interval sets.

Each person's rules (policy days, Outlook working hours, the policy window, the avoid windows, all
in that person's own zone) become one sorted set of UTC intervals over the programme's span, built
from the zone's offset pieces, so the weeks where two zones' daylight-saving rules differ are
simply different intervals. Busy time (plus this run's committed sessions) is merged once per
person. A session is then judged with a handful of binary searches.

The combined rule sets are memoised per (zone, rules, span): in a programme most people share a
handful of zones and working hours, so most pairs reuse them.
"""

from __future__ import annotations

import enum
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, time, tzinfo
from functools import lru_cache
from operator import itemgetter, sub

from worker.core.calendar_math import (
    DAY,
    WHOLE_DAY,
    Ranges,
    clock_for,
    complement,
    daily_range,
    epoch_day,
    intersect,
    union,
)
from worker.core.intervals import IntervalSet, to_seconds, to_seconds_ceil
from worker.core.slot_model import Constraint, Person, SlotPolicy
from worker.core.types import Busy, BusyStatus, Interval, WorkingHours

_SPAN_ROUNDING = 28 * DAY  # spans are rounded so nearby requests share memoised rule sets

Weekly = tuple[Ranges, ...]  # seven entries, Monday first


class Outcome(enum.Enum):
    """What happened to one occurrence at its regular place."""

    OK = "ok"
    DISRUPTED = "disrupted"  # a blackout or an out-of-office hit it: move it or skip it
    FAILED = "failed"


def rounded_span(lo: int, hi: int) -> tuple[int, int]:
    """[lo, hi] widened to whole ``_SPAN_ROUNDING`` steps and a day: nearby requests then share the
    memoised rule sets built over the span."""
    return lo // _SPAN_ROUNDING * _SPAN_ROUNDING - DAY, -(-hi // _SPAN_ROUNDING) * _SPAN_ROUNDING + DAY


@lru_cache(maxsize=1024)
def weekly_set(zone: tzinfo, weekly: Weekly, lo: int, hi: int) -> IntervalSet:
    """The UTC instants in [lo, hi) whose wall clock in ``zone`` falls in that weekday's ranges."""
    clock = clock_for(zone)
    out: list[tuple[int, int]] = []
    first_day = (lo - DAY) // DAY
    last_day = (hi + DAY) // DAY
    for day in range(first_day, last_day + 1):
        ranges = weekly[(day + 3) % 7]
        if not ranges:
            continue
        offset = clock.day_offset(day)
        if offset is not None:  # an ordinary day: shift the wall ranges by its one offset
            base = day * DAY - offset
            out.extend((base + r_lo, base + r_hi) for r_lo, r_hi in ranges)
        else:
            for r_lo, r_hi in ranges:
                out.extend(clock.wall_range(day * DAY + r_lo, day * DAY + r_hi))
    return IntervalSet(out)


@lru_cache(maxsize=256)
def dates_set(zone: tzinfo, ranges: tuple[tuple[date, date], ...]) -> IntervalSet:
    """The UTC instants whose local date in ``zone`` lies in one of the inclusive date ranges."""
    clock = clock_for(zone)
    out: list[tuple[int, int]] = []
    for first, last in ranges:
        out.extend(clock.wall_range(epoch_day(first) * DAY, (epoch_day(last) + 1) * DAY))
    return IntervalSet(out)


def _weekly(days: Iterable[int], ranges: Ranges) -> Weekly:
    chosen = frozenset(days)
    return tuple(ranges if weekday in chosen else () for weekday in range(7))


@lru_cache(maxsize=256)
def programme_sets(
    zone: tzinfo, first: date, last: date, blackouts: tuple[tuple[date, date], ...], lo: int, hi: int
) -> tuple[IntervalSet, IntervalSet]:
    """The programme's dates, and those dates without the blackouts, as UTC sets."""
    programme = dates_set(zone, ((first, last),))
    blocked = dates_set(zone, blackouts)
    return programme, programme.intersection(IntervalSet(complement_dates(blocked, lo, hi)))


@lru_cache(maxsize=1024)
def allowed_starts(open_days: IntervalSet, one: IntervalSet, two: IntervalSet, duration: int) -> IntervalSet:
    """Start instants whose whole session lies in the open days and in both people's rules.

    Memoised on the (memoised) sets themselves: pairs that share zones and hours share this too.
    """
    allowed = open_days.intersection(one).intersection(two)
    return IntervalSet((a, b - duration + 1) for a, b in allowed if b - duration >= a)


class PersonView:
    """One person's rules and calendar as interval sets; ``layers`` serve the explanations.

    The board reads the busy time itself (once, already shifted by duration and buffer); the
    person's own merged busy sets are only built when ``Board.explain`` asks for them.
    """

    __slots__ = ("_oof", "_others", "clock", "committed", "layers", "person", "rules")

    def __init__(
        self,
        person: Person,
        rules: IntervalSet,
        layers: dict[Constraint, IntervalSet],
        committed: list[tuple[int, int]],
    ) -> None:
        self.person = person
        self.clock = clock_for(person.zone)
        self.rules = rules  # days ∩ working hours ∩ window − avoid
        self.layers = layers
        self.committed = committed  # this run's sessions for the person, as UTC seconds
        self._others: IntervalSet | None = None
        self._oof: IntervalSet | None = None

    def _read(self) -> tuple[IntervalSet, IntervalSet]:
        if self._others is None or self._oof is None:
            others, oof = busy_seconds(self.person.busy)
            self._others, self._oof = IntervalSet(others + self.committed), IntervalSet(oof)
        return self._others, self._oof

    @property
    def others(self) -> IntervalSet:
        """Every blocking status but out-of-office, and committed sessions."""
        return self._read()[0]

    @property
    def oof(self) -> IntervalSet:
        return self._read()[1]

    @property
    def name(self) -> str:
        """As the directory (or pairs.yaml) names them; the address's first word only when nothing does."""
        if self.person.name:
            return self.person.name
        local = self.person.address.split("@", 1)[0]
        return local.split(".", 1)[0].capitalize() or self.person.address


@lru_cache(maxsize=1024)
def rule_sets(
    zone: tzinfo,
    hours: WorkingHours,
    days: frozenset[int],
    window: tuple[time, time],
    avoid: tuple[tuple[time, time], ...],
    lo: int,
    hi: int,
) -> tuple[IntervalSet, dict[Constraint, IntervalSet]]:
    """One person's combined rules and the per-constraint layers, memoised: people share them."""
    wh = _weekly(hours.days, daily_range(hours.start, hours.end))
    chosen_days = _weekly(days, WHOLE_DAY)
    in_window = _weekly(range(7), daily_range(*window))
    clear = _weekly(range(7), complement(union(*(daily_range(a, b) for a, b in avoid))))
    own_zone = tuple(intersect(intersect(chosen_days[d], in_window[d]), clear[d]) for d in range(7))
    if hours.zone == zone:
        rules = weekly_set(zone, tuple(intersect(own_zone[d], wh[d]) for d in range(7)), lo, hi)
    else:
        rules = weekly_set(zone, own_zone, lo, hi).intersection(weekly_set(hours.zone, wh, lo, hi))
    layers = {
        Constraint.DAYS: weekly_set(zone, chosen_days, lo, hi),
        Constraint.WORKING_HOURS: weekly_set(hours.zone, wh, lo, hi),
        Constraint.WINDOW: weekly_set(zone, in_window, lo, hi),
        Constraint.AVOID: weekly_set(zone, clear, lo, hi),
    }
    return rules, layers


def person_view(
    person: Person, policy: SlotPolicy, committed: Iterable[Interval], lo: int, hi: int
) -> PersonView:
    rules, layers = rule_sets(person.zone, person.hours, policy.days, policy.window, policy.avoid, lo, hi)
    own = [(to_seconds(i.start), to_seconds_ceil(i.end)) for i in committed]
    return PersonView(person, rules, layers, own)


def busy_seconds(busy: Sequence[Busy]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(other blocking, out-of-office) busy time as UTC seconds."""
    others: list[tuple[int, int]] = []
    oof: list[tuple[int, int]] = []
    read_busy(busy, others, oof, before=_NEVER)
    return others, oof


_NEVER = 2**63  # later than any instant


def read_busy(
    busy: Sequence[Busy],
    others: list[tuple[int, int]],
    oof: list[tuple[int, int]],
    *,
    before: int,
    lead: int = 0,
    trail: int = 0,
) -> None:
    """Append each blocking event as (start_s - lead, end_s + trail) UTC seconds to
    ``others`` (every blocking status but out-of-office) or ``oof``, skipping events that start at
    or after ``before``.

    The one pass over every event of the run (about 900,000 for 2,000 pairs). ``Busy`` already holds
    the rounded seconds (the gateway computes them once, from Graph's text), so this reads two slots
    and adds: no ``timestamp()`` calls, which were most of this loop's CPU when busy items held
    datetimes. A plain loop (measured faster than chains of ``map``), statuses compared by identity
    because hashing an enum member runs Python code, and an event's end only read when it counts.
    """
    busy_, tentative, unknown = BusyStatus.BUSY, BusyStatus.TENTATIVE, BusyStatus.UNKNOWN
    away = BusyStatus.OOF
    for b in busy:
        status = b.status
        if status is busy_ or status is tentative or status is unknown:
            start = b.start_s
            if start < before:
                others.append((start - lead, b.end_s + trail))
        elif status is away:
            start = b.start_s
            if start < before:
                oof.append((start - lead, b.end_s + trail))


# read_busy spells out the blocking statuses: keep it in step with BusyStatus.blocks
_BLOCKING = {BusyStatus.BUSY, BusyStatus.TENTATIVE, BusyStatus.UNKNOWN, BusyStatus.OOF}
if {s for s in BusyStatus if s.blocks} != _BLOCKING:  # pragma: no cover - a guard for future edits
    raise RuntimeError("BusyStatus.blocks changed: update read_busy")


class Board:
    """Everything needed to judge one session of one pair, in integer UTC seconds."""

    def __init__(
        self,
        *,
        mentor: Person,
        mentee: Person,
        policy: SlotPolicy,
        committed: Mapping[str, tuple[Interval, ...]],
        horizon_end: int,
        span: tuple[int, int],
        series_zone: tzinfo | None = None,
    ) -> None:
        lo, hi = rounded_span(*span)
        self.policy = policy
        self.people = tuple(
            person_view(p, policy, committed.get(p.address, ()), lo, hi) for p in (mentor, mentee)
        )
        self.series = clock_for(series_zone or mentee.zone)
        self.duration = int(policy.duration.total_seconds())
        self.buffer = int(policy.buffer.total_seconds())
        self.horizon_end = horizon_end
        self.programme, self.open_days = programme_sets(
            policy.program_zone, policy.program_start, policy.program_end, tuple(policy.blackouts), lo, hi
        )
        self._rules = tuple(p.rules for p in self.people)
        # the programme's dates are one run of time: a session is inside iff its start is in here
        runs = list(self.programme)
        self.first_start = runs[0][0] if runs else 0
        self.last_start = runs[-1][1] - self.duration + 1 if runs else 0
        self._layers = tuple(
            (c, tuple(p.layers[c] for p in self.people))
            for c in (Constraint.DAYS, Constraint.WORKING_HOURS, Constraint.WINDOW, Constraint.AVOID)
        )
        # Every start instant where a session is clean: one bisect answers the common case.
        self.allowed = allowed_starts(self.open_days, *self._rules, self.duration)
        self._blocking: tuple[list[tuple[int, int]], list[tuple[int, int]]] | None = None
        self._hits: tuple[IntervalSet, IntervalSet] | None = None
        self._forbidden: tuple[IntervalSet, IntervalSet] | None = None
        if self.allowed:
            # kept apart per kind, so the slow path of ``outcome`` can reuse them
            after = IntervalSet([(horizon_end, horizon_end + 10**12)])
            others, oof = (IntervalSet(kind).difference(after) for kind in self._blocked_starts())
            self._forbidden = others, oof
            self.starts = self.allowed.difference(others).difference(oof)
        else:  # no rule leaves any room (e.g. working hours that never overlap): busy time is moot
            self.starts = self.allowed

    def _blocked_starts(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Per kind (out-of-office or not), the start instants each busy stretch (or committed
        session) forbids: [start - duration - buffer + 1, end + buffer), for stretches that start
        before ``horizon_end + duration + buffer - 1`` (no session judged on busy time reaches them).
        Read straight from the events, so each event is converted and shifted in one step."""
        if self._blocking is None:
            lead, trail = self.duration + self.buffer - 1, self.buffer
            last = self.horizon_end + lead
            others: list[tuple[int, int]] = []
            oof: list[tuple[int, int]] = []
            for view in self.people:
                read_busy(view.person.busy, others, oof, before=last, lead=lead, trail=trail)
                others += [(start - lead, end + trail) for start, end in view.committed if start < last]
            self._blocking = others, oof
        return self._blocking

    def _busy_hits(self) -> tuple[IntervalSet, IntervalSet]:
        """The start instants (before ``horizon_end``) whose session plus buffer overlaps someone's
        non-empty busy time (or committed session), and those whose overlaps an out-of-office."""
        if self._hits is None:
            width = self.duration + 2 * self.buffer - 1  # a shifted empty stretch is this long
            others, oof = self._blocked_starts()
            stretches = others + oof
            lengths = map(sub, map(itemgetter(1), stretches), map(itemgetter(0), stretches))  # C loops
            if self._forbidden is not None and min(lengths, default=width + 1) > width:
                self._hits = self._forbidden  # nothing empty to leave out (the usual case)
            else:
                self._hits = (
                    IntervalSet(s for s in others if s[1] - s[0] > width),
                    IntervalSet(s for s in oof if s[1] - s[0] > width),
                )
        return self._hits

    def in_programme(self, start: int) -> bool:
        return self.first_start <= start < self.last_start

    def outcome(self, start: int) -> Outcome:
        """Judge a session starting at ``start`` (inside the programme) at its regular place.

        A blackout disrupts it whatever else holds. An out-of-office disrupts it only when nothing
        else would reject it: adding busy time (of any status) must never turn a rejected
        candidate into a feasible one.
        """
        if self.starts.has(start):
            return Outcome.OK
        end = start + self.duration
        if not self.open_days.contains(start, end):
            return Outcome.DISRUPTED
        for rules in self._rules:
            if not rules.contains(start, end):
                return Outcome.FAILED
        if start < self.horizon_end:
            others, oof = self._busy_hits()
            if others.has(start):
                return Outcome.FAILED
            if oof.has(start):
                return Outcome.DISRUPTED
        return Outcome.OK

    def clean(self, start: int) -> bool:
        """Whether a session may be placed exactly here (a move or a re-slot must be clean)."""
        return self.starts.has(start)

    def explain(self, start: int) -> Constraint | None:
        """The first constraint a session starting at ``start`` breaks, in ``Constraint`` order."""
        if self.allowed.has(start):  # every rule holds: only busy time can be in the way
            return None if self.starts.has(start) else Constraint.BUSY
        end = start + self.duration
        if not self.programme.contains(start, end):
            return Constraint.PROGRAMME_DATES
        if not all(rules.contains(start, end) for rules in self._rules):
            for constraint, sets in self._layers:
                for layer in sets:
                    if not layer.contains(start, end):
                        return constraint
        if not self.open_days.contains(start, end):
            return Constraint.BLACKOUT
        if start < self.horizon_end:
            lo, hi = start - self.buffer, end + self.buffer
            if any(v.others.overlaps(lo, hi) or v.oof.overlaps(lo, hi) for v in self.people):
                return Constraint.BUSY
        return None

    def explain_many(self, starts: Iterable[int]) -> Counter[Constraint]:
        """``explain`` for many sessions at once, as the NoSlot tally needs it for every rejected
        candidate: each stage splits the sorted starts along one sorted set of allowed starts."""
        counts: Counter[Constraint] = Counter()
        # sessions every rule allows were rejected by busy time (the start set is the rest)
        ruled_in, pending = _split(sorted(starts), self.allowed, 1)
        busy = len(ruled_in) - len(_split(ruled_in, self.starts, 1)[0])
        if busy:
            counts[Constraint.BUSY] = busy
        stages: list[tuple[Constraint, IntervalSet]] = [(Constraint.PROGRAMME_DATES, self.programme)]
        stages += [(c, layer) for c, sets in self._layers for layer in sets]
        stages.append((Constraint.BLACKOUT, self.open_days))
        for constraint, layer in stages:
            pending, failed = _split(pending, layer, self.duration)
            if failed:
                counts[constraint] += len(failed)
        return counts


def _split(starts: list[int], runs: IntervalSet, duration: int) -> tuple[list[int], list[int]]:
    """The sorted ``starts`` whose session lies inside ``runs``, and those whose session does not,
    both sorted (with ``duration`` 1 it splits on the start alone).

    A session fits run [a, b) iff its start is in [a, b - duration + 1): per run that holds any
    start, three bisects and two slices (C code) rather than a step per start; runs between the
    starts are jumped over.
    """
    run_starts, run_ends = runs._starts, runs._ends  # a friend of IntervalSet, for the walk
    inside: list[int] = []
    outside: list[int] = []
    count, n = len(starts), len(run_starts)
    cursor = 0  # starts before it are placed
    i = bisect_right(run_ends, starts[0]) if starts else n  # the first run that can hold a start
    while cursor < count and i < n:
        lo = bisect_left(starts, run_starts[i], cursor)
        hi = bisect_left(starts, run_ends[i] - duration + 1, lo)  # == lo if the run is too short
        outside += starts[cursor:lo]
        inside += starts[lo:hi]
        cursor = hi
        if cursor < count:
            i = bisect_right(run_ends, starts[cursor], i + 1)
    outside += starts[cursor:]
    return inside, outside


def complement_dates(blocked: IntervalSet, lo: int, hi: int) -> list[tuple[int, int]]:
    """[lo, hi) minus ``blocked``."""
    out, cursor = [], lo
    for start, end in blocked:
        if start > cursor:
            out.append((cursor, min(start, hi)))
        cursor = max(cursor, end)
    if cursor < hi:
        out.append((cursor, hi))
    return out
