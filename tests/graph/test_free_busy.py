"""free_busy and mailbox reads over the wire, from Graph's documented getSchedule payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.graph.conftest import GRAPH, Wire, assert_bodies_valid, body_of, fixture
from worker.core.types import BusyStatus, Interval
from worker.graph.ops import Gateway
from worker.graph.zones import FixedRuleZone

WINDOW = Interval(datetime(2019, 3, 15, 0, tzinfo=UTC), datetime(2019, 3, 16, 0, tzinfo=UTC))
pytestmark = pytest.mark.anyio

ADELE, MEGAN = "adelev@contoso.onmicrosoft.com", "meganb@contoso.onmicrosoft.com"


async def test_free_busy_maps_documented_schedule_to_utc_busy_and_zone_aware_hours(
    wire: Wire, gateway: Gateway
) -> None:
    route = wire.router.post(url__regex=rf"{GRAPH}/users/[^/]+/calendar/getSchedule").mock(
        return_value=httpx.Response(200, json=fixture("getschedule_response.json"))
    )
    schedules = await gateway.free_busy([ADELE, MEGAN], WINDOW)

    adele, megan = schedules[ADELE], schedules[MEGAN]
    # "12:00 Pacific Standard Time" on 15 March 2019 (daylight time since 10 March) is 19:00 UTC.
    assert adele.busy[0].start == datetime(2019, 3, 15, 19, 0, tzinfo=UTC)
    assert adele.busy[0].end == datetime(2019, 3, 15, 21, 0, tzinfo=UTC)
    assert [b.status for b in megan.busy].count(BusyStatus.TENTATIVE) == 2
    assert all(b.start.tzinfo is UTC for b in megan.busy)
    assert adele.working_hours is not None and adele.working_hours.zone == ZoneInfo("America/Los_Angeles")
    custom = megan.working_hours
    assert custom is not None and isinstance(custom.zone, FixedRuleZone)
    assert custom.zone_name == "Customized Time Zone"
    assert custom.days == frozenset(range(5)) and custom.start == time(8) and custom.end == time(17)
    # The custom rule (bias 480, DST from the 2nd Sunday of March) agrees with Los Angeles.
    start = datetime.combine(datetime(2019, 3, 15).date(), custom.start, tzinfo=custom.zone)
    assert start.astimezone(UTC) == datetime(2019, 3, 15, 15, 0, tzinfo=UTC)

    sent = route.calls.last.request
    assert sent.headers["Prefer"].count('IdType="ImmutableId"') == 1
    assert 'outlook.timezone="UTC"' in sent.headers["Prefer"]
    body = body_of(sent)
    assert body["Schedules"] == [ADELE, MEGAN]
    assert body["StartTime"] == {"dateTime": "2019-03-15T00:00:00", "timeZone": "UTC"}
    assert assert_bodies_valid([sent]) == 1


async def test_unresolvable_address_becomes_a_schedule_error_item(wire: Wire, gateway: Gateway) -> None:
    payload = json.loads(
        json.dumps(fixture("getschedule_unresolvable_user_error_item_response.json")).replace(
            "<user_email>", "ghost@contoso.com"
        )
    )
    wire.router.post(url__regex=r".*/getSchedule").mock(return_value=httpx.Response(200, json=payload))
    schedules = await gateway.free_busy(["ghost@contoso.com"], WINDOW)
    ghost = schedules["ghost@contoso.com"]
    assert ghost.error is not None and ghost.error.startswith("5009")
    assert ghost.busy == () and ghost.working_hours is None


async def test_many_people_over_a_long_window_are_read_in_chunks_of_20_under_42_days(
    wire: Wire, gateway: Gateway
) -> None:
    people = [f"p{i:02d}@contoso.com" for i in range(45)]

    def answer(request: httpx.Request) -> httpx.Response:
        body = body_of(request)
        first = body["Schedules"][0]
        value = [
            {
                "scheduleId": s,
                "scheduleItems": [
                    {
                        "status": "busy",
                        "start": {"dateTime": body["StartTime"]["dateTime"], "timeZone": "UTC"},
                        "end": {
                            "dateTime": body["StartTime"]["dateTime"][:11] + "23:00:00",
                            "timeZone": "UTC",
                        },
                    }
                ]
                if s == first
                else [],
                "workingHours": {
                    "daysOfWeek": ["monday"],
                    "startTime": "09:00:00.0000000",
                    "endTime": "17:00:00.0000000",
                    "timeZone": {"name": "W. Europe Standard Time"},
                },
            }
            for s in body["Schedules"]
        ]
        return httpx.Response(200, json={"value": value})

    route = wire.router.post(url__regex=r".*/getSchedule").mock(side_effect=answer)
    window = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))  # 90 days
    schedules = await gateway.free_busy(people, window)

    assert len(route.calls) == 3 * 3
    for call in route.calls:
        body = body_of(call.request)
        assert len(body["Schedules"]) <= 20
        start = datetime.fromisoformat(body["StartTime"]["dateTime"])
        end = datetime.fromisoformat(body["EndTime"]["dateTime"])
        assert end - start < timedelta(days=42)
    assert set(schedules) == set(people)
    assert all(s.horizon == window for s in schedules.values())
    assert len(schedules["p00@contoso.com"].busy) == 3  # one per window, merged
    callers = {call.request.url.path.split("/")[3] for call in route.calls}
    assert len(callers) > 3, "reads are spread over the chunk's mailboxes, not one caller per chunk"


async def test_missing_working_hours_are_read_from_mailbox_settings(wire: Wire, gateway: Gateway) -> None:
    payload = {"value": [{"scheduleId": ADELE, "scheduleItems": []}]}
    wire.router.post(url__regex=r".*/getSchedule").mock(return_value=httpx.Response(200, json=payload))
    settings = wire.router.get(f"{GRAPH}/users/{ADELE}/mailboxSettings").mock(
        return_value=httpx.Response(200, json=fixture("mailboxsettings_response.json"))
    )
    schedules = await gateway.free_busy([ADELE], WINDOW)
    hours = schedules[ADELE].working_hours
    assert settings.called
    assert hours is not None and hours.zone == ZoneInfo("America/Los_Angeles")


async def test_mailbox_zone_accepts_windows_and_iana_names(wire: Wire, gateway: Gateway) -> None:
    wire.router.get(f"{GRAPH}/users/a@contoso.com/mailboxSettings").mock(
        return_value=httpx.Response(200, json={"timeZone": "W. Europe Standard Time"})
    )
    wire.router.get(f"{GRAPH}/users/b@contoso.com/mailboxSettings").mock(
        return_value=httpx.Response(200, json={"timeZone": "Asia/Kolkata"})
    )
    zone, name = await gateway.mailbox_zone("a@contoso.com")
    assert (zone, name) == (ZoneInfo("Europe/Berlin"), "Europe/Berlin")
    zone, name = await gateway.mailbox_zone("b@contoso.com")
    assert name == "Asia/Kolkata"


@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        ({"a": "b", "b": "c"}, ["b", "c"]),  # c has no manager: 404 ends the chain
        ({"a": "b", "b": "a"}, ["b"]),  # a loop ends it too
    ],
)
async def test_manager_chain_walks_up_until_the_top_or_a_loop(
    wire: Wire, gateway: Gateway, chain: dict[str, str], expected: list[str]
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        person = request.url.path.split("/")[3].split("@")[0]
        if person not in chain:
            return httpx.Response(
                404, json={"error": {"code": "Request_ResourceNotFound", "message": "none"}}
            )
        boss = chain[person]
        return httpx.Response(
            200,
            json={"@odata.type": "#microsoft.graph.user", "id": boss, "mail": f"{boss}@contoso.com"},
        )

    wire.router.get(url__regex=r".*/users/[^/]+/manager").mock(side_effect=answer)
    assert await gateway.manager_chain("a@contoso.com") == [f"{p}@contoso.com" for p in expected]
