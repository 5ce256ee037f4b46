"""The sandbox expands patternedRecurrence as Exchange does, checked against dateutil and the docs."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.sandbox.recurrence import (
    DAYS,
    RecurrenceError,
    expand,
    localize,
    series_dates,
    validate_recurrence,
)

EXAMPLES = Path(__file__).resolve().parent / "graph_examples"  # Microsoft's documented payloads, vendored
RRULE_DAYS = (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU)
INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WIDE = (datetime(1990, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def _dates(pattern: dict[str, Any], range_: dict[str, Any], limit: int = 60) -> list[date]:
    return list(itertools.islice(series_dates(pattern, range_), limit))


# --- an independent oracle: python-dateutil's rrule -----------------------------------------------------


def _rrule_args(pattern: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    kind = pattern["type"]
    days = [RRULE_DAYS[DAYS.index(d)] for d in pattern.get("daysOfWeek", [])]
    index = INDEX[pattern.get("index", "first")]
    day = pattern.get("dayOfMonth", 0)
    # Exchange puts day 31 on the last day of a shorter month; RFC 5545 skips the month. The earlier
    # of "day d" and "the last day" (BYSETPOS=1) is Exchange's rule written in RFC terms.
    clamp = {"bymonthday": (day, -1), "bysetpos": 1}
    if kind == "daily":
        return rrule.DAILY, {}
    if kind == "weekly":
        return rrule.WEEKLY, {"byweekday": days, "wkst": DAYS.index(pattern.get("firstDayOfWeek", "sunday"))}
    if kind == "absoluteMonthly":
        return rrule.MONTHLY, clamp
    if kind == "relativeMonthly":
        return rrule.MONTHLY, {"byweekday": days, "bysetpos": index}
    if kind == "absoluteYearly":
        return rrule.YEARLY, {"bymonth": pattern["month"], **clamp}
    return rrule.YEARLY, {"bymonth": pattern["month"], "byweekday": days, "bysetpos": index}


def _oracle(pattern: dict[str, Any], range_: dict[str, Any], limit: int = 60) -> list[date]:
    freq, args = _rrule_args(pattern)
    start = datetime.fromisoformat(range_["startDate"])
    # The first occurrence is the first match on or after startDate; the interval counts from there.
    first = rrule.rrule(freq, dtstart=start, interval=1, **args)[0]
    bounds: dict[str, Any] = {}
    if range_["type"] == "numbered":
        bounds["count"] = range_["numberOfOccurrences"]
    if range_["type"] == "endDate":
        bounds["until"] = datetime.fromisoformat(range_["endDate"])
    rule = rrule.rrule(freq, dtstart=first, interval=pattern["interval"], **args, **bounds)
    return [d.date() for d in itertools.islice(rule, limit)]


day_names = st.sampled_from(DAYS)
day_sets = st.lists(day_names, min_size=1, max_size=7, unique=True)
start_dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
intervals = st.integers(min_value=1, max_value=4)


@st.composite
def ranges(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(start_dates)
    kind = draw(st.sampled_from(["endDate", "noEnd", "numbered"]))
    range_: dict[str, Any] = {"type": kind, "startDate": start.isoformat()}
    if kind == "endDate":
        range_["endDate"] = (start + timedelta(days=draw(st.integers(0, 1500)))).isoformat()
    if kind == "numbered":
        range_["numberOfOccurrences"] = draw(st.integers(1, 40))
    return range_


@st.composite
def patterns(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"]
        )
    )
    pattern: dict[str, Any] = {"type": kind, "interval": draw(intervals)}
    if kind == "weekly":
        pattern["daysOfWeek"] = draw(day_sets)
        pattern["firstDayOfWeek"] = draw(day_names)
    if kind in ("relativeMonthly", "relativeYearly"):
        pattern["daysOfWeek"] = draw(day_sets)
        pattern["index"] = draw(st.sampled_from(list(INDEX)))
    if kind in ("absoluteMonthly", "absoluteYearly"):
        pattern["dayOfMonth"] = draw(st.integers(1, 31))
    if kind in ("absoluteYearly", "relativeYearly"):
        pattern["month"] = draw(st.integers(1, 12))
        if kind == "absoluteYearly" and pattern["month"] == 2:
            pattern["dayOfMonth"] = min(pattern["dayOfMonth"], 29)
        elif kind == "absoluteYearly" and pattern["month"] in (4, 6, 9, 11):
            pattern["dayOfMonth"] = min(pattern["dayOfMonth"], 30)
    return pattern


@settings(max_examples=400, deadline=None)
@given(pattern=patterns(), range_=ranges())
def test_series_dates_agree_with_dateutil(pattern: dict[str, Any], range_: dict[str, Any]) -> None:
    assert validate_recurrence(pattern, range_) == []
    assert _dates(pattern, range_) == _oracle(pattern, range_)


@settings(max_examples=100, deadline=None)
@given(
    days=day_sets,
    interval=intervals,
    start=start_dates,
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 15, 30, 45]),
)
def test_occurrences_keep_their_wall_clock_time_across_dst(
    days: list[str], interval: int, start: date, hour: int, minute: int
) -> None:
    pattern = {"type": "weekly", "interval": interval, "daysOfWeek": days, "firstDayOfWeek": "monday"}
    range_ = {"type": "numbered", "startDate": start.isoformat(), "numberOfOccurrences": 30}
    starts = expand(
        pattern,
        range_,
        first_start=datetime(2000, 1, 1, hour, minute),
        zone=BERLIN,
        window_start=WIDE[0],
        window_end=WIDE[1],
    )
    assert [s.date() for s in starts] == _oracle(pattern, range_)
    for s in starts:
        wall = (s.hour, s.minute)
        # Berlin's gap is 02:00-03:00 on the last Sunday of March: only there may the clock move, by an hour.
        assert wall == (hour, minute) or (hour == 2 and wall == (3, minute) and s.month == 3)
    assert [s.astimezone(UTC) for s in starts] == sorted(s.astimezone(UTC) for s in starts)


@settings(max_examples=150, deadline=None)
@given(
    pattern=patterns(),
    range_=ranges(),
    offset_days=st.integers(-30, 900),
    span_hours=st.integers(1, 24 * 120),
    minutes=st.integers(0, 180),
)
def test_window_keeps_exactly_the_occurrences_a_full_expansion_puts_in_it(
    pattern: dict[str, Any], range_: dict[str, Any], offset_days: int, span_hours: int, minutes: int
) -> None:
    first_start = datetime(2000, 1, 1, 23, 30)
    zone = ZoneInfo("Pacific/Auckland")  # far from UTC, so local and UTC dates differ
    duration = timedelta(minutes=minutes)
    start = datetime.fromisoformat(range_["startDate"]).replace(tzinfo=UTC) + timedelta(days=offset_days)
    end = start + timedelta(hours=span_hours)
    # The model: a plain expansion over a much wider window, filtered here.
    wider = (start - timedelta(days=40), end + timedelta(days=40))
    every = expand(
        pattern, range_, first_start=first_start, zone=zone, window_start=wider[0], window_end=wider[1]
    )
    inside = expand(pattern, range_, first_start=first_start, zone=zone, window_start=start, window_end=end)
    overlapping = expand(
        pattern,
        range_,
        first_start=first_start,
        zone=zone,
        window_start=start,
        window_end=end,
        duration=duration,
    )
    assert inside == [s for s in every if start <= s < end]
    if minutes:
        assert overlapping == [s for s in every if s < end and s + duration > start]


# --- the documented examples ------------------------------------------------------------


def _doc(name: str) -> dict[str, Any]:
    examples: dict[str, Any] = json.loads((EXAMPLES / "recurrence_examples.json").read_text(encoding="utf-8"))
    return examples[name]




def _folded(pattern: dict[str, Any]) -> dict[str, Any]:
    """The docs capitalise day names (as Graph accepts); the oracle wants the schema's spelling."""
    out = dict(pattern)
    if "daysOfWeek" in out:
        out["daysOfWeek"] = [d.lower() for d in out["daysOfWeek"]]
    return out


DOC_CASES = [
    ("daily_every_day", "range_numbered_10", [date(2017, 4, 2) + timedelta(days=i) for i in range(10)]),
    ("daily_every_3_days", "range_enddate_july_2017", [date(2017, 7, d) for d in range(1, 32, 3)]),
    ("weekly_every_thursday", "range_enddate_july_2017", [date(2017, 7, d) for d in (6, 13, 20, 27)]),
    (
        "weekly_every_other_mon_tue",
        "range_noend",
        [date(2017, 5, 15), date(2017, 5, 16), date(2017, 5, 29), date(2017, 5, 30), date(2017, 6, 12)],
    ),
    ("absolute_monthly_15th", "range_noend", [date(2017, 5, 15), date(2017, 6, 15), date(2017, 7, 15)]),
    (
        "absolute_monthly_quarterly_7th",
        "range_numbered_10",
        [date(2017, 4, 7), date(2017, 7, 7), date(2017, 10, 7)],
    ),
    (
        "relative_monthly_second_wednesday",
        "range_numbered_10",
        [date(2017, 4, 12), date(2017, 5, 10), date(2017, 6, 14)],
    ),
    (
        "relative_monthly_first_thu_or_fri",
        "range_numbered_10",
        [date(2017, 4, 6), date(2017, 5, 4), date(2017, 6, 1)],
    ),
    ("absolute_yearly_april_15", "range_noend", [date(2018, 4, 15), date(2019, 4, 15), date(2020, 4, 15)]),
    (
        "relative_yearly_last_wed_november",
        "range_numbered_10",
        [date(2017, 11, 29), date(2018, 11, 28), date(2019, 11, 27)],
    ),
]


@pytest.mark.parametrize(("pattern_name", "range_name", "expected"), DOC_CASES, ids=[c[0] for c in DOC_CASES])
def test_documented_patterns_expand_as_described(
    pattern_name: str, range_name: str, expected: list[date]
) -> None:
    pattern, range_ = _doc(pattern_name)["pattern"], _doc(range_name)["range"]
    assert validate_recurrence(pattern, range_) == []
    assert _dates(pattern, range_)[: len(expected)] == expected
    assert _dates(pattern, range_)[: len(expected)] == _oracle(_folded(pattern), range_)[: len(expected)]


def test_weekly_monday_until_sunday_year_end_ends_on_december_25() -> None:
    recurrence = _doc("recurrence_weekly_monday_until_year_end")["recurrence"]
    pacific = ZoneInfo("America/Los_Angeles")
    starts = expand(
        recurrence["pattern"],
        recurrence["range"],
        first_start=datetime(2017, 9, 4, 12),
        zone=pacific,
        window_start=WIDE[0],
        window_end=WIDE[1],
    )
    assert starts[0] == datetime(2017, 9, 4, 12, tzinfo=pacific)
    assert starts[-1] == datetime(2017, 12, 25, 12, tzinfo=pacific)
    assert len(starts) == 17


def test_start_date_after_this_months_match_starts_next_month_and_counts_interval_from_there() -> None:
    recurrence = _doc("recurrence_first_thursday_every_other_month")["recurrence"]
    assert _dates(recurrence["pattern"], recurrence["range"], 3) == [
        date(2017, 9, 7),
        date(2017, 11, 2),
        date(2018, 1, 4),
    ]


# --- named cases ------------------------------------------------------------


def test_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    pattern = {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 31}
    range_ = {"type": "numbered", "startDate": "2028-01-01", "numberOfOccurrences": 4}
    assert _dates(pattern, range_) == [
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]


def test_february_29_yearly_falls_on_the_28th_in_common_years() -> None:
    pattern = {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 29, "month": 2}
    range_ = {"type": "numbered", "startDate": "2028-01-01", "numberOfOccurrences": 2}
    assert _dates(pattern, range_) == [date(2028, 2, 29), date(2029, 2, 28)]


def test_last_weekday_of_the_month_uses_the_days_as_one_set() -> None:
    weekdays = ["monday", "tuesday", "wednesday", "thursday", "friday"]
    pattern = {"type": "relativeMonthly", "interval": 1, "daysOfWeek": weekdays, "index": "last"}
    range_ = {"type": "numbered", "startDate": "2026-01-01", "numberOfOccurrences": 2}
    assert _dates(pattern, range_) == [date(2026, 1, 30), date(2026, 2, 27)]  # Jan 31 is a Saturday


def test_first_day_of_week_decides_which_weeks_count() -> None:
    range_ = {"type": "numbered", "startDate": "2026-01-04", "numberOfOccurrences": 3}  # a Sunday
    base = {"type": "weekly", "interval": 2, "daysOfWeek": ["sunday", "monday"]}
    sunday_weeks = _dates({**base, "firstDayOfWeek": "sunday"}, range_)
    monday_weeks = _dates({**base, "firstDayOfWeek": "monday"}, range_)
    assert sunday_weeks == [date(2026, 1, 4), date(2026, 1, 5), date(2026, 1, 18)]
    assert monday_weeks == [date(2026, 1, 4), date(2026, 1, 12), date(2026, 1, 18)]


def test_nonexistent_local_time_moves_forward_by_the_gap() -> None:
    pattern = {"type": "daily", "interval": 1}
    range_ = {"type": "numbered", "startDate": "2026-03-07", "numberOfOccurrences": 3}
    starts = expand(
        pattern,
        range_,
        first_start=datetime(2026, 3, 7, 2, 30),
        zone=NEW_YORK,
        window_start=WIDE[0],
        window_end=WIDE[1],
    )
    assert [s.replace(tzinfo=None) for s in starts] == [
        datetime(2026, 3, 7, 2, 30),
        datetime(2026, 3, 8, 3, 30),
        datetime(2026, 3, 9, 2, 30),
    ]
    assert starts[1].astimezone(UTC) == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_ambiguous_local_time_takes_its_first_instance() -> None:
    first = localize(datetime(2026, 11, 1, 1, 30), NEW_YORK)
    assert first.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # still EDT, UTC-4


def test_window_keeps_occurrences_starting_inside_it() -> None:
    pattern = {"type": "daily", "interval": 1}
    range_ = {"type": "noEnd", "startDate": "2026-01-01"}
    window = (datetime(2026, 1, 10, 9, tzinfo=UTC), datetime(2026, 1, 12, 9, tzinfo=UTC))
    starts = expand(
        pattern,
        range_,
        first_start=datetime(2026, 1, 1, 9),
        zone=UTC,
        window_start=window[0],
        window_end=window[1],
    )
    assert starts == [datetime(2026, 1, 10, 9, tzinfo=UTC), datetime(2026, 1, 11, 9, tzinfo=UTC)]


def test_window_with_duration_keeps_occurrences_still_running_at_its_start() -> None:
    pattern = {"type": "daily", "interval": 1}
    range_ = {"type": "noEnd", "startDate": "2026-01-01"}
    window = (datetime(2026, 1, 10, 9, 15, tzinfo=UTC), datetime(2026, 1, 10, 12, tzinfo=UTC))
    starts = expand(
        pattern,
        range_,
        first_start=datetime(2026, 1, 1, 9),
        zone=UTC,
        window_start=window[0],
        window_end=window[1],
        duration=timedelta(minutes=30),
    )
    assert starts == [datetime(2026, 1, 10, 9, tzinfo=UTC)]


def test_numbered_range_counts_from_the_series_start_not_the_window() -> None:
    pattern = {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"]}
    range_ = {"type": "numbered", "startDate": "2026-01-05", "numberOfOccurrences": 4}
    window = (datetime(2026, 1, 20, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    starts = expand(
        pattern,
        range_,
        first_start=datetime(2026, 1, 5, 10),
        zone=BERLIN,
        window_start=window[0],
        window_end=window[1],
    )
    assert [s.date() for s in starts] == [date(2026, 1, 26)]


def test_expand_refuses_naive_window_bounds() -> None:
    with pytest.raises(RecurrenceError):
        expand(
            {"type": "daily", "interval": 1},
            {"type": "noEnd", "startDate": "2026-01-01"},
            first_start=datetime(2026, 1, 1),
            zone=UTC,
            window_start=datetime(2026, 1, 1),
            window_end=datetime(2026, 2, 1),
        )


def test_expand_refuses_an_invalid_recurrence() -> None:
    with pytest.raises(RecurrenceError, match="interval"):
        list(series_dates({"type": "daily", "interval": 0}, {"type": "noEnd", "startDate": "2026-01-01"}))


# --- validation ------------------------------------------------------------

NO_END = {"type": "noEnd", "startDate": "2026-01-05"}


@pytest.mark.parametrize(
    ("pattern", "range_", "fragment"),
    [
        ({"type": "weekly", "interval": 1}, NO_END, "needs daysOfWeek"),
        ({"type": "relativeMonthly", "interval": 1, "index": "first"}, NO_END, "needs daysOfWeek"),
        ({"type": "absoluteMonthly", "interval": 1}, NO_END, "needs dayOfMonth"),
        ({"type": "absoluteYearly", "interval": 1, "dayOfMonth": 3}, NO_END, "needs month"),
        ({"type": "relativeYearly", "interval": 1, "daysOfWeek": ["monday"]}, NO_END, "needs month"),
        (
            {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 30, "month": 2},
            NO_END,
            "Month 2 has no day 30",
        ),
        ({"type": "daily", "interval": 0}, NO_END, "interval must be at least 1"),
        ({"type": "daily"}, NO_END, "interval must be at least 1"),
        ({"type": "hourly", "interval": 1}, NO_END, "type 'hourly' is not supported"),
        ({"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 32}, NO_END, "dayOfMonth must be between"),
        (
            {"type": "absoluteYearly", "interval": 1, "dayOfMonth": 1, "month": 13},
            NO_END,
            "month must be between",
        ),
        (
            {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["monday"], "index": "fifth"},
            NO_END,
            "index 'fifth'",
        ),
        (
            {"type": "daily", "interval": 1},
            {"type": "numbered", "startDate": "2026-01-05", "numberOfOccurrences": 0},
            "numberOfOccurrences of at least 1",
        ),
        (
            {"type": "daily", "interval": 1},
            {"type": "endDate", "startDate": "2026-01-05", "endDate": "2026-01-04"},
            "endDate is before its startDate",
        ),
        (
            {"type": "daily", "interval": 1},
            {"type": "endDate", "startDate": "2026-01-05"},
            "needs an endDate",
        ),
        ({"type": "daily", "interval": 1}, {"type": "noEnd"}, "needs a startDate"),
        (
            {"type": "daily", "interval": 1},
            {"type": "forever", "startDate": "2026-01-05"},
            "range type 'forever'",
        ),
    ],
)
def test_recurrence_graph_refuses_is_reported(
    pattern: dict[str, Any], range_: dict[str, Any], fragment: str
) -> None:
    errors = validate_recurrence(pattern, range_)
    assert any(fragment in e for e in errors), errors


def test_validation_accepts_graphs_echoed_defaults_and_any_case() -> None:
    pattern = {
        "type": "Weekly",
        "interval": "2",
        "daysOfWeek": ["Monday"],
        "firstDayOfWeek": "Sunday",
        "dayOfMonth": 0,
        "month": 0,
        "index": "first",
    }
    range_ = {"type": "noEnd", "startDate": "2026-01-05", "endDate": "0001-01-01", "numberOfOccurrences": 0}
    assert validate_recurrence(pattern, range_) == []
    assert _dates(pattern, range_, 2) == [date(2026, 1, 5), date(2026, 1, 19)]
