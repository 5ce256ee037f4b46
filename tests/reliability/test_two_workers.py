"""Two workers started at the same moment on the same programme (a CronJob overlapping its previous run,
or two replicas by mistake): each has its own process, gateway and local state; only Graph is shared."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from tests.reliability.harness import START, Audit, World, audit, play
from worker.sandbox.faults import FaultConfig


def race(tmp_path: Path) -> Audit:
    """Both workers run at the booking, three weeks in (moves) and seven weeks in (feedback emails)."""

    async def scenario(w: World) -> Audit:
        other = w.worker()
        try:
            for when in (START, START + timedelta(weeks=3), START + timedelta(weeks=7)):
                w.at(when)
                first, second = await asyncio.gather(
                    w.run(state=tmp_path / "state-a"), w.run(other, state=tmp_path / "state-b"))
                assert not first.pair_errors and not second.pair_errors
            await w.converge()
            return await audit(w)
        finally:
            await other.aclose()

    return play(tmp_path, scenario, faults=FaultConfig(latency_seconds=(0.05, 0.3)))


def test_two_workers_at_once_book_each_pair_once(tmp_path: Path) -> None:
    found = race(tmp_path)
    assert found.series == 6 and not found.duplicate_series
    assert not found.outside_hours


def test_two_workers_at_once_send_each_email_once(tmp_path: Path) -> None:
    found = race(tmp_path)
    assert found.emails > 20
    assert not found.duplicate_emails, found.duplicate_emails
