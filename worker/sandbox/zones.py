"""The sandbox's own time zones: Windows and IANA names, Outlook's customTimeZone, Graph's wire forms.

Where it sits: every handler that reads or writes a ``dateTimeTimeZone`` (events, getSchedule,
calendarView, mailboxSettings) goes through here, and so does ``recurrence`` for wall-clock times.
It shares nothing with the worker's zone code, on purpose: an emulator that reuses the client's
conversions would agree with the client's mistakes.

Facts it rests on (../shared/graph/NOTES.md §1, §11):
- Graph names zones the Windows way by default ("Pacific Standard Time") and also accepts IANA names;
  the Windows -> IANA table is CLDR's windowsZones.xml as shipped by tzlocal (``win_tz``/``tz_win``).
- An unknown zone is a 400 with code ``TimeZoneNotSupportedException`` (seen in a user's capture of
  ``POST /me/calendars/{id}/events``; the message text below is [inference], no capture shows it whole).
- ``customTimeZone`` follows the Windows TIME_ZONE_INFORMATION convention, UTC = local + bias (the
  docs' Pacific example has ``bias: 480``), daylight time adds ``daylightBias`` (-60), and each
  transition is "the ``dayOccurrence``-th ``dayOfWeek`` of ``month`` at ``time``", occurrence 5 meaning
  the last one. ``month: 0`` means the zone has no daylight time. A non-zero ``year`` limits the rule to
  that year. [inference from Windows' SYSTEMTIME rules; the Graph docs say no more]
- Graph prints ``dateTime`` with seven fractional digits and no offset: "2019-03-15T09:00:00.0000000".
- ``Prefer: outlook.timezone="..."`` picks the zone of the times in a response; without it, UTC.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from tzlocal.windows_tz import tz_win, win_tz

from worker.sandbox.errors import GraphError

CUSTOM_ZONE_NAME = "Customized Time Zone"
_GRAPH_FORMAT = "%Y-%m-%dT%H:%M:%S"
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Graph's own spellings of UTC in originalStartTimeZone and friends, besides the zone names proper.
_UTC_ALIASES = frozenset({"utc", "tzone://microsoft/utc", "etc/utc", "z"})


class UnknownTimeZone(GraphError):
    """A zone name Graph does not know: 400 ``TimeZoneNotSupportedException``."""

    def __init__(self, name: str) -> None:
        super().__init__(
            400,
            "TimeZoneNotSupportedException",
            "A valid TimeZone value must be specified. The following TimeZone value is not supported: "
            f"'{name}'.",
        )
        self.name = name


class InvalidDateTime(GraphError):
    """A ``dateTime`` that is not an ISO 8601 date and time: 400 as Graph's reader answers."""

    def __init__(self, value: str) -> None:
        super().__init__(
            400,
            "RequestBodyRead",
            f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTime'.",
        )


# --- named zones ----------------------------------------------------------------------------------------


@cache
def _windows_by_folded() -> dict[str, str]:
    return {name.lower(): name for name in win_tz}


@cache
def _iana_by_folded() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if name != "Factory"}


def windows_name(name: str) -> str | None:
    """The canonical spelling of a Windows zone name, matched case-insensitively; None if not one."""
    return _windows_by_folded().get(name.strip().lower())


@cache
def resolve_zone(name: str) -> tzinfo:
    """A tzinfo for a Windows or IANA zone name, as Graph accepts in ``timeZone`` and ``Prefer``.

    Raises ``UnknownTimeZone`` for anything else, including the ``Customized Time Zone`` label, which
    names no rule by itself (use ``custom_zone`` with the offsets that come with it).
    """
    folded = name.strip().lower() if isinstance(name, str) else ""
    if folded in _UTC_ALIASES:
        return ZoneInfo("UTC")
    windows = _windows_by_folded().get(folded)
    if windows is not None:
        return ZoneInfo(win_tz[windows])
    iana = _iana_by_folded().get(folded)
    if iana is not None:
        return ZoneInfo(iana)
    raise UnknownTimeZone(str(name))


def to_windows(name: str) -> str:
    """The Windows name Graph would print for an IANA (or already Windows) zone name."""
    windows = windows_name(name)
    if windows is not None:
        return windows
    if name.strip().lower() in _UTC_ALIASES:
        return "UTC"
    iana = _iana_by_folded().get(name.strip().lower())
    if iana is not None and iana in tz_win:
        return tz_win[iana]
    if iana is not None:
        key = getattr(resolve_zone(iana), "key", iana)
        if key in tz_win:
            return tz_win[key]
    raise UnknownTimeZone(name)


def localize(naive: datetime, zone: tzinfo) -> datetime:
    """A wall-clock time made aware in ``zone``; a time in a DST gap moves forward by the gap.

    On an ambiguous (fall-back) time the first instance wins, as ``fold=0`` means.
    """
    aware = naive.replace(tzinfo=zone, fold=0)
    settled = aware.astimezone(UTC).astimezone(zone)
    return settled if settled.replace(tzinfo=None) != naive else aware


# --- Outlook's customTimeZone ---------------------------------------------------------------------------


def _time_of_day(value: Any) -> time:
    if isinstance(value, time):
        return value
    text = str(value or "00:00:00")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?", text)
    if not match:
        raise ValueError(f"not a time of day: {text!r}")
    hour, minute, second, fraction = match.groups()
    return time(int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(7, "0")[:6]))


class _Transition:
    """'The n-th weekday of month at time' (n = 5: the last one), in one year or every year."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.month = int(spec.get("month") or 0)
        self.occurrence = int(spec.get("dayOccurrence") or 1)
        day = str(spec.get("dayOfWeek") or "sunday").lower()
        self.weekday = _DAYS.index(day)
        self.at = _time_of_day(spec.get("time"))
        self.year = int(spec.get("year") or 0)

    def wall_time(self, year: int) -> datetime | None:
        if not self.month or (self.year and self.year != year):
            return None
        first_weekday, length = calendar.monthrange(year, self.month)
        first = 1 + (self.weekday - first_weekday) % 7
        day = first + 7 * (min(self.occurrence, 5) - 1)
        while day > length:
            day -= 7
        return datetime.combine(date(year, self.month, day), self.at)


class CustomZone(tzinfo):
    """Outlook's customTimeZone as a tzinfo: standard offset -bias, daylight offset -(bias + daylightBias)."""

    def __init__(
        self,
        bias: int,
        standard_offset: Mapping[str, Any] | None,
        daylight_offset: Mapping[str, Any] | None,
        name: str = CUSTOM_ZONE_NAME,
    ) -> None:
        self.name = name
        self.standard = timedelta(minutes=-int(bias))
        daylight_bias = int((daylight_offset or {}).get("daylightBias") or 0)
        self.daylight = timedelta(minutes=-(int(bias) + daylight_bias))
        self._to_standard = _Transition(standard_offset or {})
        self._to_daylight = _Transition(daylight_offset or {})

    def __repr__(self) -> str:
        return f"CustomZone({self.name!r}, standard={self.standard}, daylight={self.daylight})"

    def _daylight_period(self, year: int) -> tuple[datetime, datetime] | None:
        """The UTC instants (naive) at which daylight time begins and ends in ``year``."""
        begins = self._to_daylight.wall_time(year)
        ends = self._to_standard.wall_time(year)
        if begins is None or ends is None or self.daylight == self.standard:
            return None
        return begins - self.standard, ends - self.daylight

    def _in_daylight(self, utc: datetime) -> bool:
        period = self._daylight_period(utc.year)
        if period is None:
            return False
        begins, ends = period
        if begins < ends:  # northern hemisphere: daylight inside the year
            return begins <= utc < ends
        return not ends <= utc < begins  # southern: daylight across New Year

    def _offset(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return self.standard
        wall = dt.replace(tzinfo=None)
        as_standard = self._in_daylight(wall - self.standard) is False
        as_daylight = self._in_daylight(wall - self.daylight) is True
        if as_standard and as_daylight:  # ambiguous: fold 0 is the earlier instant
            earlier = max(self.standard, self.daylight)
            later = min(self.standard, self.daylight)
            return earlier if dt.fold == 0 else later
        if as_standard:
            return self.standard
        if as_daylight:
            return self.daylight
        # In a gap: fold 0 reads the time with the offset in force before the jump (PEP 495).
        before_jump = (
            self.daylight if self._in_daylight(wall - self.daylight - timedelta(hours=3)) else self.standard
        )
        after_jump = self.daylight if before_jump == self.standard else self.standard
        return before_jump if dt.fold == 0 else after_jump

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return self._offset(dt)

    def dst(self, dt: datetime | None) -> timedelta:
        return self._offset(dt) - self.standard

    def tzname(self, dt: datetime | None) -> str:
        return self.name

    def fromutc(self, dt: datetime) -> datetime:
        utc = dt.replace(tzinfo=None)
        offset = self.daylight if self._in_daylight(utc) else self.standard
        local = (utc + offset).replace(tzinfo=self)
        if local.utcoffset() != offset:  # the second instance of an ambiguous wall time
            local = local.replace(fold=1)
        return local


def custom_zone(
    bias: int,
    standard_offset: Mapping[str, Any] | None,
    daylight_offset: Mapping[str, Any] | None,
    *,
    name: str = CUSTOM_ZONE_NAME,
) -> CustomZone:
    """Outlook's customTimeZone (``bias``, ``standardOffset``, ``daylightOffset``) as a tzinfo."""
    return CustomZone(bias, standard_offset, daylight_offset, name)


def zone_of(time_zone: Mapping[str, Any]) -> tzinfo:
    """The tzinfo of a timeZoneBase value: a named zone, or a customTimeZone with its own rules."""
    odata_type = str(time_zone.get("@odata.type", "")).lstrip("#").lower()
    if odata_type.endswith("customtimezone") or "bias" in time_zone:
        return custom_zone(
            int(time_zone.get("bias") or 0),
            time_zone.get("standardOffset"),
            time_zone.get("daylightOffset"),
            name=str(time_zone.get("name") or CUSTOM_ZONE_NAME),
        )
    return resolve_zone(str(time_zone.get("name") or ""))


# --- Graph's wire forms ---------------------------------------------------------------------------------

_DATE_TIME = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<clock>\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d{1,7})\d*)?)?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)


def parse_graph_datetime(value: str) -> tuple[datetime, timedelta | None]:
    """Graph's ``dateTime`` text as (naive wall-clock time, offset if the text carried one)."""
    match = _DATE_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match:
        raise InvalidDateTime(str(value))
    clock = match["clock"] or "00:00:00"
    try:
        naive = datetime.fromisoformat(f"{match['date']}T{clock}")
    except ValueError as bad:
        raise InvalidDateTime(value) from bad
    naive = naive.replace(microsecond=int((match["fraction"] or "0").ljust(7, "0")[:6]))
    offset_text = match["offset"]
    if not offset_text:
        return naive, None
    if offset_text.upper() == "Z":
        return naive, timedelta(0)
    sign = -1 if offset_text[0] == "-" else 1
    digits = offset_text[1:].replace(":", "")
    return naive, sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))


def parse_date_time_time_zone(value: Mapping[str, Any]) -> datetime:
    """A ``{"dateTime", "timeZone"}`` value as an aware datetime in its zone.

    The wall-clock time is read in ``timeZone`` (UTC when absent). If the text carries its own offset
    ("...Z", "+02:00"), that offset fixes the instant, which is then expressed in ``timeZone``.
    """
    zone = resolve_zone(str(value.get("timeZone") or "UTC"))
    naive, offset = parse_graph_datetime(str(value.get("dateTime", "")))
    if offset is not None:
        return (naive - offset).replace(tzinfo=UTC).astimezone(zone)
    return localize(naive, zone)


def format_graph_datetime(local: datetime) -> str:
    """A wall-clock time as Graph prints it: seconds and seven fractional digits, no offset."""
    return local.strftime(_GRAPH_FORMAT) + f".{local.microsecond:06d}0"


def format_in_zone(dt: datetime, zone_name: str | None) -> tuple[str, str]:
    """An aware instant as Graph's (dateTime, timeZone) pair in ``zone_name`` (UTC when None)."""
    if dt.tzinfo is None:
        raise ValueError("format_in_zone needs an aware datetime")
    name = zone_name or "UTC"
    return format_graph_datetime(dt.astimezone(resolve_zone(name))), name


# --- Prefer header --------------------------------------------------------------------------------------

_PREFERENCE = re.compile(
    r'\s*(?P<name>[^\s=;,"]+)\s*(?:=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^\s;,"]*)))?'
    r'(?P<params>(?:\s*;\s*[^\s=;,"]+\s*(?:=\s*(?:"(?:[^"\\]|\\.)*"|[^\s;,"]*))?)*)\s*(?:,|\Z)'
)


def parse_prefer(headers: str | Iterable[str] | None) -> dict[str, str | None]:
    """The preferences of one or more ``Prefer`` header values (RFC 7240), names folded to lower case.

    The first occurrence of a preference wins, as RFC 7240 asks; parameters after ``;`` are ignored.
    """
    values = [headers] if isinstance(headers, str) else list(headers or [])
    found: dict[str, str | None] = {}
    for header in values:
        position = 0
        while position < len(header):
            match = _PREFERENCE.match(header, position)
            if not match or match.end() == position:
                break  # malformed remainder: ignore it, as servers ignore preferences they cannot read
            position = match.end()
            quoted = match["quoted"]
            value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match["token"]
            found.setdefault(match["name"].lower(), value)
    return found


def prefer_time_zone(headers: str | Iterable[str] | None) -> str | None:
    """The zone named by ``Prefer: outlook.timezone="..."``, or None (then Graph answers in UTC)."""
    value = parse_prefer(headers).get("outlook.timezone")
    return (value.strip() or None) if value else None
