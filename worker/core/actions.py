"""Decisions as values: what one reconcile pass has decided to do.

``plan(desired, observed, now)`` returns a tuple of these; ``apply`` is the only code that turns
them into Graph writes; ``plan --json`` prints them. Each carries the pair it serves and an enum
reason, never a boolean or a log line, so tests compare decisions directly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime

from worker.core.slot_model import Constraint
from worker.core.types import MailSpec, Recurrence, SeriesSpec, Session


class Kind(enum.Enum):
    """The action kinds of the CLI contract (``plan --json``)."""

    BOOK = "book"
    MOVE = "move"
    CANCEL = "cancel"
    FEEDBACK = "feedback"
    ESCALATE = "escalate"
    AGENDA = "agenda"


class MoveReason(enum.Enum):
    DECLINED = "declined"  # a participant declined this session
    CONFLICT = "conflict"  # it now collides with busy time
    OUT_OF_OFFICE = "out_of_office"
    BLACKOUT = "blackout"  # it falls in a programme blackout (added after booking)
    OUTSIDE_HOURS = "outside_hours"  # a person's hours, days or the policy window no longer hold it


class CancelReason(enum.Enum):
    PAIR_REMOVED = "pair_removed"
    PROGRAMME_ENDED = "programme_ended"
    POLICY_CHANGED = "policy_changed"  # the old series ends; a new Book follows
    DUPLICATE = "duplicate"  # a second series for one pair (e.g. two workers raced): keep the oldest
    BLACKOUT = "blackout"  # a session in a programme blackout with no other time that week


class EscalationReason(enum.Enum):
    NO_SLOT = "no_slot"
    REPORTING_LINE = "reporting_line"
    CONFLICT_KEPT = "conflict_kept"  # on_conflict: keep
    CANNOT_MOVE = (
        "cannot_move"  # declined/conflicting, but no slot in its week, frozen, or moved twice already
    )
    DISENGAGED = "disengaged"
    UNKNOWN_PERSON = "unknown_person"
    PARTIAL = "partial"  # booked, but some of the pair's sessions could not be placed


class Role(enum.Enum):
    MENTOR = "mentor"
    MENTEE = "mentee"


# A skipped date's reason (the slot engine's ``Constraint``) as the lead reads it.
SKIPPED_BECAUSE = {
    Constraint.BLACKOUT: "a programme blackout",
    Constraint.BUSY: "no time free for both that week",
    Constraint.WORKING_HOURS: "their working hours do not meet that week",
    Constraint.DAYS: "their working days do not meet that week",
    Constraint.WINDOW: "no common time inside the policy's hours that week",
    Constraint.AVOID: "no common time outside the avoided hours that week",
    Constraint.LOCAL_TIME: "a clock change",
}


@dataclass(frozen=True, slots=True)
class Book:
    """Create the pair's recurring series."""

    pair: str
    spec: SeriesSpec
    sessions: tuple[Session, ...]
    skipped: tuple[date, ...] = ()  # pattern dates (series zone) cancelled at once: weeks without a time
    skip_note: str = ""  # the cancellation comment for those dates (each date's own, in ``skip_notes``)
    skip_causes: tuple[Constraint, ...] = ()  # the slot engine's reason for each skipped date
    skip_notes: tuple[tuple[date, str], ...] = ()  # (pattern date, its cancellation comment: when and why)
    wanted: int = 0  # the sessions the pair still needs; more than len(sessions) for a partial series
    shortfall: str = ""  # why the rest could not be placed (a partial series)
    kind: Kind = field(default=Kind.BOOK, init=False)

    @property
    def skip_reasons(self) -> tuple[str, ...]:
        """Why each skipped date has no session, in the lead's words."""
        return tuple(SKIPPED_BECAUSE.get(cause, cause.value) for cause in self.skip_causes)

    def note_for(self, day: date) -> str:
        return next((note for d, note in self.skip_notes if d == day), self.skip_note)

    @property
    def recurrence(self) -> Recurrence:
        return self.spec.recurrence

    @property
    def summary(self) -> str:
        """The series as its policy says it: "every 2 weeks, 10 sessions, 2 moved, 1 cancelled";
        "5 of 10 sessions" when some could not be placed."""
        held = len(self.sessions)
        count = f"{held} of {self.wanted} sessions" if self.wanted > held else f"{held} sessions"
        parts = [str(self.recurrence.cadence), count]
        moved = sum(s.moved for s in self.sessions)
        if moved:
            parts.append(f"{moved} moved")
        if self.skipped:
            parts.append(f"{len(self.skipped)} cancelled")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Move:
    """Move one occurrence to ``new`` (an exception of the series)."""

    pair: str
    organizer: str
    occurrence_id: str
    session: int
    old_start: datetime
    new: Session
    reason: MoveReason
    moves_so_far: int
    zone_name: str
    # The moved occurrence's own title and body (its agenda, led by where and why it moved): the update
    # Exchange sends both people carries them, not the series' welcome.
    subject: str = ""
    body_html: str = ""
    kind: Kind = field(default=Kind.MOVE, init=False)


class CancelScope(enum.Enum):
    SERIES = "series"  # cancel every future session of the series
    OCCURRENCE = "occurrence"
    END_AFTER = "end_after"  # end the series after ``last_date`` (keeps the past)


@dataclass(frozen=True, slots=True)
class Cancel:
    pair: str
    organizer: str
    event_id: str
    scope: CancelScope
    reason: CancelReason
    comment: str
    last_date: date | None = None  # END_AFTER only
    series_id: str = ""  # OCCURRENCE in a blackout: the series whose ``skipped`` dates it joins
    skipped: str = ""  # ... its new value (marked before the cancel, so a crash in between heals)
    # END_AFTER: the series' new body, which the update Exchange sends to both people carries (a goodbye,
    # the new rhythm): ending a series is a PATCH, which sends no comment and would repeat the welcome.
    notice_html: str = ""
    kind: Kind = field(default=Kind.CANCEL, init=False)


@dataclass(frozen=True, slots=True)
class UpdateAgenda:
    """Give one upcoming occurrence its own session's agenda, once."""

    pair: str
    organizer: str
    occurrence_id: str
    session: int
    start: datetime
    subject: str
    body_html: str
    kind: Kind = field(default=Kind.AGENDA, init=False)


@dataclass(frozen=True, slots=True)
class SendFeedback:
    pair: str
    session: int
    role: Role
    mail: MailSpec
    session_end: datetime
    session_start: datetime | None = None
    upcoming: Session | None = None  # the next session the email names (None: "this was your last")
    kind: Kind = field(default=Kind.FEEDBACK, init=False)


@dataclass(frozen=True, slots=True)
class Escalate:
    """Tell the programme lead something needs a human. ``mail.key`` makes it at most once per period."""

    pair: str
    reason: EscalationReason
    detail: str
    mail: MailSpec | None
    kind: Kind = field(default=Kind.ESCALATE, init=False)


Action = Book | Move | Cancel | UpdateAgenda | SendFeedback | Escalate
