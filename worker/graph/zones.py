"""Time zones as Graph names them, turned into tzinfo objects the core can compute with.

Graph speaks three dialects (NOTES §1, §11): Windows names ("W. Europe Standard Time", the default),
IANA names (when the admin set the mailbox up that way), and Outlook's "Customized Time Zone", a rule
given as a bias and two yearly transitions that maps to no IANA zone. Windows names go through CLDR's
table as tzlocal ships it (``win_tz``); custom zones become :class:`FixedRuleZone`.

For what we *send* (event start/end, recurrenceTimeZone) we use the Windows name when CLDR has one:
Windows names are Graph's default and all of them are supported, while only a listed subset of IANA names
is accepted for dateTimeTimeZone (NOTES §3: "the Windows zones plus 99 additional IANA names").
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import tz_win, win_tz

CUSTOM_ZONE_NAME = "Customized Time Zone"
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_UTC_NAMES = {"utc", "etc/utc", "gmt", "z", "coordinated universal time", "tzone://microsoft/utc"}


class UnknownZone(ValueError):
    """A zone name neither IANA nor Windows (CLDR) knows."""


# CLDR's Windows table still names some zones by the IANA names they had when it was written; the tz
# database keeps those only as links ("backward"). People read the current names (Kolkata, Kathmandu,
# Kyiv), and a series may now be booked in a participant's zone, so Windows names map to them.
_CURRENT_NAMES = {
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Rangoon": "Asia/Yangon",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Europe/Kiev": "Europe/Kyiv",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "America/Godthab": "America/Nuuk",
    "America/Indianapolis": "America/Indiana/Indianapolis",
}


def _windows_to_iana(name: str) -> str | None:
    iana = win_tz.get(name)
    return _CURRENT_NAMES.get(iana, iana) if iana else None


def resolve_zone(name: str) -> tzinfo:
    """An IANA or Windows zone name as a ZoneInfo."""
    clean = name.strip()
    if clean.lower() in _UTC_NAMES:
        return UTC
    iana = _windows_to_iana(clean)
    for candidate in (iana, clean):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    raise UnknownZone(f"unknown time zone {name!r}")


def iana_name(name: str) -> str:
    """The IANA spelling of a Graph zone name (Windows names via CLDR's territory-001 default)."""
    clean = name.strip()
    if clean.lower() in _UTC_NAMES:
        return "UTC"
    return _windows_to_iana(clean) or clean


def windows_name(iana: str) -> str:
    """What we send Graph for an IANA zone: its Windows name if CLDR maps it, else the IANA name itself."""
    if iana.strip().lower() in _UTC_NAMES:
        return "UTC"
    return tz_win.get(iana.strip(), iana.strip())


def _transition(year: int, rule: dict[str, Any]) -> datetime:
    """The local wall-clock moment of a Windows transition rule (dayOccurrence 5 = last) in ``year``."""
    month = int(rule["month"])
    weekday = _DAYS.index(str(rule["dayOfWeek"]).lower())
    occurrence = int(rule["dayOccurrence"])
    days = [
        d
        for d in calendar.Calendar().itermonthdates(year, month)
        if d.month == month and d.weekday() == weekday
    ]
    day: date = days[min(occurrence, len(days)) - 1]
    return datetime.combine(day, rule["time"])


class FixedRuleZone(tzinfo):
    """Outlook's customTimeZone: a standard offset and an optional yearly daylight-saving rule.

    ``bias`` follows the Windows convention (UTC = local + bias, in minutes: Pacific is +480), which is
    what Graph's own example shows (NOTES §1). Each rule is ``{"month", "dayOfWeek", "dayOccurrence",
    "time"}`` with ``time`` a ``datetime.time``; ``month`` 0 (or no daylight rule) means no DST. The
    daylight rule's time is in standard time, the standard rule's in daylight time, as in Windows.
    """

    def __init__(
        self,
        *,
        bias: int,
        standard_bias: int = 0,
        daylight_bias: int = 0,
        standard_rule: dict[str, Any] | None = None,
        daylight_rule: dict[str, Any] | None = None,
        name: str = CUSTOM_ZONE_NAME,
    ) -> None:
        self._std = timedelta(minutes=-(bias + standard_bias))
        self._dst = timedelta(minutes=-(bias + daylight_bias))
        has_dst = bool(
            standard_rule
            and daylight_rule
            and int(standard_rule.get("month") or 0)
            and int(daylight_rule.get("month") or 0)
            and self._std != self._dst
        )
        self._rules = (daylight_rule, standard_rule) if has_dst else None
        self._name = name
        self._windows: dict[int, tuple[datetime, datetime]] = {}

    def __repr__(self) -> str:
        return f"FixedRuleZone(std={self._std}, dst={self._dst}, rules={self._rules is not None})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixedRuleZone) and (self._std, self._dst, self._rules) == (
            other._std,
            other._dst,
            other._rules,
        )

    def __hash__(self) -> int:
        return hash((self._std, self._dst))

    def _local_window(self, year: int) -> tuple[datetime, datetime] | None:
        if self._rules is None:
            return None
        if year not in self._windows:
            daylight_rule, standard_rule = self._rules
            assert daylight_rule is not None and standard_rule is not None
            self._windows[year] = (_transition(year, daylight_rule), _transition(year, standard_rule))
        return self._windows[year]

    def _is_dst_local(self, dt: datetime) -> bool:
        window = self._local_window(dt.year)
        if window is None:
            return False
        start, end = window
        naive = dt.replace(tzinfo=None)
        shift = self._dst - self._std  # usually one hour
        if start <= end:  # northern hemisphere: summer inside the year
            if end - shift <= naive < end:  # the repeated hour: first pass is daylight time
                return dt.fold == 0
            return start <= naive < end
        if end - shift <= naive < end:
            return dt.fold == 0
        return naive >= start or naive < end

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return self._std
        return self._dst if self._is_dst_local(dt) else self._std

    def dst(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return timedelta(0)
        return self._dst - self._std if self._is_dst_local(dt) else timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return self._name

    def fromutc(self, dt: datetime) -> datetime:
        naive = dt.replace(tzinfo=None)
        window = self._local_window(naive.year)
        offset = self._std
        if window is not None:
            start_utc = window[0] - self._std
            end_utc = window[1] - self._dst
            inside = (
                start_utc <= naive < end_utc
                if start_utc <= end_utc
                else (naive >= start_utc or naive < end_utc)
            )
            offset = self._dst if inside else self._std
        local = (naive + offset).replace(tzinfo=self)
        if offset == self._std and window is not None:
            # In the repeated hour after DST ends, the second pass is fold=1.
            shift = self._dst - self._std
            if window[1] - shift <= local.replace(tzinfo=None) < window[1]:
                local = local.replace(fold=1)
        return local


def parse_graph_time(value: Any) -> time:
    """Edm.TimeOfDay (``"08:00:00.0000000"``) or an SDK-parsed ``time``."""
    if isinstance(value, time):
        return value
    text = str(value)
    head, _, frac = text.partition(".")
    parsed = time.fromisoformat(head)
    return parsed.replace(microsecond=int((frac + "000000")[:6])) if frac else parsed
