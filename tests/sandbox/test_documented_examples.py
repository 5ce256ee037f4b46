"""Every documented example is either replayed against the sandbox or knowingly out of its scope.

Replays not covered by the per-area test files live here; the coverage test keeps the list honest
when examples are added.
"""

from __future__ import annotations

import json

from tests.sandbox.sandbox_client import EXAMPLES, Graph, example, shape_mismatches, with_graph

ORG = "alexw@contoso.onmicrosoft.com"
FUN = "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name Fun"

REPLAYED = {
    # test_getschedule.py
    "getschedule_request.json",
    "getschedule_response.json",
    "getschedule_concept_request.json",
    "getschedule_concept_response.json",
    "getschedule_unresolvable_user_error_item_response.json",
    "getschedule_too_many_schedules_error_response.json",
    # test_events.py
    "create_event_transactionid_request.json",
    "create_event_transactionid_response.json",
    "create_event_multiple_locations_request.json",
    "create_event_multiple_locations_response.json",
    "create_event_recurring_weekly_request.json",
    "create_event_recurring_weekly_response_trailing_comma_removed.json",
    "create_event_online_meeting_teams_request.json",
    "create_event_online_meeting_teams_response.json",
    "event_instances_response.json",
    "event_cancel_request.json",
    "event_update_request.json",
    "event_update_response.json",
    "recurrence_examples.json",
    # test_mail.py
    "sendmail_request.json",
    "sendmail_with_headers_request.json",
    "sendmail_with_attachment_request.json",
    "sendmail_mime_error_response.json",
    # test_batch.py, test_limits.py, test_directory.py
    "batch_response.json",
    "mailbox_concurrency_429_response.json",
    "throttling_429_response.json",
    "application_access_policy_denied_error.json",
    "mailboxsettings_response.json",
    "mailboxsettings_workinghours_response.json",
    # here
    "calendarview_response.json",
    "event_get_response.json",
    "event_get_multiple_locations_response.json",
    "calendar_get_online_meeting_providers_response.json",
    "create_event_with_single_value_extended_property_request.json",
    "get_message_expand_single_value_extended_property_response.json",
    "batch_request.json",
}
OUT_OF_SCOPE = {
    "create_event_recurring_weekly_response.txt": "the docs' invalid JSON; its fixed copy is replayed",
    "batch_request_dependson.json": "URLs are '...' placeholders; dependsOn is tested in test_batch.py",
    "findmeetingtimes_request.json": "delegated-only API, which an app-only worker cannot call",
    "findmeetingtimes_response.json": "delegated-only API",
    "online_meeting_create_request.json": "the worker books Teams links through events, not /onlineMeetings",
    "online_meeting_create_response.json": "as above",
    "online_meeting_enable_patch_request.json": "as above",
    "online_meeting_enable_patch_response.json": "as above",
    "group_event_open_extension_request.json": "group calendars and open extensions are not used",
    "group_event_open_extension_response.json": "as above",
    "supportedtimezones_iana_response.json": "supportedTimeZones is not used by the worker",
    "supportedtimezones_windows_response.json": "as above",
    "throttling_429_response_retry_after_10.json": "same shape as throttling_429_response.json",
}


def test_every_documented_example_is_replayed_or_out_of_scope() -> None:
    index = json.loads((EXAMPLES / "INDEX.json").read_text(encoding="utf-8"))
    documented = {entry["file"] for entry in index}
    assert documented == REPLAYED | set(OUT_OF_SCOPE)
    assert not REPLAYED & set(OUT_OF_SCOPE)


async def _alex(graph: Graph) -> None:
    await graph.add_user(ORG, name="Alex Wilber")
    await graph.add_user("samanthab@contoso.onmicrosoft.com", name="Samantha Booth")


def test_event_get_calendar_view_and_calendar_answer_the_documented_shapes() -> None:
    async def scenario(graph: Graph) -> None:
        await _alex(graph)
        pst = {"Prefer": 'outlook.timezone="Pacific Standard Time"'}
        for request in (
            "create_event_transactionid_request.json",
            "create_event_multiple_locations_request.json",
        ):
            created = (await graph.post(f"/users/{ORG}/events", example(request))).json()
            got = await graph.get(
                f"/users/{ORG}/events/{created['id']}",
                headers=pst,
                params={
                    "$select": "subject,body,bodyPreview,organizer,attendees,start,end,location,locations,"
                    "hideAttendees"
                },
            )
            assert got.status_code == 200
            documented = (
                "event_get_response.json"
                if "transactionid" in request
                else "event_get_multiple_locations_response.json"
            )
            assert shape_mismatches(example(documented), got.json()) == [], documented
            assert got.json()["start"]["timeZone"] == "Pacific Standard Time"
        view = await graph.get(
            f"/users/{ORG}/calendarView",
            params={"startDateTime": "2017-04-15T00:00:00-08:00", "endDateTime": "2017-04-16T00:00:00-08:00"},
        )
        assert shape_mismatches(example("calendarview_response.json"), view.json()) == []
        assert len(view.json()["value"]) == 1
        calendar = await graph.get(
            f"/users/{ORG}/calendar",
            params={"$select": "allowedOnlineMeetingProviders,defaultOnlineMeetingProvider"},
        )
        assert calendar.json()["allowedOnlineMeetingProviders"] == ["teamsForBusiness"]
        full = await graph.get(f"/users/{ORG}/calendar")
        assert (
            shape_mismatches(example("calendar_get_online_meeting_providers_response.json"), full.json())
            == []
        )

    with_graph(scenario)


def test_extended_properties_on_events_and_messages_as_documented() -> None:
    async def scenario(graph: Graph) -> None:
        await _alex(graph)
        body = example("create_event_with_single_value_extended_property_request.json")
        body["attendees"][0]["emailAddress"]["address"] = "samanthab@contoso.onmicrosoft.com"
        created = await graph.post(f"/users/{ORG}/events", body)
        assert created.status_code == 201
        assert "singleValueExtendedProperties" not in created.json()  # "includes only the new instance"
        expanded = await graph.get(
            f"/users/{ORG}/events/{created.json()['id']}",
            params={"$expand": f"singleValueExtendedProperties($filter=id eq '{FUN}')"},
        )
        assert expanded.json()["singleValueExtendedProperties"] == [{"id": FUN, "value": "Food"}]
        color = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color"
        await graph.post(
            f"/users/{ORG}/sendMail",
            {
                "message": {
                    "subject": "RE: Talk about emergency prep",
                    "toRecipients": [{"emailAddress": {"address": ORG}}],
                    "singleValueExtendedProperties": [{"id": color, "value": "Green"}],
                }
            },
        )
        inbox = (await graph.get(f"/users/{ORG}/mailFolders/inbox/messages")).json()["value"]
        message = await graph.get(
            f"/users/{ORG}/messages/{inbox[0]['id']}",
            params={"$expand": f"singleValueExtendedProperties($filter=id eq '{color}')"},
        )
        documented = example("get_message_expand_single_value_extended_property_response.json")
        assert shape_mismatches(documented, message.json()) == []
        assert message.json()["singleValueExtendedProperties"] == [{"id": color, "value": "Green"}]
        wrong_name = color.replace("Color", "color")
        none = await graph.get(
            f"/users/{ORG}/messages/{inbox[0]['id']}",
            params={"$expand": f"singleValueExtendedProperties($filter=id eq '{wrong_name}')"},
        )
        assert none.json()["singleValueExtendedProperties"] == []

    with_graph(scenario)


def test_documented_batch_gets_per_item_answers_for_resources_the_sandbox_lacks() -> None:
    async def scenario(graph: Graph) -> None:
        response = await graph.post("/$batch", example("batch_request.json"))
        assert response.status_code == 200
        statuses = {r["id"]: r["status"] for r in response.json()["responses"]}
        assert statuses == {
            "1": 400,
            "2": 400,
            "3": 400,
            "4": 400,
        }  # /me is delegated-only; no drive, planner, groups

    with_graph(scenario)
