"""Scale-out: shards of one programme serve disjoint pairs and, together, book every pair exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from tests.e2e.world import World, play
from worker.reconcile.desired import Shard
from worker.reconcile.run import reconcile


def test_two_shards_book_every_pair_exactly_once_between_them(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        async def shard(i: int) -> object:
            return await reconcile(
                w.config, gateway=w.gateway, now=w.now, shard=Shard(i, 2), state_path=w.state / f"shard-{i}"
            )

        first, second = await asyncio.gather(shard(0), shard(1))
        mine = [{p.id for p in r.desired.pairs} for r in (first, second)]  # type: ignore[attr-defined]
        assert not mine[0] & mine[1], "each pair belongs to one shard"
        assert len(mine[0] | mine[1]) == 8
        series = await w.series()
        assert len(series) == 6 and set(Counter(s.key for s in series).values()) == {1}
        again = await asyncio.gather(shard(0), shard(1))
        assert [r.summary()["writes"] for r in again] == [0, 0]  # type: ignore[attr-defined]

    play(tmp_path, scenario)


def test_several_programme_mailboxes_share_the_pairs_stably(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        from worker.policies.load import load_programme

        w.edit(
            "program.yaml",
            "organizer: mentoring@contoso.com",
            "organizer: [mentoring@contoso.com, people.lead@contoso.com]",
        )
        programme = load_programme(w.config)
        owners = {p.id: programme.organizer_for(p) for p in programme.pairs}
        assert set(owners.values()) == {"mentoring@contoso.com", "people.lead@contoso.com"}
        result = await w.run()
        booked = {a.pair: a.spec.organizer for a in result.plan.actions if a.kind.value == "book"}
        assert all(booked[p] == owners[p] for p in booked)

    play(tmp_path, scenario)
