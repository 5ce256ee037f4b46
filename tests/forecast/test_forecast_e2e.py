"""``crossgen forecast`` against the sandbox: what it forecasts is what the next run books, pair by pair."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

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
            assert by_pair[pair]["first"].endswith(("+01:00", "+00:00", "-05:00", "+05:30", "+08:00"))
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
        assert "| pair | policy | sessions | first session | lost | state |" in md
        page = render_html(result)
        assert page.count("<svg") == 1 and 'data-kind="upcoming"' in page and "Forecast (" in page
        assert "<script" not in page

    play(tmp_path, scenario)
