"""The assignment against brute force: the most pairs, then the best score; deterministic; lazy == eager."""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.core.matching import (
    Edge,
    Profile,
    Weights,
    assign,
    assign_lazily,
    same_reporting_line,
    score,
    shared_topics,
)


def brute_force(capacity: Sequence[int], mentees: int, weights: Mapping[Edge, int]) -> tuple[int, int]:
    """(pairs, total weight) of the best assignment, trying every mentor-or-nobody for every mentee."""
    best = (0, 0)
    options = [[None, *(m for m in range(len(capacity)) if (m, j) in weights)] for j in range(mentees)]
    for choice in itertools.product(*options):
        used = [0] * len(capacity)
        ok = True
        for mentor in choice:
            if mentor is not None:
                used[mentor] += 1
                ok = ok and used[mentor] <= capacity[mentor]
        if not ok:
            continue
        edges = [(m, j) for j, m in enumerate(choice) if m is not None]
        best = max(best, (len(edges), sum(weights[e] for e in edges)))
    return best


def value(chosen: list[Edge], weights: Mapping[Edge, int]) -> tuple[int, int]:
    return len(chosen), sum(weights[e] for e in chosen)


def valid(chosen: list[Edge], capacity: Sequence[int], weights: Mapping[Edge, int]) -> bool:
    mentees = [j for _, j in chosen]
    per_mentor = [sum(1 for m, _ in chosen if m == i) for i in range(len(capacity))]
    return (
        len(set(mentees)) == len(mentees)
        and all(e in weights for e in chosen)
        and all(u <= c for u, c in zip(per_mentor, capacity, strict=True))
    )


@st.composite
def pools(draw: st.DrawFn) -> tuple[list[int], int, dict[Edge, int]]:
    mentors = draw(st.integers(1, 4))
    mentees = draw(st.integers(1, 5))
    capacity = [draw(st.integers(1, 3)) for _ in range(mentors)]
    weights = {
        (i, j): draw(st.integers(0, 30))
        for i in range(mentors)
        for j in range(mentees)
        if draw(st.booleans())
    }
    return capacity, mentees, weights


@settings(max_examples=300, deadline=None)
@given(pools())
def test_the_assignment_is_as_large_as_possible_then_as_good_as_brute_force(
    pool: tuple[list[int], int, dict[Edge, int]],
) -> None:
    capacity, mentees, weights = pool
    chosen = assign(capacity, mentees, weights)
    assert valid(chosen, capacity, weights)
    assert value(chosen, weights) == brute_force(capacity, mentees, weights)


@settings(max_examples=200, deadline=None)
@given(pools(), st.randoms(use_true_random=False))
def test_lazy_evaluation_finds_the_same_optimum_asking_only_for_what_it_uses(
    pool: tuple[list[int], int, dict[Edge, int]], rnd: random.Random
) -> None:
    capacity, mentees, true = pool
    candidates = {(i, j) for i in range(len(capacity)) for j in range(mentees)}
    optimistic = {e: true.get(e, 0) + rnd.randint(0, 10) for e in candidates}  # upper bounds
    asked: list[Edge] = []

    def evaluate(edges: list[Edge]) -> dict[Edge, int | None]:
        asked.extend(edges)
        return {e: true.get(e) for e in edges}

    chosen, known = assign_lazily(capacity, mentees, optimistic, evaluate)
    assert valid(chosen, capacity, true)
    assert value(chosen, true) == brute_force(capacity, mentees, true)
    assert len(asked) == len(set(asked)), "no edge is evaluated twice"
    assert set(known) == set(asked)


def test_one_more_pair_outweighs_any_score() -> None:
    # mentor 0 could take mentee 0 with a great score, but then mentee 1 (only mentor 0 fits) is left out
    weights = {(0, 0): 1000, (0, 1): 0, (1, 0): 0}
    assert assign([1, 1], 2, weights) == [(0, 1), (1, 0)]


def test_the_same_pool_gives_the_same_answer_every_time() -> None:
    rnd = random.Random(7)
    weights = {
        (i, j): rnd.choice([0, 5, 5, 5, 9]) for i in range(30) for j in range(40) if rnd.random() < 0.3
    }
    capacity = [rnd.randint(1, 2) for _ in range(30)]
    first = assign(capacity, 40, weights)
    assert all(assign(capacity, 40, dict(weights)) == first for _ in range(5))


def test_scores_are_lexicographic_topics_then_sessions_then_location() -> None:
    w = Weights(max_sessions=10)
    one_topic_few_sessions = score(w, topics=1, sessions=1, cross=False)
    no_topic_all_sessions_elsewhere = score(w, topics=0, sessions=10, cross=True)
    assert one_topic_few_sessions > no_topic_all_sessions_elsewhere
    assert score(w, topics=0, sessions=2, cross=False) > score(w, topics=0, sessions=1, cross=True)
    assert score(w, topics=0, sessions=1, cross=True) > score(w, topics=0, sessions=1, cross=False)


@pytest.mark.parametrize(
    ("offers", "wants", "shared"),
    [
        (["Generative AI", "TikTok"], ["generative ai", "LinkedIn"], ("generative ai",)),
        ([], ["x"], ()),
        (["x", "y"], ["y", "x", "y"], ("y", "x")),
    ],
)
def test_topics_are_matched_without_regard_to_case(
    offers: list[str], wants: list[str], shared: tuple[str, ...]
) -> None:
    assert shared_topics(offers, wants) == shared


def test_a_reporting_line_is_seen_at_any_depth_either_way() -> None:
    boss = Profile("boss@x.com", "Boss")
    mid = Profile("mid@x.com", "Mid", chain=("boss@x.com",))
    low = Profile("low@x.com", "Low", chain=("mid@x.com", "boss@x.com"))
    other = Profile("other@x.com", "Other", chain=("boss2@x.com",))
    assert same_reporting_line(low, boss) and same_reporting_line(boss, low)
    assert same_reporting_line(mid, low)
    assert not same_reporting_line(other, low)
