"""After each session held: the feedback email (with its rating links), the next session it names,
and the disengagement alert."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from worker.core import ratings, render
from worker.core.actions import (
    Book,
    Cancel,
    CancelScope,
    EscalationReason,
    Move,
    Role,
    SendFeedback,
)
from worker.core.desired import (
    PROP_PROGRAMME,
    Desired,
    Observed,
    PairDesired,
)
from worker.core.plan.escalate import _escalate
from worker.core.plan.series import _declined_by, _expected, _held, _numbered
from worker.core.plan.state import _Run
from worker.core.types import (
    MailSpec,
    OccurrenceInfo,
    SeriesInfo,
    Session,
)

DISENGAGED_AFTER = timedelta(days=30)


def _feedback_and_count(run: _Run, pair: PairDesired, series: SeriesInfo) -> int:
    """Queue the feedback owed for held sessions of ``series``; return the highest session number held."""
    rules = pair.rules
    numbered = _numbered(series, pair, run)
    highest = 0
    pair_start = datetime.combine(pair.start, time(0), tzinfo=run.desired.zone)
    for index, (session, occ) in enumerate(numbered):
        if occ.start < pair_start:
            continue
        if _held(occ, pair, run.now):
            highest = max(highest, session.number)
        if rules.feedback is None or not _held(occ, pair, run.now - rules.feedback.send_after):
            continue
        upcoming = next((s for s, o in numbered[index + 1 :] if not o.is_cancelled), None)
        for role in (Role.MENTOR, Role.MENTEE):
            key = f"{run.desired.key}/{pair.id}/feedback/{session.number}/{role.value}"
            if key in run.observed.sent:
                continue
            mail = _feedback_mail(run, pair, series, session, role, upcoming, key)
            run.actions.append(
                SendFeedback(pair.id, session.number, role, mail, occ.end, occ.start, upcoming)
            )
    return highest


def _name_next_sessions(run: _Run, pair: PairDesired, series: list[SeriesInfo], before: int) -> None:
    """Each feedback email of this pair names its next session as the calendar will hold it once this
    pass's writes are done (a session moved or dropped now, a new series booked now), not as the series'
    pattern put it: its feedback was written before the repairs were decided, so it is written again
    where that next session differs."""
    mine = run.actions[before:]
    if not any(isinstance(a, SendFeedback) for a in mine):
        return  # most passes of most pairs: nothing to name
    moved = {a.occurrence_id: a.new for a in mine if isinstance(a, Move)}
    dropped = {a.event_id for a in mine if isinstance(a, Cancel) and a.scope is not CancelScope.END_AFTER}
    ended = {a.event_id: a.last_date for a in mine if isinstance(a, Cancel) and a.last_date is not None}
    live: list[Session] = []
    for s in series:
        if s.id in dropped:
            continue
        zone = ZoneInfo(s.zone_name)
        for session, occ in _numbered(s, pair, run):
            anchor = (occ.original_start or occ.start).astimezone(zone).date()
            last = ended.get(s.id)
            if occ.is_cancelled or occ.id in dropped or (last is not None and anchor > last):
                continue
            live.append(moved.get(occ.id, session))
    for action in mine:
        if isinstance(action, Book):
            live += action.sessions
    live.sort(key=lambda x: x.start)
    organizers = {s.organizer for s in series}
    for i, action in enumerate(mine, start=before):
        if not isinstance(action, SendFeedback) or action.mail.sender not in organizers:
            continue
        after = max(action.session_end, run.now)
        upcoming = next((x for x in live if x.start >= after and x.number != action.session), None)
        if upcoming == action.upcoming:
            continue
        owner = next(s for s in series if s.organizer == action.mail.sender)
        held = Session(action.session, action.session_start or action.session_end, action.session_end)
        mail = _feedback_mail(run, pair, owner, held, action.role, upcoming, action.mail.key)
        run.actions[i] = SendFeedback(
            pair.id, action.session, action.role, mail, action.session_end, action.session_start, upcoming
        )


def _zone_of(run: _Run, address: str) -> tzinfo:
    """A person's own zone (their working hours'), else the programme's."""
    sched = run.observed.schedules.get(address)
    return sched.working_hours.zone if sched and sched.working_hours else run.desired.zone


def _local_date(run: _Run, address: str, at: datetime) -> date:
    return at.astimezone(_zone_of(run, address)).date()


def _feedback_mail(
    run: _Run,
    pair: PairDesired,
    series: SeriesInfo,
    session: Session,
    role: Role,
    upcoming: Session | None,
    key: str,
) -> MailSpec:
    assert pair.rules.feedback is not None
    me, partner = (pair.mentor, pair.mentee) if role is Role.MENTOR else (pair.mentee, pair.mentor)
    day = _local_date(run, me.address, session.start)
    zone = _zone_of(run, me.address)
    values = {
        "pair": pair.id,
        "session": str(session.number),
        "role": role.value,
        "mentor": pair.mentor.address,
        "mentee": pair.mentee.address,
        "partner": partner.name,
        "date": day.isoformat(),
    }
    form = render.form_link(pair.rules.feedback.form, values)
    subject = render.feedback_subject(pair.rules.feedback.subject, values)
    agenda = pair.rules.agenda_for(session.number)
    nxt = None
    if upcoming is not None:
        next_agenda = pair.rules.agenda_for(upcoming.number)
        nxt = (
            render.format_local(upcoming.start, zone, render.zone_label(zone, upcoming.start)),
            next_agenda.title if next_agenda else f"Session {upcoming.number}",
        )
    links = []
    if run.desired.rating_key:  # one-click rating links, to the mailbox the email comes from
        links = [
            (link.value, link.url)
            for link in ratings.rating_links(
                run.desired.rating_key, mailbox=series.organizer, programme=run.desired.key,
                programme_name=run.desired.name, pair=pair.id, session=session.number, role=role.value,
            )
        ]
    html, text = render.feedback_email(
        programme_name=run.desired.name,
        recipient_name=me.greeting,
        role=role,
        partner_name=partner.name,
        session_number=session.number,
        session_date_local=render.format_local(session.start, zone, render.zone_label(zone, session.start)),
        agenda=(agenda.title, list(agenda.items)) if agenda else (f"Session {session.number}", []),
        next_session=nxt,
        form_url=form,
        lead=run.desired.lead,
        subject=subject,
        rating_links=links,
    )
    return MailSpec(sender=series.organizer, key=key, to=(me.address,), subject=subject, html=html, text=text)


def _check_disengagement(run: _Run, pair: PairDesired, series: list[SeriesInfo]) -> None:
    """Tell the lead, once per episode, when a pair has stalled: its last two sessions did not take place
    (declined or cancelled), or none has for 30 days while sessions were due. Judged against the
    series' own pattern, so a monthly pair is not "silent" between sessions and a finished one never is."""
    expected: list[Session] = []
    held: dict[int, datetime] = {}
    seen: dict[int, OccurrenceInfo] = {}
    for s in series:
        expected += _expected(s)
        for session, occ in _numbered(s, pair, run):
            seen[session.number] = occ
            if _held(occ, pair, run.now):
                held[session.number] = occ.end
    both = {pair.mentor.address, pair.mentee.address}

    def missed(session: Session) -> bool:  # cancelled (gone from the calendar), or declined by either
        occ = seen.get(session.number)
        return occ is None or occ.is_cancelled or bool(_declined_by(occ) & both)

    due = sorted((x for x in expected if x.end <= run.now), key=lambda x: x.end)
    if not due:
        return
    anchor = max(held.values(), default=datetime.combine(pair.start, time(0), tzinfo=run.desired.zone))
    missed_since = [x for x in due if x.end > anchor and x.number not in held]
    gaps = [b.start - a.start for a, b in itertools.pairwise(expected) if b.start > a.start]
    silence_limit = max([DISENGAGED_AFTER, *gaps])
    reason = ""
    if len(due) >= 2 and missed(due[-1]) and missed(due[-2]):
        reason = "the last two sessions were declined or cancelled"
    elif missed_since and run.now - anchor > silence_limit:
        reason = f"no session has taken place for {(run.now - anchor).days} days"
    if reason:
        episode = anchor.date().isoformat() if held else "never"
        _escalate(run, pair, EscalationReason.DISENGAGED, reason, period=f"since-{episode}")
        return
    # The ratings tell the same story a calendar cannot: low twice running, or no more answers.
    feedback = pair.rules.feedback
    if feedback is None or not run.observed.ratings:
        return
    answer_by = run.now - feedback.send_after - ratings.ANSWER_WITHIN
    answerable = [n for n, end in held.items() if end <= answer_by]
    if run.ratings_by_pair is None:
        run.ratings_by_pair = defaultdict(list)
        for rating in run.observed.ratings:
            run.ratings_by_pair[rating.pair].append(rating)
    found = ratings.concern(run.ratings_by_pair.get(pair.id, []), due=answerable)
    if found is not None:
        _escalate(run, pair, EscalationReason.DISENGAGED, found[1], period=found[0])


def held_numbers(desired: Desired, observed: Observed, pair: PairDesired, now: datetime) -> frozenset[int]:
    """The numbers of ``pair``'s sessions that took place by ``now``, as the planner counts them (for
    judging ratings: only a session that took place can be rated)."""
    run = _Run(desired, observed, now.astimezone(UTC))
    ours = [s for s in observed.series if s.key == pair.id
            and s.properties.get(PROP_PROGRAMME, desired.key) == desired.key]
    return frozenset(
        session.number
        for s in ours
        for session, occ in _numbered(s, pair, run)
        if _held(occ, pair, run.now)
    )
