"""Wall clocks, zones and calendars as integer arithmetic, exact across daylight-saving changes.

A zone's offset is piecewise constant in UTC: ``ZoneClock`` finds the pieces once per zone and year
(from the tzinfo itself, so IANA zones and the gateway's fixed-rule "Customized Time Zone" behave
alike) and then answers "what is the wall clock at this instant" and "which instants show this
wall clock" by binary search. A wall time that no instant shows (the spring-forward gap) or that two
instants show (the autumn fold) is reported as such, never guessed: a recurring session must not
start at one.

Wall times are "wall seconds": the local date and time written as if it were UTC, counted from the
epoch, so day = wall // 86400 and time of day = wall % 86400.
"""

from __future__ import annotations

import calendar
import threading
from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from worker.core.types import WeekIndex

DAY = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SAMPLE = 6 * 3600  # no zone changes its offset twice within six hours
_REACH = 27 * 3600  # more than any UTC offset, so a wall time's instants lie within this of it


def epoch_day(day: date) -> int:
    return day.toordinal() - _EPOCH_ORDINAL


def day_date(day: int) -> date:
    return date.fromordinal(day + _EPOCH_ORDINAL)


def weekday_of(day: int) -> int:
    """Monday = 0, as ``date.weekday()``; the epoch was a Thursday."""
    return (day + 3) % 7


def seconds_of(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def time_of(seconds: int) -> time:
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def wall_seconds(day: date, moment: time) -> int:
    return epoch_day(day) * DAY + seconds_of(moment)


class ZoneClock:
    """The UTC offsets of one tzinfo, as sorted pieces [starts[i], starts[i+1]) with offsets[i]."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._first_year = 0
        self._last_year = -1
        self._starts: list[int] = []
        self._offsets: list[int] = []
        self._days: dict[int, int | None] = {}

    def _offset_now(self, instant: int) -> int:
        offset = datetime.fromtimestamp(instant, self.zone).utcoffset()
        return 0 if offset is None else int(offset.total_seconds())

    def cover(self, lo: int, hi: int) -> None:
        """Make sure the pieces cover [lo, hi] (UTC seconds), computing whole years at a time."""
        lo_year = day_date((lo - _REACH) // DAY).year
        hi_year = day_date((hi + _REACH) // DAY).year
        if self._first_year <= lo_year and hi_year <= self._last_year:
            return
        with _EXTENDING:  # clocks are shared memos: one thread extends, readers see whole states
            self._extend(lo_year, hi_year)

    def _extend(self, lo_year: int, hi_year: int) -> None:
        if self._first_year <= lo_year and hi_year <= self._last_year:
            return
        if self._last_year >= self._first_year:
            lo_year = min(lo_year, self._first_year)
            hi_year = max(hi_year, self._last_year)
        start = epoch_day(date(lo_year, 1, 1)) * DAY
        stop = epoch_day(date(hi_year + 1, 1, 1)) * DAY
        starts = [start]
        offsets = [self._offset_now(start)]
        sample = start + _SAMPLE
        while sample < stop:
            offset = self._offset_now(sample)
            if offset != offsets[-1]:
                # binary search for the first second of the new offset in (sample - _SAMPLE, sample]
                low, high = sample - _SAMPLE, sample
                while high - low > 1:
                    middle = (low + high) // 2
                    if self._offset_now(middle) == offset:
                        high = middle
                    else:
                        low = middle
                starts.append(high)
                offsets.append(offset)
            sample += _SAMPLE
        # widen the pieces before the years, so a reader that sees the new years sees the new pieces
        self._starts, self._offsets, self._stop = starts, offsets, stop
        self._first_year, self._last_year = lo_year, hi_year

    def _piece_end(self, i: int) -> int:
        return self._starts[i + 1] if i + 1 < len(self._starts) else self._stop

    def offset_at(self, instant: int) -> int:
        if not self._starts or not (self._starts[0] <= instant < self._stop):
            self.cover(instant, instant)
        return self._offsets[bisect_right(self._starts, instant) - 1]

    def wall(self, instant: int) -> int:
        return instant + self.offset_at(instant)

    def transitions_within(self, start: int, end: int) -> list[int]:
        """The instants in (start, end) where the offset changes."""
        self.cover(start, end)
        i = bisect_right(self._starts, start)
        out = []
        while i < len(self._starts) and self._starts[i] < end:
            out.append(self._starts[i])
            i += 1
        return out

    def instants(self, wall: int) -> list[int]:
        """Every UTC instant whose wall clock reads ``wall``: one normally, none in a gap, two in a fold."""
        self.cover(wall - _REACH, wall + _REACH)
        first = max(bisect_right(self._starts, wall - _REACH) - 1, 0)
        last = bisect_right(self._starts, wall + _REACH) - 1
        out = []
        for i in range(first, last + 1):
            instant = wall - self._offsets[i]
            if self._starts[i] <= instant < self._piece_end(i):
                out.append(instant)
        return out

    def unique_instant(self, wall: int) -> int | None:
        """The instant of a wall time that exists exactly once, else None (gap or fold)."""
        found = self.instants(wall)
        return found[0] if len(found) == 1 else None

    def day_offset(self, day: int) -> int | None:
        """The offset that holds for every wall time of local day ``day`` (epoch days), if one does.

        None on days with a transition (or a fold reaching into them): their wall times must go
        through ``unique_instant``. Memoised, since the engine asks about the same days again and again.
        """
        if day in self._days:
            return self._days[day]
        wall_start, wall_end = day * DAY, (day + 1) * DAY
        self.cover(wall_start - _REACH, wall_end + _REACH)
        first = max(bisect_right(self._starts, wall_start - _REACH) - 1, 0)
        last = bisect_right(self._starts, wall_end + _REACH) - 1
        spans = [
            (self._starts[i] + self._offsets[i], self._piece_end(i) + self._offsets[i], self._offsets[i])
            for i in range(first, last + 1)
        ]
        touching = [(lo, hi, offset) for lo, hi, offset in spans if lo < wall_end and hi > wall_start]
        offset = None
        if len(touching) == 1 and touching[0][0] <= wall_start and touching[0][1] >= wall_end:
            offset = touching[0][2]
        self._days[day] = offset
        return offset

    def local_instant(self, day: int, seconds: int) -> int | None:
        """``unique_instant`` of wall time ``seconds`` into local day ``day``, fast on ordinary days."""
        offset = self._days[day] if day in self._days else self.day_offset(day)
        if offset is not None:
            return day * DAY + seconds - offset
        return self.unique_instant(day * DAY + seconds)

    def wall_range(self, wall_start: int, wall_end: int) -> list[tuple[int, int]]:
        """The UTC intervals whose wall clock lies in [wall_start, wall_end)."""
        self.cover(wall_start - _REACH, wall_end + _REACH)
        first = max(bisect_right(self._starts, wall_start - _REACH) - 1, 0)
        last = bisect_right(self._starts, wall_end + _REACH) - 1
        out = []
        for i in range(first, last + 1):
            offset = self._offsets[i]
            lo = max(self._starts[i], wall_start - offset)
            hi = min(self._piece_end(i), wall_end - offset)
            if lo < hi:
                out.append((lo, hi))
        return out


_CLOCKS: dict[tzinfo, ZoneClock] = {}
_EXTENDING = threading.Lock()


def clock_for(zone: tzinfo) -> ZoneClock:
    """One memoised clock per zone: its pieces are a pure function of the zone's rules."""
    clock = _CLOCKS.get(zone)
    if clock is None:
        if len(_CLOCKS) > 512:
            _CLOCKS.clear()
        clock = _CLOCKS[zone] = ZoneClock(zone)
    return clock


def utc_instant(zone: tzinfo, day: date, moment: time) -> datetime | None:
    """The aware UTC datetime of a local wall time, or None if it does not exist or is ambiguous."""
    found = clock_for(zone).unique_instant(wall_seconds(day, moment))
    return None if found is None else datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=found)


# --- Daily time ranges ------------------------------------------------------------------------

Ranges = tuple[tuple[int, int], ...]  # seconds of the day, sorted, disjoint
WHOLE_DAY: Ranges = ((0, DAY),)


def daily_range(start: time, end: time) -> Ranges:
    """[start, end) as seconds of the day; an end at or before the start wraps past midnight
    (so 00:00-00:00 is the whole day and 22:00-06:00 is the night), within the same calendar day."""
    lo, hi = seconds_of(start), seconds_of(end)
    if lo < hi:
        return ((lo, hi),)
    if lo == hi:
        return WHOLE_DAY
    return tuple(r for r in ((0, hi), (lo, DAY)) if r[0] < r[1])


def intersect(a: Ranges, b: Ranges) -> Ranges:
    out = []
    for lo1, hi1 in a:
        for lo2, hi2 in b:
            lo, hi = max(lo1, lo2), min(hi1, hi2)
            if lo < hi:
                out.append((lo, hi))
    return tuple(sorted(out))


def union(*parts: Ranges) -> Ranges:
    out: list[list[int]] = []
    for lo, hi in sorted(r for part in parts for r in part):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((lo, hi) for lo, hi in out)


def complement(ranges: Ranges) -> Ranges:
    out, cursor = [], 0
    for lo, hi in union(ranges):
        if lo > cursor:
            out.append((cursor, lo))
        cursor = max(cursor, hi)
    if cursor < DAY:
        out.append((cursor, DAY))
    return tuple(out)


# --- Weeks and months -------------------------------------------------------------------------


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_index_of(day: date) -> WeekIndex:
    """Graph's weekIndex for a monthly series starting on ``day``: LAST in the month's last seven
    days (a fifth weekday does not exist every month, and the last one always does)."""
    if day.day > calendar.monthrange(day.year, day.month)[1] - 7:
        return WeekIndex.LAST
    return (WeekIndex.FIRST, WeekIndex.SECOND, WeekIndex.THIRD, WeekIndex.FOURTH)[(day.day - 1) // 7]


def nth_weekday(year: int, month: int, weekday: int, index: WeekIndex) -> date:
    """The ``index`` ``weekday`` of a month, as Graph's relativeMonthly pattern expands it."""
    days_in_month = calendar.monthrange(year, month)[1]
    if index is WeekIndex.LAST:
        last = date(year, month, days_in_month)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    ordinal = (WeekIndex.FIRST, WeekIndex.SECOND, WeekIndex.THIRD, WeekIndex.FOURTH).index(index)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * ordinal)


def add_months(day: date, months: int) -> tuple[int, int]:
    """(year, month) ``months`` after ``day``'s month."""
    total = day.year * 12 + day.month - 1 + months
    return total // 12, total % 12 + 1
