"""The demo tenant: Contoso's programme mailbox, its lead, and people in Europe, the Americas and Asia.

Used by ``crossgen demo`` and by end-to-end tests that want a lived-in tenant. Everyone in
../shared/spec/config/pairs.yaml is here, with a dozen colleagues, each with their own mailbox zone
(Windows names for some, IANA for others), working hours (one in Outlook's "Customized Time Zone"
form, one on a Sunday-to-Thursday week), a manager, and realistic weeks from January to July 2027:
team meetings and 1:1s as recurring series, stand-ups, lunches, one-off meetings, and out-of-office
days. Everything is drawn from a seeded RNG, so a seed always gives the same tenant.

Reporting lines keep every configured pair clear of each other's management chains, but put
``hugo.bernard`` under ``robert.lefevre``: two people a lead might well pair, whom
``reject_reporting_lines`` must refuse.

Events are created through the same code path as ``POST /users/{id}/events`` (schema validation
included), so the seed is valid Graph data.
"""

from __future__ import annotations

import functools
import pickle
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from worker.sandbox import meetings
from worker.sandbox.directory import default_settings, time_of_day
from worker.sandbox.store import Tenant, User

SEED_CLOCK = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FIRST_MONDAY = date(2027, 1, 4)
LAST_DAY = date(2027, 7, 30)
WEEKS = (LAST_DAY - FIRST_MONDAY).days // 7 + 1
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

# The customTimeZone form from the getSchedule docs: US Pacific as Windows' rule, bias 480.
PACIFIC_CUSTOM = {
    "@odata.type": "#microsoft.graph.customTimeZone",
    "bias": 480,
    "name": "Customized Time Zone",
    "standardOffset": {
        "time": "02:00:00.0000000",
        "dayOccurrence": 1,
        "dayOfWeek": "sunday",
        "month": 11,
        "year": 0,
    },
    "daylightOffset": {
        "daylightBias": -60,
        "time": "02:00:00.0000000",
        "dayOccurrence": 2,
        "dayOfWeek": "sunday",
        "month": 3,
        "year": 0,
    },
}


@dataclass(frozen=True)
class Person:
    handle: str  # the local part of the address
    name: str
    title: str
    department: str
    office: str
    zone: str  # mailbox time zone, as the admin set it (Windows or IANA)
    hours: tuple[str, str]
    manager: str | None = None
    days: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday")
    custom_zone: bool = False


# Who is there. Working hours are in each person's own mailbox zone; "*" marks Outlook's "Customized
# Time Zone" form of that zone in workingHours.
_DIRECTORY = """
handle         | name                        | title                   | department | office
mentoring      | Reverse Mentoring Programme | Programme mailbox       | People     | Paris
people.lead    | Nathalie Roux               | Head of Talent          | People     | Paris
jean.dubois    | Jean Dubois                 | Chief Operating Officer | Operations | Paris
claire.petit   | Claire Petit                | Chief Financial Officer | Finance    | Paris
robert.lefevre | Robert Lefèvre              | VP Sales Europe         | Sales      | Lyon
sophie.moreau  | Sophie Moreau               | General Counsel         | Legal      | Brussels
lea.martin     | Léa Martin                  | Data Analyst            | Finance    | Paris
hugo.bernard   | Hugo Bernard                | Software Engineer       | Sales      | Lyon
amina.diallo   | Amina Diallo                | Social Media Manager    | Marketing  | London
tom.nguyen     | Tom Nguyen                  | Cloud Engineer          | IT         | Singapore
nadia.benali   | Nadia Benali                | Finance Director UK     | Finance    | London
priya.sharma   | Priya Sharma                | Marketing Director APAC | Marketing  | Kolkata
li.wei         | Li Wei                      | CIO Asia                | IT         | Singapore
michael.brown  | Michael Brown               | VP Sales Americas       | Sales      | New York
emily.davis    | Emily Davis                 | Product Manager         | Product    | New York
olivia.wilson  | Olivia Wilson               | Account Executive       | Sales      | Sydney
sanjay.thapa   | Sanjay Thapa                | Support Engineer        | IT         | Kathmandu
carlos.garcia  | Carlos Garcia               | UX Designer             | Product    | San Francisco
yuki.tanaka    | Yuki Tanaka                 | Partner Manager Japan   | Sales      | Tokyo
"""
_MAILBOXES = """
handle         | mailbox zone              | hours       | manager        | days
mentoring      | Romance Standard Time     | 08:00-18:00 | -              | mon-fri
people.lead    | Europe/Paris              | 09:00-17:30 | claire.petit   | mon-fri
jean.dubois    | Romance Standard Time     | 08:00-19:00 | -              | mon-fri
claire.petit   | Europe/Paris              | 08:30-18:00 | -              | mon-fri
robert.lefevre | Europe/Paris              | 08:00-18:00 | jean.dubois    | mon,tue,wed,thu
sophie.moreau  | Europe/Brussels           | 09:00-17:00 | claire.petit   | mon-fri
lea.martin     | Europe/Paris              | 09:00-17:30 | nadia.benali   | mon-fri
hugo.bernard   | Romance Standard Time     | 10:00-18:30 | robert.lefevre | mon-fri
amina.diallo   | GMT Standard Time         | 09:00-17:30 | priya.sharma   | mon-fri
tom.nguyen     | Singapore Standard Time   | 09:00-18:00 | li.wei         | mon-fri
nadia.benali   | Europe/London             | 08:30-17:00 | claire.petit   | mon-fri
priya.sharma   | India Standard Time       | 09:30-18:30 | claire.petit   | mon-fri
li.wei         | Asia/Singapore            | 08:30-17:30 | jean.dubois    | mon-fri
michael.brown  | Eastern Standard Time     | 08:00-16:30 | robert.lefevre | mon-fri
emily.davis    | America/New_York          | 09:00-17:00 | michael.brown  | mon-fri
olivia.wilson  | AUS Eastern Standard Time | 08:30-17:00 | michael.brown  | mon-fri
sanjay.thapa   | Asia/Kathmandu            | 10:00-17:00 | li.wei         | sun,mon,tue,wed,thu
carlos.garcia  | Pacific Standard Time*    | 08:00-17:00 | emily.davis    | mon-fri
yuki.tanaka    | Tokyo Standard Time       | 09:00-18:00 | li.wei         | mon-fri
"""
_DAYS = {
    "mon": "monday",
    "tue": "tuesday",
    "wed": "wednesday",
    "thu": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
}


def _rows(table: str) -> dict[str, list[str]]:
    lines = [line for line in table.strip().splitlines()[1:] if line.strip()]
    return {cells[0]: cells[1:] for cells in ([c.strip() for c in line.split("|")] for line in lines)}


def _people() -> tuple[Person, ...]:
    mailboxes = _rows(_MAILBOXES)
    out = []
    for handle, (name, title, department, office) in _rows(_DIRECTORY).items():
        zone, hours, manager, days = mailboxes[handle]
        start, end = hours.split("-")
        out.append(
            Person(
                handle,
                name,
                title,
                department,
                office,
                zone.rstrip("*"),
                (start, end),
                None if manager == "-" else manager,
                tuple(_DAYS[d] for d in ("mon,tue,wed,thu,fri" if days == "mon-fri" else days).split(",")),
                custom_zone=zone.endswith("*"),
            )
        )
    return tuple(out)


PEOPLE: tuple[Person, ...] = _people()
NO_MAILBOX = Person(
    "external.auditor", "External Auditor", "Auditor", "Finance", "Paris", "Europe/Paris", ("09:00", "17:00")
)


class _SeedCtx:
    """What ``meetings.create_event`` reads from a request context: the tenant and the time."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.now = SEED_CLOCK


def _add_people(tenant: Tenant, domain: str) -> dict[str, User]:
    users: dict[str, User] = {}
    for person in (*PEOPLE, NO_MAILBOX):
        address = f"{person.handle}@{domain}"
        given, _, surname = person.name.partition(" ")
        settings = default_settings(person.zone)
        settings["workingHours"] = {
            "daysOfWeek": list(person.days),
            "startTime": time_of_day(person.hours[0]),
            "endTime": time_of_day(person.hours[1]),
            "timeZone": dict(PACIFIC_CUSTOM) if person.custom_zone else {"name": person.zone},
        }
        user = User(
            id=tenant.new_guid(),
            upn=address,
            display_name=person.name,
            mail=address,
            given_name=given,
            surname=surname or None,
            job_title=person.title,
            department=person.department,
            office_location=person.office,
            preferred_language="en-US",
            has_mailbox=person is not NO_MAILBOX,
            settings=settings,
        )
        users[person.handle] = tenant.add_user(user)
    for person in PEOPLE:
        if person.manager:
            users[person.handle].manager_id = users[person.manager].id
    return users


def _dtz(day: date, clock: time, minutes: int, zone: str) -> tuple[dict[str, str], dict[str, str]]:
    start = datetime.combine(day, clock)
    end = start + timedelta(minutes=minutes)
    return (
        {"dateTime": start.isoformat(), "timeZone": zone},
        {"dateTime": end.isoformat(), "timeZone": zone},
    )


def _event(
    ctx: _SeedCtx,
    organizer: User,
    box_zone: str,
    *,
    subject: str,
    day: date,
    clock: time,
    minutes: int,
    attendees: Sequence[User] = (),
    recurrence: dict[str, Any] | None = None,
    show_as: str = "busy",
    sensitivity: str = "normal",
    online: bool = False,
    location: str = "",
) -> None:
    start, end = _dtz(day, clock, minutes, box_zone)
    body: dict[str, Any] = {
        "subject": subject,
        "start": start,
        "end": end,
        "showAs": show_as,
        "sensitivity": sensitivity,
        "body": {"contentType": "html", "content": f"<p>{subject}</p>"},
        "attendees": [
            {"emailAddress": {"address": a.address, "name": a.display_name}, "type": "required"}
            for a in attendees
        ],
    }
    if location:
        body["location"] = {"displayName": location}
    if recurrence:
        body["recurrence"] = recurrence
    if online:
        body.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
    box = ctx.tenant.mailbox(organizer)
    assert box is not None
    meetings.create_event(ctx, organizer, box, body)  # type: ignore[arg-type]


def _weekly(days: list[str], start: date, *, interval: int = 1, end: date = LAST_DAY) -> dict[str, Any]:
    return {
        "pattern": {"type": "weekly", "interval": interval, "daysOfWeek": days, "firstDayOfWeek": "monday"},
        "range": {"type": "endDate", "startDate": start.isoformat(), "endDate": end.isoformat()},
    }


def _on_or_after(day: date, weekday: str) -> date:
    return day + timedelta(days=(DAYS.index(weekday) - day.weekday()) % 7)


def _clock(rng: random.Random, person: Person, *, minutes: int) -> time:
    start_h, start_m = map(int, person.hours[0].split(":"))
    end_h, end_m = map(int, person.hours[1].split(":"))
    first, last = start_h * 60 + start_m, end_h * 60 + end_m - minutes
    slot = rng.randrange(first // 30 + 1, max(first // 30 + 2, last // 30 + 1)) * 30
    return time(slot // 60, slot % 60)


def _populate(tenant: Tenant, users: dict[str, User], rng: random.Random) -> None:
    ctx = _SeedCtx(tenant)
    by_handle = {p.handle: p for p in PEOPLE}
    reports: dict[str, list[str]] = {}
    for p in PEOPLE:
        if p.manager:
            reports.setdefault(p.manager, []).append(p.handle)
    # Team meetings: each manager, weekly, with the whole team; 1:1s every other week.
    for manager, team in sorted(reports.items()):
        person = by_handle[manager]
        day = rng.choice(person.days[:4])
        _event(
            ctx,
            users[manager],
            person.zone,
            subject=f"{person.department} team weekly",
            day=_on_or_after(FIRST_MONDAY, day),
            clock=_clock(rng, person, minutes=60),
            minutes=60,
            attendees=[users[h] for h in team],
            recurrence=_weekly([day], _on_or_after(FIRST_MONDAY, day)),
            online=True,
            location="Teams",
        )
        for handle in team:
            one_day = rng.choice(person.days)
            first = _on_or_after(FIRST_MONDAY + timedelta(days=7 * rng.randrange(2)), one_day)
            _event(
                ctx,
                users[manager],
                person.zone,
                subject=f"1:1 {person.name.split()[0]} / {by_handle[handle].name.split()[0]}",
                day=first,
                clock=_clock(rng, person, minutes=30),
                minutes=30,
                attendees=[users[handle]],
                recurrence=_weekly([one_day], first, interval=2),
                sensitivity="private",
            )
    # The executive committee: first Tuesday of the month; the board: every quarter, on the 15th.
    jean = by_handle["jean.dubois"]
    execs = [users[h] for h in ("claire.petit", "robert.lefevre", "sophie.moreau", "li.wei")]
    _event(
        ctx,
        users["jean.dubois"],
        jean.zone,
        subject="Executive committee",
        day=date(2027, 1, 5),
        clock=time(9, 0),
        minutes=180,
        attendees=execs,
        location="Board room",
        recurrence={
            "pattern": {
                "type": "relativeMonthly",
                "interval": 1,
                "daysOfWeek": ["tuesday"],
                "index": "first",
            },
            "range": {"type": "numbered", "startDate": "2027-01-05", "numberOfOccurrences": 7},
        },
    )
    _event(
        ctx,
        users["claire.petit"],
        by_handle["claire.petit"].zone,
        subject="Board meeting",
        day=date(2027, 1, 15),
        clock=time(14, 0),
        minutes=240,
        attendees=[users["jean.dubois"]],
        recurrence={
            "pattern": {"type": "absoluteMonthly", "interval": 3, "dayOfMonth": 15},
            "range": {"type": "noEnd", "startDate": "2027-01-15"},
        },
    )
    for p in PEOPLE[2:]:
        user = users[p.handle]
        if p.department in ("IT", "Sales") and rng.random() < 0.6:
            _event(
                ctx,
                user,
                p.zone,
                subject="Stand-up",
                day=_on_or_after(FIRST_MONDAY, p.days[0]),
                clock=time(int(p.hours[0][:2]) + 1, 0),
                minutes=15,
                recurrence=_weekly(list(p.days), _on_or_after(FIRST_MONDAY, p.days[0])),
            )
        if rng.random() < 0.5:
            _event(
                ctx,
                user,
                p.zone,
                subject="Lunch",
                day=_on_or_after(FIRST_MONDAY, p.days[0]),
                clock=time(12, 30),
                minutes=60,
                recurrence=_weekly(list(p.days), _on_or_after(FIRST_MONDAY, p.days[0])),
                show_as=rng.choice(["busy", "tentative"]),
            )
        for week in range(WEEKS):
            monday = FIRST_MONDAY + timedelta(days=7 * week)
            for _ in range(rng.randrange(1, 4)):
                when = _on_or_after(monday, rng.choice(p.days))
                minutes = rng.choice([30, 45, 60, 90])
                others = rng.sample(
                    [u for h, u in users.items() if h not in (p.handle, "external.auditor")],
                    rng.randrange(0, 3),
                )
                _event(
                    ctx,
                    user,
                    p.zone,
                    subject=rng.choice(_SUBJECTS),
                    day=when,
                    clock=_clock(rng, p, minutes=minutes),
                    minutes=minutes,
                    attendees=others,
                    show_as=rng.choice(["busy", "busy", "busy", "tentative"]),
                )
            if rng.random() < 0.05:  # a lunch out with a client
                _event(
                    ctx,
                    user,
                    p.zone,
                    subject="Client lunch",
                    day=_on_or_after(monday, rng.choice(p.days)),
                    clock=time(12, 0),
                    minutes=90,
                    location="Le Petit Bistro",
                )
        for _ in range(rng.randrange(1, 4)):  # out-of-office stretches: a day, a long weekend, a week
            first = FIRST_MONDAY + timedelta(days=rng.randrange((LAST_DAY - FIRST_MONDAY).days))
            length = rng.choice([1, 1, 2, 5])
            _event(
                ctx,
                user,
                p.zone,
                subject="Out of office",
                day=first,
                clock=time(0, 0),
                minutes=length * 1440,
                show_as="oof",
            )


_SUBJECTS = [
    "Quarterly forecast review",
    "Pipeline review",
    "Design critique",
    "Vendor call",
    "Budget sync",
    "Hiring panel",
    "Customer escalation",
    "Roadmap planning",
    "Security review",
    "Town hall prep",
    "Contract negotiation",
    "Sprint planning",
    "Coffee chat",
    "Training: new expense tool",
]


def demo_tenant(*, seed: int = 0, domain: str = "contoso.com") -> Tenant:
    """The seeded Contoso tenant; ``seed`` changes the calendars, not who is there.

    Building one takes about a second (every event goes through schema validation), and tests build
    many: the first build per (seed, domain) is kept as a pickle and later calls get a fresh copy of it.
    """
    return pickle.loads(_pristine(seed, domain))  # noqa: S301 - our own bytes, made just below


@functools.cache
def _pristine(seed: int, domain: str) -> bytes:
    tenant = Tenant(seed=seed, domain=domain)
    users = _add_people(tenant, domain)
    _populate(tenant, users, random.Random(f"calendars-{seed}"))  # noqa: S311 - deterministic demo data
    return pickle.dumps(tenant)
