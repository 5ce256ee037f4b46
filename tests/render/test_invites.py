"""Invites and per-session agendas: what participants see in Outlook, escaped and Outlook-safe."""

from __future__ import annotations

import pytest

from tests.render.htmlread import read
from worker.core.render import (
    Agenda,
    Person,
    RenderError,
    invite_body,
    invite_subject,
    session_agenda_body,
    session_subject,
)

NASTY = "O'Brien <script>alert(1)</script>"
CURRICULUM = [
    Agenda("Kick-off: goals & ground rules", ["What each of you wants", "Confidentiality"]),
    Agenda("Generative AI at work", ["Try an assistant together", "Limits & risks"]),
    Agenda("Progress review", ["What has changed"]),
]
ALLOWED_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "body",
    "table",
    "tr",
    "td",
    "p",
    "h2",
    "ul",
    "ol",
    "li",
    "strong",
    "span",
    "a",
    "br",
}


def _invite(**overrides: object) -> str:
    args: dict[str, object] = {
        "programme_name": 'Digital "RM" <2027> & co',
        "purpose": "Leaders learn digital habits & juniors learn the business.",
        "mentor": Person(NASTY, "lea.martin@contoso.com"),
        "mentee": Person("Jean <b>Dubois</b>", "jean.dubois@contoso.com"),
        "lead": "people.lead@contoso.com",
        "curriculum": CURRICULUM,
        "session_number": 1,
        "agenda": CURRICULUM[0],
        "topics": ['R&D "quotes"', "LinkedIn <img src=x>"],
        "join_hint": True,
    }
    args.update(overrides)
    return invite_body(**args)  # type: ignore[arg-type]


def test_invite_escapes_every_piece_of_user_text() -> None:
    html = _invite()
    page = read(html)
    assert "<script" not in html and "<img" not in html and "<b>Dubois" not in html
    for raw in (
        NASTY,
        "Jean <b>Dubois</b>",
        'R&D "quotes"',
        "LinkedIn <img src=x>",
        'Digital "RM" <2027> & co',
        "Leaders learn digital habits & juniors learn the business.",
        "Kick-off: goals & ground rules",
    ):
        assert raw in page.text
    assert set(page.tags) <= ALLOWED_TAGS


def test_invite_has_no_scripts_no_external_assets_and_no_fake_join_link() -> None:
    page = read(_invite())
    assert all(href.startswith("mailto:") for href in page.hrefs)
    assert not any("src" in attrs for _, attrs in page.elements)
    assert "teams.microsoft.com" not in _invite()


def test_invite_says_who_mentors_whom_and_that_learning_goes_both_ways() -> None:
    text = read(
        _invite(
            mentor=Person("Léa Martin", "lea@contoso.com"), mentee=Person("Jean Dubois", "jean@contoso.com")
        )
    ).text
    assert "Léa Martin mentors Jean Dubois on digital topics" in text
    assert "both ways" in text


def test_invite_tells_how_to_skip_a_session_and_whom_to_ask() -> None:
    html = _invite()
    page = read(html)
    assert "cannot be moved from your calendar" in page.text
    assert "decline just that session" in page.text and "same week" in page.text
    assert "private" in page.text
    assert page.hrefs == ["mailto:people.lead@contoso.com"]


def test_keep_policy_invite_does_not_promise_a_move() -> None:
    text = read(_invite(moves_declined=False)).text
    assert "same week" not in text and "lead will be told" in text


def test_invite_without_purpose_still_explains_the_programme() -> None:
    text = read(_invite(purpose=None)).text
    assert "pairs a junior colleague with a senior leader" in text


def _highlighted(html: str) -> list[str]:
    """The escaped titles of the highlighted curriculum entries."""
    return [chunk.split(" <span", 1)[0] for chunk in html.split('background:#fff4ce;font-weight:bold;">')[1:]]


@pytest.mark.parametrize(
    ("number", "title"),
    [
        (1, "Kick-off: goals &amp; ground rules"),
        (2, "Generative AI at work"),
        (3, "Progress review"),
        (9, "Progress review"),
    ],
)
def test_curriculum_highlights_the_current_session_and_repeats_the_last_entry(
    number: int, title: str
) -> None:
    html = session_agenda_body(
        programme_name="P",
        purpose=None,
        mentor=Person("A", "a@contoso.com"),
        mentee=Person("B", "b@contoso.com"),
        lead="l@contoso.com",
        curriculum=CURRICULUM,
        session_number=number,
        agenda=CURRICULUM[min(number, 3) - 1],
        topics=[],
        join_hint=False,
    )
    assert html.count("background:#fff4ce") == 1
    assert _highlighted(html) == [title]
    assert f"Session {number}: " in read(html).text


def test_session_agenda_lists_its_items_and_the_pairs_topics() -> None:
    html = session_agenda_body(
        programme_name="P",
        purpose=None,
        mentor=Person("A", "a@contoso.com"),
        mentee=Person("B", "b@contoso.com"),
        lead="l@contoso.com",
        curriculum=CURRICULUM,
        session_number=2,
        agenda=CURRICULUM[1],
        topics=["dashboards & KPIs"],
        join_hint=True,
    )
    text = read(html).text
    for fact in ("Generative AI at work", "Try an assistant together", "Limits & risks", "dashboards & KPIs"):
        assert fact in text


def test_invite_refuses_a_lead_that_is_not_a_mailbox_address() -> None:
    with pytest.raises(RenderError):
        _invite(lead='x@contoso.com" onclick="alert(1)')


@pytest.mark.parametrize("name", ["Léa\nMartin", "Léa\r\nMartin", "Léa\u2028Martin", "Léa\tMartin"])
def test_subjects_have_no_line_breaks(name: str) -> None:
    for subject in (
        invite_subject("Digital\nRM", name, "Jean"),
        session_subject("Digital\r\nRM", name, "Jean", session_number=2, title="AI\nat work"),
    ):
        assert "\n" not in subject and "\r" not in subject and "\u2028" not in subject
        assert "Léa Martin" in subject


def test_subjects_stay_short() -> None:
    subject = invite_subject("P" * 300, "Mentor " * 40, "Mentee " * 40)
    assert len(subject) <= 150 and subject.endswith("…")
