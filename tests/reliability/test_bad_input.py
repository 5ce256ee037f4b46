"""Graph answering things a happy path never meets: people who do not exist or have no mailbox, a
schedule error item, an RBAC scope that leaves a mailbox out (403), a malformed date, an event deleted
by hand between runs. Each is a clear error on the pairs it touches; every other pair is served."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.harness import ORGANIZER, World, audit, play
from worker.core.actions import Escalate, EscalationReason
from worker.core.plan import PairState
from worker.reconcile.run import RunResult
from worker.sandbox.faults import FaultConfig

EXAMPLE_PAIRS = (Path(__file__).resolve().parents[2] / "config" / "pairs.yaml").read_text(encoding="utf-8")
BOOKABLE = 6  # the example programme: 8 pairs, one refused (reporting line), one with no common hours


def state_of(result: RunResult, mentor: str) -> tuple[str, str]:
    pair = next(p for p in result.desired.pairs if p.mentor.address.startswith(mentor))
    status = next(s for s in result.plan.statuses if s.pair == pair.id)
    detail = result.pair_errors.get(pair.id, status.detail)
    return status.state, detail


def booked(result: RunResult) -> int:
    return sum(1 for s in result.plan.statuses if s.state == PairState.BOOKED)


def test_unknown_person_and_person_without_mailbox_fail_only_their_pairs(tmp_path: Path) -> None:
    pairs = EXAMPLE_PAIRS.replace("mentee: nadia.benali@contoso.com", "mentee: nobody.here@contoso.com")

    async def scenario(w: World) -> None:
        w.app.tenant.remove_mailbox(w.app.tenant.find_user("sophie.moreau@contoso.com"))
        result = await w.run()
        # Issue 19, finding 8: the documented "unknown person" escalation with a plain sentence, not `error`.
        ghost = state_of(result, "sanjay.thapa")
        assert ghost[0] == PairState.UNSCHEDULED
        assert "nobody.here@contoso.com) has no mailbox in this Microsoft 365 tenant" in ghost[1]
        no_mailbox = state_of(result, "tom.nguyen")
        assert no_mailbox[0] == PairState.UNSCHEDULED
        assert "Sophie Moreau (sophie.moreau@contoso.com) has no mailbox" in no_mailbox[1]
        escalations = [
            a for a in result.plan.of_kind(Escalate) if a.reason is EscalationReason.UNKNOWN_PERSON
        ]
        assert len(escalations) == 2 and all(a.mail is not None for a in escalations)
        assert booked(result) == BOOKABLE - 2
        assert result.summary()["errors"] == 0 and result.exit_code == 1
        found = await audit(w)
        assert found.series == BOOKABLE - 2 and found.clean

    play(tmp_path, scenario, pairs=pairs)


def test_schedule_error_item_for_one_person_fails_only_their_pair(tmp_path: Path) -> None:
    def error_for_priya(request: httpx.Request, data: Any) -> Any:
        if request.url.path.endswith("/getSchedule"):
            for item in data.get("value", []):
                if item.get("scheduleId", "").startswith("priya.sharma"):
                    item.clear()
                    item.update(
                        {
                            "scheduleId": "priya.sharma@contoso.com",
                            "availabilityView": "",
                            "error": {
                                "message": "Temporary failure reading the calendar",
                                "responseCode": "ErrorMailboxStoreUnavailable",
                            },
                        }
                    )
        return data

    async def scenario(w: World) -> None:
        w.transports[0].tamper = error_for_priya
        result = await w.run()
        state, detail = state_of(result, "priya.sharma")
        assert state == PairState.ERROR and "ErrorMailboxStoreUnavailable" in detail
        assert booked(result) == BOOKABLE - 1
        w.transports[0].tamper = None
        again = await w.run()
        assert state_of(again, "priya.sharma")[0] == PairState.BOOKED, "the next run serves the pair"

    play(tmp_path, scenario)


def desired_pairs(w: World) -> list[tuple[str, str]]:
    from worker.policies.load import load_programme

    return [(p.mentor, p.mentee) for p in load_programme(w.config).pairs]


def test_person_outside_the_rbac_scope_is_read_through_another_mailbox(tmp_path: Path) -> None:
    """RBAC for Applications scopes the mailboxes the app may open; getSchedule may be called as any
    mailbox in scope, so a person outside it is still seen (free/busy), never opened."""

    async def scenario(w: World) -> None:
        # Every participant outside the scope: only the programme mailbox can call getSchedule for them.
        people = {a for p in desired_pairs(w) for a in p}
        w.app.faults.denied_mailboxes = frozenset(people)
        result = await w.run()
        assert any(s.status == 403 for s in w.sent), "the worker did meet the 403s"
        assert not result.pair_errors
        assert booked(result) == BOOKABLE

    play(tmp_path, scenario)


def test_programme_mailbox_outside_the_rbac_scope_is_a_clear_error_on_every_pair(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.app.faults.denied_mailboxes = frozenset({ORGANIZER})
        result = await w.run()
        assert result.exit_code == 1 and result.summary()["booked"] == 0
        errors = result.pair_errors
        assert len(errors) == 8, "every pair, the two that only escalate included"
        assert all(ORGANIZER in e for e in errors.values()), errors

    play(tmp_path, scenario)


def test_malformed_date_from_graph_is_an_error_of_that_person_or_series_only(tmp_path: Path) -> None:
    def bad_dates(request: httpx.Request, data: Any) -> Any:
        path = request.url.path
        if path.endswith("/getSchedule"):
            for item in data.get("value", []):
                if item.get("scheduleId", "").startswith("amina.diallo") and item.get("scheduleItems"):
                    item["scheduleItems"][0]["start"]["dateTime"] = "2027-13-45T25:61:00"
        if path.endswith("/instances") and data.get("value"):
            data = copy.deepcopy(data)
            data["value"][0]["end"] = {"dateTime": "yesterday", "timeZone": "UTC"}
        return data

    async def scenario(w: World) -> None:
        first = await w.run()
        assert booked(first) == BOOKABLE
        w.transports[0].tamper = bad_dates
        result = await w.run()  # every series' occurrences and Amina's free/busy are malformed now
        state, detail = state_of(result, "amina.diallo")
        assert state == PairState.ERROR and "malformed" in detail
        assert result.summary()["booked"] == 0, "a series it cannot read is never booked again"
        w.transports[0].tamper = None
        found = await audit(w)
        assert found.series == BOOKABLE and found.clean

    play(tmp_path, scenario)


def test_series_and_occurrence_deleted_by_hand_are_handled_on_the_next_run(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        series = await w.series()
        gone, touched = series[0], series[1]
        await w.person.call("DELETE", f"/users/{ORGANIZER}/events/{gone.id}")
        occurrence = (await w.occurrences(touched))[2]
        await w.person.call("DELETE", f"/users/{ORGANIZER}/events/{occurrence.id}")
        result = await w.run()
        assert not result.pair_errors
        assert result.summary()["booked"] == 1, "the deleted series is booked again, once"
        found = await audit(w)
        assert found.series == BOOKABLE and found.clean
        again = await w.run()
        assert again.summary()["writes"] == 0

    play(tmp_path, scenario, faults=FaultConfig())
