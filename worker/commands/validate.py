"""``crossgen validate`` and ``crossgen schema``: the programme lead's checks before anything is booked.

``validate`` loads the three files exactly as ``run`` will and prints either a short summary (exit 0)
or one ``FILE:LINE:COL: message`` line per problem on stderr (exit 2), every mistake of every file in
one pass. Warnings (``FILE:LINE:COL: warning: ...``, allowed but perhaps not meant) go to stderr too and
never change the exit status. It touches no network and
imports nothing from msgraph or msal, so it answers in a fraction of a second.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from worker.policies.programme import Programme

EXIT_INVALID = 2


def summary(programme: Programme) -> list[str]:
    """The lines printed for a valid programme: name, dates, mailboxes, pairs per policy."""
    from worker.core.words import plural
    from worker.policies.values import format_duration

    p = programme.program
    per_policy = Counter(pair.policy for pair in programme.pairs)
    lines = [
        f"{p.name}: valid",
        f"  {p.start} to {p.end} ({p.zone_name}), organised by {', '.join(p.organizers)}, lead {p.lead}",
        f"  {plural(len(programme.pairs), 'pair')}, {plural(len(programme.policies), 'policy')}, "
        f"{plural(len(programme.blackouts), 'blackout')}",
    ]
    for name, policy in programme.policies.items():
        lines.append(
            f"  policy {name}: {policy.cadence}, {format_duration(policy.duration)}, "
            f"{plural(policy.sessions, 'session')}, "
            f"{plural(per_policy.get(name, 0), 'pair')}"
        )
    return lines


@click.command("validate")
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("config"),
    show_default=True,
    help="Folder holding program.yaml, policies.yaml and pairs.yaml.",
)
def validate(config_dir: Path) -> None:
    """Check the programme YAML; touches no network.

    Exit 0 when valid (warnings, if any, on stderr); exit 2 with one FILE:LINE:COL line per problem
    on stderr, every mistake of every file at once.
    """
    from worker.policies.errors import ConfigError
    from worker.policies.load import load_programme

    try:
        programme = load_programme(config_dir)
    except ConfigError as exc:
        for problem in sorted([*exc.problems, *exc.warnings]):
            click.echo(str(problem), err=True)
        sys.exit(EXIT_INVALID)
    for warning in programme.warnings:
        click.echo(str(warning), err=True)
    for line in summary(programme):
        click.echo(line)


@click.command("schema")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("config/schema"),
    show_default=True,
    help="Folder to write program.schema.json, policies.schema.json and pairs.schema.json into.",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the Markdown reference of every key (e.g. docs/reference.md).",
)
def schema(out_dir: Path, reference: Path | None) -> None:
    """Write the JSON Schema of the programme files, for editors that check YAML as you type."""
    from worker.policies.schema import write_schemas

    for path in write_schemas(out_dir):
        click.echo(str(path))
    if reference is not None:
        from worker.policies.reference import render_reference

        reference.write_text(render_reference(), encoding="utf-8")
        click.echo(str(reference))
