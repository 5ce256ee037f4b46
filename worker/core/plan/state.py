"""What one ``plan()`` call builds: the plan, each pair's status, and the run's scratch (``_Run``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from worker.core import ratings
from worker.core.actions import (
    Action,
)
from worker.core.desired import (
    Desired,
    Observed,
)
from worker.core.types import (
    Interval,
)

PROP_ENDED = "ended"  # on a series we ended after a policy change: the date of its last session


_BOOKING_NS = uuid.UUID("5b0f6f63-8d0c-4b8e-9a53-0c5c3a6e2a11")


class PairState:
    BOOKED = "booked"
    UNSCHEDULED = "unscheduled"
    REFUSED = "refused"
    FINISHED = "finished"
    PENDING = "pending"  # starts later than the free/busy horizon
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class PairStatus:
    pair: str
    state: str
    detail: str = ""


_A = TypeVar("_A")  # one kind of action, picked out of a plan


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    statuses: tuple[PairStatus, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.actions)

    def of_kind(self, kind: type[_A]) -> list[_A]:
        return [a for a in self.actions if isinstance(a, kind)]


@dataclass
class _Run:
    """Mutable scratch of one plan() call: what is already committed to whom in this pass."""

    desired: Desired
    observed: Observed
    now: datetime
    committed: dict[str, list[Interval]] = field(default_factory=lambda: defaultdict(list))
    actions: list[Action] = field(default_factory=list)
    ratings_by_pair: dict[str, list[ratings.Rating]] | None = None  # ``observed.ratings``, grouped once
