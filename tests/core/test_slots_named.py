"""Named cases for the slot engine: DST weeks, odd offsets, touching and all-day events, blackouts,
out-of-office days, monthly series, people in two pairs. Each is also checked against the oracle."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.core.oracle import Oracle
from tests.core.slot_cases import MONTHLY, at, busy, person, policy, request
from worker.core.slots import Constraint, NoSlot, SeriesRequest, SeriesSlot, find_series
from worker.core.types import BusyStatus, Cadence, CadenceKind, Interval, WeekIndex


def found(req: SeriesRequest) -> SeriesSlot:
    """The engine's series, after checking that the oracle agrees with it."""
    answer = find_series(req)
    expected = Oracle(
        mentor=req.mentor, mentee=req.mentee, policy=req.policy, horizon=req.horizon, committed=req.committed
    ).best_series(req.earliest)
    assert isinstance(answer, SeriesSlot), answer
    assert expected is not None
    assert (answer.recurrence.start, answer.start_local) == (expected.first, expected.start)
    assert [(s.start, s.moved) for s in answer.sessions] == list(expected.held)
    return answer


def local_times(slot: SeriesSlot, zone: str) -> list[time]:
    return [s.start.astimezone(ZoneInfo(zone)).time() for s in slot.sessions]


# --- daylight saving ------------------------------------------------------------------------


def test_new_york_and_london_series_from_the_us_only_dst_weeks_still_holds_after_europe_moves() -> None:
    # 14-28 March 2027 New York is already on EDT and London still on GMT. The series keeps New York's
    # wall clock (09:30, the best time in both zones), which London sees at 13:30, then 14:30 from 29
    # March: inside both people's hours every week, with no exception.
    lea = person("lea.martin@contoso.com", "America/New_York", (9, 17))
    jean = person("jean.dubois@contoso.com", "Europe/London", (9, 17))
    earliest = at("Europe/London", 2027, 3, 15)

    one_week = found(request(lea, jean, policy(sessions=1), earliest))
    series = found(request(lea, jean, policy(sessions=4), earliest))

    assert (one_week.zone_name, one_week.start_local) == ("America/New_York", time(9, 30))
    assert series.zone_name == "America/New_York"
    assert series.recurrence.start == date(2027, 3, 16)
    assert series.disruptions == 0
    assert local_times(series, "America/New_York") == [time(9, 30)] * 4
    assert local_times(series, "Europe/London") == [time(13, 30), time(13, 30), time(14, 30), time(14, 30)]


def test_series_keeps_the_mentees_wall_clock_and_the_mentor_sees_the_hour_move() -> None:
    lea = person("lea.martin@contoso.com", "Europe/London", (9, 17))
    jean = person("jean.dubois@contoso.com", "America/New_York", (9, 17))

    series = found(request(lea, jean, policy(sessions=4), at("America/New_York", 2027, 3, 8)))

    assert series.zone_name == "America/New_York"
    assert series.start_local == time(9, 30)
    assert local_times(series, "America/New_York") == [time(9, 30)] * 4
    assert local_times(series, "Europe/London") == [time(14, 30), time(13, 30), time(13, 30), time(14, 30)]


def test_sydney_and_london_in_october_the_series_fits_the_narrowest_week() -> None:
    # Sydney starts DST on 3 Oct, London ends it on 31 Oct: the overlap shrinks from 3 hours to 1.
    # Only Sydney's wall clock holds for all six sessions: 18:00 there is 09:00, 08:00, then 07:00 in London.
    ada = person("ada.wong@contoso.com", "Australia/Sydney", (7, 19))
    jean = person("jean.dubois@contoso.com", "Europe/London", (7, 17))
    earliest = at("Europe/London", 2027, 9, 27)

    assert found(request(ada, jean, policy(sessions=1), earliest)).start_local == time(17)
    series = found(request(ada, jean, policy(sessions=6), earliest))

    assert (series.zone_name, series.start_local, series.disruptions) == ("Australia/Sydney", time(18), 0)
    assert local_times(series, "Europe/London") == [time(9)] + [time(8)] * 4 + [time(7)]


def test_sydney_and_london_in_april_london_sees_the_session_an_hour_later() -> None:
    ada = person("ada.wong@contoso.com", "Australia/Sydney", (7, 19))
    jean = person("jean.dubois@contoso.com", "Europe/London", (7, 17))

    series = found(request(ada, jean, policy(sessions=3), at("Europe/London", 2027, 3, 29)))

    assert (series.zone_name, series.start_local) == ("Australia/Sydney", time(18))
    assert local_times(series, "Europe/London") == [time(8), time(9), time(9)]


def test_no_session_starts_in_the_spring_gap() -> None:
    night = (time(0), time(0))
    one = person("ana.ito@contoso.com", "Europe/London", night, days=frozenset(range(7)),
                 busy=(busy(at("Europe/London", 2027, 3, 28, 0), at("Europe/London", 2027, 3, 28, 1)),))
    two = person("bo.kim@contoso.com", "Europe/London", night, days=frozenset(range(7)))
    rules = policy(days=frozenset({6}), window=(time(0), time(4)), sessions=1,
                   duration=timedelta(minutes=30), step=timedelta(minutes=30))

    series = found(request(one, two, rules, at("UTC", 2027, 3, 27, 12)))

    assert series.start_local == time(2)  # 01:00 and 01:30 do not exist that night
    assert series.sessions[0].start == at("UTC", 2027, 3, 28, 1)


def test_no_session_starts_in_the_autumn_fold() -> None:
    night = (time(0), time(0))
    one = person("ana.ito@contoso.com", "Europe/London", night, days=frozenset(range(7)),
                 busy=(busy(at("UTC", 2027, 10, 30, 23), at("UTC", 2027, 10, 31, 0)),))
    two = person("bo.kim@contoso.com", "Europe/London", night, days=frozenset(range(7)))
    rules = policy(days=frozenset({6}), window=(time(0), time(4)), sessions=1,
                   duration=timedelta(minutes=30), step=timedelta(minutes=30))

    series = found(request(one, two, rules, at("UTC", 2027, 10, 30, 12)))

    assert series.start_local == time(2)  # 01:00 and 01:30 happen twice that night
    assert series.sessions[0].start == at("UTC", 2027, 10, 31, 2)


# --- half-hour and 45-minute zones ----------------------------------------------------------


def test_kolkata_and_kathmandu_share_exactly_forty_five_minutes() -> None:
    # Kolkata is UTC+5:30, Kathmandu UTC+5:45: 11:00 in Kolkata is 11:15 in Kathmandu.
    ravi = person("ravi.rao@contoso.com", "Asia/Kolkata", (11, 18))
    maya = person("maya.shah@contoso.com", "Asia/Kathmandu", (9, 12))
    rules = policy(duration=timedelta(minutes=45), sessions=3, window=(time(8), time(19)))

    series = found(request(ravi, maya, rules, at("Asia/Kathmandu", 2027, 2, 1)))

    assert series.start_local == time(11, 15)
    assert series.sessions[0].start == at("UTC", 2027, 2, 2, 5, 30)
    assert local_times(series, "Asia/Kolkata") == [time(11)] * 3


def test_kolkata_and_kathmandu_explain_why_an_hour_does_not_fit() -> None:
    ravi = person("ravi.rao@contoso.com", "Asia/Kolkata", (11, 18))
    maya = person("maya.shah@contoso.com", "Asia/Kathmandu", (9, 12))

    answer = find_series(request(ravi, maya, policy(sessions=3), at("Asia/Kathmandu", 2027, 2, 1)))

    assert isinstance(answer, NoSlot)
    assert answer.reason is Constraint.WORKING_HOURS
    assert "Ravi's and Maya's working hours overlap only 05:30–06:15 UTC on Mon–Fri" in answer.message


# --- busy time ---------------------------------------------------------------------------------


def test_events_that_only_touch_the_session_do_not_block_it() -> None:
    lea = person("lea.martin@contoso.com", "Europe/London", (9, 17), busy=(
        busy(at("Europe/London", 2027, 3, 2, 9), at("Europe/London", 2027, 3, 2, 11)),
        busy(at("Europe/London", 2027, 3, 2, 12), at("Europe/London", 2027, 3, 2, 17)),
    ))
    jean = person("jean.dubois@contoso.com", "Europe/London", (9, 17))
    rules = policy(days=frozenset({1}), sessions=1, window=(time(9), time(17)), lookahead=timedelta(days=6))

    series = found(request(lea, jean, rules, at("Europe/London", 2027, 3, 1)))
    assert series.sessions[0].start == at("Europe/London", 2027, 3, 2, 11)

    with_buffer = find_series(request(lea, jean, policy(
        days=frozenset({1}), sessions=1, window=(time(9), time(17)), lookahead=timedelta(days=6),
        buffer=timedelta(minutes=15)), at("Europe/London", 2027, 3, 1)))
    assert isinstance(with_buffer, NoSlot)
    assert with_buffer.reason is Constraint.BUSY


def test_an_all_day_event_pushes_the_first_session_to_the_next_day() -> None:
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17),
                  busy=(busy(at("Europe/Paris", 2027, 3, 2), at("Europe/Paris", 2027, 3, 3)),))
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17))

    series = found(request(lea, jean, policy(sessions=3), at("Europe/Paris", 2027, 3, 1)))

    assert series.recurrence.start == date(2027, 3, 3)
    assert series.start_local == time(9, 30)


# --- blackouts and out-of-office days ----------------------------------------------------------


def test_a_blackout_moves_one_session_within_its_week() -> None:
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17))
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17))
    rules = policy(blackouts=((date(2027, 3, 16), date(2027, 3, 16)),))

    series = found(request(lea, jean, rules, at("Europe/Paris", 2027, 3, 1)))

    assert series.recurrence.start == date(2027, 3, 2)
    assert series.recurrence.count == 6
    assert [s.moved for s in series.sessions] == [False, False, True, False, False, False]
    assert series.sessions[2].start == at("Europe/Paris", 2027, 3, 17, 9, 30)
    assert series.skipped == ()


def test_a_blacked_out_week_cancels_that_occurrence_and_extends_the_series() -> None:
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17))
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17))
    rules = policy(blackouts=((date(2027, 3, 15), date(2027, 3, 19)),))

    series = found(request(lea, jean, rules, at("Europe/Paris", 2027, 3, 1)))

    assert series.skipped == (date(2027, 3, 16),)
    assert series.recurrence.count == 7
    assert len(series.sessions) == 6
    assert series.sessions[-1].start == at("Europe/Paris", 2027, 4, 13, 9, 30)


def test_an_out_of_office_day_moves_that_session_within_its_week() -> None:
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17), busy=(
        busy(at("Europe/Paris", 2027, 3, 9), at("Europe/Paris", 2027, 3, 10), BusyStatus.OOF),
    ))
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17))

    series = found(request(lea, jean, policy(sessions=5), at("Europe/Paris", 2027, 3, 1)))

    assert series.recurrence.start == date(2027, 3, 2)
    assert [s.moved for s in series.sessions] == [False, True, False, False, False]
    assert series.sessions[1].start == at("Europe/Paris", 2027, 3, 10, 9, 30)


def test_a_series_that_needs_too_many_moves_loses_to_a_cleaner_one() -> None:
    # Tuesdays are blacked out for weeks 2 and 3: the Tuesday series needs two moves in four
    # sessions, more than its share; the Wednesday series needs none.
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17))
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17))
    tuesdays = ((date(2027, 3, 9), date(2027, 3, 9)), (date(2027, 3, 16), date(2027, 3, 16)))
    rules = policy(sessions=4, blackouts=tuesdays)

    series = found(request(lea, jean, rules, at("Europe/Paris", 2027, 3, 1)))

    assert series.recurrence.start == date(2027, 3, 3)
    assert series.disruptions == 0


# --- recurrence shapes and committed sessions -----------------------------------------------


def test_monthly_series_on_the_last_thursday() -> None:
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17))
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17))
    rules = policy(cadence=MONTHLY, days=frozenset({3}), program_end=date(2027, 6, 30))

    series = found(request(lea, jean, rules, at("Europe/Paris", 2027, 1, 25)))

    assert (series.recurrence.cadence, series.recurrence.index) == (MONTHLY, WeekIndex.LAST)
    assert series.recurrence.weekday == 3
    assert [s.start.date() for s in series.sessions] == [
        date(2027, 1, 28), date(2027, 2, 25), date(2027, 3, 25), date(2027, 4, 29), date(2027, 5, 27),
        date(2027, 6, 24),
    ]


def test_monthly_series_on_the_third_wednesday_every_two_months_ends_with_the_programme() -> None:
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17))
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17))
    every_two_months = Cadence(CadenceKind.MONTHLY, 2)
    rules = policy(cadence=every_two_months, days=frozenset({2}), program_end=date(2027, 6, 30))

    series = found(request(lea, jean, rules, at("Europe/Paris", 2027, 1, 18)))

    assert series.recurrence.index is WeekIndex.THIRD
    assert series.recurrence.count == 3
    assert [s.start.date() for s in series.sessions] == [
        date(2027, 1, 20), date(2027, 3, 17), date(2027, 5, 19)
    ]


def test_a_person_in_two_pairs_is_never_booked_against_themselves() -> None:
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17))
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17))
    hugo = person("hugo.bernard@contoso.com", "Europe/Paris", (9, 17))
    rules = policy(buffer=timedelta(minutes=15))
    earliest = at("Europe/Paris", 2027, 3, 1)
    first = found(request(lea, jean, rules, earliest))
    booked = tuple(Interval(s.start, s.end) for s in first.sessions)

    second = found(request(hugo, lea, rules, earliest, committed={lea.address: booked}))

    for session in second.sessions:
        for other in booked:
            assert session.end + rules.buffer <= other.start or other.end + rules.buffer <= session.start
    assert second.recurrence.start == first.recurrence.start  # same Tuesday, later in the morning
    assert second.start_local == time(10, 45)


# --- explanations --------------------------------------------------------------------------------


def test_no_slot_names_working_hours_and_says_where_they_overlap() -> None:
    lea = person("lea.martin@contoso.com", "Asia/Tokyo", (9, 17), days=frozenset({1, 2, 3}))
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (8, 17), days=frozenset({1, 2, 3}))

    rules = policy(duration=timedelta(minutes=90))

    answer = find_series(request(lea, jean, rules, at("Europe/Paris", 2027, 1, 11)))

    assert isinstance(answer, NoSlot)
    assert answer.reason is Constraint.WORKING_HOURS
    assert answer.message.startswith("Lea's and Jean's working hours overlap only 07:00–08:00 UTC on Tue–Thu")


@pytest.mark.parametrize(
    ("mentor_busy", "blackouts", "reason"),
    [
        (True, (), Constraint.BUSY),
        (False, ((date(2027, 3, 1), date(2027, 3, 7)),), Constraint.BLACKOUT),
    ],
)
def test_no_slot_names_the_constraint_that_removed_most_candidates(
    mentor_busy: bool, blackouts: tuple[tuple[date, date], ...], reason: Constraint
) -> None:
    week = (busy(at("Europe/Paris", 2027, 3, 1), at("Europe/Paris", 2027, 3, 8)),) if mentor_busy else ()
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17), busy=week)
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17))

    answer = find_series(request(lea, jean, policy(blackouts=blackouts), at("Europe/Paris", 2027, 3, 1)))

    assert isinstance(answer, NoSlot)
    assert answer.reason is reason
    assert answer.counts[reason] == max(answer.counts.values())


def test_no_slot_before_the_programme_starts_names_the_programme_dates() -> None:
    lea = person("lea.martin@contoso.com", "Europe/Paris", (9, 17))
    jean = person("jean.dubois@contoso.com", "Europe/Paris", (9, 17))

    rules = policy(program_start=date(2027, 4, 1))

    answer = find_series(request(lea, jean, rules, at("Europe/Paris", 2027, 3, 1)))

    assert isinstance(answer, NoSlot)
    assert answer.reason is Constraint.PROGRAMME_DATES
