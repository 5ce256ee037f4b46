"""The sandbox refuses what Graph refuses and accepts what Graph accepts, judged by Microsoft's own schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from worker.sandbox.errors import GraphError
from worker.sandbox.schema import (
    Problem,
    SchemaViolation,
    canonical_action,
    canonical_entity,
    check_action,
    check_entity,
    coerce_primitive,
    normalize_enum,
    validate_action,
    validate_entity,
)

ROOT = Path(__file__).resolve().parents[2]
CSDL = ROOT / "vendor" / "msgraph" / "graph-v1.0-csdl.xml.gz"  # Microsoft's schema, vendored with its licence
EXAMPLES = Path(__file__).resolve().parent / "graph_examples"

# Which schema each documented request body is read against (see examples/INDEX.json).
REQUEST_KINDS: dict[str, tuple[str, str]] = {
    "create_event_multiple_locations_request.json": ("create", "event"),
    "create_event_online_meeting_teams_request.json": ("create", "event"),
    "create_event_recurring_weekly_request.json": ("create", "event"),
    "create_event_transactionid_request.json": ("create", "event"),
    "create_event_with_single_value_extended_property_request.json": ("create", "event"),
    "online_meeting_create_request.json": ("create", "event"),
    "online_meeting_enable_patch_request.json": ("update", "event"),
    "event_update_request.json": ("update", "event"),
    "group_event_open_extension_request.json": ("create", "extension"),
    "event_cancel_request.json": ("action", "cancel"),
    "findmeetingtimes_request.json": ("action", "findMeetingTimes"),
    "getschedule_concept_request.json": ("action", "getSchedule"),
    "getschedule_request.json": ("action", "getSchedule"),
    "sendmail_request.json": ("action", "sendMail"),
    "sendmail_with_attachment_request.json": ("action", "sendMail"),
    "sendmail_with_headers_request.json": ("action", "sendMail"),
}
# event_update_request.json is the doc's template, not a capture: it fills responseStatus with the
# placeholders "" and "datetime-value", which no OData reader can parse. Every other value in it is
# clean, and these two are refused exactly as the service refuses them.
DOC_PLACEHOLDERS = {"event_update_request.json": {"responseStatus.response", "responseStatus.time"}}
BATCH_ITEM_TYPES = {("PATCH", "/me"): "user"}


def _validate(kind: str, name: str, body: Any) -> list[Problem]:
    if kind == "action":
        return validate_action(name, body)
    return validate_entity(name, body, for_create=kind == "create")


def _event(**extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "subject": "Mentoring",
        "start": {"dateTime": "2026-01-05T10:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-01-05T10:30:00", "timeZone": "W. Europe Standard Time"},
    }
    body.update(extra)
    return body


# --- the generated schema -----------------------------------------------------------------------------


def test_committed_schema_is_what_the_generator_writes(tmp_path: Path) -> None:
    out = tmp_path / "graph_schema.json"
    script = ROOT / "scripts" / "gen_graph_schema.py"
    subprocess.run(
        [sys.executable, str(script), str(CSDL), "-o", str(out)], check=True
    )
    committed = (ROOT / "worker" / "sandbox" / "graph_schema.json").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed
    assert len(committed.encode()) < 300_000


def test_schema_resolves_base_types_and_lists_derived_ones() -> None:
    from worker.sandbox.schema import entity_type

    event = entity_type("microsoft.graph.event")
    assert event["bases"] == ["outlookItem", "entity"]
    assert {"id", "changeKey", "categories", "subject"} <= set(event["properties"])
    assert "customTimeZone" in entity_type("timeZoneBase")["derived"]
    assert "fileAttachment" in entity_type("attachment")["derived"]


# --- every documented request validates --------------------------------------------------------------


def test_every_documented_request_body_is_listed_here() -> None:
    on_disk = {p.name for p in EXAMPLES.glob("*_request*.json")} - {
        "batch_request.json",
        "batch_request_dependson.json",
    }
    assert on_disk == set(REQUEST_KINDS)


@pytest.mark.parametrize("file_name", sorted(REQUEST_KINDS))
def test_documented_request_body_validates_clean(file_name: str) -> None:
    kind, name = REQUEST_KINDS[file_name]
    body = json.loads((EXAMPLES / file_name).read_text(encoding="utf-8"))
    problems = _validate(kind, name, body)
    assert {p.path for p in problems} == DOC_PLACEHOLDERS.get(file_name, set()), problems


def test_documented_batch_item_bodies_validate_clean() -> None:
    batch = json.loads((EXAMPLES / "batch_request.json").read_text(encoding="utf-8"))
    bodies = [(r["method"], r["url"], r["body"]) for r in batch["requests"] if "body" in r]
    assert bodies
    for method, url, body in bodies:
        assert validate_entity(BATCH_ITEM_TYPES[(method, url)], body, for_create=method == "POST") == []


# --- refusals -----------------------------------------------------------------------------------------


def test_unknown_property_is_refused_with_graphs_message() -> None:
    problems = validate_entity("event", _event(foo=1), for_create=True)
    assert problems == [
        Problem(
            "foo",
            "The property 'foo' does not exist on type 'microsoft.graph.event'. Make sure to only use "
            "property names that are defined by the type or mark the type as open type.",
        )
    ]


def test_unknown_nested_property_reports_its_path() -> None:
    body = _event(attendees=[{"emailAddress": {"address": "a@b.c", "nam": "A"}}])
    assert [p.path for p in validate_entity("event", body, for_create=True)] == [
        "attendees[0].emailAddress.nam"
    ]


def test_property_names_are_case_sensitive() -> None:
    assert [p.path for p in validate_entity("event", _event(Subject="x"), for_create=True)] == ["Subject"]


def test_unknown_enum_member_is_refused() -> None:
    body = _event(
        recurrence={
            "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["Funday"]},
            "range": {"type": "noEnd", "startDate": "2026-01-05"},
        }
    )
    assert validate_entity("event", body, for_create=True) == [
        Problem("recurrence.pattern.daysOfWeek[0]", "Requested value 'Funday' was not found.")
    ]


def test_empty_string_is_not_an_enum_member() -> None:
    assert [p.path for p in validate_entity("event", _event(showAs=""), for_create=True)] == ["showAs"]


def test_enum_given_a_number_is_refused() -> None:
    (problem,) = validate_entity("event", _event(sensitivity=1), for_create=True)
    assert problem.message == "Cannot read the value '1' as a quoted JSON string value."


@pytest.mark.parametrize(
    ("body", "path", "fragment"),
    [
        (_event(subject={"text": "x"}), "subject", "'StartObject' node was found"),
        (_event(subject=12), "subject", "expected type 'Edm.String'"),
        (_event(start="2026-01-05T10:00:00"), "start", "A 'StartObject' node was expected"),
        (_event(isAllDay="yes"), "isAllDay", "literal 'yes' to the expected type 'Edm.Boolean'"),
        (_event(isAllDay=1), "isAllDay", "expected type 'Edm.Boolean'"),
        (_event(reminderMinutesBeforeStart="15m"), "reminderMinutesBeforeStart", "'Edm.Int32'"),
        (_event(reminderMinutesBeforeStart=2**31), "reminderMinutesBeforeStart", "'Edm.Int32'"),
        (_event(reminderMinutesBeforeStart=True), "reminderMinutesBeforeStart", "'Edm.Int32'"),
        (_event(categories="Red"), "categories", "A 'StartArray' node was expected"),
        (_event(location=[{"displayName": "x"}]), "location", "'StartArray' node was found"),
        (_event(attendees=None), "attendees", "does not allow null values"),
        (_event(originalStart="2026-13-01T00:00:00Z"), "originalStart", "'Edm.DateTimeOffset'"),
        (_event(originalStart="yesterday"), "originalStart", "'Edm.DateTimeOffset'"),
    ],
)
def test_wrong_json_kinds_and_malformed_literals_are_refused(
    body: dict[str, Any], path: str, fragment: str
) -> None:
    problems = validate_entity("event", body, for_create=True)
    assert [p.path for p in problems] == [path]
    assert fragment in problems[0].message


def test_malformed_date_and_time_of_day_are_refused() -> None:
    body = _event(
        recurrence={
            "pattern": {"type": "daily", "interval": 1},
            "range": {"type": "endDate", "startDate": "2026-02-30", "endDate": "26-03-01"},
        }
    )
    assert [p.path for p in validate_entity("event", body, for_create=True)] == [
        "recurrence.range.startDate",
        "recurrence.range.endDate",
    ]
    hours = {
        "workingHours": {"startTime": "25:00:00", "endTime": "17:00:00.0000000", "daysOfWeek": ["monday"]}
    }
    assert [p.path for p in validate_entity("mailboxSettings", hours, for_create=False)] == [
        "workingHours.startTime"
    ]


def test_null_for_a_non_nullable_property_is_refused() -> None:
    body = _event(recurrence={"pattern": {"type": "daily", "interval": None}, "range": None})
    (problem,) = validate_entity("event", body, for_create=True)
    assert problem.path == "recurrence.pattern.interval"
    assert "'Edm.Int32[Nullable=False]'" in problem.message


def test_malformed_duration_is_refused_and_day_time_durations_accepted() -> None:
    ok = {"meetingDuration": "PT1H30M"}
    assert validate_action("findMeetingTimes", ok) == []
    assert validate_action("findMeetingTimes", {"meetingDuration": "P1DT2.5S"}) == []
    for bad in ("1 hour", "P1Y", "PT", "P"):
        assert [p.path for p in validate_action("findMeetingTimes", {"meetingDuration": bad})] == [
            "meetingDuration"
        ]


def test_odata_type_outside_the_slots_hierarchy_is_refused() -> None:
    body = {"workingHours": {"timeZone": {"@odata.type": "#microsoft.graph.event", "name": "x"}}}
    (problem,) = validate_entity("mailboxSettings", body, for_create=False)
    assert problem.path == "workingHours.timeZone.@odata.type"
    assert "not assignable to the expected type 'microsoft.graph.timeZoneBase'" in problem.message


def test_odata_type_naming_no_type_is_refused() -> None:
    (problem,) = validate_entity(
        "event", {**_event(), "@odata.type": "#microsoft.graph.meeting"}, for_create=True
    )
    assert "could not be resolved by the model" in problem.message


def test_derived_type_is_validated_as_itself() -> None:
    zone = {"@odata.type": "microsoft.graph.timeZoneBase", "name": "Customized Time Zone", "bias": 480}
    (problem,) = validate_entity("mailboxSettings", {"workingHours": {"timeZone": zone}}, for_create=False)
    assert problem.path == "workingHours.timeZone.bias"


def test_abstract_attachment_without_a_concrete_type_is_refused() -> None:
    message = {"subject": "x", "attachments": [{"name": "a.txt", "contentBytes": "SGk="}]}
    problems = validate_action("sendMail", {"message": message})
    assert [p.path for p in problems] == ["message.attachments[0]", "message.attachments[0].contentBytes"]


def test_file_attachment_content_must_be_base64() -> None:
    attachment = {
        "@odata.type": "#microsoft.graph.fileAttachment",
        "name": "a",
        "contentBytes": "not base64!",
    }
    problems = validate_action("sendMail", {"message": {"attachments": [attachment]}})
    assert [p.path for p in problems] == ["message.attachments[0].contentBytes"]


def test_unknown_action_parameter_is_refused() -> None:
    (problem,) = validate_action("getSchedule", {"schedules": ["a@b.c"], "interval": 30})
    assert problem.message == (
        "The parameter 'interval' in the request payload is not a valid parameter "
        "for the operation 'getSchedule'."
    )


def test_same_parameter_in_two_spellings_is_refused() -> None:
    (problem,) = validate_action("cancel", {"Comment": "a", "comment": "b"})
    assert "Multiple parameters with the name 'Comment'" in problem.message


def test_action_body_must_be_an_object() -> None:
    assert [p.path for p in validate_action("getSchedule", ["a@b.c"])] == [""]


def test_schedules_must_be_a_collection() -> None:
    (problem,) = validate_action("getSchedule", {"Schedules": "a@b.c"})
    assert problem.path == "Schedules"


def test_check_raises_graphs_400_with_the_first_problem() -> None:
    with pytest.raises(SchemaViolation) as raised:
        check_entity("event", _event(foo=1, bar=2), for_create=True)
    violation = raised.value
    assert isinstance(violation, GraphError)
    assert (violation.status, violation.code) == (400, "RequestBodyRead")
    assert violation.message.startswith("The property 'foo' does not exist")
    assert [p.path for p in violation.problems] == ["foo", "bar"]
    with pytest.raises(SchemaViolation):
        check_action("sendMail", {"Message": {"importance": "urgent"}})


# --- what Graph accepts -------------------------------------------------------------------------------


def test_enum_members_match_case_insensitively() -> None:
    body = _event(body={"contentType": "HTML", "content": "<p>x</p>"}, showAs="Busy", importance="HIGH")
    assert validate_entity("event", body, for_create=True) == []


def test_numbers_and_booleans_as_strings_are_accepted() -> None:
    body = _event(reminderMinutesBeforeStart="15", isReminderOn="true", hideAttendees="False")
    assert validate_entity("event", body, for_create=True) == []
    assert validate_action("findMeetingTimes", {"minimumAttendeePercentage": "50.5"}) == []


def test_annotations_are_accepted_and_ignored() -> None:
    body = {
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": 'W/"x"',
        "subject@odata.type": "Edm.String",
        "attendees": [{"@odata.type": "microsoft.graph.attendee", "emailAddress": {"address": "a@b.c"}}],
    }
    assert validate_entity("event", body, for_create=True) == []


def test_custom_time_zone_is_accepted_through_odata_type(tmp_path: Path) -> None:
    zone = {
        "@odata.type": "#microsoft.graph.customTimeZone",
        "bias": 480,
        "name": "Customized Time Zone",
        "standardOffset": {
            "time": "02:00:00.0000000",
            "dayOccurrence": 1,
            "dayOfWeek": "sunday",
            "month": 11,
        },
        "daylightOffset": {
            "daylightBias": -60,
            "time": "02:00:00",
            "dayOccurrence": 2,
            "dayOfWeek": "Sunday",
        },
    }
    hours = {"daysOfWeek": ["Monday"], "startTime": "08:00:00.0000000", "endTime": "17:00", "timeZone": zone}
    assert (
        validate_entity("mailboxSettings", {"workingHours": hours, "timeZone": "UTC"}, for_create=False) == []
    )


def test_null_is_accepted_for_nullable_properties() -> None:
    assert validate_entity("event", _event(recurrence=None, location=None), for_create=False) == []


def test_patch_of_an_abstract_root_needs_no_odata_type() -> None:
    assert validate_entity("attachment", {"name": "renamed.txt"}, for_create=False) == []
    assert [p.path for p in validate_entity("attachment", {"name": "a"}, for_create=True)] == [""]


def test_documented_user_create_body_validates_clean() -> None:
    # user-post-users.md, example 1
    body = {
        "accountEnabled": True,
        "displayName": "Adele Vance",
        "mailNickname": "AdeleV",
        "userPrincipalName": "AdeleV@contoso.com",
        "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "xWwvJ]6NMw+bWH-d"},
    }
    assert validate_entity("user", body, for_create=True) == []
    assert [p.path for p in validate_entity("user", {**body, "manager": "x"}, for_create=True)] == ["manager"]


def test_open_extension_carries_free_properties() -> None:
    body = {
        "@odata.type": "microsoft.graph.openTypeExtension",
        "extensionName": "Com.X",
        "anything": {"a": 1},
    }
    assert validate_entity("extension", body, for_create=True) == []


# --- canonical forms ----------------------------------------------------------------------------------


def test_normalize_enum_returns_the_schema_spelling() -> None:
    assert normalize_enum("bodyType", "HTML") == "html"
    assert normalize_enum("microsoft.graph.freeBusyStatus", "WORKINGELSEWHERE") == "workingElsewhere"
    with pytest.raises(SchemaViolation, match=r"Requested value 'Funday' was not found\."):
        normalize_enum("dayOfWeek", "Funday")


def test_coerce_primitive_turns_strings_into_json_values() -> None:
    assert coerce_primitive("Edm.Int32", "15") == 15
    assert coerce_primitive("Edm.Boolean", "FALSE") is False
    assert coerce_primitive("Edm.Double", "1.5") == 1.5
    assert coerce_primitive("Edm.String", "15") == "15"


def test_canonical_entity_stores_values_canonically() -> None:
    body = _event(body={"contentType": "HTML", "content": "x"}, reminderMinutesBeforeStart="15")
    body["@odata.type"] = "microsoft.graph.event"
    body["@odata.etag"] = "x"
    stored = canonical_entity("event", body)
    assert stored["body"] == {"contentType": "html", "content": "x"}
    assert stored["reminderMinutesBeforeStart"] == 15
    assert stored["@odata.type"] == "#microsoft.graph.event"
    assert "@odata.etag" not in stored


def test_canonical_action_uses_camel_case_parameter_names() -> None:
    body = {"Message": {"subject": "x", "importance": "High"}, "SaveToSentItems": "false"}
    assert canonical_action("sendMail", body) == {
        "message": {"subject": "x", "importance": "high"},
        "saveToSentItems": False,
    }
    schedule = canonical_action("getSchedule", {"Schedules": ["a@b.c"], "availabilityViewInterval": "15"})
    assert schedule == {"schedules": ["a@b.c"], "availabilityViewInterval": 15}


# --- what msgraph-sdk sends -----------------------------------------------------------------------------
# The worker talks to the sandbox through msgraph-sdk, so every body the SDK serialises must pass. The
# SDK is used here only as a client would use it; the sandbox itself never imports it.


def _sdk_json(model: Any) -> Any:
    from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter

    writer = JsonSerializationWriter()
    writer.write_object_value(None, model)
    return json.loads(writer.get_serialized_content())


def _sdk_event() -> Any:
    from datetime import date

    from msgraph.generated.models.attendee import Attendee
    from msgraph.generated.models.attendee_type import AttendeeType
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.day_of_week import DayOfWeek
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.location import Location
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

    return Event(
        subject="Reverse mentoring: Ana & Bo",
        body=ItemBody(content_type=BodyType.Html, content="<p>Agenda</p>"),
        start=DateTimeTimeZone(date_time="2026-01-05T10:00:00", time_zone="W. Europe Standard Time"),
        end=DateTimeTimeZone(date_time="2026-01-05T10:45:00", time_zone="W. Europe Standard Time"),
        location=Location(display_name="Teams"),
        attendees=[
            Attendee(email_address=EmailAddress(address="a@b.c", name="A"), type=AttendeeType.Required)
        ],
        recurrence=PatternedRecurrence(
            pattern=RecurrencePattern(
                type=RecurrencePatternType.Weekly,
                interval=2,
                days_of_week=[DayOfWeek.Monday],
                first_day_of_week=DayOfWeek.Monday,
            ),
            range=RecurrenceRange(
                type=RecurrenceRangeType.Numbered, start_date=date(2026, 1, 5), number_of_occurrences=6
            ),
        ),
        is_online_meeting=True,
        online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
        transaction_id="5b1f0c1e-pair-42",
        sensitivity=Sensitivity.Normal,
        is_reminder_on=True,
        reminder_minutes_before_start=15,
        allow_new_time_proposals=False,
        single_value_extended_properties=[
            SingleValueLegacyExtendedProperty(
                id="String {66f5a359-4659-4830-9070-00040ec6ac6e} Name PairId", value="pair-42"
            )
        ],
    )


def test_sdk_event_create_and_patch_validate_clean() -> None:
    body = _sdk_json(_sdk_event())
    assert body["@odata.type"] == "#microsoft.graph.event"
    assert validate_entity("event", body, for_create=True) == []
    stored = canonical_entity("event", body)
    assert stored["recurrence"]["range"]["numberOfOccurrences"] == 6
    patch = {k: body[k] for k in ("@odata.type", "start", "end", "subject")}
    assert validate_entity("event", patch, for_create=False) == []


def test_sdk_action_bodies_validate_clean() -> None:
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.file_attachment import FileAttachment
    from msgraph.generated.models.internet_message_header import InternetMessageHeader
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.message import Message
    from msgraph.generated.models.recipient import Recipient
    from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
        GetSchedulePostRequestBody,
    )
    from msgraph.generated.users.item.events.item.accept.accept_post_request_body import AcceptPostRequestBody
    from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody
    from msgraph.generated.users.item.events.item.decline.decline_post_request_body import (
        DeclinePostRequestBody,
    )
    from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

    message = Message(
        subject="How was your session?",
        body=ItemBody(content_type=BodyType.Html, content="<p>Tell us</p>"),
        to_recipients=[Recipient(email_address=EmailAddress(address="a@b.c"))],
        internet_message_headers=[InternetMessageHeader(name="x-crossgen-key", value="k")],
        attachments=[FileAttachment(name="a.txt", content_type="text/plain", content_bytes=b"hello")],
    )
    bodies = {
        "sendMail": SendMailPostRequestBody(message=message, save_to_sent_items=True),
        "getSchedule": GetSchedulePostRequestBody(
            schedules=["a@b.c", "d@e.f"],
            start_time=DateTimeTimeZone(date_time="2026-01-05T00:00:00", time_zone="UTC"),
            end_time=DateTimeTimeZone(date_time="2026-02-05T00:00:00", time_zone="UTC"),
            availability_view_interval=30,
        ),
        "cancel": CancelPostRequestBody(comment="Moved"),
        "decline": DeclinePostRequestBody(comment="Busy", send_response=True),
        "accept": AcceptPostRequestBody(comment="Yes", send_response=False),
    }
    for action, model in bodies.items():
        body = _sdk_json(model)
        assert validate_action(action, body) == [], (action, body)
    sent = canonical_action("sendMail", _sdk_json(bodies["sendMail"]))
    assert set(sent) == {"message", "saveToSentItems"}


def test_sdk_mailbox_settings_with_a_custom_zone_validate_clean() -> None:
    from datetime import time

    from msgraph.generated.models.custom_time_zone import CustomTimeZone
    from msgraph.generated.models.day_of_week import DayOfWeek
    from msgraph.generated.models.daylight_time_zone_offset import DaylightTimeZoneOffset
    from msgraph.generated.models.mailbox_settings import MailboxSettings
    from msgraph.generated.models.standard_time_zone_offset import StandardTimeZoneOffset
    from msgraph.generated.models.working_hours import WorkingHours

    zone = CustomTimeZone(
        name="Customized Time Zone",
        bias=480,
        standard_offset=StandardTimeZoneOffset(
            time=time(2), day_occurrence=1, day_of_week=DayOfWeek.Sunday, month=11, year=0
        ),
        daylight_offset=DaylightTimeZoneOffset(
            time=time(2), day_occurrence=2, day_of_week=DayOfWeek.Sunday, month=3, year=0, daylight_bias=-60
        ),
    )
    settings_ = MailboxSettings(
        time_zone="Pacific Standard Time",
        working_hours=WorkingHours(
            days_of_week=[DayOfWeek.Monday, DayOfWeek.Friday],
            start_time=time(8),
            end_time=time(17),
            time_zone=zone,
        ),
    )
    body = _sdk_json(settings_)
    assert body["workingHours"]["timeZone"]["@odata.type"] == "#microsoft.graph.customTimeZone"
    assert validate_entity("mailboxSettings", body, for_create=False) == []
