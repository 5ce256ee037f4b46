"""Events: create, read, list, update, delete, cancel, respond, instances and calendarView.

Meetings behave as Exchange's do for an app with Calendars.ReadWrite: the organizer's mailbox holds
the meeting; each attendee who is a mailbox in the tenant gets their own copy (``responseStatus``
none, shown as tentative until answered) and a meeting request in their Inbox. Organizer changes
(PATCH, DELETE, cancel) flow to the copies; attendee answers flow back to the organizer's
``attendees[].status`` (per occurrence when given on an occurrence) when ``sendResponse`` is true.

A series is its master plus overrides keyed by each occurrence's original start (UTC); occurrences
are generated only over the window asked for, and an occurrence's id encodes its master and original
start, so ids are stable and distinct without storing occurrences.
"""

from __future__ import annotations

import secrets
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.sandbox import mail, odata, render, schema, timeutil
from worker.sandbox.errors import (
    GraphError,
    invalid_request,
    item_not_found,
    missing_time_window,
    segment_not_found,
)
from worker.sandbox.router import Ctx, Reply, Router
from worker.sandbox.store import (
    EventRecord,
    Mailbox,
    Override,
    Tenant,
    User,
    occurrence_id,
    parse_occurrence_id,
)

NEVER = render.NEVER
_SERVER_OWNED = {
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "iCalUId",
    "uid",
    "type",
    "seriesMasterId",
    "isOrganizer",
    "responseStatus",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "originalStart",
    "webLink",
    "onlineMeetingUrl",
    "onlineMeeting",
    "bodyPreview",
    "hasAttachments",
    "isCancelled",
    "isDraft",
    "occurrenceId",
    "cancelledOccurrences",
    "exceptionOccurrences",
    "@odata.type",
    "@odata.etag",
    "@odata.context",
}
_RESPONSES = {"accept": "accepted", "decline": "declined", "tentativelyAccept": "tentativelyAccepted"}


# --- lookups ------------------------------------------------------------------------------------------


def duration(rec: EventRecord) -> timedelta:
    return rec.end_utc - rec.start_utc


def first_local(rec: EventRecord) -> datetime:
    start_date = timeutil.range_start_date(rec.recurrence or {}) or rec.start_local.date()
    return datetime.combine(start_date, rec.start_local.time())


def occurrences(
    rec: EventRecord, window_start: datetime, window_end: datetime
) -> list[tuple[datetime, datetime, datetime, Override | None]]:
    """(original start, start, end, override) of each live occurrence overlapping the window, by start."""
    assert rec.recurrence is not None
    span = duration(rec)
    out = []
    for orig in timeutil.occurrence_starts(
        rec.recurrence,
        first_local=first_local(rec),
        zone_name=rec.start_zone,
        window_start=window_start,
        window_end=window_end,
        duration=span if span else None,
    ):
        if orig in rec.cancelled:
            continue
        ov = rec.overrides.get(orig)
        if ov is not None and (ov.start_utc or ov.end_utc):
            continue  # moved: handled below by where it now is
        out.append((orig, orig, orig + span, ov))
    for orig, ov in rec.overrides.items():
        if (ov.start_utc or ov.end_utc) and orig not in rec.cancelled:
            start = ov.start_utc or orig
            end = ov.end_utc or start + span
            if start < window_end and end > window_start and is_occurrence(rec, orig):
                out.append((orig, start, end, ov))
    out.sort(key=lambda o: o[1])
    return out


def is_occurrence(rec: EventRecord, orig: datetime) -> bool:
    if rec.recurrence is None:
        return False
    starts = timeutil.occurrence_starts(
        rec.recurrence,
        first_local=first_local(rec),
        zone_name=rec.start_zone,
        window_start=orig,
        window_end=orig + timedelta(seconds=1),
    )
    return orig in starts


def find(box: Mailbox, item_id: str) -> tuple[EventRecord, datetime | None]:
    """The record and, for an occurrence id, its original start; 404 as Graph for anything else."""
    rec = box.events.get(item_id)
    if rec is not None:
        return rec, None
    parsed = parse_occurrence_id(item_id)
    if parsed is not None:
        master = box.events.get(parsed[0])
        if master is not None and parsed[1] not in master.cancelled and is_occurrence(master, parsed[1]):
            return master, parsed[1]
    raise item_not_found()


def ext_view(rec: EventRecord, item: dict[str, Any]) -> dict[str, Any]:
    """The item as ``$filter`` sees it: with its extended properties, which Graph filters but never lists."""
    return {**item, "singleValueExtendedProperties": [{"id": k, "value": v} for k, v in rec.ext.items()]}


# --- creating -----------------------------------------------------------------------------------------


def _attendees(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for a in raw:
        email = dict(a.get("emailAddress") or {})
        email.setdefault("name", email.get("address", ""))
        out.append(
            {
                "type": a.get("type", "required"),
                "status": a.get("status")
                if isinstance(a.get("status"), dict) and a["status"].get("response")
                else {"response": "none", "time": NEVER},
                "emailAddress": {"name": email.get("name", ""), "address": email.get("address", "")},
            }
        )
    return out


def _client_props(body: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in body.items() if k not in _SERVER_OWNED and not k.startswith("@")}
    for key in (
        "start",
        "end",
        "recurrence",
        "transactionId",
        "singleValueExtendedProperties",
        "multiValueExtendedProperties",
        "attachments",
        "extensions",
    ):
        props.pop(key, None)
    if "body" in props and isinstance(props["body"], dict):
        props["body"] = render.html_body(
            props["body"].get("contentType", "text"), props["body"].get("content", "")
        )
    if "attendees" in props:
        props["attendees"] = _attendees(props["attendees"] or [])
    return props


def _check_recurrence(recurrence: Any) -> None:
    if recurrence is None:
        return
    problems = timeutil.recurrence_problems(recurrence)
    if problems:
        raise invalid_request(problems[0])


def _online_meeting(tenant: Tenant, user: User) -> dict[str, Any]:
    thread = secrets.token_urlsafe(36).replace("-", "a").replace("_", "b")
    context = urllib.parse.quote(f'{{"Tid":"{tenant.tenant_id}","Oid":"{user.id}"}}', safe="").lower()
    return {
        "joinUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0?context={context}",
        "conferenceId": tenant.new_digits(9),
        "tollNumber": "+1 425 555 0123",
    }


def _apply_times(rec_fields: dict[str, Any], body: dict[str, Any]) -> None:
    for key in ("start", "end"):
        if key in body:
            local, zone, utc = timeutil.parse_dtz(body[key])
            rec_fields[f"{key}_local"], rec_fields[f"{key}_zone"], rec_fields[f"{key}_utc"] = local, zone, utc


def create_event(ctx: Ctx, user: User, box: Mailbox, body: dict[str, Any]) -> tuple[EventRecord, bool]:
    """Store a new event (and its attendees' copies); (existing, False) for a repeated transactionId."""
    canonical = schema.canonical_entity("event", body, for_create=True)
    tx = canonical.get("transactionId")
    if tx and tx in box.by_transaction and box.by_transaction[tx] in box.events:
        return box.events[box.by_transaction[tx]], False
    if "start" not in canonical or "end" not in canonical:
        raise invalid_request(
            "Your request can't be completed. The start and end time of the event are required."
        )
    times: dict[str, Any] = {}
    _apply_times(times, canonical)
    if times["end_utc"] < times["start_utc"]:
        raise invalid_request("The end time of the event must be later than its start time.")
    recurrence = canonical.get("recurrence")
    _check_recurrence(recurrence)
    props = _client_props(canonical)
    props.setdefault("showAs", "busy")
    tenant = ctx.tenant
    rec = EventRecord(
        id=tenant.new_item_id(),
        owner_id=user.id,
        created=ctx.now,
        modified=ctx.now,
        props=props,
        ical_uid="040000008200E00074C5B7101A82E008" + tenant.new_hex(32),
        organizer={"emailAddress": user.email_address()},
        is_organizer=True,
        response={"response": "organizer", "time": NEVER},
        recurrence=recurrence,
        transaction_id=tx,
        ext={p["id"]: str(p.get("value", "")) for p in canonical.get("singleValueExtendedProperties", [])},
        **times,
    )
    if (
        props.get("isOnlineMeeting")
        and props.get("onlineMeetingProvider", "teamsForBusiness") == "teamsForBusiness"
    ):
        props["onlineMeetingProvider"] = "teamsForBusiness"
        rec.online_meeting = _online_meeting(tenant, user)
    box.events[rec.id] = rec
    if tx:
        box.by_transaction[tx] = rec.id
    for attendee in props.get("attendees", []):
        _invite(ctx, rec, attendee["emailAddress"]["address"])
    return rec, True


def _invite(ctx: Ctx, rec: EventRecord, address: str) -> None:
    tenant: Tenant = ctx.tenant
    guest = tenant.find_user(address)
    if guest is None or guest.id == rec.owner_id or guest.id in rec.copies:
        return
    box = tenant.mailbox(guest)
    if box is None:
        return
    copy = EventRecord(
        id=tenant.new_item_id(),
        owner_id=guest.id,
        created=ctx.now,
        modified=ctx.now,
        props={**rec.props, "showAs": "tentative"},
        start_local=rec.start_local,
        start_zone=rec.start_zone,
        start_utc=rec.start_utc,
        end_local=rec.end_local,
        end_zone=rec.end_zone,
        end_utc=rec.end_utc,
        ical_uid=rec.ical_uid,
        organizer=rec.organizer,
        is_organizer=False,
        response={"response": "none", "time": NEVER},
        recurrence=rec.recurrence,
        online_meeting=rec.online_meeting,
        origin=(rec.owner_id, rec.id),
        overrides={
            k: Override(
                props=dict(v.props),
                start_local=v.start_local,
                start_zone=v.start_zone,
                start_utc=v.start_utc,
                end_local=v.end_local,
                end_zone=v.end_zone,
                end_utc=v.end_utc,
            )
            for k, v in rec.overrides.items()
        },
        cancelled=set(rec.cancelled),
    )
    copy.props["_organizer_show_as"] = rec.props.get("showAs", "busy")
    box.events[copy.id] = copy
    rec.copies[guest.id] = copy.id
    organizer = tenant.users[rec.owner_id]
    mail.meeting_message(
        tenant,
        sender=organizer,
        recipient=guest,
        kind="meetingRequest",
        subject=rec.props.get("subject", ""),
        body=rec.props.get("body"),
        now=ctx.now,
        event_id=copy.id,
    )


def _copies(ctx: Ctx, rec: EventRecord) -> list[tuple[User, EventRecord]]:
    out = []
    for uid, eid in list(rec.copies.items()):
        user = ctx.tenant.users.get(uid)
        box = ctx.tenant.mailbox(user) if user else None
        copy = box.events.get(eid) if box else None
        if user is None or copy is None:
            rec.copies.pop(uid, None)
            continue
        out.append((user, copy))
    return out


# --- handlers -----------------------------------------------------------------------------------------


def _context(ctx: Ctx, suffix: str) -> str:
    assert ctx.user is not None
    return ctx.context_url(f"users('{ctx.user.id}')/{suffix}")


def _render_one(ctx: Ctx, rec: EventRecord, orig: datetime | None, *, context: str | None) -> dict[str, Any]:
    ov = rec.overrides.get(orig) if orig is not None else None
    item = render.event_json(rec, zone=ctx.prefer_zone, original_start=orig, override=ov, context=context)
    item["showAs"] = _visible_show_as(rec, ov, item["showAs"])
    item.pop("_organizer_show_as", None)
    return item


def _visible_show_as(rec: EventRecord, ov: Override | None, shown: str) -> str:
    if rec.is_organizer:
        return shown
    if ov is not None and ov.show_as:
        return ov.show_as
    answer = rec.response.get("response")
    if answer == "accepted":
        return str(rec.props.get("_organizer_show_as", "busy"))
    if answer == "declined" or rec.is_cancelled:
        return "free"
    return "tentative"


def _respond_view(ctx: Ctx, rec: EventRecord, orig: datetime | None, *, status: int, context: str) -> Reply:
    item = _render_one(ctx, rec, orig, context=context)
    fields = odata.select_fields(ctx.req.query.get("$select"))
    item = odata.project(item, fields)
    expand = ctx.req.query.get("$expand")
    if expand:
        item.update(_expand(rec, expand, rec.overrides.get(orig) if orig is not None else None))
    headers = {}
    zone = ctx.prefer_zone
    if zone:
        headers["Preference-Applied"] = f'outlook.timezone="{zone}"'
    return Reply(status, item, headers)


def _expand(rec: EventRecord, expand: str, override: Override | None = None) -> dict[str, Any]:
    head, _, inner = expand.partition("(")
    if head.strip().lower() != "singlevalueextendedproperties":
        raise GraphError(
            400,
            "BadRequest",
            f"Could not find a property named '{head.strip()}' on type 'microsoft.graph.event'.",
        )
    inner = inner.rstrip(")")
    wanted: list[str] = []
    if inner:
        _, _, clause = inner.partition("=")
        predicate = odata.compile_filter(clause)
        known = {**rec.ext, **(override.ext if override is not None else {})}
        wanted = [pid for pid in known if predicate is not None and predicate({"id": pid})]
        # ids are compared with the name part case-sensitive: re-check through ext_id_key
        wanted = [pid for pid in wanted if render.extended_json(rec, [pid], override)]
    return {"singleValueExtendedProperties": render.extended_json(rec, wanted, override)}


def _with_expand(ctx: Ctx, rec: EventRecord, orig: datetime | None, item: dict[str, Any]) -> dict[str, Any]:
    """A listed item with ``$expand`` applied, as Graph expands every item of a collection."""
    expand = ctx.req.query.get("$expand")
    if expand:
        item = {**item, **_expand(rec, expand, rec.overrides.get(orig) if orig is not None else None)}
    return item


async def post_event(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    rec, _created = create_event(ctx, ctx.user, ctx.mailbox, ctx.json())
    reply = _respond_view(ctx, rec, None, status=201, context=_context(ctx, "events/$entity"))
    reply.headers["Location"] = f"{ctx.req.base_url}/users('{ctx.user.id}')/events('{rec.id}')"
    return reply


async def get_event(ctx: Ctx, event: str, **_: str) -> Reply:
    rec, orig = find(ctx.mailbox, event)
    return _respond_view(ctx, rec, orig, status=200, context=_context(ctx, "events/$entity"))


Entry = tuple[EventRecord, datetime | None]  # a series master, single event, or (master, original start)


def _list_reply(ctx: Ctx, entries: list[Entry], context: str) -> Reply:
    """A page of events as Graph lists them: $filter, $orderby, paging, $select, $expand.

    Without $filter or $orderby the entries are paged first and only the page is rendered: calendarView
    over a busy month is the worker's most frequent read.
    """
    query = ctx.req.query
    predicate = odata.compile_filter(query.get("$filter"))
    orderby = query.get("$orderby")

    def render_entry(entry: Entry) -> dict[str, Any]:
        rec, orig = entry
        return _with_expand(ctx, rec, orig, _render_one(ctx, rec, orig, context=None))

    max_size = timeutil.prefer_value(ctx.req.headers.get("prefer"), "odata.maxpagesize")

    def paged(items: list[Any]) -> tuple[list[Any], str | None]:
        return odata.page(
            items,
            query=query,
            base_url=ctx.req.base_url,
            path=ctx.req.path,
            default_size=ctx.sandbox.faults.page_size,
            max_page_size=int(max_size) if max_size and max_size.isdigit() else None,
        )

    if predicate is None and not orderby:
        chunk_entries, next_link = paged(entries)
        chunk = [render_entry(e) for e in chunk_entries]
    else:
        items = [render_entry(e) for e in entries]
        if predicate is not None:
            items = [i for e, i in zip(entries, items, strict=True) if predicate(ext_view(e[0], i))]
        chunk, next_link = paged(odata.sort(items, orderby))
    fields = odata.select_fields(query.get("$select"))
    expanded = ("singleValueExtendedProperties",)  # $expand survives $select, as in Graph
    body: dict[str, Any] = {
        "@odata.context": context,
        "value": [{**odata.project(i, fields), **{k: i[k] for k in expanded if k in i}} for i in chunk],
    }
    if next_link:
        body["@odata.nextLink"] = next_link
    headers = {}
    if ctx.prefer_zone:
        headers["Preference-Applied"] = f'outlook.timezone="{ctx.prefer_zone}"'
    return Reply(200, body, headers)


async def list_events(ctx: Ctx, **_: str) -> Reply:
    recs = list(ctx.mailbox.events.values())
    text = ctx.req.query.get("$filter")
    wanted = odata.extended_property_match(text) if text else None
    if wanted is not None:
        # The worker's lookup by pair id, on every run: a direct test, then render only what matched.
        recs = [r for r in recs if odata.ext_matches(r.ext, wanted)]
    elif text and odata.filter_roots(text) <= {"singlevalueextendedproperties"}:
        # Any other test of extended properties alone: judge them before rendering anything.
        predicate = odata.compile_filter(text)
        assert predicate is not None
        recs = [r for r in recs if predicate(ext_view(r, {}))]
    return _list_reply(ctx, [(r, None) for r in recs], _context(ctx, "events"))


def _window(ctx: Ctx) -> tuple[datetime, datetime]:
    query = {k.lower(): v for k, v in ctx.req.query.items()}
    if "startdatetime" not in query or "enddatetime" not in query:
        raise missing_time_window()
    return timeutil.parse_query_instant(query["startdatetime"]), timeutil.parse_query_instant(
        query["enddatetime"]
    )


async def instances(ctx: Ctx, event: str, **_: str) -> Reply:
    start, end = _window(ctx)
    rec, orig = find(ctx.mailbox, event)
    entries: list[Entry] = []
    if orig is None and rec.is_series:
        entries = [(rec, o) for o, _s, _e, _ov in occurrences(rec, start, end)]
    return _list_reply(ctx, entries, _context(ctx, f"events('{rec.id}')/instances"))


async def calendar_view(ctx: Ctx, **_: str) -> Reply:
    start, end = _window(ctx)
    keyed: list[tuple[datetime, str, Entry]] = []
    for rec in ctx.mailbox.events.values():
        if rec.is_series:
            for orig, begins, _e, _ov in occurrences(rec, start, end):
                keyed.append((begins, occurrence_id(rec.id, orig), (rec, orig)))
        elif rec.start_utc < end and (rec.end_utc > start or (rec.end_utc == rec.start_utc == start)):
            keyed.append((rec.start_utc, rec.id, (rec, None)))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return _list_reply(ctx, [k[2] for k in keyed], _context(ctx, "calendarView"))


async def get_calendar(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    user = ctx.user
    item = {
        "@odata.context": _context(ctx, "calendar/$entity"),
        "id": "AAMkCAL" + user.id.replace("-", ""),
        "name": "Calendar",
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": True,
        "changeKey": "fJKVL07sbkmIfHqjbDnRgQAAAAACFQ==",
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": user.email_address(),
    }
    return Reply(200, odata.project(item, odata.select_fields(ctx.req.query.get("$select"))))


def _override(rec: EventRecord, orig: datetime) -> Override:
    return rec.overrides.setdefault(orig, Override())


def _patch_occurrence(ov: Override, changes: dict[str, Any], times: dict[str, Any], now: datetime) -> None:
    moved = any(getattr(ov, key) != value for key, value in times.items())
    ov.props.update(changes)
    for key, value in times.items():
        setattr(ov, key, value)
    if moved:
        # A new time is a new meeting request: Outlook clears the responses given to the old time, on
        # the organizer's copy and on each attendee's.
        ov.attendee_status = {}
        ov.response = None
        ov.show_as = None
    ov.modified = now


def _patch_record(
    rec: EventRecord, changes: dict[str, Any], times: dict[str, Any], recurrence: Any, now: datetime
) -> None:
    before = (rec.start_utc, rec.end_utc, rec.recurrence)
    rec.props.update(changes)
    for key, value in times.items():
        setattr(rec, key, value)
    if recurrence is not False:
        rec.recurrence = recurrence
    if before[:2] != (rec.start_utc, rec.end_utc) or (rec.is_series and before[2] != rec.recurrence):
        # New times are a new meeting request: every answer given to the old times is cleared.
        for attendee in rec.props.get("attendees", []):
            attendee["status"] = {"response": "none", "time": NEVER}
        if not rec.is_organizer:
            rec.response = {"response": "none", "time": NEVER}
        for ov in rec.overrides.values():
            ov.attendee_status, ov.response, ov.show_as = {}, None, None
    if rec.is_series and before != (rec.start_utc, rec.end_utc, rec.recurrence):
        # A changed series drops exceptions and cancellations that no longer fall on an occurrence.
        rec.overrides = {k: v for k, v in rec.overrides.items() if is_occurrence(rec, k)}
        rec.cancelled = {k for k in rec.cancelled if is_occurrence(rec, k)}
    rec.touch(now)


async def patch_event(ctx: Ctx, event: str, **_: str) -> Reply:
    assert ctx.user is not None
    rec, orig = find(ctx.mailbox, event)
    canonical = schema.canonical_entity("event", ctx.json(), for_create=False)
    tx = canonical.get("transactionId")
    if tx is not None and tx != rec.transaction_id:
        raise invalid_request("The transactionId of an event can't be changed once it has been set.")
    times: dict[str, Any] = {}
    _apply_times(times, canonical)
    start = times.get("start_utc", rec.start_utc)
    end = times.get("end_utc", rec.end_utc)
    if end < start:
        raise invalid_request("The end time of the event must be later than its start time.")
    changes = _client_props(canonical)
    if rec.online_meeting is not None:
        changes.pop("onlineMeetingProvider", None)  # "you can't change onlineMeetingProvider again"
    recurrence: Any = False
    if "recurrence" in canonical and orig is None:
        recurrence = canonical["recurrence"]
        if recurrence is not None and rec.recurrence is not None:
            # A PATCH may send only the range (to end a series early) or only the pattern: the part it
            # leaves out stays as it was; the part it sends replaces the old one whole.
            recurrence = {**rec.recurrence, **recurrence}
        _check_recurrence(recurrence)
    # On an occurrence, the properties go to its exception item, not to the series master.
    target = rec.ext if orig is None else _override(rec, orig).ext
    for pid in canonical.get("singleValueExtendedProperties", []):
        target[pid["id"]] = str(pid.get("value", ""))
    old_addresses = {a["emailAddress"]["address"].lower() for a in rec.props.get("attendees", [])}
    if not rec.is_organizer:
        changes = {
            k: v
            for k, v in changes.items()
            if k in ("categories", "isReminderOn", "reminderMinutesBeforeStart", "showAs")
        }
        times, recurrence = {}, False
    if orig is None:
        if changes.get("isOnlineMeeting") and rec.online_meeting is None:
            changes["onlineMeetingProvider"] = "teamsForBusiness"
            rec.online_meeting = _online_meeting(ctx.tenant, ctx.user)
        _patch_record(rec, changes, times, recurrence, ctx.now)
    else:
        _patch_occurrence(_override(rec, orig), changes, times, ctx.now)
        rec.touch(ctx.now)
    if rec.is_organizer:
        _propagate(ctx, rec, orig, changes, times, recurrence, old_addresses)
    return _respond_view(ctx, rec, orig, status=200, context=_context(ctx, "events/$entity"))


def _propagate(
    ctx: Ctx,
    rec: EventRecord,
    orig: datetime | None,
    changes: dict[str, Any],
    times: dict[str, Any],
    recurrence: Any,
    old_addresses: set[str],
) -> None:
    copy_changes = {k: v for k, v in changes.items() if k != "showAs"}
    if "showAs" in changes:
        copy_changes["_organizer_show_as"] = changes["showAs"]
    organizer = ctx.tenant.users[rec.owner_id]
    for user, copy in _copies(ctx, rec):
        if orig is None:
            _patch_record(copy, copy_changes, times, recurrence, ctx.now)
            copy.online_meeting = rec.online_meeting
        else:
            _patch_occurrence(_override(copy, orig), copy_changes, times, ctx.now)
            copy.touch(ctx.now)
        mail.meeting_message(
            ctx.tenant,
            sender=organizer,
            recipient=user,
            kind="meetingRequest",
            subject=rec.props.get("subject", ""),
            body=rec.props.get("body"),
            now=ctx.now,
            event_id=copy.id,
        )
    if orig is None and "attendees" in changes:
        new_addresses = {a["emailAddress"]["address"].lower() for a in rec.props.get("attendees", [])}
        for address in new_addresses - old_addresses:
            _invite(ctx, rec, address)
        for address in old_addresses - new_addresses:
            guest = ctx.tenant.find_user(address)
            if guest is not None and guest.id in rec.copies:
                _cancel_copy(ctx, rec, guest, None, comment="")


def _cancel_copy(ctx: Ctx, rec: EventRecord, guest: User, orig: datetime | None, *, comment: str) -> None:
    box = ctx.tenant.mailbox(guest)
    copy = box.events.get(rec.copies.get(guest.id, "")) if box else None
    if copy is None:
        return
    if orig is None:
        copy.is_cancelled = True
        copy.props["subject"] = "Canceled: " + str(rec.props.get("subject", ""))
        rec.copies.pop(guest.id, None)
    else:
        copy.cancelled.add(orig)
    copy.touch(ctx.now)
    mail.meeting_message(
        ctx.tenant,
        sender=ctx.tenant.users[rec.owner_id],
        recipient=guest,
        kind="meetingCancelled",
        subject="Canceled: " + str(rec.props.get("subject", "")),
        body=rec.props.get("body"),
        now=ctx.now,
        event_id=copy.id,
        comment=comment,
    )


def _cancel(ctx: Ctx, box: Mailbox, rec: EventRecord, orig: datetime | None, *, comment: str) -> None:
    for user, _copy in _copies(ctx, rec):
        _cancel_copy(ctx, rec, user, orig, comment=comment)
    if orig is None:
        del box.events[rec.id]
        if rec.transaction_id:
            box.by_transaction.pop(rec.transaction_id, None)
    else:
        rec.cancelled.add(orig)
        rec.overrides.pop(orig, None)
        rec.touch(ctx.now)


async def delete_event(ctx: Ctx, event: str, **_: str) -> Reply:
    box = ctx.mailbox
    rec, orig = find(box, event)
    if rec.is_organizer:
        _cancel(ctx, box, rec, orig, comment="")
    elif orig is None:
        del box.events[rec.id]
        _detach(ctx, rec)
    else:
        rec.cancelled.add(orig)
        rec.touch(ctx.now)
    return Reply(204)


def _detach(ctx: Ctx, copy: EventRecord) -> None:
    if copy.origin is None:
        return
    owner = ctx.tenant.users.get(copy.origin[0])
    box = ctx.tenant.mailbox(owner) if owner else None
    master = box.events.get(copy.origin[1]) if box else None
    if master is not None:
        master.copies.pop(copy.owner_id, None)


async def cancel_event(ctx: Ctx, event: str, **_: str) -> Reply:
    box = ctx.mailbox
    rec, orig = find(box, event)
    params = schema.canonical_action("cancel", ctx.json())
    if not rec.is_organizer:
        raise invalid_request(
            "Your request can't be completed. You need to be an organizer to cancel a meeting."
        )
    _cancel(ctx, box, rec, orig, comment=str(params.get("comment") or ""))
    return Reply(202)


async def respond(ctx: Ctx, event: str, action: str, **_: str) -> Reply:
    assert ctx.user is not None
    rec, orig = find(ctx.mailbox, event)
    name = {"accept": "accept", "decline": "decline", "tentativelyaccept": "tentativelyAccept"}.get(
        action.lower()
    )
    if name is None:
        raise segment_not_found(action)
    params = schema.canonical_action(name, ctx.json())
    if rec.is_organizer:
        raise invalid_request(
            "Your request can't be completed. You can't respond to a meeting you organized."
        )
    answer = {"response": _RESPONSES[name], "time": timeutil.stamp_seconds(ctx.now)}
    show = {"accepted": None, "tentativelyAccepted": "tentative", "declined": "free"}[answer["response"]]
    if orig is None:
        rec.response = answer
    else:
        ov = _override(rec, orig)
        ov.response, ov.show_as = answer, show or str(rec.props.get("_organizer_show_as", "busy"))
        ov.modified = ctx.now
    rec.touch(ctx.now)
    if params.get("sendResponse", True):
        _tell_organizer(ctx, rec, orig, answer, comment=str(params.get("comment") or ""))
    return Reply(202)


def _tell_organizer(
    ctx: Ctx, copy: EventRecord, orig: datetime | None, answer: dict[str, Any], *, comment: str
) -> None:
    if copy.origin is None:
        return
    organizer = ctx.tenant.users.get(copy.origin[0])
    box = ctx.tenant.mailbox(organizer) if organizer else None
    master = box.events.get(copy.origin[1]) if box else None
    if master is None or organizer is None or ctx.user is None:
        return
    address = ctx.user.address.lower()
    if orig is None:
        for a in master.props.get("attendees", []):
            if a["emailAddress"]["address"].lower() == address:
                a["status"] = dict(answer)
    else:
        _override(master, orig).attendee_status[address] = dict(answer)
        master.overrides[orig].modified = ctx.now
    master.touch(ctx.now)
    kind = {
        "accepted": "meetingAccepted",
        "tentativelyAccepted": "meetingTenativelyAccepted",
        "declined": "meetingDeclined",
    }[answer["response"]]
    label = {"accepted": "Accepted", "tentativelyAccepted": "Tentative", "declined": "Declined"}[
        answer["response"]
    ]
    mail.meeting_message(
        ctx.tenant,
        sender=ctx.user,
        recipient=organizer,
        kind=kind,
        subject=f"{label}: {master.props.get('subject', '')}",
        body={"contentType": "text", "content": comment},
        now=ctx.now,
        event_id=master.id,
    )


def register(router: Router) -> None:
    for prefix in ("/users/{user}", "/users/{user}/calendar", "/users/{user}/calendars/{calendar}"):
        router.add("POST", f"{prefix}/events", post_event)
        router.add("GET", f"{prefix}/events", list_events)
        router.add("GET", f"{prefix}/events/{{event}}", get_event)
        router.add("PATCH", f"{prefix}/events/{{event}}", patch_event)
        router.add("DELETE", f"{prefix}/events/{{event}}", delete_event)
        router.add("POST", f"{prefix}/events/{{event}}/cancel", cancel_event)
        router.add("POST", f"{prefix}/events/{{event}}/{{action}}", respond)
        router.add("GET", f"{prefix}/events/{{event}}/instances", instances)
        router.add("GET", f"{prefix}/calendarView", calendar_view)
    router.add("GET", "/users/{user}/calendar", get_calendar)


__all__ = ["create_event", "find", "occurrence_id", "occurrences"]
_ = UTC
