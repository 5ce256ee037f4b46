"""Re-slotting one declined or double-booked session: same week, two days from its neighbours,
never inside the freeze window; checked by name and against the oracle."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.oracle import Oracle
from tests.core.slot_cases import at, busy, person, policy
from tests.core.test_slots_properties import requests
from worker.core.slots import Constraint, NoSlot, ReslotRequest, SeriesRequest, reslot_session
from worker.core.types import Interval, Session

PARIS = "Europe/Paris"
LEA = person("lea.martin@contoso.com", PARIS, (9, 17))
# Jean cannot make the Wednesday session any more: he is busy all day
JEAN = person("jean.dubois@contoso.com", PARIS, (9, 17),
              busy=(busy(at(PARIS, 2027, 3, 17), at(PARIS, 2027, 3, 18)),))
SESSION = Session(3, at(PARIS, 2027, 3, 17, 10), at(PARIS, 2027, 3, 17, 11))
RULES = policy(window=(time(9), time(17)))
PREVIOUS = at(PARIS, 2027, 3, 10, 10)
FOLLOWING = at(PARIS, 2027, 3, 24, 10)
MONDAY = at(PARIS, 2027, 3, 8, 9)


def reslot(
    *,
    previous: datetime | None = PREVIOUS,
    following: datetime | None = FOLLOWING,
    now: datetime = MONDAY,
    freeze: timedelta = timedelta(hours=48),
) -> Session | NoSlot:
    horizon = Interval(now, now + timedelta(days=60))
    return reslot_session(ReslotRequest(LEA, JEAN, RULES, SESSION, previous, following, now, freeze, horizon))


def test_declined_session_moves_to_the_same_time_on_the_nearest_day_of_its_week() -> None:
    moved = reslot()

    assert moved == Session(3, at(PARIS, 2027, 3, 16, 10), at(PARIS, 2027, 3, 16, 11), moved=True)


def test_moved_session_keeps_two_days_from_its_neighbours() -> None:
    moved = reslot(previous=at(PARIS, 2027, 3, 15, 10))  # the previous session was moved to Monday

    assert isinstance(moved, Session)
    assert moved.start == at(PARIS, 2027, 3, 18, 10)


def test_no_room_two_days_from_both_neighbours_names_spacing() -> None:
    answer = reslot(previous=at(PARIS, 2027, 3, 15, 10), following=at(PARIS, 2027, 3, 19, 10))

    assert isinstance(answer, NoSlot)
    assert answer.reason is Constraint.SPACING


def test_a_session_inside_its_freeze_window_is_not_moved() -> None:
    answer = reslot(now=at(PARIS, 2027, 3, 16, 12))

    assert isinstance(answer, NoSlot)
    assert answer.reason is Constraint.FREEZE


def test_a_new_slot_inside_the_freeze_window_is_not_offered() -> None:
    moved = reslot(now=at(PARIS, 2027, 3, 14, 12), previous=None)  # Tuesday 10:00 is 46 hours away

    assert isinstance(moved, Session)
    assert moved.start == at(PARIS, 2027, 3, 18, 10)


def test_reslot_uses_the_series_zone_it_is_given() -> None:
    # a series booked in London: "same time" means 09:00 London, which is 10:00 in Paris
    horizon = Interval(at(PARIS, 2027, 3, 8), at(PARIS, 2027, 5, 8))
    request = ReslotRequest(LEA, JEAN, RULES, SESSION, None, None, at(PARIS, 2027, 3, 8), timedelta(hours=48),
                            horizon, series_zone=ZoneInfo("Europe/London"))

    moved = reslot_session(request)

    assert isinstance(moved, Session)
    assert moved.start.astimezone(ZoneInfo("Europe/London")).time() == time(9)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(requests(friendly=True), st.data())
def test_reslot_is_the_oracles_best(req: SeriesRequest, data: st.DataObject) -> None:
    day = req.earliest + timedelta(days=data.draw(st.integers(0, 20)))
    start = datetime.combine(day.date(), time(data.draw(st.integers(0, 23))), tzinfo=UTC)
    session = Session(2, start, start + req.policy.duration)
    gaps = st.one_of(st.none(), st.integers(1, 9).map(lambda d: timedelta(days=d)))
    before, after = data.draw(gaps), data.draw(gaps)
    previous = None if before is None else start - before
    following = None if after is None else start + after
    now = start - timedelta(hours=data.draw(st.integers(0, 96)))
    freeze = timedelta(hours=data.draw(st.sampled_from([0, 24, 48])))
    request = ReslotRequest(req.mentor, req.mentee, req.policy, session, previous, following, now, freeze,
                            req.horizon, committed=req.committed)

    answer = reslot_session(request)
    expected = Oracle(mentor=req.mentor, mentee=req.mentee, policy=req.policy, horizon=req.horizon,
                      committed=req.committed).best_reslot(
        start=start, previous_start=previous, next_start=following, now=now, freeze=freeze
    )

    if expected is None:
        assert isinstance(answer, NoSlot)
    else:
        assert answer == Session(2, expected, expected + req.policy.duration, moved=True)
