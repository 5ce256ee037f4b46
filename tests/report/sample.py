"""A programme with known calendars, for checking the report's numbers and looking at its page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from worker.core.render import Person
from worker.report.model import FeedbackKey, PairInput, PairStatus, ProgrammeInfo, SessionRecord

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 3, 10, 12, 0, tzinfo=UTC)
PROGRAMME = ProgrammeInfo(
    name="Digital Reverse Mentoring 2027",
    lead="people.lead@contoso.com",
    start=date(2027, 1, 11),
    end=date(2027, 6, 30),
    zone=PARIS,
)

LEA = Person("Léa Martin", "lea.martin@contoso.com")
JEAN = Person("Jean Dubois", "jean.dubois@contoso.com")
HUGO = Person("Hugo Bernard", "hugo.bernard@contoso.com")
CLAIRE = Person("Claire Petit", "claire.petit@contoso.com")
AMINA = Person("Amina Diallo", "amina.diallo@contoso.com")
ROBERT = Person("Robert Lefèvre", "robert.lefevre@contoso.com")
NASTY = Person('=HYPERLINK("http://evil") <script>alert(1)</script>', "ob@contoso.com")
SOPHIE = Person('Sophie Moreau & "Co"', "sophie.moreau@contoso.com")

PAIRS = (
    PairInput("lea-jean", LEA, JEAN, "fortnightly", PairStatus.BOOKED, "from 2027-01-12T09:00:00+00:00"),
    PairInput("hugo-claire", HUGO, CLAIRE, "monthly-executive", PairStatus.BOOKED),
    PairInput(
        "amina-robert",
        AMINA,
        ROBERT,
        "fortnightly",
        PairStatus.UNSCHEDULED,
        "No mutual free time on Tue–Thu 09:30–16:30 in the next 3 weeks: Robert is out of office.",
    ),
    PairInput("ob-sophie", NASTY, SOPHIE, "fortnightly", PairStatus.REFUSED, "-2+3 same reporting line"),
)


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=PARIS).astimezone(UTC)


def sessions() -> list[SessionRecord]:
    """lea-jean: fortnightly Tuesdays 10:00 from 12 Jan (10 sessions); hugo-claire: monthly Mondays 14:00.

    As of NOW (Wed 10 Mar 2027, 13:00 Paris):
    - lea-jean: sessions 1-5 past (12 Jan .. 9 Mar). #2 declined by Jean and moved (still held);
      #4 declined by both (not held); #3 cancelled. So held = 1, 2, 5 → 3; upcoming = 6..10 → 5,
      of which #7 is cancelled → 4 upcoming; declined = 2; moved = 1; cancelled = 2.
    - hugo-claire: 18 Jan, 15 Feb past and held (2), 15 Mar .. 21 Jun upcoming (4).
    """
    records = []
    for n in range(1, 11):
        day = date(2027, 1, 12) + timedelta(weeks=2 * (n - 1))
        start = _at(day, 10)
        if n == 2:
            start = _at(day + timedelta(days=1), 15)
        records.append(
            SessionRecord(
                "lea-jean",
                n,
                start,
                start + timedelta(minutes=45),
                cancelled=n in (3, 7),
                declined_by=frozenset(
                    {"jean.dubois@contoso.com"}
                    if n == 2
                    else {"LEA.MARTIN@contoso.com", "jean.dubois@contoso.com"}
                    if n == 4
                    else ()
                ),
                moved=n == 2,
            )
        )
    for n, day in enumerate(
        [
            date(2027, 1, 18),
            date(2027, 2, 15),
            date(2027, 3, 15),
            date(2027, 4, 19),
            date(2027, 5, 17),
            date(2027, 6, 21),
        ],
        start=1,
    ):
        start = _at(day, 14)
        records.append(SessionRecord("hugo-claire", n, start, start + timedelta(hours=1)))
    records.append(SessionRecord("someone-else", 1, _at(date(2027, 1, 12), 9), _at(date(2027, 1, 12), 10)))
    return records


FEEDBACK = [
    FeedbackKey("lea-jean", 1, "mentor"),
    FeedbackKey("lea-jean", 1, "mentee"),
    FeedbackKey("lea-jean", 2, "mentor"),
    FeedbackKey("lea-jean", 2, "mentor"),  # seen twice, sent once
    FeedbackKey("hugo-claire", 1, "mentee"),
    FeedbackKey("gone-pair", 1, "mentee"),
]
