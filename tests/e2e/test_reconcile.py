"""The reconciler end to end against the sandbox: book, repair, retire, refuse, escalate, idempotently."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.world import LEAD, ORGANIZER, World, pair_id, play
from worker.core.actions import Book, Cancel, CancelScope, Escalate, EscalationReason, Move, MoveReason
from worker.core.types import Response


def test_programme_is_booked_and_a_second_run_writes_nothing(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        first = await w.run()
        assert first.summary()["booked"] == 6
        assert first.summary()["unscheduled"] == 1 and first.summary()["refused"] == 1
        series = await w.series()
        assert len(series) == 6
        assert all(count == 1 for count in Counter(s.key for s in series).values())
        for s in series:
            assert s.join_url, "every series is a Teams meeting"
            assert {a.address for a in s.attendees} >= set()
        second = await w.run()
        assert second.summary()["writes"] == 0
        assert [s.id for s in await w.series()] == [s.id for s in series]

    play(tmp_path, scenario)


def test_plan_right_after_apply_is_empty(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        again = await w.run(dry_run=True)
        assert again.plan.actions == ()

    play(tmp_path, scenario)


def test_sessions_are_inside_both_peoples_working_hours_in_their_own_zones(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        result = await w.run()
        for action in result.plan.of_kind(Book):
            pair = next(p for p in result.desired.pairs if p.id == action.pair)
            for address in (pair.mentor.address, pair.mentee.address):
                hours = result.observed.schedules[address].working_hours
                assert hours is not None
                for session in action.sessions:
                    if session.end > result.observed.horizon.end:
                        continue
                    start = session.start.astimezone(hours.zone)
                    end = session.end.astimezone(hours.zone)
                    assert start.weekday() in hours.days
                    assert hours.start <= start.time() and end.time() <= hours.end, (address, start, end)

    play(tmp_path, scenario)


def test_declined_session_moves_within_its_week(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        (series,) = await w.series(lea)
        occurrences = await w.occurrences(series)
        target = next(o for o in occurrences if o.start > w.now + timedelta(days=10))
        await w.person.respond("jean.dubois@contoso.com", target.id, "decline", comment="Board meeting")
        w.advance(days=1)
        result = await w.run()
        (move,) = [m for m in result.plan.of_kind(Move) if m.pair == lea]
        assert move.reason is MoveReason.DECLINED and move.occurrence_id == target.id
        paris = ZoneInfo(series.zone_name)
        old, new = target.start.astimezone(paris), move.new.start.astimezone(paris)
        assert old.isocalendar()[:2] == new.isocalendar()[:2], "same week"
        assert new != old
        neighbours = [o.start for o in occurrences if o.id != target.id]
        assert all(abs(n - move.new.start) >= timedelta(days=2) for n in neighbours)
        moved = next(o for o in await w.occurrences(series) if o.id == target.id)
        assert moved.start == move.new.start and moved.is_exception
        assert all(a.response is not Response.DECLINED for a in moved.attendees), "a new time asks again"
        assert not (await w.run()).plan.of_kind(Move)

    play(tmp_path, scenario)


def test_new_conflict_moves_a_session(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        amina = pair_id(w, "amina.diallo")
        (series,) = await w.series(amina)
        target = next(o for o in await w.occurrences(series) if o.start > w.now + timedelta(days=10))
        await w.person.add_meeting(
            "amina.diallo@contoso.com",
            "Urgent: customer escalation",
            target.start - timedelta(minutes=15),
            target.end,
        )
        w.advance(days=1)
        result = await w.run()
        (move,) = [m for m in result.plan.of_kind(Move) if m.pair == amina]
        assert move.reason is MoveReason.CONFLICT
        assert not (move.new.start < target.end and target.start - timedelta(minutes=15) < move.new.end)

    play(tmp_path, scenario)


def test_a_session_inside_the_freeze_window_is_never_moved(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        (series,) = await w.series(lea)
        target = next(o for o in await w.occurrences(series) if o.start > w.now)
        await w.person.respond("jean.dubois@contoso.com", target.id, "decline")
        w.at(target.start - timedelta(hours=20))
        result = await w.run()
        assert not [m for m in result.plan.of_kind(Move) if m.occurrence_id == target.id]

    play(tmp_path, scenario)


def test_removed_pair_sessions_are_cancelled_with_a_kind_message(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        priya = pair_id(w, "priya.sharma")
        priya_entry = (
            "  - mentor: priya.sharma@contoso.com      # Kolkata (UTC+5:30) with Paris: Paris mornings\n"
            "    mentee: robert.lefevre@contoso.com\n"
            "    topics: [generative AI, data]\n"
        )
        w.edit("pairs.yaml", priya_entry, "")
        result = await w.run()
        (cancel,) = [c for c in result.plan.of_kind(Cancel) if c.pair == priya]
        assert cancel.scope is CancelScope.SERIES and "thank" in cancel.comment.lower()
        assert await w.series(priya) == []
        assert (await w.run()).summary()["writes"] == 0

    play(tmp_path, scenario)


def test_policy_change_recuts_the_series_without_duplicates(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        (before,) = await w.series(lea)
        w.advance(days=30)  # two sessions have taken place
        w.edit("policies.yaml", "duration: 45m", "duration: 1h")
        result = await w.run()
        kinds = [(type(a).__name__, getattr(a, "scope", None)) for a in result.plan.actions if a.pair == lea]
        assert ("Cancel", CancelScope.END_AFTER) in kinds and ("Book", None) in kinds
        (after,) = await w.series(lea)
        assert after.id != before.id
        assert after.properties["first"] == "3", "the new series continues the session count"
        assert after.end - after.start == timedelta(hours=1)
        old = [o for o in await w.occurrences(before) if not o.is_cancelled]
        assert all(o.start < w.now for o in old), "the old series ends after its last past session"
        assert (await w.run()).summary()["writes"] == 0

    play(tmp_path, scenario)


def test_reporting_line_pair_is_refused_and_never_booked(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        result = await w.run()
        hugo = pair_id(w, "hugo.bernard")
        status = next(s for s in result.plan.statuses if s.pair == hugo)
        assert status.state == "refused"
        assert await w.series(hugo) == []
        refusals = [m for m in await w.sent() if "reporting line" in m["subject"].lower()]
        assert len(refusals) == 1 and refusals[0]["toRecipients"][0]["emailAddress"]["address"] == LEAD
        await w.run()
        assert len([m for m in await w.sent() if "reporting line" in m["subject"].lower()]) == 1

    play(tmp_path, scenario)


def test_no_slot_pair_escalates_once_a_week(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        result = await w.run()
        olivia = pair_id(w, "olivia.wilson")
        (escalation,) = [e for e in result.plan.of_kind(Escalate) if e.pair == olivia]
        assert escalation.reason is EscalationReason.NO_SLOT
        assert "overlap" in escalation.detail

        def no_time(mails: list[dict]) -> int:
            return len([m for m in mails if "no time found" in m["subject"].lower()])

        assert no_time(await w.sent()) == 1
        w.advance(days=2)
        await w.run()
        assert no_time(await w.sent()) == 1, "at most one email per pair per week"
        w.advance(days=7)
        await w.run()
        assert no_time(await w.sent()) == 2

    play(tmp_path, scenario)


def test_deleting_the_state_file_changes_nothing_in_the_calendars(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        w.advance(days=21)
        await w.run()
        sent = len(await w.sent())
        import shutil

        shutil.rmtree(w.state)
        result = await w.run()
        assert result.summary()["booked"] == 0 and result.summary()["feedback_sent"] == 0
        assert len(await w.sent()) == sent

    play(tmp_path, scenario)


def test_a_blacked_out_week_has_no_session_and_the_numbering_runs_on(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        result = await w.run()
        lea = pair_id(w, "lea.martin")
        (book,) = [b for b in result.plan.of_kind(Book) if b.pair == lea]
        paris = ZoneInfo("Europe/Paris")
        blackout = {d for d in book.skipped if d.isoformat().startswith("2027-02-2")}
        assert blackout, "the fortnightly series meets the winter holidays (22-26 Feb)"
        (series,) = await w.series(lea)
        live = [o for o in await w.occurrences(series) if not o.is_cancelled]
        assert not [o for o in live if o.start.astimezone(paris).date() in book.skipped]
        assert len(live) == len(book.sessions) == 10, "the series is extended so every session is held"
        w.at(max(o.end for o in live if o.start.astimezone(paris).month == 3) + timedelta(hours=1))
        later = await w.run()
        numbers = sorted(
            {a.session for a in later.plan.actions if a.kind.value == "feedback" and a.pair == lea}
        )
        assert numbers == list(range(1, len(numbers) + 1)), "no gap where the blacked-out week was"

    play(tmp_path, scenario)


def test_renaming_the_programme_keeps_its_series(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        before = {s.id for s in await w.series()}
        w.edit(
            "program.yaml", "name: Contoso Reverse Mentoring 2027", "name: Contoso Reverse Mentoring (pilot)"
        )
        again = await w.run()
        assert again.summary()["booked"] == 0
        assert {s.id for s in await w.series()} == before

    play(tmp_path, scenario)


def test_a_blackout_added_later_drops_that_weeks_session_and_keeps_the_numbering(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        (series,) = await w.series(lea)
        third = [o for o in await w.occurrences(series) if not o.is_cancelled][2]
        day = third.start.astimezone(ZoneInfo("Europe/Paris")).date()
        monday = day - timedelta(days=day.weekday())
        sunday = monday + timedelta(days=6)
        header = "blackouts:                                # no session is booked or moved into these days"
        offsite = f"  - from: {monday}\n    to: {sunday}\n    reason: Company offsite\n"
        w.edit("policies.yaml", header + " (inclusive)\n", "blackouts:\n" + offsite)
        w.advance(days=1)
        result = await w.run()
        (cancel,) = [c for c in result.plan.of_kind(Cancel) if c.pair == lea]
        assert cancel.event_id == third.id
        assert day.isoformat() in cancel.skipped
        (after,) = await w.series(lea)
        assert day.isoformat() in after.properties["skipped"]
        w.at(third.end + timedelta(weeks=5))  # past the winter holidays' skipped week too
        later = await w.run()
        numbers = sorted(
            {a.session for a in later.plan.actions if a.kind.value == "feedback" and a.pair == lea}
        )
        assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 3
        assert (await w.run()).summary()["writes"] == 0

    play(tmp_path, scenario)


def test_of_two_series_for_a_pair_the_older_is_kept_even_when_the_newer_starts_first(tmp_path: Path) -> None:
    """Two workers raced (or a crash hid the first create): participants may have answered the first
    invitation already, so the duplicate that was created second goes, whatever its dates."""

    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        (first,) = await w.series(lea)
        (expand,) = w.gateway._expand()  # our extended properties, as the worker reads them
        original = await w.person.call(
            "GET", f"/users/{ORGANIZER}/events/{first.id}", params={"$expand": expand}
        )
        week_earlier = {
            part: {**original[part], "dateTime": _shift(original[part]["dateTime"], days=-7)}
            for part in ("start", "end")
        }
        recurrence = original["recurrence"]
        recurrence["range"]["startDate"] = week_earlier["start"]["dateTime"][:10]
        w.advance(hours=1)
        attendees = [{"emailAddress": a["emailAddress"], "type": a["type"]} for a in original["attendees"]]
        await w.person.call(
            "POST",
            f"/users/{ORGANIZER}/events",
            json={
                "subject": original["subject"],
                **week_earlier,
                "recurrence": recurrence,
                "attendees": attendees,
                "singleValueExtendedProperties": original["singleValueExtendedProperties"],
            },
        )
        assert len(await w.series(lea)) == 2

        result = await w.run()
        cancelled = [a for a in result.plan.actions if isinstance(a, Cancel) and a.pair == lea]
        assert [(a.scope, a.series_id == first.id) for a in cancelled] == [(CancelScope.SERIES, False)]
        assert [s.id for s in await w.series(lea)] == [first.id]

    play(tmp_path, scenario)


def _shift(text: str, **delta: float) -> str:
    from datetime import datetime

    return (datetime.fromisoformat(text[:19]) + timedelta(**delta)).isoformat()


def test_a_run_given_the_programme_it_checked_plans_that_not_what_is_on_disk_now(tmp_path: Path) -> None:
    # `crossgen run` loads the programme to refuse bad config before touching a credential; the run then
    # uses that programme instead of reading the YAML a second time (which a lead may be editing).
    from worker.policies.load import load_programme
    from worker.reconcile.run import reconcile

    async def scenario(w: World) -> None:
        checked = load_programme(w.config)
        w.write("pairs.yaml", "pairs: [")  # broken since
        result = await reconcile(
            w.config, gateway=w.gateway, now=w.now, state_path=w.state, programme=checked
        )
        assert result.summary()["booked"] == 6 and result.summary()["errors"] == 0

    play(tmp_path, scenario)


def test_crossgen_run_reads_the_yaml_once_and_runs_the_programme_it_checked(
    tmp_path: Path, monkeypatch: Any
) -> None:
    from click.testing import CliRunner

    import worker.graph.ops as ops_module
    import worker.policies.load as load_module
    import worker.reconcile.run as run_module
    from worker.commands.reconcile import run

    loads: list[object] = []
    real_load = load_module.load_programme

    def counted(config: Path, **kwargs: Any) -> Any:
        loads.append(real_load(config, **kwargs))
        return loads[-1]

    given: dict[str, Any] = {}

    class Ran:
        exit_code = 0
        cancel_refused = False

        def summary(self) -> dict[str, int]:
            return {"pairs": 0}

    async def reconcile(config: Path, **kwargs: Any) -> Ran:
        given.update(kwargs)
        return Ran()

    class NoGraph:
        async def aclose(self) -> None:
            pass

    monkeypatch.setattr(load_module, "load_programme", counted)
    monkeypatch.setattr(run_module, "reconcile", reconcile)
    monkeypatch.setattr(ops_module.Gateway, "from_env", staticmethod(lambda: NoGraph()))
    config = Path(__file__).resolve().parents[2] / "config"
    result = CliRunner().invoke(run, ["--config", str(config)])
    assert result.exit_code == 0, result.output
    assert len(loads) == 1 and given["programme"] is loads[0]
