"""Propose pairs from a pool: read the directory and calendars, judge candidates, assign, explain.

Where it sits: ``crossgen match`` loads the programme and the pool (bad input: exit 2, nothing read),
then calls ``propose``. Nothing is written to Microsoft 365: the reads are the ones a run makes
(``getSchedule`` for 20 people a call over the run's free/busy horizon, manager chains in bulk, with
the directory's display name, department, job title and office selected in the same requests), through
the same gateway, so under the same pacing.

A candidate pair (mentor with room left, mentee not yet paired) must pass, cheapest first:
1. the pool's rules: not in one reporting line (any depth), not in one department (if asked), not in
   the lead's ``never`` list; both people readable;
2. a working-hours check per pair of rules: some day of the first session's search window on which the
   two people's working hours and the policy's hours overlap for a whole session (necessary for step 3,
   so it never drops a pair the engine would book);
3. the planner's own booking decision (``worker.core.plan.Planner``, which asks the slot engine's
   ``find_series``): the pair gets a series of at least ``min_sessions`` sessions.
Step 3 is run only on the pairs an assignment wants (``assign_lazily``): with 500 x 500 volunteers,
the engine runs on hundreds of pairs, not 250,000.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from worker.core.actions import Book
from worker.core.desired import Desired, Observed
from worker.core.matching import (
    Edge,
    Profile,
    Weights,
    assign_lazily,
    cross_location,
    same_department,
    same_reporting_line,
    score,
    shared_topics,
)
from worker.core.plan import PairState, Planner
from worker.core.types import CadenceKind, Interval, Schedule, Session, WorkingHours
from worker.graph.errors import GraphError
from worker.graph.ops import MAX_SCHEDULES, split_window
from worker.matching.pool import Pool
from worker.policies.programme import Pair, Programme, pair_id
from worker.reconcile.desired import desired_from, display_name
from worker.reconcile.observe import DEFAULT_HORIZON

if TYPE_CHECKING:
    from worker.graph.gateway import Gateway


@dataclass(frozen=True, slots=True)
class Proposed:
    mentor: Profile
    mentee: Profile
    policy: str
    topics: tuple[str, ...]
    kept: bool = False
    sessions: tuple[Session, ...] = ()
    zone_name: str | None = None
    start: date | None = None  # a kept pair's own start
    zones: tuple[str, str] = ("", "")
    warning: str = ""  # a kept pair the next run could not book


@dataclass(frozen=True, slots=True)
class Unmatched:
    person: Profile
    role: str  # "mentor" | "mentee"
    why: str


@dataclass
class Proposal:
    pairs: list[Proposed]
    unmatched: list[Unmatched]
    dropped: list[tuple[Pair, str]]  # pairs of pairs.yaml not kept, and why
    default_policy: str
    figures: dict[str, int] = field(default_factory=dict)


async def read_people(
    gateway: Gateway, people: list[str], *, now: datetime, organizers: Iterable[str]
) -> tuple[dict[str, Profile], dict[str, Schedule], dict[str, str]]:
    """Profiles (with chains) and free/busy of ``people``, and who could not be read (and why)."""
    raw: dict[str, dict[str, object]] = {}
    failed: dict[str, GraphError] = {}
    window = Interval(now, now + DEFAULT_HORIZON)
    chains, schedules = await asyncio.gather(
        gateway.manager_chains(people, errors=failed, profiles=raw),
        gateway.free_busy(people, window, fallback=organizers),
    )
    problems = {a: f"the directory could not be read: {e}" for a, e in failed.items()}
    profiles = {}
    for address in people:
        user = raw.get(address, {})

        def text(key: str, user: dict[str, object] = user) -> str | None:
            value = user.get(key)
            return value.strip() or None if isinstance(value, str) else None

        profiles[address] = Profile(
            address=address,
            name=text("displayName") or display_name(address),
            department=text("department"),
            job_title=text("jobTitle"),
            office=text("officeLocation"),
            chain=tuple(chains.get(address, ())),
        )
        schedule = schedules.get(address)
        if schedule is None or schedule.error:
            problems.setdefault(address, f"no free/busy: {schedule.error if schedule else 'not returned'}")
    return profiles, schedules, problems


def schedule_calls(people: int, now: datetime) -> int:
    """getSchedule requests for ``people`` over the horizon: 20 people a call, each window < 42 days."""
    return math.ceil(people / MAX_SCHEDULES) * len(split_window(Interval(now, now + DEFAULT_HORIZON)))


async def propose(programme: Programme, pool: Pool, *, gateway: Gateway, now: datetime) -> Proposal:
    kept_pairs = list(programme.pairs) if pool.keep_existing else []
    # A programme that starts after the free/busy horizon is judged as of the day before it starts, when
    # its first run would book it (a run books nothing it cannot yet see).
    info = programme.program
    eve = datetime.combine(info.start, time(0), tzinfo=info.zone).astimezone(UTC) - timedelta(days=1)
    at = eve if eve > now + DEFAULT_HORIZON / 2 else now
    people = list(dict.fromkeys([*pool.people(), *(a for p in kept_pairs for a in (p.mentor, p.mentee))]))
    profiles, schedules, problems = await read_people(gateway, people, now=at, organizers=info.organizers)
    matcher = _Matcher(programme, pool, profiles, schedules, problems, now=at)
    proposal = matcher.run(kept_pairs)
    proposal.figures.update(people=len(people), getschedule_calls=schedule_calls(len(people), at))
    return proposal


class _Matcher:
    def __init__(
        self,
        programme: Programme,
        pool: Pool,
        profiles: dict[str, Profile],
        schedules: dict[str, Schedule],
        problems: dict[str, str],
        *,
        now: datetime,
    ) -> None:
        self.programme, self.pool, self.profiles = programme, pool, profiles
        self.schedules, self.problems, self.now = schedules, problems, now
        self.observed = Observed(
            horizon=Interval(now, now + DEFAULT_HORIZON),
            schedules=schedules,
            chains={a: p.chain for a, p in profiles.items() if a not in problems},
        )
        self.names = {a: p.name for a, p in profiles.items()}
        self.reasons: dict[Edge, str] = {}  # why a candidate pair was not possible
        self.results: dict[Edge, tuple[Session, ...]] = {}
        self.zones: dict[Edge, str] = {}
        self._overlap: dict[tuple[object, ...], bool] = {}
        self._most: dict[tuple[str, tzinfo], int] = {}
        self.offers = {m.address: m.offers for m in pool.mentors}
        self.wants = {m.address: m.wants for m in pool.mentees}
        most = max((programme.policies[m.policy].sessions for m in pool.mentees), default=1)
        self.weights = Weights(max_sessions=most)

    # --- rules ------------------------------------------------------------------------------------

    def rule_breach(self, mentor: str, mentee: str) -> str | None:
        """Why the pool's rules forbid this pair, or None."""
        a, b = self.profiles[mentor], self.profiles[mentee]
        why = []
        for who in (mentor, mentee):
            if who in self.problems:
                return f"{who}: {self.problems[who]}"
        if self.pool.not_in_reporting_line and same_reporting_line(a, b):
            why.append("one reporting line")
        if self.pool.not_same_department and same_department(a, b):
            why.append(f"both in {a.department}")
        if frozenset((mentor, mentee)) in self.pool.never:
            why.append("on the lead's never list")
        return ", ".join(why) or None

    def hours(self, address: str) -> WorkingHours:
        schedule = self.schedules[address]
        zone = self.programme.program.zone
        return schedule.working_hours or WorkingHours.default(zone, self.programme.program.zone_name)

    def hours_meet(self, mentor: str, mentee: str, policy: str) -> bool:
        """Some day of the first session's search window where both people's working hours and the
        policy's hours overlap for a whole session (a necessary condition of a booking)."""
        key = (self.hours(mentor), self.hours(mentee), policy)
        if key not in self._overlap:
            self._overlap[key] = self._hours_meet(self.hours(mentor), self.hours(mentee), policy)
        return self._overlap[key]

    def _hours_meet(self, one: WorkingHours, other: WorkingHours, name: str) -> bool:
        rules = self.programme.policies[name]
        window = (rules.hours.start, rules.hours.end)
        if window[1] <= window[0] or one.end <= one.start or other.end <= other.start:
            return True  # a window past midnight: leave it to the engine
        first = max(self.now.date(), self.programme.program.start) - timedelta(days=2)
        last = first + rules.lookahead + timedelta(days=4)
        spans = [_spans(h, rules.days, window, first, last) for h in (one, other)]
        need = rules.duration
        i = j = 0
        a, b = spans
        while i < len(a) and j < len(b):
            if min(a[i][1], b[j][1]) - max(a[i][0], b[j][0]) >= need:
                return True
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return False

    # --- the planner's verdict ----------------------------------------------------------------------

    def book(self, pairs: list[Pair]) -> list[tuple[Book | None, str]]:
        """The planner's decision for each pair alone, as a run would book it first: its ``Book``, or
        None and why."""
        desired = desired_from(dataclasses.replace(self.programme, pairs=tuple(pairs)), names=self.names)
        by_id = {p.id: p for p in desired.pairs}
        out: list[tuple[Book | None, str]] = []
        for pair in pairs:
            wanted = by_id[pair.id]
            alone: Desired = dataclasses.replace(desired, pairs=(wanted,))
            status, actions = Planner(alone, self.observed, self.now).pair(wanted)
            book = next((a for a in actions if isinstance(a, Book)), None)
            # A pair that starts past the free/busy horizon is booked by a later run: no verdict yet.
            waiting = status.state == PairState.PENDING
            out.append((book, "" if waiting else status.detail or status.state))
        return out

    def evaluate(self, edges: list[Edge], mentors: list[str], mentees: list[str]) -> dict[Edge, int | None]:
        """Ask the planner to book each pair alone; its weight, or None (and the reason noted)."""
        pool_mentees = {m.address: m for m in self.pool.mentees}
        pairs = [
            Pair(pair_id(mentors[i], mentees[j]), mentors[i], mentees[j], pool_mentees[mentees[j]].policy)
            for i, j in edges
        ]
        out: dict[Edge, int | None] = {}
        for (i, j), pair, (book, detail) in zip(edges, pairs, self.book(pairs), strict=True):
            minimum = self.min_sessions(pair.policy)
            if book is None:
                self.reasons[(i, j)] = f"no time to meet: {detail or 'starts after the free/busy horizon'}"
                out[(i, j)] = None
            elif len(book.sessions) < minimum:
                self.reasons[(i, j)] = f"only {len(book.sessions)} sessions bookable (at least {minimum})"
                out[(i, j)] = None
            else:
                self.results[(i, j)] = book.sessions
                self.zones[(i, j)] = book.spec.zone_name
                out[(i, j)] = self.weight(mentors[i], mentees[j], len(book.sessions))
        return out

    def most_sessions(self, policy: str, zone: tzinfo) -> int:
        """At most how many sessions a pair under ``policy`` whose mentee (the series' zone) is in ``zone``
        can hold before the programme ends: the lazy assignment's bound; the tighter, the fewer pairs the
        planner is asked about.

        Over every possible first date of the search window (a clean day), the pattern's occurrences up
        to ``end`` whose week (Monday to Sunday, series zone) keeps some policy day whose window is not
        entirely inside a blackout: a session in a blacked-out week can be neither held nor moved, and a
        skip only extends the series. Everything else a pair meets (busy time, the other person's hours
        and days) can only lower that count."""
        key = (policy, zone)
        if key not in self._most:
            self._most[key] = self._most_sessions(self.programme.policies[policy], zone)
        return self._most[key]

    def _most_sessions(self, rules: Any, zone: tzinfo) -> int:
        info = self.programme.program
        first = max(self.now.astimezone(zone).date(), info.start) - timedelta(days=1)
        interval = max(1, rules.cadence.interval)
        if rules.cadence.kind is not CadenceKind.WEEKLY or rules.hours.end <= rules.hours.start:
            if rules.cadence.kind is CadenceKind.WEEKLY:
                fit = (info.end - first).days // (7 * interval) + 1
            else:
                fit = ((info.end.year - first.year) * 12 + info.end.month - first.month) // interval + 1
            return max(0, min(rules.sessions, fit))
        blackouts = [(b.start, b.end) for b in self.programme.blackouts]

        def blacked(day: date) -> bool:
            return any(a <= day <= b for a, b in blackouts)

        def open_day(day: date) -> bool:  # some of the window falls on a programme day without a blackout
            ends = (rules.hours.start, rules.hours.end)
            days = {datetime.combine(day, t, tzinfo=zone).astimezone(info.zone).date() for t in ends}
            return day.weekday() in rules.days and not all(blacked(d) for d in days)

        def open_week(day: date) -> bool:
            monday = day - timedelta(days=day.weekday())
            return any(open_day(monday + timedelta(days=i)) for i in range(7))

        best = 0
        day = first
        while day <= first + rules.lookahead + timedelta(days=2):
            if open_day(day):
                held, occurrence = 0, day
                while occurrence <= info.end + timedelta(days=1) and held < rules.sessions:
                    held += open_week(occurrence)
                    occurrence += timedelta(weeks=interval)
                best = max(best, held)
            day += timedelta(days=1)
        return best

    def min_sessions(self, policy: str) -> int:
        if self.pool.min_sessions is not None:
            return self.pool.min_sessions
        return max(1, math.ceil(self.programme.policies[policy].sessions / 2))

    def weight(self, mentor: str, mentee: str, sessions: int) -> int:
        a, b = self.profiles[mentor], self.profiles[mentee]
        topics = len(shared_topics(self.offers[mentor], self.wants[mentee]))
        return score(self.weights, topics=topics, sessions=sessions, cross=cross_location(a, b))

    # --- the whole pool -------------------------------------------------------------------------------

    def run(self, existing: list[Pair]) -> Proposal:
        pool = self.pool
        capacity = {m.address: m.capacity for m in pool.mentors}
        taken: set[str] = set()
        result: list[Proposed] = []
        dropped: list[tuple[Pair, str]] = []
        kept: list[Pair] = []
        for pair in existing:
            breach = self.rule_breach(pair.mentor, pair.mentee)
            if breach and not breach.startswith(pair.mentor) and not breach.startswith(pair.mentee):
                dropped.append((pair, breach))
            else:
                kept.append(pair)
        readable = [p for p in kept if p.mentor not in self.problems and p.mentee not in self.problems]
        verdicts = dict(zip([p.id for p in readable], self.book(readable), strict=True))
        for pair in kept:
            book, detail = verdicts.get(pair.id, (None, "not readable"))
            warning = f"the next run finds no time for them: {detail}" if book is None and detail else ""
            result.append(
                dataclasses.replace(
                    self._proposed(pair.mentor, pair.mentee, pair.policy, pair.topics, kept=True),
                    start=pair.start,
                    warning=warning,
                )
            )
            if pair.mentor in capacity:
                capacity[pair.mentor] -= 1
            taken.add(pair.mentee)
        mentors = [m.address for m in pool.mentors if capacity[m.address] > 0]
        mentees = [m.address for m in pool.mentees if m.address not in taken]
        policy_of = {m.address: m.policy for m in pool.mentees}
        optimistic: dict[Edge, int] = {}
        for i, mentor in enumerate(mentors):
            for j, mentee in enumerate(mentees):
                if mentor == mentee:
                    continue
                breach = self.rule_breach(mentor, mentee)
                if breach:
                    self.reasons[(i, j)] = breach
                elif not self.hours_meet(mentor, mentee, policy_of[mentee]):
                    self.reasons[(i, j)] = "working hours never meet for a whole session"
                else:
                    most = self.most_sessions(policy_of[mentee], self.hours(mentee).zone)
                    optimistic[(i, j)] = self.weight(mentor, mentee, most)
        chosen, known = assign_lazily(
            [capacity[m] for m in mentors],
            len(mentees),
            optimistic,
            lambda edges: self.evaluate(edges, mentors, mentees),
        )
        for i, j in chosen:
            topics = shared_topics(self.offers[mentors[i]], self.wants[mentees[j]])
            result.append(
                dataclasses.replace(
                    self._proposed(mentors[i], mentees[j], policy_of[mentees[j]], topics),
                    sessions=self.results[(i, j)],
                    zone_name=self.zones[(i, j)],
                )
            )
        unmatched = self._unmatched(mentors, mentees, chosen, capacity)
        figures = {
            "candidates": len(mentors) * len(mentees),
            "after_rules": len(optimistic),
            "evaluated": len(known),
            "proposed": len(chosen),
            "kept": len(existing) - len(dropped),
        }
        return Proposal(result, unmatched, dropped, self.programme.program.default_policy, figures)

    def _proposed(
        self, mentor: str, mentee: str, policy: str, topics: tuple[str, ...], *, kept: bool = False
    ) -> Proposed:
        zones = tuple(self.hours(a).zone_name if a in self.schedules else "" for a in (mentor, mentee))
        a, b = self.profiles[mentor], self.profiles[mentee]
        return Proposed(a, b, policy, topics, kept=kept, zones=(zones[0], zones[1]))

    def _unmatched(
        self, mentors: list[str], mentees: list[str], chosen: list[Edge], capacity: dict[str, int]
    ) -> list[Unmatched]:
        partner = {j: i for i, j in chosen}
        used = defaultdict(int)
        for i, _ in chosen:
            used[i] += 1
        out = []
        full_capacity = {m.address: m.capacity for m in self.pool.mentors}
        for i, mentor in enumerate(mentors):
            if used[i] == 0 and capacity[mentor] == full_capacity[mentor]:
                why = self._why(((i, j), mentees[j], partner.get(j), mentors) for j in range(len(mentees)))
                out.append(Unmatched(self.profiles[mentor], "mentor", why or "no mentee left in the pool"))
        for j, mentee in enumerate(mentees):
            if j not in partner:
                why = self._why(((i, j), mentors[i], None, mentors) for i in range(len(mentors)))
                out.append(Unmatched(self.profiles[mentee], "mentee", why or "no mentor with room left"))
        return out

    def _why(self, options: Iterable[tuple[Edge, str, int | None, list[str]]]) -> str:
        parts = []
        for edge, other, taken_by, mentors in options:
            name = self.profiles[other].name
            if edge in self.reasons:
                parts.append(f"{name}: {self.reasons[edge]}")
            elif taken_by is not None:
                parts.append(f"{name}: paired with {self.profiles[mentors[taken_by]].name}")
            else:
                parts.append(f"{name}: possible, but a larger or better matching left them out")
        return "; ".join(parts)


def _spans(
    hours: WorkingHours, days: frozenset[int], window: tuple[time, time], first: date, last: date
) -> list[tuple[datetime, datetime]]:
    """UTC intervals, in order, where a person's working hours and the policy's window meet on a
    policy day, in that person's own zone."""
    zone: tzinfo = hours.zone
    start, end = max(hours.start, window[0]), min(hours.end, window[1])
    out = []
    day = first
    while day <= last:
        if day.weekday() in hours.days and day.weekday() in days and end > start:
            out.append(
                (
                    datetime.combine(day, start, tzinfo=zone).astimezone(UTC),
                    datetime.combine(day, end, tzinfo=zone).astimezone(UTC),
                )
            )
        day += timedelta(days=1)
    return out
