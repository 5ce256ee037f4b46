"""The ratings in the report: per pair and per session, per topic, over time, and who needs a look.

Pure, like ``model``: it counts from the ratings the programme mailboxes record (each person's latest
per session, as ``worker.core.ratings.judge`` counted them) and the feedback emails found sent (one per
participant per held session: the *asked*), at a ``now`` it is given.

- response rate (per role, per pair, in total): sessions rated by that role / feedback emails sent to it;
- a session's rating: the mean of its people's ratings; a pair's average: the mean of all its ratings;
- per topic: the mean rating of the sessions that followed that curriculum item;
- trend: per month (in the programme's zone) of receipt, the mean rating and how many;
- attention: pairs rating low twice running, or that stopped answering (``ratings.concern``), and pairs
  asked at least twice that never answered.

Comments are carried for the lead's own report only; the company summary never reads them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, tzinfo

from worker.core.ratings import Rating, average, concern


@dataclass(frozen=True, slots=True)
class PairRating:
    pair_id: str
    ratings: int
    average: float | None
    asked: Mapping[str, int]  # role -> feedback emails sent
    answered: Mapping[str, int]  # role -> sessions rated

    def response_rate(self, role: str | None = None) -> float | None:
        asked = sum(self.asked.values()) if role is None else self.asked.get(role, 0)
        answered = sum(self.answered.values()) if role is None else self.answered.get(role, 0)
        return answered / asked if asked else None


@dataclass(frozen=True, slots=True)
class SessionRating:
    pair_id: str
    session: int
    topic: str
    mentor: int | None
    mentee: int | None
    average: float | None


@dataclass(frozen=True, slots=True)
class TopicRating:
    topic: str
    average: float
    ratings: int


@dataclass(frozen=True, slots=True)
class MonthRating:
    month: date  # first day of the month
    average: float
    ratings: int


@dataclass(frozen=True, slots=True)
class Comment:
    pair_id: str
    session: int
    role: str
    text: str


@dataclass(frozen=True, slots=True)
class RatingsSummary:
    received: int = 0
    average: float | None = None
    asked: Mapping[str, int] = field(default_factory=dict)  # role -> feedback emails sent
    answered: Mapping[str, int] = field(default_factory=dict)  # role -> sessions rated
    pairs: tuple[PairRating, ...] = ()
    sessions: tuple[SessionRating, ...] = ()
    topics: tuple[TopicRating, ...] = ()  # best first
    trend: tuple[MonthRating, ...] = ()
    attention: tuple[tuple[str, str], ...] = ()  # (pair id, why)
    comments: tuple[Comment, ...] = ()  # confidential: the lead's report only
    ignored: int = 0  # replies ignored (forged, unknown, malformed, not held)

    def response_rate(self, role: str | None = None) -> float | None:
        asked = sum(self.asked.values()) if role is None else self.asked.get(role, 0)
        answered = sum(self.answered.values()) if role is None else self.answered.get(role, 0)
        return answered / asked if asked else None

    def of(self, pair_id: str) -> PairRating | None:
        return next((p for p in self.pairs if p.pair_id == pair_id), None)


def summarise(
    *,
    pairs: Sequence[str],
    ratings: Iterable[Rating],
    asked: Iterable[tuple[str, int, str]],
    topics: Mapping[tuple[str, int], str],
    zone: tzinfo,
    ignored: int = 0,
    held_sessions: Mapping[str, Sequence[int]] | None = None,
) -> RatingsSummary:
    """``asked``: (pair, session, role) of each feedback email found sent; ``topics``: the curriculum
    title of (pair, session); ``held_sessions``: per pair, its held sessions' numbers (for "stopped
    answering")."""
    known = set(pairs)
    counted = [r for r in ratings if r.pair in known]
    # A rating proves its email went out, even when the sent-mail record (the local cache) was lost.
    sent = {key for key in asked if key[0] in known} | {(r.pair, r.session, r.role) for r in counted}
    by_pair: dict[str, list[Rating]] = defaultdict(list)
    for r in counted:
        by_pair[r.pair].append(r)
    asked_by_pair: dict[str, Counter[str]] = defaultdict(Counter)
    for pair, _session, role in sent:
        asked_by_pair[pair][role] += 1
    pair_rows = tuple(
        PairRating(
            pair,
            len(by_pair[pair]),
            average(r.value for r in by_pair[pair]),
            dict(asked_by_pair[pair]),
            dict(Counter(r.role for r in by_pair[pair])),
        )
        for pair in pairs
    )
    sessions: list[SessionRating] = []
    per_topic: dict[str, list[int]] = defaultdict(list)
    for pair in pairs:
        numbers = sorted({r.session for r in by_pair[pair]})
        for n in numbers:
            values = {r.role: r.value for r in by_pair[pair] if r.session == n}
            topic = topics.get((pair, n), f"Session {n}")
            mean = average(values.values())
            sessions.append(SessionRating(pair, n, topic, values.get("mentor"), values.get("mentee"), mean))
            per_topic[topic] += list(values.values())
    topic_rows = sorted(
        (TopicRating(t, average(v) or 0.0, len(v)) for t, v in per_topic.items()),
        key=lambda t: (-t.average, -t.ratings, t.topic),
    )
    months: dict[date, list[int]] = defaultdict(list)
    for r in counted:
        local = r.received.astimezone(zone).date()
        months[local.replace(day=1)].append(r.value)
    trend = tuple(MonthRating(m, average(v) or 0.0, len(v)) for m, v in sorted(months.items()))
    attention: list[tuple[str, str]] = []
    for row in pair_rows:
        found = concern(by_pair[row.pair_id], due=(held_sessions or {}).get(row.pair_id, ()))
        if found is not None:
            attention.append((row.pair_id, found[1]))
        elif row.ratings == 0 and sum(row.asked.values()) >= 2:
            attention.append((row.pair_id, f"no rating yet, after {sum(row.asked.values())} feedback emails"))
    comments = tuple(
        Comment(r.pair, r.session, r.role, r.comment)
        for r in sorted(counted, key=lambda r: (r.pair, r.session, r.role))
        if r.comment.strip()
    )
    return RatingsSummary(
        received=len(counted),
        average=average(r.value for r in counted),
        asked=dict(Counter(role for _, _, role in sent)),
        answered=dict(Counter(r.role for r in counted)),
        pairs=pair_rows,
        sessions=tuple(sessions),
        topics=tuple(topic_rows),
        trend=trend,
        attention=tuple(attention),
        comments=comments,
        ignored=ignored,
    )


def percent(rate: float | None) -> str:
    """ "67%", or "" when nobody was asked."""
    return "" if rate is None else f"{round(rate * 100)}%"


def one_decimal(value: float | None) -> str:
    """ "4.0", or "" when there is no rating (the CSV contract's ``average_rating``)."""
    return "" if value is None else f"{value:.1f}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_label(month: date) -> str:
    """ "Feb 2027"."""
    return f"{_MONTHS[month.month - 1]} {month.year}"
