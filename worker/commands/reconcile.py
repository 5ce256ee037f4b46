"""``crossgen plan`` and ``crossgen run``: one reconcile pass against Microsoft Graph (or a sandbox).

Exit codes (../shared/spec/cli.md): 0 converged; 1 some pairs failed or cannot be served; 2 config or
auth error, with nothing sent to Graph for a config error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from worker.commands import common
from worker.commands.common import (
    as_of_option,
    config_option,
    fail_config,
    log_format_option,
    parse_as_of,
    setup_logging,
)


def _shard(value: str | None) -> Any:
    from worker.reconcile.desired import Shard

    if value:
        try:
            index, count = (int(x) for x in value.split("/"))
            return Shard(index, count)
        except ValueError as exc:
            raise click.BadParameter(f"{value!r}: expected i/n, e.g. 0/4 ({exc})") from exc
    index = os.environ.get("JOB_COMPLETION_INDEX")
    count = os.environ.get("CROSSGEN_SHARDS") or os.environ.get("JOB_COMPLETIONS")
    if index is not None and count:
        return Shard(int(index), int(count))
    return None


# Failpoints for the crash tests: signal this process right after its N-th write, to prove that a run
# killed (SIGKILL) or stopped (SIGTERM) at any write leaves nothing a rerun would duplicate, at a precise
# write rather than at a racy instant. Never set in production.
KILL_AFTER_WRITES = "CROSSGEN_FAULT_SIGKILL_AFTER_WRITES"
TERM_AFTER_WRITES = "CROSSGEN_FAULT_SIGTERM_AFTER_WRITES"


def _failpoint() -> Any:
    armed = [
        (int(os.environ.get(variable) or 0), sig)
        for variable, sig in ((KILL_AFTER_WRITES, signal.SIGKILL), (TERM_AFTER_WRITES, signal.SIGTERM))
    ]
    limit, sig = max(armed)
    if limit <= 0:
        return None
    done = [0]

    def on_write(_pair: str, _action: Any) -> None:
        done[0] += 1
        if done[0] == limit:
            os.kill(os.getpid(), sig)

    return on_write


@contextlib.contextmanager
def _progress() -> Iterator[tuple[Any, Any]]:
    """A progress bar on a terminal (stderr) while the plan is applied; nothing when logs go to a pipe."""
    failpoint = _failpoint()
    if failpoint is not None:
        yield None, failpoint
        return
    if not sys.stderr.isatty():
        yield None, None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("applying", total=None)

        def on_plan(plan: Any) -> None:
            bar.update(task, total=len(plan.actions))

        def on_write(pair: str, action: Any) -> None:
            bar.update(task, advance=1, description=f"{action.kind.value} {pair}")

        yield on_plan, on_write


# SIGTERM (a pod being evicted, a CronJob deadline): start no new write, let the ones in flight finish,
# save state, print the summary and exit 143. Every write is guarded, so even SIGKILL leaves nothing that
# the next run cannot finish; this only makes the common case tidy.
_TERMINATED = threading.Event()
EXIT_TERMINATED = 128 + signal.SIGTERM


def _terminate() -> None:
    from structlog import get_logger

    _TERMINATED.set()
    get_logger(__name__).warning("run.terminating", signal="SIGTERM")


def _execute(
    config: Path, *, as_of: str | None, dry_run: bool, shard: str | None, log_format: str | None = None
) -> Any:
    from worker.policies.errors import ConfigError

    setup_logging(log_format)
    now = parse_as_of(as_of) if as_of else datetime.now(UTC)
    try:
        from worker.policies.load import load_programme

        programme = load_programme(config)  # refuse bad config before any credential or network is touched
    except ConfigError as exc:
        fail_config(exc)
    from worker.graph.errors import AuthError
    from worker.graph.ops import Gateway
    from worker.reconcile.run import reconcile

    async def go() -> Any:
        gateway = Gateway.from_env()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, _terminate)
        try:
            with _progress() as (on_plan, on_write):
                return await reconcile(
                    config,
                    gateway=gateway,
                    now=now,
                    dry_run=dry_run,
                    shard=_shard(shard),
                    on_plan=on_plan,
                    on_write=on_write,
                    stopping=_TERMINATED.is_set,
                    programme=programme,
                )
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            await gateway.aclose()

    try:
        return asyncio.run(go())
    except AuthError as exc:
        click.echo(f"crossgen: authentication failed: {exc}", err=True)
        sys.exit(2)


@click.command("run")
@config_option
@as_of_option
@click.option("--dry-run", is_flag=True, help="Decide everything, write nothing.")
@click.option(
    "--shard",
    metavar="I/N",
    help="Serve only shard I of N (default: JOB_COMPLETION_INDEX of CROSSGEN_SHARDS).",
)
@log_format_option
def run(config: Path, as_of: str | None, dry_run: bool, shard: str | None, log_format: str | None) -> None:
    """One reconcile pass: book, repair, cancel, send feedback; then exit.

    Ends with one JSON summary line on stdout; on a terminal (unless --log-format json), a short summary
    for a person instead.
    """
    result = _execute(config, as_of=as_of, dry_run=dry_run, shard=shard, log_format=log_format)
    if common.stdout_is_terminal() and log_format != "json":
        from worker.reconcile.present import run_summary

        for line in run_summary(result, dry_run=dry_run):
            click.echo(line)
    else:
        click.echo(json.dumps(result.summary(), sort_keys=True))
    sys.exit(EXIT_TERMINATED if _TERMINATED.is_set() else result.exit_code)


@click.command("plan")
@config_option
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="Print the actions as one JSON object.")
@click.option("--shard", metavar="I/N", help="Plan only shard I of N.")
@log_format_option
def plan_command(
    config: Path, as_of: str | None, as_json: bool, shard: str | None, log_format: str | None
) -> None:
    """Read calendars and print what `run` would do, writing nothing."""
    from worker.reconcile.present import plan_json, plan_table

    result = _execute(config, as_of=as_of, dry_run=True, shard=shard, log_format=log_format)
    if as_json:
        # Names as people write them ("Léa"), not as escapes
        click.echo(json.dumps(plan_json(result), sort_keys=True, ensure_ascii=False))
    else:
        plan_table(result)
    sys.exit(1 if result.exit_code or result.summary()["refused"] else 0)
