"""``crossgen demo`` shows matching before booking: whom the example pool pairs, and who is left out."""

from __future__ import annotations

import asyncio

import pytest

from worker.demo import run_demo, story_json


@pytest.mark.slow
def test_the_demo_matches_the_example_pool_before_it_books() -> None:
    story = asyncio.run(run_demo())
    names = [s["step"] for s in story.steps]
    assert names.index("match") == names.index("validate") + 1 < names.index("plan")
    match = story.steps[names.index("match")]
    assert {(p["mentor"], p["mentee"]) for p in match["pairs"]} == {
        ("Léa Martin", "Jean Dubois"),
        ("Amina Diallo", "Robert Lefèvre"),
    }
    assert {u["who"] for u in match["unmatched"]} == {"Hugo Bernard", "Claire Petit"}
    book = story.steps[names.index("book")]
    assert book["summary"]["booked"] == 6, "the demo goes on with the example's own pairs"
    assert '"step": "match"' in story_json(story)
