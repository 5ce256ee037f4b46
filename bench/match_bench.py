"""``crossgen match`` at scale: 500 mentors x 500 mentees, feasibility included, over HTTP at 100 ms latency.

    .venv/bin/python bench/match_bench.py [--mentors 500] [--mentees 500] [--latency 0.1] [--seed 0]

A child process builds the tenant (``bench/tenant_gen.py``'s people: three zones, Outlook working hours,
four weekly meetings each; here also departments, offices, job titles and managers, so the reporting-line
and department rules have work to do) and serves it with uvicorn on a loopback port, answering every
Graph request after ``--latency`` seconds under Microsoft's per-mailbox limits. This process runs the
real ``propose`` (MSAL, msgraph-sdk, pacing, retries; the planner and slot engine for feasibility) on a
new programme (no pairs.yaml) with a generated pool, and prints the wall time, the getSchedule calls
(20 people a call), Graph requests by kind, how many candidate pairs each stage left, and the pairs
proposed. Target: <= 30 s for 500 x 500.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import tenant_gen
from bench.first_run import START, serving

TOPICS = [
    "generative AI",
    "LinkedIn",
    "TikTok",
    "dashboards",
    "mobile payments",
    "social media",
    "data",
    "apps",
    "gaming",
    "podcasts",
    "cybersecurity",
    "diversity",
    "customer voice",
    "automation",
]
DEPARTMENTS = ["Finance", "Sales", "Marketing", "IT", "Operations", "Legal", "Product", "People"]
OFFICES = ["Paris", "Lyon", "London", "New York", "Brussels", "Boston"]


def _tenant(n: int, seed: int) -> Any:
    """tenant_gen's people (mentorNNNNN / menteeNNNNN), with a directory a lead would recognise: every
    person in a department and an office; each mentor reports to a mentee of their department now and
    then, so some candidates are in one reporting line."""
    built = tenant_gen.tenant(n, seed=seed, start=START)
    rng = random.Random(f"match-bench-{seed}")
    users = {u.upn: u for u in built.users.values()}
    for mentor, mentee in tenant_gen.people(n):
        for address, title in ((mentor, "Analyst"), (mentee, "Director")):
            user = users[address]
            user.department = rng.choice(DEPARTMENTS)
            user.office_location = rng.choice(OFFICES)
            user.job_title = title
    mentees = [users[b] for _, b in tenant_gen.people(n)]
    for mentor, _ in tenant_gen.people(n):
        if rng.random() < 0.3:
            users[mentor].manager_id = rng.choice(mentees).id
    return built


def _serve(n: int, seed: int, latency: float, port: int) -> None:
    import uvicorn

    from worker.sandbox.app import create_app, settle_for_serving
    from worker.sandbox.faults import FaultConfig

    faults = FaultConfig(latency_seconds=(latency, latency))
    app = create_app(tenant=_tenant(n, seed), seed=seed, faults=faults)
    app.sandbox.clock.set(START)
    settle_for_serving()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


def _pool(mentors: int, mentees: int, seed: int) -> str:
    rng = random.Random(f"match-pool-{seed}")
    people = tenant_gen.people(max(mentors, mentees))
    lines = ["mentors:"]
    for address, _ in people[:mentors]:
        offers = ", ".join(json.dumps(t) for t in rng.sample(TOPICS, rng.randint(2, 4)))
        lines += [f"  - address: {address}", f"    offers: [{offers}]"]
    lines.append("mentees:")
    for _, address in people[:mentees]:
        wants = ", ".join(json.dumps(t) for t in rng.sample(TOPICS, rng.randint(1, 3)))
        lines += [f"  - address: {address}", f"    wants: [{wants}]"]
    never = [(people[i][0], people[i + 1][1]) for i in range(0, min(mentors, mentees) - 1, 25)]
    lines += ["rules:", "  not_in_reporting_line: true", "  not_same_department: true", "  never:"]
    lines += [f"    - [{a}, {b}]" for a, b in never]
    return "\n".join(lines) + "\n"


def _kind(method: str, path: str) -> str:
    path = re.sub(r"/users/[^/]+", "/users/{u}", path.split("?")[0])
    return f"{method} {path.replace('/v1.0', '')}"


async def _match(config: Path, pool_path: Path, env: dict[str, str], now: datetime) -> dict[str, Any]:
    from worker.graph.ops import Gateway
    from worker.matching.pool import load_pool
    from worker.matching.propose import propose
    from worker.policies.load import load_programme

    kinds: Counter[str] = Counter()

    async def count(request: httpx.Request) -> None:
        kinds[_kind(request.method, request.url.path)] += 1

    client = httpx.AsyncClient(timeout=httpx.Timeout(100.0, connect=30.0), event_hooks={"request": [count]})
    started = time.perf_counter()
    cpu = time.process_time()
    programme = load_programme(config, pairs_optional=True)
    pool = load_pool(pool_path, programme)
    gateway = Gateway.from_env(env, http_client=client)
    try:
        proposal = await propose(programme, pool, gateway=gateway, now=now)
    finally:
        await gateway.aclose()
    return {
        "wall_s": round(time.perf_counter() - started, 2),
        "worker_cpu_s": round(time.process_time() - cpu, 2),
        "getschedule_calls": kinds["POST /users/{u}/calendar/getSchedule"],
        "getschedule_calls_expected": proposal.figures["getschedule_calls"],
        "requests": sum(kinds.values()),
        "by_kind": dict(kinds.most_common()),
        "figures": proposal.figures,
        "unmatched": len(proposal.unmatched),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentors", type=int, default=500)
    parser.add_argument("--mentees", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds the sandbox takes per request")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    parser.add_argument(
        "--weeks-in",
        type=int,
        default=0,
        help="match this many weeks after the programme's first Monday (fewer sessions left than asked)",
    )
    args = parser.parse_args()

    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    n = max(args.mentors, args.mentees)
    with (
        serving(_serve, n, args.seed, args.latency) as (_, _, info),
        tempfile.TemporaryDirectory(prefix="crossgen-match-bench-") as tmp,
    ):
        config = tenant_gen.programme(n, Path(tmp) / "config")
        (config / "pairs.yaml").unlink()  # a new programme: nobody is paired yet
        pool = config / "pool.yaml"
        pool.write_text(_pool(args.mentors, args.mentees, args.seed), encoding="utf-8")
        now = START + timedelta(weeks=args.weeks_in)
        result = asyncio.run(_match(config, pool, info["env"], now))
    result.update(
        mentors=args.mentors,
        mentees=args.mentees,
        latency_s=args.latency,
        seed=args.seed,
        weeks_in=args.weeks_in,
    )
    if args.json:
        print(json.dumps(result, sort_keys=True))
        return
    print(f"== crossgen match, {args.mentors} mentors x {args.mentees} mentees, latency {args.latency}s")
    for key in (
        "wall_s",
        "worker_cpu_s",
        "getschedule_calls",
        "getschedule_calls_expected",
        "requests",
        "unmatched",
    ):
        print(f"  {key:28} {result[key]}")
    for key, value in result["figures"].items():
        print(f"  {key:28} {value}")
    for kind, count in result["by_kind"].items():
        print(f"    {count:6}  {kind}")


if __name__ == "__main__":
    main()
