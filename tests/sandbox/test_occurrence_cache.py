"""A series' starts are expanded once and kept: every window gets what a fresh expansion gives."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from worker.sandbox import timeutil

SERIES = [
    (  # fortnightly on Tuesdays, ten sessions, across the spring DST change in Paris
        {
            "pattern": {
                "type": "weekly",
                "interval": 2,
                "daysOfWeek": ["tuesday"],
                "firstDayOfWeek": "sunday",
            },
            "range": {"type": "numbered", "startDate": "2027-01-12", "numberOfOccurrences": 10},
        },
        datetime(2027, 1, 12, 14, 0),
        "Romance Standard Time",
    ),
    (  # the second Wednesday of each month until an end date, in New York
        {
            "pattern": {
                "type": "relativeMonthly",
                "interval": 1,
                "daysOfWeek": ["wednesday"],
                "index": "second",
            },
            "range": {"type": "endDate", "startDate": "2027-01-01", "endDate": "2027-12-31"},
        },
        datetime(2027, 1, 13, 9, 30),
        "America/New_York",
    ),
    (  # every weekday with no end, in Sydney (a southern-hemisphere DST)
        {
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "noEnd", "startDate": "2027-01-04"},
        },
        datetime(2027, 1, 4, 8, 0),
        "AUS Eastern Standard Time",
    ),
]


def test_kept_starts_answer_every_window_as_a_fresh_expansion_would() -> None:
    rng = random.Random(7)
    base = datetime(2026, 12, 1, tzinfo=UTC)
    for recurrence, first, zone in SERIES:
        for _ in range(200):
            start = base + timedelta(hours=rng.randrange(0, 24 * 800))
            end = start + timedelta(hours=rng.randrange(1, 24 * 60))
            duration = rng.choice([None, timedelta(minutes=45), timedelta(hours=26)])
            fresh = timeutil._expand(recurrence, first, zone, start, end, duration)
            kept = timeutil.occurrence_starts(
                recurrence,
                first_local=first,
                zone_name=zone,
                window_start=start,
                window_end=end,
                duration=duration,
            )
            assert kept == fresh, (recurrence["pattern"]["type"], start, end, duration)


def test_an_open_ended_series_is_expanded_afresh_past_what_is_kept() -> None:
    recurrence, first, zone = SERIES[2]
    start = datetime(2040, 3, 1, tzinfo=UTC)  # past the ten years kept
    end = start + timedelta(days=7)
    kept = timeutil.occurrence_starts(
        recurrence, first_local=first, zone_name=zone, window_start=start, window_end=end
    )
    assert len(kept) == 7 and kept == timeutil._expand(recurrence, first, zone, start, end, None)


def test_a_changed_recurrence_is_a_different_series() -> None:
    recurrence, first, zone = SERIES[0]
    window = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, tzinfo=UTC))

    def starts(rec: dict) -> list[datetime]:  # type: ignore[type-arg]
        return timeutil.occurrence_starts(
            rec, first_local=first, zone_name=zone, window_start=window[0], window_end=window[1]
        )

    assert len(starts(recurrence)) == 10
    ended = {**recurrence, "range": {**recurrence["range"], "numberOfOccurrences": 4}}
    assert len(starts(ended)) == 4


def test_a_series_until_the_year_9999_costs_only_its_window() -> None:
    recurrence = {
        "pattern": {"type": "absoluteYearly", "interval": 1, "month": 3, "dayOfMonth": 14},
        "range": {"type": "endDate", "startDate": "2027-03-14", "endDate": "9999-12-31"},
    }
    first = datetime(2027, 3, 14, 12, 0)
    for year in (2027, 2031, 2500):  # the last one past the kept years: expanded afresh
        start, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year, 12, 31, tzinfo=UTC)
        kept = timeutil.occurrence_starts(
            recurrence, first_local=first, zone_name="UTC", window_start=start, window_end=end
        )
        assert kept == [datetime(year, 3, 14, 12, 0, tzinfo=UTC)]
