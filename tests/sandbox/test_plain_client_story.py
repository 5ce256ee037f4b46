"""The acceptance story: a plain HTTP client that knows only Microsoft's docs builds a tenant, books a
recurring meeting, has an attendee decline one occurrence, and reads the result."""

from __future__ import annotations

from tests.sandbox.sandbox_client import Graph, with_graph


def test_build_a_tenant_book_a_series_decline_an_occurrence_read_it_back() -> None:
    async def scenario(graph: Graph) -> None:
        # 1. The tenant: three users, their zones and working hours, a manager.
        org = (await graph.add_user("mentoring", zone="Romance Standard Time"))["userPrincipalName"]
        lea = await graph.add_user("lea.martin", zone="Europe/Paris")
        jean = await graph.add_user("jean.dubois", zone="Pacific Standard Time")
        await graph.patch(
            f"/users/{jean['id']}/mailboxSettings",
            {
                "workingHours": {
                    "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday"],
                    "startTime": "07:00:00.0000000",
                    "endTime": "15:00:00.0000000",
                    "timeZone": {"name": "Pacific Standard Time"},
                }
            },
        )
        await graph.put(
            f"/users/{lea['id']}/manager/$ref",
            {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{jean['id']}"},
        )

        # 2. Free/busy first, as a scheduler would.
        free = await graph.post(
            f"/users/{org}/calendar/getSchedule",
            {
                "schedules": [lea["mail"], jean["mail"]],
                "startTime": {"dateTime": "2027-01-11T00:00:00", "timeZone": "UTC"},
                "endTime": {"dateTime": "2027-01-16T00:00:00", "timeZone": "UTC"},
                "availabilityViewInterval": 60,
            },
        )
        assert [s["availabilityView"] for s in free.json()["value"]] == ["0" * 120] * 2

        # 3. A fortnightly Teams series, four sessions, tagged with our pair id.
        booked = await graph.post(
            f"/users/{org}/events",
            {
                "subject": "Reverse mentoring: Léa & Jean",
                "body": {"contentType": "html", "content": "<p>First topic: generative AI</p>"},
                "start": {"dateTime": "2027-01-12T17:00:00", "timeZone": "Romance Standard Time"},
                "end": {"dateTime": "2027-01-12T18:00:00", "timeZone": "Romance Standard Time"},
                "recurrence": {
                    "pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["tuesday"]},
                    "range": {"type": "numbered", "startDate": "2027-01-12", "numberOfOccurrences": 4},
                },
                "attendees": [
                    {"emailAddress": {"address": lea["mail"]}, "type": "required"},
                    {"emailAddress": {"address": jean["mail"]}, "type": "required"},
                ],
                "isOnlineMeeting": True,
                "onlineMeetingProvider": "teamsForBusiness",
                "transactionId": "pair-lea-jean-1",
            },
        )
        assert booked.status_code == 201
        series = booked.json()

        # 4. Jean finds the second session in his own calendar (his zone) and declines it.
        mine = await graph.get(
            f"/users/{jean['id']}/calendarView",
            params={"startDateTime": "2027-01-25T00:00:00-08:00", "endDateTime": "2027-01-31T00:00:00-08:00"},
            headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'},
        )
        second = mine.json()["value"]
        assert len(second) == 1 and second[0]["start"]["dateTime"] == "2027-01-26T08:00:00.0000000"
        declined = await graph.post(
            f"/users/{jean['id']}/events/{second[0]['id']}/decline",
            {"comment": "Offsite that week", "sendResponse": True},
        )
        assert declined.status_code == 202

        # 5. The organizer reads the series back: one declined occurrence, the rest untouched.
        instances = await graph.get(
            f"/users/{org}/events/{series['id']}/instances",
            params={
                "startDateTime": "2027-01-01T00:00:00Z",
                "endDateTime": "2027-03-01T00:00:00Z",
                "$select": "start,attendees,type",
            },
        )
        answers = [
            {a["emailAddress"]["address"]: a["status"]["response"] for a in i["attendees"]}
            for i in instances.json()["value"]
        ]
        assert [a[jean["mail"]] for a in answers] == ["none", "declined", "none", "none"]
        busy = await graph.post(
            f"/users/{org}/calendar/getSchedule",
            {
                "schedules": [jean["mail"]],
                "startTime": {"dateTime": "2027-01-26T16:00:00", "timeZone": "UTC"},
                "endTime": {"dateTime": "2027-01-26T17:00:00", "timeZone": "UTC"},
                "availabilityViewInterval": 60,
            },
        )
        assert busy.json()["value"][0]["availabilityView"] == "0"  # declined time is free again
        inbox = await graph.get(f"/users/{org}/mailFolders/inbox/messages", params={"$select": "subject"})
        assert [m["subject"] for m in inbox.json()["value"]] == ["Declined: Reverse mentoring: Léa & Jean"]

    with_graph(scenario)
