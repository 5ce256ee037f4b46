"""Graph's patternedRecurrence, expanded the way Exchange does: the sandbox's own, not dateutil's.

Where it sits: the sandbox's store keeps a series master with its ``recurrence``; ``instances``,
``calendarView`` and ``getSchedule`` call ``expand`` to turn it into occurrence starts, and event
create/update calls ``validate_recurrence`` to refuse what Graph refuses. Pure functions, no clock.

Semantics, with their sources (Graph docs ``recurrencepattern.md``, ``recurrencerange.md`` and the
concept doc ``outlook-schedule-recurring-events.md``, as summarised in ../shared/graph/NOTES.md §3):

- ``daily``: every ``interval`` days. ``weekly``: the listed ``daysOfWeek`` in every ``interval``-th
  week, weeks beginning on ``firstDayOfWeek`` (default ``sunday``). ``absoluteMonthly``/``absoluteYearly``:
  ``dayOfMonth`` (of ``month``). ``relativeMonthly``/``relativeYearly``: the ``index``-th (``first`` ..
  ``fourth``, ``last``; default ``first``) day of the month that is one of ``daysOfWeek``, i.e. several
  days form one set ("the event falls on the first day that satisfies the pattern"; "the second weekday").
- A ``dayOfMonth`` beyond the month's length falls on the month's last day. Source: Exchange's
  ``DayOfMonth`` element ("If for a particular month this value is larger than the number of days in
  the month, the last day of the month is assumed", learn.microsoft.com/exchange/client-developer/
  web-service-reference/dayofmonth). This differs from RFC 5545, which skips such months.
- The series starts at the first date on or after ``range.startDate`` that fits the pattern, and the
  ``interval`` counts from the period (week, month, year) holding that first occurrence: the concept
  doc's example (every other month, first Thursday, startDate 2017-08-29) starts in September.
- ``endDate`` is inclusive; ``numbered`` counts occurrences from the first one; ``noEnd`` is unbounded.
- Occurrences keep the master's wall-clock time in the series' zone across DST. A wall-clock time that
  does not exist on a spring-forward day is moved forward by the gap (02:30 -> 03:30), and an ambiguous
  one on a fall-back day takes its first (daylight) instance. [inference: Windows' and Exchange's
  conversion of local times behave this way; no Graph doc states it]
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from worker.sandbox.zones import localize

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # weekday() order
INDEXES = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
PATTERN_TYPES = ("daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly")
RANGE_TYPES = ("endDate", "noEnd", "numbered")
_FIRST_MATCH_SEARCH = 8  # periods scanned for the first occurrence; every valid pattern matches within 2


class RecurrenceError(ValueError):
    """A recurrence ``expand`` cannot interpret; ``validate_recurrence`` names the reasons first."""


# --- reading the (possibly non-canonical) JSON ----------------------------------------------------------


def _int(value: Any, default: int | None = None) -> int | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _day(value: Any) -> int | None:
    folded = value.lower() if isinstance(value, str) else None
    return DAYS.index(folded) if folded in DAYS else None


def _pattern_type(pattern: Mapping[str, Any]) -> str | None:
    raw = pattern.get("type")
    by_folded = {t.lower(): t for t in PATTERN_TYPES}
    return by_folded.get(raw.lower()) if isinstance(raw, str) else None


def _range_type(range_: Mapping[str, Any]) -> str | None:
    raw = range_.get("type")
    by_folded = {t.lower(): t for t in RANGE_TYPES}
    return by_folded.get(raw.lower()) if isinstance(raw, str) else None


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _days_of_week(pattern: Mapping[str, Any]) -> list[int]:
    raw = pattern.get("daysOfWeek") or []
    days = [_day(d) for d in raw] if isinstance(raw, list) else []
    return sorted({d for d in days if d is not None})


# --- validation -----------------------------------------------------------------------------------------


def validate_recurrence(pattern: Any, range_: Any) -> list[str]:
    """The semantic errors Graph refuses in a patternedRecurrence (the schema check runs before this)."""
    if not isinstance(pattern, Mapping) or not isinstance(range_, Mapping):
        return ["A recurrence needs both a pattern and a range."]
    errors: list[str] = []
    kind = _pattern_type(pattern)
    if kind is None:
        errors.append(f"The recurrence pattern type '{pattern.get('type')}' is not supported.")
    interval = _int(pattern.get("interval"))
    if interval is None or interval < 1:
        errors.append("The recurrence pattern's interval must be at least 1.")
    raw_days = pattern.get("daysOfWeek") or []
    if any(_day(d) is None for d in (raw_days if isinstance(raw_days, list) else [raw_days])):
        errors.append("The recurrence pattern's daysOfWeek holds a value that is not a day of the week.")
    if pattern.get("firstDayOfWeek") is not None and _day(pattern.get("firstDayOfWeek")) is None:
        errors.append("The recurrence pattern's firstDayOfWeek is not a day of the week.")
    index = pattern.get("index")
    if index is not None and not (isinstance(index, str) and index.lower() in INDEXES):
        errors.append(f"The recurrence pattern's index '{index}' is not supported.")
    # "Even if a field is ignored, it is still validated": Graph echoes 0 for unused dayOfMonth/month.
    day_of_month = _int(pattern.get("dayOfMonth"), 0)
    month = _int(pattern.get("month"), 0)
    if day_of_month is None or not 0 <= day_of_month <= 31:
        errors.append("The recurrence pattern's dayOfMonth must be between 1 and 31.")
    if month is None or not 0 <= month <= 12:
        errors.append("The recurrence pattern's month must be between 1 and 12.")
    if kind in ("weekly", "relativeMonthly", "relativeYearly") and not _days_of_week(pattern):
        errors.append(f"A {kind} recurrence pattern needs daysOfWeek.")
    if kind in ("absoluteMonthly", "absoluteYearly") and not day_of_month:
        errors.append(f"An {kind} recurrence pattern needs dayOfMonth.")
    if kind in ("absoluteYearly", "relativeYearly") and not month:
        errors.append(f"A {kind} recurrence pattern needs month.")
    if (
        kind == "absoluteYearly"
        and month
        and 1 <= month <= 12
        and day_of_month
        and day_of_month > calendar.monthrange(2000, month)[1]
    ):
        errors.append(f"Month {month} has no day {day_of_month}.")
    errors.extend(_range_errors(range_))
    return errors


def _range_errors(range_: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    kind = _range_type(range_)
    if kind is None:
        errors.append(f"The recurrence range type '{range_.get('type')}' is not supported.")
    start = _date(range_.get("startDate"))
    if start is None:
        errors.append("The recurrence range needs a startDate.")
    if kind == "endDate":
        end = _date(range_.get("endDate"))
        if end is None:
            errors.append("An endDate recurrence range needs an endDate.")
        elif start is not None and end < start:
            errors.append("The recurrence range's endDate is before its startDate.")
    if kind == "numbered":
        count = _int(range_.get("numberOfOccurrences"))
        if count is None or count < 1:
            errors.append("A numbered recurrence range needs numberOfOccurrences of at least 1.")
    return errors


# --- dates of the series --------------------------------------------------------------------------------


def _add_months(year: int, month: int, count: int) -> tuple[int, int]:
    total = year * 12 + (month - 1) + count
    return total // 12, total % 12 + 1


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _nth_in_month(year: int, month: int, days: list[int], index: int) -> date:
    """The index-th (1-based, -1 = last) date of the month whose weekday is one of ``days``."""
    length = calendar.monthrange(year, month)[1]
    matches = [d for d in range(1, length + 1) if date(year, month, d).weekday() in days]
    return date(year, month, matches[index - 1 if index > 0 else -1])


def _period_dates(pattern: Mapping[str, Any], start: date) -> Callable[[int], list[date]]:
    """A function from period number to the pattern's dates in that period, in order.

    A period is what ``interval`` counts (a day, week, month or year); period 0 holds ``start``.
    """
    kind = _pattern_type(pattern)
    days = _days_of_week(pattern)
    day_of_month = _int(pattern.get("dayOfMonth"), 0) or 1
    month = _int(pattern.get("month"), 0) or 1
    index = INDEXES[str(pattern.get("index") or "first").lower()]
    if kind == "daily":
        return lambda p: [start + timedelta(days=p)]
    if kind == "weekly":
        first_day = _day(pattern.get("firstDayOfWeek") or "sunday")
        assert first_day is not None
        week0 = start - timedelta(days=(start.weekday() - first_day) % 7)
        offsets = sorted((d - first_day) % 7 for d in days)
        return lambda p: [week0 + timedelta(days=7 * p + o) for o in offsets]
    if kind == "absoluteMonthly":
        return lambda p: [_clamped(*_add_months(start.year, start.month, p), day_of_month)]
    if kind == "relativeMonthly":
        return lambda p: [_nth_in_month(*_add_months(start.year, start.month, p), days, index)]
    if kind == "absoluteYearly":
        return lambda p: [_clamped(start.year + p, month, day_of_month)]
    if kind == "relativeYearly":
        return lambda p: [_nth_in_month(start.year + p, month, days, index)]
    raise RecurrenceError(f"unsupported recurrence pattern type {pattern.get('type')!r}")


def series_dates(pattern: Mapping[str, Any], range_: Mapping[str, Any]) -> Iterator[date]:
    """Every occurrence date of the series, in order (unbounded for ``noEnd``)."""
    problems = validate_recurrence(pattern, range_)
    if problems:
        raise RecurrenceError("; ".join(problems))
    start = _date(range_.get("startDate"))
    assert start is not None
    interval = _int(pattern.get("interval"), 1) or 1
    kind = _range_type(range_)
    end = _date(range_.get("endDate")) if kind == "endDate" else None
    remaining = _int(range_.get("numberOfOccurrences")) if kind == "numbered" else None
    dates_in = _period_dates(pattern, start)
    anchor = next((p for p in range(_FIRST_MATCH_SEARCH) if any(d >= start for d in dates_in(p))), None)
    if anchor is None:
        raise RecurrenceError("the pattern never matches")
    period = anchor
    while True:
        for day in dates_in(period):
            if day < start:
                continue
            if end is not None and day > end:
                return
            yield day
            if remaining is not None:
                remaining -= 1
                if remaining <= 0:
                    return
        period += interval
        if period > 100_000:  # about 270 years of days; far beyond any window the sandbox serves
            return


# --- wall-clock times in a zone -------------------------------------------------------------------------


def expand(
    pattern: Mapping[str, Any],
    range_: Mapping[str, Any],
    *,
    first_start: datetime,
    zone: tzinfo,
    window_start: datetime,
    window_end: datetime,
    duration: timedelta | None = None,
) -> list[datetime]:
    """Aware local starts (in ``zone``) of the occurrences in [window_start, window_end), in order.

    ``first_start`` is the series master's start as naive wall-clock time; every occurrence keeps its
    time of day. With ``duration``, an occurrence that began before ``window_start`` but is still running
    then counts too (calendarView's "overlapping" rule).
    """
    if window_start.tzinfo is None or window_end.tzinfo is None:
        raise RecurrenceError("the window bounds must be aware datetimes")
    low, high = window_start.astimezone(UTC), window_end.astimezone(UTC)
    reach = duration or timedelta(0)
    # Local dates beyond this cannot start before the window's end, whatever the zone's offset.
    last_date = (high + timedelta(days=2)).date()
    # ... and local dates before this cannot reach into it: skip them without converting (long series).
    first_date = (low - reach - timedelta(days=2)).date()
    clock = first_start.time().replace(tzinfo=None)
    out: list[datetime] = []
    for day in series_dates(pattern, range_):
        if day > last_date:
            break
        if day < first_date:
            continue
        start = localize(datetime.combine(day, clock), zone)
        instant = start.astimezone(UTC)
        inside = low <= instant < high if not reach else instant < high and instant + reach > low
        if inside:
            out.append(start)
    return out
