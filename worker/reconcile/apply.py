"""Apply a plan: the only code that writes to Graph.

Each pair's actions run in order, pairs concurrently (the gateway's pacing keeps each mailbox under
its limits). A failing pair is recorded and the others go on. Every write is guarded by a lookup on
a deterministic key, so a crash at any instant followed by a rerun duplicates nothing:
- a series: looked up by its pair key (extended property) before create, and created with a
  deterministic transactionId, so even a create retried after a lost response is de-duplicated;
- an email: its key is a deterministic Message-ID looked up in the sender's Sent Items before send;
- a move or an agenda: idempotent PATCHes carrying their own marker properties;
- a rating reply judged: an idempotent PATCH of its categories (``mark_messages``).
Emails beyond the sending budget wait for the next run rather than being throttled.

A new series the slot engine kept on its pattern except in blacked-out or out-of-office weeks needs
those sessions moved or cancelled once it exists. That fix-up runs after all the run's pairs, per
organiser mailbox: a few calendarView listings over the affected days find every new series' occurrences
at once, instead of one ``instances`` read per series (see ``_fix_mailbox``).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog

from worker.core.actions import (
    Action,
    Book,
    Cancel,
    CancelScope,
    Escalate,
    Move,
    SendFeedback,
    UpdateAgenda,
)
from worker.core.desired import PROP_AGENDA, PROP_MOVES, PROP_PROGRAMME, PROP_SKIPPED
from worker.core.plan import PROP_ENDED, Plan
from worker.core.recurrence import held_sessions, sessions_of
from worker.core.types import Interval, MailSpec, OccurrenceInfo, Session
from worker.graph.errors import AuthError, GraphError, SendBudgetExhausted
from worker.reconcile.state import State

if TYPE_CHECKING:
    from worker.core.ratings import Mark
    from worker.graph.gateway import Gateway
    from worker.reconcile.ratings import RatingsRead

log = structlog.get_logger(__name__)

# Two fix-up windows this close are listed as one: a weekend between two blacked-out weeks costs a few
# more occurrences in a page of 1,000, not another request.
FIXUP_GAP = timedelta(days=3)

# Pairs in progress per programme mailbox. Creates and cancels travel in JSON batches of up to 20 items
# (``Gateway.create_series``, ``batching``) that Graph carries out four at a time: with 40 pairs, one
# full batch is being carried out while the next fills. (Sent one request each, 8 kept the four slots
# busy; batched, 8 made batches of four, each paying a round trip for one latency of work.)
PAIRS_PER_MAILBOX = 40

# Pairs in progress across all mailboxes: beyond this, tasks would only queue in front of httpx's pool of
# 100 connections (which rescans its waiters on every change: CPU for nothing). A pair waiting for its
# batch holds no connection: four programme mailboxes' 40 each fit.
MAX_PAIRS_AT_ONCE = 160


@dataclass
class Outcome:
    """What one apply did, for the summary line and the report."""

    booked: int = 0
    moved: int = 0
    cancelled: int = 0
    agendas: int = 0
    feedback_sent: int = 0
    escalations_sent: int = 0
    deferred: int = 0  # emails left for the next run (sending budget)
    already_done: int = 0  # writes found done by an earlier (crashed or raced) run
    writes: int = 0
    skipped: bool = False  # another run held the programme's lease: this one wrote nothing
    stopped: int = 0  # pairs left for the next run because the run was asked to stop (SIGTERM)
    errors: dict[str, str] = field(default_factory=dict)  # pair -> message


async def apply(
    gateway: Gateway,
    plan: Plan,
    state: State,
    *,
    now: datetime,
    on_write: Callable[[str, Action], None] | None = None,
    concurrency: int = PAIRS_PER_MAILBOX,
    stopping: Callable[[], bool] | None = None,
    exclusive: bool = False,
) -> Outcome:
    """Carry out ``plan``. ``on_write`` is told of each write as it completes (progress, tests).
    ``exclusive``: this run holds the programme's lease on every mailbox it writes to.

    ``concurrency`` pairs at a time per programme mailbox (a full JSON batch of creates and a few more,
    so the mailbox's next batch fills while one is carried out), and at most ``MAX_PAIRS_AT_ONCE`` in
    all: the mailboxes of a sharded programme are written in parallel, each at its own limit.

    Once ``stopping()`` is true (SIGTERM), no pair starts another action; writes already sent finish,
    so the run ends between writes and the next run picks up where this one stopped.
    """
    books = Counter(_mailbox_of(a).lower() for a in plan.actions if isinstance(a, Book))
    applying = Applying(
        gateway,
        state,
        now=now,
        books=books,
        on_write=on_write,
        concurrency=concurrency,
        stopping=stopping,
        exclusive=exclusive,
    )
    try:
        applying.pairs(plan.actions)
        return await applying.finished()
    finally:
        await applying.cancel()


class Applying:
    """An apply under way, fed pair by pair (``apply`` feeds a whole plan; a run that plans while it
    reads feeds each pair as it is decided). :meth:`pair` starts a pair's actions, in order; pairs run
    concurrently under the gates ``apply`` describes. :meth:`finished` waits for every pair, then fixes
    up the new series; :meth:`cancel` stops whatever is still running.

    ``books``: how many creates each organiser mailbox is expected to get (exactly, or an estimate), for
    the fix-up waves: a mailbox with many creates lists the first half's blacked-out days while the
    second half is being created, so the listings never leave it idle. An estimate only moves that
    first wave: whatever it did not take is fixed up after the last pair.
    """

    def __init__(
        self,
        gateway: Gateway,
        state: State,
        *,
        now: datetime,
        books: Counter[str],
        on_write: Callable[[str, Action], None] | None = None,
        concurrency: int = PAIRS_PER_MAILBOX,
        stopping: Callable[[], bool] | None = None,
        exclusive: bool = False,
    ) -> None:
        self._gw, self._state, self._now = gateway, state, now
        self._on_write, self._stopping, self._exclusive = on_write, stopping, exclusive
        self.outcome = Outcome()
        self._gates = _Gates(concurrency)
        self._fixups: dict[str, list[_Fixup]] = defaultdict(list)  # organiser mailbox -> series to fix up
        self._fixing: dict[str, asyncio.Semaphore] = {}  # organiser mailbox -> its series being fixed up
        self._stopped: set[str] = set()
        self._books = books
        self._booked: Counter[str] = Counter()
        self._pairs_of: dict[str, list[asyncio.Task[None]]] = defaultdict(list)  # by the mailbox they write
        self._waves: list[asyncio.Task[None]] = []
        self._closed = False  # cancelled: no new wave may start (a pair's `finally` could start one)

    def pair(self, actions: list[Action]) -> None:
        """Start carrying out one pair's actions (all of one pair, in order)."""
        if actions and not self._closed:
            task = asyncio.ensure_future(self._run_pair(actions[0].pair, actions))
            self._pairs_of[_mailbox_of(actions[0]).lower()].append(task)

    def pairs(self, actions: Iterable[Action]) -> None:
        """Start carrying out ``actions``, of any number of pairs: each pair's in their order."""
        by_pair: dict[str, list[Action]] = defaultdict(list)
        for action in actions:
            by_pair[action.pair].append(action)
        for mine in by_pair.values():
            self.pair(mine)

    async def finished(self) -> Outcome:
        """Wait for every pair started, then fix up the rest of the new series (a few listings per
        mailbox): each mailbox as soon as its own pairs are done, so one that finished its creates
        first does not idle until the others have. A bug (not a Graph error, which stays the pair's) or
        cancellation stops every other write before this returns: nothing may go on writing once the
        run gives its lease back."""

        async def mailbox_done(box: str, tasks: list[asyncio.Task[None]]) -> None:
            await asyncio.gather(*tasks)
            self._fix_up(box)

        try:
            await asyncio.gather(*(mailbox_done(box, tasks) for box, tasks in list(self._pairs_of.items())))
            for box in list(self._fixups):
                self._fix_up(box)
            await asyncio.gather(*self._waves)
        except BaseException:
            await self.cancel()
            raise
        return self.outcome

    async def cancel(self) -> None:
        self._closed = True
        tasks = [*(t for mine in self._pairs_of.values() for t in mine), *self._waves]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _fix_up(self, box: str) -> None:
        if self._closed:
            return
        found = self._fixups.pop(box, [])
        if found:
            self._waves.append(
                asyncio.ensure_future(
                    _fix_mailbox(
                        self._gw,
                        box,
                        found,
                        self._state,
                        self.outcome,
                        self._now,
                        self._fixing.setdefault(box, asyncio.Semaphore(FIXUP_SERIES_AT_ONCE)),
                        self._stopping,
                        self._stopped,
                    )
                )
            )

    def _book_done(self, box: str) -> None:
        self._booked[box] += 1
        if self._books[box] >= FIXUP_WAVE_MIN and self._booked[box] == self._books[box] // 2:
            self._fix_up(box)

    async def _run_pair(self, pair: str, actions: list[Action]) -> None:
        outcome, state, stopping = self.outcome, self._state, self._stopping
        async with self._gates.of(_mailbox_of(actions[0])):
            for action in actions:
                if stopping is not None and stopping():
                    if pair not in self._stopped:  # a fix-up wave may have counted it already
                        outcome.stopped += 1
                        self._stopped.add(pair)
                    return
                try:
                    fixup = await _apply_one(self._gw, action, state, outcome, self._now, self._exclusive)
                    if fixup is not None:
                        self._fixups[fixup.organizer.lower()].append(fixup)
                except SendBudgetExhausted:
                    outcome.deferred += 1
                    log.info("apply.mail_deferred", pair=pair, kind=action.kind.value)
                    continue
                except GraphError as exc:
                    outcome.errors[pair] = f"{action.kind.value}: {exc}"
                    log.error("apply.pair_failed", pair=pair, kind=action.kind.value, error=str(exc))
                    state.audit(
                        {"at": self._now, "pair": pair, "action": action.kind.value, "error": str(exc)}
                    )
                    if isinstance(action, Book | Cancel):
                        return  # the pair's later actions depend on its series; the next run picks up
                    continue  # an email, an agenda or one move failing must not block the pair's repairs
                finally:
                    if isinstance(action, Book):
                        self._book_done(_mailbox_of(action).lower())
                if self._on_write is not None:
                    self._on_write(pair, action)


# A mailbox with at least this many creates in one run is fixed up in two waves (see ``apply``).
FIXUP_WAVE_MIN = 40

# Series of one mailbox fixed up at once. Their cancels go out together as a few JSON batches (two of a
# wave's series in three need one; see ``Gateway.cancel``), so this keeps about two full batches ready:
# one being carried out four items at a time, the next waiting, and no round trip idles the mailbox. A
# SIGTERM waits for at most these before the run stops.
FIXUP_SERIES_AT_ONCE = 30



def _mailbox_of(action: Action) -> str:
    """The mailbox an action writes to (its series' organiser, or the sender of its email)."""
    if isinstance(action, Book):
        return action.spec.organizer
    if isinstance(action, SendFeedback | Escalate):
        return action.mail.sender if action.mail is not None else ""
    return action.organizer


class _Gate:
    """One mailbox's gate, then the run's overall one: taken in that order, so pairs waiting for a busy
    mailbox never hold a place another mailbox's pairs could use."""

    def __init__(self, own: asyncio.Semaphore, overall: asyncio.Semaphore) -> None:
        self._own, self._overall = own, overall

    async def __aenter__(self) -> None:
        await self._own.acquire()
        try:
            await self._overall.acquire()
        except BaseException:
            self._own.release()
            raise

    async def __aexit__(self, *_: object) -> None:
        self._overall.release()
        self._own.release()


class _Gates:
    def __init__(self, per_mailbox: int) -> None:
        self._per_mailbox = per_mailbox
        self._overall = asyncio.Semaphore(MAX_PAIRS_AT_ONCE)
        self._own: dict[str, asyncio.Semaphore] = {}

    def of(self, mailbox: str) -> _Gate:
        own = self._own.setdefault(mailbox.lower(), asyncio.Semaphore(self._per_mailbox))
        return _Gate(own, self._overall)


async def _apply_one(
    gw: Gateway, action: Action, state: State, out: Outcome, now: datetime, exclusive: bool = False
) -> _Fixup | None:
    """Carry out one action; a Book returns what its new series still needs (``_fix_mailbox``)."""
    bound = log.bind(pair=action.pair, kind=action.kind.value)
    if isinstance(action, Book):
        return await _book(gw, action, state, out, now, exclusive=exclusive)
    elif isinstance(action, Move):
        await gw.move_occurrence(
            action.organizer,
            action.occurrence_id,
            start=action.new.start,
            end=action.new.end,
            zone_name=action.zone_name,
            properties={
                PROP_MOVES: str(action.moves_so_far + 1),
                # the body carries the session's agenda: it needs no agenda update later
                **({PROP_AGENDA: str(action.session)} if action.body_html else {}),
            },
            body_html=action.body_html or None,
            subject=action.subject or None,
        )
        out.moved += 1
        out.writes += 1
        bound.info(
            "session.moved",
            session=action.session,
            reason=action.reason.value,
            old=action.old_start.isoformat(),
            new=action.new.start.isoformat(),
        )
        state.audit(
            {
                "at": now,
                "pair": action.pair,
                "action": "move",
                "session": action.session,
                "reason": action.reason.value,
                "from": action.old_start,
                "to": action.new.start,
            }
        )
    elif isinstance(action, Cancel):
        if action.scope is CancelScope.END_AFTER:
            assert action.last_date is not None
            await gw.end_series(
                action.organizer,
                action.event_id,
                action.last_date,
                properties={PROP_ENDED: action.last_date.isoformat()},
                body_html=action.notice_html or None,
            )
        else:
            if action.series_id and action.skipped:  # mark first: a crash before the cancel heals on rerun
                await gw.update_occurrence(
                    action.organizer, action.series_id, properties={PROP_SKIPPED: action.skipped}
                )
                out.writes += 1
            await gw.cancel(action.organizer, action.event_id, action.comment)
        out.cancelled += 1
        out.writes += 1
        bound.info("series.cancelled", scope=action.scope.value, reason=action.reason.value)
        state.audit(
            {
                "at": now,
                "pair": action.pair,
                "action": "cancel",
                "scope": action.scope.value,
                "reason": action.reason.value,
            }
        )
    elif isinstance(action, UpdateAgenda):
        await gw.update_occurrence(
            action.organizer,
            action.occurrence_id,
            body_html=action.body_html,
            subject=action.subject,
            properties={PROP_AGENDA: str(action.session)},
        )
        out.agendas += 1
        out.writes += 1
        bound.info("session.agenda_set", session=action.session)  # every write is a line of the audit trail
    elif isinstance(action, SendFeedback):
        if await _send(gw, action.mail, state, out):
            out.feedback_sent += 1
            bound.info("feedback.sent", session=action.session, role=action.role.value)
    elif isinstance(action, Escalate):
        bound.warning("pair.escalated", reason=action.reason.value, detail=action.detail)
        if action.mail is not None and await _send(gw, action.mail, state, out):
            out.escalations_sent += 1
    return None


async def _send(gw: Gateway, mail: MailSpec, state: State, out: Outcome) -> bool:
    """Send once; True if it went out now. The key is recorded either way (it is in Sent Items)."""
    sent_now = await gw.send_mail_once(mail)
    state.mark_sent([mail.key])
    if sent_now:
        out.writes += 1
    else:
        out.already_done += 1
    return bool(sent_now)


@dataclass(frozen=True, slots=True)
class _Fixup:
    """A series created by this run whose blacked-out or out-of-office sessions are still to be moved
    (``moves``: pattern start -> where the session goes) or cancelled (``cancels``: pattern starts)."""

    pair: str
    organizer: str
    series_id: str
    zone_name: str
    moves: tuple[tuple[datetime, Session], ...]
    cancels: tuple[datetime, ...]
    note: str  # the cancellation comment
    notes: tuple[tuple[datetime, str], ...] = ()  # each cancelled start's own comment (its date and why)

    def note_for(self, original: datetime) -> str:
        return next((note for start, note in self.notes if start == original), self.note)

    @property
    def starts(self) -> list[datetime]:
        return [original for original, _ in self.moves] + list(self.cancels)


async def _book(
    gw: Gateway, action: Book, state: State, out: Outcome, now: datetime, *, exclusive: bool
) -> _Fixup | None:
    spec = action.spec
    if not exclusive:
        # Without the run lease (leasing off, or a mailbox we could not lease) another run may have booked
        # the pair since we read: look again. With it, what observe listed is current, and a create
        # retried after an ambiguous failure is de-duplicated by its transactionId and looked up anyway.
        # The same two people may be a pair in another programme run from this mailbox: only ours counts.
        programme = spec.properties.get(PROP_PROGRAMME)
        existing = [
            s
            for s in await gw.find_series(spec.organizer, spec.key)
            if PROP_ENDED not in s.properties and s.properties.get(PROP_PROGRAMME, programme) == programme
        ]
        if existing:
            out.already_done += 1  # an earlier run created it and died before recording anything
            return None
    series = await gw.create_series(spec)
    out.booked += 1
    out.writes += 1
    log.info(
        "series.booked",
        pair=action.pair,
        organizer=spec.organizer,
        first=action.sessions[0].start.isoformat(),
        recurrence=str(spec.recurrence.cadence),
        sessions=len(action.sessions),
    )
    state.audit(
        {
            "at": now,
            "pair": action.pair,
            "action": "book",
            "series": series.id,
            "first": action.sessions[0].start,
        }
    )
    if not action.skipped and not any(s.moved for s in action.sessions):
        return None
    # The slot engine kept the series on its pattern except where a blackout or an out-of-office day
    # hit it: those sessions become exceptions (moved within their week) or are cancelled (no room).
    # Which occurrences those are is found after the run's other creates (``_fix_mailbox``).
    zone = _zone(spec.zone_name)
    at, duration = spec.start_local.time(), spec.end_local - spec.start_local
    pattern = sessions_of(spec.recurrence, at=at, duration=duration, zone=zone)
    held = held_sessions(
        spec.recurrence,
        at=at,
        duration=duration,
        zone=zone,
        first_number=action.sessions[0].number,
        skipped=frozenset(action.skipped),
    )
    by_number = {s.number: s for s in held}
    moves = tuple(
        (original.start, session)
        for session in action.sessions
        if session.moved and (original := by_number.get(session.number)) is not None
    )
    cancels = tuple(s.start for s in pattern if s.start.astimezone(zone).date() in action.skipped)
    notes = tuple((start, action.note_for(start.astimezone(zone).date())) for start in cancels)
    return _Fixup(
        action.pair, spec.organizer, series.id, spec.zone_name, moves, cancels, action.skip_note, notes
    )


def _windows(starts: Iterable[datetime]) -> list[Interval]:
    """The UTC days of ``starts`` with a day either side, merged where they overlap or are at most
    ``FIXUP_GAP`` apart: blackout weeks are the same for every pair, so a mailbox's new series need a
    few such listings (one per blacked-out stretch), not one read per series."""
    windows: list[Interval] = []
    for day in sorted({s.astimezone(UTC).date() for s in starts}):
        begin = datetime.combine(day - timedelta(days=1), time(0), tzinfo=UTC)
        end = begin + timedelta(days=3)
        if windows and begin <= windows[-1].end + FIXUP_GAP:
            windows[-1] = Interval(windows[-1].start, max(windows[-1].end, end))
        else:
            windows.append(Interval(begin, end))
    return windows


async def _fix_mailbox(
    gw: Gateway,
    organizer: str,
    fixups: list[_Fixup],
    state: State,
    out: Outcome,
    now: datetime,
    gate: asyncio.Semaphore,
    stopping: Callable[[], bool] | None,
    stopped: set[str],
) -> None:
    """Move and cancel the blacked-out or out-of-office sessions of the series this run created in one
    mailbox, found by calendarView listings over only the days they fall on.

    Crash safety: nothing here is needed for a later run to converge, so this can come after every
    create. The ``skipped`` dates are written with the create itself (a property of the series, the
    same "mark before cancelling" order as a blackout added later), so from the moment the series exists
    the planner cancels the occurrences on them (``plan._cancel_skipped``), and it moves any session
    that sits in a blackout (always) or an out-of-office day (as the policy's ``on_conflict`` and
    ``max_moves`` allow; with ``keep`` the lead is told instead) (``plan._repair``, ``_trouble``), each as
    the read window reaches it, weeks before it takes place. So a run that dies after its creates, is
    stopped (SIGTERM) before this phase, fails a listing, or does not see a new series in the listing yet
    (Graph's lag) leaves those sessions to the next runs. Nothing is done twice: each new series is fixed
    once in its run, an occurrence already cancelled or already at its new time is left alone (so a
    later run finds nothing to do), and a cancel is looked up before any retry.
    """
    if stopping is not None and stopping():  # SIGTERM: no listing either, the next run repairs
        for fixup in fixups:
            if fixup.pair not in stopped:
                stopped.add(fixup.pair)
                out.stopped += 1
        return
    windows = _windows(s for f in fixups for s in f.starts)
    wanted = {f.series_id for f in fixups}

    async def listing(window: Interval) -> dict[str, list[OccurrenceInfo]] | GraphError:
        try:
            return await gw.calendar_view(organizer, window, amid_writes=True)
        except GraphError as exc:
            log.error("apply.fixup_listing_failed", organizer=organizer, error=str(exc))
            return exc

    # By series, then by pattern (original) start: an occurrence not yet moved starts there.
    found: dict[str, dict[datetime, OccurrenceInfo]] = defaultdict(dict)
    failed: list[tuple[Interval, GraphError]] = []
    for window, listed in zip(windows, await asyncio.gather(*(listing(w) for w in windows)), strict=True):
        if isinstance(listed, GraphError):
            failed.append((window, listed))
            continue
        for series_id, occurrences in listed.items():
            if series_id in wanted:
                for occ in occurrences:
                    found[series_id][occ.original_start or occ.start] = occ

    async def fix(fixup: _Fixup) -> None:
        async with gate:
            if stopping is not None and stopping():
                if fixup.pair not in stopped:
                    stopped.add(fixup.pair)
                    out.stopped += 1
                return
            try:
                unread = next((e for w, e in failed if any(w.start <= s < w.end for s in fixup.starts)), None)
                await _fix_series(gw, fixup, found.get(fixup.series_id, {}), out)
                if unread is not None:
                    raise unread
            except GraphError as exc:
                earlier = out.errors.get(fixup.pair)  # an email of the pair's may have failed already
                out.errors[fixup.pair] = f"{earlier}; book: {exc}" if earlier else f"book: {exc}"
                log.error("apply.pair_failed", pair=fixup.pair, kind="book", error=str(exc))
                state.audit({"at": now, "pair": fixup.pair, "action": "book", "error": str(exc)})

    await asyncio.gather(*(fix(f) for f in fixups))


async def _fix_series(
    gw: Gateway, fixup: _Fixup, occurrences: dict[datetime, OccurrenceInfo], out: Outcome
) -> None:
    missing = 0
    for original, session in fixup.moves:
        occ = occurrences.get(original)
        if occ is None or occ.is_cancelled:
            missing += occ is None
            continue
        if occ.start == session.start and occ.end == session.end:
            continue  # already there
        await gw.move_occurrence(
            fixup.organizer,
            occ.id,
            start=session.start,
            end=session.end,
            zone_name=fixup.zone_name,
            properties={PROP_MOVES: "0"},
        )
        out.writes += 1
    # The series' cancels at once: they travel together in the mailbox's next batch (``Gateway.cancel``).
    cancels = []
    for original in fixup.cancels:
        occ = occurrences.get(original)
        if occ is None or occ.is_cancelled:
            missing += occ is None
            continue
        cancels.append((occ.id, fixup.note_for(original)))
    results = await asyncio.gather(
        *(gw.cancel(fixup.organizer, occ_id, note) for occ_id, note in cancels), return_exceptions=True
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    out.writes += len(results) - len(failed)
    for other in failed[1:]:
        log.warning("apply.fixup_cancel_failed", pair=fixup.pair, error=f"{type(other).__name__}: {other}")
    # A bug or a cancellation first (it is not the pair's problem), then the pair's first Graph error.
    for problem in sorted(failed, key=lambda e: isinstance(e, GraphError)):
        raise problem
    if missing:
        # Not listed yet (Graph's lag) or outside what could be read: the next run's repair does it.
        log.warning("apply.fixup_deferred", pair=fixup.pair, series=fixup.series_id, sessions=missing)


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


async def mark_messages(gateway: Gateway, read: RatingsRead) -> None:
    """Tag each newly judged message in its mailbox, all at once (the gateway's pacing keeps each mailbox
    within its four requests in flight). A failure leaves a message untagged: the next run judges it
    again, to the same verdict (judging is deterministic), and its rating still counts once."""

    async def one(mark: Mark) -> None:
        try:
            await gateway.set_categories(mark.mailbox, mark.message_id, mark.categories)
        except AuthError:
            raise
        except GraphError as exc:
            log.warning("ratings.mark_failed", message=mark.message_id, error=str(exc))
            return
        read.recorded += 1
        log.info("ratings.judged", message=mark.message_id, verdict=mark.verdict.value)

    await asyncio.gather(*(one(mark) for mark in read.judged.marks))
