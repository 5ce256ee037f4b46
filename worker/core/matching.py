"""Matching volunteers into pairs: hard rules, scores, and the optimal assignment. Pure.

Where it sits: ``crossgen match`` (``worker.matching``) reads the pool, the directory and the
calendars, asks the planner whether each candidate pair could be booked, and calls ``assign`` here.

The assignment is optimal in two steps, solved as one: first the largest possible number of pairs
(every mentor taking at most ``capacity`` mentees, every mentee one mentor, only over allowed
candidates), then, among all assignments of that size, the greatest total score. Each allowed edge
weighs ``BIG + score`` with ``BIG`` larger than any sum of scores, so one more pair always outweighs
any gain in score; the weights go to scipy's ``linear_sum_assignment`` (the Hungarian method's modern
form) on a capacity-expanded matrix: one row per mentor *slot*.

Scores are lexicographic, by weights documented in docs/leads.md: topic fit first (topics the
mentor offers that the mentee wants), then bookable sessions (more sessions before the programme
ends), then cross-location variety (different offices). ``score`` turns them into one integer.

Feasibility is expensive (the slot engine, per pair), so ``assign_lazily`` evaluates only the edges an
assignment wants: every unevaluated edge is given its optimistic weight (an upper bound of its true
one); the assignment is solved; its unevaluated edges are evaluated; repeat until the assignment uses
only evaluated edges. It is then optimal over the true weights: any other assignment weighs no more
under the upper bounds, hence no more under the true weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

Edge = tuple[int, int]  # (mentor index, mentee index)


@dataclass(frozen=True, slots=True)
class Profile:
    """A person as the directory describes them, with their management chain (nearest first)."""

    address: str
    name: str
    department: str | None = None
    job_title: str | None = None
    office: str | None = None
    chain: tuple[str, ...] = ()


def same_reporting_line(a: Profile, b: Profile) -> bool:
    """One manages the other, at any depth."""
    return b.address in a.chain or a.address in b.chain


def same_department(a: Profile, b: Profile) -> bool:
    return bool(a.department) and (a.department or "").casefold() == (b.department or "").casefold()


def shared_topics(offers: Iterable[str], wants: Iterable[str]) -> tuple[str, ...]:
    """Topics in both lists (case-insensitive), in the mentee's order and spelling."""
    offered = {t.casefold() for t in offers}
    return tuple(dict.fromkeys(t for t in wants if t.casefold() in offered))


def cross_location(a: Profile, b: Profile) -> bool:
    return bool(a.office and b.office) and (a.office or "").casefold() != (b.office or "").casefold()


@dataclass(frozen=True, slots=True)
class Weights:
    """Lexicographic weights: ``topic`` > every session gain; ``session`` > the location bonus."""

    max_sessions: int

    @property
    def location(self) -> int:
        return 1

    @property
    def session(self) -> int:
        return 2

    @property
    def topic(self) -> int:
        return self.session * (self.max_sessions + 1)


def score(weights: Weights, *, topics: int, sessions: int, cross: bool) -> int:
    return topics * weights.topic + min(sessions, weights.max_sessions) * weights.session + cross


def assign(capacity: Sequence[int], mentees: int, weights: Mapping[Edge, int]) -> list[Edge]:
    """The assignment of most pairs, then most total weight, over the edges of ``weights`` (>= 0 each).

    Deterministic: the same input gives the same answer (the solver is deterministic, and the rows and
    columns are laid out in the order given).
    """
    matrix = np.full((len(capacity), mentees), -1.0)
    for (mentor, mentee), weight in weights.items():
        matrix[mentor, mentee] = weight
    return _solve(capacity, matrix)


def _solve(capacity: Sequence[int], matrix: np.ndarray) -> list[Edge]:
    """``assign`` over a dense (mentor x mentee) matrix of weights, -1 where no pair is allowed."""
    if matrix.size == 0 or not any(capacity):
        return []
    allowed = matrix >= 0
    if not allowed.any():
        return []
    slots = np.repeat(np.arange(len(capacity)), capacity)  # one row per mentor slot
    largest = np.sort(matrix[allowed])[::-1][: min(len(slots), matrix.shape[1])]
    big = float(largest.sum()) + 1.0  # more than any assignment's total score: one more pair wins
    expanded = np.where(allowed, matrix + big, 0.0)[slots]
    rows, cols = linear_sum_assignment(expanded, maximize=True)
    return sorted((int(slots[r]), int(c)) for r, c in zip(rows, cols, strict=True) if expanded[r, c] > 0)


def assign_lazily(
    capacity: Sequence[int],
    mentees: int,
    optimistic: Mapping[Edge, int],
    evaluate: Callable[[list[Edge]], Mapping[Edge, int | None]],
    *,
    warm: Iterable[Edge] = (),
) -> tuple[list[Edge], dict[Edge, int | None]]:
    """``assign`` over true weights that ``evaluate`` gives (None: not allowed), asking it only for the
    edges an assignment uses (and ``warm`` first). ``optimistic[e]`` must be >= e's true weight.

    Returns the assignment and every evaluation made.
    """
    matrix = np.full((len(capacity), mentees), -1.0)
    for (mentor, mentee), weight in optimistic.items():
        matrix[mentor, mentee] = weight
    known: dict[Edge, int | None] = {}

    def learn(edges: list[Edge]) -> None:
        for edge, weight in evaluate(edges).items():
            known[edge] = weight
            matrix[edge] = -1.0 if weight is None else weight

    first = [e for e in dict.fromkeys(warm) if e in optimistic]
    if first:
        learn(first)
    while True:
        chosen = _solve(capacity, matrix)
        unknown = [e for e in chosen if e not in known]
        if not unknown:
            return chosen, known
        learn(unknown)
