"""The resolved programme: what the planner, the apply step and the report read.

``load_programme`` (``worker.policies.load``) builds a ``Programme`` only from files that passed
every check, so nothing here re-validates: policies have ``extends`` applied and every default
filled in, pairs name their resolved policy, addresses are lower-case, zones are ``ZoneInfo``.
All values are frozen; a changed file means a new ``Programme``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from worker.core.types import Cadence, Protection
from worker.policies.errors import Problem
from worker.policies.templates import fill
from worker.policies.values import TimeWindow, format_duration

Role = Literal["mentor", "mentee"]


def pair_id(mentor: str, mentee: str) -> str:
    """Stable id of a pair: ``pair-`` + 10 hex of sha256("mentor|mentee"), lower-cased.

    It tags the pair's series in Outlook and keys the local state, so it must never change for the
    same two people in the same roles, whatever else changes in the files.
    """
    digest = hashlib.sha256(f"{mentor.strip().lower()}|{mentee.strip().lower()}".encode()).hexdigest()
    return f"pair-{digest[:10]}"


@dataclass(frozen=True, slots=True)
class Protect:
    show_as: str
    sensitivity: str
    allow_new_time_proposals: bool
    reminder: timedelta


@dataclass(frozen=True, slots=True)
class Policy:
    """How one pair's series is shaped and defended, with ``extends`` applied.

    ``lineage`` is [this policy, its parent, ...], for messages and reports.
    """

    name: str
    cadence: Cadence
    duration: timedelta
    sessions: int
    days: frozenset[int]
    hours: TimeWindow
    avoid: tuple[TimeWindow, ...]
    buffer: timedelta
    lookahead: timedelta
    protect: Protect
    teams_meeting: bool
    on_conflict: Literal["move", "keep"]
    feedback: str | None
    agenda: str | None
    freeze: timedelta
    max_moves: int
    max_exceptions: int | None
    agenda_lead: timedelta
    category: str
    lineage: tuple[str, ...] = ()

    def protection(self) -> Protection:
        """The core's ``Protection`` for the series this policy books."""
        return Protection(
            show_as=self.protect.show_as,
            sensitivity=self.protect.sensitivity,
            allow_new_time_proposals=self.protect.allow_new_time_proposals,
            reminder_minutes=int(self.protect.reminder.total_seconds() // 60),
            categories=(self.category,),
        )


@dataclass(frozen=True, slots=True)
class Blackout:
    """Days (inclusive) into which no session is booked or moved, in the programme's zone."""

    start: date
    end: date
    reason: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class FeedbackTemplate:
    """The email sent after each session held, per role; ``send_after`` counts from the session's end."""

    form: str
    send_after: timedelta
    subject: str
    name: str = ""

    def render_form(self, **values: Any) -> str:
        """The form link with placeholders filled and URL-encoded (pair, session, role, mentor, ...)."""
        return fill(self.form, values, url=True)

    def render_subject(self, **values: Any) -> str:
        return fill(self.subject, values)


@dataclass(frozen=True, slots=True)
class AgendaItem:
    title: str
    items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Agenda:
    """A curriculum: session n uses item n (1-based); sessions past the end repeat the last item."""

    name: str
    items: tuple[AgendaItem, ...]

    def agenda_for(self, session_number: int) -> AgendaItem:
        if session_number < 1:
            raise ValueError(f"sessions are numbered from 1, got {session_number}")
        return self.items[min(session_number, len(self.items)) - 1]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> AgendaItem:
        return self.items[index]


@dataclass(frozen=True, slots=True)
class Pair:
    """A mentor (the junior) and a mentee (the senior); ``policy`` is the resolved policy name."""

    id: str
    mentor: str
    mentee: str
    policy: str
    topics: tuple[str, ...] = ()
    start: date | None = None

    def partner_of(self, address: str) -> str:
        return self.mentee if address.lower() == self.mentor else self.mentor

    def role_of(self, address: str) -> Role:
        return "mentor" if address.lower() == self.mentor else "mentee"


@dataclass(frozen=True, slots=True)
class ProgramInfo:
    name: str
    organizers: tuple[str, ...]
    lead: str
    zone: ZoneInfo
    zone_name: str
    start: date
    end: date
    mailbox_domains: tuple[str, ...]
    default_policy: str
    reject_reporting_lines: bool
    key: str | None = None  # stable programme identifier; None: derived from the name

    @property
    def organizer(self) -> str:
        """The first (or only) programme mailbox: the sender of programme-wide mail such as reports."""
        return self.organizers[0]


@dataclass(frozen=True, slots=True)
class Programme:
    program: ProgramInfo
    policies: Mapping[str, Policy]
    blackouts: tuple[Blackout, ...]
    feedback: Mapping[str, FeedbackTemplate]
    agendas: Mapping[str, Agenda]
    pairs: tuple[Pair, ...]
    sources: Mapping[str, str] = field(default_factory=dict)  # file name -> path it was read from
    warnings: tuple[Problem, ...] = ()  # allowed, but perhaps not meant: shown by `validate`
    names: Mapping[str, str] = field(default_factory=dict)  # address -> pairs.yaml's name for them

    def policy_of(self, pair: Pair) -> Policy:
        return self.policies[pair.policy]

    def pair(self, pair_id: str) -> Pair:
        for pair in self.pairs:
            if pair.id == pair_id:
                return pair
        raise KeyError(pair_id)

    def start_of(self, pair: Pair) -> date:
        """The first day a session of ``pair`` may fall on."""
        return max(pair.start or self.program.start, self.program.start)

    def organizer_for(self, pair: Pair) -> str:
        """The programme mailbox that organises ``pair``'s series.

        Rendezvous hashing: each pair goes to the mailbox with the highest hash of (mailbox, pair id),
        so adding a mailbox moves only the pairs it wins and never reshuffles the others.
        """
        return max(
            self.program.organizers, key=lambda box: hashlib.sha256(f"{box}|{pair.id}".encode()).digest()
        )

    def agenda_for(self, pair: Pair, session_number: int) -> AgendaItem | None:
        name = self.policy_of(pair).agenda
        return None if name is None else self.agendas[name].agenda_for(session_number)

    def feedback_for(self, pair: Pair) -> FeedbackTemplate | None:
        name = self.policy_of(pair).feedback
        return None if name is None else self.feedback[name]

    def is_blackout(self, day: date) -> bool:
        return any(b.covers(day) for b in self.blackouts)

    def fingerprint(self, pair: Pair) -> str:
        """A short stable hash of what shapes ``pair``'s series, stored on the series in Outlook.

        A different fingerprint on an existing series means its policy (or the pair's dates) changed
        since it was booked. It covers the rhythm and the protection, not the agenda text, feedback
        or blackouts, which change single sessions or emails rather than the series.
        """
        policy = self.policy_of(pair)
        shape = {
            "pair": pair.id,
            "cadence": str(policy.cadence),
            "duration": format_duration(policy.duration),
            "sessions": policy.sessions,
            "days": sorted(policy.days),
            "hours": str(policy.hours),
            "avoid": [str(w) for w in policy.avoid],
            "buffer": format_duration(policy.buffer),
            "start": self.start_of(pair).isoformat(),
            "end": self.program.end.isoformat(),
            "zone": self.program.zone_name,
            "protect": [
                policy.protect.show_as,
                policy.protect.sensitivity,
                policy.protect.allow_new_time_proposals,
                format_duration(policy.protect.reminder),
            ],
            "teams": policy.teams_meeting,
            "category": policy.category,
        }
        blob = json.dumps(shape, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]
