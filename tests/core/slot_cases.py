"""Builders for the slot engine's named cases: people, policies and requests in a line each."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from worker.core.slots import Person, SeriesRequest, SlotPolicy
from worker.core.types import Busy, BusyStatus, Cadence, CadenceKind, Interval, WorkingHours

WEEKLY = Cadence(CadenceKind.WEEKLY)
MONTHLY = Cadence(CadenceKind.MONTHLY)


def at(zone: str, y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """A local wall time as an aware UTC instant."""
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def person(
    address: str,
    zone: str,
    hours: tuple[int, int] | tuple[time, time] | None = None,
    *,
    days: frozenset[int] = frozenset(range(5)),
    busy: tuple[Busy, ...] = (),
) -> Person:
    tz = ZoneInfo(zone)
    wh = None
    if hours is not None:
        start, end = (time(h) if isinstance(h, int) else h for h in hours)
        wh = WorkingHours(days, start, end, tz, zone)
    return Person(address, tz, zone, wh, busy)


def policy(**overrides: object) -> SlotPolicy:
    values: dict[str, object] = {
        "cadence": WEEKLY,
        "duration": timedelta(minutes=60),
        "sessions": 6,
        "days": frozenset({1, 2, 3}),
        "window": (time(7), time(19)),
        "avoid": (),
        "buffer": timedelta(0),
        "lookahead": timedelta(weeks=1),
        "blackouts": (),
        "program_zone": ZoneInfo("Europe/Paris"),
        "program_start": date(2027, 1, 1),
        "program_end": date(2027, 12, 31),
    }
    values.update(overrides)
    return SlotPolicy(**values)  # type: ignore[arg-type]


def request(
    mentor: Person,
    mentee: Person,
    rules: SlotPolicy,
    earliest: datetime,
    *,
    horizon_days: int = 60,
    committed: dict[str, tuple[Interval, ...]] | None = None,
) -> SeriesRequest:
    horizon = Interval(earliest, earliest + timedelta(days=horizon_days))
    return SeriesRequest(mentor, mentee, rules, earliest, horizon, committed or {})


def busy(start: datetime, end: datetime, status: BusyStatus = BusyStatus.BUSY) -> Busy:
    return Busy.between(start, end, status)
