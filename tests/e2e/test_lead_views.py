"""What a programme lead reads at a terminal: ``plan``'s table and ``run``'s closing summary
(issue 19, findings 1, 2, 3 and 9).

The plan states each pair's rhythm as its policy says it and counts the sessions actually booked; at 80
columns as at 120 nothing is cut; every time carries its zone; a pair no longer in pairs.yaml is named
by its people, not by its id.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from rich.console import Console

from tests.e2e.world import World, play
from worker.core.actions import Book

REMOVED = (
    "  - mentor: sanjay.thapa@contoso.com      # Kathmandu (UTC+5:45) with London\n"
    "    mentee: nadia.benali@contoso.com\n"
    "    topics: [social media, next-generation customers]\n"
)


def _render(result: Any, width: int) -> str:
    from worker.reconcile.present import plan_table

    out = io.StringIO()
    plan_table(result, Console(width=width, file=out, color_system=None))
    return out.getvalue()


def _whole(text: str, notes: int) -> None:
    """Nothing of the table was cropped: every header, and every reference to a note under it."""
    for header in ("pair", "plan", "first session", "exceptions"):
        assert header in text
    words = _cells(text)
    for number in range(1, notes + 1):
        assert re.search(rf"see {number}\b|see \d+–\d+", words) or f"–{number}" in words
        assert f"\n{number}. " in text


def _cells(text: str) -> str:
    """The table's words with the wrapping undone: cells that wrap are read across lines."""
    return " ".join(text.split())


@pytest.mark.parametrize("width", [80, 120])
def test_plan_says_the_rhythm_as_the_policy_does_and_cuts_nothing(tmp_path: Path, width: int) -> None:
    async def scenario(w: World) -> None:
        result = await w.run(dry_run=True)
        text = _render(result, width)

        assert "…" not in text
        assert all(len(line) <= width for line in text.splitlines())
        assert "weekly" not in text  # the example's policies are every 2 weeks and monthly
        assert "every 2 weeks" in text
        for book in result.plan.of_kind(Book):
            first = book.sessions[0].start.astimezone(ZoneInfo(book.spec.zone_name))
            assert f"{first:%H:%M}" in text
        assert "Europe/Paris" in text and not re.search(r"\d{4}-\d\d-\d\dT\d\d:", text)
        assert "pair-" not in text
        assert "Léa Martin" in _cells(text) or "Lea Martin" in _cells(text)
        _whole(text, len(re.findall(r"^\d+\. ", text, re.M)))

    play(tmp_path, scenario)


@pytest.mark.parametrize("width", [80, 120])
def test_after_a_change_the_plan_counts_the_sessions_booked_and_names_a_removed_pair(
    tmp_path: Path, width: int
) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        w.edit("pairs.yaml", REMOVED, "")
        w.edit("policies.yaml", "cadence: every 2 weeks ", "cadence: every 3 weeks ")
        w.advance(days=1)
        result = await w.run(dry_run=True)
        text = _render(result, width)
        words = _cells(text)

        books = result.plan.of_kind(Book)
        assert books and all(str(b.spec.recurrence.cadence) == "every 3 weeks" for b in books)
        assert "every 3 weeks" in text
        assert "weekly" not in text and " x" not in text
        for book in books:  # the count is that of the sessions booked, not the recurrence's range
            held = len(book.sessions)
            assert (f"{held} of {book.wanted} sessions" if book.wanted > held else f"{held} sessions") in text
        assert "Sanjay Thapa" in words and "Nadia Benali" in words
        assert "pair-" not in text and "pair_removed" not in text
        assert "no longer in pairs.yaml" in words
        assert "…" not in text and all(len(line) <= width for line in text.splitlines())
        _whole(text, len(re.findall(r"^\d+\. ", text, re.M)))

    play(tmp_path, scenario)


def test_run_ends_with_sentences_on_a_terminal_and_the_json_line_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker.commands import common, reconcile

    results: list[Any] = []

    async def scenario(w: World) -> None:
        results.append(await w.run())

    play(tmp_path, scenario)
    monkeypatch.setattr(reconcile, "_execute", lambda *a, **k: results[0])

    monkeypatch.setattr(common, "stdout_is_terminal", lambda: False)
    piped = CliRunner().invoke(reconcile.run, ["--config", str(tmp_path)])
    line = json.loads(piped.stdout.splitlines()[-1])
    assert {"pairs", "booked", "moved", "cancelled", "feedback_sent", "unscheduled", "errors"} <= set(line)

    monkeypatch.setattr(common, "stdout_is_terminal", lambda: True)
    tty = CliRunner().invoke(reconcile.run, ["--config", str(tmp_path)])
    assert "{" not in tty.stdout
    assert "8 pairs" in tty.stdout and "6 series booked" in tty.stdout
    assert "no time: Olivia Wilson → Claire Petit" in tty.stdout
    assert "pair-" not in tty.stdout

    forced = CliRunner().invoke(reconcile.run, ["--config", str(tmp_path), "--log-format", "json"])
    assert json.loads(forced.stdout.splitlines()[-1])["booked"] == 6


def test_log_format_follows_stdout_and_a_terminal_gets_no_json_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    import structlog

    from worker import log
    from worker.commands.common import setup_logging

    class Stdout(io.StringIO):
        def __init__(self, tty: bool) -> None:
            super().__init__()
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    monkeypatch.setattr("sys.stdout", Stdout(False))
    assert log.wants_json(None) and not log.wants_json("console") and log.wants_json("json")
    monkeypatch.setattr("sys.stdout", Stdout(True))
    assert not log.wants_json(None)

    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    assert setup_logging(None) is True  # a person at a terminal
    structlog.get_logger("t").info("run.finished", booked=6)
    structlog.get_logger("t").warning("pair.escalated", detail="no time")  # the output names the pair
    structlog.get_logger("t").error("apply.pair_failed", error="503")
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and "apply.pair_failed" in lines[0] and not lines[0].startswith("{")

    err.truncate(0)
    err.seek(0)
    assert setup_logging("json") is False  # a CronJob's collector
    structlog.get_logger("t").info("run.finished", booked=6)
    assert json.loads(err.getvalue().splitlines()[-1])["event"] == "run.finished"
    structlog.reset_defaults()


# --- report (findings 2, 4 and 5) -------------------------------------------------------------------


def test_the_report_covers_the_whole_series_counts_cancellations_by_cause_and_names_every_zone(
    tmp_path: Path,
) -> None:
    from worker.reconcile.run import programme_report
    from worker.report.render_md import render_md
    from worker.report.render_terminal import render_terminal

    async def scenario(w: World) -> None:
        first = await w.run()
        booked = {b.pair: len(b.sessions) for b in first.plan.of_kind(Book)}
        report = await programme_report(w.config, gateway=w.gateway, now=w.now, state_path=w.state)
        # Every booked session is upcoming, not only the next six weeks' (the free/busy horizon).
        assert {row.pair_id: row.upcoming for row in report.pairs if row.pair_id in booked} == booked

        w.edit("pairs.yaml", REMOVED, "")
        w.edit(
            "policies.yaml",
            "blackouts:                                # no session is booked or moved into these days"
            " (inclusive)\n",
            "blackouts:\n  - from: 2027-01-25\n    to: 2027-01-29\n    reason: Team offsite\n",
        )
        w.edit("policies.yaml", "    cadence: monthly\n", "    cadence: every 6 weeks\n")
        w.advance(days=1)
        second = await w.run()
        report = await programme_report(w.config, gateway=w.gateway, now=w.now, state_path=w.state)

        causes = dict(report.cancellations)
        assert sum(causes.values()) == second.summary()["cancelled"] > 0
        assert causes["the pair left the programme"] == 1
        assert causes["the policy changed (the series was re-cut)"] == 2
        assert causes["a blackout"] >= 1
        md = render_md(report)
        assert f"| Sessions cancelled | {second.summary()['cancelled']} |" in md
        assert "Team offsite" in md and "Winter school holidays (Paris)" in md and "Ascension bridge" in md
        times = re.findall(r"\d\d:\d\d(?: [A-Z][A-Za-z_]+/[A-Za-z_]+)?", md)
        assert times and all(" " in t for t in times), [t for t in times if " " not in t]
        assert "pair-" not in md.split("## Notes")[1]

        for width in (80, 120):
            out = io.StringIO()
            render_terminal(report, Console(width=width, file=out, color_system=None))
            text = out.getvalue()
            assert "…" not in text and all(len(line) <= width for line in text.splitlines())
            assert "pair-" not in text and "Europe/Paris" in text and "Team offsite" in text
            assert "Jean Dubois" in _cells(text) or "Jean" in text

    play(tmp_path, scenario)
