"""A worker process killed (SIGKILL) right after each of its first writes, then run again, leaves exactly
one series per pair, one email per participant per held session, and a next run with nothing to write.

Real processes against a real loopback sandbox: `crossgen sandbox serve` once, `crossgen run` as fresh
subprocesses, each killed by its own failpoint (``CROSSGEN_FAULT_SIGKILL_AFTER_WRITES=1``) right
after its first write, so run k dies right after the programme's k-th write: booking, then feedback.
Runs are 11 simulated minutes apart, as a CronJob's would be, so a killed run's lease marker has
expired by the next one.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from pathlib import Path

import pytest

from tests.reliability.harness import START, audit
from tests.reliability.served import HttpView, Served, finish, programme, start_run, summary_of
from worker.commands.reconcile import KILL_AFTER_WRITES
from worker.policies.load import load_programme
from worker.reconcile.desired import desired_from

pytestmark = pytest.mark.slow
CRONJOB_GAP = timedelta(minutes=11)


def test_sigkill_after_each_of_the_first_twenty_writes_then_a_rerun_duplicates_nothing(
    served: Served, tmp_path: Path
) -> None:
    config, state = programme(tmp_path, "crash"), tmp_path / "state"
    key = desired_from(load_programme(config)).key
    kills = 0
    for phase_start, writes in ((START, range(1, 9)), (START + timedelta(weeks=7), range(1, 13))):
        at = phase_start
        served.set_clock(at)
        for _ in writes:  # each run dies right after its first write: the programme's 1st, 2nd, 3rd... write
            run = start_run(served, config, state, at, extra_env={KILL_AFTER_WRITES: "1"})
            code, out, err = finish(run)
            if code == -signal.SIGKILL:
                kills += 1
            else:
                assert code in (0, 1), err[-2000:]
            at += CRONJOB_GAP
        code, out, err = finish(start_run(served, config, state, at))
        assert code in (0, 1) and summary_of(out)["errors"] == 0, (out, err[-2000:])
        third = finish(start_run(served, config, state, at + CRONJOB_GAP))
        assert summary_of(third[1])["writes"] == 0, third[1]

        async def check() -> None:
            view = HttpView(served)
            try:
                found = await audit(view, programme=key)
            finally:
                await view.aclose()
            assert found.clean, found
            assert found.series == 6

        asyncio.run(check())
    assert kills >= 16, f"only {kills} runs were killed: the failpoint did not fire"
