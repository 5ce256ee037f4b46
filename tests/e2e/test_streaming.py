"""A run plans and books its first pairs while later people are still being read, and decides exactly
what reading everyone first, then planning, would have decided."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.e2e.world import World, play
from worker.core.actions import Action
from worker.core.plan import plan
from worker.reconcile import observe as observe_module
from worker.reconcile.run import reconcile


def test_a_run_decides_what_a_dry_run_decided_though_it_writes_while_it_reads(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(observe_module, "PEOPLE_PER_BATCH", 4)  # two pairs a batch: seven batches

    async def scenario(w: World) -> None:
        dry = await w.run(dry_run=True)  # every read, then plan(): the batch path
        result = await w.run()
        assert result.plan.actions == dry.plan.actions
        assert result.plan.statuses == dry.plan.statuses
        assert result.plan == plan(result.desired, result.observed, w.now)
        assert result.summary()["errors"] == 0 and result.summary()["booked"] == dry.summary()["actions"] - 2

    play(tmp_path, scenario)


def test_the_first_pairs_are_booked_before_the_last_people_are_read(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(observe_module, "PEOPLE_PER_BATCH", 4)

    async def scenario(w: World) -> None:
        free_busy = w.gateway.free_busy
        writes: list[Action] = []
        writes_done_when_read: list[int] = []

        async def slow_after_the_first_batch(people: list[str], *args: Any, **kwargs: Any) -> Any:
            found = await free_busy(people, *args, **kwargs)
            if writes_done_when_read or people != first_batch:  # a later batch: slow, as a busy tenant is
                for _ in range(2_000):
                    await asyncio.sleep(0)
            writes_done_when_read.append(len(writes))
            return found

        result = await w.run(dry_run=True)
        first_batch = [a for p in result.desired.pairs[:2] for a in (p.mentor.address, p.mentee.address)]
        w.gateway.free_busy = slow_after_the_first_batch
        done = await reconcile(
            w.config,
            gateway=w.gateway,
            now=w.now,
            state_path=w.state,
            on_write=lambda _pair, action: writes.append(action),
        )
        assert done.summary()["errors"] == 0 and done.summary()["booked"] > 2
        assert writes_done_when_read[0] == 0, "nothing is written before the first batch is read"
        assert writes_done_when_read[-1] > 0, "booked while later people were read"

    play(tmp_path, scenario)
