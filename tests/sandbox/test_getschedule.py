"""getSchedule: the documented examples replayed, limits, the per-schedule error item, recurring busy time."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.sandbox.sandbox_client import Graph, example, shape_mismatches, with_graph

PST = {"Prefer": 'outlook.timezone="Pacific Standard Time"'}


async def _event(
    graph: Graph,
    upn: str,
    subject: str,
    start: str,
    end: str,
    *,
    show_as: str = "busy",
    zone: str = "Pacific Standard Time",
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "subject": subject,
        "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone},
        "showAs": show_as,
        **extra,
    }
    response = await graph.post(f"/users/{upn}/events", body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _documented_calendars(graph: Graph) -> None:
    """The calendars behind getschedule_response.json, rebuilt through Graph calls."""
    adele, megan = "adelev@contoso.onmicrosoft.com", "meganb@contoso.onmicrosoft.com"
    for upn in (adele, megan):
        await graph.add_user(upn)
    await graph.patch(
        f"/users/{adele}/mailboxSettings", {"workingHours": {"timeZone": {"name": "Pacific Standard Time"}}}
    )
    custom = example("getschedule_response.json")["value"][1]["workingHours"]["timeZone"]
    patched = await graph.patch(f"/users/{megan}/mailboxSettings", {"workingHours": {"timeZone": custom}})
    assert patched.status_code == 200, patched.text
    await _event(
        graph,
        adele,
        "Let's go for lunch",
        "2019-03-15T12:00:00",
        "2019-03-15T14:00:00",
        location={"displayName": "Harry's Bar"},
    )
    await _event(graph, megan, "a", "2019-03-15T08:30:00", "2019-03-15T09:30:00")
    await _event(graph, megan, "b", "2019-03-15T12:00:00", "2019-03-15T14:00:00")
    await _event(graph, megan, "c", "2019-03-15T12:00:00", "2019-03-15T13:00:00", show_as="tentative")
    await _event(graph, megan, "d", "2019-03-15T13:00:00", "2019-03-15T14:00:00")
    await _event(graph, megan, "e", "2019-03-15T16:00:00", "2019-03-15T17:00:00", show_as="tentative")


def test_documented_request_gets_the_documented_views_and_shape() -> None:
    async def scenario(graph: Graph) -> None:
        await _documented_calendars(graph)
        response = await graph.post(
            "/users/adelev@contoso.onmicrosoft.com/calendar/getSchedule",
            example("getschedule_request.json"),
            headers=PST,
        )
        assert response.status_code == 200
        documented = example("getschedule_response.json")
        body = response.json()
        assert shape_mismatches(documented, body) == []
        assert [v["availabilityView"] for v in body["value"]] == ["000220000", "200220010"]
        assert (
            body["value"][0]["scheduleItems"][0]["start"]
            == documented["value"][0]["scheduleItems"][0]["start"]
        )
        assert body["value"][1]["workingHours"]["timeZone"]["name"] == "Customized Time Zone"
        assert response.headers["Preference-Applied"] == 'outlook.timezone="Pacific Standard Time"'

    with_graph(scenario)


def test_pascal_case_keys_and_string_interval_of_the_concept_doc_are_accepted() -> None:
    async def scenario(graph: Graph) -> None:
        alex = "AlexW@contoso.OnMicrosoft.com"
        await graph.add_user("alexw@contoso.onmicrosoft.com")
        custom = example("getschedule_concept_response.json")["value"][0]["workingHours"]["timeZone"]
        await graph.patch(f"/users/{alex}/mailboxSettings", {"workingHours": {"timeZone": custom}})
        await _event(graph, alex, "t", "2018-08-06T09:00:00", "2018-08-06T10:30:00", show_as="tentative")
        await _event(graph, alex, "b", "2018-08-06T11:00:00", "2018-08-06T13:00:00")
        response = await graph.post(
            f"/users/{alex}/calendar/getSchedule", example("getschedule_concept_request.json"), headers=PST
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert shape_mismatches(example("getschedule_concept_response.json"), body) == []
        assert body["value"][0]["availabilityView"] == "111111002222222200000000000000000000"
        assert body["value"][0]["scheduleId"] == alex

    with_graph(scenario)


def test_unknown_address_gets_the_error_item_with_http_200() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("organizer")
        response = await graph.post(
            "/users/organizer@contoso.com/calendar/getSchedule",
            {
                "schedules": ["ghost@contoso.com"],
                "startTime": {"dateTime": "2027-01-04T09:00:00", "timeZone": "UTC"},
                "endTime": {"dateTime": "2027-01-04T18:00:00", "timeZone": "UTC"},
            },
        )
        assert response.status_code == 200
        documented = example("getschedule_unresolvable_user_error_item_response.json")
        assert shape_mismatches(documented, response.json()) == []
        item = response.json()["value"][0]
        assert item["error"]["responseCode"] == "5009"
        assert "availabilityView" not in item and "scheduleItems" not in item

    with_graph(scenario)


def _window(days: int) -> dict[str, Any]:
    return {
        "dateTime": (date(2027, 1, 1) + timedelta(days=days)).isoformat() + "T00:00:00",
        "timeZone": "UTC",
    }


def _request(schedules: list[str], *, days: int = 7, interval: Any = 30) -> dict[str, Any]:
    return {
        "schedules": schedules,
        "startTime": _window(0),
        "endTime": _window(days),
        "availabilityViewInterval": interval,
    }


def test_more_than_twenty_schedules_is_the_documented_error() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("organizer")
        addresses = [f"p{i}@contoso.com" for i in range(21)]
        response = await graph.post("/users/organizer@contoso.com/calendar/getSchedule", _request(addresses))
        assert response.status_code == 400
        assert (
            shape_mismatches(example("getschedule_too_many_schedules_error_response.json"), response.json())
            == []
        )
        assert response.json()["error"]["code"] == "ErrorMailboxDataArrayTooBig"
        assert "allowed size = 20; the actual size = 21" in response.json()["error"]["message"]
        ok = await graph.post("/users/organizer@contoso.com/calendar/getSchedule", _request(addresses[:20]))
        assert ok.status_code == 200 and len(ok.json()["value"]) == 20

    with_graph(scenario)


def test_window_limit_is_62_days_by_default_and_configurable() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("organizer")
        path = "/users/organizer@contoso.com/calendar/getSchedule"
        assert (await graph.post(path, _request(["organizer@contoso.com"], days=60))).status_code == 200
        refused = await graph.post(path, _request(["organizer@contoso.com"], days=63))
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "ErrorInvalidParameter"
        graph.app.faults.update({"getschedule_max_days": 42})
        assert (await graph.post(path, _request(["organizer@contoso.com"], days=45))).status_code == 400

    with_graph(scenario)


def test_interval_outside_5_to_1440_minutes_is_refused() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("organizer")
        path = "/users/organizer@contoso.com/calendar/getSchedule"
        for interval, status in ((4, 400), (5, 200), (1440, 200), (1441, 400), ("15", 200), ("x", 400)):
            response = await graph.post(path, _request(["organizer@contoso.com"], days=2, interval=interval))
            assert response.status_code == status, (interval, response.text)

    with_graph(scenario)


def test_recurring_series_oof_and_utc_default_make_the_view() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("ana", zone="Europe/Paris")
        upn = "ana@contoso.com"
        await _event(
            graph,
            upn,
            "Stand-up",
            "2027-01-04T09:00:00",
            "2027-01-04T09:30:00",
            zone="Europe/Paris",
            recurrence={
                "pattern": {"type": "daily", "interval": 1},
                "range": {"type": "numbered", "startDate": "2027-01-04", "numberOfOccurrences": 3},
            },
        )
        await _event(
            graph,
            upn,
            "Away",
            "2027-01-06T00:00:00",
            "2027-01-07T00:00:00",
            zone="Europe/Paris",
            show_as="oof",
        )
        await _event(
            graph,
            upn,
            "Free",
            "2027-01-04T10:00:00",
            "2027-01-04T11:00:00",
            zone="Europe/Paris",
            show_as="free",
        )
        response = await graph.post(
            f"/users/{upn}/calendar/getSchedule",
            {
                "schedules": [upn],
                "startTime": {"dateTime": "2027-01-04T00:00:00", "timeZone": "UTC"},
                "endTime": {"dateTime": "2027-01-07T00:00:00", "timeZone": "UTC"},
                "availabilityViewInterval": 1440,
            },
        )
        info = response.json()["value"][0]
        assert info["availabilityView"] == "233"  # Paris midnight is 23:00 UTC the day before
        assert [i["status"] for i in info["scheduleItems"]] == ["busy", "busy", "oof", "busy"]
        assert info["scheduleItems"][0]["start"] == {
            "dateTime": "2027-01-04T08:00:00.0000000",
            "timeZone": "UTC",
        }

    with_graph(scenario)
