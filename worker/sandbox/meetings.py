"""Meetings as Exchange keeps them: the writes on events and how they reach everyone's copy.

The organizer's mailbox holds the meeting; each attendee who is a mailbox in the tenant gets their own
copy (``responseStatus`` none, shown as tentative until answered) and a meeting request in their Inbox.
Organizer changes (PATCH, DELETE, cancel) flow to the copies, with the messages Outlook would send;
attendee answers flow back to the organizer's ``attendees[].status`` (per occurrence when given on an
occurrence) when ``sendResponse`` is true. New times are a new request: old answers are cleared.
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from typing import Any

from worker.sandbox import mail, render, schema, timeutil
from worker.sandbox.errors import invalid_request, segment_not_found
from worker.sandbox.router import Ctx, Reply
from worker.sandbox.series import find, is_occurrence, override
from worker.sandbox.store import EventRecord, Mailbox, Override, Tenant, User

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


def _attendees(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for a in raw:
        email = dict(a.get("emailAddress") or {})
        email.setdefault("name", email.get("address", ""))
        out.append(
            {
                "type": a.get("type", "required"),
                "status": {"response": "none", "time": NEVER},  # answers come from attendees, not clients
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
    thread = tenant.new_item_id()[5:41].replace("-", "a").replace("_", "b")  # seeded, like every id
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
        created=tenant.created_stamp(ctx.now),
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


def apply_patch(ctx: Ctx, event: str) -> tuple[EventRecord, datetime | None]:
    """Validate and apply a PATCH of ``event`` (series, occurrence or single) and pass it on to the copies."""
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
    target = rec.ext if orig is None else override(rec, orig).ext
    for pid in canonical.get("singleValueExtendedProperties", []):
        target[pid["id"]] = str(pid.get("value", ""))
    old_addresses = {a["emailAddress"]["address"].lower() for a in rec.props.get("attendees", [])}
    if "attendees" in changes:
        # Re-sending the attendee list keeps the answers of those who stay on it.
        known = {a["emailAddress"]["address"].lower(): a["status"] for a in rec.props.get("attendees", [])}
        for attendee in changes["attendees"]:
            address = attendee["emailAddress"]["address"].lower()
            if address in known:
                attendee["status"] = known[address]
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
        _patch_occurrence(override(rec, orig), changes, times, ctx.now)
        rec.touch(ctx.now)
    if rec.is_organizer:
        _propagate(ctx, rec, orig, changes, times, recurrence, old_addresses)
    return rec, orig


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
    # An occurrence's update carries that occurrence's own subject and body (its exception's), which may
    # differ from the series'.
    own = override(rec, orig).props if orig is not None else {}
    subject, body = own.get("subject", rec.props.get("subject", "")), own.get("body", rec.props.get("body"))
    for user, copy in _copies(ctx, rec):
        if orig is None:
            _patch_record(copy, copy_changes, times, recurrence, ctx.now)
            copy.online_meeting = rec.online_meeting
        else:
            _patch_occurrence(override(copy, orig), copy_changes, times, ctx.now)
            copy.touch(ctx.now)
        mail.meeting_message(
            ctx.tenant,
            sender=organizer,
            recipient=user,
            kind="meetingRequest",
            subject=subject,
            body=body,
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
        ov = override(rec, orig)
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
        override(master, orig).attendee_status[address] = dict(answer)
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
