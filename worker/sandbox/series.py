"""A series as stored: its master plus per-occurrence overrides, and the lookups every handler needs.

Occurrences are never stored: they are generated from the master's recurrence over the window a
request asks for, skipping cancelled ones and placing moved exceptions where they now are. An
occurrence's id encodes its master and original start, so ``find`` can resolve it without an index.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from worker.sandbox import timeutil
from worker.sandbox.errors import item_not_found
from worker.sandbox.store import EventRecord, Mailbox, Override, parse_occurrence_id


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


def override(rec: EventRecord, orig: datetime) -> Override:
    return rec.overrides.setdefault(orig, Override())


def visible_show_as(rec: EventRecord, ov: Override | None, shown: str) -> str:
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
