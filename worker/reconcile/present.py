"""How a plan looks to people (a table) and to machines (``plan --json``, per ../shared/spec/cli.md),
and how a run ends on a terminal (a few sentences instead of the JSON summary line).

People are named as the worker knows them (``Participant.name``); a pair no longer in pairs.yaml by
the attendees of its own series. Times are always in the series' zone, with the zone named.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from worker.core.actions import (
    Action,
    Book,
    Cancel,
    CancelReason,
    CancelScope,
    Escalate,
    Move,
    MoveReason,
    SendFeedback,
    UpdateAgenda,
)
from worker.core.desired import PROP_FIRST, PROP_SKIPPED
from worker.core.plan import PROP_ENDED, PairState
from worker.core.recurrence import parse_skipped
from worker.core.types import Recurrence
from worker.core.words import plural
from worker.reconcile.run import RunResult

if TYPE_CHECKING:
    from rich.console import Console


def _iso(at: datetime, zone: str | None = None) -> str:
    return (at.astimezone(ZoneInfo(zone)) if zone else at).isoformat()


def recurrence_json(rec: Recurrence) -> dict[str, Any]:
    out: dict[str, Any] = {
        "cadence": rec.cadence.kind.value,
        "interval": rec.cadence.interval,
        "weekday": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"][
            rec.weekday
        ],
        "start_date": rec.start.isoformat(),
        "occurrences": rec.count,
        "time_zone": rec.zone_name,
    }
    if rec.index is not None:
        out["index"] = rec.index.value
    return out


def action_json(action: Action) -> dict[str, Any]:
    out: dict[str, Any] = {"pair": action.pair, "kind": action.kind.value}
    if isinstance(action, Book):
        first = action.sessions[0]
        zone = action.spec.zone_name
        out.update(
            start=_iso(first.start, zone),
            end=_iso(first.end, zone),
            organizer=action.spec.organizer,
            recurrence=recurrence_json(action.spec.recurrence),
            sessions=[
                {"session": s.number, "start": _iso(s.start, zone), "moved": s.moved} for s in action.sessions
            ],
            summary=action.summary,
            wanted=action.wanted,
            cancelled=[
                {"date": d.isoformat(), "why": why}
                for d, why in zip(
                    action.skipped, action.skip_reasons or ("",) * len(action.skipped), strict=True
                )
            ],
        )
        if action.shortfall:
            out["shortfall"] = action.shortfall
    elif isinstance(action, Move):
        out.update(
            start=_iso(action.new.start, action.zone_name),
            end=_iso(action.new.end, action.zone_name),
            session=action.session,
            previous_start=_iso(action.old_start, action.zone_name),
            reason=action.reason.value,
        )
    elif isinstance(action, Cancel):
        out.update(scope=action.scope.value, reason=action.reason.value)
        if action.last_date:
            out["last_date"] = action.last_date.isoformat()
    elif isinstance(action, SendFeedback):
        out.update(session=action.session, role=action.role.value, to=list(action.mail.to))
    elif isinstance(action, Escalate):
        out.update(reason=action.reason.value, detail=action.detail, notify=action.mail is not None)
    elif isinstance(action, UpdateAgenda):
        out.update(session=action.session, start=action.start.isoformat())
    return out


def plan_json(result: RunResult) -> dict[str, Any]:
    return {
        "actions": [action_json(a) for a in result.plan.actions],
        "pairs": [{"pair": s.pair, "state": s.state, "detail": s.detail} for s in result.plan.statuses],
        "summary": result.summary(),
        # The mass-cancel guard: "refuses" true means `run` would write nothing and exit 2 without
        # --confirm-cancel (worker.core.guard).
        "guard": result.guard.as_json() if result.guard is not None else None,
    }


# --- for people: the plan as a table, the run as a few sentences --------------------------------------

_CANCELLED_BECAUSE = {
    CancelReason.PAIR_REMOVED: "the pair is no longer in pairs.yaml",
    CancelReason.PROGRAMME_ENDED: "the programme has ended",
    CancelReason.POLICY_CHANGED: "its policy changed: the old series ends and a new one is booked",
    CancelReason.DUPLICATE: "a second series for the same pair (the older one is kept)",
    CancelReason.BLACKOUT: "it falls in a blackout and no other time that week suits both",
}
_MOVED_BECAUSE = {
    MoveReason.DECLINED: "declined by one of them",
    MoveReason.CONFLICT: "it now clashes with another meeting",
    MoveReason.OUT_OF_OFFICE: "one of them is out of office",
    MoveReason.BLACKOUT: "it falls in a blackout",
}
_STATE_WORDS = {
    PairState.UNSCHEDULED: "no time",
    PairState.REFUSED: "refused",
    PairState.ERROR: "error",
    PairState.PENDING: "later",
    PairState.FINISHED: "finished",
}


def local_time(at: datetime, zone: str) -> str:
    """``Tue 19 Jan 2027 09:30 Europe/Paris``: a moment in ``zone``, the zone named."""
    local = at.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %Y %H:%M} {zone}"


def _series_names(result: RunResult) -> dict[str, str]:
    """Names of the people of each series we found, by series id: a removed pair is named by its own
    invitation's attendees, since pairs.yaml no longer names it."""
    out: dict[str, str] = {}
    for series in result.observed.series:
        names = [a.name or a.address for a in series.attendees]
        if names:
            out[series.id] = " → ".join(names) if len(names) == 2 else ", ".join(names)
            out.setdefault(series.key, out[series.id])
    return out


@dataclass
class _Row:
    label: str
    plan: list[str] = field(default_factory=list)
    rhythm: str = ""
    sessions: str = ""
    sessions_of: int = 0  # the sessions the pair needs, when fewer could be booked (a partial series)
    first: str = ""
    exceptions: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _plan_rows(result: RunResult) -> list[_Row]:
    desired = {p.id: p for p in result.desired.pairs}
    series_names = _series_names(result)
    actions_by_pair: dict[str, list[Action]] = {}
    for action in result.plan.actions:
        actions_by_pair.setdefault(action.pair, []).append(action)
    series_by_key = {s.key: s for s in result.observed.series if PROP_ENDED not in s.properties}
    rows: list[_Row] = []
    statuses = {status.pair: status for status in result.plan.statuses}
    order = [*statuses, *(pair for pair in actions_by_pair if pair not in statuses)]
    for pair_id in order:
        status = statuses.get(pair_id)
        actions = actions_by_pair.get(pair_id, [])
        pair = desired.get(pair_id)
        if pair is not None:
            label = f"{pair.mentor.name} → {pair.mentee.name}"
        else:
            cancel = next((a for a in actions if isinstance(a, Cancel)), None)
            label = series_names.get(cancel.event_id if cancel else "", series_names.get(pair_id, pair_id))
        row = _Row(label)
        if pair is not None:
            row.rhythm = str(pair.rules.cadence)
        kept = series_by_key.get(pair_id)
        if kept is not None and kept.recurrence is not None:
            row.rhythm = str(kept.recurrence.cadence)
            skipped = parse_skipped(kept.properties.get(PROP_SKIPPED))
            row.sessions = str(kept.recurrence.count - len(skipped))
            last = int(kept.properties.get(PROP_FIRST, "1") or 1) + int(row.sessions) - 1
            if pair is not None and last < pair.rules.sessions:
                row.sessions_of = pair.rules.sessions - int(kept.properties.get(PROP_FIRST, "1") or 1) + 1
            row.first = local_time(kept.start, kept.zone_name)
        _describe(row, actions)
        if status is not None:
            if status.state in _STATE_WORDS:
                row.plan.insert(0, _STATE_WORDS[status.state])
            told = any(status.detail in note for note in row.notes)  # the escalation says it already
            if status.detail and status.state != PairState.BOOKED and not told:
                row.notes.append(status.detail)
        elif pair is None:
            row.plan.insert(0, "removed")
        if not row.plan:
            row.plan.append("keep")
        rows.append(row)
    return rows


def _describe(row: _Row, actions: list[Action]) -> None:
    """What the actions of one pair do, in the row's words, with the reasons as notes."""
    moves = [a for a in actions if isinstance(a, Move)]
    cancels = [a for a in actions if isinstance(a, Cancel)]
    books = [a for a in actions if isinstance(a, Book)]
    for cancel in cancels:
        if cancel.scope is CancelScope.OCCURRENCE:
            continue
        if not (books and cancel.reason is CancelReason.POLICY_CHANGED):
            row.plan.append("cancel series" if cancel.scope is CancelScope.SERIES else "end series")
        row.notes.append(f"cancel: {_CANCELLED_BECAUSE[cancel.reason]}")
    occurrence_cancels = [c for c in cancels if c.scope is CancelScope.OCCURRENCE]
    if occurrence_cancels:
        row.plan.append(f"cancel {plural(len(occurrence_cancels), 'session')}")
        for cancel in occurrence_cancels:
            row.notes.append(f"a session is cancelled: {_CANCELLED_BECAUSE[cancel.reason]}")
    for book in books:
        rebook = any(c.reason is CancelReason.POLICY_CHANGED for c in cancels)
        row.plan.append("re-book" if rebook else "book")
        zone = book.spec.zone_name
        row.rhythm = str(book.spec.recurrence.cadence)
        row.sessions = str(len(book.sessions))
        if book.wanted > len(book.sessions):
            row.sessions_of = book.wanted  # the escalation's note says which sessions and why
        row.first = local_time(book.sessions[0].start, zone) if book.sessions else ""
        moved = [s for s in book.sessions if s.moved]
        if book.skipped:
            row.exceptions.append(f"{plural(len(book.skipped), 'date')} skipped")
            whys = book.skip_reasons or ("a programme blackout",) * len(book.skipped)
            by_why: dict[str, list[str]] = {}
            for day, why in sorted(zip(book.skipped, whys, strict=True)):
                by_why.setdefault(why, []).append(f"{day:%a %d %b}")
            for why, dates in by_why.items():
                row.notes.append(f"no session on {', '.join(dates)}: {why}")
        if moved:
            row.exceptions.append(f"{plural(len(moved), 'session')} off the usual slot")
            for session in moved:
                row.notes.append(
                    f"session {session.number} off the usual slot: {local_time(session.start, zone)}"
                )
    if moves:
        row.plan.append(f"move {plural(len(moves), 'session')}")
        for move in moves:
            row.notes.append(
                f"session {move.session} moves from {local_time(move.old_start, move.zone_name)} to "
                f"{local_time(move.new.start, move.zone_name)}: {_MOVED_BECAUSE[move.reason]}"
            )
    agendas = [a for a in actions if isinstance(a, UpdateAgenda)]
    if agendas:
        row.exceptions.append(f"{plural(len(agendas), 'agenda')} written")
    feedback = [a for a in actions if isinstance(a, SendFeedback)]
    if feedback:
        row.exceptions.append(f"{plural(len(feedback), 'feedback email')}")
    for escalation in (a for a in actions if isinstance(a, Escalate)):
        row.exceptions.append("lead told" if escalation.mail is not None else "lead already told")
        row.notes.append(f"the lead is told: {escalation.detail}")


def _rhythm_cell(row: _Row, wide: bool) -> str:
    if not row.sessions:
        return row.rhythm
    count = plural(int(row.sessions), "session")
    if row.sessions_of:
        count = f"{row.sessions} of {plural(row.sessions_of, 'session')}"
    return f"{row.rhythm}, {count}" if wide else f"{row.rhythm}\n{count}"


def _first_cell(first: str, wide: bool) -> str:
    """ "Tue 19 Jan 2027 09:30 Europe/Paris" on one line, or on three (date, time, zone) when narrow."""
    if not first or wide:
        return first
    day, clock, zone = first.rsplit(" ", 2)
    return f"{day}\n{clock}\n{zone}"


def _longest_line(cells: list[str], least: int) -> int:
    return max([least, *(len(line) for cell in cells for line in cell.split("\n"))])


def plan_table(result: RunResult, console: Console | None = None) -> None:
    """What `run` would do, one row per pair named by its people, with the details under the table.

    Every cell wraps (nothing is cut with an ellipsis), so it reads at 80 columns as at 120; every
    time is in the series' own zone, named.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    rows = _plan_rows(result)
    # Columns of fixed content get the width of their longest line (a zone name never breaks); the others
    # share what is left and wrap at spaces. Rich crops a table whose columns cannot fit, so nothing here
    # asks for more than 80 columns: on a narrow terminal the rhythm and the time take two lines.
    wide = console.width >= 110
    rhythms = [_rhythm_cell(row, wide) for row in rows]
    firsts = [_first_cell(row.first, wide) for row in rows]
    table = Table(
        title=f"{result.desired.name}: what `run` would do",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        show_edge=False,
        expand=True,
    )
    table.add_column("pair", overflow="fold", ratio=3)
    table.add_column("plan", overflow="fold", ratio=2)
    table.add_column("rhythm, sessions", overflow="fold", width=_longest_line(rhythms, 10))
    table.add_column("first session", overflow="fold", width=_longest_line(firsts, 13))
    table.add_column("exceptions", overflow="fold", ratio=2, min_width=10)
    notes: list[tuple[int, str, str]] = []
    for row, rhythm, first_session in zip(rows, rhythms, firsts, strict=True):
        refs = ""
        if row.notes:
            first = len(notes) + 1
            notes.extend((len(notes) + 1, row.label, note) for note in row.notes)
            refs = f"see {first}" if len(row.notes) == 1 else f"see {first}–{len(notes)}"
        table.add_row(
            row.label,
            ", ".join(row.plan),
            rhythm,
            first_session,
            "; ".join([*row.exceptions, refs] if refs else row.exceptions),
        )
    console.print(table)
    for number, label, note in notes:
        console.print(f"{number}. {label}: {note}", highlight=False, markup=False)
    s = result.summary()
    console.print(
        f"{plural(s['pairs'], 'pair')}, {plural(s['actions'], 'action')}; {s['unscheduled']} without a time, "
        f"{s['refused']} refused, {plural(s['errors'], 'error')}",
        highlight=False,
    )
    guard = result.guard
    if guard is not None and guard.refuses and not result.confirmed:
        console.print(
            f"[bold red]warning:[/] `crossgen run` would refuse this pass and write nothing (exit 2): "
            f"{guard.headline()}. Restore pairs.yaml, give a trial copy its own key, or confirm with "
            "`crossgen run --confirm-cancel`.",
            markup=True,
        )


def run_summary(result: RunResult, *, dry_run: bool = False) -> list[str]:
    """A few sentences for a person at a terminal, in place of the JSON summary line."""
    s = result.summary()
    names = {p.id: f"{p.mentor.name} → {p.mentee.name}" for p in result.desired.pairs}
    done = "would be done" if dry_run else "done"
    lines = [f"{result.desired.name}: {plural(s['pairs'], 'pair')}, {done}:"]
    if s["skipped"]:
        lines.append("  nothing: another run is writing to this programme right now")
        return lines
    parts = [
        f"{plural(s['booked'], 'series', 'series')} booked",
        f"{plural(s['moved'], 'session')} moved",
        f"{plural(s['cancelled'], 'cancellation')}",
        f"{plural(s['feedback_sent'], 'feedback email')} sent",
        f"{plural(s['escalations_sent'], 'lead escalation')} sent",
    ]
    lines.append("  " + ", ".join(parts))
    for status in result.plan.statuses:
        if status.state in (PairState.UNSCHEDULED, PairState.REFUSED):
            lines.append(
                f"  {_STATE_WORDS[status.state]}: {names.get(status.pair, status.pair)}: {status.detail}"
            )
    for pair, message in result.pair_errors.items():
        lines.append(f"  failed: {names.get(pair, pair)}: {message}")
    if s["stopped"]:
        lines.append(f"  {plural(s['stopped'], 'pair')} left for the next run (stopped)")
    if s["deferred"]:
        lines.append(f"  {plural(s['deferred'], 'email')} left for the next run (sending budget)")
    return lines
