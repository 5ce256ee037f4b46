"""The mass-cancel guard end to end: a pass that would cancel most booked pairs writes nothing until
confirmed; removing a pair or two, or a programme reaching its end, goes through as before."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from rich.console import Console

from tests.e2e.world import EXAMPLE, World, play
from worker.core.actions import Cancel, CancelReason
from worker.core.guard import Suspicion
from worker.policies import ConfigError
from worker.reconcile.present import plan_json, plan_table
from worker.reconcile.run import RunResult, reconcile

# The example programme books six pairs (one is unscheduled, one refused for a reporting line).
FIRST_PAIR_ONLY = (
    "pairs:\n"
    "  - mentor: lea.martin@contoso.com\n"
    "    mentee: jean.dubois@contoso.com\n"
    "    topics: [generative AI, LinkedIn]\n"
)


def _entries(text: str) -> list[str]:
    """The example pairs.yaml's entries, each as written."""
    return re.findall(r"  - mentor:.*?(?=\n  - mentor:|\Z)", text, flags=re.S)


async def _live(w: World) -> dict[str, int]:
    """Per series id, how many of its sessions are still on (not cancelled)."""
    return {
        s.id: sum(not o.is_cancelled for o in await w.occurrences(s)) for s in await w.series()
    }


async def _run(w: World, *, dry_run: bool = False, confirm: bool = False) -> RunResult:
    return await reconcile(
        w.config, gateway=w.gateway, now=w.now, dry_run=dry_run, state_path=w.state, confirm_cancel=confirm
    )


def test_a_truncated_pairs_file_writes_nothing_until_the_cancels_are_confirmed(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        assert (await w.run()).summary()["booked"] == 6
        before = await _live(w)
        sent_before = len(await w.sent())
        w.write("pairs.yaml", FIRST_PAIR_ONLY)

        refused = await _run(w)
        assert refused.cancel_refused and refused.exit_code == 2
        assert refused.summary()["writes"] == 0 and refused.summary()["cancel_refused"] == 5
        assert refused.guard is not None and refused.guard.suspicion is Suspicion.MOST_PAIRS_REMOVED
        assert (refused.guard.booked, refused.guard.kept) == (6, 1)
        assert await _live(w) == before, "no session was cancelled"
        assert len(await w.sent()) == sent_before
        explained = "\n".join(refused.guard.explain(config="cfg"))
        assert "5 of the 6 pairs" in explained and "--confirm-cancel" in explained
        assert "Emily Davis" in explained or "emily.davis@contoso.com" in explained

        confirmed = await _run(w, confirm=True)
        assert confirmed.exit_code == 0 and not confirmed.cancel_refused
        assert confirmed.summary()["cancelled"] == 5
        assert len(await w.series()) == 1
        # Once done, the next pass needs no flag: nothing booked is left to cancel.
        again = await _run(w)
        assert again.exit_code == 0 and again.summary()["writes"] == 0

    play(tmp_path, scenario)


def test_removing_two_of_six_booked_pairs_needs_no_confirmation(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        text = (EXAMPLE / "pairs.yaml").read_text(encoding="utf-8")
        entries = _entries(text)
        w.write("pairs.yaml", text.replace(entries[0], "").replace(entries[3], ""))
        result = await _run(w)
        assert not result.cancel_refused and result.exit_code == 1  # 1: Olivia's pair is still unscheduled
        removed = [c for c in result.plan.of_kind(Cancel) if c.reason is CancelReason.PAIR_REMOVED]
        assert len({c.pair for c in removed}) == 2 and result.summary()["cancelled"] == 2

    play(tmp_path, scenario)


def test_a_copied_folder_with_other_pairs_under_the_same_key_is_named_as_another_programme(
    tmp_path: Path,
) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        before = await _live(w)
        # The same people, mentor and mentee swapped: every pair id differs from the booked ones.
        text = (EXAMPLE / "pairs.yaml").read_text(encoding="utf-8")
        swapped = text.replace("mentor:", "@@").replace("mentee:", "mentor:").replace("@@", "mentee:")
        w.write("pairs.yaml", swapped)

        preview = await _run(w, dry_run=True)
        assert preview.cancel_refused and preview.exit_code == 2
        shown = plan_json(preview)["guard"]
        assert shown["refuses"] and shown["suspicion"] == "other_programme"
        assert shown["kept"] == 0 and len(shown["cancelling"]) == 6
        assert "another programme" in preview.guard.headline()

        refused = await _run(w)
        assert refused.cancel_refused and refused.summary()["writes"] == 0
        assert await _live(w) == before

        console = Console(record=True, width=200)
        plan_table(preview, console=console)
        shown_text = console.export_text()
        words = " ".join(shown_text.split())  # the table wraps names inside their column
        assert "Priya Sharma" in words and "Robert Lef" in words, "a removed pair is named from its series"
        assert "`crossgen run` would refuse this pass" in shown_text

    play(tmp_path, scenario)


def test_a_programme_past_its_end_is_not_a_mass_cancel(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        w.at(w.now + timedelta(days=200))  # past `end` (2027-06-25): every series has run its course
        w.write("pairs.yaml", FIRST_PAIR_ONLY)
        result = await _run(w)
        assert not result.cancel_refused and result.exit_code == 0
        assert result.guard is not None and result.guard.booked == 0
        assert not result.plan.of_kind(Cancel)

    play(tmp_path, scenario)


def test_an_empty_pairs_list_is_refused_at_load_unless_confirmed(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        w.write("pairs.yaml", "pairs: []\n")
        with pytest.raises(ConfigError) as refused:
            await _run(w)
        (problem,) = refused.value.problems
        assert problem.file.endswith("pairs.yaml") and "--confirm-cancel" in problem.message
        assert len(await w.series()) == 6
        confirmed = await _run(w, confirm=True)
        assert confirmed.exit_code == 0 and confirmed.summary()["cancelled"] == 6
        assert await w.series() == []

    play(tmp_path, scenario)
