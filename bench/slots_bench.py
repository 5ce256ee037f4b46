"""Benchmark the slot engine: 2,000 pairs, 12 sessions each, 25 busy events per person per week.

    .venv/bin/python bench/slots_bench.py [--pairs 2000] [--oracle-sample 20] [--seed 7]

Inputs are seeded and realistic: ten business zones (most pairs share a zone or a region), Outlook
working hours, a weekly/fortnightly/monthly policy like the example programme's (window
09:30-16:30, lunch avoided, 15-minute buffer, 3-week lookahead, two blackouts), eight weeks of
free/busy with 21 recurring meetings and 4 one-offs per week, now and then a day out of
office. Prints the machine's load average at the start and the end (CPU seconds stretch when
other processes share the cores), CPU seconds (time.process_time) for the engine over all pairs,
peak traced memory (tracemalloc, on a second pass), and the ratio against the minute-by-minute
oracle, which is far too slow to run on all pairs: it is timed on a sample and extrapolated (the
printout says so). The oracle's answers on the sample are also compared with the engine's.

Busy items hold UTC seconds, computed when they are built: in production by the gateway, from
Graph's getSchedule text. So that cost is not hidden outside the engine figure, the same busy time
is also rendered as getSchedule JSON (UTC, seven fraction digits, 20 people a response, as the
gateway reads it) and the CPU of ``wire.schedule_from_json`` on it is printed on its own line
(decoding the JSON with ``json.loads`` is not counted). The parsed items are checked to equal the
generated ones.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time as clock
import tracemalloc
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.core.oracle import Oracle
from worker.core.availability import busy_seconds
from worker.core.slots import NoSlot, Person, SeriesRequest, SeriesSlot, SlotPolicy, find_series
from worker.core.types import Busy, BusyStatus, Cadence, CadenceKind, Interval, WorkingHours
from worker.graph import wire

REGIONS = {
    "europe": ("Europe/Paris", "Europe/London", "Europe/Berlin"),
    "americas": ("America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo"),
    "apac": ("Asia/Kolkata", "Asia/Singapore", "Australia/Sydney"),
}
ZONES = tuple(z for zones in REGIONS.values() for z in zones)
PROGRAMME = (date(2027, 1, 11), date(2027, 12, 17))
BLACKOUTS = ((date(2027, 4, 12), date(2027, 4, 23)), (date(2027, 5, 13), date(2027, 5, 14)))
HORIZON = timedelta(weeks=8)
SESSIONS = 12
EVENTS_PER_WEEK = 25


def _zone_pair(rng: random.Random) -> tuple[str, str]:
    region = rng.choice(list(REGIONS.values()))
    mentee = rng.choice(region)
    roll = rng.random()
    if roll < 0.6:
        return mentee, mentee
    if roll < 0.85:
        return rng.choice(region), mentee
    return rng.choice(ZONES), mentee


def _hours(rng: random.Random, zone: str) -> WorkingHours | None:
    if rng.random() < 0.3:
        return None  # Outlook's default
    start = rng.choice([time(8), time(8, 30), time(9)])
    end = rng.choice([time(17), time(17, 30), time(18)])
    return WorkingHours(frozenset(range(5)), start, end, ZoneInfo(zone), zone)


def _busy(rng: random.Random, zone: str, first: date, weeks: int) -> tuple[Busy, ...]:
    """EVENTS_PER_WEEK events a week in the person's own working day: about half of them recurring."""
    tz = ZoneInfo(zone)
    monday = first - timedelta(days=first.weekday())

    def event(day: date, minutes_from_eight: int, minutes: int, status: BusyStatus) -> Busy:
        start = datetime.combine(day, time(8), tzinfo=tz) + timedelta(minutes=minutes_from_eight)
        return Busy.between(start, start + timedelta(minutes=minutes), status)

    def shape() -> tuple[int, int, int]:
        # weekday, start (minutes after 08:00, up to 17:30), length: mostly half-hour meetings
        return rng.randrange(5), 30 * rng.randrange(20), rng.choice([30, 30, 30, 30, 30, 60, 60, 90])

    recurring = [shape() for _ in range(21)]
    out: list[Busy] = []
    for week in range(weeks):
        week_start = monday + timedelta(weeks=week)
        for weekday, offset, minutes in recurring:
            out.append(event(week_start + timedelta(days=weekday), offset, minutes, BusyStatus.BUSY))
        for _ in range(EVENTS_PER_WEEK - len(recurring)):
            weekday, offset, minutes = shape()
            status = BusyStatus.TENTATIVE if rng.random() < 0.15 else BusyStatus.BUSY
            out.append(event(week_start + timedelta(days=weekday), offset, minutes, status))
        if rng.random() < 0.05:  # a day out of office
            day = week_start + timedelta(days=rng.randrange(5))
            start = datetime.combine(day, time(0), tzinfo=tz)
            end = start + timedelta(days=1)
            out.append(Busy.between(start, end, BusyStatus.OOF))
    return tuple(sorted(out, key=lambda b: b.start_s))


def make_requests(pairs: int, seed: int) -> list[SeriesRequest]:
    rng = random.Random(seed)
    out = []
    for n in range(pairs):
        mentor_zone, mentee_zone = _zone_pair(rng)
        kind, interval = rng.choice(
            [(CadenceKind.WEEKLY, 1)] * 7 + [(CadenceKind.WEEKLY, 2)] * 2 + [(CadenceKind.MONTHLY, 1)]
        )
        policy = SlotPolicy(
            cadence=Cadence(kind, interval),
            duration=timedelta(minutes=rng.choice([45, 60])),
            sessions=SESSIONS,
            days=rng.choice([frozenset({1, 2, 3}), frozenset(range(5))]),
            window=(time(9, 30), time(16, 30)),
            avoid=((time(12), time(13, 30)),),
            buffer=timedelta(minutes=15),
            lookahead=timedelta(weeks=3),
            blackouts=BLACKOUTS,
            program_zone=ZoneInfo("Europe/Paris"),
            program_start=PROGRAMME[0],
            program_end=PROGRAMME[1],
        )
        earliest = datetime.combine(PROGRAMME[0] + timedelta(days=rng.randrange(14)), time(6), tzinfo=UTC)
        weeks = HORIZON.days // 7 + 1
        people = [
            Person(f"p{n}.{role}@contoso.com", ZoneInfo(zone), zone, _hours(rng, zone),
                   _busy(rng, zone, earliest.date(), weeks))
            for role, zone in (("mentor", mentor_zone), ("mentee", mentee_zone))
        ]
        horizon = Interval(earliest, earliest + HORIZON)
        out.append(SeriesRequest(people[0], people[1], policy, earliest, horizon))
    return out


def _graph_text(seconds: int) -> dict[str, str]:
    """A dateTimeTimeZone as getSchedule writes it with ``Prefer: outlook.timezone="UTC"``."""
    text = f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.0000000"
    return {"dateTime": text, "timeZone": "UTC"}


def wire_parse_cpu(requests: list[SeriesRequest]) -> tuple[int, float]:
    """(busy items, CPU seconds of wire.schedule_from_json) over getSchedule JSON of every person."""
    people = [(p, r.horizon) for r in requests for p in (r.mentor, r.mentee)]
    items, cpu = 0, 0.0
    for first in range(0, len(people), 20):  # one getSchedule response per 20 people, as the gateway reads
        chunk = people[first:first + 20]
        body = json.dumps({"value": [
            {"scheduleId": p.address, "availabilityView": "", "scheduleItems": [
                {"isPrivate": False, "status": b.status.value, "start": _graph_text(b.start_s),
                 "end": _graph_text(b.end_s)} for b in p.busy]}
            for p, _ in chunk]}).encode()
        infos = wire.loads(body)["value"]
        started = clock.process_time()
        parsed = [wire.schedule_from_json(info, when) for info, (_, when) in zip(infos, chunk, strict=True)]
        cpu += clock.process_time() - started
        for schedule, (person, _) in zip(parsed, chunk, strict=True):
            if schedule.busy != tuple(sorted(person.busy, key=lambda b: (b.start_s, b.end_s))):
                raise SystemExit(f"wire parse disagrees with the generated busy time of {person.address}")
            items += len(schedule.busy)
    return items, cpu


def oracle_answer(req: SeriesRequest) -> tuple[date, time, tuple[tuple[datetime, bool], ...]] | None:
    oracle = Oracle(mentor=req.mentor, mentee=req.mentee, policy=req.policy, horizon=req.horizon)
    best = oracle.best_series(req.earliest)
    return None if best is None else (best.first, best.start, best.held)


def engine_answer(found: SeriesSlot | NoSlot) -> tuple[date, time, tuple[tuple[datetime, bool], ...]] | None:
    if isinstance(found, NoSlot):
        return None
    return found.recurrence.start, found.start_local, tuple((s.start, s.moved) for s in found.sessions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--oracle-sample", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print("load average at start (1/5/15 min, {} cores): {:.2f} {:.2f} {:.2f}".format(
        os.cpu_count(), *os.getloadavg()))

    requests = make_requests(args.pairs, args.seed)
    events = sum(len(r.mentor.busy) + len(r.mentee.busy) for r in requests)

    started = clock.process_time()
    answers = [find_series(r) for r in requests]
    engine_cpu = clock.process_time() - started

    # how much of that is only reading the input: every busy event's UTC seconds, once
    started = clock.process_time()
    for r in requests:
        busy_seconds(r.mentor.busy)
        busy_seconds(r.mentee.busy)
    reading_cpu = clock.process_time() - started

    tracemalloc.start()
    for r in requests:
        find_series(r)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    found = [a for a in answers if isinstance(a, SeriesSlot)]
    moved = sum(a.disruptions > 0 for a in found)
    print(f"pairs: {args.pairs}, sessions per series: {SESSIONS}, busy events: {events:,} "
          f"({EVENTS_PER_WEEK}/person/week over {HORIZON.days // 7} weeks)")
    print(f"series found: {len(found)}, with a move or skip: {moved}, no slot: {len(answers) - len(found)}")
    per_pair_ms = 1000 * engine_cpu / args.pairs
    print(f"engine CPU: {engine_cpu:.2f} s for {args.pairs} pairs ({per_pair_ms:.2f} ms/pair)")
    print(f"  of which reading the {events:,} busy events (Busy holds UTC seconds): {reading_cpu:.2f} s")
    print(f"peak traced memory over a second pass (results dropped): {peak / 2**20:.1f} MiB; "
          f"process max RSS incl. the generated input: {max_rss:.0f} MiB")
    items, parse_cpu = wire_parse_cpu(requests)  # after the memory figures: its JSON is not the engine's
    print(f"parsing {items:,} busy items from Graph JSON into UTC seconds (wire.schedule_from_json), "
          f"outside the engine figure: {parse_cpu:.2f} s")

    if args.oracle_sample:
        sample = random.Random(args.seed).sample(range(args.pairs), args.oracle_sample)
        started = clock.process_time()
        expected = [oracle_answer(requests[i]) for i in sample]
        oracle_cpu = clock.process_time() - started
        agree = sum(expected[k] == engine_answer(answers[i]) for k, i in enumerate(sample))
        per_pair = oracle_cpu / len(sample)
        ratio = per_pair * args.pairs / engine_cpu
        print(f"oracle CPU: {oracle_cpu:.1f} s on a sample of {len(sample)} pairs ({per_pair:.1f} s/pair); "
              f"extrapolated to {args.pairs} pairs: {per_pair * args.pairs:,.0f} s")
        print(f"engine vs oracle (extrapolated): {ratio:,.0f}x faster; "
              f"answers agree on {agree}/{len(sample)}")
    print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
