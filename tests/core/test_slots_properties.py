"""The slot engine against the minute-by-minute oracle, on generated pairs around DST changes.

Symmetry, precisely: the engine reads the two people identically except that the mentee's zone is
the series' zone. So swapping mentor and mentee gives the same answer whenever both share a zone;
with different zones the swapped request is a different question (other wall clock), and both
answers must still agree with the oracle.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.oracle import Oracle, local_start
from worker.core.slots import NoSlot, Person, SeriesRequest, SeriesSlot, SlotPolicy, find_series
from worker.core.types import Busy, BusyStatus, Cadence, CadenceKind, Interval, WorkingHours

ZONES = (
    "Europe/London",
    "Europe/Paris",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Sao_Paulo",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "UTC",
)
# weeks where some zone changes its offset (2027): US 14 Mar / 7 Nov, EU 28 Mar / 31 Oct,
# Australia 4 Apr / 3 Oct, New Zealand 4 Apr / 26 Sep, Brazil has no DST any more
BASES = (
    date(2027, 3, 8),
    date(2027, 3, 22),
    date(2027, 3, 29),
    date(2027, 9, 20),
    date(2027, 9, 27),
    date(2027, 10, 25),
    date(2027, 11, 1),
)

PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

minutes_of_day = st.integers(0, 47).map(lambda half_hours: time(half_hours // 2, 30 * (half_hours % 2)))
window_starts = st.one_of(st.integers(14, 20).map(lambda h: time(h // 2, 30 * (h % 2))), minutes_of_day)
# neighbours in the zone list work together more often; any pair is still possible
REGIONS = (
    ("Europe/London", "Europe/Paris", "UTC", "America/New_York", "America/St_Johns", "Asia/Kolkata"),
    ("America/New_York", "America/Los_Angeles", "America/St_Johns", "America/Sao_Paulo", "Europe/London"),
    ("Australia/Sydney", "Australia/Adelaide", "Australia/Lord_Howe", "Pacific/Auckland", "Pacific/Chatham",
     "Asia/Tokyo"),
    ("Asia/Kolkata", "Asia/Kathmandu", "Asia/Tokyo", "Europe/Paris"),
)


@st.composite
def working_hours(draw: st.DrawFn, zone_name: str) -> WorkingHours | None:
    if draw(st.booleans()):
        return None
    start = draw(st.one_of(st.integers(7, 9), st.integers(5, 12)))
    end = draw(st.one_of(st.integers(start + 8, start + 12), st.integers(start + 4, min(start + 14, 24))))
    days = draw(st.one_of(st.just(frozenset(range(5))), st.frozensets(st.integers(0, 6), min_size=1)))
    zone = ZoneInfo(zone_name)
    return WorkingHours(days, time(start), time(end % 24), zone, zone_name)


@st.composite
def busy_list(draw: st.DrawFn, base: datetime) -> tuple[Busy, ...]:
    statuses = st.sampled_from(list(BusyStatus))
    out = []
    for _ in range(draw(st.integers(0, 12))):
        start = base + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 30)))
        length = timedelta(minutes=15 * draw(st.integers(1, 16)))
        status = draw(statuses)
        if draw(st.sampled_from([True, False, False, False])):
            start = start.replace(hour=draw(st.integers(0, 23)), minute=0)
            length = timedelta(days=1)  # an all-day event, often an out-of-office day
            status = draw(st.sampled_from([BusyStatus.OOF, BusyStatus.OOF, BusyStatus.BUSY]))
        out.append(Busy.between(start, start + length, status))
    return tuple(out)


@st.composite
def people(draw: st.DrawFn, base: datetime, zone_name: str | None = None) -> Person:
    name = zone_name or draw(st.sampled_from(ZONES))
    address = draw(st.sampled_from(["ana.ito@contoso.com", "bo.kim@contoso.com", "cy.roy@contoso.com"]))
    return Person(address, ZoneInfo(name), name, draw(working_hours(name)), draw(busy_list(base)))


@st.composite
def requests(draw: st.DrawFn, same_zone: bool = False, friendly: bool = False) -> SeriesRequest:
    """A pair and a policy around a DST change; ``friendly`` ones usually have a series, so the
    moves and skips for blackouts and out-of-office days get exercised."""
    base_day = draw(st.sampled_from(BASES)) + timedelta(days=draw(st.integers(0, 6)))
    base = datetime.combine(base_day, time(0), tzinfo=UTC)
    mentor = draw(people(base))
    if same_zone:
        mentee_zone = mentor.zone_name
    else:
        near = [r for r in REGIONS if mentor.zone_name in r]
        mentee_zone = draw(st.sampled_from(near[0] if near and (friendly or draw(st.booleans())) else ZONES))
    mentee = draw(people(base, mentee_zone))
    if mentee.address == mentor.address:
        mentee = Person(
            "mentee." + mentee.address, mentee.zone, mentee.zone_name, mentee.working_hours, mentee.busy
        )
    kind = draw(st.sampled_from([CadenceKind.WEEKLY, CadenceKind.WEEKLY, CadenceKind.MONTHLY]))
    if friendly:
        window_start, window_hours = draw(st.sampled_from([time(7), time(8), time(9, 30)])), 12
    else:
        window_start = draw(window_starts)
        window_hours = draw(st.one_of(st.integers(7, 14), st.integers(2, 14)))
    window_end = time((window_start.hour + window_hours) % 24, window_start.minute)
    avoid = draw(st.sampled_from([(), ((time(12), time(13)),), ((time(12), time(13, 30)),)]))
    program_zone_name = draw(st.sampled_from(ZONES))
    program_start = base_day + timedelta(days=draw(st.integers(-3, 1)))
    program_end = program_start + timedelta(days=draw(st.one_of(st.integers(25, 70), st.integers(5, 70))))
    blackouts = ()
    if friendly or draw(st.booleans()):
        first = program_start + timedelta(days=draw(st.integers(8, 30)))
        blackouts = ((first, first + timedelta(days=draw(st.sampled_from([0, 1, 6, 3])))),)
    policy = SlotPolicy(
        cadence=Cadence(kind, draw(st.integers(1, 2))),
        duration=timedelta(minutes=draw(st.sampled_from([30, 45, 60]))),
        sessions=draw(st.sampled_from([5, 6, 3] if friendly else [4, 3, 2, 1])),
        days=frozenset({1, 2, 3}) if friendly else draw(st.frozensets(st.integers(0, 6), min_size=1)),
        window=(window_start, window_end),
        avoid=avoid,
        buffer=timedelta(minutes=draw(st.sampled_from([0, 15]))),
        lookahead=timedelta(days=draw(st.integers(5, 9))),
        blackouts=blackouts,
        program_zone=ZoneInfo(program_zone_name),
        program_start=program_start,
        program_end=program_end,
        step=timedelta(minutes=draw(st.sampled_from([30, 60]))),
    )
    earliest = base + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 3)))
    horizon = Interval(earliest, earliest + timedelta(days=draw(st.integers(3, 50))))
    committed = {}
    if draw(st.booleans()):
        start = earliest + timedelta(hours=draw(st.integers(0, 24 * 14)))
        committed = {mentor.address: (Interval(start, start + timedelta(hours=1)),)}
    return SeriesRequest(mentor, mentee, policy, earliest, horizon, committed)


def oracle_for(req: SeriesRequest) -> Oracle:
    return Oracle(
        mentor=req.mentor, mentee=req.mentee, policy=req.policy, horizon=req.horizon, committed=req.committed
    )


def assert_matches_oracle(req: SeriesRequest, found: SeriesSlot | NoSlot) -> None:
    expected = oracle_for(req).best_series(req.earliest)
    if expected is None:
        assert isinstance(found, NoSlot), found
        return
    assert isinstance(found, SeriesSlot), (expected, found)
    assert (found.recurrence.start, found.start_local) == (expected.first, expected.start)
    assert [(s.start, s.moved) for s in found.sessions] == list(expected.held)
    assert found.skipped == expected.skipped
    assert found.recurrence.count == expected.occurrences


@PROPERTY_SETTINGS
@given(requests())
def test_series_is_the_oracles_best(req: SeriesRequest) -> None:
    assert_matches_oracle(req, find_series(req))


@PROPERTY_SETTINGS
@given(requests(friendly=True))
def test_series_with_moves_and_skips_is_the_oracles_best(req: SeriesRequest) -> None:
    assert_matches_oracle(req, find_series(req))


@PROPERTY_SETTINGS
@given(st.one_of(requests(), requests(friendly=True)))
def test_every_session_is_inside_both_working_hours_and_at_a_real_local_time(req: SeriesRequest) -> None:
    found = find_series(req)
    if isinstance(found, NoSlot):
        return
    oracle = oracle_for(req)
    zone = ZoneInfo(found.zone_name)  # the series' anchor: one person's zone, or UTC
    for session in found.sessions:
        for minute in oracle.minutes(session.start):
            for person in (req.mentor, req.mentee):
                assert oracle.person_minute(person, minute), (session, person.zone_name)
        local = session.start.astimezone(zone)
        assert local_start(zone, local.date(), local.time()) == session.start  # neither a gap nor a fold
        if not session.moved:
            assert local.time() == found.start_local


@PROPERTY_SETTINGS
@given(requests(same_zone=True))
def test_swapping_people_who_share_a_zone_gives_the_same_answer(req: SeriesRequest) -> None:
    swapped = SeriesRequest(req.mentee, req.mentor, req.policy, req.earliest, req.horizon, req.committed)
    found, again = find_series(req), find_series(swapped)
    if isinstance(found, NoSlot):
        assert isinstance(again, NoSlot)
        assert (found.reason, found.counts) == (again.reason, again.counts)
    else:
        assert found == again


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(requests())
def test_swapped_roles_in_different_zones_still_agree_with_the_oracle(req: SeriesRequest) -> None:
    swapped = SeriesRequest(req.mentee, req.mentor, req.policy, req.earliest, req.horizon, req.committed)
    assert_matches_oracle(swapped, find_series(swapped))


@PROPERTY_SETTINGS
@given(st.one_of(requests(), requests(friendly=True)), st.data())
def test_adding_busy_time_never_adds_a_slot(req: SeriesRequest, data: st.DataObject) -> None:
    base = datetime.combine(req.earliest.date(), time(0), tzinfo=UTC)
    extra = data.draw(busy_list(base))
    busier = Person(req.mentor.address, req.mentor.zone, req.mentor.zone_name, req.mentor.working_hours,
                    req.mentor.busy + extra)
    more = SeriesRequest(busier, req.mentee, req.policy, req.earliest, req.horizon, req.committed)
    before, after = find_series(req), find_series(more)
    if isinstance(before, NoSlot):
        assert isinstance(after, NoSlot)
    if isinstance(after, SeriesSlot):
        # the busier answer's series is also feasible without the extra busy time
        oracle = oracle_for(req)
        oracle.zone = ZoneInfo(after.zone_name)
        assert oracle.expand(after.recurrence.start, after.start_local) is not None


@PROPERTY_SETTINGS
@given(requests(), st.sampled_from(ZONES))
def test_the_zone_busy_time_is_written_in_does_not_matter(req: SeriesRequest, zone_name: str) -> None:
    zone = ZoneInfo(zone_name)

    def rewritten(person: Person) -> Person:
        # Busy.between keeps UTC seconds whatever zone its datetimes are in: the committed sessions and
        # `earliest` below are the inputs still read in their own zone
        busy = tuple(
            Busy.between(b.start.astimezone(zone), b.end.astimezone(zone), b.status) for b in person.busy
        )
        return Person(person.address, person.zone, person.zone_name, person.working_hours, busy)

    committed = {k: tuple(Interval(i.start.astimezone(zone), i.end.astimezone(zone)) for i in v)
                 for k, v in req.committed.items()}
    moved = SeriesRequest(rewritten(req.mentor), rewritten(req.mentee), req.policy,
                          req.earliest.astimezone(zone), req.horizon, committed)
    assert find_series(moved) == find_series(req)
