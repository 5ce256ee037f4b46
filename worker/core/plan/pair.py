"""One pair's decision, in order: reporting line, feedback, then book, re-cut or repair."""

from __future__ import annotations

from worker.core import render
from worker.core.actions import (
    Cancel,
    CancelReason,
    CancelScope,
    EscalationReason,
)
from worker.core.desired import (
    PROP_FINGERPRINT,
    Observed,
    PairDesired,
    Participant,
)
from worker.core.plan.book import _book
from worker.core.plan.escalate import _escalate
from worker.core.plan.feedback import _check_disengagement, _feedback_and_count, _name_next_sessions
from worker.core.plan.lifecycle import _recut, _retire
from worker.core.plan.repair import _repair
from worker.core.plan.series import _next_number
from worker.core.plan.state import PROP_ENDED, PairState, PairStatus, _Run
from worker.core.types import (
    SeriesInfo,
)


def _isolated(run: _Run, pair: PairDesired, series: list[SeriesInfo]) -> PairStatus:
    """Plan one pair; a value this pair's series carry that we cannot read (a zone Graph reports
    as "Customized Time Zone", a mangled property) fails that pair alone, with nothing half-decided."""
    before = len(run.actions)
    try:
        status = _plan_pair(run, pair, series)
        _name_next_sessions(run, pair, series, before)
        return status
    except (ValueError, LookupError) as exc:  # ZoneInfoNotFoundError is a KeyError
        del run.actions[before:]
        return PairStatus(pair.id, PairState.ERROR, f"cannot read this pair's series: {exc!r}")


def _plan_pair(run: _Run, pair: PairDesired, series: list[SeriesInfo]) -> PairStatus:
    desired, observed = run.desired, run.observed
    if observed.unreadable:  # its series may be in a mailbox we could not list: never book blind
        why = "; ".join(f"{box}: {error}" for box, error in sorted(observed.unreadable.items()))
        return PairStatus(pair.id, PairState.ERROR, f"could not list the series: {why}")
    if desired.reject_reporting_lines and not all(
        a in observed.chains for a in (pair.mentor.address, pair.mentee.address)
    ):
        return PairStatus(pair.id, PairState.ERROR, "manager chains could not be read; not booked")
    if desired.reject_reporting_lines and _same_reporting_line(observed, pair):
        for s in series:
            if PROP_ENDED not in s.properties:
                _retire(run, pair.id, s, CancelReason.PAIR_REMOVED)
        detail = f"{pair.mentor.address} and {pair.mentee.address} are in one reporting line"
        _escalate(run, pair, EscalationReason.REPORTING_LINE, detail, period="once")
        return PairStatus(pair.id, PairState.REFUSED, detail)

    ended = [s for s in series if PROP_ENDED in s.properties]
    live = [s for s in series if PROP_ENDED not in s.properties]
    for duplicate in live[1:]:  # two workers raced, or a crash hid the first: keep the oldest
        run.actions.append(
            Cancel(
                pair.id,
                duplicate.organizer,
                duplicate.id,
                CancelScope.SERIES,
                CancelReason.DUPLICATE,
                render.cancellation_comment(CancelReason.DUPLICATE, desired.name),
            )
        )
    current = live[0] if live else None

    held_so_far = 0
    for s in [*ended, *([current] if current else [])]:
        held_so_far = max(held_so_far, _feedback_and_count(run, pair, s))
    _check_disengagement(run, pair, series)

    for person in (pair.mentor, pair.mentee):
        sched = observed.schedules.get(person.address)
        if sched is None:  # the read failed (a transient error): an error of this run, not news for the lead
            return PairStatus(pair.id, PairState.ERROR, f"{person.address}: no free/busy could be read")
        if sched.error:  # Graph could not resolve the person: the lead should look at the pairs file
            unknown = _is_unknown(sched.error)
            detail = _unknown_person(person, sched.error) if unknown else f"{person.address}: {sched.error}"
            _escalate(run, pair, EscalationReason.UNKNOWN_PERSON, detail, period="week")
            # No one to book with is the lead's to fix, not a failure of this run.
            return PairStatus(pair.id, PairState.UNSCHEDULED if unknown else PairState.ERROR, detail)

    if current is None:
        first = _next_number(ended, run, pair)
        return _book(run, pair, first_number=first, exclude=())
    if current.properties.get(PROP_FINGERPRINT, pair.fingerprint) != pair.fingerprint:
        return _recut(run, pair, current)
    return _repair(run, pair, current)


def _unknown_person(person: Participant, error: str) -> str:
    """The lead's sentence for someone Microsoft 365 does not know (getSchedule's 5009 "Unable to resolve
    e-mail address", a user that is not found), with Graph's own words kept at the end for IT."""
    who = person.address if person.name in ("", person.address) else f"{person.name} ({person.address})"
    return (
        f"{who} has no mailbox in this Microsoft 365 tenant, so the pair cannot be booked: "
        f"check the address in pairs.yaml (Graph: {error})"
    )


def _is_unknown(error: str) -> bool:
    """Whether a schedule error says the address resolves to no mailbox (5009), not a passing failure."""
    lowered = error.lower()
    return error.startswith("5009") or "unable to resolve" in lowered or "not found" in lowered


def _same_reporting_line(observed: Observed, pair: PairDesired) -> bool:
    mentor, mentee = pair.mentor.address, pair.mentee.address
    return mentee in observed.chains.get(mentor, ()) or mentor in observed.chains.get(mentee, ())
