"""``crossgen demo`` as a new lead reads it at 80 columns, and ``sandbox serve``'s roster (issue 19,
finding 10): feedback emails and lead escalations counted apart, counts in good grammar, nothing cut,
no pair id where a name belongs, every time with its zone; and the ratings step (issue 20) through the
real worker."""

from __future__ import annotations

import asyncio
import io
import re

from rich.console import Console

from worker.commands.demo import _terminal
from worker.commands.sandbox import roster
from worker.demo import run_demo
from worker.sandbox.app import create_app


def test_the_demo_at_80_columns_counts_right_and_cuts_nothing() -> None:
    out = io.StringIO()
    story = asyncio.run(run_demo(echo=_terminal(Console(width=80, file=out, color_system=None))))
    text = out.getvalue()

    assert "…" not in text and all(len(line) <= 80 for line in text.splitlines())
    assert not re.search(
        r"\b1 (pairs|sessions|later sessions|blackouts|feedback emails|series booked)\b", text
    )
    assert "pair-" not in text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", text.split("4. A week later")[1])

    feedback = next(step for step in story.steps if step["step"] == "feedback")
    lead = "people.lead@contoso.com"
    assert feedback["escalations"] and all(m["to"] == lead for m in feedback["escalations"])
    assert all(m["to"] != lead for m in feedback["emails"])
    assert feedback["feedback"] == len(feedback["emails"])
    section = text.split("5. Six weeks in")[1].split("A run right after")[0]
    assert f"{feedback['feedback']} feedback emails sent" in section
    assert f"{len(feedback['escalations'])} lead escalation" in section
    listed = [line for line in section.splitlines() if "✉" in line]
    assert sum(lead in line for line in listed) == len(feedback["escalations"])
    assert "Winter school holidays (Paris)" in text  # the report's blackouts, with their reasons


def test_sandbox_serve_says_who_is_in_the_demo_tenant() -> None:
    lines = roster(create_app(seed=0).tenant)

    assert lines[0] == "The sandbox tenant holds 20 people:"
    assert any(
        line.startswith("  Jean Dubois <jean.dubois@contoso.com>, Chief Operating Officer") for line in lines
    )
    assert any("no mailbox" in line for line in lines)
    assert roster(create_app(seed=0, empty=True).tenant) == ["The sandbox tenant holds 0 people:"]


def test_the_demo_ends_with_ratings_counted_a_forgery_ignored_and_the_reports_showing_them() -> None:
    story = asyncio.run(run_demo())
    steps = {step["step"]: step for step in story.steps}
    ratings = steps["ratings"]
    genuine = [c for c in ratings["clicks"] if not c.get("forged")]
    assert ratings["summary"]["ratings"] == len(genuine) > 10
    assert ratings["summary"]["ratings_ignored"] == 1
    report = steps["report"]
    assert "## Ratings" in report["markdown"] and f"{len(genuine)} ratings received" in report["markdown"]
    assert "Comments (confidential" in report["markdown"]
    assert "Best-rated topics" in report["company"]
    assert "Loved the part" not in report["company"] and "Martin" not in report["company"]
