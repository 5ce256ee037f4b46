"""Hot reads mapped from Graph's JSON straight to crossgen's types, without msgraph models.

Why: msgraph-sdk 1.x deserialises every ``entity`` through a method that runs ~2,400 ``import``
statements, and every model through kiota's backing store; an event with its extended properties costs
~0.2 s of CPU, a getSchedule answer for 20 people about a second. A programme of a few thousand pairs
would be CPU-bound long before Graph's limits. So the three reads that scale with the programme
(getSchedule, event listings, occurrences) take the response body as bytes through the same adapter,
middleware, pacing and error mapping, and this module maps the JSON. The shapes are Graph's documented
ones (``schedule_information``, ``event``, ``patternedRecurrence``); the rules are those of ``mapping``,
whose helpers are reused so both paths agree.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, tzinfo
from operator import attrgetter
from typing import Any

from worker.core.intervals import to_seconds, to_seconds_ceil
from worker.core.ratings import InboxMessage
from worker.core.types import (
    Attendee,
    Busy,
    BusyStatus,
    Cadence,
    CadenceKind,
    Interval,
    OccurrenceInfo,
    Recurrence,
    Response,
    Schedule,
    SeriesInfo,
    WeekIndex,
    WorkingHours,
)
from worker.graph.mapping import _DAYS, _FRACTION, KEY_PROPERTY, _count_until, property_name
from worker.graph.zones import FixedRuleZone, UnknownZone, iana_name, resolve_zone

Json = dict[str, Any]


class WireError(ValueError):
    """A response body that is not the JSON Graph documents (the caller turns it into a GraphError)."""


def loads(body: bytes | None) -> Json:
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise WireError(f"response is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise WireError("response is not a JSON object")
    return data


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _parse_instant(text: str) -> datetime:
    text = text.strip().replace("Z", "+00:00")
    # Graph writes seven fractional digits; fromisoformat takes at most six.
    return datetime.fromisoformat(_FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1))


def instant(value: Any) -> datetime:
    """An Edm.DateTimeOffset such as createdDateTime, as an aware UTC datetime."""
    parsed = _parse_instant(_text(value) or "")
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


_WHOLE_SECONDS = frozenset({"", ".0000000", ".000000", ".0"})


def _whole_utc_seconds(text: str) -> datetime | None:
    """The shape getSchedule and event reads send for every item ("2027-01-04T07:00:00.0000000" with
    timeZone UTC) parsed without the general path, which a run takes hundreds of thousands of times;
    None for any other shape. The separators are checked so that "2027-01-04T07:00+01" (an offset
    where the seconds would be) goes to the general path, which applies the offset."""
    if len(text) >= 19 and text[19:] in _WHOLE_SECONDS and text[10] == "T" and text[13] == text[16] == ":":
        return datetime.fromisoformat(text[:19]).replace(tzinfo=UTC)
    return None


def graph_datetime(value: Any) -> datetime:
    """A dateTimeTimeZone object as an aware UTC datetime (raises ValueError when malformed)."""
    if not isinstance(value, dict) or not _text(value.get("dateTime")):
        raise ValueError("dateTimeTimeZone without a dateTime")
    text = value["dateTime"]
    if value.get("timeZone") == "UTC" and (fast := _whole_utc_seconds(text)) is not None:
        return fast
    parsed = _parse_instant(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=resolve_zone(_text(value.get("timeZone")) or "UTC"))
    return parsed.astimezone(UTC)


# Whole-second UTC dateTime texts already read, as epoch seconds. Across a programme the same instants
# recur (meetings start on the hour and half hour), so most busy items are two dict lookups; cleared
# whenever it reaches the bound, so a long-running process never holds more than that. Measured on the
# slot bench's 901,771 items (2,586 distinct instants): schedule_from_json 2.3 s with it, 5.2 s without.
_SECONDS: dict[str, int] = {}
_SECONDS_BOUND = 50_000


def graph_seconds(value: Any, *, ceil: bool = False) -> int:
    """A dateTimeTimeZone object as whole UTC seconds since the epoch, rounded down (or up with
    ``ceil``), for ``Busy``. The same instant and the same ValueError as ``graph_datetime``."""
    if type(value) is dict and value.get("timeZone") == "UTC" and type(text := value.get("dateTime")) is str:
        seconds = _SECONDS.get(text)
        if seconds is not None:
            return seconds
        fast = _whole_utc_seconds(text)
        if fast is not None:
            seconds = int(fast.timestamp())
            if len(_SECONDS) >= _SECONDS_BOUND:
                _SECONDS.clear()
            _SECONDS[text] = seconds
            return seconds
    instant = graph_datetime(value)
    return to_seconds_ceil(instant) if ceil else to_seconds(instant)


def _clock(text: Any) -> time | None:
    if not isinstance(text, str) or not text:
        return None
    return time.fromisoformat(_FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1))


def _rule(offset: Any) -> dict[str, Any] | None:
    if not isinstance(offset, dict) or not offset.get("month") or _clock(offset.get("time")) is None:
        return None
    return {
        "month": int(offset["month"]),
        "dayOfWeek": _text(offset.get("dayOfWeek")) or "sunday",
        "dayOccurrence": int(offset.get("dayOccurrence") or 1),
        "time": _clock(offset.get("time")),
    }


def zone_from_json(time_zone: Any) -> tuple[tzinfo, str]:
    """A timeZoneBase (IANA or Windows name) or customTimeZone as (tzinfo, the name Graph used)."""
    zone = time_zone if isinstance(time_zone, dict) else {}
    name = _text(zone.get("name")) or "UTC"
    if zone.get("bias") is not None or "customtimezone" in _text(zone.get("@odata.type")).lower():
        daylight = zone.get("daylightOffset")
        return FixedRuleZone(
            bias=int(zone.get("bias") or 0),
            daylight_bias=int((daylight or {}).get("daylightBias") or 0) if isinstance(daylight, dict) else 0,
            standard_rule=_rule(zone.get("standardOffset")),
            daylight_rule=_rule(daylight),
            name=name,
        ), name
    return resolve_zone(name), name


def working_hours_from_json(hours: Any) -> WorkingHours | None:
    """Outlook working hours in the person's own zone; None when absent or in a zone nobody knows."""
    if not isinstance(hours, dict):
        return None
    start, end = _clock(hours.get("startTime")), _clock(hours.get("endTime"))
    if start is None or end is None:
        return None
    try:
        zone, name = zone_from_json(hours.get("timeZone"))
    except UnknownZone:
        return None
    days = frozenset(_DAYS.index(d.lower()) for d in hours.get("daysOfWeek") or [] if str(d).lower() in _DAYS)
    return WorkingHours(days=days, start=start, end=end, zone=zone, zone_name=name)


_STATUSES = {s.value.lower(): s for s in BusyStatus}
_BY_TIME = attrgetter("start_s", "end_s")


def schedule_from_json(info: Json, horizon: Interval) -> Schedule:
    address = _text(info.get("scheduleId")).lower()
    error = info.get("error")
    if isinstance(error, dict):
        code = _text(error.get("responseCode")) or "error"
        return Schedule(address, horizon, error=f"{code}: {_text(error.get('message')) or 'unresolvable'}")
    busy = []
    for item in info.get("scheduleItems") or []:
        status = _text(item.get("status")).lower() or "busy"
        if status == "free":
            continue
        mapped = _STATUSES.get(status, BusyStatus.UNKNOWN)
        busy.append(Busy(graph_seconds(item.get("start")), graph_seconds(item.get("end"), ceil=True), mapped))
    busy.sort(key=_BY_TIME)
    return Schedule(address, horizon, tuple(busy), working_hours_from_json(info.get("workingHours")))


def properties_from_json(event: Json) -> dict[str, str]:
    found: dict[str, str] = {}
    for prop in event.get("singleValueExtendedProperties") or []:
        name = property_name(_text(prop.get("id")))
        if name is not None and isinstance(prop.get("value"), str):
            found[name] = prop["value"]
    return found


def attendees_from_json(event: Json) -> tuple[Attendee, ...]:
    people = []
    for attendee in event.get("attendees") or []:
        email = attendee.get("emailAddress") or {}
        address = _text(email.get("address"))
        if not address:
            continue
        raw = _text((attendee.get("status") or {}).get("response"))
        response = next((r for r in Response if r.value.lower() == raw.lower()), Response.NONE)
        people.append(Attendee(address.lower(), response, _text(email.get("name"))))
    return tuple(people)


def recurrence_from_json(recurrence: Any, zone_name: str) -> Recurrence | None:
    if not isinstance(recurrence, dict):
        return None
    pattern, rng = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = _text(pattern.get("type"))
    days = pattern.get("daysOfWeek") or []
    if kind not in ("weekly", "relativeMonthly") or not days or not _text(rng.get("startDate")):
        return None
    kind_of = CadenceKind.WEEKLY if kind == "weekly" else CadenceKind.MONTHLY
    cadence = Cadence(kind_of, int(pattern.get("interval") or 1))
    index = None
    if kind == "relativeMonthly":
        raw = (_text(pattern.get("index")) or "first").lower()
        index = next(w for w in WeekIndex if w.value == raw)
    zone = iana_name(_text(rng.get("recurrenceTimeZone")) or zone_name)
    start = date.fromisoformat(rng["startDate"])
    rec = Recurrence(cadence, _DAYS.index(str(days[0]).lower()), start, 0, zone, index)
    range_type = _text(rng.get("type"))
    if range_type == "numbered":
        count = int(rng.get("numberOfOccurrences") or 0)
    elif range_type == "endDate" and _text(rng.get("endDate")):
        count = _count_until(rec, date.fromisoformat(rng["endDate"]))
    else:
        count = 0  # noEnd: we never create those; 0 marks "open"
    return Recurrence(cadence, rec.weekday, rec.start, count, zone, index)


def is_series(event: Json) -> bool:
    return event.get("recurrence") is not None or _text(event.get("type")) == "seriesMaster"


def series_from_json(event: Json, organizer: str) -> SeriesInfo:
    props = properties_from_json(event)
    start = event.get("start") or {}
    zone_name = iana_name(_text(event.get("originalStartTimeZone")) or _text(start.get("timeZone")) or "UTC")
    meeting = event.get("onlineMeeting")
    return SeriesInfo(
        id=_text(event.get("id")),
        organizer=organizer.lower(),
        key=props.get(KEY_PROPERTY, ""),
        start=graph_datetime(event.get("start")),
        end=graph_datetime(event.get("end")),
        zone_name=zone_name,
        recurrence=recurrence_from_json(event.get("recurrence"), zone_name),
        attendees=attendees_from_json(event),
        subject=_text(event.get("subject")),
        join_url=(_text(meeting.get("joinUrl")) or None) if isinstance(meeting, dict) else None,
        properties=props,
        created=instant(event["createdDateTime"]) if _text(event.get("createdDateTime")) else None,
    )


def occurrence_from_json(event: Json) -> OccurrenceInfo:
    original = _text(event.get("originalStart"))
    original_start = _parse_instant(original) if original else None
    if original_start is not None and original_start.tzinfo is None:
        original_start = original_start.replace(tzinfo=UTC)  # a DateTimeOffset with no offset is UTC
    return OccurrenceInfo(
        id=_text(event.get("id")),
        series_id=_text(event.get("seriesMasterId")),
        start=graph_datetime(event.get("start")),
        end=graph_datetime(event.get("end")),
        original_start=original_start.astimezone(UTC) if original_start else None,
        is_exception=_text(event.get("type")) == "exception",
        is_cancelled=bool(event.get("isCancelled")),
        attendees=attendees_from_json(event),
        properties=properties_from_json(event),
    )


def inbox_message(message: Json, mailbox: str) -> InboxMessage | None:
    """One Inbox message as ``ratings.judge`` reads it: its From address (``from``; a message a client
    sent on someone's behalf names them in ``sender`` too, and ``from`` is who it claims to be from),
    received time, subject, categories, and the plain-text body when it was asked for. None for an
    item with no id or no sender (a draft, a system item)."""
    sent_by = ((message.get("from") or {}).get("emailAddress") or {}).get("address")
    if not message.get("id") or not sent_by or not message.get("receivedDateTime"):
        return None
    body = message.get("body") or {}
    on_behalf = ((message.get("sender") or {}).get("emailAddress") or {}).get("address") or ""
    return InboxMessage(
        id=str(message["id"]),
        mailbox=mailbox,
        sender=str(sent_by),
        received=instant(message["receivedDateTime"]),
        subject=_text(message.get("subject")),
        categories=tuple(str(c) for c in message.get("categories") or ()),
        body=_text(body.get("content")) if body.get("contentType", "text") == "text" else "",
        sent_by="" if str(on_behalf).lower() == str(sent_by).lower() else str(on_behalf),
    )
