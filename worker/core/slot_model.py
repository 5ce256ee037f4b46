"""The slot engine's inputs and answers (re-exported by ``worker.core.slots``).

The planner builds a ``SeriesRequest`` per pair from the programme's policy and the gateway's
free/busy, and gets back either a ``SeriesSlot`` to book or a ``NoSlot`` to escalate to the lead.
Everything is a frozen value; all instants are aware UTC datetimes, all rules carry their own zone.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from worker.core.types import Busy, Cadence, Interval, Recurrence, Session, WorkingHours


class Constraint(enum.Enum):
    """Why a candidate slot was rejected, in the order the engine checks them."""

    PROGRAMME_DATES = "programme dates"
    LOCAL_TIME = "local time"  # the series' wall time does not exist or occurs twice (DST)
    DAYS = "days"
    WORKING_HOURS = "working hours"
    WINDOW = "window"
    AVOID = "avoid"
    BLACKOUT = "blackout"
    BUSY = "busy"
    FREEZE = "freeze"
    SPACING = "spacing"


@dataclass(frozen=True, slots=True)
class Person:
    """One side of a pair: mailbox zone, Outlook working hours (None: Outlook's default) and busy time."""

    address: str
    zone: tzinfo
    zone_name: str
    working_hours: WorkingHours | None = None
    busy: tuple[Busy, ...] = ()

    @property
    def hours(self) -> WorkingHours:
        return self.working_hours or WorkingHours.default(self.zone, self.zone_name)


@dataclass(frozen=True, slots=True)
class SlotPolicy:
    """The scheduling part of a programme policy.

    ``days``, ``window`` and ``avoid`` are read in EACH person's own local time; ``blackouts`` are
    inclusive date ranges in ``program_zone``. A range whose end is at or before its start wraps
    past midnight within the day (00:00-00:00 is the whole day).
    """

    cadence: Cadence
    duration: timedelta
    sessions: int
    days: frozenset[int]
    window: tuple[time, time]
    avoid: tuple[tuple[time, time], ...]
    buffer: timedelta
    lookahead: timedelta
    blackouts: tuple[tuple[date, date], ...]
    program_zone: tzinfo
    program_start: date
    program_end: date
    step: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class SeriesRequest:
    """Find a series for one pair.

    ``earliest`` is max(now, pair start, programme start) in UTC; ``horizon`` is where free/busy is
    known (sessions starting after it are placed on the pattern and checked on later runs);
    ``committed`` holds sessions already booked in this run, per address.
    """

    mentor: Person
    mentee: Person
    policy: SlotPolicy
    earliest: datetime
    horizon: Interval
    committed: Mapping[str, tuple[Interval, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class ReslotRequest:
    """Move one declined or double-booked session within its own week (Monday-Sunday, series zone).

    ``previous_start``/``next_start`` are the neighbouring sessions' starts (None at the ends of the
    series); ``series_zone`` is the existing series' zone (None: the mentee's). The busy time given
    should not contain the session itself.
    """

    mentor: Person
    mentee: Person
    policy: SlotPolicy
    session: Session
    previous_start: datetime | None
    next_start: datetime | None
    now: datetime
    freeze: timedelta
    horizon: Interval
    series_zone: tzinfo | None = None
    committed: Mapping[str, tuple[Interval, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SeriesSlot:
    """The series to book: the recurrence (in the mentee's zone) and every session it yields.

    ``sessions`` are the held sessions, numbered from 1; an occurrence that a blackout or an
    out-of-office hit is moved within its week (``moved=True``) or, when that week has no room,
    cancelled: its local date is in ``skipped`` and the recurrence's count includes it.
    """

    recurrence: Recurrence
    start_local: time
    zone_name: str
    duration: timedelta
    sessions: tuple[Session, ...]
    skipped: tuple[date, ...] = ()

    @property
    def disruptions(self) -> int:
        return sum(s.moved for s in self.sessions) + len(self.skipped)


@dataclass(frozen=True)
class NoSlot:
    """No slot: the constraint that removed most candidates, the count per constraint, and a
    sentence for the programme lead's escalation."""

    reason: Constraint
    counts: Mapping[Constraint, int]
    message: str
