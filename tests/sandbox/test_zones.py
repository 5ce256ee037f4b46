"""The sandbox's own zones: Windows and IANA names, customTimeZone rules, Graph's wire forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.sandbox.errors import GraphError
from worker.sandbox.zones import (
    CustomZone,
    InvalidDateTime,
    UnknownTimeZone,
    custom_zone,
    format_in_zone,
    localize,
    parse_date_time_time_zone,
    parse_graph_datetime,
    parse_prefer,
    prefer_time_zone,
    resolve_zone,
    to_windows,
    zone_of,
)

EXAMPLES = Path(__file__).resolve().parent / "graph_examples"  # Microsoft's documented payloads, vendored
PACIFIC = ZoneInfo("America/Los_Angeles")
SYDNEY = ZoneInfo("Australia/Sydney")
# The docs' example (getschedule_response.json): Pacific time written as Outlook's custom zone.
PACIFIC_RULES: dict[str, Any] = {
    "@odata.type": "#microsoft.graph.customTimeZone",
    "bias": 480,
    "name": "Customized Time Zone",
    "standardOffset": {
        "time": "02:00:00.0000000",
        "dayOccurrence": 1,
        "dayOfWeek": "sunday",
        "month": 11,
        "year": 0,
    },
    "daylightOffset": {
        "daylightBias": -60,
        "time": "02:00:00.0000000",
        "dayOccurrence": 2,
        "dayOfWeek": "sunday",
        "month": 3,
        "year": 0,
    },
}
# Sydney: UTC+10, daylight from the first Sunday of October 02:00 to the first Sunday of April 03:00.
SYDNEY_RULES: dict[str, Any] = {
    "bias": -600,
    "standardOffset": {"time": "03:00:00", "dayOccurrence": 1, "dayOfWeek": "sunday", "month": 4},
    "daylightOffset": {
        "daylightBias": -60,
        "time": "02:00:00",
        "dayOccurrence": 1,
        "dayOfWeek": "sunday",
        "month": 10,
    },
}
instants = st.datetimes(min_value=datetime(2008, 1, 2), max_value=datetime(2035, 12, 30)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)
)
walls = st.datetimes(min_value=datetime(2008, 1, 2), max_value=datetime(2035, 12, 30)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


# --- names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("pacific standard time", "America/Los_Angeles"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("UTC", "UTC"),
        ("tzone://Microsoft/Utc", "UTC"),
    ],
)
def test_windows_and_iana_names_resolve(name: str, key: str) -> None:
    assert getattr(resolve_zone(name), "key", None) == key


def test_india_standard_time_resolves_through_cldrs_legacy_alias() -> None:
    zone = resolve_zone("India Standard Time")
    assert datetime(2026, 1, 1, tzinfo=UTC).astimezone(zone).utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    "name", ["Mars Standard Time", "", "Customized Time Zone", "Europe/Atlantis", "../etc/passwd"]
)
def test_unknown_zone_is_graphs_400(name: str) -> None:
    with pytest.raises(UnknownTimeZone) as raised:
        resolve_zone(name)
    assert isinstance(raised.value, GraphError)
    assert (raised.value.status, raised.value.code) == (400, "TimeZoneNotSupportedException")
    assert f"'{name}'" in raised.value.message


@pytest.mark.parametrize(
    ("name", "windows"),
    [
        ("America/Los_Angeles", "Pacific Standard Time"),
        ("Europe/Berlin", "W. Europe Standard Time"),
        ("Europe/Kyiv", "FLE Standard Time"),
        ("Asia/Kolkata", "India Standard Time"),
        ("UTC", "UTC"),
        ("Pacific Standard Time", "Pacific Standard Time"),
    ],
)
def test_to_windows_gives_the_name_graph_prints(name: str, windows: str) -> None:
    assert to_windows(name) == windows


def test_to_windows_refuses_unknown_names() -> None:
    with pytest.raises(UnknownTimeZone):
        to_windows("Nowhere/Special")


# --- customTimeZone -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(instant=instants)
def test_custom_pacific_rules_agree_with_tzdata_on_every_instant(instant: datetime) -> None:
    custom = zone_of(PACIFIC_RULES)
    assert instant.astimezone(custom).replace(tzinfo=None) == instant.astimezone(PACIFIC).replace(tzinfo=None)
    assert instant.astimezone(custom).utcoffset() == instant.astimezone(PACIFIC).utcoffset()


@settings(max_examples=300, deadline=None)
@given(wall=walls, fold=st.sampled_from([0, 1]))
def test_custom_rules_read_wall_times_as_tzdata_does_including_gaps_and_folds(
    wall: datetime, fold: int
) -> None:
    for rules, zone in ((PACIFIC_RULES, PACIFIC), (SYDNEY_RULES, SYDNEY)):
        custom = zone_of(rules)
        ours = wall.replace(tzinfo=custom, fold=fold)
        theirs = wall.replace(tzinfo=zone, fold=fold)
        assert ours.utcoffset() == theirs.utcoffset(), (rules, wall, fold)
        assert ours.dst() == theirs.dst()


@settings(max_examples=200, deadline=None)
@given(instant=instants)
def test_custom_southern_rules_agree_with_tzdata(instant: datetime) -> None:
    custom = zone_of(SYDNEY_RULES)
    assert instant.astimezone(custom).utcoffset() == instant.astimezone(SYDNEY).utcoffset()


@pytest.mark.parametrize(
    ("rules", "zone", "days"),
    [
        (PACIFIC_RULES, PACIFIC, [(2019, 3, 10), (2019, 11, 3), (2026, 3, 8), (2026, 11, 1)]),
        (SYDNEY_RULES, SYDNEY, [(2019, 4, 7), (2019, 10, 6), (2026, 4, 5), (2026, 10, 4)]),
    ],
    ids=["pacific", "sydney"],
)
def test_custom_rules_match_tzdata_minute_by_minute_on_transition_days(
    rules: dict[str, Any], zone: ZoneInfo, days: list[tuple[int, int, int]]
) -> None:
    custom = zone_of(rules)
    for year, month, day in days:
        for minute in range(0, 24 * 60, 5):
            wall = datetime(year, month, day) + timedelta(minutes=minute)
            for fold in (0, 1):
                assert (
                    wall.replace(tzinfo=custom, fold=fold).utcoffset()
                    == wall.replace(tzinfo=zone, fold=fold).utcoffset()
                ), (wall, fold)
        for minute in range(-24 * 60, 48 * 60, 5):
            instant = datetime(year, month, day, tzinfo=UTC) + timedelta(minutes=minute)
            ours, theirs = instant.astimezone(custom), instant.astimezone(zone)
            assert (ours.replace(tzinfo=None), ours.fold) == (theirs.replace(tzinfo=None), theirs.fold), (
                instant
            )


def test_documented_custom_zone_is_utc_minus_8_in_winter_and_minus_7_in_summer() -> None:
    response = json.loads((EXAMPLES / "getschedule_response.json").read_text(encoding="utf-8"))
    custom_zones = [
        s["workingHours"]["timeZone"] for s in response["value"] if "bias" in s["workingHours"]["timeZone"]
    ]
    assert custom_zones
    zone = zone_of(custom_zones[0])
    assert isinstance(zone, CustomZone)
    assert datetime(2019, 3, 15, 9, tzinfo=zone).utcoffset() == timedelta(hours=-7)
    assert datetime(2019, 1, 15, 9, tzinfo=zone).utcoffset() == timedelta(hours=-8)
    assert datetime(2019, 1, 15, 9, tzinfo=zone).tzname() == "Customized Time Zone"


def test_transitions_happen_at_the_stated_wall_times() -> None:
    zone = custom_zone(480, PACIFIC_RULES["standardOffset"], PACIFIC_RULES["daylightOffset"])
    # 2026: daylight from Sunday March 8 02:00 (standard clock) to Sunday November 1 02:00 (daylight clock).
    assert datetime(2026, 3, 8, 9, 59, tzinfo=UTC).astimezone(zone).hour == 1
    assert datetime(2026, 3, 8, 10, 0, tzinfo=UTC).astimezone(zone).hour == 3
    first = datetime(2026, 11, 1, 8, 30, tzinfo=UTC).astimezone(zone)
    second = datetime(2026, 11, 1, 9, 30, tzinfo=UTC).astimezone(zone)
    assert (first.hour, first.fold, second.hour, second.fold) == (1, 0, 1, 1)
    assert first.dst() == timedelta(hours=1)
    assert second.dst() == timedelta(0)


def test_last_occurrence_means_the_last_weekday_of_the_month() -> None:
    # Central Europe as a custom zone: daylight from the last Sunday of March to the last Sunday of October.
    zone = custom_zone(
        -60,
        {"time": "03:00:00", "dayOccurrence": 5, "dayOfWeek": "sunday", "month": 10},
        {"daylightBias": -60, "time": "02:00:00", "dayOccurrence": 5, "dayOfWeek": "sunday", "month": 3},
    )
    berlin = ZoneInfo("Europe/Berlin")
    for day in range(20, 32):
        for month in (3, 10):
            instant = datetime(2026, month, day, 12, tzinfo=UTC)
            assert instant.astimezone(zone).utcoffset() == instant.astimezone(berlin).utcoffset()


def test_custom_zone_without_daylight_rules_is_a_fixed_offset() -> None:
    zone = custom_zone(-330, {"month": 0}, {"month": 0, "daylightBias": 0})
    assert datetime(2026, 7, 1, tzinfo=zone).utcoffset() == timedelta(hours=5, minutes=30)
    assert datetime(2026, 7, 1, tzinfo=zone).dst() == timedelta(0)


def test_rule_with_a_year_applies_only_in_that_year() -> None:
    standard = {**PACIFIC_RULES["standardOffset"], "year": 2026}
    daylight = {**PACIFIC_RULES["daylightOffset"], "year": 2026}
    zone = custom_zone(480, standard, daylight)
    assert datetime(2026, 7, 1, tzinfo=zone).utcoffset() == timedelta(hours=-7)
    assert datetime(2027, 7, 1, tzinfo=zone).utcoffset() == timedelta(hours=-8)


def test_zone_of_a_named_time_zone_base_resolves_the_name() -> None:
    assert getattr(zone_of({"name": "Pacific Standard Time"}), "key", None) == "America/Los_Angeles"


# --- wire forms ---------------------------------------------------------------------------------------


def test_format_in_zone_prints_seven_fractional_digits_and_echoes_the_name() -> None:
    instant = datetime(2019, 3, 15, 16, 0, tzinfo=UTC)
    assert format_in_zone(instant, "Pacific Standard Time") == (
        "2019-03-15T09:00:00.0000000",
        "Pacific Standard Time",
    )
    assert format_in_zone(instant, None) == ("2019-03-15T16:00:00.0000000", "UTC")
    assert format_in_zone(instant.replace(microsecond=123456), "UTC")[0] == "2019-03-15T16:00:00.1234560"


def test_format_in_zone_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        format_in_zone(datetime(2019, 3, 15), "UTC")


@pytest.mark.parametrize(
    ("text", "naive", "offset"),
    [
        ("2019-03-15T09:00:00", datetime(2019, 3, 15, 9), None),
        ("2019-03-15T09:00:00.0000000", datetime(2019, 3, 15, 9), None),
        ("2019-03-15T09:00:00.1234567", datetime(2019, 3, 15, 9, 0, 0, 123456), None),
        ("2019-03-15T09:00", datetime(2019, 3, 15, 9), None),
        ("2019-03-15T09:00:00Z", datetime(2019, 3, 15, 9), timedelta(0)),
        ("2019-03-15T09:00:00.000-08:00", datetime(2019, 3, 15, 9), timedelta(hours=-8)),
    ],
)
def test_graph_datetimes_parse_with_or_without_fraction_and_offset(
    text: str, naive: datetime, offset: timedelta | None
) -> None:
    assert parse_graph_datetime(text) == (naive, offset)


@pytest.mark.parametrize("text", ["datetime-value", "2019-13-01T00:00:00", "2019-03-15T25:00:00", ""])
def test_malformed_graph_datetimes_are_refused(text: str) -> None:
    with pytest.raises(InvalidDateTime):
        parse_graph_datetime(text)


def test_date_time_time_zone_reads_the_wall_clock_in_its_zone() -> None:
    value = {"dateTime": "2019-03-15T09:00:00.0000000", "timeZone": "Pacific Standard Time"}
    parsed = parse_date_time_time_zone(value)
    assert parsed.astimezone(UTC) == datetime(2019, 3, 15, 16, tzinfo=UTC)
    assert parsed.replace(tzinfo=None) == datetime(2019, 3, 15, 9)


def test_date_time_time_zone_with_an_offset_keeps_the_instant() -> None:
    parsed = parse_date_time_time_zone(
        {"dateTime": "2019-03-15T16:00:00Z", "timeZone": "Pacific Standard Time"}
    )
    assert parsed.astimezone(UTC) == datetime(2019, 3, 15, 16, tzinfo=UTC)
    assert parsed.hour == 9


def test_date_time_time_zone_without_a_zone_is_utc() -> None:
    assert parse_date_time_time_zone({"dateTime": "2026-01-05T10:00:00"}) == datetime(
        2026, 1, 5, 10, tzinfo=UTC
    )


def test_date_time_time_zone_in_an_unknown_zone_is_refused() -> None:
    with pytest.raises(UnknownTimeZone):
        parse_date_time_time_zone({"dateTime": "2026-01-05T10:00:00", "timeZone": "Moon Time"})


def test_localize_moves_gap_times_forward() -> None:
    assert localize(datetime(2026, 3, 8, 2, 15), PACIFIC).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 15)


# --- Prefer -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "zone"),
    [
        ('outlook.timezone="Pacific Standard Time"', "Pacific Standard Time"),
        ("outlook.timezone=UTC", "UTC"),
        ('IdType="ImmutableId", outlook.timezone="W. Europe Standard Time"', "W. Europe Standard Time"),
        ('Outlook.TimeZone = "Europe/Berlin"; foo=bar, odata.maxpagesize=10', "Europe/Berlin"),
        (["odata.maxpagesize=10", 'outlook.timezone="Asia/Tokyo"'], "Asia/Tokyo"),
        ('outlook.body-content-type="text"', None),
        ('outlook.timezone=""', None),
        (None, None),
        ("", None),
    ],
)
def test_prefer_header_names_the_response_zone(header: str | list[str] | None, zone: str | None) -> None:
    assert prefer_time_zone(header) == zone


def test_prefer_parser_keeps_every_preference_and_the_first_of_duplicates() -> None:
    prefs = parse_prefer('respond-async, wait=10, outlook.timezone="A, B", outlook.timezone="C"')
    assert prefs == {"respond-async": None, "wait": "10", "outlook.timezone": "A, B"}


def test_prefer_parser_ignores_a_malformed_tail() -> None:
    assert parse_prefer('odata.maxpagesize=5, "broken') == {"odata.maxpagesize": "5"}
