"""The ratings in the report: the figures per pair, session, topic and month; comments for the lead only;
the company summary with aggregates and no names."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from tests.report.sample import FEEDBACK, NOW, PAIRS, PROGRAMME, sessions
from worker.core.ratings import Rating
from worker.report.company import company_summary, render_company_csv, render_company_html, render_company_md
from worker.report.model import FeedbackKey, ProgrammeReport, build_report
from worker.report.render_csv import render_csv
from worker.report.render_html import render_html
from worker.report.render_md import render_md

FEB = datetime(2027, 2, 3, 9, 0, tzinfo=UTC)
MAR = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
TOPICS = {
    ("lea-jean", 1): "Kick-off",
    ("lea-jean", 2): '<script>alert("AI")</script>',
    ("hugo-claire", 1): "=Kick",
}


def r(pair: str, session: int, role: str, value: int, at: datetime = FEB, comment: str = "") -> Rating:
    return Rating(
        pair, session, role, value, f"{role}@contoso.com", at, f"m-{pair}-{session}-{role}", comment
    )


RATINGS = [
    r("lea-jean", 1, "mentor", 4, comment="Great <b>session</b>, =cmd|' /C calc'!A0"),
    r("lea-jean", 1, "mentee", 5),
    r("lea-jean", 2, "mentor", 2, MAR),
    r("hugo-claire", 1, "mentee", 3),
    r("someone-else", 1, "mentor", 1),  # not a pair of the report: ignored
]


@pytest.fixture(scope="module")
def report() -> ProgrammeReport:
    return build_report(
        programme=PROGRAMME,
        pairs=PAIRS,
        sessions=sessions(),
        feedback_sent=FEEDBACK,
        now=NOW,
        ratings=RATINGS,
        topics=TOPICS,
        ratings_ignored=2,
    )


def test_the_figures_per_pair_session_topic_and_month(report: ProgrammeReport) -> None:
    rated = report.ratings
    assert (rated.received, rated.average, rated.ignored) == (4, 3.5, 2)
    lea = rated.of("lea-jean")
    assert lea is not None and (lea.ratings, lea.average) == (3, 3.7)
    assert (lea.response_rate("mentor"), lea.response_rate("mentee")) == (1.0, 1.0)  # asked 2 and 1
    hugo = rated.of("hugo-claire")
    assert hugo is not None and hugo.response_rate("mentee") == 1.0 and hugo.response_rate("mentor") is None
    assert [(s.pair_id, s.session, s.mentor, s.mentee, s.average) for s in rated.sessions] == [
        ("lea-jean", 1, 4, 5, 4.5),
        ("lea-jean", 2, 2, None, 2.0),
        ("hugo-claire", 1, None, 3, 3.0),
    ]
    assert [t.topic for t in rated.topics] == ["Kick-off", "=Kick", '<script>alert("AI")</script>']
    assert [(m.month.isoformat(), m.average, m.ratings) for m in rated.trend] == [
        ("2027-02-01", 4.0, 3),
        ("2027-03-01", 2.0, 1),
    ]
    rows = {row.pair_id: row for row in report.pairs}
    assert (rows["lea-jean"].ratings, rows["lea-jean"].average_rating) == (3, 3.7)
    assert (rows["amina-robert"].ratings, rows["amina-robert"].average_rating) == (0, None)


def test_csv_has_ratings_and_an_average_with_one_decimal_or_empty(report: ProgrammeReport) -> None:
    rows = {row["pair"]: row for row in csv.DictReader(io.StringIO(render_csv(report)))}
    assert (rows["lea-jean"]["ratings"], rows["lea-jean"]["average_rating"]) == ("3", "3.7")
    assert (rows["amina-robert"]["ratings"], rows["amina-robert"]["average_rating"]) == ("0", "")
    assert rows["lea-jean"]["mentor_response_rate"] == "1.00"


def test_comments_and_topics_stay_text_in_the_lead_report(report: ProgrammeReport) -> None:
    page = render_html(report)
    assert "Great &lt;b&gt;session&lt;/b&gt;" in page and "<b>session" not in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;AI&quot;)" in page
    md = render_md(report)
    assert "Great \\<b\\>session\\</b\\>" in md and "Comments (confidential" in md


def test_pairs_that_never_answer_or_rate_low_are_named_for_the_lead() -> None:
    feedback = [FeedbackKey("hugo-claire", n, role) for n in (1, 2, 3) for role in ("mentor", "mentee")]
    low = [
        r("hugo-claire", 1, "mentor", 4),
        r("hugo-claire", 2, "mentor", 2),
        r("hugo-claire", 3, "mentor", 1),
    ]
    built = build_report(
        programme=PROGRAMME, pairs=PAIRS, sessions=sessions(), feedback_sent=feedback, now=NOW, ratings=low
    )
    assert dict(built.ratings.attention) == {
        "hugo-claire": "their last two rated sessions were rated low (2.0 and 1.0 of 5)",
    }
    silent = build_report(
        programme=PROGRAMME, pairs=PAIRS, sessions=sessions(), feedback_sent=feedback, now=NOW
    )
    assert dict(silent.ratings.attention) == {"hugo-claire": "no rating yet, after 6 feedback emails"}


def test_the_company_summary_shows_aggregates_never_names_comments_or_small_groups(
    report: ProgrammeReport,
) -> None:
    summary = company_summary(report)
    assert (summary.pairs, summary.people, summary.ratings, summary.average_rating) == (2, 4, 4, 3.5)
    assert [t.topic for t in summary.best_topics] == []  # no topic has three ratings: none is shown
    assert [m.ratings for m in summary.trend] == [3]  # March's single rating is not shown
    for text in (render_company_md(report), render_company_html(report), render_company_csv(report)):
        for secret in ("Léa", "Martin", "lea.martin", "lea-jean", "Great", "calc", "Hugo"):
            assert secret not in text
    page = render_company_html(report)
    assert "<svg" in page and 'data-average="4.0"' in page
    figures = {row["figure"]: row["value"] for row in csv.DictReader(io.StringIO(render_company_csv(report)))}
    assert figures["average_rating"] == "3.5" and figures["sessions_held"] == str(report.totals.held)
    few = build_report(
        programme=PROGRAMME,
        pairs=PAIRS,
        sessions=sessions(),
        feedback_sent=FEEDBACK,
        now=NOW,
        ratings=RATINGS[:2],
        topics=TOPICS,
    )
    assert company_summary(few).average_rating is None
    assert "not enough ratings yet" in render_company_md(few)


def test_a_topic_that_could_start_a_formula_is_inert_in_the_company_csv() -> None:
    many = [r("hugo-claire", 1, role, 5, comment="") for role in ("mentor", "mentee")] + [
        r("lea-jean", 1, role, 4) for role in ("mentor", "mentee")
    ]
    built = build_report(
        programme=PROGRAMME,
        pairs=PAIRS,
        sessions=sessions(),
        feedback_sent=FEEDBACK,
        now=NOW,
        ratings=many,
        topics={("hugo-claire", 1): "=Kick", ("lea-jean", 1): "=Kick"},
    )
    rows = dict(csv.reader(io.StringIO(render_company_csv(built))))
    assert rows["best_topic_1"].startswith("'=Kick")


def test_a_rating_counts_as_asked_even_when_the_sent_mail_record_was_lost() -> None:
    built = build_report(programme=PROGRAMME, pairs=PAIRS, sessions=sessions(), feedback_sent=(), now=NOW,
                         ratings=RATINGS[:2])
    lea = built.ratings.of("lea-jean")
    assert lea is not None and (lea.response_rate("mentor"), lea.response_rate("mentee")) == (1.0, 1.0)
