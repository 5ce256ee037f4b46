"""The small value types that cross the worker's layers.

The gateway (``worker.graph``) turns Graph's JSON into these; the slot engine and the planner
(``worker.core``) compute over them; the apply step turns decisions back into Graph writes.
Nothing here knows about HTTP, the SDK, the clock or logging.

Conventions:
- every instant is an aware ``datetime`` in UTC (``tzinfo=UTC``), but for ``Busy``, which keeps whole
  UTC seconds (its ``start`` and ``end`` are such datetimes);
- every wall-clock rule carries its own ``tzinfo`` (a ``ZoneInfo``, or the gateway's fixed-rule zone
  for Outlook's "Customized Time Zone"), so a rule is read in that person's own local time;
- weekdays are ``datetime.weekday()`` numbers: Monday = 0 … Sunday = 6.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from worker.core.intervals import to_seconds, to_seconds_ceil

UTC_ZONE_NAME = "UTC"


class BusyStatus(enum.Enum):
    """Graph's freeBusyStatus, as far as scheduling cares."""

    FREE = "free"
    TENTATIVE = "tentative"
    BUSY = "busy"
    OOF = "oof"
    WORKING_ELSEWHERE = "workingElsewhere"
    UNKNOWN = "unknown"

    @property
    def blocks(self) -> bool:
        """Whether time with this status is unavailable for a new session.

        Tentative blocks too: a senior's "maybe" is the meeting that bumps mentoring.
        Working elsewhere does not: the person is working, just not at their desk.
        """
        return self in (BusyStatus.TENTATIVE, BusyStatus.BUSY, BusyStatus.OOF, BusyStatus.UNKNOWN)


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open UTC interval [start, end): events that only touch do not overlap."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Interval bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"Interval ends before it starts: {self.start} > {self.end}")

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True, repr=False)
class Busy:
    """One stretch of someone's calendar that is not free, as whole UTC seconds since the Unix epoch.

    ``start_s`` is the start rounded down and ``end_s`` the end rounded up, so a fraction of a second
    still blocks. Stored as seconds because the slot engine reads every busy item of the run (about
    900,000 for 2,000 pairs) and two ``datetime.timestamp()`` calls per item were a third of its CPU;
    the gateway builds them straight from Graph's text (``worker.graph.wire``). ``start`` and ``end``
    give the aware UTC datetimes back for everything else. Equality and hashing are by value.

    Build one from datetimes with ``Busy.between``; ``Busy(start_s, end_s, status)`` is for code that
    already has the seconds.
    """

    start_s: int
    end_s: int
    status: BusyStatus = BusyStatus.BUSY

    @classmethod
    def between(cls, start: datetime, end: datetime, status: BusyStatus = BusyStatus.BUSY) -> Busy:
        """From two aware datetimes (any zone); naive ones are refused, as ``Interval`` refuses them."""
        if start.utcoffset() is None or end.utcoffset() is None:
            raise ValueError("Busy bounds must be timezone-aware")
        return cls(to_seconds(start), to_seconds_ceil(end), status)

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.start_s, UTC)  # exact for whole seconds, and C code

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.end_s, UTC)

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)

    def __repr__(self) -> str:
        return f"Busy.between({self.start.isoformat()}, {self.end.isoformat()}, {self.status})"


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Outlook working hours: on ``days``, from ``start`` to ``end`` in ``zone`` (the person's own zone).

    ``zone_name`` is what Graph called it (IANA or Windows name, or "Customized Time Zone"); ``zone``
    is the tzinfo to compute with.
    """

    days: frozenset[int]
    start: time
    end: time
    zone: tzinfo
    zone_name: str

    @classmethod
    def default(cls, zone: tzinfo, zone_name: str) -> WorkingHours:
        """Outlook's default when a mailbox reports none: Monday to Friday, 08:00-17:00."""
        return cls(frozenset(range(5)), time(8, 0), time(17, 0), zone, zone_name)


@dataclass(frozen=True, slots=True)
class Schedule:
    """What getSchedule told us about one person over ``horizon``.

    ``error`` is set (and ``busy`` empty) when Graph could not resolve the address: the per-schedule
    error item, e.g. responseCode 5009.
    """

    address: str
    horizon: Interval
    busy: tuple[Busy, ...] = ()
    working_hours: WorkingHours | None = None
    error: str | None = None


class CadenceKind(enum.Enum):
    WEEKLY = "weekly"  # every ``interval`` weeks on the same weekday
    MONTHLY = "monthly"  # every ``interval`` months on the same n-th (or last) weekday of the month


@dataclass(frozen=True, slots=True)
class Cadence:
    kind: CadenceKind
    interval: int = 1

    def __str__(self) -> str:
        if self.kind is CadenceKind.MONTHLY:
            return "monthly" if self.interval == 1 else f"every {self.interval} months"
        return "weekly" if self.interval == 1 else f"every {self.interval} weeks"


class WeekIndex(enum.Enum):
    """Graph's weekIndex, for relativeMonthly recurrences."""

    FIRST = "first"
    SECOND = "second"
    THIRD = "third"
    FOURTH = "fourth"
    LAST = "last"


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A series as Graph's patternedRecurrence would carry it, in the series' own zone.

    weekly: every ``interval`` weeks on ``weekday``; monthly: every ``interval`` months on the
    ``index`` ``weekday`` of the month. The range is ``start`` (the first session's local date)
    for ``count`` occurrences.
    """

    cadence: Cadence
    weekday: int
    start: date
    count: int
    zone_name: str  # IANA name of the series' zone (the mentee's)
    index: WeekIndex | None = None  # monthly only


@dataclass(frozen=True, slots=True)
class Session:
    """One session of a series: its number (1-based) and its UTC interval."""

    number: int
    start: datetime
    end: datetime
    moved: bool = False  # True when it was moved off the series' regular slot (blackout, OOF, conflict)


@dataclass(frozen=True, slots=True)
class Timeline:
    """Free/busy for a set of people, as the gateway merges it from chunked getSchedule calls."""

    horizon: Interval
    schedules: dict[str, Schedule] = field(default_factory=dict)


# --- What the worker reads back from calendars and mailboxes (observed state) ---------------------


class Response(enum.Enum):
    """An attendee's response, as the organiser's copy reports it (Graph's responseType)."""

    NONE = "none"
    ORGANIZER = "organizer"
    TENTATIVE = "tentativelyAccepted"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    NOT_RESPONDED = "notResponded"


@dataclass(frozen=True, slots=True)
class Attendee:
    address: str
    response: Response = Response.NONE
    name: str = ""


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """One of our series, found in an organiser mailbox by its extended property.

    ``properties`` holds our own single-value extended properties by short name (e.g. ``key``,
    ``fingerprint``), so drift is judged on what we wrote, never on server-owned fields.
    """

    id: str
    organizer: str
    key: str
    start: datetime  # first occurrence, UTC
    end: datetime
    zone_name: str
    recurrence: Recurrence | None
    attendees: tuple[Attendee, ...] = ()
    subject: str = ""
    join_url: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    created: datetime | None = None  # createdDateTime: of two series for one pair, the older is kept


@dataclass(frozen=True, slots=True)
class OccurrenceInfo:
    """One occurrence (or exception) of a series, with per-occurrence attendee responses."""

    id: str
    series_id: str
    start: datetime  # UTC
    end: datetime
    original_start: datetime | None = None  # where the series' pattern put it, for exceptions
    is_exception: bool = False
    is_cancelled: bool = False
    attendees: tuple[Attendee, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)


# --- What the worker asks the gateway to write --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Protection:
    """How a session defends itself in Outlook."""

    show_as: str = "busy"  # Graph freeBusyStatus
    sensitivity: str = "private"  # Graph sensitivity
    allow_new_time_proposals: bool = False
    reminder_minutes: int | None = 15
    categories: tuple[str, ...] = ("Reverse mentoring",)


@dataclass(frozen=True, slots=True)
class SeriesSpec:
    """A recurring series to create in ``organizer``'s calendar.

    ``start_local``/``end_local`` are naive wall-clock times of the first session in ``zone_name``
    (IANA), which is also the recurrence's zone. ``transaction_id`` is deterministic per booking, so a
    retried create is de-duplicated by Graph; ``properties`` tag the series for lookup before create.
    """

    organizer: str
    key: str
    subject: str
    body_html: str
    start_local: datetime
    end_local: datetime
    zone_name: str
    recurrence: Recurrence
    attendees: tuple[Attendee, ...]
    protection: Protection
    teams_meeting: bool
    transaction_id: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MailSpec:
    """One email, sent at most once: ``key`` becomes a deterministic Message-ID looked up in Sent Items
    before any send, so a crash between sending and recording never sends twice."""

    sender: str
    key: str
    to: tuple[str, ...]
    subject: str
    html: str
    text: str
    cc: tuple[str, ...] = ()
