"""How a plan looks to people (a table) and to machines (``plan --json``, per ../shared/spec/cli.md)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from worker.core.actions import Action, Book, Cancel, Escalate, Move, SendFeedback, UpdateAgenda
from worker.core.types import Recurrence
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
        )
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


def plan_table(result: RunResult, console: Console | None = None) -> None:
    """A readable table of what `run` would do, grouped by pair."""
    from rich.console import Console
    from rich.table import Table

    names = {p.id: f"{p.mentor.name} → {p.mentee.name}" for p in result.desired.pairs}
    table = Table(title=f"{result.desired.name}: plan", show_lines=False)
    for column in ("pair", "state", "action", "when", "detail"):
        table.add_column(column)
    actions_by_pair: dict[str, list[Action]] = {}
    for action in result.plan.actions:
        actions_by_pair.setdefault(action.pair, []).append(action)
    for status in result.plan.statuses:
        rows = actions_by_pair.pop(status.pair, [])
        label = names.get(status.pair, status.pair)
        if not rows:
            table.add_row(label, status.state, "-", "", status.detail)
        for i, action in enumerate(rows):
            data = action_json(action)
            when = data.get("start", "")
            detail = (
                data.get("detail")
                or data.get("reason")
                or (
                    f"{data['recurrence']['cadence']} x{data['recurrence']['occurrences']}"
                    if "recurrence" in data
                    else ""
                )
            )
            table.add_row(
                label if i == 0 else "", status.state if i == 0 else "", action.kind.value, when, str(detail)
            )
    # Series of pairs no longer in the programme: named from their attendees (the config no longer can).
    removals = result.guard.removals if result.guard else ()
    gone = {r.pair: " & ".join(p.split(" <")[0] for p in r.people) for r in removals}
    for pair, rows in actions_by_pair.items():
        for action in rows:
            label = f"{gone[pair]} ({pair})" if gone.get(pair) else pair
            table.add_row(label, "removed", action.kind.value, "", action_json(action).get("reason", ""))
    console = console or Console()
    console.print(table)
    s = result.summary()
    console.print(
        f"{s['pairs']} pairs, {s['actions']} actions; {s['unscheduled']} unscheduled, "
        f"{s['refused']} refused, {s['errors']} errors"
    )
    guard = result.guard
    if guard is not None and guard.refuses and not result.confirmed:
        console.print(
            f"[bold red]warning:[/] `crossgen run` would refuse this pass and write nothing (exit 2): "
            f"{guard.headline()}. Restore pairs.yaml, give a trial copy its own key, or confirm with "
            "`crossgen run --confirm-cancel`.",
            markup=True,
        )
