"""Whatever a client sends, the sandbox answers in Graph's shape: a 4xx with an error body, never a crash."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.sandbox.sandbox_client import Graph, run
from worker.sandbox.app import create_app

APP = create_app(empty=True)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 10**6)
    | st.text(max_size=12)
    | st.sampled_from(["2027-01-04T09:00:00", "UTC", "Pacific Standard Time", "weekly", "monday", "html"]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "subject",
                    "start",
                    "end",
                    "dateTime",
                    "timeZone",
                    "recurrence",
                    "pattern",
                    "range",
                    "type",
                    "interval",
                    "daysOfWeek",
                    "attendees",
                    "emailAddress",
                    "address",
                    "schedules",
                    "Schedules",
                    "startTime",
                    "endTime",
                    "availabilityViewInterval",
                    "message",
                    "toRecipients",
                    "workingHours",
                    "comment",
                    "requests",
                    "id",
                    "method",
                    "url",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
TARGETS = [
    ("POST", "/users/fuzz@contoso.com/events"),
    ("POST", "/users/fuzz@contoso.com/calendar/getSchedule"),
    ("POST", "/users/fuzz@contoso.com/sendMail"),
    ("PATCH", "/users/fuzz@contoso.com/mailboxSettings"),
    ("POST", "/$batch"),
    ("POST", "/users"),
]


async def _setup() -> str:
    graph = Graph(APP)
    token = await graph.get_token()
    if APP.tenant.find_user("fuzz@contoso.com") is None:
        graph.token = token
        await graph.add_user("fuzz")
    return token


TOKEN = run(_setup())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(TARGETS), body=json_values)
def test_any_json_body_gets_a_graph_shaped_answer(target: tuple[str, str], body: Any) -> None:
    async def send() -> tuple[int, Any]:
        graph = Graph(APP)
        graph.token = TOKEN
        method, path = target
        response = await graph.http.request(
            method,
            f"/v1.0{path}",
            content=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        await graph.http.aclose()
        return response.status_code, response.json() if response.content else None

    status, answer = run(send())
    assert status < 500
    if status >= 400:
        assert set(answer["error"]) >= {"code", "message"}
