"""Real processes against a real (loopback) sandbox server: SIGKILL at random instants, SIGTERM mid-run,
and what a run writes to its logs.

One ``crossgen sandbox serve`` is kept for the module; every ``crossgen run`` is a fresh subprocess with
the environment the server announced. ``CROSSGEN_RELIABILITY_KILLS`` (default 50) sets how many runs
are killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from tests.reliability.harness import START, audit
from tests.reliability.served import HttpView, Served, finish, kill_when, programme, start_run, summary_of
from worker.commands.reconcile import TERM_AFTER_WRITES
from worker.policies.load import load_programme
from worker.reconcile.desired import desired_from

pytestmark = pytest.mark.slow
KILLS = int(os.environ.get("CROSSGEN_RELIABILITY_KILLS", "50"))
PHASES = (START, START + timedelta(weeks=7))  # booking, then feedback emails falling due
LANES = 2


def programme_key(config: Path) -> str:
    return str(desired_from(load_programme(config)).key)


def failures(err: str) -> list[str]:
    """The error events of a run's JSON log, for assertion messages."""
    return [line for line in err.splitlines() if '"level": "error"' in line or "terminating" in line][:10]


def check(served: Served, configs: list[Path], clean: dict[str, dict[str, int]] | None = None) -> None:
    async def go() -> None:
        view = HttpView(served)
        try:
            for config in configs:
                # Several programmes send from this mailbox with the same subjects: judged by Message-ID.
                found = await audit(view, programme=programme_key(config), by_subject=False)
                last = (clean or {}).get(config.name)
                assert found.clean, (config.name, found, last)
                # Each programme books every pair it can; a pair the other programme's sessions leave no
                # room for (same two people, narrow common hours) is unscheduled, and says so.
                expected = 6 if last is None else last["pairs"] - last["refused"] - last["unscheduled"]
                assert found.series == expected >= 5, (config.name, found, last)
        finally:
            await view.aclose()

    asyncio.run(go())


# A killed run's lease marker rightly blocks other runs until it expires; these runs restart at the same
# simulated instant, so leasing is off here: this test is about crash safety, test_two_workers about leases.
NO_LEASE = {"CROSSGEN_LEASE_MINUTES": "0"}


def test_sigkill_at_random_instants_then_one_clean_run_keeps_every_promise(
    served: Served, tmp_path: Path
) -> None:
    per_lane_phase = max(1, KILLS // (LANES * len(PHASES)))
    configs = [programme(tmp_path, f"kill-{i}", swap_roles=bool(i % 2)) for i in range(LANES)]
    killed: list[str] = []
    clean: dict[str, dict[str, int]] = {}

    def lane(index: int) -> None:
        rng = random.Random(f"sigkill-{index}")
        config, state = configs[index], tmp_path / f"state-{index}"
        for _ in range(per_lane_phase):
            run = start_run(served, config, state, served_phase[0], extra_env=NO_LEASE)
            if rng.random() < 0.5:  # at a random instant of the run (start-up takes ~2 s of it)
                delay = round(rng.uniform(1.6, 3.2), 2)  # the reads; writes are hit by the other trigger
                done = kill_when(served, run, after_seconds=delay)
                what = f"after {delay}s"
            else:  # in the middle of its writes
                count = rng.randint(0, 12)
                done = kill_when(served, run, after_writes=count)
                what = f"after {count} writes"
            if done:
                killed.append(f"{config.name} {served_phase[0].date()} {what}")
        code, out, err = finish(start_run(served, config, state, served_phase[0], extra_env=NO_LEASE))
        assert code in (0, 1), err[-2000:]
        assert summary_of(out)["errors"] == 0, (out, failures(err))
        clean[config.name] = summary_of(out)

    served_phase = [PHASES[0]]
    with ThreadPoolExecutor(LANES) as pool:
        for phase in PHASES:
            served_phase[0] = phase
            served.set_clock(phase)
            list(pool.map(lane, range(LANES)))
    check(served, configs, clean)
    # A run that finishes before its instant is not counted: with less left to do, later runs end sooner.
    # Kills by delay or by counted writes race the run; how many land depends on the machine's speed, so
    # only a floor is asserted (the precise, one-per-write kills are in tests/e2e/test_crash.py).
    assert len(killed) >= LANES * len(PHASES), killed


def test_sigterm_mid_run_exits_cleanly_and_the_next_run_finishes_the_work(
    served: Served, tmp_path: Path
) -> None:
    config, state = programme(tmp_path, "term", swap_roles=True), tmp_path / "state-term"
    served.set_clock(START)
    finish(start_run(served, config, state, START))
    feedback_due = START + timedelta(weeks=7)
    served.set_clock(feedback_due)
    served.control("POST", "faults", {"latency_seconds": [0.2, 0.3]})
    try:
        # SIGTERM right after the run's third write (its own failpoint: no race with a fast run).
        run = start_run(served, config, state, feedback_due, extra_env={TERM_AFTER_WRITES: "3"})
        sent = time.monotonic()
        code, out, err = finish(run, timeout=30)
        assert time.monotonic() - sent < 30
    finally:
        served.control("POST", "faults", {"latency_seconds": [0.0, 0.0]})
    assert code == 128 + signal.SIGTERM, err[-2000:]
    assert "run.terminating" in err and "Traceback" not in err
    stopped = summary_of(out)
    assert stopped["stopped"] >= 1, (out, failures(err))  # pairs left for the next run (bookings or emails)
    code, out, err = finish(start_run(served, config, state, feedback_due))
    rest = summary_of(out)
    assert code == 1 and rest["errors"] == 0, err[-2000:]  # 1: one pair has no common hours
    assert rest.get("skipped", 0) == 0, "the stopped run gave its lease back"
    assert rest["writes"] + rest["deferred"] >= 1, ("the next run does what the stopped one left", rest)
    check(served, [config])


def test_no_secret_or_token_reaches_the_logs_even_on_failures(served: Served, tmp_path: Path) -> None:
    config, state = programme(tmp_path, "canary"), tmp_path / "state-canary"
    served.set_clock(START)
    secret = served.env["AZURE_CLIENT_SECRET"]
    denied = ["emily.davis@contoso.com", "nadia.benali@contoso.com"]
    served.control("POST", "faults", {"denied_mailboxes": denied, "transient_error_rate": 0.2})
    try:
        code, out, err = finish(start_run(served, config, state, START))
    finally:
        served.control("POST", "faults", {"denied_mailboxes": [], "transient_error_rate": 0.0})
    assert code in (0, 1) and err.strip(), "the run logged"
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines and any(line.get("event") == "run.finished" for line in lines), "structlog JSON on stderr"
    assert any(line.get("event") == "graph.retry" for line in lines), "the failure paths were logged too"
    leaked = [
        pattern
        for pattern in (re.escape(secret), r"eyJ[A-Za-z0-9_-]{5,}\.", r"(?i)bearer\s+\S{8,}")
        if re.search(pattern, err + out)
    ]
    assert not leaked

    canary = "canary-" + "S3cr3t-Value-That-Must-Not-Leak"
    wrong = {"AZURE_CLIENT_SECRET": canary}
    code, out, err = finish(start_run(served, config, state, START, extra_env=wrong))
    assert code == 2, (out, err)
    assert "authentication failed" in err
    assert canary not in err + out
