"""Options and error output shared by the commands."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from worker.graph.ops import Gateway
    from worker.policies.errors import ConfigError

T = TypeVar("T")

config_option = click.option(
    "--config",
    "config",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The programme folder: program.yaml, policies.yaml, pairs.yaml.",
)
as_of_option = click.option(
    "--as-of",
    "as_of",
    metavar="TIME",
    help="Act as if it were this moment (ISO 8601, e.g. 2027-02-01T08:00Z).",
)


log_format_option = click.option(
    "--log-format",
    "log_format",
    type=click.Choice(["json", "console"]),
    default=None,
    help="Log lines (on stderr) as JSON objects or readable text; default: console on a terminal "
    "(errors only: the output says the rest), json otherwise (a CronJob's logs).",
)


def setup_logging(log_format: str | None) -> bool:
    """Configure logging for a command; True when logs are readable lines for a person (console)."""
    from worker import log

    use_json = log.wants_json(log_format)
    log.configure(json=use_json, level="INFO" if use_json else "ERROR")
    return not use_json


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def parse_as_of(value: str) -> datetime:
    """ISO 8601 with an offset (or Z); a naive time is read as UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time, e.g. 2027-02-01T08:00:00+01:00", param_hint="--as-of"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def require_sandbox(command: str) -> None:
    """The sandbox's server packages are an extra (``crossgen[sandbox]``) that the production image leaves
    out: say how to get them instead of failing on an import."""
    import importlib.util

    missing = [name for name in ("starlette", "uvicorn") if importlib.util.find_spec(name) is None]
    if missing:
        click.echo(
            f"crossgen: `crossgen {command}` needs the sandbox's packages ({', '.join(missing)} missing): "
            "pip install 'crossgen[sandbox]' (from a clone: pip install -e '.[sandbox]')",
            err=True,
        )
        sys.exit(2)


def fail_config(exc: ConfigError) -> NoReturn:
    """Every problem as FILE:LINE:COL: message on stderr, then exit 2. No traceback."""
    for problem in exc.problems:
        click.echo(str(problem), err=True)
    sys.exit(2)


def run_on_graph(work: Callable[[Gateway], Awaitable[T]], *, reading: str = "the calendars") -> T:
    """Run a read-mostly command's work against a gateway from the environment, closed afterwards.

    An auth error exits 2 and any other Graph error exits 1, each as one line on stderr saying what could not
    be read (``reading``). ``plan``/``run`` do not use this: they add a SIGTERM handler and report Graph
    errors per pair."""
    from worker.graph.errors import AuthError, GraphError
    from worker.graph.ops import Gateway

    async def go() -> T:
        gateway = Gateway.from_env()
        try:
            return await work(gateway)
        finally:
            await gateway.aclose()

    try:
        return asyncio.run(go())
    except AuthError as exc:
        click.echo(f"crossgen: authentication failed: {exc}", err=True)
        sys.exit(2)
    except GraphError as exc:
        click.echo(f"crossgen: could not read {reading}: {exc}", err=True)
        sys.exit(1)
