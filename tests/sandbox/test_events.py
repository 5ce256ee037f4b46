"""Events: documented creates replayed, meetings with attendee copies, dedup, queries, changes, cancels."""

from __future__ import annotations

from typing import Any

from tests.sandbox.sandbox_client import Graph, example, shape_mismatches, with_graph

PAIR_PROP = "String {66f5a359-4659-4830-9070-00040ec6ac6e} Name PairId"
ORG = "mentoring@contoso.com"


async def _people(graph: Graph, *handles: str) -> None:
    for handle in ("mentoring", *handles):
        await graph.add_user(handle)


def _series(**extra: Any) -> dict[str, Any]:
    body = {
        "subject": "Reverse mentoring",
        "body": {"contentType": "html", "content": "<p>Agenda</p>"},
        "start": {"dateTime": "2027-01-12T10:00:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2027-01-12T11:00:00", "timeZone": "Europe/Paris"},
        "attendees": [
            {"emailAddress": {"address": "lea@contoso.com", "name": "Léa"}, "type": "required"},
            {"emailAddress": {"address": "jean@contoso.com", "name": "Jean"}, "type": "required"},
        ],
        "recurrence": {
            "pattern": {
                "type": "weekly",
                "interval": 2,
                "daysOfWeek": ["tuesday"],
                "firstDayOfWeek": "monday",
            },
            "range": {"type": "numbered", "startDate": "2027-01-12", "numberOfOccurrences": 6},
        },
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
        "singleValueExtendedProperties": [{"id": PAIR_PROP, "value": "pair-1"}],
    }
    body.update(extra)
    return body


WINDOW = {"startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2027-04-01T00:00:00Z"}


def test_documented_create_requests_answer_the_documented_shapes() -> None:
    cases = [
        ("create_event_transactionid_request.json", "create_event_transactionid_response.json"),
        ("create_event_multiple_locations_request.json", "create_event_multiple_locations_response.json"),
        (
            "create_event_recurring_weekly_request.json",
            "create_event_recurring_weekly_response_trailing_comma_removed.json",
        ),
        ("create_event_online_meeting_teams_request.json", "create_event_online_meeting_teams_response.json"),
    ]

    async def scenario(graph: Graph) -> None:
        await graph.add_user("danas@contoso.onmicrosoft.com")
        for request, documented in cases:
            response = await graph.post(
                "/users/danas@contoso.onmicrosoft.com/events",
                example(request),
                headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'},
            )
            assert response.status_code == 201, (request, response.text)
            body = response.json()
            assert shape_mismatches(example(documented), body) == [], request
            assert body["start"]["timeZone"] == "Pacific Standard Time"
            assert body["body"]["content"].startswith("<html>")
        teams = body
        assert teams["onlineMeeting"]["joinUrl"].startswith("https://teams.microsoft.com/l/meetup-join/")
        assert teams["organizer"]["emailAddress"]["address"] == "danas@contoso.onmicrosoft.com"

    with_graph(scenario)


def test_attendees_get_their_copy_and_an_invitation() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        assert [a["status"]["response"] for a in created["attendees"]] == ["none", "none"]
        view = await graph.get("/users/lea@contoso.com/calendarView", params=WINDOW)
        copies = view.json()["value"]
        assert len(copies) == 6 and {c["type"] for c in copies} == {"occurrence"}
        assert copies[0]["isOrganizer"] is False and copies[0]["responseStatus"]["response"] == "none"
        assert copies[0]["showAs"] == "tentative"
        assert copies[0]["onlineMeeting"]["joinUrl"] == created["onlineMeeting"]["joinUrl"]
        inbox = await graph.get("/users/lea@contoso.com/mailFolders/inbox/messages")
        assert [m["meetingMessageType"] for m in inbox.json()["value"]] == ["meetingRequest"]

    with_graph(scenario)


def test_same_transaction_id_returns_the_existing_event() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        first = await graph.post(f"/users/{ORG}/events", _series(transactionId="pair-1-series-1"))
        again = await graph.post(f"/users/{ORG}/events", _series(transactionId="pair-1-series-1"))
        assert first.status_code == again.status_code == 201
        assert first.json()["id"] == again.json()["id"]
        assert first.json()["transactionId"] == "pair-1-series-1"
        listed = await graph.get(f"/users/{ORG}/events")
        assert len(listed.json()["value"]) == 1
        other = await graph.post(f"/users/{ORG}/events", _series())
        assert "transactionId" not in other.json()

    with_graph(scenario)


def test_filter_on_extended_property_follows_odata_quoting_and_case_rules() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        await graph.post(
            f"/users/{ORG}/events",
            _series(singleValueExtendedProperties=[{"id": PAIR_PROP, "value": "O'Brien/Lea"}]),
        )
        await graph.post(
            f"/users/{ORG}/events",
            _series(singleValueExtendedProperties=[{"id": PAIR_PROP, "value": "other"}]),
        )

        async def count(prop_id: str, value: str) -> int:
            value = value.replace("'", "''")
            f = f"singleValueExtendedProperties/Any(ep: ep/id eq '{prop_id}' and ep/value eq '{value}')"
            response = await graph.get(f"/users/{ORG}/events", params={"$filter": f, "$select": "subject"})
            assert response.status_code == 200, response.text
            return len(response.json()["value"])

        assert await count(PAIR_PROP, "O'Brien/Lea") == 1
        assert await count(PAIR_PROP, "o'brien/lea") == 1  # values: case-insensitive
        assert await count(PAIR_PROP.replace("PairId", "pairid"), "O'Brien/Lea") == 0  # names: case-sensitive
        assert await count(PAIR_PROP.upper().replace("NAME PAIRID", "Name PairId"), "other") == 1  # GUID case
        bad = await graph.get(
            f"/users/{ORG}/events", params={"$filter": "singleValueExtendedProperties/Any(ep: ep/id eq 'x'"}
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "BadRequest"

    with_graph(scenario)


def test_get_with_select_and_expand_of_one_extended_property() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        response = await graph.get(
            f"/users/{ORG}/events/{created['id']}",
            params={
                "$select": "subject,type",
                "$expand": f"singleValueExtendedProperties($filter=id eq '{PAIR_PROP}')",
            },
        )
        body = response.json()
        assert body["type"] == "seriesMaster" and body["subject"] == "Reverse mentoring"
        assert "start" not in body and "@odata.etag" in body
        assert body["singleValueExtendedProperties"] == [{"id": PAIR_PROP, "value": "pair-1"}]
        assert body["@odata.context"].endswith("/events/$entity")

    with_graph(scenario)


def test_lists_page_by_ten_with_a_next_link() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph)
        for day in range(1, 24):
            await graph.post(
                f"/users/{ORG}/events",
                {
                    "subject": f"e{day}",
                    "start": {"dateTime": f"2027-02-{day:02d}T09:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": f"2027-02-{day:02d}T10:00:00", "timeZone": "UTC"},
                },
            )
        seen: list[str] = []
        page = (
            await graph.get(
                f"/users/{ORG}/events", params={"$select": "subject", "$orderby": "start/dateTime"}
            )
        ).json()
        pages = 1
        while "@odata.nextLink" in page:
            assert len(page["value"]) == 10
            seen += [e["subject"] for e in page["value"]]
            link = page["@odata.nextLink"].removeprefix("http://sandbox/v1.0")
            page = (await graph.get(link)).json()
            pages += 1
        seen += [e["subject"] for e in page["value"]]
        assert pages == 3 and seen == [f"e{d}" for d in range(1, 24)]
        top = (await graph.get(f"/users/{ORG}/events", params={"$top": "5"})).json()
        assert len(top["value"]) == 5 and "@odata.nextLink" in top

    with_graph(scenario)


def test_instances_and_calendar_view_need_their_window() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        for path in (f"/users/{ORG}/events/{created['id']}/instances", f"/users/{ORG}/calendarView"):
            response = await graph.get(path, params={"startDateTime": "2027-01-01T00:00:00Z"})
            assert response.status_code == 400 and response.json()["error"]["code"] == "ErrorInvalidParameter"
        instances = await graph.get(
            f"/users/{ORG}/events/{created['id']}/instances",
            params={**WINDOW, "$select": "subject,bodyPreview,seriesMasterId,type,recurrence,start,end"},
        )
        body = instances.json()
        assert shape_mismatches(example("event_instances_response.json"), body) == []
        ids = [o["id"] for o in body["value"]]
        assert len(ids) == len(set(ids)) == 6
        again = await graph.get(f"/users/{ORG}/events/{created['id']}/instances", params=WINDOW)
        assert [o["id"] for o in again.json()["value"]] == ids
        assert body["value"][0]["start"] == {"dateTime": "2027-01-12T09:00:00.0000000", "timeZone": "UTC"}
        occurrence = (await graph.get(f"/users/{ORG}/events/{ids[2]}")).json()
        assert (
            occurrence["seriesMasterId"] == created["id"]
            and occurrence["originalStart"] == "2027-02-09T09:00:00Z"
        )

    with_graph(scenario)


def test_patching_an_occurrence_makes_an_exception_and_reaches_attendees() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        ids = [
            o["id"]
            for o in (
                await graph.get(f"/users/{ORG}/events/{created['id']}/instances", params=WINDOW)
            ).json()["value"]
        ]
        moved = await graph.patch(
            f"/users/{ORG}/events/{ids[1]}",
            {
                "start": {"dateTime": "2027-01-28T14:00:00", "timeZone": "Europe/Paris"},
                "end": {"dateTime": "2027-01-28T15:00:00", "timeZone": "Europe/Paris"},
            },
        )
        assert moved.status_code == 200 and moved.json()["type"] == "exception"
        renamed = await graph.patch(f"/users/{ORG}/events/{created['id']}", {"subject": "Renamed series"})
        assert renamed.status_code == 200
        instances = (await graph.get(f"/users/{ORG}/events/{created['id']}/instances", params=WINDOW)).json()[
            "value"
        ]
        assert [i["type"] for i in instances].count("exception") == 1
        assert {i["subject"] for i in instances} == {"Renamed series"}
        exception = next(i for i in instances if i["type"] == "exception")
        assert exception["start"]["dateTime"] == "2027-01-28T13:00:00.0000000" and exception["id"] == ids[1]
        lea = (await graph.get("/users/lea@contoso.com/calendarView", params=WINDOW)).json()["value"]
        assert any(i["start"]["dateTime"] == "2027-01-28T13:00:00.0000000" for i in lea)
        assert {i["subject"] for i in lea} == {"Renamed series"}

    with_graph(scenario)


def test_attendee_declines_one_occurrence_and_the_organizer_sees_it_there_only() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        jeans = (await graph.get("/users/jean@contoso.com/calendarView", params=WINDOW)).json()["value"]
        answer = await graph.post(
            f"/users/jean@contoso.com/events/{jeans[2]['id']}/decline",
            {"comment": "Board meeting", "sendResponse": True},
        )
        assert answer.status_code == 202
        instances = (await graph.get(f"/users/{ORG}/events/{created['id']}/instances", params=WINDOW)).json()[
            "value"
        ]
        statuses = [
            {a["emailAddress"]["address"]: a["status"]["response"] for a in i["attendees"]} for i in instances
        ]
        assert statuses[2]["jean@contoso.com"] == "declined"
        assert all(s["jean@contoso.com"] == "none" for k, s in enumerate(statuses) if k != 2)
        inbox = (
            await graph.get(f"/users/{ORG}/messages", params={"$select": "subject,body,meetingMessageType"})
        ).json()
        declined = [m for m in inbox["value"] if m.get("meetingMessageType") == "meetingDeclined"]
        assert len(declined) == 1 and "Board meeting" in declined[0]["body"]["content"]
        own = (await graph.get(f"/users/jean@contoso.com/events/{jeans[2]['id']}")).json()
        assert own["responseStatus"]["response"] == "declined" and own["showAs"] == "free"
        # Without sendResponse the organizer learns nothing.
        await graph.post(f"/users/lea@contoso.com/events/{jeans[0]['id']}/accept", {"sendResponse": False})
        leas = (await graph.get("/users/lea@contoso.com/calendarView", params=WINDOW)).json()["value"]
        await graph.post(
            f"/users/lea@contoso.com/events/{leas[0]['seriesMasterId']}/accept", {"sendResponse": False}
        )
        master = (await graph.get(f"/users/{ORG}/events/{created['id']}")).json()
        assert {a["status"]["response"] for a in master["attendees"]} == {"none"}
        refused = await graph.post(f"/users/{ORG}/events/{created['id']}/accept", {})
        assert refused.status_code == 400

    with_graph(scenario)


def test_cancel_is_for_organizers_and_tells_attendees() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        instances = (await graph.get(f"/users/{ORG}/events/{created['id']}/instances", params=WINDOW)).json()[
            "value"
        ]
        leas = (await graph.get("/users/lea@contoso.com/calendarView", params=WINDOW)).json()["value"]
        refused = await graph.post(f"/users/lea@contoso.com/events/{leas[0]['id']}/cancel", {"Comment": "no"})
        assert refused.status_code == 400
        assert "need to be an organizer" in refused.json()["error"]["message"]
        cancelled = await graph.post(
            f"/users/{ORG}/events/{instances[3]['id']}/cancel", example("event_cancel_request.json")
        )
        assert cancelled.status_code == 202 and cancelled.content == b""
        after = (await graph.get(f"/users/{ORG}/events/{created['id']}/instances", params=WINDOW)).json()[
            "value"
        ]
        assert instances[3]["id"] not in [i["id"] for i in after] and len(after) == 5
        master = (
            await graph.get(
                f"/users/{ORG}/events/{created['id']}", params={"$select": "cancelledOccurrences"}
            )
        ).json()
        assert master["cancelledOccurrences"] == [f"OID.{created['id']}.2027-02-23"]
        unselected = (await graph.get(f"/users/{ORG}/events/{created['id']}")).json()
        listed = (await graph.get(f"/users/{ORG}/events")).json()["value"]
        assert "cancelledOccurrences" not in unselected and "cancelledOccurrences" not in listed[0]
        assert (await graph.get(f"/users/{ORG}/events/{instances[3]['id']}")).status_code == 404
        assert (
            len((await graph.get("/users/lea@contoso.com/calendarView", params=WINDOW)).json()["value"]) == 5
        )
        inbox = (
            await graph.get("/users/lea@contoso.com/messages", params={"$select": "meetingMessageType,body"})
        ).json()
        cancellations = [m for m in inbox["value"] if m["meetingMessageType"] == "meetingCancelled"]
        assert len(cancellations) == 1 and "all hands" in cancellations[0]["body"]["content"]
        whole = await graph.post(f"/users/{ORG}/events/{created['id']}/cancel", {"comment": "Programme over"})
        assert whole.status_code == 202
        assert (await graph.get(f"/users/{ORG}/events/{created['id']}")).status_code == 404
        copy = (await graph.get("/users/lea@contoso.com/events")).json()["value"][0]
        assert copy["isCancelled"] is True and copy["subject"].startswith("Canceled: ")

    with_graph(scenario)


def test_delete_answers_204_and_cancels_the_copies() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        deleted = await graph.delete(f"/users/{ORG}/events/{created['id']}")
        assert deleted.status_code == 204
        assert (await graph.delete(f"/users/{ORG}/events/{created['id']}")).status_code == 404
        copy = (await graph.get("/users/jean@contoso.com/events")).json()["value"][0]
        assert copy["isCancelled"] is True

    with_graph(scenario)


def test_every_outlook_pattern_is_accepted_and_bad_ones_refused() -> None:
    patterns = {
        k: v["pattern"]
        for k, v in example("recurrence_examples.json").items()
        if isinstance(v, dict) and "pattern" in v
    }

    async def scenario(graph: Graph) -> None:
        await _people(graph)
        for name, pattern in patterns.items():
            body = {
                "subject": name,
                "start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "W. Europe Standard Time"},
                "end": {"dateTime": "2027-01-04T10:00:00", "timeZone": "W. Europe Standard Time"},
                "recurrence": {
                    "pattern": pattern,
                    "range": {"type": "numbered", "startDate": "2027-01-04", "numberOfOccurrences": 3},
                },
            }
            response = await graph.post(f"/users/{ORG}/events", body)
            assert response.status_code == 201, (name, response.text)
            instances = await graph.get(
                f"/users/{ORG}/events/{response.json()['id']}/instances",
                params={"startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2031-01-01T00:00:00Z"},
            )
            assert len(instances.json()["value"]) == 3, name
        bad = {
            "subject": "x",
            "start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-01-04T10:00:00", "timeZone": "UTC"},
            "recurrence": {
                "pattern": {"type": "weekly", "interval": 1},
                "range": {"type": "numbered", "startDate": "2027-01-04", "numberOfOccurrences": 3},
            },
        }
        refused = await graph.post(f"/users/{ORG}/events", bad)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "ErrorInvalidRequest"

    with_graph(scenario)


def test_bodies_graph_would_refuse_are_refused_with_its_shape() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph)
        base = {
            "subject": "x",
            "start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2027-01-04T10:00:00", "timeZone": "UTC"},
        }
        for body in (
            {**base, "colour": "red"},
            {**base, "showAs": "sleeping"},
            {**base, "isAllDay": "perhaps"},
        ):
            response = await graph.post(f"/users/{ORG}/events", body)
            assert response.status_code == 400, body
            error = response.json()["error"]
            assert error["code"] == "RequestBodyRead" and set(error["innerError"]) >= {"date", "request-id"}
        zone = await graph.post(
            f"/users/{ORG}/events",
            {**base, "start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "Mars/Olympus"}},
        )
        assert zone.status_code == 400 and zone.json()["error"]["code"] == "TimeZoneNotSupportedException"
        # The documented update carries placeholders ("datetime-value"); its real-valued fields are replayed.
        documented = {
            k: v
            for k, v in example("event_update_request.json").items()
            if k
            in (
                "reminderMinutesBeforeStart",
                "isOnlineMeeting",
                "onlineMeetingProvider",
                "isReminderOn",
                "hideAttendees",
                "categories",
                "recurrence",
            )
        }
        created = (await graph.post(f"/users/{ORG}/events", base)).json()
        update = await graph.patch(f"/users/{ORG}/events/{created['id']}", documented)
        assert update.status_code == 200, update.text
        assert shape_mismatches(example("event_update_response.json"), update.json()) == []
        assert update.json()["categories"] == ["Red category"] and update.json()["onlineMeeting"]["joinUrl"]

    with_graph(scenario)


def test_new_times_clear_the_answers_given_to_the_old_ones() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        jeans = (await graph.get("/users/jean@contoso.com/events")).json()["value"]
        await graph.post(f"/users/jean@contoso.com/events/{jeans[0]['id']}/decline", {"sendResponse": True})
        master = (await graph.get(f"/users/{ORG}/events/{created['id']}")).json()
        assert "declined" in {a["status"]["response"] for a in master["attendees"]}
        await graph.patch(
            f"/users/{ORG}/events/{created['id']}",
            {
                "start": {"dateTime": "2027-01-12T15:00:00", "timeZone": "Europe/Paris"},
                "end": {"dateTime": "2027-01-12T16:00:00", "timeZone": "Europe/Paris"},
            },
        )
        master = (await graph.get(f"/users/{ORG}/events/{created['id']}")).json()
        assert {a["status"]["response"] for a in master["attendees"]} == {"none"}
        copy = (await graph.get(f"/users/jean@contoso.com/events/{jeans[0]['id']}")).json()
        assert copy["responseStatus"]["response"] == "none" and copy["showAs"] == "tentative"
        assert copy["start"]["dateTime"] == "2027-01-12T14:00:00.0000000"

    with_graph(scenario)


def test_patching_only_the_range_ends_a_series_early() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        ended = await graph.patch(
            f"/users/{ORG}/events/{created['id']}",
            {
                "recurrence": {
                    "range": {"type": "endDate", "startDate": "2027-01-12", "endDate": "2027-02-09"}
                }
            },
        )
        assert ended.status_code == 200, ended.text
        assert ended.json()["recurrence"]["pattern"]["interval"] == 2
        instances = (await graph.get(f"/users/{ORG}/events/{created['id']}/instances", params=WINDOW)).json()
        assert [i["start"]["dateTime"][:10] for i in instances["value"]] == [
            "2027-01-12",
            "2027-01-26",
            "2027-02-09",
        ]
        leas = (await graph.get("/users/lea@contoso.com/calendarView", params=WINDOW)).json()["value"]
        assert len(leas) == 3

    with_graph(scenario)


def test_resending_the_attendee_list_keeps_the_answers_of_those_who_stay() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph, "lea", "jean", "tom")
        created = (await graph.post(f"/users/{ORG}/events", _series())).json()
        leas = (await graph.get("/users/lea@contoso.com/events")).json()["value"]
        await graph.post(f"/users/lea@contoso.com/events/{leas[0]['id']}/accept", {})
        attendees = [
            *_series()["attendees"],
            {"emailAddress": {"address": "tom@contoso.com"}, "type": "optional"},
        ]
        patched = await graph.patch(f"/users/{ORG}/events/{created['id']}", {"attendees": attendees})
        answers = {a["emailAddress"]["address"]: a["status"]["response"] for a in patched.json()["attendees"]}
        assert answers == {
            "lea@contoso.com": "accepted",
            "jean@contoso.com": "none",
            "tom@contoso.com": "none",
        }
        assert len((await graph.get("/users/tom@contoso.com/events")).json()["value"]) == 1

    with_graph(scenario)
