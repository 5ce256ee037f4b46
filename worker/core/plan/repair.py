"""Keeping a live series healthy: move a session that was declined, double-booked, or left outside
someone's hours; cancel what a blackout or the booking's skipped dates take; write each agenda."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from worker.core import notices, slots
from worker.core.actions import (
    Cancel,
    CancelReason,
    CancelScope,
    EscalationReason,
    Move,
    MoveReason,
    UpdateAgenda,
)
from worker.core.desired import (
    PROP_AGENDA,
    PROP_FIRST,
    PROP_MOVES,
    PROP_PLANNED,
    PROP_SKIPPED,
    PROP_WANTED,
    PairDesired,
)
from worker.core.intervals import to_seconds, to_seconds_ceil
from worker.core.plan.book import _busy_without, _committed, _person, _skip_comment, _slot_policy
from worker.core.plan.escalate import _escalate
from worker.core.plan.series import _declined_by, _expected, _numbered
from worker.core.plan.state import PairState, PairStatus, _Run
from worker.core.recurrence import parse_skipped
from worker.core.types import (
    BusyStatus,
    Interval,
    OccurrenceInfo,
    Schedule,
    SeriesInfo,
    Session,
)


def _repair(run: _Run, pair: PairDesired, series: SeriesInfo) -> PairStatus:
    rules, now = pair.rules, run.now
    numbered = _numbered(series, pair, run)
    own = [Interval(o.start, o.end) for _, o in numbered if not o.is_cancelled]
    # Each person's schedule without this series' own sessions, worked out once for the pair, not once
    # per session judged (it scans every busy item).
    schedules = {who: _busy_without(run, who, own) for who in (pair.mentor.address, pair.mentee.address)}
    for _, occ in numbered:
        if not occ.is_cancelled:
            for who in (pair.mentor.address, pair.mentee.address):
                run.committed[who].append(Interval(occ.start, occ.end))
    horizon_end = run.observed.horizon.end
    policy = _slot_policy(run, pair, rules.sessions)  # one per pair: every session of the series shares it
    people = (
        _person(run, pair.mentor, own, schedules[pair.mentor.address]),
        _person(run, pair.mentee, own, schedules[pair.mentee.address]),
    )
    planned = {int(n) for n in series.properties.get(PROP_PLANNED, "").split(",") if n.strip().isdigit()}
    _cancel_skipped(run, pair, series)
    upcoming = [(s, o) for s, o in numbered if o.start >= now and not o.is_cancelled]
    for index, (session, occ) in enumerate(upcoming):
        if occ.start < now + rules.freeze or occ.end > horizon_end:
            continue
        reason = _trouble(run, pair, occ, schedules, people, policy)
        if reason is None:
            continue
        moves = int(occ.properties.get(PROP_MOVES, "0") or 0)
        period = f"session-{session.number}-{occ.start.date().isoformat()}"
        blackout = reason is MoveReason.BLACKOUT  # the programme's own rule: applies whatever the policy
        # a session outside someone's hours cannot stay where it is, whatever on_conflict says
        # ... and neither can one its booking moved, when a crash came before the move was made
        unmade = session.number in planned and not occ.is_exception
        must_move = blackout or reason is MoveReason.OUTSIDE_HOURS or unmade
        if rules.on_conflict == "keep" and not must_move:
            detail = f"session {session.number} on {occ.start.date().isoformat()}: {reason.value} (kept)"
            _escalate(run, pair, EscalationReason.CONFLICT_KEPT, detail, period=period)
            continue
        if moves >= rules.max_moves and not must_move:
            detail = f"session {session.number} was moved {moves} times already; {reason.value} again"
            _escalate(run, pair, EscalationReason.CANNOT_MOVE, detail, period=period)
            continue
        prev_start = upcoming[index - 1][1].start if index > 0 else _previous_start(numbered, occ)
        next_start = upcoming[index + 1][1].start if index + 1 < len(upcoming) else None
        exclude = [Interval(occ.start, occ.end)]
        request = slots.ReslotRequest(
            mentor=_person(run, pair.mentor, own, schedules[pair.mentor.address]),
            mentee=_person(run, pair.mentee, own, schedules[pair.mentee.address]),
            policy=policy,
            session=Session(session.number, occ.start, occ.end),
            series_zone=ZoneInfo(series.zone_name),
            previous_start=prev_start,
            next_start=next_start,
            now=now,
            freeze=rules.freeze,
            horizon=run.observed.horizon,
            committed=_committed(run, pair, exclude),
        )
        found = slots.reslot_session(request)
        if isinstance(found, slots.NoSlot) and blackout:
            # No other time that week: the session is dropped and its date joins the series' skipped
            # dates, so the sessions after it keep their numbers (agenda, feedback) without a gap.
            later = [s for s, _ in upcoming[index + 1 :]]
            comment = _skip_comment(run, pair, occ.start, later, slots.Constraint.BLACKOUT)
            zone = ZoneInfo(series.zone_name)
            skipped = parse_skipped(series.properties.get(PROP_SKIPPED))
            skipped |= {(occ.original_start or occ.start).astimezone(zone).date()}
            marked = ",".join(sorted(d.isoformat() for d in skipped))
            run.actions.append(
                Cancel(
                    pair.id,
                    series.organizer,
                    occ.id,
                    CancelScope.OCCURRENCE,
                    CancelReason.BLACKOUT,
                    comment,
                    series_id=series.id,
                    skipped=marked,
                )
            )
            continue
        if isinstance(found, slots.NoSlot):
            when = occ.start.date().isoformat()
            detail = f"session {session.number} on {when} ({reason.value}): {found.message}"
            _escalate(run, pair, EscalationReason.CANNOT_MOVE, detail, period=period)
            continue
        new = Session(session.number, found.start, found.end, moved=True)
        for who in (pair.mentor.address, pair.mentee.address):
            run.committed[who].append(Interval(new.start, new.end))
        declined = sorted(_declined_by(occ) & {pair.mentor.address, pair.mentee.address})
        subject, body = notices.moved_notice(
            run.desired, run.observed, pair, session=session.number, old_start=occ.start,
            new_start=new.start, reason=reason.value, declined=declined,
        )  # fmt: skip
        run.actions.append(
            Move(
                pair.id,
                series.organizer,
                occ.id,
                session.number,
                occ.start,
                new,
                reason,
                moves,
                series.zone_name,
                subject,
                body,
            )
        )
    _agendas(run, pair, series, numbered)
    if all(o.end <= now for _, o in numbered) and numbered and not upcoming:
        return PairStatus(pair.id, PairState.FINISHED)
    last = max((s.number for s in _expected(series)), default=0)
    wanted = int(series.properties.get(PROP_WANTED, "0") or 0)
    if last < wanted:  # a partial series: the lead was told which sessions need a decision
        return PairStatus(pair.id, PairState.BOOKED, f"booked {last} of {wanted}")
    return PairStatus(pair.id, PairState.BOOKED)


def _cancel_skipped(run: _Run, pair: PairDesired, series: SeriesInfo) -> None:
    """Occurrences on the dates the slot engine skipped (blacked-out weeks) are cancelled: at booking
    by apply, and here again if a crash came between the create and those cancels."""
    skipped = parse_skipped(series.properties.get(PROP_SKIPPED))
    if not skipped or series.recurrence is None:
        return
    zone = ZoneInfo(series.recurrence.zone_name)
    listed = run.observed.occurrences.get(series.id, ())
    for occ in listed:
        anchor = (occ.original_start or occ.start).astimezone(zone).date()
        if anchor in skipped and not occ.is_cancelled and occ.start >= run.now:
            live = [
                Session(0, o.start, o.end)
                for o in listed
                if not o.is_cancelled and (o.original_start or o.start).astimezone(zone).date() not in skipped
            ]
            comment = _skip_comment(run, pair, occ.start, live)
            run.actions.append(
                Cancel(
                    pair.id, series.organizer, occ.id, CancelScope.OCCURRENCE, CancelReason.BLACKOUT, comment
                )
            )


def _previous_start(numbered: list[tuple[Session, OccurrenceInfo]], occ: OccurrenceInfo) -> datetime | None:
    before = [o.start for _, o in numbered if o.start < occ.start and not o.is_cancelled]
    return before[-1] if before else None


def _trouble(
    run: _Run,
    pair: PairDesired,
    occ: OccurrenceInfo,
    schedules: Mapping[str, Schedule],
    people: tuple[slots.Person, slots.Person],
    policy: slots.SlotPolicy,
) -> MoveReason | None:
    """Why a future session needs repair: declined, outside someone's hours (a clock change the
    series' zone does not share, hours changed since, or a booking whose moves a crash cut short),
    out of office, or double-booked (judged on each person's ``schedules``, which leave out the
    series' own sessions)."""
    day = occ.start.astimezone(run.desired.zone).date()
    if any(first <= day <= last for first, last in run.desired.blackouts):
        return MoveReason.BLACKOUT
    if _declined_by(occ) & {pair.mentor.address, pair.mentee.address}:
        return MoveReason.DECLINED
    if slots.rules_broken(*people, policy, occ.start) is not None:
        return MoveReason.OUTSIDE_HOURS
    span = Interval(occ.start, occ.end)
    start, end = to_seconds(span.start), to_seconds_ceil(span.end)  # UTC seconds, as Busy holds them
    worst: MoveReason | None = None
    for who in (pair.mentor.address, pair.mentee.address):
        for b in schedules[who].busy:
            if b.start_s < end and start < b.end_s and b.status.blocks:
                if b.status is BusyStatus.OOF:
                    return MoveReason.OUT_OF_OFFICE
                worst = MoveReason.CONFLICT
    return worst


def _agendas(
    run: _Run, pair: PairDesired, series: SeriesInfo, numbered: list[tuple[Session, OccurrenceInfo]]
) -> None:
    rules, now = pair.rules, run.now
    for session, occ in numbered:
        if occ.is_cancelled or not (now < occ.start <= now + rules.agenda_lead):
            continue
        if occ.properties.get(PROP_AGENDA) == str(session.number):
            continue
        if session.number == int(series.properties.get(PROP_FIRST, 1)) and not occ.is_exception:
            continue  # the series' invitation already carries its first session's agenda
        subject, body = notices.session_agenda(run.desired, pair, session.number)
        run.actions.append(
            UpdateAgenda(pair.id, series.organizer, occ.id, session.number, occ.start, subject, body)
        )
