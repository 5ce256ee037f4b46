"""msgraph-sdk, the worker's own client, parses every kind of sandbox response.

A GraphServiceClient is driven over an ``httpx.ASGITransport``: the same request builders, the same
serialisation (PascalCase action parameters, ``@odata.type`` annotations) and the same parse nodes as
against Microsoft, so a shape the SDK cannot read fails here rather than in production.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.attendee import Attendee
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.day_of_week import DayOfWeek
from msgraph.generated.models.email_address import EmailAddress
from msgraph.generated.models.event import Event
from msgraph.generated.models.event_type import EventType
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recipient import Recipient
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.models.response_type import ResponseType
from msgraph.generated.models.single_value_legacy_extended_property import SingleValueLegacyExtendedProperty
from msgraph.generated.models.user import User
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
    GetSchedulePostRequestBody,
)
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
    CalendarViewRequestBuilder,
)
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import CancelPostRequestBody
from msgraph.generated.users.item.events.item.decline.decline_post_request_body import DeclinePostRequestBody
from msgraph.generated.users.item.events.item.instances.instances_request_builder import (
    InstancesRequestBuilder,
)
from msgraph.generated.users.item.send_mail.send_mail_post_request_body import SendMailPostRequestBody

from tests.sandbox.sandbox_client import Graph, run
from worker.sandbox.app import SandboxApp, create_app

PROP = "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name PairId"


class _Token(AccessTokenProvider):
    def __init__(self, token: str) -> None:
        self.token = token

    async def get_authorization_token(self, uri: str, additional_authentication_context: Any = None) -> str:
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator(["sandbox"])


def _client(app: SandboxApp, token: str) -> GraphServiceClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(_Token(token)), client=http)
    adapter.base_url = "http://sandbox/v1.0"
    return GraphServiceClient(request_adapter=adapter)


def _when(text: str, zone: str = "Europe/Paris") -> DateTimeTimeZone:
    return DateTimeTimeZone(date_time=text, time_zone=zone)


def test_the_sdk_reads_every_kind_of_response() -> None:
    app = create_app(empty=True)

    async def scenario() -> None:
        token = await Graph(app).get_token()
        client = _client(app, token)
        users = client.users
        for handle in ("mentoring", "lea", "jean"):
            created = await users.post(
                User(
                    account_enabled=True,
                    display_name=handle,
                    mail_nickname=handle,
                    user_principal_name=f"{handle}@contoso.com",
                    password_profile=PasswordProfile(password="Secr3t!pass"),
                )
            )
            assert created is not None and created.user_principal_name == f"{handle}@contoso.com"
        graph = Graph(app)
        graph.token = token
        await graph.put(
            "/users/lea@contoso.com/manager/$ref",
            {"@odata.id": "https://graph.microsoft.com/v1.0/users/jean@contoso.com"},
        )
        manager = await users.by_user_id("lea@contoso.com").manager.get()
        assert isinstance(manager, User) and manager.user_principal_name == "jean@contoso.com"
        org = users.by_user_id("mentoring@contoso.com")
        settings = await org.mailbox_settings.get()
        assert settings is not None and settings.working_hours is not None
        assert settings.working_hours.start_time == dt.time(8, 0)

        schedule = await org.calendar.get_schedule.post(
            GetSchedulePostRequestBody(
                schedules=["lea@contoso.com", "ghost@contoso.com"],
                start_time=_when("2027-01-11T08:00:00"),
                end_time=_when("2027-01-11T18:00:00"),
                availability_view_interval=30,
            )
        )
        assert schedule is not None and schedule.value is not None
        assert schedule.value[0].availability_view == "0" * 20 and schedule.value[1].error is not None

        event = Event(
            subject="Reverse mentoring",
            body=ItemBody(content_type=BodyType.Html, content="<p>Agenda</p>"),
            start=_when("2027-01-12T10:00:00"),
            end=_when("2027-01-12T11:00:00"),
            attendees=[
                Attendee(email_address=EmailAddress(address=a))
                for a in ("lea@contoso.com", "jean@contoso.com")
            ],
            recurrence=PatternedRecurrence(
                pattern=RecurrencePattern(
                    type=RecurrencePatternType.Weekly,
                    interval=2,
                    days_of_week=[DayOfWeek.Tuesday],
                    first_day_of_week=DayOfWeek.Monday,
                ),
                range=RecurrenceRange(
                    type=RecurrenceRangeType.Numbered,
                    start_date=dt.date(2027, 1, 12),
                    number_of_occurrences=6,
                ),
            ),
            is_online_meeting=True,
            online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
            transaction_id="pair-1",
            single_value_extended_properties=[SingleValueLegacyExtendedProperty(id=PROP, value="p1")],
        )
        master = await org.events.post(event)
        assert (
            master is not None and master.type == EventType.SeriesMaster and master.online_meeting is not None
        )
        assert master.online_meeting.join_url and master.recurrence is not None

        found = await org.events.get(
            request_configuration=RequestConfiguration(
                query_parameters=EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
                    filter=f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'p1')",
                    select=["id", "subject"],
                )
            )
        )
        assert found is not None and [e.id for e in found.value or []] == [master.id]

        window = {"start_date_time": "2027-01-01T00:00:00Z", "end_date_time": "2027-04-01T00:00:00Z"}
        assert master.id is not None
        instances = await org.events.by_event_id(master.id).instances.get(
            request_configuration=RequestConfiguration(
                query_parameters=InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(**window)
            )
        )
        assert instances is not None and len(instances.value or []) == 6
        occurrence = (instances.value or [])[1]
        assert occurrence.type == EventType.Occurrence and occurrence.original_start is not None
        assert occurrence.id is not None
        changed = await org.events.by_event_id(occurrence.id).patch(Event(subject="Moved topic"))
        assert changed is not None and changed.type == EventType.Exception

        jean = users.by_user_id("jean@contoso.com")
        view = await jean.calendar_view.get(
            request_configuration=RequestConfiguration(
                query_parameters=CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
                    **window
                )
            )
        )
        assert view is not None and view.value and view.value[2].id is not None
        await jean.events.by_event_id(view.value[2].id).decline.post(
            DeclinePostRequestBody(comment="Away", send_response=True)
        )
        after = await org.events.by_event_id(master.id).instances.get(
            request_configuration=RequestConfiguration(
                query_parameters=InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(**window)
            )
        )
        assert after is not None and after.value
        declined = [
            a
            for a in after.value[2].attendees or []
            if a.status and a.status.response == ResponseType.Declined
        ]
        assert len(declined) == 1
        assert after.value[3].id is not None
        await org.events.by_event_id(after.value[3].id).cancel.post(CancelPostRequestBody(comment="Holiday"))

        await org.send_mail.post(
            SendMailPostRequestBody(
                message=Message(
                    subject="Feedback",
                    body=ItemBody(content_type=BodyType.Text, content="How was it?"),
                    to_recipients=[Recipient(email_address=EmailAddress(address="lea@contoso.com"))],
                ),
                save_to_sent_items=True,
            )
        )
        sent = await org.mail_folders.by_mail_folder_id("sentitems").messages.get()
        assert sent is not None and sent.value and sent.value[0].internet_message_id
        inbox = await users.by_user_id("lea@contoso.com").messages.get()
        assert inbox is not None and {m.subject for m in inbox.value or []} >= {
            "Feedback",
            "Reverse mentoring",
        }

        app.faults.update(
            {"transient_error_rate": 1.0, "transient_statuses": [429], "retry_after_seconds": [3, 3]}
        )
        with pytest.raises(ODataError) as throttled:
            await org.events.get()
        assert throttled.value.response_status_code == 429 and throttled.value.error is not None
        assert throttled.value.error.code == "TooManyRequests"
        assert (throttled.value.response_headers or {}).get("retry-after") == "3"
        app.faults.update({"transient_error_rate": 0.0})
        with pytest.raises(ODataError) as missing:
            await org.events.by_event_id("AAMkAnothing").get()
        assert missing.value.response_status_code == 404
        assert missing.value.error is not None and missing.value.error.code == "ErrorItemNotFound"

    run(scenario())
