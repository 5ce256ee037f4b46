"""Time as Graph writes it, for the sandbox's handlers: one seam onto ``zones`` and ``recurrence``.

The handlers speak in aware UTC instants; Graph speaks in ``dateTimeTimeZone`` pairs with seven
fractional digits and a zone *name* (Windows or IANA, whatever the client used or asked for with
``Prefer: outlook.timezone``). The zone and recurrence rules themselves live in ``zones.py`` and
``recurrence.py`` (the sandbox's own, independent of the worker's); this module only adapts them to
the handlers' needs, so a change in their signatures is absorbed in one place.
"""

from __future__ import annotations

import bisect
import functools
import json
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from worker.sandbox import recurrence, zones
from worker.sandbox.errors import GraphError

GRAPH_DT = "%Y-%m-%dT%H:%M:%S"


def resolve(name: str) -> tzinfo:
    """A tzinfo for a Windows or IANA zone name; Graph's 400 (``TimeZoneNotSupportedException``) otherwise."""
    return zones.resolve_zone(name)


def parse_dtz(obj: Any) -> tuple[datetime, str, datetime]:
    """``{"dateTime", "timeZone"}`` -> (naive local wall-clock time, zone name, aware UTC instant)."""
    if not isinstance(obj, dict):
        raise GraphError(400, "ErrorInvalidRequest", "A dateTimeTimeZone value is required.")
    name = str(obj.get("timeZone") or "UTC")
    aware = zones.parse_date_time_time_zone({"dateTime": obj.get("dateTime", ""), "timeZone": name})
    return aware.replace(tzinfo=None), name, aware.astimezone(UTC)


def format_dt(instant: datetime, zone_name: str | None) -> dict[str, str]:
    """An aware instant as Graph's dateTimeTimeZone in ``zone_name`` (default UTC)."""
    name = zone_name or "UTC"
    t = instant.astimezone(resolve(name))
    # zones.format_graph_datetime's format, without strftime: this runs for every item of every listing.
    day = f"{t.year:04d}-{t.month:02d}-{t.day:02d}"
    text = f"{day}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}.{t.microsecond:06d}0"
    return {"dateTime": text, "timeZone": name}


def stamp(instant: datetime) -> str:
    """Graph's server timestamps (createdDateTime ...): UTC, seven digits, ``Z``."""
    utc = instant.astimezone(UTC)
    return utc.strftime(GRAPH_DT) + f".{utc.microsecond:06d}0Z"


def stamp_seconds(instant: datetime) -> str:
    """Mail timestamps: UTC to the second with ``Z`` (receivedDateTime ...)."""
    return instant.astimezone(UTC).strftime(GRAPH_DT) + "Z"


def prefer_zone(prefer_header: str | None) -> str | None:
    """The zone named by ``Prefer: outlook.timezone="..."``; refused like a body zone if unknown."""
    name = zones.prefer_time_zone(prefer_header)
    if name is not None:
        resolve(name)
    return name


def prefer_value(prefer_header: str | None, key: str) -> str | None:
    return zones.parse_prefer(prefer_header).get(key.lower())


def parse_query_instant(value: str) -> datetime:
    """calendarView's startDateTime/endDateTime: the offset in the value counts, none means UTC."""
    text = value.strip().replace(" ", "+")  # an unescaped "+" in a query string arrives as a space
    try:
        naive, offset = zones.parse_graph_datetime(text)
    except GraphError:
        raise GraphError(
            400, "ErrorInvalidParameter", f"The parameter value '{value}' is not valid."
        ) from None
    return (naive - (offset or timedelta(0))).replace(tzinfo=UTC)


def occurrence_starts(
    recurrence_obj: dict[str, Any],
    *,
    first_local: datetime,
    zone_name: str,
    window_start: datetime,
    window_end: datetime,
    duration: timedelta | None = None,
) -> list[datetime]:
    """UTC original starts of a series' occurrences in the window (overlapping it, given ``duration``).

    A series' starts are expanded once and kept (``_kept_starts``): the same series is asked for again
    and again (each calendarView expands every series of the mailbox, each getSchedule every series of
    the person), and a mailbox holds hundreds. A window past the kept years is expanded afresh.
    """
    key = json.dumps(recurrence_obj, sort_keys=True, default=str)
    starts, horizon = _kept_starts(key, first_local, zone_name)
    low, high = window_start.astimezone(UTC), window_end.astimezone(UTC)
    if high > horizon:
        return _expand(recurrence_obj, first_local, zone_name, window_start, window_end, duration)
    reach = duration or timedelta(0)
    # the first start that could be inside: the window's start, less how long an occurrence lasts
    i = bisect.bisect_left(starts, low - reach)
    out = []
    while i < len(starts) and starts[i] < high:
        instant = starts[i]
        if (low <= instant) if not reach else (instant + reach > low):
            out.append(instant)
        i += 1
    return out


# A series' starts are kept for this long past its first (every series the worker books ends well
# inside it); a window reaching further is expanded afresh, so a series "until 9999" or with a million
# occurrences costs what its window costs, as before, not its whole length.
_KEPT_YEARS = 10


@functools.lru_cache(maxsize=20_000)
def _kept_starts(key: str, first_local: datetime, zone_name: str) -> tuple[tuple[datetime, ...], datetime]:
    """The series' UTC starts from its first to ``_KEPT_YEARS`` later, and that horizon."""
    begin = (first_local - timedelta(days=3)).replace(tzinfo=UTC)
    horizon = begin + timedelta(days=366 * _KEPT_YEARS)
    return tuple(_expand(json.loads(key), first_local, zone_name, begin, horizon, None)), horizon


def _expand(
    recurrence_obj: dict[str, Any],
    first_local: datetime,
    zone_name: str,
    window_start: datetime,
    window_end: datetime,
    duration: timedelta | None,
) -> list[datetime]:
    pattern = recurrence_obj.get("pattern") or {}
    range_ = recurrence_obj.get("range") or {}
    zone = resolve(range_.get("recurrenceTimeZone") or zone_name)
    starts = recurrence.expand(
        pattern,
        range_,
        first_start=first_local,
        zone=zone,
        window_start=window_start,
        window_end=window_end,
        duration=duration,
    )
    return [s.astimezone(UTC) for s in starts]


def recurrence_problems(recurrence_obj: dict[str, Any]) -> list[str]:
    return list(
        recurrence.validate_recurrence(recurrence_obj.get("pattern") or {}, recurrence_obj.get("range") or {})
    )


def range_start_date(recurrence_obj: dict[str, Any]) -> date | None:
    raw = (recurrence_obj.get("range") or {}).get("startDate")
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def whole_days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400.0
