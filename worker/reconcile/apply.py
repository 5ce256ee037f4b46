"""Apply a plan: the only code that writes to Graph.

Each pair's actions run in order, pairs concurrently (the gateway's pacing keeps each mailbox under
its limits). A failing pair is recorded and the others go on. Every write is guarded by a lookup on
a deterministic key, so a crash at any instant followed by a rerun duplicates nothing:
- a series: looked up by its pair key (extended property) before create, and created with a
  deterministic transactionId, so even a create retried after a lost response is de-duplicated;
- an email: its key is a deterministic Message-ID looked up in the sender's Sent Items before send;
- a move or an agenda: idempotent PATCHes carrying their own marker properties.
Emails beyond the sending budget wait for the next run rather than being throttled.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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
from worker.core.types import Interval, MailSpec, OccurrenceInfo
from worker.graph.errors import GraphError, SendBudgetExhausted
from worker.reconcile.state import State

if TYPE_CHECKING:
    from worker.graph.gateway import Gateway

log = structlog.get_logger(__name__)


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
    concurrency: int = 16,
    stopping: Callable[[], bool] | None = None,
    exclusive: bool = False,
) -> Outcome:
    """Carry out ``plan``. ``on_write`` is told of each write as it completes (progress, tests).
    ``exclusive``: this run holds the programme's lease on every mailbox it writes to.

    Once ``stopping()`` is true (SIGTERM), no pair starts another action; writes already sent finish,
    so the run ends between writes and the next run picks up where this one stopped.
    """
    outcome = Outcome()
    by_pair: dict[str, list[Action]] = defaultdict(list)
    for action in plan.actions:
        by_pair[action.pair].append(action)
    gate = asyncio.Semaphore(concurrency)

    async def run_pair(pair: str, actions: list[Action]) -> None:
        async with gate:
            for action in actions:
                if stopping is not None and stopping():
                    outcome.stopped += 1
                    return
                try:
                    await _apply_one(gateway, action, state, outcome, now, exclusive)
                except SendBudgetExhausted:
                    outcome.deferred += 1
                    log.info("apply.mail_deferred", pair=pair, kind=action.kind.value)
                    continue
                except GraphError as exc:
                    outcome.errors[pair] = f"{action.kind.value}: {exc}"
                    log.error("apply.pair_failed", pair=pair, kind=action.kind.value, error=str(exc))
                    state.audit({"at": now, "pair": pair, "action": action.kind.value, "error": str(exc)})
                    if isinstance(action, Book | Cancel):
                        return  # the pair's later actions depend on its series; the next run picks up
                    continue  # an email, an agenda or one move failing must not block the pair's repairs
                if on_write is not None:
                    on_write(pair, action)

    await asyncio.gather(*(run_pair(p, a) for p, a in by_pair.items()))
    return outcome


async def _apply_one(
    gw: Gateway, action: Action, state: State, out: Outcome, now: datetime, exclusive: bool = False
) -> None:
    bound = log.bind(pair=action.pair, kind=action.kind.value)
    if isinstance(action, Book):
        await _book(gw, action, state, out, now, exclusive=exclusive)
    elif isinstance(action, Move):
        await gw.move_occurrence(
            action.organizer,
            action.occurrence_id,
            start=action.new.start,
            end=action.new.end,
            zone_name=action.zone_name,
            properties={PROP_MOVES: str(action.moves_so_far + 1)},
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
    elif isinstance(action, SendFeedback):
        if await _send(gw, action.mail, state, out):
            out.feedback_sent += 1
            bound.info("feedback.sent", session=action.session, role=action.role.value)
    elif isinstance(action, Escalate):
        bound.warning("pair.escalated", reason=action.reason.value, detail=action.detail)
        if action.mail is not None and await _send(gw, action.mail, state, out):
            out.escalations_sent += 1


async def _send(gw: Gateway, mail: MailSpec, state: State, out: Outcome) -> bool:
    """Send once; True if it went out now. The key is recorded either way (it is in Sent Items)."""
    sent_now = await gw.send_mail_once(mail)
    state.mark_sent([mail.key])
    if sent_now:
        out.writes += 1
    else:
        out.already_done += 1
    return bool(sent_now)


async def _book(
    gw: Gateway, action: Book, state: State, out: Outcome, now: datetime, *, exclusive: bool
) -> None:
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
            return
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
        return
    # The slot engine kept the series on its pattern except where a blackout or an out-of-office day
    # hit it: those sessions become exceptions (moved within their week) or are cancelled (no room).
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
    span = Interval(pattern[0].start - timedelta(days=1), pattern[-1].end + timedelta(days=1))
    occurrences = await gw.occurrences(spec.organizer, series.id, span)

    def at_start(start: datetime) -> OccurrenceInfo | None:
        return next((o for o in occurrences if (o.original_start or o.start) == start), None)

    for session in action.sessions:
        original = by_number.get(session.number)
        occ = at_start(original.start) if session.moved and original else None
        if occ is not None:
            await gw.move_occurrence(
                spec.organizer,
                occ.id,
                start=session.start,
                end=session.end,
                zone_name=spec.zone_name,
                properties={PROP_MOVES: "0"},
            )
            out.writes += 1
    for s in pattern:
        if s.start.astimezone(zone).date() in action.skipped and (occ := at_start(s.start)) is not None:
            await gw.cancel(spec.organizer, occ.id, action.skip_note)
            out.writes += 1


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
