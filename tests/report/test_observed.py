"""From observed calendars to the report: declines, our moves and removed pairs read off Graph's shapes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from worker.core.desired import (
    PROP_KEY,
    PROP_MOVES,
    PROP_PROGRAMME,
    Desired,
    Observed,
    PairDesired,
    Participant,
    Rules,
)
from worker.core.plan import PairState
from worker.core.plan import PairStatus as Planned
from worker.core.types import (
    Attendee,
    Cadence,
    CadenceKind,
    Interval,
    OccurrenceInfo,
    Protection,
    Response,
    SeriesInfo,
)
from worker.report.model import FeedbackKey, PairStatus
from worker.report.observed import feedback_keys, report_from_state

ORG = "mentoring@contoso.com"
NOW = datetime(2027, 2, 20, 12, tzinfo=UTC)
RULES = Rules(
    name="fortnightly",
    cadence=Cadence(CadenceKind.WEEKLY, 2),
    duration=timedelta(minutes=45),
    sessions=4,
    days=frozenset({1}),
    hours=(time(9, 30), time(16, 30)),
    avoid=(),
    buffer=timedelta(0),
    lookahead=timedelta(weeks=3),
    protection=Protection(),
    teams_meeting=True,
    on_conflict="move",
)
LEA, JEAN = Participant("lea@contoso.com", "Léa Martin"), Participant("jean@contoso.com", "Jean Dubois")
PAIR = PairDesired("lea-jean", LEA, JEAN, ORG, RULES, "fp", date(2027, 1, 11))
DESIRED = Desired(
    key="drm27",
    name="Digital RM",
    lead="lead@contoso.com",
    zone=UTC,
    start=date(2027, 1, 11),
    end=date(2027, 6, 30),
    blackouts=(),
    reject_reporting_lines=False,
    pairs=(PAIR,),
    organizers=(ORG,),
)


def _series(sid: str, key: str, attendees: tuple[Attendee, ...] = ()) -> SeriesInfo:
    start = datetime(2027, 1, 12, 9, tzinfo=UTC)
    return SeriesInfo(
        sid,
        ORG,
        key,
        start,
        start + timedelta(minutes=45),
        "UTC",
        None,
        attendees=attendees,
        properties={PROP_KEY: key, PROP_PROGRAMME: "drm27"},
    )


def _occ(
    sid: str,
    week: int,
    *,
    declined: tuple[str, ...] = (),
    cancelled: bool = False,
    moves: int = 0,
    shift: timedelta = timedelta(0),
) -> OccurrenceInfo:
    original = datetime(2027, 1, 12, 9, tzinfo=UTC) + timedelta(weeks=week)
    start = original + shift
    attendees = tuple(
        Attendee(a, Response.DECLINED if a in declined else Response.ACCEPTED)
        for a in (LEA.address, JEAN.address)
    )
    return OccurrenceInfo(
        f"{sid}-{week}",
        sid,
        start,
        start + timedelta(minutes=45),
        original_start=original,
        is_exception=bool(shift),
        is_cancelled=cancelled,
        attendees=attendees,
        properties={PROP_MOVES: str(moves)} if moves else {},
    )


def test_report_reads_declines_our_moves_and_cancellations_off_the_calendar() -> None:
    occurrences = (
        _occ("s1", 0),
        _occ("s1", 2, declined=(JEAN.address,), moves=1, shift=timedelta(days=1)),  # moved by us, then held
        _occ("s1", 4, shift=timedelta(hours=2)),  # edited by someone else: not "moved" by us
        _occ("s1", 6, cancelled=True),
    )
    observed = Observed(
        horizon=Interval(NOW, NOW + timedelta(weeks=6)),
        series=(_series("s1", "lea-jean"),),
        occurrences={"s1": occurrences},
    )
    report = report_from_state(
        desired=DESIRED,
        observed=observed,
        statuses=[Planned("lea-jean", PairState.BOOKED, "")],
        now=NOW,
        sent_keys={
            "drm27/lea-jean/feedback/1/mentor",
            "drm27/lea-jean/feedback/1/mentee",
            "drm27/lea-jean/escalate/no_slot/2027-W03",
            "other/lea-jean/feedback/2/mentor",
        },
    )
    (row,) = report.pairs
    assert (row.held, row.upcoming, row.moved, row.declined, row.cancelled, row.feedback_sent) == (
        3,
        0,
        1,
        1,
        1,
        2,
    )
    assert row.mentor.name == "Léa Martin" and row.policy == "fortnightly"


def test_a_removed_pairs_series_shows_as_a_cancelled_row_named_from_its_attendees() -> None:
    gone = _series(
        "s9",
        "tom-sophie",
        (
            Attendee(ORG, Response.ORGANIZER),
            Attendee("tom@contoso.com", name="Tom"),
            Attendee("sophie@contoso.com", name="Sophie"),
        ),
    )
    observed = Observed(horizon=Interval(NOW, NOW), series=(gone,), occurrences={"s9": (_occ("s9", 0),)})
    report = report_from_state(desired=DESIRED, observed=observed, statuses=[], now=NOW)
    rows = {r.pair_id: r for r in report.pairs}
    assert rows["tom-sophie"].status is PairStatus.CANCELLED and rows["tom-sophie"].held == 1
    assert (rows["tom-sophie"].mentor.name, rows["tom-sophie"].mentee.name) == ("Tom", "Sophie")
    assert rows["lea-jean"].status is PairStatus.PENDING  # no verdict from the planner yet


def test_an_unknown_planner_state_is_shown_not_hidden() -> None:
    observed = Observed(horizon=Interval(NOW, NOW))
    report = report_from_state(
        desired=DESIRED, observed=observed, now=NOW, statuses=[Planned("lea-jean", "paused", "by the lead")]
    )
    assert (
        report.pairs[0].status is PairStatus.ERROR and report.pairs[0].status_detail == "paused: by the lead"
    )


def test_feedback_keys_parse_pair_ids_with_slashes_and_skip_other_mail() -> None:
    keys = [
        "p/a/b/feedback/3/mentee",
        "p/x/feedback/n/mentor",
        "p/x/feedback/2/lead",
        "q/x/feedback/1/mentor",
    ]
    assert feedback_keys(keys, "p") == [FeedbackKey("a/b", 3, "mentee")]
