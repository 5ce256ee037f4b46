"""``crossgen match``: propose pairs from a pool of volunteers; writes a pairs.yaml, nothing to Microsoft 365.

Exit codes (../shared/spec/cli.md): 0 everyone matched; 1 someone could not be matched (the file is
still written, with the reasons as comments); 2 config or auth error, with nothing sent to Graph for a
config error (the programme and the pool are checked first, FILE:LINE:COL).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from worker.commands.common import as_of_option, config_option, fail_config, parse_as_of, run_on_graph


@click.command("match")
@config_option
@click.option(
    "--pool",
    "pool_path",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The volunteers: mentors with the topics they offer, mentees with the topics they want, rules.",
)
@as_of_option
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the pairs.yaml here, not to stdout."
)
def match(config: Path, pool_path: Path, as_of: str | None, out: Path | None) -> None:
    """Propose pairs that respect the pool's rules and can really meet; print or write a pairs.yaml."""
    from worker import log
    from worker.matching.pool import load_pool
    from worker.policies.errors import ConfigError, Problem
    from worker.policies.load import load_programme

    log.configure()
    now = parse_as_of(as_of) if as_of else datetime.now(UTC)
    try:
        programme = load_programme(config, pairs_optional=True)
    except ConfigError as exc:
        fail_config(exc)
    if not pool_path.is_file():
        fail_config(ConfigError([Problem(str(pool_path), 1, 1, "file not found")]))
    try:
        pool = load_pool(pool_path, programme)
    except ConfigError as exc:
        fail_config(exc)
    from worker.matching.output import render_pairs
    from worker.matching.propose import propose

    proposal = run_on_graph(
        lambda gateway: propose(programme, pool, gateway=gateway, now=now),
        reading="the directory or calendars",
    )
    text = render_pairs(proposal, pool_file=str(pool_path), now=now)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)
    f = proposal.figures
    click.echo(
        f"{f['proposed']} pairs proposed, {f['kept']} kept, {len(proposal.unmatched)} people unmatched "
        f"({f['candidates']} candidate pairs, {f['after_rules']} after the rules, {f['evaluated']} "
        f"checked against the calendars; {f['getschedule_calls']} getSchedule calls)",
        err=True,
    )
    sys.exit(1 if proposal.unmatched else 0)
