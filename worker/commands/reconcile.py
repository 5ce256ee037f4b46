"""``crossgen plan`` and ``crossgen run``: one reconcile pass against Microsoft Graph (or a sandbox).

Exit codes (../shared/spec/cli.md): 0 converged; 1 some pairs failed or cannot be served; 2 config or
auth error, with nothing sent to Graph for a config error, or a mass cancel refused (``worker.core.guard``:
nothing written; ``plan`` exits 2 too, having shown the cancels ``run`` would refuse).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
import time
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
    """The shard to serve (``worker.reconcile.desired.shard_from``); a shard that cannot be told exits 2
    here, before any credential or Graph call."""
    from worker.reconcile.desired import ShardError, shard_from

    try:
        return shard_from(value, os.environ)
    except ShardError as exc:
        click.echo(f"crossgen: {exc}", err=True)
        sys.exit(2)


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
    config: Path,
    *,
    as_of: str | None,
    dry_run: bool,
    shard: str | None,
    log_format: str | None = None,
    confirm_cancel: bool = False,
) -> Any:
    from worker.policies.errors import ConfigError

    setup_logging(log_format)
    now = parse_as_of(as_of) if as_of else datetime.now(UTC)
    try:
        from worker.policies.load import load_programme

        # Refuse bad config before any credential or network is touched; an empty pairs list is bad
        # config too unless the cancels it implies are confirmed.
        programme = load_programme(config, allow_no_pairs=confirm_cancel)
    except ConfigError as exc:
        fail_config(exc)
    serving = _shard(shard)
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
                    shard=serving,
                    on_plan=on_plan,
                    on_write=on_write,
                    stopping=_TERMINATED.is_set,
                    programme=programme,
                    confirm_cancel=confirm_cancel,
                )
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            await gateway.aclose()

    try:
        return asyncio.run(go())
    except AuthError as exc:
        click.echo(f"crossgen: authentication failed: {exc}", err=True)
        sys.exit(2)


_confirm_cancel_option = click.option(
    "--confirm-cancel",
    is_flag=True,
    help="Proceed even if this pass cancels most of the booked pairs at once, or pairs.yaml lists none.",
)


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
@_confirm_cancel_option
def run(
    config: Path,
    as_of: str | None,
    dry_run: bool,
    shard: str | None,
    log_format: str | None,
    confirm_cancel: bool,
) -> None:
    """One reconcile pass: book, repair, cancel, send feedback; then exit.

    Ends with one JSON summary line on stdout; on a terminal (unless --log-format json), a short summary
    for a person instead. A pass that would cancel most of the booked pairs at once writes nothing and
    exits 2 unless --confirm-cancel.
    """
    started = time.monotonic()
    result = _execute(
        config,
        as_of=as_of,
        dry_run=dry_run,
        shard=shard,
        log_format=log_format,
        confirm_cancel=confirm_cancel,
    )
    if result.cancel_refused:
        for line in result.guard.explain(config=str(config)):
            click.echo(line, err=True)
    code = EXIT_TERMINATED if _TERMINATED.is_set() else result.exit_code
    if not dry_run and os.environ.get("CROSSGEN_PUSHGATEWAY_URL", "").strip():
        from worker.reconcile.push import push_run

        index, count = result.desired.shard
        push_run(
            result.summary(),
            programme=result.desired.key,
            shard=f"{index}-of-{count}",
            exit_code=code,
            duration_seconds=time.monotonic() - started,
            finished_at=time.time(),
        )
    if common.stdout_is_terminal() and log_format != "json":
        from worker.reconcile.present import run_summary

        for line in run_summary(result, dry_run=dry_run):
            click.echo(line)
    else:
        click.echo(json.dumps(result.summary(), sort_keys=True))
    sys.exit(code)


@click.command("plan")
@config_option
@as_of_option
@click.option("--json", "as_json", is_flag=True, help="Print the actions as one JSON object.")
@click.option("--shard", metavar="I/N", help="Plan only shard I of N.")
@log_format_option
@_confirm_cancel_option
def plan_command(
    config: Path,
    as_of: str | None,
    as_json: bool,
    shard: str | None,
    log_format: str | None,
    confirm_cancel: bool,
) -> None:
    """Read calendars and print what `run` would do, writing nothing."""
    from worker.reconcile.present import plan_json, plan_table

    result = _execute(
        config, as_of=as_of, dry_run=True, shard=shard, log_format=log_format, confirm_cancel=confirm_cancel
    )
    if result.cancel_refused:  # the plan shows the cancels; `run` would refuse them
        for line in result.guard.explain(config=str(config), preview=True):
            click.echo(line, err=True)
    if as_json:
        # Names as people write them ("Léa"), not as escapes
        click.echo(json.dumps(plan_json(result), sort_keys=True, ensure_ascii=False))
    else:
        plan_table(result)
    if result.cancel_refused:
        sys.exit(2)  # as `run` would: the pairs file looks truncated, or like another programme's
    sys.exit(1 if result.exit_code or result.summary()["refused"] else 0)
