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
    name: str = ""  # as the directory names them; the engine's sentences fall back to the address

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
    # how many sessions of a series may be exceptions (moved within their week, or cancelled when the
    # week has no time): None is half the series; past it the series ends and the rest are a shortfall
    max_exceptions: int | None = None

    @property
    def exception_cap(self) -> int:
        return self.sessions // 2 if self.max_exceptions is None else self.max_exceptions


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
class Skip:
    """One occurrence of the pattern cancelled because its week has no time: its local date (series
    zone), its regular start, and the first constraint that rejected it there."""

    day: date
    start: datetime
    reason: Constraint


@dataclass(frozen=True, slots=True)
class Shortfall:
    """The sessions a series could not place: ``count`` of them, from the regular start ``first``
    of the first one (the occurrence after the series' last), the constraint that rejects it, and a
    sentence for the programme lead that says when and why ("from Sun 4 Apr 2027, when ...")."""

    count: int
    first: datetime
    reason: Constraint
    message: str


@dataclass(frozen=True, slots=True)
class SeriesSlot:
    """The series to book: the recurrence (in its anchor zone) and every session it yields.

    ``sessions`` are the held sessions, numbered from 1; an occurrence that fails at its regular
    place (a blackout, an absence, busy time, or either person's hours after a clock change) is
    moved within its week (``moved=True``) or, when that week has no room, cancelled: it is in
    ``skips`` (its local date in ``skipped``) and the recurrence's count includes it. ``wanted`` is
    how many sessions were asked for; when fewer are held, ``shortfall`` says which and why.
    """

    recurrence: Recurrence
    start_local: time
    zone_name: str
    duration: timedelta
    sessions: tuple[Session, ...]
    skips: tuple[Skip, ...] = ()
    wanted: int = 0
    shortfall: Shortfall | None = None

    @property
    def skipped(self) -> tuple[date, ...]:
        return tuple(s.day for s in self.skips)

    @property
    def moved(self) -> int:
        return sum(s.moved for s in self.sessions)

    @property
    def disruptions(self) -> int:
        return self.moved + len(self.skips)

    @property
    def partial(self) -> bool:
        return len(self.sessions) < self.wanted


@dataclass(frozen=True)
class NoSlot:
    """No slot: the constraint that removed most candidates, the count per constraint, and a
    sentence for the programme lead's escalation."""

    reason: Constraint
    counts: Mapping[Constraint, int]
    message: str
