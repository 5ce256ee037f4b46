"""A run plans and books its first pairs while later people are still being read, and decides exactly
what reading everyone first, then planning, would have decided."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.world import World, play
from worker.core.actions import Action, Book
from worker.core.plan import plan
from worker.graph.errors import AuthError
from worker.reconcile import apply as apply_module
from worker.reconcile import observe as observe_module
from worker.reconcile.apply import Applying
from worker.reconcile.run import reconcile
from worker.reconcile.state import State


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


def test_an_auth_error_in_a_later_batch_stops_the_run_before_another_pair_is_written(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(observe_module, "PEOPLE_PER_BATCH", 4)  # two pairs a batch

    async def scenario(w: World) -> None:
        free_busy = w.gateway.free_busy
        created: list[str] = []
        dry = await w.run(dry_run=True)
        pairs = dry.desired.pairs
        people = list(dict.fromkeys(a for p in pairs for a in (p.mentor.address, p.mentee.address)))
        batches = [people[i : i + 4] for i in range(0, len(people), 4)]
        slow, failing = batches[1][0], batches[2][0]  # the second batch is slow, the third fails
        first = {p.id for p in pairs if {p.mentor.address, p.mentee.address} <= set(batches[0])}
        assert first

        async def one_batch_fails(people: list[str], *args: Any, **kwargs: Any) -> Any:
            if failing in people:
                raise AuthError("the token was revoked")
            if slow in people:  # still being read when the third batch has failed
                for _ in range(500):
                    await asyncio.sleep(0)
            return await free_busy(people, *args, **kwargs)

        feed = Applying.pair

        def recording(self: Applying, actions: list[Action]) -> None:  # what the run hands over to write
            created.extend(a.pair for a in actions if isinstance(a, Book))
            feed(self, actions)

        w.gateway.free_busy = one_batch_fails
        monkeypatch.setattr(Applying, "pair", recording)
        with pytest.raises(AuthError):
            await w.run()
        assert set(created) <= first, "no pair after the failure is written"

    play(tmp_path, scenario)


def test_a_cancelled_apply_starts_no_fix_up_afterwards(tmp_path: Path, monkeypatch: Any) -> None:
    # A pair cancelled in the middle of its create still counts the create as done; if that completes
    # the first wave's half, no wave may start: nothing writes once apply has been cancelled.
    monkeypatch.setattr(apply_module, "FIXUP_WAVE_MIN", 2)

    async def scenario(w: World) -> None:
        dry = await w.run(dry_run=True)
        first, second = [b for b in dry.plan.of_kind(Book) if b.skipped][:2]
        create, listed = w.gateway.create_series, []

        async def hangs_on_the_second(spec: Any) -> Any:
            if spec.key == second.spec.key:
                await asyncio.Event().wait()
            return await create(spec)

        async def calendar_view(*args: Any, **kwargs: Any) -> Any:
            listed.append(args)
            return {}

        w.gateway.create_series, w.gateway.calendar_view = hangs_on_the_second, calendar_view
        box = first.spec.organizer.lower()
        state = State.load(w.state, dry.desired.key)
        applying = Applying(w.gateway, state, now=w.now, books=Counter({box: 4}), exclusive=True)
        applying.pair([first])
        applying.pair([second])
        for _ in range(10_000):
            if applying.outcome.booked:
                break
            await asyncio.sleep(0)
        assert applying.outcome.booked == 1
        await applying.cancel()
        for _ in range(100):
            await asyncio.sleep(0)
        assert listed == [], "no fix-up listing after the cancel"

    play(tmp_path, scenario)


def test_what_the_reads_froze_for_the_run_is_the_collector_s_again_when_it_ends(
    tmp_path: Path, monkeypatch: Any
) -> None:
    import gc

    monkeypatch.setattr(observe_module, "PEOPLE_PER_BATCH", 4)
    frozen: list[int] = []
    keep = observe_module.Reading._keep

    def counted(self: Any) -> None:
        keep(self)
        frozen.append(gc.get_freeze_count())

    monkeypatch.setattr(observe_module.Reading, "_keep", counted)

    async def scenario(w: World) -> None:
        await w.run()
        assert len(frozen) == 4 and frozen[-1] > 0, "each batch's reads were kept out of the collector's way"
        assert gc.get_freeze_count() == 0, "and given back when the run ended"
        free_busy = w.gateway.free_busy
        calls: list[int] = []

        async def fails_second(people: list[str], *args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 2:
                raise AuthError("the token was revoked")
            return await free_busy(people, *args, **kwargs)

        w.gateway.free_busy = fails_second
        with pytest.raises(AuthError):  # a run that fails gives them back too
            await w.run()
        assert frozen[-1] > 0 and gc.get_freeze_count() == 0

    play(tmp_path, scenario)


@pytest.mark.parametrize(
    ("organizers", "first"),
    [("mentoring@contoso.com", 2), ("[mentoring@contoso.com, people.lead@contoso.com]", 4)],
)
def test_the_first_batch_of_people_is_the_smaller_one_the_first_writes_wait_for(
    tmp_path: Path, monkeypatch: Any, organizers: str, first: int
) -> None:
    # FIRST_BATCH_PEOPLE for each programme mailbox, so each gets about the same share of pairs to
    # write while the next batches are read.
    monkeypatch.setattr(observe_module, "PEOPLE_PER_BATCH", 6)
    monkeypatch.setattr(observe_module, "FIRST_BATCH_PEOPLE", 2)

    async def scenario(w: World) -> None:
        w.edit("program.yaml", "organizer: mentoring@contoso.com", f"organizer: {organizers}")
        free_busy = w.gateway.free_busy
        sizes: list[int] = []

        async def counted(people: list[str], *args: Any, **kwargs: Any) -> Any:
            sizes.append(len(people))
            return await free_busy(people, *args, **kwargs)

        w.gateway.free_busy = counted
        result = await w.run()
        people = {a for p in result.desired.pairs for a in (p.mentor.address, p.mentee.address)}
        assert sizes[0] == first and set(sizes[1:-1]) == {6} and sum(sizes) == len(people)
        assert result.summary()["errors"] == 0

    play(tmp_path, scenario)
