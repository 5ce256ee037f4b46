"""What the planner is told: the programme as it should be, and the calendars as they are.

``Desired`` is built from the programme YAML at the edge (``worker.reconcile.desired``), ``Observed``
from Graph (``worker.reconcile.observe``); both are plain frozen values so ``plan`` stays a pure
function that tests can feed by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo

from worker.core.ratings import Rating
from worker.core.types import (
    Cadence,
    Interval,
    OccurrenceInfo,
    Protection,
    Schedule,
    SeriesInfo,
)

# Names of our single-value extended properties (the gateway maps them to Graph ids).
PROP_KEY = "key"  # the pair id on a series
PROP_PROGRAMME = "programme"  # the programme key on every series
PROP_FINGERPRINT = "fingerprint"  # what shaped the series (cadence, duration, days, hours, ...)
PROP_FIRST = "first"  # number of the series' first session (a re-cut series continues the count)
PROP_MOVES = "moves"  # on an occurrence: how often we moved it
PROP_AGENDA = "agenda"  # on an occurrence: the session number whose agenda it carries
PROP_SKIPPED = "skipped"  # on a series: pattern dates (ISO, comma-separated) with no session
PROP_WANTED = "wanted"  # on a partial series: the number of the last session the pair needed
PROP_PLANNED = "planned"  # on a series: the numbers of the sessions its booking moved off the pattern


@dataclass(frozen=True, slots=True)
class Participant:
    """Someone in a pair, named as people know them: ``name`` for who they are (pairs.yaml's ``name:``,
    else the directory's displayName, else the address's local part), ``given`` for greetings."""

    address: str
    name: str
    given: str = ""  # the first name a greeting uses (the directory's givenName); "" greets by ``name``
    named: bool = False  # ``name`` comes from pairs.yaml: the directory does not override it

    @property
    def greeting(self) -> str:
        return self.given or self.name

    def from_directory(self, people: Mapping[str, tuple[str, str]]) -> Participant:
        """This participant with the directory's ``(displayName, givenName)`` (``people``, by lower-case
        address) where pairs.yaml named no one; unchanged when the directory has nothing."""
        display, given = people.get(self.address.lower(), ("", ""))
        display, given = display.strip(), given.strip()
        if self.named:  # the lead's name wins whole: greetings use it too
            return self
        if not display and not given:
            return self
        return Participant(self.address, display or self.name, given, False)


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    title: str
    items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedbackRules:
    form: str  # template with {pair} {session} {role} {mentor} {mentee} {partner} {date}
    subject: str
    send_after: timedelta


@dataclass(frozen=True, slots=True)
class Rules:
    """The slice of a resolved policy that the planner needs."""

    name: str
    cadence: Cadence
    duration: timedelta
    sessions: int
    days: frozenset[int]
    hours: tuple[time, time]
    avoid: tuple[tuple[time, time], ...]
    buffer: timedelta
    lookahead: timedelta
    protection: Protection
    teams_meeting: bool
    on_conflict: str  # "move" | "keep"
    freeze: timedelta = timedelta(hours=24)
    max_moves: int = 2
    max_exceptions: int | None = None  # None: half the series' sessions
    agenda_lead: timedelta = timedelta(days=2)
    feedback: FeedbackRules | None = None
    agenda: tuple[AgendaEntry, ...] = ()

    def agenda_for(self, session: int) -> AgendaEntry | None:
        """Session n uses item n; the last item repeats when there are more sessions."""
        if not self.agenda:
            return None
        return self.agenda[min(session, len(self.agenda)) - 1]


@dataclass(frozen=True, slots=True)
class PairDesired:
    id: str
    mentor: Participant
    mentee: Participant
    organizer: str
    rules: Rules
    fingerprint: str
    start: date  # no session before this day (the pair's own start, or the programme's)
    topics: tuple[str, ...] = ()

    def from_directory(self, people: Mapping[str, tuple[str, str]]) -> PairDesired:
        """The pair with its two people named as the directory names them (see ``Participant``)."""
        if not people:
            return self
        mentor, mentee = self.mentor.from_directory(people), self.mentee.from_directory(people)
        if (mentor, mentee) == (self.mentor, self.mentee):
            return self
        return replace(self, mentor=mentor, mentee=mentee)


@dataclass(frozen=True, slots=True)
class Desired:
    key: str  # stable programme key, tags everything we write
    name: str
    lead: str
    zone: tzinfo
    start: date
    end: date
    blackouts: tuple[tuple[date, date], ...]
    reject_reporting_lines: bool
    pairs: tuple[PairDesired, ...]
    organizers: tuple[str, ...]
    shard: tuple[int, int] = (0, 1)  # (index, count): this worker serves one shard of the programme
    all_organizers: tuple[str, ...] = ()  # every programme mailbox, across shards
    all_pairs: frozenset[str] = frozenset()  # every pair of the programme, across shards
    # The programme's rating key (``ratings.programme_key_for``); empty: no links. A secret: never in a repr.
    rating_key: bytes = field(default=b"", repr=False)
    purpose: str = (
        "Reverse mentoring pairs a digital-native colleague with a senior leader, so that both learn from "
        "each other."
    )
    blackout_reasons: tuple[tuple[date, date, str], ...] = ()  # (first, last, reason) as the lead wrote it

    def from_directory(self, people: Mapping[str, tuple[str, str]]) -> Desired:
        """The programme with every pair's people named as the directory names them."""
        if not people:
            return self
        return replace(self, pairs=tuple(p.from_directory(people) for p in self.pairs))


@dataclass(frozen=True, slots=True)
class Observed:
    """Everything one pass read, over ``horizon`` (free/busy) and ``since``..``horizon.end`` (our events)."""

    horizon: Interval
    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    series: tuple[SeriesInfo, ...] = ()
    occurrences: Mapping[str, tuple[OccurrenceInfo, ...]] = field(default_factory=dict)
    chains: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sent: frozenset[str] = frozenset()
    since: datetime | None = None
    ratings: tuple[Rating, ...] = ()  # counted ratings, as the programme mailboxes record them
    unreadable: Mapping[str, str] = field(
        default_factory=dict
    )  # mailbox -> why its series could not be listed
    people: Mapping[str, tuple[str, str]] = field(
        default_factory=dict
    )  # lower-case address -> the directory's (displayName, givenName), "" where it has none


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def shard_owns(shard: tuple[int, int], *, organizer: str, organizers: tuple[str, ...], pair: str) -> bool:
    """Whether shard ``(i, n)`` serves ``pair``, organised by ``organizer``.

    With at least as many programme mailboxes as shards, a shard owns whole mailboxes (index mod n),
    so shards never share a mailbox's request budget; with fewer, pairs are split by their own hash.
    """
    index, count = shard
    if count <= 1:
        return True
    if len(organizers) >= count and organizer in organizers:
        return organizers.index(organizer) % count == index
    return _hash(pair) % count == index
