"""From what one pass observed to the report's inputs: the glue `crossgen report` calls.

``report_from_state`` takes the planner's own inputs and verdicts (``Desired``, ``Observed``, the
``Plan``'s pair statuses) and the feedback keys found in the sending mailbox, and returns the
``ProgrammeReport``. It is pure like the planner, so the report's numbers are the calendars' numbers.
For the counts to cover the whole programme, ``observed`` should hold our series' occurrences from the
programme's start (``Observed.since``), not only the repair horizon.

Facts read off Graph's shapes:
- declined: an attendee whose response on that occurrence is ``declined``;
- moved: an occurrence we moved carries our ``moves`` property (``PROP_MOVES``), so an occurrence
  someone else edited is not counted as moved by us;
- a series whose pair is no longer in the programme makes a *cancelled* row, named from its attendees.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any, NamedTuple

from worker.core.desired import PROP_MOVES, PROP_PROGRAMME, PROP_SKIPPED, Desired, Observed
from worker.core.plan import PairStatus as PlannedStatus
from worker.core.recurrence import parse_skipped
from worker.core.render import Person
from worker.core.types import OccurrenceInfo, Response, SeriesInfo
from worker.report.model import (
    BlackoutRow,
    FeedbackKey,
    PairInput,
    PairStatus,
    ProgrammeInfo,
    ProgrammeReport,
    SessionRecord,
    build_report,
)

# Why crossgen cancelled, as the audit log names it -> as the lead reads it.
CAUSES = {
    "blackout": "a blackout",
    "pair_removed": "the pair left the programme",
    "policy_changed": "the policy changed (the series was re-cut)",
    "duplicate": "a duplicate series",
    "programme_ended": "the programme ended",
}


class BlackoutInput(NamedTuple):
    start: date
    end: date
    reason: str


def cancellations_by_cause(cancels: Iterable[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """(cause, count) from the audit log's ``cancel`` lines, most frequent first; unknown causes by name."""
    counted = Counter(CAUSES.get(str(c.get("reason")), str(c.get("reason"))) for c in cancels)
    return sorted(counted.items(), key=lambda item: (-item[1], item[0]))


def blackout_rows(blackouts: Iterable[BlackoutInput], series: Iterable[SeriesInfo]) -> list[BlackoutRow]:
    """Each blackout with the booked sessions it took away: the pattern dates our series skip for it."""
    skipped = [d for s in series for d in parse_skipped(s.properties.get(PROP_SKIPPED))]
    return [
        BlackoutRow(b.start, b.end, b.reason, sum(b.start <= d <= b.end for d in skipped)) for b in blackouts
    ]


_FEEDBACK = "feedback"
_ROLES = ("mentor", "mentee")


def feedback_keys(keys: Iterable[str], programme_key: str) -> list[FeedbackKey]:
    """Parse the planner's feedback mail keys, ``{programme}/{pair}/feedback/{n}/{role}``; skip others."""
    found = []
    prefix = f"{programme_key}/"
    for key in keys:
        if not key.startswith(prefix):
            continue
        parts = key[len(prefix):].rsplit("/", 3)
        if len(parts) == 4 and parts[1] == _FEEDBACK and parts[2].isdigit() and parts[3] in _ROLES:
            found.append(FeedbackKey(parts[0], int(parts[2]), parts[3]))
    return found


def _moved(occ: OccurrenceInfo) -> bool:
    try:
        return int(occ.properties.get(PROP_MOVES, "0") or 0) > 0
    except ValueError:
        return False


def session_records(pair_id: str, series: Iterable[SeriesInfo], observed: Observed) -> list[SessionRecord]:
    """The pair's sessions across its series (a re-cut pair has several), numbered in time order.

    Numbers here only name records; every count in the report is by state and time, not by number.
    """
    occurrences = [occ for s in series for occ in observed.occurrences.get(s.id, ())]
    occurrences.sort(key=lambda o: (o.original_start or o.start, o.id))
    return [
        SessionRecord(
            pair_id, number, occ.start, occ.end,
            cancelled=occ.is_cancelled,
            declined_by=frozenset(a.address for a in occ.attendees if a.response is Response.DECLINED),
            moved=_moved(occ),
        )
        for number, occ in enumerate(occurrences, start=1)
    ]


def _removed_pair(pair_id: str, series: list[SeriesInfo]) -> PairInput:
    attendees = [a for s in series for a in s.attendees if a.address.lower() != s.organizer.lower()]
    people = [Person(a.name or a.address, a.address) for a in attendees[:2]]
    while len(people) < 2:
        people.append(Person("?", ""))
    return PairInput(pair_id, people[0], people[1], "", PairStatus.CANCELLED,
                     "no longer in the programme; its future sessions were cancelled")


def _status(verdict: PlannedStatus | None) -> tuple[PairStatus, str]:
    if verdict is None:
        return PairStatus.PENDING, "not planned yet"
    try:
        return PairStatus(verdict.state), verdict.detail
    except ValueError:  # a state the report does not know yet: show it rather than hide the pair
        return PairStatus.ERROR, f"{verdict.state}: {verdict.detail}".rstrip(": ")


def report_from_state(*, desired: Desired, observed: Observed, statuses: Iterable[PlannedStatus],
                      now: datetime, sent_keys: Iterable[str] | None = None,
                      cancels: Iterable[Mapping[str, Any]] = (),
                      blackouts: Iterable[BlackoutInput] = (),
                      ratings_ignored: int = 0) -> ProgrammeReport:
    """The report at ``now``. ``sent_keys`` are mail keys found in the sending mailbox (default:
    ``observed.sent``); ``statuses`` are ``Plan.statuses`` for the same inputs; ``cancels`` the audit
    log's cancel lines; ``blackouts`` the programme's, with their reasons. The ratings are
    ``observed.ratings`` (as the programme mailboxes record them); ``ratings_ignored``: replies ignored."""
    planned = {s.pair: s for s in statuses}
    ours = [s for s in observed.series if s.properties.get(PROP_PROGRAMME, desired.key) == desired.key]
    by_pair: dict[str, list[SeriesInfo]] = {}
    for s in ours:
        by_pair.setdefault(s.key, []).append(s)
    pairs: list[PairInput] = []
    records: list[SessionRecord] = []
    for pair in desired.pairs:
        status, detail = _status(planned.get(pair.id))
        mentor, mentee = (Person(p.name, p.address) for p in (pair.mentor, pair.mentee))
        pairs.append(PairInput(pair.id, mentor, mentee, pair.rules.name, status, detail))
        records += session_records(pair.id, by_pair.get(pair.id, ()), observed)
    wanted = {p.id for p in desired.pairs}
    for pair_id in sorted(set(by_pair) - wanted):
        pairs.append(_removed_pair(pair_id, by_pair[pair_id]))
        records += session_records(pair_id, by_pair[pair_id], observed)
    programme = ProgrammeInfo(desired.name, desired.lead, desired.start, desired.end, desired.zone)
    keys = observed.sent if sent_keys is None else sent_keys
    rules = {pair.id: pair.rules for pair in desired.pairs}
    topics = {}
    for rating in observed.ratings:  # which curriculum item each rated session followed
        if rating.pair in rules:
            agenda = rules[rating.pair].agenda_for(rating.session)
            topics[(rating.pair, rating.session)] = agenda.title if agenda else f"Session {rating.session}"
    return build_report(programme=programme, pairs=pairs, sessions=records,
                        feedback_sent=feedback_keys(keys, desired.key), now=now,
                        cancellations=cancellations_by_cause(cancels),
                        blackouts=blackout_rows(blackouts, ours), ratings=observed.ratings,
                        topics=topics, ratings_ignored=ratings_ignored)
