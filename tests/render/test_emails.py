"""Feedback, escalation and cancellation texts: escaped, one clear link, the same facts in both parts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.render.htmlread import flat, read
from worker.core.actions import CancelReason, EscalationReason, Role
from worker.core.render import (
    Agenda,
    Person,
    RenderError,
    cancellation_comment,
    escalation_email,
    feedback_email,
    feedback_subject,
    form_link,
    format_local,
)

FORM = "https://forms.office.com/r/Xy12AbCdEf?pair=lea-jean&session=3&role=mentee"
AGENDA = Agenda('Generative AI & "you"', ["Try an assistant <together>", "Limits, risks & data protection"])


def _feedback(**overrides: object) -> tuple[str, str]:
    args: dict[str, object] = {
        "programme_name": "Digital Reverse Mentoring <2027>",
        "recipient_name": "Jean O'Brien <script>",
        "role": Role.MENTEE,
        "partner_name": "Léa & Co",
        "session_number": 3,
        "session_date_local": "Tuesday 9 February 2027, 10:00",
        "agenda": AGENDA,
        "next_session": ("Tuesday 23 February 2027, 10:00", "Mobile apps & chats"),
        "form_url": FORM,
        "lead": "people.lead@contoso.com",
        "subject": "How did session 3 with Léa & Co go?",
    }
    args.update(overrides)
    return feedback_email(**args)  # type: ignore[arg-type]


def test_feedback_email_links_exactly_the_given_form() -> None:
    html, text = _feedback()
    page = read(html)
    links = {href for href in page.hrefs if not href.startswith("mailto:")}
    assert links == {FORM}
    assert FORM in text.splitlines()


def test_feedback_html_and_text_state_the_same_facts() -> None:
    html, text = _feedback()
    facts = [
        "Jean O'Brien <script>",
        "Léa & Co",
        "session 3",
        "Tuesday 9 February 2027, 10:00",
        'Generative AI & "you"',
        "Try an assistant <together>",
        "Limits, risks & data protection",
        "Tuesday 23 February 2027, 10:00",
        "Mobile apps & chats",
        "people.lead@contoso.com",
        "Digital Reverse Mentoring <2027>",
        FORM,
    ]
    visible = read(html).text + " " + " ".join(read(html).hrefs)
    for fact in facts:
        assert fact in visible, fact
        assert fact in flat(text), fact


def test_feedback_email_escapes_user_text() -> None:
    html, _ = _feedback()
    assert "<script" not in html and "<together>" not in html and "<2027>" not in html


def test_feedback_thanks_the_mentor_for_mentoring() -> None:
    _, text = _feedback(role=Role.MENTOR, recipient_name="Léa", partner_name="Jean")
    assert "Thank you for mentoring Jean in session 3" in text


def test_last_session_feedback_says_it_was_the_last() -> None:
    html, text = _feedback(next_session=None)
    assert "last session" in read(html).text and "last session" in text


@pytest.mark.parametrize(
    "url",
    [
        "http://forms.office.com/r/x",
        "javascript:alert(1)",
        "https://forms office.com/",
        "https:///path-only",
        "https://user:pw@forms.office.com/r/x",
        'https://forms.office.com/r/x"onmouseover="x',
        "//forms.office.com/r/x",
    ],
)
def test_feedback_refuses_a_form_link_that_is_not_a_clean_https_url(url: str) -> None:
    with pytest.raises(RenderError):
        _feedback(form_url=url)


VALUES = {"pair": "p", "session": "1", "role": "mentee", "mentor": "lea.martin@contoso.com",
          "mentee": "jean.dubois@contoso.com", "partner": "Léa Martin", "date": "2027-01-12"}


def test_form_link_fills_and_url_encodes_the_placeholders() -> None:
    template = "https://forms.office.com/r/Xy12AbCdEf?pair={pair}&session={session}&role={role}&on={date}"
    values = {**VALUES, "pair": "lea&jean marie", "session": "4", "role": Role.MENTOR.value}
    link = form_link(template, values)
    assert link == (
        "https://forms.office.com/r/Xy12AbCdEf?pair=lea%26jean%20marie&session=4&role=mentor&on=2027-01-12"
    )


def test_form_link_rejects_an_unknown_placeholder() -> None:
    with pytest.raises(RenderError, match="unknown placeholder"):
        form_link("https://forms.office.com/r/x?who={email}", VALUES)


def test_subject_template_never_reaches_attributes_and_stays_on_one_line() -> None:
    values = {**VALUES, "session": "2", "partner": "Léa\nMartin"}
    subject = feedback_subject("How did session {session} with {partner} go? {{session.__class__}}", values)
    assert subject == "How did session 2 with Léa Martin go? {session.__class__}"
    with pytest.raises(RenderError, match="unknown placeholder"):
        feedback_subject("{session.__class__}", values)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Session {session} {{draft}} with {partner}", "Session 1 {draft} with Léa Martin"),
        ("{{{session}}} with {mentor} on {date}", "{1} with lea.martin@contoso.com on 2027-01-12"),
        ("{pair}/{role}: }}{{", "p/mentee: }{"),
    ],
)
def test_every_subject_that_validates_fills_at_send_time(template: str, expected: str) -> None:
    """One grammar: what ``crossgen validate`` accepts, sending can fill (literal braces included)."""
    from worker.policies.templates import check_subject

    assert check_subject(template) == template
    assert feedback_subject(template, VALUES) == expected


@pytest.mark.parametrize("template", ["Session {session", "Session }", "{Session}", "{session!r}", "{0}"])
def test_a_subject_that_would_fail_at_send_time_never_validates(template: str) -> None:
    from pydantic_core import PydanticCustomError

    from worker.policies.templates import check_subject

    with pytest.raises(PydanticCustomError):
        check_subject(template)
    with pytest.raises(RenderError):
        feedback_subject(template, VALUES)


@pytest.mark.parametrize("reason", list(EscalationReason))
def test_every_escalation_has_a_one_line_subject_and_the_same_facts_in_both_parts(
    reason: EscalationReason,
) -> None:
    subject, html, text = escalation_email(
        reason=reason,
        programme_name="Digital RM\n2027",
        pair=(Person("O'Brien <script>", "ob@contoso.com"), "jean.dubois@contoso.com"),
        detail="No mutual free time on Tue-Thu 09:30-16:30.\nJean is out of office until 2027-02-01 & later.",
        suggestions=["Widen the policy's hours", "Ask Jean to share <his> calendar"],
    )
    assert "\n" not in subject and "\r" not in subject and subject.startswith("[Digital RM 2027] ")
    assert "<script" not in html and "<his>" not in html
    visible = read(html).text
    for fact in (
        "O'Brien <script> <ob@contoso.com>",
        "jean.dubois@contoso.com",
        "No mutual free time on Tue-Thu 09:30-16:30.",
        "Jean is out of office until 2027-02-01 & later.",
        "Widen the policy's hours",
        "Ask Jean to share <his> calendar",
    ):
        assert fact in visible and fact in text, fact


def test_no_slot_escalation_promises_at_most_one_email_a_week() -> None:
    subject, _, text = escalation_email(
        reason=EscalationReason.NO_SLOT,
        programme_name="P",
        pair=(Person("Léa", "l@contoso.com"), Person("Jean", "j@contoso.com")),
        detail="",
        suggestions=[],
    )
    assert subject == "[P] No time found for Léa and Jean"
    assert "once a week" in text and "Details" not in text


@pytest.mark.parametrize("reason", list(CancelReason))
def test_cancellation_comments_are_short_kind_and_name_the_programme(reason: CancelReason) -> None:
    comment = cancellation_comment(reason, "Digital\nRM 2027")
    assert "Digital RM 2027" in comment and "\n" not in comment and len(comment) < 300  # a few lines
    assert "Thank you" in comment or "Sorry" in comment


def test_pair_removed_comment_says_goodbye_and_what_happens_next() -> None:
    comment = cancellation_comment(CancelReason.PAIR_REMOVED, "P", lead="people.lead@contoso.com")
    assert comment.startswith("Your pairing in P has ended: your remaining sessions are cancelled")
    assert "Thank you both for your time" in comment and "no more emails" in comment
    assert comment.endswith("Questions? Write to people.lead@contoso.com.")


def test_a_blacked_out_session_is_named_with_its_date_zone_and_reason() -> None:
    comment = cancellation_comment(
        CancelReason.BLACKOUT,
        "P",
        when="Tuesday 16 February 2027, 10:00 (Europe/Paris)",
        why="Winter school holidays",
        next_session="Tuesday 2 March 2027, 10:00 (Europe/Paris)",
    )
    assert comment == (
        "No session on Tuesday 16 February 2027, 10:00 (Europe/Paris): Winter school holidays. "
        "Your next session: Tuesday 2 March 2027, 10:00 (Europe/Paris)."
    )
    bare = cancellation_comment(CancelReason.BLACKOUT, "P", when="Tuesday 16 February 2027, 10:00 (UTC)")
    assert "P takes a break that week" in bare and "continue as planned" in bare


def test_a_recut_comment_names_the_new_rhythm() -> None:
    comment = cancellation_comment(
        CancelReason.POLICY_CHANGED,
        "P",
        new_rhythm="every 2 weeks on Wednesdays at 10:00 (Europe/Paris)",
        next_session="Wednesday 10 March 2027, 10:00 (Europe/Paris)",
    )
    assert comment.startswith(
        "Your sessions in P move to a new rhythm: every 2 weeks on Wednesdays at 10:00 (Europe/Paris), "
        "from Wednesday 10 March 2027, 10:00 (Europe/Paris). These are cancelled"
    )


def test_local_dates_read_in_the_programme_zone_across_dst() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert format_local(datetime(2027, 3, 30, 8, 0, tzinfo=UTC), paris) == "Tuesday 30 March 2027, 10:00"
    assert (
        format_local(datetime(2027, 3, 23, 9, 0, tzinfo=UTC), paris, "Paris")
        == "Tuesday 23 March 2027, 10:00 (Paris)"
    )


@pytest.mark.parametrize(
    "template",
    [
        "https://forms.office.com/r/x?a={{b}}",  # a literal brace: never in a URL
        "https://{mentor}@forms.office.com/r/x",  # credentials
        'https://forms.office.com/r/x?q="{pair}"',
    ],
)
def test_a_form_link_that_would_fail_at_send_time_never_validates(template: str) -> None:
    from pydantic_core import PydanticCustomError

    from worker.policies.templates import check_form

    with pytest.raises(PydanticCustomError):
        check_form(template)
    with pytest.raises(RenderError):
        form_link(template, VALUES)
