"""``POST /users/{id}/calendar/getSchedule``: free/busy as Graph documents it (NOTES.md §1).

At most ``getschedule_max_schedules`` addresses (the documented ``ErrorMailboxDataArrayTooBig``
otherwise), a window of at most ``getschedule_max_days``, ``availabilityViewInterval`` 5..1440 (the
docs also send it as the string ``"15"``), camelCase or PascalCase parameters. Per schedule: the
``availabilityView`` string (0 free or working elsewhere, 1 tentative, 2 busy, 3 oof, the worst status
in each interval), ``scheduleItems`` from single events and expanded series (cancelled and declined
ones are free and omitted), the mailbox's ``workingHours`` as stored (named or ``customTimeZone``), and
for an address that resolves to no mailbox the error item with responseCode 5009, still HTTP 200.
Times come back in UTC unless ``Prefer: outlook.timezone`` names a zone.
"""

from __future__ import annotations

import copy
import math
from datetime import datetime, timedelta
from typing import Any

from worker.sandbox import schema, series, timeutil
from worker.sandbox.errors import GraphError
from worker.sandbox.router import Ctx, Reply, Router
from worker.sandbox.store import EventRecord, Mailbox, Override, Tenant

VIEW_CODE = {"free": 0, "workingElsewhere": 0, "tentative": 1, "busy": 2, "oof": 3}


def _status(rec: EventRecord, ov: Override | None) -> str | None:
    """The free/busy status an item shows, or None when it does not block time at all."""
    if rec.is_cancelled:
        return None
    shown = series.visible_show_as(
        rec, ov, str((ov.props if ov else {}).get("showAs") or rec.props.get("showAs", "busy"))
    )
    return None if shown in ("free", "unknown") else shown


def busy_items(
    box: Mailbox, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str, EventRecord, Override | None]]:
    out = []
    for rec in box.events.values():
        if rec.is_series:
            for _orig, s, e, ov in series.occurrences(rec, start, end):
                status = _status(rec, ov)
                if status:
                    out.append((s, e, status, rec, ov))
        elif rec.start_utc < end and rec.end_utc > start:
            status = _status(rec, None)
            if status:
                out.append((rec.start_utc, rec.end_utc, status, rec, None))
    out.sort(key=lambda i: (i[0], i[1]))
    return out


def availability_view(
    items: list[tuple[datetime, datetime, str, Any, Any]], start: datetime, end: datetime, minutes: int
) -> str:
    step = timedelta(minutes=minutes)
    slots = max(1, math.ceil((end - start) / step))
    codes = [0] * slots
    for s, e, status, *_ in items:
        first = max(0, int((s - start) // step))
        last = min(slots - 1, math.ceil((e - start) / step) - 1)
        for i in range(first, last + 1):
            codes[i] = max(codes[i], VIEW_CODE.get(status, 2))
    return "".join(map(str, codes))


def schedule_information(
    tenant: Tenant, address: str, start: datetime, end: datetime, minutes: int, zone: str | None
) -> dict[str, Any]:
    user = tenant.find_user(address)
    box = tenant.mailbox(user) if user else None
    if user is None or box is None:
        return {
            "scheduleId": address,
            "error": {
                "message": f"Unable to resolve e-mail address {address} to an Active Directory object.",
                "responseCode": "5009",
            },
        }
    items = busy_items(box, start, end)
    schedule_items = []
    for s, e, status, rec, ov in items:
        props = {**rec.props, **(ov.props if ov else {})}
        private = props.get("sensitivity") in ("private", "confidential")
        item: dict[str, Any] = {"isPrivate": private, "status": status}
        if not private:
            item["subject"] = props.get("subject", "")
            item["location"] = (props.get("location") or {}).get("displayName", "")
        item["start"] = timeutil.format_dt(s, zone)
        item["end"] = timeutil.format_dt(e, zone)
        schedule_items.append(item)
    out: dict[str, Any] = {
        "scheduleId": address,
        "availabilityView": availability_view(items, start, end, minutes),
        "scheduleItems": schedule_items,
    }
    hours = user.settings.get("workingHours")
    if hours:
        out["workingHours"] = copy.deepcopy(hours)
    return out


async def get_schedule(ctx: Ctx, **_: str) -> Reply:
    params = schema.canonical_action("getSchedule", ctx.json())
    limits = ctx.sandbox.faults
    schedules = params.get("schedules") or []
    if not schedules:
        raise GraphError(
            400, "ErrorInvalidParameter", "The parameter 'Schedules' must contain at least one address."
        )
    if len(schedules) > limits.getschedule_max_schedules:
        raise GraphError(
            400,
            "ErrorMailboxDataArrayTooBig",
            "There are too many target users in the EmailAddress array. "
            f"The allowed size = {limits.getschedule_max_schedules}; the actual size = {len(schedules)}.",
        )
    if "startTime" not in params or "endTime" not in params:
        raise GraphError(
            400, "ErrorInvalidParameter", "The parameters 'StartTime' and 'EndTime' are required."
        )
    start = timeutil.parse_dtz(params["startTime"])[2]
    end = timeutil.parse_dtz(params["endTime"])[2]
    if end <= start:
        raise GraphError(400, "ErrorInvalidParameter", "The end time must be later than the start time.")
    if end - start > timedelta(days=limits.getschedule_max_days):
        # [unverified] the service's exact wording for the window limit is not documented
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            f"The requested time window exceeds the maximum of {limits.getschedule_max_days} days.",
        )
    minutes = params.get("availabilityViewInterval")
    minutes = 30 if minutes is None else int(minutes)
    if not 5 <= minutes <= 1440:
        raise GraphError(
            400, "ErrorInvalidParameter", "The availabilityViewInterval must be between 5 and 1440 minutes."
        )
    zone = ctx.prefer_zone
    value = [schedule_information(ctx.tenant, a, start, end, minutes, zone) for a in schedules]
    headers = {"Preference-Applied": f'outlook.timezone="{zone}"'} if zone else {}
    body = {
        "@odata.context": ctx.context_url("Collection(microsoft.graph.scheduleInformation)"),
        "value": value,
    }
    return Reply(200, body, headers)


def register(router: Router) -> None:
    router.add("POST", "/users/{user}/calendar/getSchedule", get_schedule, write=False)
    router.add("POST", "/users/{user}/calendars/{calendar}/getSchedule", get_schedule, write=False)
