"""``crossgen report``: the programme's state for its lead, as Markdown, CSV or an HTML page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from worker.commands import common
from worker.commands.common import (
    as_of_option,
    config_option,
    fail_config,
    log_format_option,
    parse_as_of,
    run_on_graph,
    setup_logging,
)

if TYPE_CHECKING:
    from worker.graph.ops import Gateway

RENDERERS = {"md": "render_md", "csv": "render_csv", "html": "render_html"}


def render(report: Any, fmt: str, audience: str = "lead") -> str:
    if audience == "company":
        from worker.report import company

        renderer = {"md": company.render_company_md, "csv": company.render_company_csv}
        return renderer.get(fmt, company.render_company_html)(report)
    if fmt == "md":
        from worker.report.render_md import render_md

        return render_md(report)
    if fmt == "csv":
        from worker.report.render_csv import render_csv

        return render_csv(report)
    from worker.report.render_html import render_html

    return render_html(report)


@click.command("report")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*sorted(RENDERERS), "terminal"]),
    default=None,
    help="md, csv, html, or terminal (a readable view); default: terminal when stdout is a terminal, "
    "md otherwise.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file, not stdout."
)
@click.option("--send", is_flag=True, help="Also email the lead's report to the programme lead.")
@click.option(
    "--audience",
    type=click.Choice(["lead", "company"]),
    default="lead",
    show_default=True,
    help="lead: every pair, ratings and comments; company: aggregates only, no names, for company news.",
)
@as_of_option
@log_format_option
def report(
    config: Path, fmt: str | None, out: Path | None, send: bool, audience: str, as_of: str | None,
    log_format: str | None,
) -> None:
    """The programme's state for its lead (per pair and in total, with sessions per week and ratings), or a
    company summary with aggregates only (``--audience company``)."""
    from worker.policies.errors import ConfigError
    from worker.policies.load import load_programme

    setup_logging(log_format)
    now = parse_as_of(as_of) if as_of else datetime.now(UTC)
    try:
        load_programme(config)
    except ConfigError as exc:
        fail_config(exc)
    from worker.core.types import MailSpec
    from worker.reconcile.run import programme_report

    async def go(gateway: Gateway) -> Any:
        built = await programme_report(config, gateway=gateway, now=now)
        if send:
            from worker.report.mail import report_email

            subject, html, text = report_email(built)
            await gateway.send_mail_once(
                MailSpec(
                    sender=_organizer(config),
                    key=f"report/{built.name}/{now.date().isoformat()}",
                    to=(built.lead,),
                    subject=subject,
                    html=html,
                    text=text,
                )
            )
        return built

    built = run_on_graph(go)
    if fmt is None:
        fmt = "terminal" if out is None and common.stdout_is_terminal() else "md"
    if fmt == "terminal" and audience == "company":
        fmt = "md"  # the company summary is Markdown to paste into company news, even at a terminal
    if fmt == "terminal":
        from rich.console import Console

        from worker.report.render_terminal import render_terminal

        if out is not None:
            with out.open("w", encoding="utf-8") as handle:
                render_terminal(built, Console(file=handle, width=100, color_system=None))
            click.echo(f"wrote {out}", err=True)
        else:
            render_terminal(built, Console())
        return
    text = render(built, fmt, audience)
    if out is not None:
        out.write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text)


def _organizer(config: Path) -> str:
    from worker.policies.load import load_programme

    return load_programme(config).program.organizer
