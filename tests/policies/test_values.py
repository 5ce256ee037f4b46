"""The small languages of the programme files: durations, cadences, days, windows, zones, addresses."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from pydantic_core import PydanticCustomError

from worker.core.types import Cadence, CadenceKind
from worker.policies.values import (
    TimeWindow,
    format_duration,
    parse_address,
    parse_cadence,
    parse_date,
    parse_day,
    parse_days,
    parse_duration,
    parse_organizers,
    parse_window,
    zone_name,
)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45m", 45),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("2h", 120),
        ("24h", 1440),
        ("3 weeks", 3 * 7 * 1440),
        ("2 days", 2 * 1440),
        ("1d12h", 36 * 60),
        ("45 minutes", 45),
        ("0m", 0),
        ("90 MIN", 90),
    ],
)
def test_durations_are_read_in_whole_minutes(text: str, minutes: int) -> None:
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["45", "1.5h", "90s", "-15m", "h", "", "45m30", "m45", "1 fortnight"])
def test_durations_without_a_known_unit_are_refused(text: str) -> None:
    with pytest.raises(PydanticCustomError, match="is not a duration"):
        parse_duration(text)


def test_a_bare_number_duration_suggests_a_unit() -> None:
    with pytest.raises(PydanticCustomError, match="45 has no unit: write it like 45m"):
        parse_duration(45)


def test_durations_format_back_compactly() -> None:
    assert [format_duration(timedelta(minutes=m)) for m in (0, 45, 90, 1440 + 30)] == [
        "0m",
        "45m",
        "1h30m",
        "1d30m",
    ]


@pytest.mark.parametrize(
    ("text", "cadence"),
    [
        ("weekly", Cadence(CadenceKind.WEEKLY, 1)),
        ("Every 2 weeks", Cadence(CadenceKind.WEEKLY, 2)),
        ("every  3   weeks", Cadence(CadenceKind.WEEKLY, 3)),
        ("every 1 week", Cadence(CadenceKind.WEEKLY, 1)),
        ("fortnightly", Cadence(CadenceKind.WEEKLY, 2)),
        ("monthly", Cadence(CadenceKind.MONTHLY, 1)),
        ("every 2 months", Cadence(CadenceKind.MONTHLY, 2)),
    ],
)
def test_cadences_map_to_the_core_cadence(text: str, cadence: Cadence) -> None:
    assert parse_cadence(text) == cadence


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("every 0 weeks", "at least 1"),
        ("every 60 weeks", "over 52 weeks"),
        ("biweekly", "is not a cadence"),
        ("daily", "is not a cadence"),
    ],
)
def test_impossible_cadences_are_refused(text: str, message: str) -> None:
    with pytest.raises(PydanticCustomError, match=message):
        parse_cadence(text)


def test_days_accept_short_and_full_names_in_any_case() -> None:
    assert parse_days(["mon", "Tuesday", "SUN"]) == frozenset({0, 1, 6})
    assert parse_day("thu") == 3


@pytest.mark.parametrize(
    ("value", "message"), [(["mon", "mon"], "twice"), ([], "at least one"), ("mon", "list")]
)
def test_bad_day_lists_are_refused(value: object, message: str) -> None:
    with pytest.raises(PydanticCustomError, match=message):
        parse_days(value)


def test_an_unknown_day_suggests_the_nearest() -> None:
    with pytest.raises(PydanticCustomError, match="did you mean 'tue'"):
        parse_day("tuw")


def test_windows_read_start_and_end_and_measure_their_length() -> None:
    window = parse_window("09:30-16:30")
    assert window == TimeWindow(time(9, 30), time(16, 30))
    assert window.length == timedelta(hours=7)
    assert str(parse_window("8:05 - 9:00")) == "08:05-09:00"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("16:30-09:30", "ends before it starts"),
        ("09:30-09:30", "ends before it starts"),
        ("09:30-24:00", "00:00 to 23:59"),
        ("9h30-16h30", "is not a window"),
        (750, "in quotes"),
    ],
)
def test_bad_windows_are_refused(value: object, message: str) -> None:
    with pytest.raises(PydanticCustomError, match=message):
        parse_window(value)


def test_windows_zone_names_are_mapped_to_iana() -> None:
    assert zone_name("Romance Standard Time") == "Europe/Paris"
    assert zone_name("India Standard Time") == "Asia/Kolkata"
    assert zone_name("Asia/Kathmandu") == "Asia/Kathmandu"


@pytest.mark.parametrize("text", ["Europe/Pariss", "Mars/Olympus", "../../etc/passwd", ""])
def test_unknown_zones_are_refused(text: str) -> None:
    with pytest.raises(PydanticCustomError, match="not a known time zone"):
        zone_name(text)


def test_addresses_are_lower_cased() -> None:
    assert parse_address(" Lea.Martin@Contoso.COM ") == "lea.martin@contoso.com"


@pytest.mark.parametrize(
    "text", ["lea", "lea@", "@contoso.com", "lea@contoso", "lea martin@contoso.com", "a@@b.com"]
)
def test_malformed_addresses_are_refused(text: str) -> None:
    with pytest.raises(PydanticCustomError, match="is not an email address"):
        parse_address(text)


def test_organizer_is_one_mailbox_or_a_list_of_distinct_ones() -> None:
    assert parse_organizers("Mentoring@contoso.com") == ("mentoring@contoso.com",)
    assert parse_organizers(["a@contoso.com", "b@contoso.com"]) == ("a@contoso.com", "b@contoso.com")
    with pytest.raises(PydanticCustomError, match="twice"):
        parse_organizers(["a@contoso.com", "A@contoso.com"])


def test_dates_accept_yaml_dates_and_iso_text_but_not_times() -> None:
    assert parse_date(date(2027, 1, 11)) == parse_date("2027-01-11") == date(2027, 1, 11)
    with pytest.raises(PydanticCustomError, match="without a time"):
        parse_date(datetime(2027, 1, 11, 9, 0))
