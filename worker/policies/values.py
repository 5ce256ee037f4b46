"""The small languages a programme lead writes in YAML, parsed into values the worker computes with.

Each parser takes what YAML produced (usually text) and returns a value or raises a
``PydanticCustomError`` whose message is the sentence shown to the lead after ``FILE:LINE:COL: key:``.
They are wired into the pydantic models as ``Annotated`` types at the bottom, each with the JSON
Schema an editor needs to check the same thing as the lead types.

Decisions:
- durations take whole numbers with units of minutes, hours, days or weeks (``45m``, ``1h30m``,
  ``2 days``, ``3 weeks``); seconds are refused, nothing in a calendar is that precise;
- a bare number is refused (``45`` could be minutes or hours), so is ``1.5h`` (write ``1h30m``);
- ``HH:MM-HH:MM`` windows lie within one day (start before end); ``24:00`` is not a time;
- zone names are IANA; Windows names (``Romance Standard Time``) are mapped with CLDR's table,
  which tzlocal ships, and the IANA name is kept.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from worker.core.types import Cadence, CadenceKind


def _fail(kind: str, message: str) -> PydanticCustomError:
    # No context is passed, so pydantic leaves the message as written (braces included).
    return PydanticCustomError(kind, message)


def _text(value: Any, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str):
        raise _fail("type", f"expected {what}, got {show(value)}")
    return value.strip()


def show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return f"{value} (a number)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when one of ``choices`` is close to ``word``, else empty."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# --- durations ------------------------------------------------------------------------------------

_UNITS = {
    "w": 7 * 24 * 60, "wk": 7 * 24 * 60, "wks": 7 * 24 * 60, "week": 7 * 24 * 60, "weeks": 7 * 24 * 60,
    "d": 24 * 60, "day": 24 * 60, "days": 24 * 60,
    "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60,
    "m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1,
}  # fmt: skip
_PART = re.compile(r"(\d+)\s*([a-z]+)\s*")
DURATION_PATTERN = r"^\s*(\d+\s*(w|wks?|weeks?|d|days?|h|hrs?|hours?|m|mins?|minutes?)\s*)+$"


def parse_duration(value: Any) -> timedelta:
    """``45m``, ``1h30m``, ``2 days``, ``3 weeks`` -> timedelta (whole minutes)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _fail("duration", _bare_number(value))
    text = _text(value, "a duration like 45m or 1h30m")
    lowered = text.lower()
    clock = _CLOCK.match(lowered)
    if clock is not None:  # `1:30`, which YAML 1.1 would have read as the number 90
        hours, mins = int(clock.group(1)), int(clock.group(2))
        total = hours * 60 + mins
        spelled = format_duration(timedelta(minutes=total))
        raise _fail(
            "duration",
            f"{text!r} is a clock time, not a duration: for {_spoken(hours, mins)} write {spelled}"
            + (f" (or {total}m)" if spelled != f"{total}m" else ""),
        )
    minutes, pos = 0, 0
    for match in _PART.finditer(lowered):
        if match.start() != pos or match.group(2) not in _UNITS:
            break
        minutes += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not lowered or pos != len(lowered):
        raise _fail("duration", f"{text!r} is not a duration like 45m, 1h30m or 3 weeks")
    return timedelta(minutes=minutes)


_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)$")


def _spoken(hours: int, mins: int) -> str:
    from worker.core.words import plural

    parts = [plural(hours, "hour")] if hours else []
    if mins or not hours:
        parts.append(plural(mins, "minute"))
    return " ".join(parts)


def _bare_number(value: int | float) -> str:
    """Why a number alone is refused, and what to write instead."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value} has no unit and is not whole: write it like 1h30m or 90m (whole minutes)"
    n = int(value)
    if n >= 60:
        spelled = format_duration(timedelta(minutes=n))
        return f"{n} has no unit: write it like {n}m for minutes (that is {spelled}), or {n}h for hours"
    return f"{n} has no unit: write it like {n}m for minutes, or {n}h for hours"


def format_duration(value: timedelta) -> str:
    """The compact form (``1h30m``, ``2d``) used in summaries and fingerprints."""
    minutes = int(value.total_seconds() // 60)
    if minutes == 0:
        return "0m"
    out = ""
    for unit, size in (("d", 24 * 60), ("h", 60), ("m", 1)):
        if minutes >= size:
            out += f"{minutes // size}{unit}"
            minutes %= size
    return out


# --- cadence --------------------------------------------------------------------------------------

_CADENCE = re.compile(r"^every\s+(\d+)\s+(week|weeks|month|months)$")
# JSON Schema regexes have no inline flags: lower case and Capitalised are what a lead types.
CADENCE_PATTERN = (
    r"^\s*([Ww]eekly|[Ff]ortnightly|[Mm]onthly|[Ee]very\s+(week|month|\d+\s+(weeks?|months?)))\s*$"
)


def parse_cadence(value: Any) -> Cadence:
    """``weekly``, ``fortnightly``, ``every N weeks``, ``monthly``, ``every N months``.

    Monthly means the same weekday of the month (the 2nd Tuesday), as Graph's relativeMonthly.
    """
    text = _text(value, "a cadence like weekly, every 2 weeks or monthly")
    lowered = " ".join(text.lower().split())
    named = {
        "weekly": Cadence(CadenceKind.WEEKLY, 1),
        "every week": Cadence(CadenceKind.WEEKLY, 1),
        "fortnightly": Cadence(CadenceKind.WEEKLY, 2),
        "monthly": Cadence(CadenceKind.MONTHLY, 1),
        "every month": Cadence(CadenceKind.MONTHLY, 1),
    }
    if lowered in named:
        return named[lowered]
    match = _CADENCE.match(lowered)
    if match is None:
        raise _fail(
            "cadence", f"{text!r} is not a cadence: write weekly, every N weeks, monthly or every N months"
        )
    count = int(match.group(1))
    if count < 1:
        raise _fail("cadence", f"{text!r}: the interval must be at least 1")
    kind = CadenceKind.WEEKLY if match.group(2).startswith("week") else CadenceKind.MONTHLY
    limit = 52 if kind is CadenceKind.WEEKLY else 12
    if count > limit:
        raise _fail("cadence", f"{text!r}: an interval over {limit} {match.group(2)} is not a programme")
    return Cadence(kind, count)


# --- days -----------------------------------------------------------------------------------------

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS = {name: i for i, name in enumerate(DAY_NAMES)} | {name[:3]: i for i, name in enumerate(DAY_NAMES)}
DAY_PATTERN = (
    r"^([Mm]on(day)?|[Tt]ue(sday)?|[Ww]ed(nesday)?|[Tt]hu(rsday)?|[Ff]ri(day)?|[Ss]at(urday)?|[Ss]un(day)?)$"
)


def parse_day(value: Any) -> int:
    """``mon``..``sun`` or full names, any case -> ``datetime.weekday()`` number (Monday = 0)."""
    text = _text(value, "a day like mon or tuesday")
    day = _DAYS.get(text.lower())
    if day is None:
        raise _fail("day", f"{text!r} is not a day (mon..sun){did_you_mean(text.lower(), _DAYS)}")
    return day


def parse_days(value: Any) -> frozenset[int]:
    if not isinstance(value, list):
        raise _fail("days", f"expected a list of days like [tue, wed], got {show(value)}")
    if not value:
        raise _fail("days", "needs at least one day")
    days = [parse_day(v) for v in value]
    if len(set(days)) != len(days):
        raise _fail("days", "a day is listed twice")
    return frozenset(days)


# --- time windows ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, order=True)
class TimeWindow:
    """A wall-clock window within one day, read in each participant's own zone; ``start < end``."""

    start: time
    end: time

    @property
    def length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


_WINDOW = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
WINDOW_PATTERN = r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$"


def _later(text: str) -> str:
    """An hour after ``HH:MM`` (for an example), capped at 23:59."""
    hours, mins = (int(x) for x in text.split(":"))
    return f"{min(hours + 1, 23):02d}:{mins:02d}"


def parse_window(value: Any) -> TimeWindow:
    """``"09:30-16:30"`` -> TimeWindow; start must come before end on the same day."""
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 12:30 as the base-60 number 750.
        raise _fail("window", 'expected a window like "09:30-16:30" (in quotes), got a number')
    text = _text(value, 'a window like "09:30-16:30"')
    match = _WINDOW.match(text)
    if match is None:
        if _CLOCK.match(text):
            example = f"{text}-{_later(text)}"
            raise _fail(
                "window", f'{text!r} is one time, not a window: write its start and end, like "{example}"'
            )
        raise _fail("window", f'{text!r} is not a window like "09:30-16:30"')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise _fail("window", f"{text!r}: times run from 00:00 to 23:59")
    window = TimeWindow(time(h1, m1), time(h2, m2))
    if window.start >= window.end:
        raise _fail("window", f"{text!r} ends before it starts (a window lies within one day)")
    return window


# --- zones, addresses, dates, names ---------------------------------------------------------------


def zone_name(value: Any) -> str:
    """An IANA zone name, or a Windows zone name mapped to IANA with CLDR's table -> the IANA name."""
    text = _text(value, "a time zone like Europe/Paris")
    from worker.graph.zones import iana_name  # CLDR's table, current IANA names; here to keep `--help` fast

    iana = iana_name(text)
    try:
        ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(text, _zone_names())
        raise _fail("zone", f"{text!r} is not a known time zone (IANA like Europe/Paris){hint}") from None
    return iana


def _zone_names() -> list[str]:
    from zoneinfo import available_timezones

    return sorted(available_timezones())


_EMAIL = re.compile(
    r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@"
    r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
)
_DOMAIN = re.compile(r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"


def parse_address(value: Any) -> str:
    """An email address, lower-cased (Exchange addresses are case-insensitive; pair ids must not be)."""
    text = _text(value, "an email address")
    lowered = text.lower()
    if len(lowered) > 254 or not _EMAIL.match(lowered):
        raise _fail("address", f"{text!r} is not an email address like name@contoso.com")
    return lowered


def parse_organizers(value: Any) -> tuple[str, ...]:
    """One programme mailbox, or a list of them (the pairs are spread across them)."""
    if isinstance(value, list):
        if not value:
            raise _fail("organizer", "needs at least one mailbox")
        found = tuple(parse_address(v) for v in value)
        if len(set(found)) != len(found):
            raise _fail("organizer", "a mailbox is listed twice")
        return found
    return (parse_address(value),)


def parse_domain(value: Any) -> str:
    text = _text(value, "a mail domain like contoso.com")
    lowered = text.lower().lstrip("@")
    if not _DOMAIN.match(lowered):
        raise _fail("domain", f"{text!r} is not a mail domain like contoso.com")
    return lowered


def parse_date(value: Any) -> date:
    """A calendar date, written 2027-01-11 (YAML reads it as a date; quoted text is accepted too)."""
    if isinstance(value, datetime):
        raise _fail("date", f"expected a date like 2027-01-11 without a time, got {value.isoformat(sep=' ')}")
    if isinstance(value, date):
        return value
    text = _text(value, "a date like 2027-01-11")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail("date", f"{text!r} is not a date like 2027-01-11") from None


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NAME_PATTERN = _NAME.pattern


def parse_name(value: Any) -> str:
    """A policy, feedback or agenda name: letters, digits, ``-``, ``_`` and ``.``, as referenced elsewhere."""
    text = _text(value, "a name like fortnightly")
    if not _NAME.match(text):
        raise _fail("name", f"{text!r} is not a name: use letters, digits, '-', '_' or '.'")
    return text


def choice(*allowed: str) -> Callable[[Any], str]:
    """A validator for one of ``allowed`` (exact spelling, as Graph wants it), with a did-you-mean hint."""

    def parse(value: Any) -> str:
        text = _text(value, f"one of {', '.join(allowed)}")
        if text not in allowed:
            raise _fail("choice", f"{text!r} is not one of {', '.join(allowed)}{did_you_mean(text, allowed)}")
        return text

    return parse


def _typed(parse: Callable[[Any], Any], schema: dict[str, Any]) -> tuple[Any, ...]:
    return PlainValidator(parse), WithJsonSchema(schema)


Duration = Annotated[
    timedelta,
    *_typed(
        parse_duration,
        {"type": "string", "pattern": DURATION_PATTERN, "examples": ["45m", "1h30m", "3 weeks"]},
    ),
]
CadenceValue = Annotated[
    Cadence,
    *_typed(
        parse_cadence,
        {"type": "string", "pattern": CADENCE_PATTERN, "examples": ["weekly", "every 2 weeks", "monthly"]},
    ),
]
Days = Annotated[
    frozenset[int],
    *_typed(
        parse_days,
        {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": DAY_PATTERN},
        },
    ),
]
Window = Annotated[
    TimeWindow,
    *_typed(parse_window, {"type": "string", "pattern": WINDOW_PATTERN, "examples": ["09:30-16:30"]}),
]
ZoneName = Annotated[str, *_typed(zone_name, {"type": "string", "examples": ["Europe/Paris"]})]
Address = Annotated[str, *_typed(parse_address, {"type": "string", "pattern": EMAIL_PATTERN})]
Organizers = Annotated[
    tuple[str, ...],
    *_typed(
        parse_organizers,
        {
            "anyOf": [
                {"type": "string", "pattern": EMAIL_PATTERN},
                {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string", "pattern": EMAIL_PATTERN},
                },
            ]
        },
    ),
]
Domain = Annotated[str, *_typed(parse_domain, {"type": "string", "examples": ["contoso.com"]})]
Day = Annotated[date, *_typed(parse_date, {"type": "string", "format": "date"})]
Name = Annotated[str, *_typed(parse_name, {"type": "string", "pattern": NAME_PATTERN})]
