"""Reading the ratings back: list the programme mailboxes' Inboxes, judge (pure), record the decisions.

Each run lists the messages received in each programme mailbox's Inbox over its look-back (120 days;
the report: since the programme started), paged, paced and retried like every read, lets
``worker.core.ratings.judge`` decide; ``apply.mark_messages`` records each new decision on the message
itself as a category (``PATCH``), so the mailbox stays the record: a run that lost its local state
judges nothing twice and counts the same ratings. The planner gets the counted ratings
(``Observed.ratings``) for its disengagement alert; the report gets them too, with the comments (read
only for the lead's report).

Comments are confidential: nothing here logs a subject, a body or a comment; only message ids,
verdicts and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

import structlog

from worker.core.desired import Desired, Observed
from worker.core.plan import held_numbers
from worker.core.ratings import CATEGORY_IGNORED, CATEGORY_RATING, Judged, PairPeople, Verdict, judge
from worker.graph.errors import AuthError, GraphError

if TYPE_CHECKING:
    from worker.graph.gateway import Gateway

log = structlog.get_logger(__name__)


@dataclass
class RatingsRead:
    judged: Judged = field(default_factory=Judged)
    unreadable: dict[str, str] = field(default_factory=dict)  # mailbox -> why its Inbox could not be read
    recorded: int = 0  # decisions recorded in the mailbox this run
    accepted_now: int = 0
    ignored_now: int = 0


async def read_ratings(
    gateway: Gateway, desired: Desired, observed: Observed, now: datetime, *, comments: bool = False
) -> RatingsRead:
    """Judge what the programme mailboxes' Inboxes hold. With no rating key, nothing is read."""
    out = RatingsRead()
    if not desired.rating_key:
        return out
    # Replies since the pass's look-back (``Observed.since``: what it knows of the sessions held), or since
    # the programme started: a run reads a bounded window, the lead's report everything.
    start = datetime.combine(desired.start - timedelta(days=1), time(0), tzinfo=desired.zone)
    since = max(start, observed.since) if observed.since is not None else start
    messages = []
    for mailbox in desired.organizers:
        try:
            messages += await gateway.inbox(mailbox, since=since, bodies=comments)
        except AuthError:
            raise
        except GraphError as exc:  # the ratings wait for the next run; the sessions do not
            out.unreadable[mailbox] = str(exc)
            log.warning("ratings.inbox_unreadable", mailbox=mailbox, error=str(exc))
    own = {p.id for p in desired.pairs}
    out.judged = judge(
        messages,
        key=desired.rating_key,
        programme=desired.key,
        pairs={p.id: PairPeople(p.mentor.address, p.mentee.address) for p in desired.pairs},
        # Which sessions took place matters only if some message carries a token (most passes: none new).
        held={p.id: held_numbers(desired, observed, p, now) for p in desired.pairs}
        if any(
            "cg1." in f"{m.subject} {m.body}".lower()
            and not {CATEGORY_RATING, CATEGORY_IGNORED} & set(m.categories)
            for m in messages
        )
        else {},
        others=frozenset(desired.all_pairs - own),
    )
    out.accepted_now = sum(m.verdict is Verdict.ACCEPTED for m in out.judged.marks)
    out.ignored_now = len(out.judged.marks) - out.accepted_now
    return out
