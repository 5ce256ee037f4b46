"""``crossgen demo``: the whole programme on the built-in sandbox tenant, no Microsoft account needed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import click


def _terminal(console: Any) -> Any:
    from rich.markdown import Markdown
    from rich.rule import Rule
    from rich.table import Table

    def show(kind: str, data: dict[str, Any]) -> None:
        if kind == "validate":
            console.print(Rule("1. The programme"))
            console.print(
                f"[bold]{data['programme']}[/]: {data['pairs']} pairs, policies "
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
            console.print(
                f"booked {s['booked']} series, {s['unscheduled']} without a slot (the lead was told), "
                f"{s['refused']} refused (reporting line)"
            )
            table = Table(title="Who meets when: each pair's first session, in each person's own time")
            for col in ("mentor", "their time", "mentee", "their time", "cadence"):
                table.add_column(col)
            for row in data["week"]:
                table.add_row(
                    row["mentor"],
                    f"{row['mentor_local']} ({row['mentor_zone']})",
                    row["mentee"],
                    f"{row['mentee_local']} ({row['mentee_zone']})",
                    f"{row['cadence']} ×{row['sessions']}",
                )
            console.print(table)
        elif kind == "repair":
            console.print(Rule(f"4. A week later ({data['at'][:10]}): life happens"))
            for event in data["events"]:
                console.print(f"• {event['by']} {event['what']} the session of {event['start'][:16]}Z")
            for move in data["moves"]:
                console.print(
                    f"  → moved session {move['session']} of {move['mentor']} & {move['mentee']} "
                    f"({move['reason']}): {move['from'][:16]}Z → {move['to'][:16]}Z, same week"
                )
            if not data["moves"]:
                console.print("  (nothing needed moving)")
        elif kind == "feedback":
            console.print(Rule(f"5. Six weeks in ({data['at'][:10]}): feedback after each session held"))
            s = data["summary"]
            console.print(
                f"{s['feedback_sent']} feedback emails sent, one per participant per session held "
                f"({s['deferred']} wait for the sending budget); {s['moved']} later sessions moved "
                "off meetings that appeared since booking:"
            )
            for mail in data["emails"][:8]:
                console.print(f"  ✉ {mail['to']}: {mail['subject']}")
            if len(data["emails"]) > 8:
                console.print(f"  … and {len(data['emails']) - 8} more")
        elif kind == "steady":
            s = data["summary"]
            console.print(
                f"A run right after: {s['writes']} writes ({s['feedback_sent']} emails had waited for the "
                "sending budget); nothing is booked or sent twice."
            )
        elif kind == "report":
            console.print(Rule("6. The report for the programme lead"))
            console.print(Markdown(data["markdown"]))
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
