"""A brute-force model of the slot engine's rules, minute by minute, with plain datetimes.

It shares no code with ``worker.core`` beyond the input/output types: every minute of every
session is converted with ``astimezone`` into each person's zone and checked against their working
hours, the policy days/window/avoid windows, the programme dates and blackouts, and every minute of
the buffered session against the raw busy list. Local start times are made with ``fold=0``/``fold=1``
to spot gaps and folds. Candidates are enumerated exhaustively and ranked by the documented key.
Slow on purpose; the tests keep the inputs small.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from worker.core.slots import Person, SlotPolicy
from worker.core.types import BusyStatus, CadenceKind, Interval, WorkingHours

MINUTE = timedelta(minutes=1)


def in_daily(moment: time, start: time, end: time) -> bool:
    """[start, end) in the day; an end at or before the start wraps (equal ends: the whole day)."""
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


def preference(weekday: int, start: time) -> int:
    if time(9, 30) <= start < time(11, 30):
        band = 0
    elif time(11, 30) <= start < time(14):
        band = 1
    elif time(14) <= start < time(16):
        band = 2
    elif time(8) <= start < time(9, 30):
        band = 3
    elif time(16) <= start < time(18):
        band = 4
    else:
        band = 5
    if (weekday == 0 and start < time(12)) or (weekday == 4 and start >= time(12)):
        band += 6
    return band


def local_start(zone: tzinfo, day: date, moment: time) -> datetime | None:
    """The UTC start of a local wall time, None if it falls in a gap or a fold."""
    naive = datetime.combine(day, moment)
    first, second = naive.replace(tzinfo=zone, fold=0), naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        return None
    return first.astimezone(UTC)


@dataclass(frozen=True)
class OracleSeries:
    first: date
    start: time
    held: tuple[tuple[datetime, bool], ...]
    skipped: tuple[date, ...]
    occurrences: int
    zone_name: str = ""


class Oracle:
    def __init__(
        self,
        *,
        mentor: Person,
        mentee: Person,
        policy: SlotPolicy,
        horizon: Interval,
        committed: Mapping[str, tuple[Interval, ...]] = {},
        series_zone: tzinfo | None = None,
    ) -> None:
        self.people = (mentor, mentee)
        self.policy = policy
        self.horizon = horizon
        self.zone = series_zone or mentee.zone
        self.duration = policy.duration
        self.others = {
            p.address: [
                (b.start, b.end) for b in p.busy if b.status.blocks and b.status is not BusyStatus.OOF
            ]
            + [(i.start, i.end) for i in committed.get(p.address, ())]
            for p in self.people
        }
        self._judged: dict[datetime, str] = {}
        self._times: list[time] | None = None
        self.away = {
            p.address: [(b.start, b.end) for b in p.busy if b.status is BusyStatus.OOF] for p in self.people
        }

    # --- one minute ------------------------------------------------------------------------

    def person_minute(self, person: Person, minute: datetime) -> bool:
        policy = self.policy
        local = minute.astimezone(person.zone)
        if local.weekday() not in policy.days or not in_daily(local.time(), *policy.window):
            return False
        if any(in_daily(local.time(), a, b) for a, b in policy.avoid):
            return False
        hours = person.working_hours or WorkingHours.default(person.zone, person.zone_name)
        there = minute.astimezone(hours.zone)
        return there.weekday() in hours.days and in_daily(there.time(), hours.start, hours.end)

    def programme_minute(self, minute: datetime) -> bool:
        day = minute.astimezone(self.policy.program_zone).date()
        return self.policy.program_start <= day <= self.policy.program_end

    def blackout_minute(self, minute: datetime) -> bool:
        day = minute.astimezone(self.policy.program_zone).date()
        return any(a <= day <= b for a, b in self.policy.blackouts)

    @staticmethod
    def hit(intervals: list[tuple[datetime, datetime]], minute: datetime) -> bool:
        return any(start < minute + MINUTE and minute < end for start, end in intervals)

    # --- one session -------------------------------------------------------------------------

    def minutes(self, start: datetime, extra: timedelta = timedelta(0)) -> list[datetime]:
        count = int((self.duration + 2 * extra) / MINUTE)
        return [start - extra + i * MINUTE for i in range(count)]

    def in_programme(self, start: datetime) -> bool:
        return all(self.programme_minute(m) for m in self.minutes(start))

    def judge(self, start: datetime) -> str:
        """'ok', 'disrupted' (blackout or out-of-office hit) or 'failed', at the regular place."""
        if start not in self._judged:
            self._judged[start] = self._judge(start)
        return self._judged[start]

    def _judge(self, start: datetime) -> str:
        minutes = self.minutes(start)
        if any(self.blackout_minute(m) for m in minutes):
            return "disrupted"
        if not all(self.person_minute(p, m) for p in self.people for m in minutes):
            return "failed"
        if start < self.horizon.end:
            buffered = self.minutes(start, self.policy.buffer)
            if any(self.hit(self.others[p.address], m) for p in self.people for m in buffered):
                return "failed"
            if any(self.hit(self.away[p.address], m) for p in self.people for m in buffered):
                return "disrupted"
        return "ok"

    def clean(self, start: datetime) -> bool:
        return self.in_programme(start) and self.judge(start) == "ok"

    # --- candidates ----------------------------------------------------------------------------

    def times(self) -> list[time]:
        if self._times is None:
            self._times = self._grid()
        return self._times

    def _grid(self) -> list[time]:
        policy = self.policy
        step = max(policy.step, MINUTE)
        out = []
        t = timedelta(0)
        while t < timedelta(days=1):
            fits = t + policy.duration <= timedelta(days=1) and all(
                in_daily(_clock(t + i * MINUTE), *policy.window)
                for i in range(int(policy.duration / MINUTE))
            )
            if fits:
                out.append(_clock(t))
            t += step
        return out

    def local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def occurrence(self, first: date, k: int) -> date:
        cadence = self.policy.cadence
        if cadence.kind is CadenceKind.WEEKLY:
            return first + timedelta(days=7 * cadence.interval * k)
        last_week = first.day + 7 > calendar.monthrange(first.year, first.month)[1]
        ordinal = (first.day - 1) // 7
        months = first.year * 12 + first.month - 1 + cadence.interval * k
        year, month = months // 12, months % 12 + 1
        same = [
            date(year, month, d)
            for d in range(1, calendar.monthrange(year, month)[1] + 1)
            if date(year, month, d).weekday() == first.weekday()
        ]
        return same[-1] if last_week else same[ordinal]

    def week_options(
        self, regular: date, start: time, neighbours: list[date]
    ) -> list[tuple[bool, int, int, date, time]]:
        monday = regular - timedelta(days=regular.weekday())
        out = []
        for day in (monday + timedelta(days=i) for i in range(7)):
            if day.weekday() not in self.policy.days:
                continue
            if any(abs((day - n).days) < 2 for n in neighbours):
                continue
            for t in self.times():
                if (day, t) != (regular, start):
                    out.append((t != start, preference(day.weekday(), t), abs((day - regular).days), day, t))
        return sorted(out)

    def expand(self, first: date, start: time) -> OracleSeries | None:
        """The series at (first, start) in ``self.zone``: the first session must be clean; any later
        one that is not is moved within its week or cancelled, up to the policy's cap on exceptions;
        cancelled weeks after the last held session are dropped."""
        cap = self.policy.sessions // 2 if self.policy.max_exceptions is None else self.policy.max_exceptions
        held: list[tuple[datetime, bool]] = []
        held_k: list[int] = []
        skipped: list[tuple[int, date]] = []
        k = 0
        while len(held) < self.policy.sessions:
            day = self.occurrence(first, k)
            instant = local_start(self.zone, day, start)
            if k == 0 and (instant is None or not self.clean(instant)):
                return None
            regular = instant or datetime.combine(day, time(12), tzinfo=self.zone).astimezone(UTC)
            if not self.in_programme(regular):
                break
            if instant is not None and self.judge(instant) == "ok":
                held.append((instant, False))
                held_k.append(k)
            elif sum(m for _, m in held) + len(skipped) >= cap:
                break
            else:
                neighbours = [self.local_day(held[-1][0]), self.occurrence(first, k + 1)]
                moved = None
                for *_, other_day, other_time in self.week_options(day, start, neighbours):
                    other = local_start(self.zone, other_day, other_time)
                    if other is not None and self.clean(other):
                        moved = other
                        break
                if moved is None:
                    skipped.append((k, day))
                else:
                    held.append((moved, True))
                    held_k.append(k)
            k += 1
        last = held_k[-1]
        return OracleSeries(first, start, tuple(held), tuple(d for i, d in skipped if i < last), last + 1)

    def anchors(self, earliest: datetime) -> list[tuple[str, tzinfo]]:
        """Each person's zone (names sorted), then UTC if both people's zones change clocks at different
        hours over the search's span; less those that are an earlier one shifted by a constant on the
        step grid (offsets sampled every hour)."""
        named = {p.zone_name: p.zone for p in self.people}
        end = datetime.combine(self.policy.program_end, time(0), tzinfo=UTC)
        lo = earliest - timedelta(days=8)
        hi = max(end, earliest + self.policy.lookahead) + timedelta(days=9)
        hours = int((hi - lo) / timedelta(hours=1))
        step = int(max(self.policy.step, MINUTE).total_seconds())

        def offsets(zone: tzinfo) -> list[int]:
            return [
                int((lo + timedelta(hours=h)).astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]
                for h in range(hours + 1)
            ]

        def changes(values: list[int]) -> frozenset[int]:
            return frozenset(h for h in range(1, len(values)) if values[h] != values[h - 1])

        ordered = [(n, named[n]) for n in sorted(n for n in named if n != "UTC")]
        moments = {changes(offsets(zone)) for zone in named.values()}
        if "UTC" in named or (len(moments) == 2 and all(moments)):
            ordered.append(("UTC", UTC))
        kept: list[tuple[str, tzinfo]] = []
        shapes: list[tuple[object, ...]] = []
        for name, zone in ordered:
            values = offsets(zone)
            shape = (values[0] % step, tuple(o - values[0] for o in values))
            if shape not in shapes:
                shapes.append(shape)
                kept.append((name, zone))
        return kept

    def best_series(self, earliest: datetime) -> OracleSeries | None:
        """Every anchor, every first date and time, ranked by the documented key."""
        policy = self.policy
        latest = earliest + policy.lookahead
        best: tuple[tuple[object, ...], OracleSeries] | None = None
        for position, (name, zone) in enumerate(self.anchors(earliest)):
            self.zone = zone
            day = self.local_day(earliest)
            while day <= self.local_day(latest):
                if day.weekday() in policy.days:
                    for t in self.times():
                        instant = local_start(zone, day, t)
                        if instant is None or not (earliest <= instant < latest):
                            continue
                        found = self.expand(day, t)
                        if found is None:
                            continue
                        disruptions = sum(m for _, m in found.held) + len(found.skipped)
                        over_share = disruptions > found.occurrences // 5
                        bands = [
                            preference((here := instant.astimezone(p.zone)).weekday(), here.time())
                            for p in self.people
                        ]
                        key = (
                            -len(found.held),
                            over_share,
                            instant.astimezone(policy.program_zone).date(),
                            disruptions,
                            name == "UTC",
                            (max(bands), sum(bands)),
                            instant,
                            position,
                        )
                        if best is None or key < best[0]:
                            best = (key, replace(found, zone_name=name))
                day += timedelta(days=1)
        return None if best is None else best[1]

    def best_reslot(
        self,
        *,
        start: datetime,
        previous_start: datetime | None,
        next_start: datetime | None,
        now: datetime,
        freeze: timedelta,
    ) -> datetime | None:
        if start - now < freeze:
            return None
        local = start.astimezone(self.zone)
        neighbours = [self.local_day(n) for n in (previous_start, next_start) if n is not None]
        for *_, day, t in self.week_options(local.date(), local.time(), neighbours):
            instant = local_start(self.zone, day, t)
            if instant is not None and instant - now >= freeze and self.clean(instant):
                return instant
        return None


def _clock(offset: timedelta) -> time:
    seconds = int(offset.total_seconds()) % 86_400
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)
