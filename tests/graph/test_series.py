"""Series and occurrences over the wire: create, find, list, instances, move, update, cancel, end."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, date, datetime
from urllib.parse import unquote

import httpx
import pytest

from tests.graph.conftest import GRAPH, Wire, assert_bodies_valid, body_of, fixture
from worker.core.types import (
    Attendee,
    Cadence,
    CadenceKind,
    Interval,
    Protection,
    Recurrence,
    Response,
    SeriesSpec,
    WeekIndex,
)
from worker.graph.errors import TeamsLinkMissing
from worker.graph.mapping import PROPERTY_GUID, property_id
from worker.graph.ops import Gateway

pytestmark = pytest.mark.anyio

ORG = "mentoring@contoso.com"


def spec(**changes: object) -> SeriesSpec:
    base = SeriesSpec(
        organizer=ORG,
        key="pair-o'brien",
        subject="Reverse mentoring: Ana & Bo",
        body_html="<p>Agenda &amp; goals</p>",
        start_local=datetime(2026, 1, 5, 10, 0),
        end_local=datetime(2026, 1, 5, 10, 45),
        zone_name="Europe/Berlin",
        recurrence=Recurrence(Cadence(CadenceKind.WEEKLY, 2), 0, date(2026, 1, 5), 6, "Europe/Berlin"),
        attendees=(Attendee("ana@contoso.com", name="Ana"), Attendee("bo@contoso.com")),
        protection=Protection(),
        teams_meeting=True,
        transaction_id="5e0b6f3e-2d7b-5a53-9a0c-3f1f4e5d6c7b",
        properties={"programme": "spring", "fingerprint": "abc"},
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def created_response(*, join: bool = True) -> dict[str, object]:
    event = copy.deepcopy(fixture("create_event_recurring_weekly_response_trailing_comma_removed.json"))
    if join:
        event["onlineMeeting"] = fixture("create_event_online_meeting_teams_response.json")["onlineMeeting"]
    return event


async def test_create_series_sends_a_protected_recurring_teams_meeting(wire: Wire, gateway: Gateway) -> None:
    route = wire.router.post(f"{GRAPH}/users/{ORG}/events").mock(
        return_value=httpx.Response(201, json=created_response())
    )
    info = await gateway.create_series(spec())

    body = body_of(route.calls.last.request)
    assert body["transactionId"] == "5e0b6f3e-2d7b-5a53-9a0c-3f1f4e5d6c7b"
    assert body["start"] == {"dateTime": "2026-01-05T10:00:00", "timeZone": "W. Europe Standard Time"}
    assert body["recurrence"]["pattern"] == {
        "daysOfWeek": ["monday"],
        "firstDayOfWeek": "monday",
        "interval": 2,
        "type": "weekly",
    }
    assert body["recurrence"]["range"] == {
        "numberOfOccurrences": 6,
        "recurrenceTimeZone": "W. Europe Standard Time",
        "startDate": "2026-01-05",
        "type": "numbered",
    }
    assert body["isOnlineMeeting"] is True and body["onlineMeetingProvider"] == "teamsForBusiness"
    assert body["sensitivity"] == "private" and body["showAs"] == "busy"
    assert body["allowNewTimeProposals"] is False
    props = {p["id"]: p["value"] for p in body["singleValueExtendedProperties"]}
    assert props[f"String {{{PROPERTY_GUID}}} Name key"] == "pair-o'brien"
    assert props[property_id("owner")] == "crossgen"
    assert props[property_id("programme")] == "spring"
    assert assert_bodies_valid([route.calls.last.request]) == 1

    assert info.join_url and info.join_url.startswith("https://teams.microsoft.com/")
    assert info.key == "pair-o'brien" and info.properties["fingerprint"] == "abc"
    assert info.recurrence is not None and info.recurrence.cadence.kind is CadenceKind.WEEKLY


async def test_monthly_series_uses_relative_monthly_with_its_week_index(wire: Wire, gateway: Gateway) -> None:
    route = wire.router.post(f"{GRAPH}/users/{ORG}/events").mock(
        return_value=httpx.Response(201, json=created_response())
    )
    monthly = Recurrence(
        Cadence(CadenceKind.MONTHLY), 3, date(2026, 1, 29), 4, "Europe/Berlin", WeekIndex.LAST
    )
    await gateway.create_series(
        spec(
            recurrence=monthly,
            start_local=datetime(2026, 1, 29, 9),
            end_local=datetime(2026, 1, 29, 10),
            teams_meeting=False,
        )
    )
    body = body_of(route.calls.last.request)
    assert body["recurrence"]["pattern"] == {
        "daysOfWeek": ["thursday"],
        "index": "last",
        "interval": 1,
        "type": "relativeMonthly",
    }
    assert body["recurrence"]["range"]["startDate"] == "2026-01-29"
    assert "isOnlineMeeting" not in body
    assert assert_bodies_valid([route.calls.last.request]) == 1


async def test_create_series_without_a_join_url_raises_a_clear_error(wire: Wire, gateway: Gateway) -> None:
    wire.router.post(f"{GRAPH}/users/{ORG}/events").mock(
        return_value=httpx.Response(201, json=created_response(join=False))
    )
    with pytest.raises(TeamsLinkMissing, match="without a Teams link"):
        await gateway.create_series(spec())


async def test_find_series_filters_on_our_property_with_quotes_escaped(wire: Wire, gateway: Gateway) -> None:
    master = created_response()
    master["singleValueExtendedProperties"] = [{"id": property_id("key"), "value": "pair-o'brien"}]
    route = wire.router.get(f"{GRAPH}/users/{ORG}/events").mock(
        return_value=httpx.Response(200, json={"value": [master]})
    )
    found = await gateway.find_series(ORG, "pair-o'brien")

    query = unquote(route.calls.last.request.url.query.decode())
    assert "ep/value eq 'pair-o''brien'" in query
    assert f"ep/id eq 'String {{{PROPERTY_GUID}}} Name key'" in query
    assert [s.key for s in found] == ["pair-o'brien"]
    assert found[0].zone_name == "America/Los_Angeles"


async def test_list_series_follows_next_links(wire: Wire, gateway: Gateway) -> None:
    first, second = created_response(), created_response()
    second["id"] = "second-id"
    next_link = f"{GRAPH}/users/{ORG}/events?$skiptoken=page2"

    def answer(request: httpx.Request) -> httpx.Response:
        if "skiptoken" in str(request.url):
            return httpx.Response(200, json={"value": [second]})
        return httpx.Response(200, json={"value": [first], "@odata.nextLink": next_link})

    route = wire.router.get(f"{GRAPH}/users/{ORG}/events").mock(side_effect=answer)
    found = await gateway.list_series(ORG, programme="spring")
    assert [s.id for s in found] == [first["id"], "second-id"]
    assert len(route.calls) == 2
    assert "Name programme' and ep/value eq 'spring'" in unquote(route.calls[0].request.url.query.decode())


async def test_occurrences_map_exceptions_and_attendee_responses(wire: Wire, gateway: Gateway) -> None:
    payload = fixture("event_instances_response.json")
    payload["value"][1]["attendees"] = [
        {
            "emailAddress": {"address": "Ana@contoso.com", "name": "Ana"},
            "status": {"response": "declined", "time": "2019-04-01T10:00:00Z"},
            "type": "required",
        }
    ]
    payload["value"][1]["singleValueExtendedProperties"] = [{"id": property_id("moves"), "value": "1"}]
    route = wire.router.get(url__regex=r".*/users/[^/]+/events/[^/]+/instances").mock(
        return_value=httpx.Response(200, json=payload)
    )
    window = Interval(datetime(2019, 4, 8, 9, tzinfo=UTC), datetime(2019, 4, 30, 9, tzinfo=UTC))
    found = await gateway.occurrences(ORG, "AAMkAGUzYRgWAAA=", window)

    assert [o.is_exception for o in found] == [False, True, False, False]  # sorted by start
    assert found[0].attendees == (Attendee("ana@contoso.com", Response.DECLINED, "Ana"),)
    assert found[0].properties == {"moves": "1"}
    assert found[1].start == datetime(2019, 4, 16, 20, 30, tzinfo=UTC)
    query = route.calls.last.request.url.params
    assert query["startDateTime"] == "2019-04-08T09:00:00Z" and query["endDateTime"] == "2019-04-30T09:00:00Z"


async def test_move_update_cancel_and_end_send_valid_bodies(wire: Wire, gateway: Gateway) -> None:
    patch = wire.router.patch(url__regex=r".*/users/[^/]+/events/[^/?]+$").mock(
        return_value=httpx.Response(200, json={"id": "x"})
    )
    cancel = wire.router.post(f"{GRAPH}/users/{ORG}/events/occ-1/cancel").mock(
        return_value=httpx.Response(202)
    )
    wire.router.get(f"{GRAPH}/users/{ORG}/events/series-1").mock(
        return_value=httpx.Response(
            200, json={"id": "series-1", "recurrence": created_response()["recurrence"]}
        )
    )

    await gateway.move_occurrence(
        ORG,
        "occ-1",
        start=datetime(2026, 3, 30, 8, tzinfo=UTC),
        end=datetime(2026, 3, 30, 8, 45, tzinfo=UTC),
        zone_name="Europe/Berlin",
        properties={"moves": "1"},
    )
    moved = body_of(patch.calls.last.request)
    # 08:00 UTC on 30 March 2026 is 10:00 in Berlin (summer time began on the 29th).
    assert moved["start"] == {"dateTime": "2026-03-30T10:00:00", "timeZone": "W. Europe Standard Time"}
    assert moved["singleValueExtendedProperties"] == [{"id": property_id("moves"), "value": "1"}]

    await gateway.update_occurrence(ORG, "occ-1", body_html="<p>New</p>", subject="S")
    updated = {k: v for k, v in body_of(patch.calls.last.request).items() if not k.startswith("@")}
    assert updated == {"body": {"content": "<p>New</p>", "contentType": "html"}, "subject": "S"}

    await gateway.cancel(ORG, "occ-1", "Sorry: the programme has ended")
    assert body_of(cancel.calls.last.request) == {"Comment": "Sorry: the programme has ended"}

    await gateway.end_series(ORG, "series-1", date(2017, 10, 30), properties={"ended": "2017-10-30"})
    ended = body_of(patch.calls.last.request)
    assert ended["recurrence"]["range"]["type"] == "endDate"
    assert ended["recurrence"]["range"]["endDate"] == "2017-10-30"
    assert ended["recurrence"]["range"]["startDate"] == "2017-09-04"
    assert ended["recurrence"]["pattern"]["daysOfWeek"] == ["monday"]

    assert assert_bodies_valid(wire.graph_requests()) == 4


def test_the_spelt_out_cancel_url_is_the_one_msgraph_would_build(gateway: Gateway) -> None:
    # A cancel writes its URL itself (one quote per segment, not std-uritemplate's one per character): it
    # must be what the SDK's request builder expands, character for character, for ids with + / = in them.
    from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import (
        CancelPostRequestBody,
    )

    organizer = "o'brien+desk@contoso.com"
    event_id = "AAMkAGI2T+G/uZ7mR8E2=_x-y~z"
    item = gateway._client.users.by_user_id(organizer).events.by_event_id(event_id)
    sdk = item.cancel.to_post_request_information(CancelPostRequestBody(comment="Bonne journée <3"))
    sdk.path_parameters["baseurl"] = gateway._adapter.base_url
    ours = gateway._cancel_request(organizer, event_id, "Bonne journée <3")
    assert ours.url == sdk.url
    assert ours.http_method == sdk.http_method
    assert json.loads(ours.content) == json.loads(sdk.content)  # {"Comment": ...}, the CSDL's name


async def test_a_cancel_of_an_id_with_reserved_characters_reaches_it(wire: Wire, gateway: Gateway) -> None:
    encoded = "AAMkAGI2T%2BG%2FuZ7mR8E2%3D"
    route = wire.router.post(f"{GRAPH}/users/mentoring%40contoso.com/events/{encoded}/cancel")
    route.mock(return_value=httpx.Response(202))
    await gateway.cancel("mentoring@contoso.com", "AAMkAGI2T+G/uZ7mR8E2=", "The programme has ended.")
    assert route.call_count == 1
    assert body_of(route.calls[0].request) == {"Comment": "The programme has ended."}
    assert assert_bodies_valid([route.calls.last.request]) == 1
