"""Every property the sandbox emits is one msgraph-sdk's v1.0 models know.

A misspelt or beta-only property would parse without error into ``additional_data`` and be silently
ignored by the worker; here it fails. Responses are parsed with the SDK's own JSON parse node.
"""

from __future__ import annotations

from typing import Any

from kiota_serialization_json.json_parse_node import JsonParseNode
from msgraph.generated.models.calendar import Calendar
from msgraph.generated.models.event import Event
from msgraph.generated.models.mailbox_settings import MailboxSettings
from msgraph.generated.models.message import Message
from msgraph.generated.models.schedule_information import ScheduleInformation
from msgraph.generated.models.user import User

from tests.sandbox.sandbox_client import Graph, run
from worker.sandbox.app import create_app

WINDOW = {"startDateTime": "2027-02-01T00:00:00Z", "endDateTime": "2027-02-15T00:00:00Z"}


def unknown_properties(model: Any, path: str = "$") -> list[str]:
    """Keys that landed in ``additional_data`` (OData annotations aside), at any depth."""
    found = [f"{path}.{k}" for k in (getattr(model, "additional_data", None) or {}) if not k.startswith("@")]
    for name in vars(model) if hasattr(model, "__dict__") else ():
        if name.startswith("_") or name in ("additional_data", "backing_store"):
            continue
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if hasattr(item, "additional_data"):
                found += unknown_properties(item, f"{path}.{name}")
    return found


def test_sandbox_properties_are_all_known_to_the_sdk() -> None:
    app = create_app(seed=0)

    async def collect() -> list[tuple[type, dict[str, Any]]]:
        async with Graph(app) as graph:
            lea = "/users/lea.martin@contoso.com"
            series = await graph.post(
                "/users/mentoring@contoso.com/events",
                {
                    "subject": "s",
                    "start": {"dateTime": "2027-02-02T10:00:00", "timeZone": "Europe/Paris"},
                    "end": {"dateTime": "2027-02-02T11:00:00", "timeZone": "Europe/Paris"},
                    "attendees": [{"emailAddress": {"address": "lea.martin@contoso.com"}}],
                    "isOnlineMeeting": True,
                    "onlineMeetingProvider": "teamsForBusiness",
                    "transactionId": "t",
                    "location": {"displayName": "Room 1"},
                    "recurrence": {
                        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
                        "range": {"type": "numbered", "startDate": "2027-02-02", "numberOfOccurrences": 3},
                    },
                },
            )
            instances = (
                await graph.get(
                    f"/users/mentoring@contoso.com/events/{series.json()['id']}/instances", params=WINDOW
                )
            ).json()["value"]
            await graph.post(
                f"/users/mentoring@contoso.com/events/{instances[0]['id']}/cancel", {"comment": "x"}
            )
            master = (await graph.get(f"/users/mentoring@contoso.com/events/{series.json()['id']}")).json()
            view = (await graph.get(f"{lea}/calendarView", params=WINDOW)).json()["value"]
            messages = (await graph.get(f"{lea}/messages", params={"$top": "20"})).json()["value"]
            schedule = (
                await graph.post(
                    f"{lea}/calendar/getSchedule",
                    {
                        "schedules": [
                            "lea.martin@contoso.com",
                            "carlos.garcia@contoso.com",
                            "nobody@contoso.com",
                        ],
                        "startTime": {"dateTime": "2027-02-01T00:00:00", "timeZone": "UTC"},
                        "endTime": {"dateTime": "2027-02-03T00:00:00", "timeZone": "UTC"},
                    },
                )
            ).json()["value"]
            return [
                (Event, series.json()),
                (Event, master),
                *[(Event, e) for e in instances + view],
                *[(Message, m) for m in messages],
                *[(ScheduleInformation, s) for s in schedule],
                (User, (await graph.get(lea)).json()),
                (MailboxSettings, (await graph.get(f"{lea}/mailboxSettings")).json()),
                (Calendar, (await graph.get(f"{lea}/calendar")).json()),
            ]

    samples = run(collect())
    assert len(samples) > 20
    problems = {}
    for model, body in samples:
        parsed = JsonParseNode(body).get_object_value(model)
        unknown = unknown_properties(parsed)
        if unknown:
            problems[f"{model.__name__} {body.get('id', body.get('scheduleId', ''))}"] = unknown
    assert problems == {}
