"""The report's numbers from known calendars: the counting rules of the programme report."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.report.sample import FEEDBACK, JEAN, LEA, NOW, PAIRS, PARIS, PROGRAMME, sessions
from worker.report.model import (
    FeedbackKey,
    PairInput,
    PairStatus,
    ReportError,
    SessionRecord,
    WeekCount,
    build_report,
)


def _report(
    now: datetime = NOW, pairs: tuple[PairInput, ...] = PAIRS, records: list[SessionRecord] | None = None
):
    return build_report(
        programme=PROGRAMME,
        pairs=pairs,
        sessions=sessions() if records is None else records,
        feedback_sent=FEEDBACK,
        now=now,
    )


def _row(report, pair_id: str):
    return next(r for r in report.pairs if r.pair_id == pair_id)


def test_pair_counts_match_the_known_calendar() -> None:
    row = _row(_report(), "lea-jean")
    assert (row.held, row.upcoming, row.moved, row.declined, row.cancelled, row.feedback_sent) == (
        3,
        4,
        1,
        2,
        2,
        3,
    )
    assert row.last_session == datetime(2027, 3, 9, 10, tzinfo=PARIS)
    assert row.next_session == datetime(2027, 3, 23, 10, tzinfo=PARIS)
    assert row.status is PairStatus.BOOKED


def test_monthly_pair_and_pairs_without_sessions() -> None:
    report = _report()
    hugo = _row(report, "hugo-claire")
    assert (hugo.held, hugo.upcoming, hugo.feedback_sent) == (2, 4, 1)
    amina = _row(report, "amina-robert")
    assert (amina.held, amina.upcoming, amina.last_session, amina.next_session) == (0, 0, None, None)
    assert amina.status is PairStatus.UNSCHEDULED and "out of office" in amina.status_detail


def test_programme_totals_add_up_the_pairs() -> None:
    totals = _report().totals
    assert (totals.pairs, totals.held, totals.upcoming, totals.moved, totals.declined, totals.cancelled) == (
        4,
        5,
        8,
        1,
        2,
        2,
    )
    assert totals.feedback_sent == 4  # a key seen twice is one email; keys of unknown pairs are ignored
    assert totals.count(PairStatus.BOOKED) == 2 and totals.count(PairStatus.REFUSED) == 1


def test_a_session_declined_by_both_is_not_held_whatever_the_address_case() -> None:
    start = datetime(2027, 2, 1, 9, tzinfo=UTC)
    record = SessionRecord(
        "lea-jean",
        1,
        start,
        start + timedelta(hours=1),
        declined_by=frozenset({"Lea.Martin@Contoso.com", "JEAN.DUBOIS@contoso.com"}),
    )
    row = _row(_report(records=[record]), "lea-jean")
    assert (row.held, row.declined, row.last_session) == (0, 1, None)


def test_a_session_under_way_is_neither_held_nor_upcoming() -> None:
    start = NOW - timedelta(minutes=10)
    row = _row(_report(records=[SessionRecord("lea-jean", 1, start, start + timedelta(hours=1))]), "lea-jean")
    assert (row.held, row.upcoming) == (0, 0)


def test_a_session_that_just_ended_is_held() -> None:
    record = SessionRecord("lea-jean", 1, NOW - timedelta(hours=1), NOW)
    assert _row(_report(records=[record]), "lea-jean").held == 1


def test_a_booked_pair_is_finished_once_all_its_sessions_are_past() -> None:
    start = datetime(2027, 1, 12, 9, tzinfo=UTC)
    records = [
        SessionRecord("lea-jean", 1, start, start + timedelta(hours=1)),
        SessionRecord(
            "lea-jean", 2, NOW + timedelta(days=7), NOW + timedelta(days=7, hours=1), cancelled=True
        ),
    ]
    assert _row(_report(records=records), "lea-jean").status is PairStatus.FINISHED


def test_every_booked_pair_is_finished_after_the_programme_ends_and_others_keep_their_status() -> None:
    after = datetime(2027, 6, 30, 22, 0, tzinfo=UTC)  # midnight in Paris: 1 July has begun
    report = _report(now=after)
    assert _row(report, "hugo-claire").status is PairStatus.FINISHED
    assert _row(report, "amina-robert").status is PairStatus.UNSCHEDULED
    assert _row(report, "ob-sophie").status is PairStatus.REFUSED
    assert (
        _row(_report(now=after - timedelta(minutes=1)), "hugo-claire").status is PairStatus.FINISHED
    )  # all past


def test_sessions_per_week_cover_the_programme_week_by_week_in_its_zone() -> None:
    weeks = _report().sessions_per_week
    assert weeks[0].week_start == date(2027, 1, 11) and weeks[-1].week_start == date(2027, 6, 28)
    assert all(b.week_start - a.week_start == timedelta(days=7) for a, b in itertools.pairwise(weeks))
    by_week = {w.week_start: w for w in weeks}
    assert by_week[date(2027, 1, 11)] == WeekCount(date(2027, 1, 11), held=1, upcoming=0, cancelled=0)
    assert by_week[date(2027, 2, 8)].cancelled == 1
    assert by_week[date(2027, 4, 19)].upcoming == 2
    # Monday 00:30 in Paris is Sunday evening in UTC: it belongs to Monday's week
    monday = datetime(2027, 3, 15, 0, 30, tzinfo=PARIS)
    weeks = _report(
        records=[SessionRecord("lea-jean", 1, monday, monday + timedelta(hours=1))]
    ).sessions_per_week
    assert {w.week_start for w in weeks if w.upcoming} == {date(2027, 3, 15)}


def test_naive_times_are_refused() -> None:
    with pytest.raises(ReportError):
        _report(now=datetime(2027, 3, 10, 12))
    with pytest.raises(ReportError):
        _report(records=[SessionRecord("lea-jean", 1, datetime(2027, 3, 1, 9), datetime(2027, 3, 1, 10))])


_PAIR = PairInput("p", LEA, JEAN, "weekly", PairStatus.BOOKED)
_record = st.builds(
    lambda day, hour, minutes, cancelled, declined, moved: SessionRecord(
        "p",
        1,
        datetime(2027, 1, 11, tzinfo=UTC) + timedelta(days=day, hours=hour),
        datetime(2027, 1, 11, tzinfo=UTC) + timedelta(days=day, hours=hour, minutes=minutes),
        cancelled=cancelled,
        declined_by=frozenset(declined),
        moved=moved,
    ),
    st.integers(0, 200),
    st.integers(0, 23),
    st.integers(15, 120),
    st.booleans(),
    st.sets(st.sampled_from([LEA.address, JEAN.address])),
    st.booleans(),
)


@given(records=st.lists(_record, max_size=30), day=st.integers(0, 210))
def test_the_weekly_chart_adds_up_to_the_totals(records: list[SessionRecord], day: int) -> None:
    now = datetime(2027, 1, 11, 12, tzinfo=UTC) + timedelta(days=day)
    report = build_report(
        programme=PROGRAMME,
        pairs=(_PAIR,),
        sessions=records,
        feedback_sent=[FeedbackKey("p", 1, "mentor")],
        now=now,
    )
    weeks = report.sessions_per_week
    assert sum(w.held for w in weeks) == report.totals.held
    assert sum(w.upcoming for w in weeks) == report.totals.upcoming
    assert sum(w.cancelled for w in weeks) == report.totals.cancelled == sum(r.cancelled for r in records)
    assert report.totals.held + report.totals.upcoming <= len(records)
