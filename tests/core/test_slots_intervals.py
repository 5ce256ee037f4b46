"""The engine's building blocks against brute-force models: interval sets as sets of integers,
zone clocks against zoneinfo's own conversions."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.oracle import local_start
from worker.core.calendar_math import DAY, clock_for, epoch_day, nth_weekday, week_index_of
from worker.core.intervals import IntervalSet, to_seconds
from worker.core.types import Busy, BusyStatus, Interval, WeekIndex

spans = st.lists(
    st.tuples(st.integers(0, 60), st.integers(0, 12)).map(lambda p: (p[0], p[0] + p[1])), max_size=8
)
FAST = settings(max_examples=150, deadline=None, derandomize=True)


def points(intervals: list[tuple[int, int]]) -> set[int]:
    return {x for start, end in intervals for x in range(start, end)}


@FAST
@given(spans, spans, st.integers(0, 70), st.integers(1, 8))
def test_interval_sets_behave_like_sets_of_seconds(a: list[tuple[int, int]], b: list[tuple[int, int]],
                                                   start: int, length: int) -> None:
    one, two = IntervalSet(a), IntervalSet(b)
    assert points(list(one)) == points(a)
    assert points(list(one.intersection(two))) == points(a) & points(b)
    assert points(list(one.difference(two))) == points(a) - points(b)
    assert points(list(one.clip(start, start + length))) == points(a) & set(range(start, start + length))
    wanted = set(range(start, start + length))
    assert one.contains(start, start + length) == (wanted <= points(a) and _one_run(one, wanted))
    assert one.overlaps(start, start + length) == bool(wanted & points(a))
    assert one.has(start) == (start in points(a))
    grid = list(range(0, 70, 5))
    assert one.members(grid, start) == {p for p in grid if p + start in points(a)}
    runs = list(one)
    assert all(end < next_start for (_, end), (next_start, _) in pairwise(runs))


def _one_run(merged: IntervalSet, wanted: set[int]) -> bool:
    return any(wanted <= set(range(start, end)) for start, end in merged)


ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Chatham",
         "America/Santiago", "Asia/Beirut", "America/Havana"]


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.sampled_from(ZONES), st.dates(date(2026, 1, 1), date(2028, 12, 31)), st.integers(0, 95))
def test_zone_clock_finds_the_local_times_zoneinfo_finds(zone_name: str, day: date, quarter: int) -> None:
    zone = ZoneInfo(zone_name)
    moment = time(quarter // 4, 15 * (quarter % 4))
    clock = clock_for(zone)
    expected = local_start(zone, day, moment)
    found = clock.local_instant(epoch_day(day), quarter * 900)
    assert found == (None if expected is None else to_seconds(expected))
    if expected is not None:
        assert clock.wall(found) == epoch_day(day) * DAY + quarter * 900  # type: ignore[arg-type]
    instant = to_seconds(datetime.combine(day, moment, tzinfo=UTC))
    offset = datetime.combine(day, moment, tzinfo=UTC).astimezone(zone).utcoffset()
    assert clock.offset_at(instant) == int(offset.total_seconds())  # type: ignore[union-attr]


def test_week_index_is_last_in_the_months_last_seven_days() -> None:
    assert week_index_of(date(2027, 1, 28)) is WeekIndex.LAST  # the 4th and last Thursday
    assert week_index_of(date(2027, 1, 21)) is WeekIndex.THIRD
    assert week_index_of(date(2027, 4, 22)) is WeekIndex.FOURTH  # April has a 5th Thursday
    assert nth_weekday(2027, 4, 3, WeekIndex.LAST) == date(2027, 4, 29)
    assert nth_weekday(2027, 4, 3, WeekIndex.FOURTH) == date(2027, 4, 22)
    assert nth_weekday(2027, 2, 3, WeekIndex.LAST) == date(2027, 2, 25)
    assert nth_weekday(2027, 2, 0, WeekIndex.FIRST) == date(2027, 2, 1)


def test_busy_keeps_utc_seconds_rounded_outwards_and_gives_utc_datetimes_back() -> None:
    paris = ZoneInfo("Europe/Paris")
    start = datetime(2027, 1, 4, 10, 0, 0, 250000, tzinfo=paris)
    end = datetime(2027, 1, 4, 10, 29, 59, 500000, tzinfo=paris)
    busy = Busy.between(start, end, BusyStatus.OOF)
    assert (busy.start_s, busy.end_s) == (to_seconds(start), to_seconds(start) + 30 * 60)
    assert busy.start == datetime(2027, 1, 4, 9, tzinfo=UTC) and busy.start.tzinfo is UTC
    assert busy.end == datetime(2027, 1, 4, 9, 30, tzinfo=UTC) and busy.end.tzinfo is UTC
    assert busy.interval == Interval(busy.start, busy.end)
    before_epoch = datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=UTC)
    assert Busy.between(before_epoch, datetime(1970, 1, 1, tzinfo=UTC)) == Busy(-1, 0)


def test_busy_is_a_value_whatever_zone_it_was_written_in() -> None:
    start = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    utc = Busy.between(start, start + timedelta(hours=1))
    shifted = Busy.between(start.astimezone(ZoneInfo("Asia/Kolkata")),
                           (start + timedelta(hours=1)).astimezone(timezone(timedelta(hours=-5))))
    assert utc == shifted and hash(utc) == hash(shifted) and len({utc, shifted}) == 1
    assert utc != Busy.between(start, start + timedelta(hours=1), BusyStatus.TENTATIVE)
    earlier = Busy.between(start - timedelta(hours=1), start)
    assert sorted([shifted, earlier], key=lambda b: (b.start, b.end)) == [earlier, utc]  # as ops sorts
    assert "2027-03-28T01:30:00+00:00" in repr(utc)


def test_busy_refuses_naive_datetimes() -> None:
    aware = datetime(2027, 1, 4, 9, tzinfo=UTC)
    naive = datetime(2027, 1, 4, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        Busy.between(naive, naive + timedelta(hours=1))
    with pytest.raises(ValueError, match="timezone-aware"):
        Busy.between(aware, naive)
