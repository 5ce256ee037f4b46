"""``crossgen demo`` tells the whole story, ratings included, through the real worker."""

from __future__ import annotations

import asyncio

from worker.demo import run_demo


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
