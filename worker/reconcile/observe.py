"""Read what the planner needs from Graph: free/busy, our series and their occurrences, manager chains.

Reads are grouped to stay cheap: free/busy in chunked sweeps (20 people, < 42 days a call), our series
by one filtered listing per organiser mailbox, their occurrences by one paged calendarView per organiser
mailbox, and people's directory names (displayName, givenName) with their manager chains (when asked
for) by filtered directory listings of a few dozen people each, both cached for a week. A person or
mailbox that fails to read becomes an error on the pairs it touches, never the end of the run.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Iterable, Sequence
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


# People are read in batches of this many (ten getSchedule calls; the chains of the same people), in the
# order the programme's pairs name them, so a run can plan and book its first pairs while the rest are
# still being read (see ``Reading``).
PEOPLE_PER_BATCH = 200
# The first batch is smaller: it is what the first writes wait for, and the programme mailboxes are idle
# until it is in. This many people per programme mailbox (two getSchedule calls and one chain read for
# each): about 20 pairs each, a second's writes, so no mailbox runs dry while the next batches are read.
FIRST_BATCH_PEOPLE = 40


async def observe(
    gateway: Gateway,
    desired: Desired,
    now: datetime,
    state: State,
    *,
    horizon: timedelta = DEFAULT_HORIZON,
    backfill: timedelta = BACKFILL,
    occurrences_until: datetime | None = None,
) -> tuple[Observed, ReadErrors]:
    """One read pass over the programme's calendars.

    ``horizon`` bounds free/busy (getSchedule); our own sessions are listed (calendarView) to the end
    of the horizon, or to ``occurrences_until`` when later: the report reads the whole booked series.
    """
    reading = Reading(
        gateway, desired, now, state, horizon=horizon, backfill=backfill, occurrences_until=occurrences_until
    )
    try:
        return await reading.finished()
    finally:
        await reading.cancel()  # nothing left running if it failed (AuthError) or was cancelled


class Reading:
    """One read pass under way, for a run that plans each pair as soon as its reads are in.

    Our series (and their occurrences) are listed per organiser mailbox; free/busy and manager chains
    are read in batches of ``PEOPLE_PER_BATCH`` people in the order the pairs name them: all at once,
    or with ``batches_at_once``, the first batch alone and then that many at a time, so the first pairs' reads
    are not answered last of everyone's and later reads are spread over the writes instead of coming
    as one burst before them (reads run far ahead of the writes anyway: a batch of 100 pairs takes the
    programme mailbox seconds to book, and its reads one round trip). :meth:`series` gives an ``Observed``
    whose series are complete and whose schedules and chains fill as batches arrive; :meth:`people`
    waits for some people's batches; :meth:`finished` for everything, with the errors.

    The three kinds of read do not depend on each other: on a first run the time before the first
    write is paid in full by the run's wall time, so none waits for another.
    """

    def __init__(
        self,
        gateway: Gateway,
        desired: Desired,
        now: datetime,
        state: State,
        *,
        horizon: timedelta = DEFAULT_HORIZON,
        backfill: timedelta = BACKFILL,
        batches_at_once: int | None = None,
        freeze: bool = False,
        occurrences_until: datetime | None = None,
    ) -> None:
        self._gw, self._desired, self._state = gateway, desired, state
        self._freeze = freeze
        self.errors = ReadErrors()
        self._window = Interval(now, now + horizon)
        start_of_programme = datetime.combine(desired.start, time(0), tzinfo=desired.zone).astimezone(UTC)
        self._since = max(start_of_programme, now - backfill)
        until = max(self._window.end, self._since, occurrences_until or self._window.end)
        self._occurrence_window = Interval(min(self._since, now), until)
        self._organizers = desired.all_organizers or desired.organizers
        # In the order the pairs name them: the first pairs' people are in the first batch.
        people = list(dict.fromkeys(a for p in desired.pairs for a in (p.mentor.address, p.mentee.address)))
        first = min(FIRST_BATCH_PEOPLE * max(1, len(desired.organizers)), PEOPLE_PER_BATCH)
        size = PEOPLE_PER_BATCH
        self._batches = [people[:first]] if people else []
        self._batches += [people[i : i + size] for i in range(first, len(people), size)]
        self._batch_of = {a: i for i, batch in enumerate(self._batches) for a in batch}
        self._schedules: dict[str, Schedule] = {}
        self._chains: dict[str, tuple[str, ...]] = {}
        self._people: dict[str, tuple[str, str]] = {}  # lower-case address -> (displayName, givenName)
        self._chain_errors: dict[str, str] = {}
        self._series: list[SeriesInfo] = []
        self._occurrences: dict[str, tuple[OccurrenceInfo, ...]] = {}
        # Manager chains and names are cached between runs (the steady-state run reads none), but only
        # for a week, so a reorganisation or a new name is noticed.
        read_at = datetime.fromisoformat(state.chains_read) if state.chains_read else None
        if read_at is None or now - read_at > CHAINS_TTL:
            state.chains.clear()
            state.names.clear()
            state.chains_read = now.isoformat()
        self._series_task = asyncio.ensure_future(self._read_series())
        self._people_tasks: list[asyncio.Future[None]] = []
        self._failed: BaseException | None = None  # the first read that raised (AuthError: the run stops)
        self._turns = asyncio.Semaphore(batches_at_once) if batches_at_once else None
        self._first_read = asyncio.Event()
        for i, batch in enumerate(self._batches):  # started in order; semaphores are first come, first served
            task = asyncio.ensure_future(self._read_batch(batch, first=i == 0))
            task.add_done_callback(self._note_failure)
            self._people_tasks.append(task)
        self._observed: Observed | None = None

    async def _read_batch(self, people: list[str], *, first: bool) -> None:
        if self._turns is None:
            await _together(self._read_schedules(people), self._read_chains(people))
            self._keep()
            return
        try:
            if not first:
                await self._first_read.wait()
            async with self._turns:
                await _together(self._read_schedules(people), self._read_chains(people))
                self._keep()
        finally:
            if first:
                self._first_read.set()

    def _keep(self) -> None:
        """With ``freeze``: what a batch read (a few hundred thousand busy intervals at scale) lives until
        the run ends, so it is moved out of the cyclic garbage collector's sight (``gc.freeze``), which
        would otherwise walk it again on every full collection while the run's writes wait: at 2,000
        pairs, 14 passes of about 180 ms each. The run unfreezes when it ends (``run``)."""
        if self._freeze:
            gc.freeze()

    @property
    def _tasks(self) -> list[asyncio.Future[Any]]:
        return [self._series_task, *self._people_tasks]

    async def series(self) -> Observed:
        """Once our series are listed: what was read, with schedules and chains still filling."""
        await _all_or_none([self._series_task], cancel=self._tasks)
        if self._observed is None:
            self._observed = Observed(
                unreadable={
                    box: why for box, why in self.errors.mailboxes.items() if box in self._organizers
                },
                horizon=self._window,
                schedules=self._schedules,
                series=tuple(self._series),
                occurrences=self._occurrences,
                chains=self._chains,
                people=self._people,
                sent=frozenset(self._state.sent),
                since=self._since,
            )
        return self._observed

    def _note_failure(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None and self._failed is None:
            self._failed = task.exception()

    async def people(self, addresses: Iterable[str]) -> None:
        """Wait until the free/busy and chains of ``addresses`` are read (or failed, as errors). Any read
        that raised so far, these people's or a later batch's, raises here: an AuthError stops the run
        before another pair is handed over to be written (pairs of earlier batches may be already)."""
        batches = sorted({self._batch_of[a] for a in addresses if a in self._batch_of})
        waiting = [self._people_tasks[b] for b in batches if not self._people_tasks[b].done()]
        if waiting:
            await _all_or_none(waiting, cancel=self._tasks)
        if self._failed is not None:
            raise self._failed

    async def finished(self) -> tuple[Observed, ReadErrors]:
        """Everything read; per-person errors include the manager chains that could not be read."""
        observed = await self.series()
        await _all_or_none(self._people_tasks, cancel=self._tasks)
        for address, problem in self._chain_errors.items():  # after free/busy's, which say more
            self.errors.people.setdefault(address, problem)
        return observed, self.errors

    async def cancel(self) -> None:
        """Stop every read still running (the run failed or was cancelled)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _read_schedules(self, people: list[str]) -> None:
        try:
            found = await self._gw.free_busy(people, self._window, fallback=self._organizers)
        except AuthError:
            raise  # no identity: the run stops (exit 2), it is not a per-pair problem
        except GraphError as exc:
            log.error("observe.free_busy_failed", people=len(people), error=str(exc))
            self.errors.people.update({p: f"free/busy could not be read: {exc}" for p in people})
            return
        # The gateway answers in lower case; the planner looks people up as the programme spells them.
        for address in people:
            schedule = found.get(address) or found.get(address.lower())
            if schedule is not None:
                self._schedules[address] = schedule

    async def _read_series(self) -> None:
        gw, desired = self._gw, self._desired
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
                self.errors.mailboxes[organizer] = str(exc)
                return []
            return [s for s in listed if s.key in mine or s.key not in desired.all_pairs]

        # One calendarView listing per organiser mailbox holding our series, not one instances call per
        # series: the steady-state run's main cost (a few requests per mailbox instead of one per pair).
        async def occurrences_in(
            organizer: str, ours: list[SeriesInfo]
        ) -> dict[str, tuple[OccurrenceInfo, ...]]:
            try:
                found = await gw.calendar_view(organizer, self._occurrence_window)
            except AuthError:
                raise  # no identity: the run stops (exit 2), it is not a per-pair problem
            except GraphError as exc:
                log.error("observe.occurrences_failed", mailbox=organizer, error=str(exc))
                for s in ours:
                    self.errors.mailboxes[f"series:{s.id}"] = str(exc)
                return {s.id: () for s in ours}
            return {s.id: tuple(found.get(s.id, ())) for s in ours}

        series = [s for listed in await _together(*(series_in(o) for o in self._organizers)) for s in listed]
        by_organizer: dict[str, list[SeriesInfo]] = {}
        for s in series:
            by_organizer.setdefault(s.organizer, []).append(s)
        for part in await _together(*(occurrences_in(o, ours) for o, ours in by_organizer.items())):
            self._occurrences.update(part)
        self._series.extend(series)

    async def _read_chains(self, people: list[str]) -> None:
        """The people's directory names, and their manager chains when pairs in one reporting line are
        refused: one read for both, of those not cached (a name that cannot be read is not an error: the
        person is then named by their address)."""
        state = self._state
        want_chains = self._desired.reject_reporting_lines
        for address in people:
            if want_chains and address in state.chains:
                self._chains[address] = tuple(state.chains[address])
            if (cached := state.names.get(address.lower())) is not None:
                self._people[address.lower()] = (cached[0], cached[1])
        unread = [
            p for p in people if (want_chains and p not in state.chains) or p.lower() not in state.names
        ]
        failed: dict[str, GraphError] = {}
        read: dict[str, list[str]] = {}
        names: dict[str, tuple[str, str]] = {}
        if unread:
            # Everyone not cached at once: a few dozen people per request (see Gateway.manager_chains).
            try:
                read = await self._gw.manager_chains(unread, errors=failed, names=names, chains=want_chains)
            except AuthError:
                raise  # no identity: the run stops (exit 2), it is not a per-pair problem
            except GraphError as exc:
                failed = {a.lower(): exc for a in unread}
        for address in unread:  # the gateway answers in lower case
            problem, chain = failed.get(address.lower()), read.get(address.lower())
            if problem is None:  # read: named as the directory names them ("" for a name it lacks)
                found = names.get(address.lower(), ("", ""))
                self._people[address.lower()] = found
                state.names[address.lower()] = list(found)
            if not want_chains:
                if problem is not None:
                    log.warning("observe.names_failed", person=address, error=str(problem))
                continue
            if problem is not None:
                log.error("observe.manager_chain_failed", person=address, error=str(problem))
                self._chain_errors[address] = f"manager chain could not be read: {problem}"
            elif chain is not None:
                self._chains[address] = tuple(chain)
                state.chains[address] = list(chain)


async def _together(*jobs: Awaitable[T]) -> list[T]:
    """Run ``jobs`` at once and return their results in order; the first failure cancels the rest."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    await _all_or_none(tasks)
    return [task.result() for task in tasks]


async def _all_or_none(
    tasks: Sequence[asyncio.Future[Any]], *, cancel: Sequence[asyncio.Future[Any]] | None = None
) -> None:
    """Wait for every task; when one fails (AuthError: the run stops), cancel the others (or all of
    ``cancel``) and re-raise."""
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        others = tasks if cancel is None else cancel
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        raise
