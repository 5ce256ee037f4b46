"""Sorted, merged interval sets over integer UTC seconds, queried by binary search.

The slot engine asks two questions millions of times per run: "is this session inside the time
this person may be booked?" and "does this session (plus buffer) touch anything busy?". Both are
answered here in O(log n) against a list that is sorted and merged once per person, so the engine
never loops over minutes. Seconds since the Unix epoch keep the arithmetic exact and cheap; the
conversion from aware datetimes happens once, at the edge of the engine.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def to_seconds(instant: datetime) -> int:
    """An aware instant as whole UTC seconds, rounded down (sessions start on whole minutes)."""
    if instant.microsecond == 0:
        return int(instant.timestamp())  # the fast path: C code, exact for whole seconds
    return (instant - _EPOCH) // _SECOND


def to_seconds_ceil(instant: datetime) -> int:
    """Rounded up: used for the ends of busy time, so a fraction of a second still blocks."""
    if instant.microsecond == 0:
        return int(instant.timestamp())
    return -((_EPOCH - instant) // _SECOND)


def from_seconds(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


class IntervalSet:
    """A union of half-open integer intervals [start, end), kept sorted and merged.

    Touching intervals are merged: "inside the allowed time" then means inside one merged run, and
    a session that ends exactly where a busy event starts does not overlap it.
    """

    __slots__ = ("_ends", "_starts")

    def __init__(self, intervals: Iterable[tuple[int, int]] = ()) -> None:
        items = list(intervals)
        items.sort()
        starts: list[int] = []
        ends: list[int] = []
        last = None
        for start, end in items:
            if end <= start:
                continue
            if last is not None and start <= last:
                if end > last:
                    ends[-1] = last = end
            else:
                starts.append(start)
                ends.append(end)
                last = end
        self._starts = starts
        self._ends = ends

    @classmethod
    def _merged(cls, starts: list[int], ends: list[int]) -> IntervalSet:
        """From lists already sorted, disjoint and non-touching (no checks: internal use only)."""
        made = cls.__new__(cls)
        made._starts, made._ends = starts, ends
        return made

    def __len__(self) -> int:
        return len(self._starts)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(zip(self._starts, self._ends, strict=True))

    def __repr__(self) -> str:
        return f"IntervalSet({list(zip(self._starts, self._ends, strict=True))!r})"

    def has(self, point: int) -> bool:
        """Whether the instant ``point`` is in the set."""
        i = bisect_right(self._starts, point) - 1
        return i >= 0 and point < self._ends[i]

    def members(self, points: list[int] | tuple[int, ...], shift: int) -> set[int]:
        """The sorted ``points`` p whose ``p + shift`` is in the set: one bisect per run, not per point."""
        out: set[int] = set()
        if not points:
            return out
        i = bisect_right(self._ends, points[0] + shift)
        last = points[-1] + shift
        while i < len(self._starts) and self._starts[i] <= last:
            lo = bisect_left(points, self._starts[i] - shift)
            out.update(points[lo : bisect_left(points, self._ends[i] - shift)])
            i += 1
        return out

    def contains(self, start: int, end: int) -> bool:
        """Whether [start, end) lies entirely inside one merged run."""
        i = bisect_right(self._starts, start) - 1
        return i >= 0 and self._ends[i] >= end and start < self._ends[i]

    def overlaps(self, start: int, end: int) -> bool:
        """Whether [start, end) shares any instant with the set (touching is not overlapping)."""
        i = bisect_right(self._ends, start)
        return i < len(self._starts) and self._starts[i] < end

    def difference(self, other: IntervalSet) -> IntervalSet:
        """This set without ``other``; runs wholly outside ``other``'s span are copied by slicing."""
        if not other._starts or not self._starts:
            return self
        lo = bisect_right(self._ends, other._starts[0])
        hi = bisect_right(self._starts, other._ends[-1])
        starts, ends = self._starts[:lo], self._ends[:lo]
        cut_starts, cut_ends = other._starts, other._ends
        j = 0
        for i in range(lo, hi):
            start, end = self._starts[i], self._ends[i]
            j = bisect_right(cut_ends, start, j)
            cursor = start
            while j < len(cut_starts) and cut_starts[j] < end:
                if cut_starts[j] > cursor:
                    starts.append(cursor)
                    ends.append(cut_starts[j])
                cursor = max(cursor, cut_ends[j])
                if cut_ends[j] > end:
                    break
                j += 1
            if cursor < end:
                starts.append(cursor)
                ends.append(end)
        starts += self._starts[hi:]
        ends += self._ends[hi:]
        return IntervalSet._merged(starts, ends)

    def union(self, other: IntervalSet) -> IntervalSet:
        return IntervalSet([*self, *other])

    def intersection(self, other: IntervalSet) -> IntervalSet:
        a_starts, a_ends, b_starts, b_ends = self._starts, self._ends, other._starts, other._ends
        starts: list[int] = []
        ends: list[int] = []
        i = j = 0
        n, m = len(a_starts), len(b_starts)
        while i < n and j < m:
            a_end, b_end = a_ends[i], b_ends[j]
            lo = a_starts[i] if a_starts[i] > b_starts[j] else b_starts[j]
            hi = a_end if a_end < b_end else b_end
            if lo < hi:
                starts.append(lo)
                ends.append(hi)
            if a_end < b_end:
                i += 1
            else:
                j += 1
        # no two pieces touch: a piece ends where one set's run ends, and that set's next run
        # starts strictly later (runs are merged), so the result is already canonical
        return IntervalSet._merged(starts, ends)

    def clip(self, lo: int, hi: int) -> IntervalSet:
        """The part of the set inside [lo, hi)."""
        if hi <= lo:
            return IntervalSet()
        first = bisect_right(self._ends, lo)
        last = bisect_left(self._starts, hi)
        starts, ends = self._starts[first:last], self._ends[first:last]
        if starts:
            starts[0] = max(starts[0], lo)
            ends[-1] = min(ends[-1], hi)
        return IntervalSet._merged(starts, ends)

