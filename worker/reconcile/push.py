"""A pass's figures to a Prometheus Pushgateway, when one is configured (``CROSSGEN_PUSHGATEWAY_URL``).

A CronJob pass lives for seconds, too briefly for Prometheus to scrape it; the Pushgateway holds each
pass's figures until the next pass replaces them. They are grouped by programme key and shard, so
programmes and shards never overwrite each other's, and pushed with POST (``pushadd``), which replaces
only the metrics pushed: ``crossgen_run_last_success_timestamp_seconds`` is pushed by passes that
succeed only, so a failing pass leaves the time of the last good one in place for an alert to compare.

Best effort: a Pushgateway that is down or refuses the push is a warning in the log, never a failed pass.
The URL is not logged (it may carry credentials).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.exposition import default_handler, pushadd_to_gateway

log = structlog.get_logger(__name__)

PUSHGATEWAY_URL = "CROSSGEN_PUSHGATEWAY_URL"
JOB = "crossgen"
# The contract's summary figures (../shared/spec/cli.md), and the mass-cancel guard's refusals.
FIGURES = {
    "pairs": "Pairs this pass served.",
    "booked": "Series booked by this pass.",
    "moved": "Sessions moved by this pass.",
    "cancelled": "Series or sessions cancelled by this pass.",
    "feedback_sent": "Feedback emails sent by this pass.",
    "unscheduled": "Pairs with no slot.",
    "errors": "Pairs that failed in this pass.",
    "cancel_refused": "Pairs whose cancellation the mass-cancel guard refused (nothing was written).",
}


def push_run(
    summary: Mapping[str, int],
    *,
    programme: str,
    shard: str,  # "0-of-1": a slash would make the Pushgateway URL base64-encode the label
    exit_code: int,
    duration_seconds: float,
    finished_at: float,
    url: str | None = None,
    handler: Callable[..., Any] = default_handler,
) -> bool:
    """Push one pass's figures; True if the Pushgateway took them. ``finished_at`` is a Unix time (the
    caller reads the clock). No URL configured: nothing is pushed (False)."""
    url = url if url is not None else os.environ.get(PUSHGATEWAY_URL, "").strip()
    if not url:
        return False
    registry = CollectorRegistry()
    for name, documentation in FIGURES.items():
        Gauge(f"crossgen_run_{name}", documentation, registry=registry).set(int(summary.get(name, 0)))
    Gauge("crossgen_run_exit_code", "The pass's exit code: 0, 1 or 2.", registry=registry).set(exit_code)
    Gauge("crossgen_run_duration_seconds", "How long the pass took.", registry=registry).set(
        duration_seconds
    )
    Gauge("crossgen_run_finished_timestamp_seconds", "When the pass ended.", registry=registry).set(
        finished_at
    )
    if exit_code == 0:
        Gauge(
            "crossgen_run_last_success_timestamp_seconds",
            "When the last pass that converged (exit 0) ended.",
            registry=registry,
        ).set(finished_at)
    try:
        pushadd_to_gateway(
            url,
            job=JOB,
            registry=registry,
            grouping_key={"programme": programme, "shard": shard},
            timeout=10,
            handler=handler,
        )
    except (OSError, ValueError) as exc:  # urllib's URLError and HTTPError are OSErrors
        log.warning("run.metrics_push_failed", error=f"{type(exc).__name__}: {exc}")
        return False
    return True
