"""First run and steady-state run of the real worker against a generated tenant on a loopback sandbox.

    .venv/bin/python bench/first_run.py --pairs 500 [--latency 0.1] [--seed 0] [--no-blackouts]

A child process builds the tenant (``bench/tenant_gen.py``: N pairs, 2N people in three zones, each
with four weekly meetings of their own, one programme mailbox per 500 pairs) and serves it with
uvicorn on a free loopback port, answering every Graph request after ``--latency`` seconds, with
Microsoft's own per-mailbox limits (4 concurrent, 10,000 requests per 10 minutes): the run spreads
over many mailboxes, so it takes minutes without scaling them. This process runs the real worker
(``reconcile``: MSAL, msgraph-sdk, pacing, retries, planner, apply) over HTTP, as ``crossgen run``
would, and prints:

- wall time of the first run, and the throttle-bound minimum for this configuration:
  per mailbox m with n_m requests, max(n_m / (4 / latency), (n_m - 10,000) / (10,000 / 600 s)),
  the largest over mailboxes; and their ratio;
- Graph requests (what Graph's limits count: direct requests and the items of each ``$batch``), per pair
  and per new pair, by kind, and per new pair beyond the one cancel each blacked-out session costs;
  HTTP requests (a ``$batch`` is one), and the batches; 429s;
- the busiest mailbox's mean time per request in a pacing slot (the bound assumes the latency alone),
  and when each kind of request was first sent and last answered (the run's phases);
- the same for a steady-state run right after (nothing left to do);
- peak memory (max RSS) of the worker's process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import tenant_gen

START = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)
CONCURRENCY = 4
BUDGET, BUDGET_PERIOD = 10_000, 600.0


def _serve(pairs: int, seed: int, latency: float, port: int) -> None:
    """The child: the generated tenant on uvicorn."""
    import uvicorn

    from worker.sandbox.app import create_app, settle_for_serving
    from worker.sandbox.faults import FaultConfig

    built = tenant_gen.tenant(pairs, seed=seed, start=START)
    app = create_app(tenant=built, seed=seed, faults=FaultConfig(latency_seconds=(latency, latency)))
    app.sandbox.clock.set(START)  # running from the programme's Monday
    settle_for_serving()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(target: Callable[..., None], *args: object) -> Iterator[tuple[BaseProcess, str, dict[str, Any]]]:
    """A sandbox served by ``target(*args, port)`` in a forked child, once it answers: the child, its base
    URL and its ``/_sandbox/info``. The child is stopped on the way out."""
    port = _free_port()
    server = multiprocessing.get_context("fork").Process(target=target, args=(*args, port), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                info = httpx.get(f"{base}/_sandbox/info", timeout=2.0).json()
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit("the sandbox did not start")
        yield server, base, info
    finally:
        server.terminate()
        server.join(10)


def _kind(method: str, path: str) -> str:
    path = re.sub(r"/users/[^/]+", "/users/{u}", path.split("?")[0])
    path = re.sub(r"/events/[^/]+", "/events/{id}", path)
    path = re.sub(r"/v1\.0", "", path)
    return f"{method} {path}"


def _minimum(per_mailbox: dict[str, int], latency: float) -> float:
    rate = BUDGET / BUDGET_PERIOD
    bounds = [max(n * latency / CONCURRENCY, (n - BUDGET) / rate) for n in per_mailbox.values()]
    return max(bounds, default=0.0)


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _one_run(
    config: Path,
    state: Path,
    env: dict[str, str],
    base: str,
    pairs: int,
    latency: float,
    label: str,
    server_pid: int,
) -> dict[str, Any]:
    from worker.core.actions import Book
    from worker.graph.ops import Gateway
    from worker.reconcile.run import reconcile

    kinds: Counter[str] = Counter()
    # Per kind of request: when the first was sent and the last answered, from the start of the run (the
    # request hook fires before the gateway's pacing, so "sent" includes any wait for a slot).
    phases: dict[str, list[float]] = {}
    began = time.perf_counter()

    async def count(request: httpx.Request) -> None:
        kind = _kind(request.method, request.url.path)
        kinds[kind] += 1
        phases.setdefault(kind, [time.perf_counter() - began, 0.0])
        if kind == "POST /$batch":  # its items, by their own kind (the batch line counts HTTP requests)
            for item in json.loads(request.content)["requests"]:
                kinds[_kind(item["method"], item["url"]) + " (in $batch)"] += 1

    async def answered(response: httpx.Response) -> None:
        span = phases.get(_kind(response.request.method, response.request.url.path))
        if span is not None:
            span[1] = time.perf_counter() - began

    client = httpx.AsyncClient(
        timeout=httpx.Timeout(100.0, connect=30.0), event_hooks={"request": [count], "response": [answered]}
    )
    control = httpx.Client(base_url=base, timeout=60.0)
    control.post("/_sandbox/counters/reset")
    gateway = Gateway.from_env(env, http_client=client)
    marks: dict[str, float] = {}
    before = dict(kinds)

    def planned(_plan: Any) -> None:  # every pair planned (writes of the first ones are under way)
        marks["planned"] = time.perf_counter()
        before.update(kinds)

    def wrote(_pair: str, _action: Any) -> None:  # the first write answered: the time before it is fixed cost
        marks.setdefault("first_write", time.perf_counter())

    started = began = time.perf_counter()
    cpu = time.process_time()
    server_cpu = _cpu_of(server_pid)
    try:
        result = await reconcile(
            config, gateway=gateway, now=START, state_path=state, on_plan=planned, on_write=wrote
        )
    finally:
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
        server_cpu = _cpu_of(server_pid) - server_cpu
        await gateway.aclose()
    counters = control.get("/_sandbox/counters").json()
    control.close()
    # The sandbox answers a $batch and each of its items: Graph requests are the items and the direct
    # requests (what Graph's limits count), HTTP requests the batches and the direct requests.
    batches, items = gateway.batched
    served = sum(counters["status_counts"].values()) - batches
    http = served - items + batches
    summary = result.summary()
    # Graph cannot create a series without some of its occurrences: each session a blackout skips
    # costs one cancel, whatever the client does. Requests per new pair are also given beyond those
    # (the skips of the pairs that were booked without an error: those cancels were all made).
    skips = sum(
        len(a.skipped)
        for a in result.plan.actions
        if isinstance(a, Book) and a.pair not in result.pair_errors
    )
    minimum = _minimum(counters["requests"], latency)
    pacer = gateway.pacer
    busiest = max(pacer.requests_made, key=lambda m: pacer.requests_made[m], default=None)
    hold_ms = (
        round(pacer.held[busiest] / pacer.requests_made[busiest] * 1000, 1)
        if busiest and pacer.requests_made[busiest]
        else None
    )
    figures = {
        "run": label,
        "pairs": pairs,
        "wall_s": round(wall, 1),
        "throttle_bound_minimum_s": round(minimum, 1),
        "ratio": round(wall / minimum, 2) if minimum else None,
        "requests": served,
        "requests_per_pair": round(served / pairs, 3),
        "requests_per_new_pair": round(served / summary["booked"], 3) if summary["booked"] else None,
        "blackout_cancels": skips,
        "requests_per_new_pair_beyond_blackout_cancels": (
            round((served - skips) / summary["booked"], 3) if summary["booked"] else None
        ),
        "http_requests": http,
        "http_requests_per_new_pair": round(http / summary["booked"], 3) if summary["booked"] else None,
        "batches": batches,
        "batch_items": items,
        "status_429": counters["status_counts"].get("429", 0),
        "share_429": round(counters["status_counts"].get("429", 0) / served, 4) if served else 0.0,
        "busiest_mailbox_requests": max(counters["requests"].values(), default=0),
        "mailboxes": len(counters["requests"]),
        "max_in_flight": max(counters["max_in_flight"].values(), default=0),
        # reads, planning and writes overlap: the first write is answered before the last pair is planned
        "first_write_answered_s": round(marks.get("first_write", started + wall) - started, 2),
        "all_planned_s": round(marks.get("planned", started + wall) - started, 1),
        "requests_after_all_planned": sum(kinds.values()) - sum(before.values()),
        "worker_cpu_s": round(cpu, 1),
        "sandbox_cpu_s": round(server_cpu, 1),
        "summary": summary,
        "by_kind": dict(kinds.most_common()),
        # the busiest mailbox's mean time per request in a pacing slot: the bound assumes the latency
        "busiest_slot_hold_ms": hold_ms,
        "phases": {k: [round(a, 2), round(b, 2)] for k, (a, b) in sorted(phases.items(), key=lambda i: i[1])},
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the sandbox takes per request")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument(
        "--no-blackouts",
        action="store_true",
        help="drop the example programme's blackouts (no session needs an exception)",
    )
    args = parser.parse_args()

    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    with (
        serving(_serve, args.pairs, args.seed, args.latency) as (server, base, info),
        tempfile.TemporaryDirectory(prefix="crossgen-bench-") as tmp,
    ):
        config = tenant_gen.programme(args.pairs, Path(tmp) / "config", blackouts=not args.no_blackouts)
        state = Path(tmp) / "state"
        first, steady = (
            asyncio.run(
                _one_run(config, state, info["env"], base, args.pairs, args.latency, label, server.pid or 0)
            )
            for label in ("first", "steady")
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {
        "latency_s": args.latency,
        "seed": args.seed,
        "peak_rss_mb": round(peak_mb, 1),
        "blackouts": not args.no_blackouts,
        "first": first,
        "steady": steady,
    }
    if args.json:
        print(json.dumps(report, sort_keys=True))
        return
    for run in (first, steady):
        print(f"== {run['run']} run, {run['pairs']} pairs, latency {args.latency}s")
        for key in (
            "wall_s",
            "throttle_bound_minimum_s",
            "ratio",
            "first_write_answered_s",
            "all_planned_s",
            "requests_after_all_planned",
            "worker_cpu_s",
            "sandbox_cpu_s",
            "requests",
            "requests_per_pair",
            "requests_per_new_pair",
            "blackout_cancels",
            "requests_per_new_pair_beyond_blackout_cancels",
            "http_requests",
            "http_requests_per_new_pair",
            "batches",
            "batch_items",
            "status_429",
            "share_429",
            "busiest_mailbox_requests",
            "mailboxes",
            "max_in_flight",
            "busiest_slot_hold_ms",
        ):
            print(f"  {key:46} {run[key]}")
        print(f"  {'summary':46} {json.dumps(run['summary'], sort_keys=True)}")
        for kind, n in run["by_kind"].items():
            print(f"    {n:7}  {n / run['pairs']:.3f}/pair  {kind}")
        print("  phases (first sent .. last answered, seconds from the start of the run):")
        for kind, (first, last) in run["phases"].items():
            print(f"    {first:7.2f} .. {last:7.2f}  {kind}")
    print(f"peak memory (max RSS of the worker process): {peak_mb:.1f} MB")


if __name__ == "__main__":
    main()
