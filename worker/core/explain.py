"""Why no slot: the sentence the programme lead reads in an escalation.

The engine counts, for every candidate it rejected, the first constraint that rejected it (in
``Constraint`` order); the one that removed most candidates is the reason. The message then says
what that constraint means for these two people, with times in UTC so both sides can read it, e.g.
"Lea's and Jean's working hours overlap only 07:00–08:00 UTC on Tue–Thu".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from worker.core.availability import Board
from worker.core.calendar_math import DAY, day_date, time_of
from worker.core.intervals import IntervalSet
from worker.core.slot_model import Constraint, NoSlot, SlotPolicy

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ORDER = list(Constraint)


def _hhmm(seconds: int) -> str:
    return "24:00" if seconds >= DAY else time_of(seconds).strftime("%H:%M")


def _days(weekdays: Iterable[int]) -> str:
    """Mon, Tue, Wed -> "Mon–Wed"; runs of three or more are collapsed."""
    chosen = sorted(set(weekdays))
    parts: list[str] = []
    run: list[int] = []
    for weekday in [*chosen, None]:
        if weekday is not None and run and weekday == run[-1] + 1:
            run.append(weekday)
            continue
        if run:
            if len(run) >= 3:
                parts.append(f"{_WEEKDAYS[run[0]]}–{_WEEKDAYS[run[-1]]}")
            else:
                parts.extend(_WEEKDAYS[d] for d in run)
        run = [] if weekday is None else [weekday]
    return ", ".join(parts)


def summarise_week(common: IntervalSet, week_start: int) -> str:
    """A week of UTC intervals as "07:00–08:00 UTC on Tue–Thu; 14:00–15:00 UTC on Mon"."""
    by_hours: dict[tuple[int, int], set[int]] = {}
    week_end = week_start + 7 * DAY
    for start, end in common:
        start, end = max(start, week_start), min(end, week_end)
        while start < end:
            day = start // DAY
            piece_end = min(end, (day + 1) * DAY)
            key = (start - day * DAY, piece_end - day * DAY)
            by_hours.setdefault(key, set()).add(day_date(day).weekday())
            start = piece_end
    return "; ".join(
        f"{_hhmm(lo)}–{_hhmm(hi)} UTC on {_days(days)}" for (lo, hi), days in sorted(by_hours.items())
    )


def _overlap(board: Board, layer: Constraint | None, week_start: int) -> str:
    """What two people's sets (one layer, or all their rules) leave in common over a week."""
    week_end = week_start + 7 * DAY
    sets = [(p.rules if layer is None else p.layers[layer]).clip(week_start, week_end) for p in board.people]
    common = sets[0].intersection(sets[1])
    return summarise_week(common, week_start)


def describe(
    board: Board,
    counts: Counter[Constraint],
    policy: SlotPolicy,
    *,
    reference: int,
    default: Constraint = Constraint.PROGRAMME_DATES,
) -> NoSlot:
    """The ``NoSlot`` for these counts; ``reference`` (UTC seconds) picks the week the message describes,
    ``default`` is the reason when there was no candidate to count at all."""
    a, b = (p.name for p in board.people)
    zones = " and ".join(f"{p.name} in {p.person.zone_name}" for p in board.people)
    week_start = reference // DAY * DAY
    reason = max(counts, key=lambda c: (counts[c], -_ORDER.index(c))) if counts else default
    minutes = int(policy.duration.total_seconds() // 60)
    window = f"{policy.window[0]:%H:%M}–{policy.window[1]:%H:%M}"
    if reason is Constraint.WORKING_HOURS:
        common = _overlap(board, Constraint.WORKING_HOURS, week_start)
        if not common:
            detail = f"{a}'s and {b}'s working hours do not overlap at all ({zones})"
        else:
            usable = _overlap(board, None, week_start)
            rules = f"the policy's days, its {window} window and avoid times"
            detail = f"{a}'s and {b}'s working hours overlap only {common}; " + (
                f"within {rules} that leaves {usable}, too little for a {minutes}-minute session"
                if usable
                else f"none of it is within {rules}"
            )
    elif reason is Constraint.WINDOW:
        common = _overlap(board, None, week_start)
        detail = f"the policy window {window}, read in each person's own time ({zones}), leaves " + (
            f"only {common}" if common else "no common time"
        )
    elif reason is Constraint.DAYS:
        detail = f"the policy days fall on different local days for {zones}"
    elif reason is Constraint.AVOID:
        detail = f"the avoid windows take the little mutual time {a} and {b} have"
    elif reason is Constraint.BLACKOUT:
        detail = "blackout days cover the candidate dates"
    elif reason is Constraint.BUSY:
        buffer = int(policy.buffer.total_seconds() // 60)
        detail = (
            f"{a}'s and {b}'s calendars leave no mutual {minutes}-minute slot "
            f"(with {buffer} minutes' buffer) free at the same time every session"
        )
    elif reason is Constraint.LOCAL_TIME:
        detail = "the only mutual times fall in a daylight-saving gap or fold of the series' zone"
    elif reason is Constraint.FREEZE:
        detail = "the session is too close to its start (inside the freeze window) to be moved"
    elif reason is Constraint.SPACING:
        detail = "every free slot that week is within two days of a neighbouring session"
    else:
        detail = (
            f"no candidate date lies inside the programme ({policy.program_start} to {policy.program_end})"
        )
    ranked = sorted(counts.items(), key=lambda item: (-item[1], _ORDER.index(item[0])))
    tally = ", ".join(f"{constraint.value} {n}" for constraint, n in ranked)
    message = detail[0].upper() + detail[1:] + "." + (f" Candidates rejected by: {tally}." if tally else "")
    return NoSlot(reason, dict(counts), message)
