"""Time zones as Graph names them, and the pure parts of the mapping, checked against simple models."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from worker.core.intervals import to_seconds, to_seconds_ceil
from worker.core.types import Busy, BusyStatus, Cadence, CadenceKind, Interval, Recurrence, WeekIndex
from worker.graph import wire
from worker.graph.mapping import _count_until, nth_weekday, odata_quote, property_name
from worker.graph.wire import graph_datetime, graph_seconds
from worker.graph.zones import FixedRuleZone, UnknownZone, iana_name, resolve_zone, windows_name

PACIFIC = FixedRuleZone(
    bias=480,
    daylight_bias=-60,
    standard_rule={"month": 11, "dayOfWeek": "sunday", "dayOccurrence": 1, "time": time(2)},
    daylight_rule={"month": 3, "dayOfWeek": "sunday", "dayOccurrence": 2, "time": time(2)},
)
# Southern hemisphere: Sydney-like, UTC+10, daylight (+11) from the 1st Sunday of October to the 1st of April.
SYDNEY = FixedRuleZone(
    bias=-600,
    daylight_bias=-60,
    standard_rule={"month": 4, "dayOfWeek": "sunday", "dayOccurrence": 1, "time": time(3)},
    daylight_rule={"month": 10, "dayOfWeek": "sunday", "dayOccurrence": 1, "time": time(2)},
)


@pytest.mark.parametrize(
    ("custom", "reference"),
    [(PACIFIC, "America/Los_Angeles"), (SYDNEY, "Australia/Sydney")],
)
def test_custom_zone_agrees_with_the_iana_zone_it_describes_every_hour_of_three_years(
    custom: FixedRuleZone, reference: str
) -> None:
    zone = ZoneInfo(reference)
    instant = datetime(2024, 1, 1, tzinfo=UTC)
    while instant < datetime(2027, 1, 1, tzinfo=UTC):
        ours, theirs = instant.astimezone(custom), instant.astimezone(zone)
        assert ours.replace(tzinfo=None) == theirs.replace(tzinfo=None), instant
        assert ours.fold == theirs.fold, instant
        assert ours.astimezone(UTC) == instant, instant  # round trip, the repeated hour included
        instant += timedelta(hours=1)


def test_custom_zone_reads_local_wall_clock_times_like_zoneinfo() -> None:
    zone = ZoneInfo("America/Los_Angeles")
    for day in (date(2026, 1, 15), date(2026, 3, 9), date(2026, 7, 1), date(2026, 11, 2)):
        for hour in range(24):
            local = datetime.combine(day, time(hour))
            assert local.replace(tzinfo=PACIFIC).utcoffset() == local.replace(tzinfo=zone).utcoffset()


def test_a_custom_zone_without_daylight_rules_is_a_fixed_offset() -> None:
    india = FixedRuleZone(bias=-330, standard_rule=None, daylight_rule=None)
    assert datetime(2026, 6, 1, 12, tzinfo=india).utcoffset() == timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("India Standard Time", "Asia/Kolkata"),  # CLDR says Asia/Calcutta, a link since 2008
        ("Nepal Standard Time", "Asia/Kathmandu"),
        ("Europe/Paris", "Europe/Paris"),
        ("UTC", "UTC"),
    ],
)
def test_windows_and_iana_names_resolve(name: str, expected: str) -> None:
    assert iana_name(name) == expected
    assert resolve_zone(name) is not None


def test_an_unknown_zone_name_is_refused() -> None:
    with pytest.raises(UnknownZone):
        resolve_zone("Mars Standard Time")


def test_series_zones_are_sent_by_their_windows_names() -> None:
    assert windows_name("Europe/Berlin") == "W. Europe Standard Time"
    assert windows_name("Asia/Kolkata") == "India Standard Time"
    assert windows_name("UTC") == "UTC"


def test_graph_datetimes_with_seven_fraction_digits_and_any_zone_become_utc() -> None:
    value = {"dateTime": "2019-03-15T12:00:00.0000000", "timeZone": "Pacific Standard Time"}
    assert graph_datetime(value) == datetime(2019, 3, 15, 19, tzinfo=UTC)
    value = {"dateTime": "2019-03-15T12:00:00.1234567", "timeZone": "UTC"}
    assert graph_datetime(value) == datetime(2019, 3, 15, 12, 0, 0, 123456, tzinfo=UTC)


FAST_PATH_TEXTS = [
    "2027-01-04T09:00:00.0000000", "2027-01-04T09:00:00", "2027-01-04T09:00:00.000000",
    "2027-01-04T09:00:00.0", "2027-01-04T09:00:00.0000001", "2027-01-04T09:00:00.5",
    "2027-01-04 09:00:00", "2027-01-04T09:00:00Z", "2027-01-04T09:00:00+01:00",
    "2027-01-04T09:00+01", "2027-03-28T01:30:00.0000000", "2027-01-04T09:00:59.9999999",
    " 2027-01-04T09:00:00", "2027-01-04T09:00:00.0000000 ",
]


@pytest.mark.parametrize("text", FAST_PATH_TEXTS)
def test_the_fast_path_for_utc_whole_seconds_agrees_with_the_general_parse(text: str) -> None:
    from worker.graph.wire import _parse_instant

    general = _parse_instant(text)
    expected = (general if general.tzinfo else general.replace(tzinfo=UTC)).astimezone(UTC)
    assert graph_datetime({"dateTime": text, "timeZone": "UTC"}) == expected


@pytest.mark.parametrize("zone", ["UTC", "Pacific Standard Time", "Europe/Paris"])
@pytest.mark.parametrize("text", FAST_PATH_TEXTS)
def test_graph_seconds_are_the_same_instant_rounded_down_or_up_memo_or_not(text: str, zone: str) -> None:
    value = {"dateTime": text, "timeZone": zone}
    instant = graph_datetime(value)
    floor, ceil = to_seconds(instant), to_seconds_ceil(instant)
    for _ in range(2):  # the second read of a whole-second UTC text comes from the memo
        assert graph_seconds(value) == floor and graph_seconds(value, ceil=True) == ceil


def test_the_seconds_memo_stays_bounded() -> None:
    wire._SECONDS.clear()
    start = datetime(2027, 1, 4, tzinfo=UTC)
    for minute in range(wire._SECONDS_BOUND + 10):
        text = f"{start + timedelta(minutes=minute):%Y-%m-%dT%H:%M:%S}.0000000"
        assert graph_seconds({"dateTime": text, "timeZone": "UTC"}) == to_seconds(start) + 60 * minute
    assert len(wire._SECONDS) <= wire._SECONDS_BOUND


@pytest.mark.parametrize(
    "value",
    [None, "2027-01-04T09:00:00", {}, {"timeZone": "UTC"}, {"dateTime": "", "timeZone": "UTC"},
     {"dateTime": 1799999999, "timeZone": "UTC"}, {"dateTime": ["2027"], "timeZone": "UTC"},
     {"dateTime": "2027-13-45T25:61:00", "timeZone": "UTC"}, {"dateTime": "yesterday", "timeZone": "UTC"},
     {"dateTime": "2027-01-04T09:00:00.0000000", "timeZone": "Mars/Olympus"}],
)
def test_malformed_date_times_raise_the_same_value_error_either_way(value: object) -> None:
    with pytest.raises(ValueError) as as_datetime:
        graph_datetime(value)
    for _ in range(2):
        with pytest.raises(ValueError) as as_seconds:
            graph_seconds(value)
        assert type(as_seconds.value) is type(as_datetime.value)
        assert str(as_seconds.value) == str(as_datetime.value)


def test_schedule_items_become_busy_seconds_sorted_with_free_time_left_out() -> None:
    def item(status: str, start: str, end: str) -> dict[str, object]:
        return {"status": status, "start": {"dateTime": start, "timeZone": "UTC"},
                "end": {"dateTime": end, "timeZone": "UTC"}}

    info = {"scheduleId": "Adele@Contoso.com", "scheduleItems": [
        item("tentative", "2027-01-04T10:00:00.0000000", "2027-01-04T10:30:00.0000000"),
        item("free", "2027-01-04T08:00:00.0000000", "2027-01-04T09:00:00.0000000"),
        item("busy", "2027-01-04T09:00:00.2500000", "2027-01-04T09:29:59.5000000"),
        item("oof", "2027-01-04T09:00:00.0000000", "2027-01-04T09:15:00.0000000"),
    ]}
    horizon = Interval(datetime(2027, 1, 4, tzinfo=UTC), datetime(2027, 1, 5, tzinfo=UTC))
    schedule = wire.schedule_from_json(info, horizon)
    at = datetime(2027, 1, 4, 9, tzinfo=UTC)
    assert schedule.address == "adele@contoso.com"
    assert schedule.busy == (
        Busy.between(at, at + timedelta(minutes=15), BusyStatus.OOF),
        Busy.between(at, at + timedelta(minutes=30), BusyStatus.BUSY),  # fractions widened to whole seconds
        Busy.between(at + timedelta(hours=1), at + timedelta(hours=1, minutes=30), BusyStatus.TENTATIVE),
    )


def test_property_names_and_odata_literals() -> None:
    assert odata_quote("o'brien") == "'o''brien'"
    assert property_name("String {28e90dc3-3916-5e43-9cd6-8dddf5b2bd17} Name key") == "key"
    assert property_name("String {00000000-0000-0000-0000-000000000000} Name key") is None


def test_counting_occurrences_of_an_ended_series_matches_a_brute_force_walk() -> None:
    weekly = Recurrence(Cadence(CadenceKind.WEEKLY, 2), 0, date(2026, 1, 5), 0, "UTC")
    brute = [date(2026, 1, 5) + timedelta(days=d) for d in range(0, 120)]
    mondays = [d for d in brute if d.weekday() == 0 and ((d - date(2026, 1, 5)).days // 7) % 2 == 0]
    assert _count_until(weekly, date(2026, 3, 30)) == len([d for d in mondays if d <= date(2026, 3, 30)])

    monthly = Recurrence(Cadence(CadenceKind.MONTHLY), 3, date(2026, 1, 29), 0, "UTC", WeekIndex.LAST)
    assert nth_weekday(2026, 1, 3, WeekIndex.LAST) == date(2026, 1, 29)
    assert nth_weekday(2026, 2, 3, WeekIndex.SECOND) == date(2026, 2, 12)
    assert _count_until(monthly, date(2026, 4, 30)) == 4  # Jan 29, Feb 26, Mar 26, Apr 30
