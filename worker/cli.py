"""The ``crossgen`` command line (see ../shared/spec/cli.md for the contract).

Commands are loaded lazily: ``crossgen --help`` and ``crossgen validate`` must start fast, so nothing
from msgraph, msal or the sandbox is imported until a command that needs it runs. Each command lives
in its own module under ``worker.commands`` and is named in ``COMMANDS`` below.
"""

from __future__ import annotations

import importlib

import click

from worker import __version__

# name -> (module, attribute, one-line help shown by `crossgen --help` without importing the module)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": (
        "worker.commands.demo",
        "demo",
        "The whole programme on the built-in sandbox tenant, no account needed.",
    ),
    "validate": ("worker.commands.validate", "validate", "Check the programme YAML; touches no network."),
    "plan": ("worker.commands.reconcile", "plan_command", "Read calendars and print what `run` would do."),
    "run": ("worker.commands.reconcile", "run", "One reconcile pass: book, repair, cancel, send feedback."),
    "report": ("worker.commands.report", "report", "The programme's state for its lead (md, csv, html)."),
    "schema": ("worker.commands.validate", "schema", "Write the JSON Schema of the programme files."),
    "match": (
        "worker.commands.match",
        "match",
        "Propose pairs from a pool of volunteers: rules kept, time to meet checked.",
    ),
    "forecast": (
        "worker.commands.forecast",
        "forecast_command",
        "What the programme would yield from today's calendars: sessions per pair, lost ones.",
    ),
    "sandbox": (
        "worker.commands.sandbox",
        "sandbox",
        "Serve the Graph-compatible sandbox tenant on loopback.",
    ),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, attr, _ = entry
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="crossgen")
def cli() -> None:
    """crossgen books, protects and follows up reverse-mentoring sessions in Microsoft 365.

    Start with `crossgen demo` (no Microsoft account needed), then `crossgen validate --config DIR`.
    """


def main() -> None:
    cli()
