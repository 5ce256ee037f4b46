"""What participants and the lead read, laid out by a real browser at desktop and phone widths.

Each view is rendered by the product's own code with hostile names and topics, opened in headless
Chromium at 1200 px and 375 px, and checked for layout facts: no horizontal scroll, the key sentences
and the button on screen, and no element that only unescaped user text could have made. A full-page
screenshot of each goes to the artifacts folder (see ``chromium.artifacts_dir``).
"""

from __future__ import annotations

import html
from typing import Any

import pytest

from tests.browser.chromium import DESKTOP, PHONE, Browser
from tests.report.sample import FEEDBACK, NOW, PAIRS, PROGRAMME, sessions
from worker.core.actions import CancelReason, Role
from worker.core.render import (
    cancellation_comment,
    feedback_email,
    goodbye_body,
    invite_body,
    rhythm_end_body,
)
from worker.report.model import build_report
from worker.report.render_html import render_html

pytestmark = pytest.mark.slow
WIDTHS = (DESKTOP, PHONE)

# Names and topics as hostile as a directory or a pairs file could hold.
MENTOR = ('Léa Martin <img src=x onerror="window.__pwned=1">', "lea.martin@contoso.com")
MENTEE = ("Robert Lefèvre <b>&amp;</b>", "robert.lefevre@contoso.com")
PROGRAMME_NAME = 'Digital Reverse Mentoring <script>window.__pwned=1</script> "2027"'
FORM = "https://forms.office.com/r/Xy12AbCdEf?pair=pair-0123456789&session=3&role=mentee&lang=fr-FR"
LONG_TOPIC = "https://www.linkedin.com/posts/" + "x" * 120  # a pasted link: one unbreakable word


def _invite() -> str:
    return invite_body(
        programme_name=PROGRAMME_NAME,
        purpose="Reverse mentoring pairs a junior colleague with a senior leader.",
        mentor=MENTOR,
        mentee=MENTEE,
        lead="people.lead@contoso.com",
        curriculum=[("Social media & you", ["LinkedIn", "TikTok"]), ("Generative AI at work", ["Try one"])],
        session_number=1,
        agenda=("Social media & you", ["Your LinkedIn profile", "<i>hashtags</i>"]),
        topics=[LONG_TOPIC, "<u>esports</u>"],
        join_hint=True,
        greetings=("Léa <i>", "Robert"),
        dates=["Tuesday 12 January 2027, 09:30 (Europe/Paris) · 14:00 (Asia/Kolkata)"] * 3,
        no_session=[("Tuesday 23 February 2027", "Winter school holidays <Paris> & more")],
    )


def _goodbye() -> str:
    return goodbye_body(
        programme_name=PROGRAMME_NAME,
        mentor=MENTOR,
        mentee=MENTEE,
        lead="people.lead@contoso.com",
        greetings=("Léa <i>", "Robert"),
        last_session="Tuesday 9 February 2027, 10:00 (Europe/Paris)",
    )


def _new_rhythm() -> str:
    return rhythm_end_body(
        programme_name=PROGRAMME_NAME,
        mentor=MENTOR,
        mentee=MENTEE,
        lead="people.lead@contoso.com",
        new_rhythm="every 2 weeks on Wednesdays at 10:00 (Europe/Paris)",
        dates=["Wednesday 10 March 2027, 10:00 (Europe/Paris) · 14:30 (Asia/Kolkata)"] * 3,
    )


def _feedback() -> str:
    page, _text = feedback_email(
        programme_name=PROGRAMME_NAME,
        recipient_name=MENTEE[0],
        role=Role.MENTEE,
        partner_name=MENTOR[0],
        session_number=3,
        session_date_local="Tuesday 9 February 2027, 10:00 (Europe/Paris)",
        agenda=("Generative AI at work", ["Try an assistant <together>"]),
        next_session=("Wednesday 24 February 2027, 10:00 (Europe/Paris)", "Mobile apps & chats"),
        form_url=FORM,
        lead="people.lead@contoso.com",
        subject="How did session 3 go?",
    )
    return page


def _cancellation() -> str:
    # Exchange puts the organizer's cancel comment above the meeting's body in the attendee's message.
    comment = cancellation_comment(
        CancelReason.BLACKOUT,
        PROGRAMME_NAME,
        when="Tuesday 23 February 2027, 10:00 (Europe/Paris) · 14:30 (Asia/Kolkata)",
        why="Winter school holidays <Paris>",
        next_session="Tuesday 9 March 2027, 10:00 (Europe/Paris)",
    )
    return f"{html.escape(comment)}<br>{_invite()}"


def _report() -> str:
    report = build_report(
        programme=PROGRAMME, pairs=PAIRS, sessions=sessions(), feedback_sent=FEEDBACK, now=NOW
    )
    return render_html(report)


VIEWS: dict[str, tuple[Any, list[str]]] = {
    "report": (_report, ["Digital Reverse Mentoring 2027", "Sessions per week", "Pairs", "Léa Martin"]),
    "invitation": (
        _invite,
        [
            "Welcome to",
            "mentors",
            "Robert Lefèvre <b>&amp;</b>",
            "decline just that session",
            "Dates without a session",
            "Winter school holidays <Paris> & more",
        ],
    ),
    "feedback": (_feedback, ["Give feedback on session 3", "Next session:", "Wednesday 24 February 2027"]),
    "cancellation": (
        _cancellation,
        ["No session on Tuesday 23 February 2027, 10:00 (Europe/Paris)", "Winter school holidays <Paris>"],
    ),
    "goodbye": (
        _goodbye,
        ["Your pairing in", "has ended.", "What happens next", "people.lead@contoso.com", "Hello Léa <i>"],
    ),
    "new-rhythm": (_new_rhythm, ["move to a new rhythm: every 2 weeks on Wednesdays", "Your next sessions"]),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", sorted(VIEWS))
def test_view_fits_the_screen_shows_its_sentences_and_escapes_user_text(
    browser: Browser,
    view: str,
    width: int,
) -> None:
    make, sentences = VIEWS[view]
    layout, page = browser.render(view, make(), width)
    try:
        assert layout.viewport == width
        assert layout.scroll_width <= width, f"{view} scrolls sideways at {width}px: {layout.hidden_overflow}"
        assert layout.hidden_overflow == []
        for sentence in sentences:
            assert sentence in layout.text, f"{view} at {width}px does not show {sentence!r}"
            box = page.get_by_text(sentence, exact=False).first.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1, sentence
        assert layout.injected == 0, f"{view}: user text became markup"
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_feedback_button_is_on_screen_and_links_the_form(
    browser: Browser,
    width: int,
) -> None:
    _layout, page = browser.render("feedback-button", _feedback(), width)
    try:
        button = page.get_by_role("link", name="Give feedback on session 3")
        assert button.is_visible()
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
        assert box["height"] >= 16  # a tappable line of text, not a collapsed cell
        assert button.get_attribute("href") == FORM
    finally:
        page.close()
