"""One-click ratings: the sealed token in each link, and the judging of what arrives in the Inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from worker.core import ratings, render
from worker.core.actions import Role
from worker.core.ratings import CATEGORY_IGNORED, CATEGORY_RATING, InboxMessage, PairPeople, Rating, Verdict

KEY = ratings.programme_key_for(b"a master secret of the worker", "reverse-mentoring")
PROG = "reverse-mentoring"
PAIRS = {"pair-0000000001": PairPeople("lea@contoso.com", "jean@contoso.com")}
HELD = {"pair-0000000001": frozenset({1, 2, 3})}
T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def link(value: int, session: int = 2, role: str = "mentor") -> ratings.RatingLink:
    links = ratings.rating_links(
        KEY, mailbox="mentoring@contoso.com", programme=PROG, programme_name="Reverse <mentoring>",
        pair="pair-0000000001", session=session, role=role,
    )
    return links[value - 1]


def msg(n: int, sender: str, subject: str, *, minutes: int = 0, categories: tuple[str, ...] = (),
        body: str = "") -> InboxMessage:
    return InboxMessage(f"m{n}", "mentoring@contoso.com", sender, T0 + timedelta(minutes=minutes), subject,
                        categories, body)


def judge(*messages: InboxMessage) -> ratings.Judged:
    return ratings.judge(messages, key=KEY, programme=PROG, pairs=PAIRS, held=HELD)


def test_each_link_is_a_mailto_to_the_mailbox_whose_subject_carries_a_sealed_token() -> None:
    links = [link(v) for v in ratings.SCALE]
    assert [x.value for x in links] == [1, 2, 3, 4, 5]
    for x in links:
        to, _, query = x.url.removeprefix("mailto:").partition("?")
        assert to == "mentoring@contoso.com"
        fields = dict(part.split("=", 1) for part in query.split("&"))
        assert unquote(fields["subject"]) == x.subject and unquote(fields["body"]) == x.body
        token = ratings.find_token(x.subject)
        assert isinstance(token, ratings.Token) and token.value == x.value and token.verifies(KEY, PROG)
    assert len({x.subject for x in links}) == 5


def test_a_token_does_not_verify_under_another_key_or_with_any_field_changed() -> None:
    token = ratings.find_token(link(4).subject)
    assert isinstance(token, ratings.Token)
    assert not token.verifies(ratings.programme_key_for(b"another secret", PROG), PROG)
    for change in ({"value": 5}, {"session": 3}, {"role": "mentee"}, {"pair": "pair-0000000002"}):
        forged = ratings.Token(**{**{f: getattr(token, f) for f in token.__slots__}, **change})
        assert not forged.verifies(KEY, PROG)


def test_the_participant_it_was_sent_to_counts_once_and_a_forger_is_ignored() -> None:
    genuine = msg(1, "Lea@contoso.com", link(4).subject, body="Great talk about TikTok\n\n" + link(4).body)
    forged = msg(2, "jean@contoso.com", link(1).subject)  # the mentee uses the mentor's link
    judged = judge(genuine, forged)
    assert [(r.pair, r.session, r.role, r.value, r.by) for r in judged.ratings] == [
        ("pair-0000000001", 2, "mentor", 4, "lea@contoso.com")
    ]
    assert judged.ratings[0].comment == "Great talk about TikTok"
    verdicts = {(m.message_id, m.verdict) for m in judged.marks}
    assert verdicts == {("m1", Verdict.ACCEPTED), ("m2", Verdict.FORGED)}
    assert judged.ignored == {"forged": 1}
    delegate = InboxMessage("m3", "mentoring@contoso.com", "lea@contoso.com", T0, link(5).subject,
                            sent_by="assistant@contoso.com")
    assert [m.verdict for m in judge(delegate).marks] == [Verdict.FORGED]  # on her behalf is not her
    # Once marked in the mailbox, nothing is judged again and the rating still counts.
    again = judge(
        msg(1, "lea@contoso.com", link(4).subject, categories=(CATEGORY_RATING,)),
        msg(2, "jean@contoso.com", link(1).subject, categories=(CATEGORY_IGNORED,)),
    )
    assert [r.value for r in again.ratings] == [4] and again.marks == () and again.ignored_before == 1


def test_the_latest_rating_of_a_session_by_a_person_is_the_one_that_counts() -> None:
    judged = judge(msg(1, "lea@contoso.com", link(2).subject, minutes=5),
                   msg(2, "lea@contoso.com", link(5).subject, minutes=9),
                   msg(3, "lea@contoso.com", link(3).subject, minutes=1))
    assert [r.value for r in judged.ratings] == [5] and judged.superseded == 2


@pytest.mark.parametrize(
    ("subject", "verdict"),
    [
        ("Rating 4 [cg1.zz]", Verdict.MALFORMED),
        (link(4).subject.replace(".4.", ".9."), Verdict.MALFORMED),
        (link(4).subject[:-3] + "00]", Verdict.UNKNOWN),
        (link(4, session=7).subject, Verdict.NOT_HELD),
    ],
)
def test_what_cannot_be_a_genuine_rating_is_ignored_and_counted(subject: str, verdict: Verdict) -> None:
    judged = judge(msg(1, "lea@contoso.com", subject))
    assert judged.ratings == () and [m.verdict for m in judged.marks] == [verdict]
    assert judged.marks[0].categories == (CATEGORY_IGNORED,)


def test_other_mail_and_other_programmes_tokens_are_left_alone() -> None:
    other = ratings.rating_links(KEY, mailbox="m@contoso.com", programme="another", programme_name="x",
                                 pair="pair-0000000001", session=2, role="mentor")[0]
    judged = judge(msg(1, "lea@contoso.com", "Accepted: Reverse mentoring"),
                   msg(2, "lea@contoso.com", other.subject))
    assert judged.marks == () and judged.ratings == ()


def test_the_comment_is_what_the_person_typed_above_the_prefilled_lines() -> None:
    assert ratings.comment_of("Loved it.\r\nMore please\r\n" + link(5).body) == "Loved it.\nMore please"
    assert ratings.comment_of(link(5).body) == ""


def test_low_twice_running_and_stopping_to_answer_are_concerns_with_an_episode() -> None:
    def r(session: int, value: int, role: str = "mentor") -> Rating:
        return Rating("p", session, role, value, "x", T0, f"m{session}{role}")

    assert ratings.concern([r(1, 4), r(2, 2), r(3, 1)], due=[1, 2, 3]) == (
        "ratings-low-2", "their last two rated sessions were rated low (2.0 and 1.0 of 5)")
    assert ratings.concern([r(1, 4), r(2, 2), r(2, 5, "mentee"), r(3, 1)], due=[1, 2, 3]) is None
    assert ratings.concern([r(1, 4)], due=[1, 2, 3]) == ("ratings-silent-1", "no rating since session 1")
    assert ratings.concern([r(1, 4)], due=[1, 2]) is None
    assert ratings.concern([], due=[1, 2, 3]) is None  # never answered: the calendar alert covers a stall


def test_the_feedback_email_shows_five_escaped_rating_links() -> None:
    html, text = render.feedback_email(
        programme_name="Reverse <mentoring>", recipient_name="Léa", role=Role.MENTOR, partner_name="Jean",
        session_number=2, session_date_local="Tuesday", agenda=("AI", []), next_session=None,
        form_url="https://forms.office.com/r/x", lead="lead@contoso.com", subject="s",
        rating_links=[(x.value, x.url) for x in (link(v) for v in ratings.SCALE)],
    )
    for v in ratings.SCALE:
        assert f'title="Rate {v} of 5">{v}</a>' in html
        assert link(v).url in text
    assert html.count('href="mailto:mentoring@contoso.com?subject=') == 5
    assert "<mentoring>" not in html
    with pytest.raises(render.RenderError):
        render.mailto_url('mailto:a@contoso.com?subject=x&bcc=b@contoso.com')
