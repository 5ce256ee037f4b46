"""From crossgen's writes to msgraph models (STYLE: SDK types stop here), and our property rules.

Writing: :class:`SeriesSpec` -> an ``Event`` to POST, a move or agenda change -> an ``Event`` to PATCH,
each carrying our marks. Reads are mapped from Graph's JSON by ``wire`` (msgraph's model deserialisation
is too slow at programme scale), which shares the rules kept here: property ids, OData literals, and how
many occurrences a recurrence has up to a date.

Our own marks are single-value extended properties in one fixed GUID namespace, ids of the form
``String {GUID} Name <name>`` (NOTES §3, option A): filterable with ``$filter`` and invisible to people.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from msgraph.generated.models.attendee import Attendee as GraphAttendee
from msgraph.generated.models.attendee_type import AttendeeType
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.day_of_week import DayOfWeek
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.free_busy_status import FreeBusyStatus
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.models.sensitivity import Sensitivity
from msgraph.generated.models.single_value_legacy_extended_property import (
    SingleValueLegacyExtendedProperty,
)
from msgraph.generated.models.week_index import WeekIndex as GraphWeekIndex

from worker.core.calendar_math import nth_weekday
from worker.core.types import (
    CadenceKind,
    Recurrence,
    SeriesSpec,
    WeekIndex,
)
from worker.graph.zones import resolve_zone, windows_name

# crossgen's namespace for extended properties: uuid5(NAMESPACE_URL, "urn:crossgen:extended-properties").
PROPERTY_GUID = "28E90DC3-3916-5E43-9CD6-8DDDF5B2BD17"
KEY_PROPERTY = "key"
OWNER_PROPERTY = "owner"
OWNER_VALUE = "crossgen"
_FRACTION = re.compile(r"\.(\d+)")
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def property_id(name: str) -> str:
    return f"String {{{PROPERTY_GUID}}} Name {name}"


def property_name(prop_id: str) -> str | None:
    """The short name of one of our property ids; None for anybody else's."""
    prefix = f"string {{{PROPERTY_GUID}}} name ".lower()
    if prop_id.lower().startswith(prefix):
        return prop_id[len(prefix) :]
    return None


def odata_quote(value: str) -> str:
    """A string literal for ``$filter``: single quotes doubled, as OData requires."""
    return "'" + value.replace("'", "''") + "'"


def property_filter(name: str, value: str) -> str:
    """``$filter`` for events carrying our property ``name`` with ``value`` (NOTES §3)."""
    prop, literal = odata_quote(property_id(name)), odata_quote(value)
    return f"singleValueExtendedProperties/Any(ep: ep/id eq {prop} and ep/value eq {literal})"


def _count_until(rec: Recurrence, last: date) -> int:
    """How many occurrences a pattern has from its start date up to ``last`` (inclusive)."""
    count, step = 0, 0
    while True:
        if rec.cadence.kind is CadenceKind.WEEKLY:
            first = rec.start + timedelta(days=(rec.weekday - rec.start.weekday()) % 7)
            day = first + timedelta(weeks=step * rec.cadence.interval)
        else:
            month0 = rec.start.month - 1 + step * rec.cadence.interval
            index = rec.index or WeekIndex.FIRST  # Graph's default for relativeMonthly
            day = nth_weekday(rec.start.year + month0 // 12, month0 % 12 + 1, rec.weekday, index)
            if step == 0 and day < rec.start:
                step += 1
                continue
        if day > last:
            return count
        count += 1
        step += 1


# --- our writes -> Graph ----------------------------------------------------------------------------


def graph_properties(properties: dict[str, str]) -> list[SingleValueLegacyExtendedProperty]:
    return [
        SingleValueLegacyExtendedProperty(id=property_id(name), value=value)
        for name, value in sorted(properties.items())
    ]


def local_time(value: datetime, zone_name: str) -> DateTimeTimeZone:
    """A wall-clock time in ``zone_name`` (IANA), sent with the zone's Windows name (see ``zones``)."""
    if value.tzinfo is not None:
        value = value.astimezone(resolve_zone(zone_name)).replace(tzinfo=None)
    return DateTimeTimeZone(date_time=value.isoformat(timespec="seconds"), time_zone=windows_name(zone_name))


def recurrence_to_graph(rec: Recurrence, start_date: date) -> PatternedRecurrence:
    day = DayOfWeek(_DAYS[rec.weekday])
    if rec.cadence.kind is CadenceKind.WEEKLY:
        pattern = RecurrencePattern(
            type=RecurrencePatternType.Weekly,
            interval=rec.cadence.interval,
            days_of_week=[day],
            first_day_of_week=DayOfWeek.Monday,
        )
    else:
        pattern = RecurrencePattern(
            type=RecurrencePatternType.RelativeMonthly,
            interval=rec.cadence.interval,
            days_of_week=[day],
            index=GraphWeekIndex((rec.index or WeekIndex.FIRST).value),
        )
    # Graph: startDate "must be the same value as the start property" of the event, in its own zone.
    rng = RecurrenceRange(
        type=RecurrenceRangeType.Numbered,
        start_date=start_date,
        number_of_occurrences=rec.count,
        recurrence_time_zone=windows_name(rec.zone_name),
    )
    return PatternedRecurrence(pattern=pattern, range=rng)


def event_from_spec(spec: SeriesSpec) -> Event:
    """The series to POST: our marks (key, owner and the caller's properties), a deterministic
    transactionId, the protection settings and, when asked, a Teams meeting."""
    protection = spec.protection
    props = {**spec.properties, KEY_PROPERTY: spec.key, OWNER_PROPERTY: OWNER_VALUE}
    event = Event(
        subject=spec.subject,
        body=ItemBody(content_type=BodyType.Html, content=spec.body_html),
        start=local_time(spec.start_local, spec.zone_name),
        end=local_time(spec.end_local, spec.zone_name),
        recurrence=recurrence_to_graph(spec.recurrence, spec.start_local.date()),
        attendees=[
            GraphAttendee(
                email_address=EmailAddress(address=a.address, name=a.name or None), type=AttendeeType.Required
            )
            for a in spec.attendees
        ],
        show_as=FreeBusyStatus(protection.show_as),
        sensitivity=Sensitivity(protection.sensitivity),
        allow_new_time_proposals=protection.allow_new_time_proposals,
        is_reminder_on=protection.reminder_minutes is not None,
        categories=list(protection.categories),
        transaction_id=spec.transaction_id,
        single_value_extended_properties=graph_properties(props),
    )
    if protection.reminder_minutes is not None:
        event.reminder_minutes_before_start = protection.reminder_minutes
    if spec.teams_meeting:
        event.is_online_meeting = True
        event.online_meeting_provider = OnlineMeetingProviderType.TeamsForBusiness
    return event
