"""The mass-cancel guard's threshold, as a value: most of the booked pairs, and at least a few of them."""

from __future__ import annotations

import pytest

from worker.core.guard import MIN_PAIRS, CancelGuard, Removal, Suspicion


def _guard(*, booked: int, cancelling: int, new: int = 0) -> CancelGuard:
    people = ("a@contoso.com", "b@contoso.com")
    removals = tuple(Removal(f"pair-{i:010x}", people, 1) for i in range(cancelling))
    return CancelGuard(booked=booked, kept=booked - cancelling, new=new, removals=removals, key="k")


@pytest.mark.parametrize(
    ("booked", "cancelling", "refused"),
    [
        (6, 5, True),  # a truncated file
        (6, 3, False),  # exactly half: a lead can halve a programme without a flag
        (7, 4, True),  # more than half
        (100, 50, False),
        (100, 51, True),
        (4, 2, False),  # fewer than MIN_PAIRS cancelled is never refused
        (2, 2, False),
        (MIN_PAIRS, MIN_PAIRS, True),
        (0, 0, False),  # nothing booked (or the programme is over): nothing to refuse
    ],
)
def test_a_pass_is_refused_when_it_cancels_most_booked_pairs_and_at_least_a_few(
    booked: int, cancelling: int, refused: bool
) -> None:
    assert _guard(booked=booked, cancelling=cancelling).refuses is refused


def test_keeping_no_booked_pair_while_naming_new_ones_looks_like_another_programme() -> None:
    assert _guard(booked=6, cancelling=6, new=6).suspicion is Suspicion.OTHER_PROGRAMME
    assert _guard(booked=6, cancelling=6, new=0).suspicion is Suspicion.MOST_PAIRS_REMOVED
    assert _guard(booked=6, cancelling=5, new=9).suspicion is Suspicion.MOST_PAIRS_REMOVED


def test_the_refusal_names_every_pair_and_how_to_proceed() -> None:
    lines = _guard(booked=6, cancelling=4).explain(config="my-programme")
    assert lines[0].startswith("refused: this pass would cancel the sessions of 4 of the 6 pairs")
    assert sum("a@contoso.com and b@contoso.com" in line for line in lines) == 4
    assert any("crossgen run --config my-programme --confirm-cancel" in line for line in lines)
    assert any("its own `key`" in line for line in lines)
    preview = _guard(booked=6, cancelling=4).explain(preview=True)
    assert preview[0].startswith("warning: `crossgen run` would refuse this pass")
    assert not any("Nothing was written" in line for line in preview)
