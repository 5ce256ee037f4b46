"""Scale-out: shards of one programme serve disjoint pairs and, together, book every pair exactly once;
a worker that cannot tell its shard (an Indexed Job's index against CROSSGEN_SHARDS) exits 2 first."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.e2e.world import World, play
from worker.reconcile.desired import Shard, ShardError, shard_from
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


@pytest.mark.parametrize(
    ("option", "environ", "expected"),
    [
        (None, {}, None),
        ("1/3", {"JOB_COMPLETION_INDEX": "0", "CROSSGEN_SHARDS": "2"}, Shard(1, 3)),  # the option wins
        (None, {"JOB_COMPLETION_INDEX": "1", "CROSSGEN_SHARDS": "2"}, Shard(1, 2)),
        (None, {"CROSSGEN_SHARDS": "1"}, None),
        (None, {"JOB_COMPLETION_INDEX": "0", "CROSSGEN_SHARDS": "1"}, Shard(0, 1)),
    ],
)
def test_the_shard_comes_from_the_option_or_the_indexed_jobs_index_and_crossgen_shards(
    option: str | None, environ: dict[str, str], expected: Shard | None
) -> None:
    assert shard_from(option, environ) == expected


@pytest.mark.parametrize(
    ("option", "environ", "says"),
    [
        (None, {"JOB_COMPLETION_INDEX": "2", "CROSSGEN_SHARDS": "2"}, "completions and CROSSGEN_SHARDS"),
        (None, {"JOB_COMPLETION_INDEX": "0"}, "CROSSGEN_SHARDS is not set"),
        (None, {"CROSSGEN_SHARDS": "3"}, "--shard i/3"),
        (None, {"JOB_COMPLETION_INDEX": "0", "CROSSGEN_SHARDS": "two"}, "whole numbers"),
        (None, {"JOB_COMPLETION_INDEX": "0", "CROSSGEN_SHARDS": "0"}, "1 or more"),
        ("3/2", {}, "0 <= i < n"),
        ("half", {}, "expected i/n"),
    ],
)
def test_a_shard_that_cannot_be_told_is_refused(
    option: str | None, environ: dict[str, str], says: str
) -> None:
    with pytest.raises(ShardError, match=re.escape(says)):
        shard_from(option, environ)


def test_an_index_past_crossgen_shards_exits_2_before_any_credential_or_graph_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import worker.graph.ops as ops_module
    from worker.commands.reconcile import run

    def no_graph() -> None:
        raise AssertionError("no gateway may be built for a shard that cannot be told")

    monkeypatch.setattr(ops_module.Gateway, "from_env", staticmethod(no_graph))
    config = Path(__file__).resolve().parents[2] / "config"
    result = CliRunner().invoke(
        run, ["--config", str(config)], env={"JOB_COMPLETION_INDEX": "3", "CROSSGEN_SHARDS": "2"}
    )
    assert result.exit_code == 2
    assert "JOB_COMPLETION_INDEX=3 is not below CROSSGEN_SHARDS=2" in result.output
