"""``crossgen forecast`` against the sandbox: what it forecasts is what the next run books, pair by pair."""

from __future__ import annotations

import re
from datetime import UTC
from pathlib import Path

import pytest
import yaml

from tests.e2e.world import World, play
from worker.core.forecast import BOOKABLE, Forecast, LostTo
from worker.reconcile.forecast import forecast_programme
from worker.report.forecast import forecast_json, render_html, render_md


async def _forecast(w: World, policy: str | None = None) -> Forecast:
    return await forecast_programme(w.config, gateway=w.gateway, now=w.now, policy=policy, state_path=w.state)


async def _booked(w: World) -> dict[str, list[str]]:
    """Per pair, the starts (UTC ISO) of the sessions its series holds in the sandbox after the run."""
    out: dict[str, list[str]] = {}
    for series in await w.series():
        occurrences = await w.occurrences(series)
        starts = sorted(o.start.astimezone(UTC).isoformat() for o in occurrences if not o.is_cancelled)
        out[series.key] = starts
    return out


def _forecast_starts(result: Forecast) -> dict[str, list[str]]:
    return {
        p.pair: sorted(s.start.astimezone(UTC).isoformat() for s in p.sessions)
        for p in result.pairs
        if p.state == BOOKABLE
    }


def test_forecast_equals_what_the_next_run_books_for_every_pair(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        result = await _forecast(w)
        assert await w.series() == [], "a forecast writes nothing"
        run = await w.run()
        booked = await _booked(w)
        assert _forecast_starts(result) == booked
        data = forecast_json(result)
        by_pair = {p["pair"]: p for p in data["pairs"]}
        statuses = {s.pair: s.state for s in run.plan.statuses}
        for pair, starts in booked.items():
            assert by_pair[pair]["sessions"] == len(starts)
            assert by_pair[pair]["first"] is not None
            # ISO 8601 with the offset of the series' zone (either person's, or UTC: issue 16)
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", by_pair[pair]["first"])
        for pair in set(by_pair) - set(booked):
            assert by_pair[pair]["sessions"] == 0 and by_pair[pair]["first"] is None
            assert statuses[pair] == by_pair[pair]["state"]
        assert any(p["lost_to"]["blackout"] for p in data["pairs"]), "the example's holidays take sessions"
        series = {s.key: s for s in await w.series()}
        for p in result.pairs:
            if p.state == BOOKABLE:
                marked = series[p.pair].properties.get("skipped", "")
                assert sorted(x.day.isoformat() for x in p.lost) == sorted(filter(None, marked.split(",")))

    play(tmp_path, scenario)


def test_a_what_if_policy_forecasts_what_a_run_books_under_that_policy(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        result = await _forecast(w, policy="executive-monthly")
        assert {p.policy for p in result.pairs} == {"executive-monthly"}
        pairs = yaml.safe_load((w.config / "pairs.yaml").read_text(encoding="utf-8"))
        for pair in pairs["pairs"]:
            pair["policy"] = "executive-monthly"
        w.write("pairs.yaml", yaml.safe_dump(pairs, allow_unicode=True))
        await w.run()
        assert _forecast_starts(result) == await _booked(w)

    play(tmp_path, scenario)


def test_a_booked_programme_is_forecast_from_its_series(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        before = await _forecast(w)
        await w.run()
        after = await _forecast(w)
        for old, new in zip(before.pairs, after.pairs, strict=True):
            assert [s.start for s in old.sessions] == [s.start for s in new.sessions]
            assert [x.day for x in old.lost] == [x.day for x in new.lost]
            if old.state == BOOKABLE:
                assert new.state == "booked"

    play(tmp_path, scenario)


def test_lost_sessions_name_their_cause_and_the_pages_escape_names(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        result = await _forecast(w)
        causes = {x.cause for p in result.pairs for x in p.lost}
        assert LostTo.BLACKOUT in causes
        md = render_md(result)
        assert "Léa Martin → Jean Dubois" in md, "people are named as the directory names them"
        assert "| pair | policy | sessions | first session | lost | state |" in md
        page = render_html(result)
        assert page.count("<svg") == 1 and 'data-kind="upcoming"' in page and "Forecast (" in page
        assert "<script" not in page

    play(tmp_path, scenario)


def test_each_lost_session_is_put_down_to_a_blackout_a_clock_change_an_absence_or_a_busy_week(
    tmp_path: Path,
) -> None:
    """New York with Paris: from mid-March to late March 2027 the US is on summer time and Europe not
    yet, so the two people's offsets are an hour closer than at the first session."""
    import dataclasses
    from datetime import date

    from worker.core.actions import Book
    from worker.core.forecast import forecast
    from worker.core.plan import Plan
    from worker.core.slot_model import Constraint
    from worker.reconcile.run import reconcile

    async def scenario(w: World) -> None:
        planned = await reconcile(w.config, gateway=w.gateway, now=w.now, dry_run=True, state_path=w.state)
        emily = next(p for p in planned.desired.pairs if p.mentor.address.startswith("emily"))
        book = next(a for a in planned.plan.of_kind(Book) if a.pair == emily.id)
        skipped = (date(2027, 2, 23), date(2027, 3, 17), date(2027, 4, 6))
        # No reasons from the slot engine (as for a series read back from the calendar): inferred. Nobody
        # is out of office in the week of 6 April, so that date was lost to a busy week, not an absence.
        plan = Plan((dataclasses.replace(book, skipped=skipped, skip_causes=()),), planned.plan.statuses)
        result = forecast(planned.desired, planned.observed, plan, now=w.now)
        lost = next(p for p in result.pairs if p.pair == emily.id).lost
        assert [(x.day, x.cause) for x in lost] == [
            (date(2027, 2, 23), LostTo.BLACKOUT),
            (date(2027, 3, 17), LostTo.CLOCK_CHANGE),
            (date(2027, 4, 6), LostTo.BUSY),
        ]
        # The slot engine's own reason for each date wins over any inference: a week whose working hours
        # do not meet is a clock change, busy time is a busy week unless someone is out of office.
        causes = (Constraint.WORKING_HOURS, Constraint.BUSY, Constraint.BLACKOUT)
        plan = Plan((dataclasses.replace(book, skipped=skipped, skip_causes=causes),), planned.plan.statuses)
        lost = next(p for p in forecast(planned.desired, planned.observed, plan, now=w.now).pairs
                    if p.pair == emily.id).lost
        assert [x.cause for x in lost] == [LostTo.CLOCK_CHANGE, LostTo.BUSY, LostTo.BLACKOUT]

    play(tmp_path, scenario)


def test_the_command_prints_the_contract_s_json_and_it_matches_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import shutil

    from click.testing import CliRunner

    from tests.e2e.world import EXAMPLE, START
    from worker.cli import cli
    from worker.core.actions import Book
    from worker.graph.ops import Gateway
    from worker.inprocess import SimulatedTime, connect
    from worker.sandbox.app import create_app

    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    app = create_app(seed=0)
    clock = SimulatedTime(app, START)
    gateway = connect(app, time=clock)  # built before from_env is replaced: it calls it
    monkeypatch.setattr(Gateway, "from_env", classmethod(lambda cls, *a, **k: gateway))
    monkeypatch.setenv("CROSSGEN_STATE", str(tmp_path / "state"))
    result = CliRunner().invoke(
        cli, ["forecast", "--config", str(config), "--as-of", START.isoformat(), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    for pair in data["pairs"]:
        assert {"pair", "mentor", "mentee", "sessions", "first", "lost"} <= set(pair)
        assert isinstance(pair["sessions"], int) and isinstance(pair["lost"], int)

    async def book() -> dict[str, tuple[int, str]]:
        from worker.reconcile.run import reconcile

        fresh = connect(app, time=clock)  # the tenant the forecast read
        try:
            run = await reconcile(config, gateway=fresh, now=START, state_path=tmp_path / "state")
        finally:
            await fresh.aclose()
        return {a.pair: (len(a.sessions), a.sessions[0].start.isoformat()) for a in run.plan.of_kind(Book)}

    import asyncio
    from datetime import datetime

    monkeypatch.undo()  # connect() builds its gateway through from_env
    writes = [e for e in app.sandbox.counters.log if e[2] != "GET" and not e[3].endswith("/getSchedule")]
    assert writes == [], "a forecast writes nothing"
    booked = asyncio.run(book())
    forecast_ = {
        p["pair"]: (p["sessions"], datetime.fromisoformat(p["first"]).astimezone(UTC).isoformat())
        for p in data["pairs"]
        if p["first"]
    }
    assert forecast_ == booked
