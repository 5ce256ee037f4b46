"""A partial series through the sandbox: the sessions that fit are booked, the lead hears once which
ones could not be placed and why, and the next run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tests.e2e.world import LEAD, World, pair_id, play
from worker.core.actions import Book, Escalate, EscalationReason

PAIRS = """\
pairs:
  - mentor: olivia.wilson@contoso.com     # Sydney 18:00-20:00
    mentee: nadia.benali@contoso.com      # London 07:00-09:00
    policy: global-weekly
    start: 2027-03-08
"""
POLICY = """policies:
  global-weekly:
    extends: fortnightly
    cadence: weekly
    sessions: 8
    days: [mon, tue, wed, thu, fri]
    hours: "07:00-20:00"
    avoid: []
    buffer: 0m
    lookahead: 2 weeks
"""


async def _hours(w: World, address: str, start: str, end: str) -> None:
    hours = {"startTime": f"{start}:00.0000000", "endTime": f"{end}:00.0000000"}
    await w.person.call("PATCH", f"/users/{address}/mailboxSettings", json={"workingHours": hours})


def test_a_partial_series_is_booked_told_to_the_lead_once_and_left_alone_by_the_next_run(
    tmp_path: Path,
) -> None:
    # Their hours meet until Sydney leaves summer time on Sunday 4 April 2027, and never again before the
    # programme ends: four weekly sessions fit, the other four need the lead.
    async def scenario(w: World) -> None:
        w.edit("policies.yaml", "policies:\n", POLICY)
        await _hours(w, "olivia.wilson@contoso.com", "18:00", "20:00")
        await _hours(w, "nadia.benali@contoso.com", "07:00", "09:00")
        w.at(datetime(2027, 3, 1, 7, tzinfo=UTC))

        first = await w.run()
        pair = pair_id(w, "olivia.wilson@contoso.com")
        books = first.plan.of_kind(Book)
        assert len(books) == 1 and books[0].wanted == 8 and len(books[0].sessions) == 4
        assert books[0].summary == "weekly, 4 of 8 sessions"
        status = next(s for s in first.plan.statuses if s.pair == pair)
        assert status.state == "booked" and "booked 4 of 8: sessions 5–8 could not be placed" in status.detail
        told = first.plan.of_kind(Escalate)
        assert [a.reason for a in told] == [EscalationReason.PARTIAL]
        assert "when clocks in Sydney go back an hour (Sun 4 Apr 2027)" in told[0].detail
        assert "no longer overlap" in told[0].detail

        series = await w.series(pair)
        assert len(series) == 1 and series[0].recurrence is not None and series[0].recurrence.count == 4
        mails = [m for m in await w.sent() if "not every session" in m["subject"].lower()]
        assert len(mails) == 1 and mails[0]["toRecipients"][0]["emailAddress"]["address"] == LEAD

        second = await w.run()
        assert second.plan.actions == ()
        again = next(s for s in second.plan.statuses if s.pair == pair)
        assert again.state == "booked" and again.detail == "booked 4 of 8"
        assert len([m for m in await w.sent() if "not every session" in m["subject"].lower()]) == 1

    play(tmp_path, scenario, pairs=PAIRS)
