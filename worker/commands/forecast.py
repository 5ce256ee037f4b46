"""``crossgen forecast``: what the programme would yield from today's calendars, before anything is booked.

Runs the same pass as ``crossgen plan`` (a dry run: nothing is written) and reads its decisions, so it
agrees with what ``run`` then books. Exit 0; 2 for a config or auth error (nothing sent to Graph for a
config error).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from worker.commands.common import as_of_option, config_option, fail_config, parse_as_of, run_on_graph


@click.command("forecast")
@config_option
@as_of_option
@click.option("--policy", metavar="NAME", help="What if every pair were on this policy of policies.yaml.")
@click.option("--json", "as_json", is_flag=True, help='Print one JSON object: {"pairs": [...]}.')
@click.option("--format", "fmt", type=click.Choice(["md", "html"]), default="md", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file, not stdout."
)
def forecast_command(
    config: Path, as_of: str | None, policy: str | None, as_json: bool, fmt: str, out: Path | None
) -> None:
    """Per pair: the sessions it would hold before the end, its first session, the sessions lost."""
    from worker import log
    from worker.policies.errors import ConfigError
    from worker.policies.load import load_programme
    from worker.reconcile.forecast import UnknownPolicy, with_policy

    log.configure()
    now = parse_as_of(as_of) if as_of else datetime.now(UTC)
    try:
        programme = load_programme(config)
    except ConfigError as exc:
        fail_config(exc)
    if policy is not None:
        try:
            with_policy(programme, policy)
        except UnknownPolicy as exc:
            raise click.BadParameter(str(exc), param_hint="--policy") from exc
    from worker.reconcile.forecast import forecast_programme

    result = run_on_graph(
        lambda gateway: forecast_programme(
            config, gateway=gateway, now=now, programme=programme, policy=policy
        )
    )
    from worker.report.forecast import forecast_json, render_html, render_md

    if as_json:
        text = json.dumps(forecast_json(result), sort_keys=True, ensure_ascii=False)
    else:
        text = render_html(result) if fmt == "html" else render_md(result)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text)
