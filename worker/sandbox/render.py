"""Events as Graph shows them: the documented property set, order and literal formats.

Responses follow examples/create_event_*_response.json and event_instances_response.json: times as
``"2019-03-15T09:00:00.0000000"`` in UTC or the ``Prefer: outlook.timezone`` zone, an HTML body wrapped
in ``<html>``, the full ``patternedRecurrence`` with the service's defaults filled in, ``@odata.etag``
from the change key, ``transactionId`` only when the client set one, and ``originalStart`` on
occurrences and exceptions.
"""

from __future__ import annotations

import base64
import html
import re
from datetime import datetime
from typing import Any

from worker.sandbox import timeutil
from worker.sandbox.odata import ext_id_key
from worker.sandbox.store import EventRecord, Override, occurrence_id

NEVER = "0001-01-01T00:00:00Z"
HTML_HEAD = (
    '<html><head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head><body>'
)


def html_body(content_type: str, content: str) -> dict[str, str]:
    """Outlook stores HTML bodies as a whole document; text bodies stay text."""
    if content_type == "html" and not re.match(r"\s*<html", content, re.I):
        content = f"{HTML_HEAD}{content}</body></html>"
    return {"contentType": content_type, "content": content}


def html_escape(text: str) -> str:
    return html.escape(text, quote=True)


def html_to_text(content: str) -> str:
    """An HTML body as the text Exchange gives for ``outlook.body-content-type="text"``: blocks and
    breaks become line breaks, tags go, entities are decoded."""
    text = re.sub(r"(?is)<(head|style|script)[^>]*>.*?</\1>", "", content)
    text = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|li|h[1-6])>", "\r\n", text)
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    return text.strip()


def preview(body: dict[str, Any] | None) -> str:
    if not body:
        return ""
    text = body.get("content") or ""
    if body.get("contentType") == "html":
        text = re.sub(r"(?is)<(head|style|script)[^>]*>.*?</\1>", " ", text)
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return " ".join(text.split())[:255]


def change_key(rec: EventRecord, extra: str = "") -> str:
    raw = f"{rec.id}:{rec.version}:{extra}".encode()
    return base64.b64encode(raw[-24:]).decode()


def recurrence_json(recurrence: dict[str, Any] | None, zone: str) -> dict[str, Any] | None:
    if recurrence is None:
        return None
    pattern, range_ = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = pattern.get("type")
    out_pattern = {
        "type": kind,
        "interval": pattern.get("interval", 1),
        "month": pattern.get("month", 0),
        "dayOfMonth": pattern.get("dayOfMonth", 0),
        "daysOfWeek": pattern.get("daysOfWeek", []),
        "firstDayOfWeek": pattern.get("firstDayOfWeek", "sunday"),
        "index": pattern.get("index", "first"),
    }
    out_range = {
        "type": range_.get("type"),
        "startDate": range_.get("startDate"),
        "endDate": range_.get("endDate", "0001-01-01"),
        "recurrenceTimeZone": range_.get("recurrenceTimeZone") or zone,
        "numberOfOccurrences": range_.get("numberOfOccurrences", 0),
    }
    return {"pattern": out_pattern, "range": out_range}


def _location(loc: dict[str, Any] | None) -> dict[str, Any]:
    """The event's ``location`` as Outlook echoes it: a private unique id equal to the display name."""
    if not loc or not loc.get("displayName"):
        return {
            "displayName": "",
            "locationType": "default",
            "uniqueIdType": "unknown",
            "address": {},
            "coordinates": {},
        }
    out = {"displayName": loc["displayName"], "locationType": loc.get("locationType", "default")}
    out["uniqueId"] = loc.get("uniqueId", loc["displayName"])
    out["uniqueIdType"] = loc.get("uniqueIdType", "private")
    for key in ("address", "coordinates", "locationEmailAddress", "locationUri"):
        if key in loc:
            out[key] = loc[key]
    return out


def _locations_entry(loc: dict[str, Any]) -> dict[str, Any]:
    """One of ``locations``: only a located place (with an address) gets a private unique id."""
    out: dict[str, Any] = {
        "displayName": loc.get("displayName", ""),
        "locationType": loc.get("locationType", "default"),
    }
    if loc.get("address") or loc.get("coordinates") or loc.get("uniqueId"):
        out["uniqueId"] = loc.get("uniqueId", out["displayName"])
        out["uniqueIdType"] = loc.get("uniqueIdType", "private")
    else:
        out["uniqueIdType"] = loc.get("uniqueIdType", "unknown")
    for key in ("address", "coordinates", "locationEmailAddress", "locationUri"):
        if key in loc:
            out[key] = loc[key]
    return out


def event_json(
    rec: EventRecord,
    *,
    zone: str | None,
    original_start: datetime | None = None,
    override: Override | None = None,
    context: str | None = None,
) -> dict[str, Any]:
    """One event, series master or (with ``original_start``) one occurrence of ``rec``."""
    props = dict(rec.props)
    start, end = rec.start_utc, rec.end_utc
    kind = "seriesMaster" if rec.is_series else "singleInstance"
    response = rec.response
    show_as = props.get("showAs", "busy")
    attendees = [dict(a) for a in props.get("attendees", [])]
    item_id, master_id, ical = rec.id, None, rec.ical_uid
    key_extra = ""
    if original_start is not None:
        duration = rec.end_utc - rec.start_utc
        start, end = original_start, original_start + duration
        kind, master_id = "occurrence", rec.id
        item_id = occurrence_id(rec.id, original_start)
        ical = rec.ical_uid[:-16] + original_start.strftime("%Y%m%d%H%M%S00")[:16]
        if override is not None:
            props.update(override.props)
            start = override.start_utc or start
            end = override.end_utc or end
            if override.is_exception:
                kind = "exception"
            response = override.response or response
            show_as = override.show_as or props.get("showAs", show_as)
            key_extra = str(override.modified)
            if "attendees" in override.props:
                attendees = [dict(a) for a in override.props["attendees"]]
            for a in attendees:
                status = override.attendee_status.get(a["emailAddress"]["address"].lower())
                if status is not None:
                    a["status"] = status
    ck = change_key(rec, key_extra)
    body = props.get("body") or {"contentType": "html", "content": ""}
    location = _location(props.get("location"))
    out: dict[str, Any] = {}
    if context:
        out["@odata.context"] = context
    out.update(
        {
            "@odata.etag": f'W/"{ck}"',
            "id": item_id,
            "createdDateTime": timeutil.stamp(rec.created),
            "lastModifiedDateTime": timeutil.stamp(
                override.modified if override and override.modified else rec.modified
            ),
            "changeKey": ck,
            "categories": props.get("categories", []),
        }
    )
    if rec.transaction_id:
        out["transactionId"] = rec.transaction_id
    out.update(
        {
            "originalStartTimeZone": rec.start_zone,
            "originalEndTimeZone": rec.end_zone,
            "iCalUId": ical,
            "reminderMinutesBeforeStart": props.get("reminderMinutesBeforeStart", 15),
            "isReminderOn": props.get("isReminderOn", True),
            "hasAttachments": False,
            "subject": props.get("subject", ""),
            "bodyPreview": preview(body),
            "importance": props.get("importance", "normal"),
            "sensitivity": props.get("sensitivity", "normal"),
            "isAllDay": props.get("isAllDay", False),
            "isCancelled": rec.is_cancelled,
            "isOrganizer": rec.is_organizer,
            "responseRequested": props.get("responseRequested", True),
            "seriesMasterId": master_id,
            "showAs": show_as,
            "type": kind,
            "webLink": f"https://outlook.office365.com/owa/?itemid={item_id}&exvsurl=1&path=/calendar/item",
            "onlineMeetingUrl": None,
            "isOnlineMeeting": rec.online_meeting is not None,
            "onlineMeetingProvider": props.get("onlineMeetingProvider", "unknown")
            if rec.online_meeting
            else "unknown",
            "allowNewTimeProposals": props.get("allowNewTimeProposals", True),
            "isDraft": False,
            "hideAttendees": props.get("hideAttendees", False),
            "responseStatus": response,
            "body": body,
            "start": timeutil.format_dt(start, zone),
            "end": timeutil.format_dt(end, zone),
            "location": location,
            "locations": [_locations_entry(loc) for loc in props.get("locations") or []]
            or (
                [_locations_entry({"displayName": location["displayName"]})]
                if location.get("displayName")
                else []
            ),
            "recurrence": recurrence_json(rec.recurrence, rec.start_zone) if original_start is None else None,
            "attendees": attendees,
            "organizer": rec.organizer,
            "onlineMeeting": rec.online_meeting,
        }
    )
    if original_start is not None:
        out["originalStart"] = timeutil.stamp_seconds(original_start)
    return out


def cancelled_occurrences(rec: EventRecord) -> list[str]:
    """``cancelledOccurrences``: "Requires $select ... Only returned in a Get operation that specifies the
    ID (seriesMasterId ...)", so the GET-by-id handler adds it only when selected."""
    return [f"OID.{rec.id}.{o.strftime('%Y-%m-%d')}" for o in sorted(rec.cancelled)] if rec.is_series else []


def extended_json(
    rec: EventRecord, wanted: list[str], override: Override | None = None
) -> list[dict[str, str]]:
    """``$expand=singleValueExtendedProperties($filter=id eq '...')``: only the asked ids, as Graph does.

    An exception is an item of its own in Exchange, created as a copy of the master: it shows the
    master's properties, overlaid with those set on the exception itself.
    """
    keys = {ext_id_key(w) for w in wanted}
    values = {**rec.ext, **(override.ext if override is not None else {})}
    return [{"id": pid, "value": value} for pid, value in values.items() if ext_id_key(pid) in keys]
