"""One reconcile pass: load config -> read Graph -> plan (pure) -> apply (Graph writes) -> report.

``crossgen run`` and ``crossgen plan`` are thin shells over ``reconcile``; the demo and the end-to-end
tests call it directly with a gateway bound to the in-process sandbox and a simulated ``now``.
"""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from worker.core.actions import Action
from worker.core.desired import Desired, Observed
from worker.core.guard import CancelGuard, judge
from worker.core.plan import PROP_ENDED, PairState, Plan, Planner, plan
from worker.core.ratings import programme_key_for
from worker.core.types import Interval
from worker.reconcile import lease
from worker.reconcile.apply import Applying, Outcome, mark_messages
from worker.reconcile.desired import Shard, desired_from
from worker.reconcile.observe import BACKFILL, DEFAULT_HORIZON, ReadErrors, Reading, observe
from worker.reconcile.ratings import RatingsRead, read_ratings
from worker.reconcile.state import State, state_dir

if TYPE_CHECKING:
    from worker.graph.gateway import Gateway
    from worker.policies.programme import Programme
    from worker.report.model import ProgrammeReport

log = structlog.get_logger(__name__)


@dataclass
class RunResult:
    desired: Desired
    state: State
    observed: Observed
    plan: Plan
    outcome: Outcome | None  # None for a dry run
    read_errors: dict[str, str] = field(default_factory=dict)
    ratings: RatingsRead = field(default_factory=RatingsRead)
    guard: CancelGuard | None = None  # the mass-cancel guard's verdict (None: the pass never read series)
    confirmed: bool = False  # --confirm-cancel: the guard's objection, if any, was overridden

    @property
    def cancel_refused(self) -> bool:
        """The guard refused this pass: nothing was written (exit 2)."""
        return self.guard is not None and self.guard.refuses and not self.confirmed

    @property
    def pair_errors(self) -> dict[str, str]:
        """Pairs that failed this run: unreadable people, failed writes, or a planning error."""
        errors: dict[str, str] = {}
        for status in self.plan.statuses:
            if status.state == PairState.ERROR:
                errors[status.pair] = status.detail
        if self.outcome is not None:
            errors.update(self.outcome.errors)
        return errors

    def summary(self) -> dict[str, int]:
        """The contract's summary line (../shared/spec/cli.md), plus a few more figures."""
        states = Counter(s.state for s in self.plan.statuses)
        out = self.outcome or Outcome()
        return {
            "pairs": len(self.desired.pairs),
            "booked": out.booked,
            "moved": out.moved,
            "cancelled": out.cancelled,
            "feedback_sent": out.feedback_sent,
            "unscheduled": states[PairState.UNSCHEDULED],
            "refused": states[PairState.REFUSED],
            "errors": len(self.pair_errors),
            "agendas": out.agendas,
            "escalations_sent": out.escalations_sent,
            "deferred": out.deferred,
            "writes": out.writes,
            "skipped": int(out.skipped),
            "stopped": out.stopped,
            "actions": len(self.plan.actions),
            "cancel_refused": self.guard.cancelling if self.cancel_refused and self.guard else 0,
            "ratings": self.ratings.accepted_now,
            "ratings_ignored": self.ratings.ignored_now,
        }

    @property
    def exit_code(self) -> int:
        """0 converged; 1 some pairs failed or cannot be served; 2 a mass cancel refused."""
        if self.cancel_refused:
            return 2
        s = self.summary()
        return 1 if s["errors"] or s["unscheduled"] or s["stopped"] else 0


class _Refused(Exception):
    """The guard refused the pass before its first write (``judge``); carries what was read."""

    def __init__(self, guard: CancelGuard, observed: Observed) -> None:
        super().__init__(guard.headline())
        self.guard, self.observed = guard, observed


async def reconcile(
    config_dir: Path,
    *,
    gateway: Gateway,
    now: datetime,
    dry_run: bool = False,
    shard: Shard | None = None,
    state_path: Path | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
    backfill: timedelta = BACKFILL,
    on_write: Callable[[str, Action], None] | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    stopping: Callable[[], bool] | None = None,
    programme: Programme | None = None,
    occurrences_until: datetime | None = None,
    confirm_cancel: bool = False,
    rating_comments: bool = False,
) -> RunResult:
    """Make the calendars match the programme (or, with ``dry_run``, say what that would take).

    ``programme``: ``config_dir`` already loaded (the CLI loads it first, to refuse bad config before any
    credential is touched); the run then plans exactly what was checked.

    ``on_plan`` is called once every pair is decided; in a run that writes, the first pairs' writes are
    under way by then (see ``_read_plan_apply``). ``on_write`` is called as each write completes.

    ``stopping`` (SIGTERM in ``crossgen run``): once true, apply starts no new write; state is saved.

    ``occurrences_until`` (dry runs): list our sessions up to then, past the free/busy horizon.

    A pass that would cancel most of the programme's booked pairs at once (``worker.core.guard``) is
    refused as a whole: it writes nothing (the run lease it took is removed as always) and its result
    says so (``cancel_refused``, exit 2), unless ``confirm_cancel``. A dry run plans everything and
    carries the same verdict, for ``plan`` to show.
    """
    from worker.policies.load import load_programme  # raises ConfigError: the CLI maps it to exit 2

    if programme is None:
        programme = load_programme(config_dir, allow_no_pairs=confirm_cancel)
    desired = desired_from(programme, shard=shard)
    if gateway.rating.key:
        desired = replace(desired, rating_key=programme_key_for(gateway.rating.key, desired.key))
    run_id = uuid.uuid4().hex[:12]
    structlog.contextvars.bind_contextvars(run_id=run_id, programme=desired.key)
    if not desired.rating_key:
        log.warning("ratings.off", why="no rating key: set CROSSGEN_RATING_KEY_FILE (see docs/it.md)")
    held: lease.Lease | None = None
    try:
        state = State.load(state_path or state_dir(), desired.key)
        if not dry_run:
            # Take the lease before reading, so what we plan is what we saw while no other run wrote.
            # Shards serve disjoint pairs, so each shard has its own lease even on a shared mailbox.
            index, count = desired.shard
            name = desired.key if count == 1 else f"{desired.key}/shard-{index}-of-{count}"
            held = await lease.acquire(gateway, name=name, mailboxes=desired.organizers, now=now)
            if not held.held:
                # Another run is writing to this programme right now: it will do what we would have.
                idle = Observed(horizon=Interval(now, now))
                result = RunResult(desired, state, idle, Plan(()), Outcome(skipped=True))
                log.info("run.finished", dry_run=dry_run, **result.summary())
                return result
        if dry_run:
            observed, read_errors = await observe(
                gateway,
                desired,
                now,
                state,
                horizon=horizon,
                backfill=backfill,
                occurrences_until=occurrences_until,
            )
            rated = await read_ratings(gateway, desired, observed, now, comments=rating_comments)
            observed = replace(observed, ratings=rated.judged.ratings)
            decided = plan(desired, observed, now)
            _log_failed(decided)
            outcome = None
            verdict = judge(desired, observed, now)
        else:
            exclusive = held is not None and held.exclusive(desired.organizers)
            try:
                observed, read_errors, decided, outcome, verdict, rated = await _read_plan_apply(
                    gateway,
                    desired,
                    state,
                    now=now,
                    horizon=horizon,
                    backfill=backfill,
                    exclusive=exclusive,
                    on_write=on_write,
                    on_plan=on_plan,
                    stopping=stopping,
                    confirm_cancel=confirm_cancel,
                )
            except _Refused as refused:
                result = RunResult(desired, state, refused.observed, Plan(()), Outcome(), guard=refused.guard)
                _log_guard(result, dry_run=dry_run)
                log.info("run.finished", dry_run=dry_run, **result.summary())
                return result
            state.save(now=now)
        result = RunResult(
            desired.from_directory(observed.people),  # the people as the plan named them
            state,
            observed,
            decided,
            outcome,
            {**read_errors.people, **read_errors.mailboxes},
            rated,
            guard=verdict,
            confirmed=confirm_cancel,
        )
        _log_guard(result, dry_run=dry_run)
        log.info("run.finished", dry_run=dry_run, **result.summary())
        return result
    finally:
        if held is not None:
            await lease.release(gateway, held)
        structlog.contextvars.unbind_contextvars("run_id", "programme")


# Batches of people read at once once the first is in, in a run that writes (see ``Reading``).
BATCHES_AT_ONCE = 2


def _log_guard(result: RunResult, *, dry_run: bool) -> None:
    """The guard's objection is an audit event either way: refused, or overridden by --confirm-cancel;
    a dry run (``plan``, the report) only warns of what a run would refuse."""
    guard = result.guard
    if guard is None or not guard.refuses:
        return
    fields = {
        "suspicion": guard.suspicion.value if guard.suspicion else None,
        "booked": guard.booked,
        "cancelling": guard.cancelling,
        "kept": guard.kept,
        "pairs": [r.pair for r in guard.removals],
    }
    if dry_run:
        log.warning("plan.mass_cancel_warning", confirmed=result.confirmed, **fields)
    elif result.cancel_refused:
        log.error("run.mass_cancel_refused", **fields)
    else:
        log.warning("run.mass_cancel_confirmed", **fields)


def _log_failed(decided: Plan) -> None:
    for status in decided.statuses:  # a pair the planner could not serve: say why, once, in the log
        if status.state == PairState.ERROR:
            log.error("plan.pair_failed", pair=status.pair, error=status.detail)


async def _read_plan_apply(
    gateway: Gateway,
    desired: Desired,
    state: State,
    *,
    now: datetime,
    horizon: timedelta,
    backfill: timedelta,
    exclusive: bool,
    on_write: Callable[[str, Action], None] | None,
    on_plan: Callable[[Plan], None] | None,
    stopping: Callable[[], bool] | None,
    confirm_cancel: bool,
) -> tuple[Observed, ReadErrors, Plan, Outcome, CancelGuard, RatingsRead]:
    """Read, plan and apply with no phase waiting for the whole of the one before: each pair is planned
    as soon as our series are listed and its two people's free/busy and chains are in, and its writes
    start at once, while later people are still being read. On a first run the writes are what the run
    waits for (the programme mailbox's four requests in flight), so they start within a batch's reads
    instead of after everyone's. The decisions are ``plan``'s over the finished reads (``Planner``).

    The mass-cancel guard needs only the series, so it is asked once they are listed, before the first
    write; a refusal raises ``_Refused`` and nothing is handed to ``Applying``."""
    reading = Reading(
        gateway,
        desired,
        now,
        state,
        horizon=horizon,
        backfill=backfill,
        batches_at_once=BATCHES_AT_ONCE,
        freeze=True,
    )
    applying: Applying | None = None
    try:
        observed = await reading.series()
        verdict = judge(desired, observed, now)
        if verdict.refuses and not confirm_cancel:
            raise _Refused(verdict, observed)
        # The ratings are judged on the sessions that took place (all our series' occurrences are in by
        # now), before any pair is planned: its disengagement alert reads them.
        rated = await read_ratings(gateway, desired, observed, now)
        observed = replace(observed, ratings=rated.judged.ratings)
        planner = Planner(desired, observed, now)
        applying = Applying(
            gateway,
            state,
            now=now,
            books=_expected_books(desired, observed),
            on_write=on_write,
            stopping=stopping,
            exclusive=exclusive,
        )
        for pair in desired.pairs:
            await reading.people((pair.mentor.address, pair.mentee.address))
            _status, actions = planner.pair(pair)
            applying.pair(actions)
            # Let the writes under way be answered between pairs: planning one takes about a millisecond
            # of CPU, and a batch of them at once would hold every response waiting on this event loop.
            await asyncio.sleep(0)
        applying.pairs(planner.retirements())
        observed, read_errors = await reading.finished()
        observed = replace(observed, ratings=rated.judged.ratings)
        decided = planner.plan()
        _log_failed(decided)
        if on_plan is not None:
            on_plan(decided)
        outcome = await applying.finished()
        if not (stopping is not None and stopping()):
            await mark_messages(gateway, rated)
    finally:
        try:
            if applying is not None:
                await applying.cancel()
            await reading.cancel()
        finally:
            gc.unfreeze()  # what the reads froze is the collector's again (``Reading._keep``)
    return observed, read_errors, decided, outcome, verdict, rated


def _expected_books(desired: Desired, observed: Observed) -> Counter[str]:
    """Per organiser mailbox, about how many pairs this run will book: those with no live series of ours
    (some of them will find no slot or be refused; a pair whose policy changed is booked anew too)."""
    live = {s.key for s in observed.series if PROP_ENDED not in s.properties}
    return Counter(p.organizer.lower() for p in desired.pairs if p.id not in live)


async def dry_run_to_programme_end(
    config_dir: Path,
    *,
    gateway: Gateway,
    now: datetime,
    programme: Programme,
    state_path: Path | None = None,
    backfill: timedelta = BACKFILL,
    rating_comments: bool = False,
) -> RunResult:
    """A dry run of the whole pass (nothing written) that reads our sessions to the programme's end, not
    only over the free/busy horizon: what the forecast and the lead's report read, so that every booked
    session counts and the plan is what the next ``run`` would do."""
    end = datetime.combine(
        programme.program.end + timedelta(days=1), datetime.min.time(), tzinfo=programme.program.zone
    )
    return await reconcile(
        config_dir,
        gateway=gateway,
        now=now,
        dry_run=True,
        state_path=state_path,
        backfill=backfill,
        programme=programme,
        occurrences_until=end,
        rating_comments=rating_comments,
    )


async def programme_report(
    config_dir: Path, *, gateway: Gateway, now: datetime, state_path: Path | None = None
) -> ProgrammeReport:
    """The lead's report: a read-only pass over the whole programme, then the report model.

    Our sessions are read to the programme's end (free/busy stays within its horizon: the report needs
    none beyond it), so every booked session counts, not only the next six weeks'. Cancellations are
    counted by cause from the audit log (a cancelled series is no longer in any calendar to count).
    """
    from worker.policies.load import load_programme
    from worker.report.observed import BlackoutInput, report_from_state

    programme = load_programme(config_dir)
    result = await dry_run_to_programme_end(
        config_dir,
        gateway=gateway,
        now=now,
        programme=programme,
        state_path=state_path,
        backfill=timedelta(days=3660),
        rating_comments=True,
    )
    return report_from_state(
        desired=result.desired,
        observed=result.observed,
        statuses=result.plan.statuses,
        now=now,
        sent_keys=result.state.sent,
        cancels=result.state.audited("cancel"),
        blackouts=[BlackoutInput(b.start, b.end, b.reason) for b in programme.blackouts],
        ratings_ignored=result.ratings.judged.ignored_before + sum(result.ratings.judged.ignored.values()),
    )
