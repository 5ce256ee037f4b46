"""Why no slot, or why a series stops short: the sentences the programme lead reads.

The engine counts, for every candidate it rejected, the first constraint that rejected it (in
``Constraint`` order). The reason named is the one that really stands in the way: when some
candidates passed every rule, it is what rejected those (busy time, blackouts), never the rules
that merely thinned the grid; otherwise the rule that removed most. The message then says what
that constraint means for these two people, in UTC and in each person's own local time with the
zone's name, e.g. "Lea's and Jean's working hours overlap only 14:00–15:00 UTC (15:00–16:00 in
Paris, 09:00–10:00 in New York) on Mon–Fri". Every sentence is derived from the inputs, and the
tests hold the claims to them (a time called too short is shorter than the session, a person
named as busy is busy at those times, a zone named is that person's zone).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import tzinfo

from worker.core.availability import Board, PersonView
from worker.core.calendar_math import DAY, clock_for, day_date, time_of
from worker.core.intervals import IntervalSet, from_seconds
from worker.core.slot_model import Constraint, NoSlot, Shortfall, SlotPolicy

_RULES = (Constraint.DAYS, Constraint.WORKING_HOURS, Constraint.WINDOW, Constraint.AVOID)
_BEFORE_CALENDARS = (Constraint.PROGRAMME_DATES, Constraint.LOCAL_TIME, *_RULES)

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


def _described(board: Board, common: IntervalSet, week_start: int) -> str:
    """What two people's sets leave in common over a week (``_common``), in UTC and in each person's
    local time; empty when nothing."""
    text = summarise_week(common, week_start)
    if not text:
        return ""
    return f"{text} ({local_spans(board, common)})"


def _common(board: Board, layer: Constraint | None, week_start: int) -> IntervalSet:
    week_end = week_start + 7 * DAY
    sets = [(p.rules if layer is None else p.layers[layer]).clip(week_start, week_end) for p in board.people]
    return sets[0].intersection(sets[1])


def longest(common: IntervalSet) -> int:
    """The longest stretch of a set, in seconds."""
    return max((end - start for start, end in common), default=0)


def zone_label(view: PersonView) -> str:
    """A person's zone as people say it: "New York (America/New_York)"; a mailbox whose zone Graph
    gave only by its rules (Outlook's "Customized Time Zone") is named as such, not guessed."""
    key = getattr(view.person.zone, "key", None)
    if key is None:
        return "their mailbox's custom time zone"
    return f"{city(key)} ({key})"


def city(key: str) -> str:
    """Europe/Paris -> Paris, America/Argentina/Buenos_Aires -> Buenos Aires, UTC -> UTC."""
    return key.rsplit("/", 1)[-1].replace("_", " ")


def _place(view: PersonView) -> str:
    key = getattr(view.person.zone, "key", None)
    return f"{view.name}'s custom time zone" if key is None else city(key)


def local_spans(board: Board, common: IntervalSet) -> str:
    """The first stretch of ``common`` in each person's own local time: "15:00–16:00 in Paris,
    09:00–10:00 in New York" (one entry per distinct zone)."""
    first = next(iter(common), None)
    if first is None:
        return ""
    parts: list[str] = []
    for view in board.people:
        lo = view.clock.wall(first[0]) % DAY
        hi = (view.clock.wall(first[1] - 1) + 1) % DAY or DAY
        part = f"{_hhmm(lo)}–{_hhmm(hi)} in {_place(view)}"
        if part not in parts:
            parts.append(part)
    return ", ".join(parts)


def pick_reason(counts: Counter[Constraint], default: Constraint) -> Constraint:
    """The constraint that really stands in the way (see the module docstring)."""
    if not counts:
        return default
    pool = counts
    if counts.get(Constraint.BUSY) or counts.get(Constraint.BLACKOUT):
        # some candidates passed every rule: what rejected those is the reason, not the rules
        pool = Counter({c: n for c, n in counts.items() if c not in _BEFORE_CALENDARS})
    return max(pool, key=lambda c: (pool[c], -_ORDER.index(c)))


def busy_people(board: Board, starts: Iterable[int]) -> list[tuple[str, int]]:
    """For sessions starting at ``starts``, how many each person's busy time (with buffer) hits."""
    out = []
    for view in board.people:
        hits = sum(
            1
            for start in starts
            if view.others.overlaps(start - board.buffer, start + board.duration + board.buffer)
            or view.oof.overlaps(start - board.buffer, start + board.duration + board.buffer)
        )
        out.append((view.name, hits))
    return out


def describe(
    board: Board,
    counts: Counter[Constraint],
    policy: SlotPolicy,
    *,
    reference: int,
    default: Constraint = Constraint.PROGRAMME_DATES,
    busy_starts: Iterable[int] = (),
) -> NoSlot:
    """The ``NoSlot`` for these counts; ``reference`` (UTC seconds) picks the week the message describes,
    ``default`` is the reason when there was no candidate to count at all, ``busy_starts`` are the
    candidates busy time rejected (to name whose calendar took them)."""
    a, b = (p.name for p in board.people)
    zones = " and ".join(f"{p.name} in {zone_label(p)}" for p in board.people)
    week_start = reference // DAY * DAY
    reason = pick_reason(counts, default)
    minutes = int(policy.duration.total_seconds() // 60)
    window = f"{policy.window[0]:%H:%M}–{policy.window[1]:%H:%M}"
    if reason is Constraint.WORKING_HOURS:
        common = _described(board, _common(board, Constraint.WORKING_HOURS, week_start), week_start)
        if not common:
            detail = f"{a}'s and {b}'s working hours do not overlap at all ({zones})"
        else:
            usable_set = _common(board, None, week_start)
            usable = _described(board, usable_set, week_start)
            rules = f"the policy's days, its {window} window and avoid times"
            if not usable:
                tail = f"none of it is within {rules}"
            elif longest(usable_set) < board.duration:
                tail = f"within {rules} that leaves {usable}, too short for a {minutes}-minute session"
            else:
                tail = f"within {rules} that leaves {usable}"
            detail = f"{a}'s and {b}'s working hours overlap only {common}; {tail}"
    elif reason is Constraint.WINDOW:
        common = _described(board, _common(board, None, week_start), week_start)
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
        starts = sorted(busy_starts)
        who = [f"{name} is busy at {n}" for name, n in busy_people(board, starts) if n]
        detail = (
            f"{a}'s and {b}'s calendars leave no mutual {minutes}-minute slot "
            f"(with {buffer} minutes' buffer) free at the same time every session"
        )
        if starts and who:
            detail = (
                f"every one of the {len(starts)} start times that both people's hours and the policy allow "
                f"is taken: {' and '.join(who)} of them (with {buffer} minutes' buffer)"
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


def _date(instant: int, zone: tzinfo) -> str:
    """ "Sun 4 Apr 2027", the local date of ``instant`` in ``zone``."""
    day = day_date(clock_for(zone).wall(instant) // DAY)
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {day:%b %Y}"


def clock_changes(board: Board, lo: int, hi: int) -> list[tuple[int, PersonView, int]]:
    """(instant, person, change in seconds) of each clock change in either person's zone in (lo, hi]."""
    out: list[tuple[int, PersonView, int]] = []
    for view in board.people:
        for change in view.clock.transitions_within(lo, hi + 1):
            step = view.clock.offset_at(change) - view.clock.offset_at(change - 1)
            if step and all(v.person.zone is not view.person.zone for _, v, _ in out):
                out.append((change, view, step))
    return sorted(out, key=lambda item: item[0])


def shortfall_of(
    board: Board,
    policy: SlotPolicy,
    *,
    count: int,
    last: int,
    first: int,
    capped: bool,
    kept: int = 0,
    dropped: int = 0,
) -> Shortfall:
    """Why the sessions from ``first`` (the regular start of the first one not placed; ``last`` is the
    last session held) could not be placed, as the lead reads it. ``kept``: the series' exceptions
    (moved or cancelled sessions it keeps); ``dropped``: the weeks without a time from ``first`` on."""
    skipped = kept + dropped
    zone = policy.program_zone
    when = _date(first, zone)
    minutes = int(policy.duration.total_seconds() // 60)
    a, b = (p.name for p in board.people)
    reason = board.explain(first) or Constraint.BUSY
    if not (board.first_start <= first < board.last_start):
        message = f"the programme ends on {policy.program_end:%a %-d %b %Y}, before their dates" + (
            f" ({skipped} week{'s' if skipped != 1 else ''} without a common time pushed the series on)"
            if skipped
            else ""
        )
        return Shortfall(count, from_seconds(first), Constraint.PROGRAMME_DATES, message)
    week_start = first // DAY * DAY
    common = _common(board, None, week_start)
    changes = clock_changes(board, last, first)
    because = ""
    if changes and reason in _RULES:
        instant, view, step = changes[-1]
        direction = "forward" if step > 0 else "back"
        size = abs(step)
        if size % 3600:
            amount = f"{size // 60} minutes"
        else:
            amount = "an hour" if size == 3600 else f"{size // 3600} hours"
        on = _date(instant, view.person.zone)
        because = f", when clocks in {_place(view)} go {direction} {amount} ({on})"
    if reason in _RULES:
        if not common:
            cause = f"{a}'s and {b}'s hours (within the policy's days and window) no longer overlap"
        elif longest(common) < board.duration:
            cause = (
                f"{a}'s and {b}'s hours overlap only {_described(board, common, week_start)}, "
                f"too short for a {minutes}-minute session"
            )
        else:
            cause = f"the series' regular time falls outside {a}'s or {b}'s hours ({reason.value})"
    elif reason is Constraint.BLACKOUT:
        cause = "it falls in a blackout and that week has no other common time"
    else:
        cause = f"{a}'s or {b}'s calendar is busy at every common time that week"
    if capped:
        cap = policy.exception_cap
        if cap == 0:
            limit = "the policy allows no session to be moved or cancelled (max_exceptions: 0)"
        else:
            weeks = f"{dropped} week{'s' if dropped != 1 else ''} in a row without a common time"
            before = f"{kept} session{'s' if kept != 1 else ''} moved or cancelled before"
            parts = [p for p, n in ((before, kept), (weeks, dropped)) if n]
            limit = f"the series stops there: {' and '.join(parts)} reached max_exceptions ({cap})"
        message = f"from {when}{because}, {cause}; {limit}"
    else:
        message = (
            f"from {when}{because}, {cause}, and no later week has a common time before the programme ends"
        )
    return Shortfall(count, from_seconds(first), reason, message)
