"""Read what the planner needs from Graph: free/busy, our series and their occurrences, manager chains.

Reads are grouped to stay cheap: free/busy for everyone in one chunked sweep (20 people, < 42 days a
call), our series by one filtered listing per organiser mailbox, their occurrences by one paged
calendarView per organiser mailbox, and manager chains (when asked for) by filtered directory listings
of a few dozen people each, cached for a week. A person or
mailbox that fails to read becomes an error on the pairs it touches, never the end of the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from worker.core.desired import Desired, Observed
from worker.core.types import Interval, OccurrenceInfo, Schedule, SeriesInfo
from worker.graph.errors import AuthError, GraphError
from worker.reconcile.state import State

if TYPE_CHECKING:
    from worker.graph.gateway import Gateway

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Free/busy is read this far ahead: one getSchedule window (kept within 42 days) per 20 people. Sessions
# further out are placed on the series' pattern and checked as the horizon moves forward.
DEFAULT_HORIZON = timedelta(days=41)
BACKFILL = timedelta(days=120)  # how far back feedback owed is looked for
CHAINS_TTL = timedelta(days=7)  # cached manager chains are read again after this


@dataclass
class ReadErrors:
    """Failures while reading, by address or mailbox, for the per-pair errors of the summary."""

    people: dict[str, str] = field(default_factory=dict)
    mailboxes: dict[str, str] = field(default_factory=dict)


async def observe(
    gateway: Gateway,
    desired: Desired,
    now: datetime,
    state: State,
    *,
    horizon: timedelta = DEFAULT_HORIZON,
    backfill: timedelta = BACKFILL,
) -> tuple[Observed, ReadErrors]:
    """One read pass over the programme's calendars."""
    gw = gateway
    errors = ReadErrors()
    window = Interval(now, now + horizon)
    people = sorted({a for p in desired.pairs for a in (p.mentor.address, p.mentee.address)})

    # The three reads do not depend on each other: they run at once (on a first run the read phase is
    # the time before the first write, so it is paid in full by the run's wall time).
    async def read_schedules() -> Mapping[str, Schedule]:
        try:
            return await gw.free_busy(people, window, fallback=desired.all_organizers or desired.organizers)
        except AuthError:
            raise  # no identity: the run stops (exit 2), it is not a per-pair problem
        except GraphError as exc:
            log.error("observe.free_busy_failed", error=str(exc))
            errors.people.update({p: f"free/busy could not be read: {exc}" for p in people})
            return {}

    start_of_programme = datetime.combine(desired.start, time(0), tzinfo=desired.zone).astimezone(UTC)
    since = max(start_of_programme, now - backfill)
    occurrence_window = Interval(min(since, now), max(window.end, since))
    organizers = desired.all_organizers or desired.organizers
    mine = {p.id for p in desired.pairs}

    # Every programme mailbox is listed (one paged read each): a pair whose series sits in another
    # mailbox than the one it would get today (a mailbox was added) keeps it, instead of a second one.
    async def series_in(organizer: str) -> list[SeriesInfo]:
        try:
            listed = await gw.list_series(organizer, programme=desired.key)
        except AuthError:
            raise  # no identity: the run stops (exit 2), it is not a per-pair problem
        except GraphError as exc:
            log.error("observe.series_failed", mailbox=organizer, error=str(exc))
            errors.mailboxes[organizer] = str(exc)
            return []
        return [s for s in listed if s.key in mine or s.key not in desired.all_pairs]

    # One calendarView listing per organiser mailbox holding our series, not one instances call per series:
    # the steady-state run's main cost (a few requests per mailbox instead of one per pair).
    async def occurrences_in(organizer: str, ours: list[SeriesInfo]) -> dict[str, tuple[OccurrenceInfo, ...]]:
        try:
            found = await gw.calendar_view(organizer, occurrence_window)
        except AuthError:
            raise  # no identity: the run stops (exit 2), it is not a per-pair problem
        except GraphError as exc:
            log.error("observe.occurrences_failed", mailbox=organizer, error=str(exc))
            for s in ours:
                errors.mailboxes[f"series:{s.id}"] = str(exc)
            return {s.id: () for s in ours}
        return {s.id: tuple(found.get(s.id, ())) for s in ours}

    async def read_series() -> tuple[list[SeriesInfo], dict[str, tuple[OccurrenceInfo, ...]]]:
        series = [s for listed in await _together(*(series_in(o) for o in organizers)) for s in listed]
        by_organizer: dict[str, list[SeriesInfo]] = {}
        for s in series:
            by_organizer.setdefault(s.organizer, []).append(s)
        occurrences: dict[str, tuple[OccurrenceInfo, ...]] = {}
        for part in await _together(*(occurrences_in(o, ours) for o, ours in by_organizer.items())):
            occurrences.update(part)
        return series, occurrences

    async def read_chains() -> dict[str, tuple[str, ...]]:
        chains: dict[str, tuple[str, ...]] = {}
        if not desired.reject_reporting_lines:
            return chains
        # Manager chains are cached between runs (the steady-state run reads none), but only for a week,
        # so a reorganisation is noticed.
        read_at = datetime.fromisoformat(state.chains_read) if state.chains_read else None
        if read_at is None or now - read_at > CHAINS_TTL:
            state.chains.clear()
            state.chains_read = now.isoformat()

        unread = [p for p in people if p not in state.chains]
        for address in people:
            if address in state.chains:
                chains[address] = tuple(state.chains[address])
        failed: dict[str, GraphError] = {}
        read: dict[str, list[str]] = {}
        if unread:
            # Everyone not cached at once: a few dozen people per request (see Gateway.manager_chains).
            try:
                read = await gw.manager_chains(unread, errors=failed)
            except AuthError:
                raise  # no identity: the run stops (exit 2), it is not a per-pair problem
            except GraphError as exc:
                failed = {a.lower(): exc for a in unread}
        for address in unread:  # the gateway answers in lower case
            problem, chain = failed.get(address.lower()), read.get(address.lower())
            if problem is not None:
                log.error("observe.manager_chain_failed", person=address, error=str(problem))
                chain_errors[address] = f"manager chain could not be read: {problem}"
            elif chain is not None:
                chains[address] = tuple(chain)
                state.chains[address] = list(chain)
        return chains

    chain_errors: dict[str, str] = {}
    reads = (
        asyncio.ensure_future(read_schedules()),
        asyncio.ensure_future(read_series()),
        asyncio.ensure_future(read_chains()),
    )
    await _all_or_none(reads)
    schedules, (series, occurrences), chains = reads[0].result(), reads[1].result(), reads[2].result()
    for address, problem in chain_errors.items():  # after free/busy's, which say more when both failed
        errors.people.setdefault(address, problem)

    observed = Observed(
        unreadable={
            box: why
            for box, why in errors.mailboxes.items()
            if box in (desired.all_organizers or desired.organizers)
        },
        horizon=window,
        schedules=schedules,
        series=tuple(series),
        occurrences=occurrences,
        chains=chains,
        sent=frozenset(state.sent),
        since=since,
    )
    return observed, errors


async def _together(*jobs: Awaitable[T]) -> list[T]:
    """Run ``jobs`` at once and return their results in order; the first failure cancels the rest."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    await _all_or_none(tasks)
    return [task.result() for task in tasks]


async def _all_or_none(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Wait for every task; when one fails (AuthError: the run stops), cancel the others and re-raise."""
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
