"""Sorted, merged interval sets over integer UTC seconds, queried by binary search.

The slot engine asks two questions millions of times per run: "is this session inside the time
this person may be booked?" and "does this session (plus buffer) touch anything busy?". Both are
answered here in O(log n) against a list that is sorted and merged once per person, so the engine
never loops over minutes. Seconds since the Unix epoch keep the arithmetic exact and cheap; the
conversion from aware datetimes happens once, at the edge of the engine.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
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

    def __iter__(self) -> Iterable[tuple[int, int]]:  # type: ignore[override]
        return iter(zip(self._starts, self._ends, strict=True))

    def __repr__(self) -> str:
        return f"IntervalSet({list(zip(self._starts, self._ends, strict=True))!r})"

    def has(self, point: int) -> bool:
        """Whether the instant ``point`` is in the set."""
        i = bisect_right(self._starts, point) - 1
        return i >= 0 and point < self._ends[i]

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
        out: list[tuple[int, int]] = []
        a, b = list(self), list(other)
        i = j = 0
        while i < len(a) and j < len(b):
            lo = max(a[i][0], b[j][0])
            hi = min(a[i][1], b[j][1])
            if lo < hi:
                out.append((lo, hi))
            if a[i][1] < b[j][1]:
                i += 1
            else:
                j += 1
        return IntervalSet(out)
