"""The ``/_sandbox/`` control surface: clearly not Graph, and everything a test or the demo needs."""

from __future__ import annotations

from tests.sandbox.sandbox_client import Graph, with_graph

ORG = "mentoring@contoso.com"
SERIES = {
    "subject": "s",
    "start": {"dateTime": "2027-01-12T10:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2027-01-12T11:00:00", "timeZone": "UTC"},
    "attendees": [{"emailAddress": {"address": "lea@contoso.com"}}],
    "recurrence": {
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday"]},
        "range": {"type": "numbered", "startDate": "2027-01-12", "numberOfOccurrences": 3},
    },
}
WINDOW = {"startDateTime": "2027-01-01T00:00:00Z", "endDateTime": "2027-02-01T00:00:00Z"}


def test_info_clock_and_faults_are_readable_and_settable() -> None:
    async def scenario(graph: Graph) -> None:
        info = (await graph.http.get("/_sandbox/info")).json()
        assert (
            info["graph_url"] == "http://sandbox/v1.0" and info["env"]["AZURE_TENANT_ID"] == info["tenant_id"]
        )
        assert (await graph.http.get("/_sandbox/clock")).json()["now"].startswith("2027-01-04T08:00:00")
        moved = await graph.http.post("/_sandbox/clock", json={"now": "2027-03-01T12:00:00Z", "frozen": True})
        assert moved.json()["now"].startswith("2027-03-01T12:00:00")
        later = await graph.http.post("/_sandbox/clock", json={"advance_seconds": 90})
        assert later.json()["now"].startswith("2027-03-01T12:01:30")
        faults = await graph.http.post(
            "/_sandbox/faults", json={"mailbox_concurrency": 2, "latency_seconds": [0, 0]}
        )
        assert faults.json()["mailbox_concurrency"] == 2 and graph.app.faults.mailbox_concurrency == 2
        refused = await graph.http.post("/_sandbox/faults", json={"no_such_knob": 1})
        assert refused.status_code == 400

    with_graph(scenario)


def test_acting_as_an_attendee_through_the_control_surface() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        await graph.add_user("lea")
        series = (await graph.post(f"/users/{ORG}/events", SERIES)).json()
        copies = (await graph.http.get(f"/_sandbox/events/{series['id']}/copies")).json()
        assert list(copies) == ["lea@contoso.com"]
        occurrences = (
            await graph.get(f"/users/{ORG}/events/{series['id']}/instances", params=WINDOW)
        ).json()["value"]
        answered = await graph.http.post(
            "/_sandbox/respond",
            json={
                "attendee": "lea@contoso.com",
                "event": occurrences[1]["id"],
                "response": "tentativelyAccept",
            },
        )
        assert answered.json()["status"] == 202
        after = (await graph.get(f"/users/{ORG}/events/{series['id']}/instances", params=WINDOW)).json()[
            "value"
        ]
        assert [i["attendees"][0]["status"]["response"] for i in after] == [
            "none",
            "tentativelyAccepted",
            "none",
        ]
        assert graph.app.copy_id(occurrences[1]["id"], "lea@contoso.com").startswith("AAMkOC")
        assert graph.app.requests_to("lea@contoso.com") == 0  # acting as a person is not the worker's traffic

    with_graph(scenario)
