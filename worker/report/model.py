"""The programme report as values: what a lead reads about each pair and about the programme.

``build_report`` is pure: it counts from plain observed records (sessions as the calendars show them,
feedback keys found in the sending mailbox, each pair's status from the planner) and a ``now`` it is
given, so the figures can be checked against known calendars and never depend on the local state
file. The renderers (``render_md``, ``render_csv``, ``render_html``) only lay these values out.

Counting rules, per session record:
- held: ended by ``now``, not cancelled, not declined by both participants;
- upcoming: starts after ``now``, not cancelled;
- declined: at least one participant declined it; moved: an exception we moved; cancelled: cancelled.
A booked pair is *finished* once the programme has ended, or all its sessions are past.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

from worker.core.ratings import Rating
from worker.core.render import Person
from worker.report.ratings import RatingsSummary, summarise


class ReportError(ValueError):
    """The report's inputs contradict themselves (a naive datetime, an end before a start)."""


class PairStatus(enum.Enum):
    BOOKED = "booked"
    PENDING = "pending"  # starts later than the free/busy horizon: booked in due course
    UNSCHEDULED = "unscheduled"  # no slot found; ``status_detail`` says why
    REFUSED = "refused"  # inside one reporting line
    FINISHED = "finished"
    CANCELLED = "cancelled"  # removed from the programme; its future sessions were cancelled
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One session of a pair as its organiser's calendar shows it."""

    pair_id: str
    number: int
    start: datetime  # aware
    end: datetime
    cancelled: bool = False
    declined_by: frozenset[str] = frozenset()  # addresses of the participants who declined
    moved: bool = False  # an exception moved by crossgen (not merely an edited occurrence)


class FeedbackKey(NamedTuple):
    """One feedback email found in the sending mailbox."""

    pair_id: str
    session: int
    role: str  # "mentor" | "mentee"


@dataclass(frozen=True, slots=True)
class PairInput:
    """What the report knows of a pair before counting: who, under which policy, and its status."""

    pair_id: str
    mentor: Person
    mentee: Person
    policy: str
    status: PairStatus
    status_detail: str = ""


@dataclass(frozen=True, slots=True)
class ProgrammeInfo:
    name: str
    lead: str
    start: date  # first and last day, in ``zone``
    end: date
    zone: tzinfo


@dataclass(frozen=True, slots=True)
class PairRow:
    pair_id: str
    mentor: Person
    mentee: Person
    policy: str
    status: PairStatus
    status_detail: str
    held: int
    upcoming: int
    moved: int
    declined: int
    cancelled: int
    feedback_sent: int
    last_session: datetime | None  # start of the last held session
    next_session: datetime | None  # start of the next upcoming session
    ratings: int = 0  # ratings received (each person's latest per session)
    average_rating: float | None = None  # one decimal; None when none


class WeekCount(NamedTuple):
    """Sessions of one week (Monday, in the programme's zone) for the chart."""

    week_start: date
    held: int
    upcoming: int
    cancelled: int


@dataclass(frozen=True, slots=True)
class Totals:
    pairs: int
    by_status: tuple[tuple[PairStatus, int], ...]  # every status, in declaration order
    held: int
    upcoming: int
    moved: int
    declined: int
    cancelled: int
    feedback_sent: int

    def count(self, status: PairStatus) -> int:
        return dict(self.by_status)[status]


@dataclass(frozen=True, slots=True)
class BlackoutRow:
    """A programme blackout as the lead wrote it, and how many booked sessions it took away."""

    start: date
    end: date
    reason: str
    skipped: int  # sessions of the booked series that fell on its days and were cancelled or never held


@dataclass(frozen=True, slots=True)
class ProgrammeReport:
    name: str
    lead: str
    generated_at: datetime
    start: date
    end: date
    pairs: tuple[PairRow, ...]
    sessions_per_week: tuple[WeekCount, ...]
    totals: Totals
    zone: tzinfo  # dates and times are shown in the programme's zone
    cancellations: tuple[tuple[str, int], ...] = ()  # (cause, cancellations crossgen made for it)
    blackouts: tuple[BlackoutRow, ...] = ()
    ratings: RatingsSummary = field(default_factory=RatingsSummary)  # what the one-click ratings say


def _aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ReportError(f"{what} must be timezone-aware: {value!r}")
    return value


def _week_of(at: datetime, zone: tzinfo) -> date:
    local = at.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def _held(record: SessionRecord, pair: PairInput, now: datetime) -> bool:
    both = {pair.mentor.address.lower(), pair.mentee.address.lower()}
    declined = {address.lower() for address in record.declined_by}
    return record.end <= now and not record.cancelled and not both <= declined


def _row(pair: PairInput, records: Sequence[SessionRecord], feedback: int, now: datetime,
         programme_over: bool) -> PairRow:
    held = [r for r in records if _held(r, pair, now)]
    upcoming = [r for r in records if r.start > now and not r.cancelled]
    live = [r for r in records if not r.cancelled]
    status = pair.status
    if status in (PairStatus.BOOKED, PairStatus.PENDING) and (
        programme_over or (live and all(r.end <= now for r in live))
    ):
        status = PairStatus.FINISHED
    return PairRow(
        pair_id=pair.pair_id, mentor=pair.mentor, mentee=pair.mentee, policy=pair.policy, status=status,
        status_detail=pair.status_detail,
        held=len(held), upcoming=len(upcoming),
        moved=sum(r.moved for r in records),
        declined=sum(bool(r.declined_by) for r in records),
        cancelled=sum(r.cancelled for r in records),
        feedback_sent=feedback,
        last_session=max((r.start for r in held), default=None),
        next_session=min((r.start for r in upcoming), default=None),
    )


def _weeks(programme: ProgrammeInfo, pairs: dict[str, PairInput], records: Sequence[SessionRecord],
           now: datetime) -> tuple[WeekCount, ...]:
    zone = programme.zone
    first = programme.start - timedelta(days=programme.start.weekday())
    last = programme.end - timedelta(days=programme.end.weekday())
    held: Counter[date] = Counter()
    upcoming: Counter[date] = Counter()
    cancelled: Counter[date] = Counter()
    for record in records:
        week = _week_of(record.start, zone)
        first, last = min(first, week), max(last, week)
        if record.cancelled:
            cancelled[week] += 1
        elif _held(record, pairs[record.pair_id], now):
            held[week] += 1
        elif record.start > now:
            upcoming[week] += 1
    weeks = []
    week = first
    while week <= last:
        weeks.append(WeekCount(week, held[week], upcoming[week], cancelled[week]))
        week += timedelta(days=7)
    return tuple(weeks)


def build_report(*, programme: ProgrammeInfo, pairs: Sequence[PairInput], sessions: Iterable[SessionRecord],
                 feedback_sent: Iterable[FeedbackKey], now: datetime,
                 cancellations: Sequence[tuple[str, int]] = (),
                 blackouts: Sequence[BlackoutRow] = (), ratings: Iterable[Rating] = (),
                 topics: Mapping[tuple[str, int], str] | None = None,
                 ratings_ignored: int = 0) -> ProgrammeReport:
    """Count, per pair and in total, what the calendars and the sending mailbox show at ``now``.

    ``cancellations`` (cause, count) and ``blackouts`` are carried as given, for the renderers.

    Records and feedback keys of pairs not in ``pairs`` are ignored; a feedback key counted twice is
    one email (the mailbox lookup may see a message and its retry).
    """
    now = _aware(now, "now")
    known = {pair.pair_id: pair for pair in pairs}
    records: list[SessionRecord] = []
    for record in sessions:
        if record.pair_id not in known:
            continue
        _aware(record.start, "a session's start")
        _aware(record.end, "a session's end")
        if record.end < record.start:
            raise ReportError(f"session {record.number} of {record.pair_id} ends before it starts")
        records.append(record)
    per_pair: dict[str, list[SessionRecord]] = {pair_id: [] for pair_id in known}
    for record in records:
        per_pair[record.pair_id].append(record)
    feedback_keys = set(feedback_sent)
    feedback = Counter(key.pair_id for key in feedback_keys if key.pair_id in known)
    end_of_programme = datetime.combine(programme.end + timedelta(days=1), time(0), tzinfo=programme.zone)
    over = now >= end_of_programme
    rows = tuple(_row(pair, per_pair[pair.pair_id], feedback[pair.pair_id], now, over) for pair in pairs)
    rated = summarise(
        pairs=[row.pair_id for row in rows], ratings=ratings,
        asked=[(key.pair_id, key.session, key.role) for key in feedback_keys],
        topics=topics or {}, zone=programme.zone, ignored=ratings_ignored,
        held_sessions={k.pair_id: sorted({x.session for x in feedback_keys if x.pair_id == k.pair_id})
                       for k in feedback_keys},
    )
    rows = tuple(_with_ratings(row, rated) for row in rows)
    statuses = Counter(row.status for row in rows)
    totals = Totals(
        pairs=len(rows),
        by_status=tuple((status, statuses[status]) for status in PairStatus),
        held=sum(r.held for r in rows), upcoming=sum(r.upcoming for r in rows),
        moved=sum(r.moved for r in rows), declined=sum(r.declined for r in rows),
        cancelled=sum(r.cancelled for r in rows), feedback_sent=sum(r.feedback_sent for r in rows),
    )
    return ProgrammeReport(
        name=programme.name, lead=programme.lead, generated_at=now, start=programme.start, end=programme.end,
        pairs=rows, sessions_per_week=_weeks(programme, known, records, now), totals=totals,
        zone=programme.zone, cancellations=tuple(cancellations), blackouts=tuple(blackouts), ratings=rated,
    )


def _with_ratings(row: PairRow, rated: RatingsSummary) -> PairRow:
    mine = rated.of(row.pair_id)
    if mine is None or not mine.ratings:
        return row
    return replace(row, ratings=mine.ratings, average_rating=mine.average)
