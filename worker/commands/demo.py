"""``crossgen demo``: the whole programme on the built-in sandbox tenant, no Microsoft account needed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import click


def _when(iso: str, zone: str) -> str:
    """An ISO time from the story, in ``zone`` with the zone named: "Tue 26 Jan 09:30 Europe/Paris"."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return f"{datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)):%a %d %b %H:%M} {zone}"


def _terminal(console: Any) -> Any:
    from rich import box
    from rich.markdown import Markdown
    from rich.rule import Rule
    from rich.table import Table

    from worker.core.words import plural

    def say(text: str) -> None:
        console.print(text, highlight=False)

    def show(kind: str, data: dict[str, Any]) -> None:
        if kind == "validate":
            console.print(Rule("1. The programme"))
            console.print(
                f"[bold]{data['programme']}[/]: {plural(data['pairs'], 'pair')}, policies "
                f"{', '.join(data['policies'])} — valid ({data['config']})"
            )
        elif kind == "match":
            console.print(Rule("1b. Matching the pool of volunteers (config/pool.yaml), nothing written"))
            for pair in data["pairs"]:
                topics = ", ".join(pair["topics"]) or "no shared topic"
                console.print(f"  {pair['mentor']} teaches {pair['mentee']}: {topics}")
            for person in data["unmatched"]:
                console.print(f"  [yellow]{person['who']}[/] ({person['role']}) left out: {person['why']}")
        elif kind == "plan":
            from worker.reconcile.present import plan_table

            console.print(Rule(f"2. The plan at {data['at'][:16]} (nothing written yet)"))
            plan_table(data["result"], console=console)
        elif kind == "run":
            s = data["summary"]
            console.print(Rule("3. First run: every pair that has a slot is booked"))
            say(
                f"booked {plural(s['booked'], 'series', 'series')}, {s['unscheduled']} without a slot "
                f"(the lead was told), {s['refused']} refused (reporting line)"
            )
            table = Table(
                title="Who meets when: each pair's first session, in each person's own time",
                box=box.SIMPLE_HEAD,
                pad_edge=False,
            )
            zones = [row[f"{role}_zone"] for row in data["week"] for role in ("mentor", "mentee")]
            widest = max((len(z) for z in zones), default=10)
            table.add_column("pair (mentor → mentee)", overflow="fold")
            table.add_column("mentor's time", overflow="fold", min_width=widest)
            table.add_column("mentee's time", overflow="fold", min_width=widest)
            table.add_column("rhythm", overflow="fold")
            for row in data["week"]:
                table.add_row(
                    f"{row['mentor']} → {row['mentee']}",
                    f"{row['mentor_local']}\n{row['mentor_zone']}",
                    f"{row['mentee_local']}\n{row['mentee_zone']}",
                    f"{row['cadence']}, {plural(row['sessions'], 'session')}",
                )
            console.print(table)
        elif kind == "repair":
            zone = data["zone"]
            console.print(Rule(f"4. A week later ({data['at'][:10]}): life happens"))
            for event in data["events"]:
                say(f"• {event['by']} {event['what']} the session of {_when(event['start'], zone)}")
            for move in data["moves"]:
                say(
                    f"  → moved session {move['session']} of {move['mentor']} & {move['mentee']} "
                    f"({move['reason']}): {_when(move['from'], zone)} → {_when(move['to'], zone)}, same week"
                )
            if not data["moves"]:
                say("  (nothing needed moving)")
        elif kind == "feedback":
            console.print(Rule(f"5. Six weeks in ({data['at'][:10]}): feedback after each session held"))
            s = data["summary"]
            say(
                f"{plural(data['feedback'], 'feedback email')} sent, one per participant per session held "
                f"({s['deferred']} wait for the sending budget); {plural(s['moved'], 'later session')} "
                "moved off meetings that appeared since booking:"
            )
            for mail in data["emails"][:8]:
                say(f"  ✉ {mail['to']}: {mail['subject']}")
            if len(data["emails"]) > 8:
                say(f"  (and {plural(len(data['emails']) - 8, 'more feedback email')})")
            if data["escalations"]:
                say(f"and {plural(len(data['escalations']), 'lead escalation')} to the programme lead:")
                for mail in data["escalations"]:
                    say(f"  ✉ {mail['to']}: {mail['subject']}")
        elif kind == "steady":
            s = data["summary"]
            say(
                f"A run right after: {plural(s['writes'], 'write')} "
                f"({plural(s['feedback_sent'], 'email')} had waited for the sending budget); "
                "nothing is booked or sent twice."
            )
        elif kind == "ratings":
            console.print(Rule(f"6. The day after ({data['at'][:10]}): ratings in one click"))
            s = data["summary"]
            genuine = [c for c in data["clicks"] if not c.get("forged")]
            say(
                f"{plural(len(genuine), 'click')} on a rating link in a feedback email (each sends an "
                "email to the programme mailbox), and one more by a colleague with a forwarded email. "
                f"The next run counted {plural(s['ratings'], 'rating')} and ignored "
                f"{s['ratings_ignored']} (sent by someone else than the person the email was written to); "
                "each decision is recorded on the message itself."
            )
        elif kind == "report":
            from worker.report.render_terminal import render_terminal

            console.print(Rule("7. The report for the programme lead"))
            render_terminal(data["report"], console)
            console.print(Rule("And the company summary: aggregates only, no names"))
            console.print(Markdown(data["company"]))
        elif kind == "requests":
            console.print(f"[dim]{data['total']} Graph requests in all, per mailbox at most 4 in flight.[/]")

    return show


@click.command("demo")
@click.option("--json", "as_json", is_flag=True, help="Print the story as one JSON object.")
@click.option(
    "--config",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A programme folder (default: the example programme).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the sandbox tenant.")
def demo(as_json: bool, config: Path | None, seed: int) -> None:
    """The whole programme on the built-in sandbox tenant, with simulated time."""
    from worker.commands.common import require_sandbox

    require_sandbox("demo")
    from rich.console import Console

    from worker import log
    from worker.demo import run_demo, story_json

    log.configure(level="ERROR")
    console = Console()
    started = time.perf_counter()
    story = asyncio.run(run_demo(config=config, seed=seed, echo=None if as_json else _terminal(console)))
    if as_json:
        click.echo(story_json(story))
    else:
        console.print(f"[dim]demo finished in {time.perf_counter() - started:.1f} s[/]")
