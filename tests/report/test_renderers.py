"""The report in Markdown, CSV and HTML: the same numbers, user text that stays text, a chart to scale."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections import defaultdict
from datetime import date

import pytest

from tests.render.htmlread import read
from tests.report.sample import FEEDBACK, NOW, PAIRS, PROGRAMME, sessions
from worker.report.chart import nice_scale, sessions_chart
from worker.report.mail import report_email
from worker.report.model import ProgrammeReport, WeekCount, build_report
from worker.report.render_csv import HEADER, csv_cell, render_csv
from worker.report.render_html import render_html
from worker.report.render_md import md_text, render_md


@pytest.fixture(scope="module")
def report() -> ProgrammeReport:
    return build_report(
        programme=PROGRAMME, pairs=PAIRS, sessions=sessions(), feedback_sent=FEEDBACK, now=NOW
    )


# --- Markdown ---------------------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def test_markdown_has_one_row_per_pair_with_its_numbers(report: ProgrammeReport) -> None:
    md = render_md(report)
    rows = {_cells(line)[0]: _cells(line) for line in md.splitlines() if line.startswith("| lea-jean")}
    assert rows["lea-jean"][4:11] == ["booked", "3", "4", "1", "2", "2", "3"]
    assert "| Sessions held | 5 |" in md and "| Feedback emails sent | 4 |" in md


def test_markdown_tables_keep_their_shape_and_user_text_stays_text(report: ProgrammeReport) -> None:
    md = render_md(report)
    table = [line for line in md.splitlines() if line.startswith("| ") and "Mentor" not in line]
    pairs_table = [line for line in table if len(_cells(line)) == 13]
    assert len(pairs_table) == 1 + len(PAIRS)  # the alignment row and one per pair
    assert "<script>" not in md and r"\<script\>alert(1)\</script\>" in md
    assert md_text("a|b\nc *d* [x](y)") == r"a\|b c \*d\* \[x\](y)"


# --- CSV --------------------------------------------------------------------------------------------


def test_csv_is_one_row_per_pair_under_a_header(report: ProgrammeReport) -> None:
    text = render_csv(report)
    assert text.endswith("\r\n") and "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == list(HEADER) and len(rows) == len(PAIRS)
    lea = rows[0]
    assert (
        lea["held"],
        lea["upcoming"],
        lea["moved"],
        lea["declined"],
        lea["cancelled"],
        lea["feedback_sent"],
    ) == (
        "3",
        "4",
        "1",
        "2",
        "2",
        "3",
    )
    assert lea["last_session"] == "2027-03-09T10:00+01:00" and lea["next_session"] == "2027-03-23T10:00+01:00"


def test_csv_cells_cannot_start_a_formula(report: ProgrammeReport) -> None:
    rows = list(csv.reader(io.StringIO(render_csv(report), newline="")))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    nasty = next(row for row in rows if row[0] == "ob-sophie")
    assert nasty[1] == '\'=HYPERLINK("http://evil") <script>alert(1)</script>'
    assert nasty[7] == "'-2+3 same reporting line"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)" and csv_cell("+1") == "'+1" and csv_cell(3) == 3


# --- HTML and its chart -----------------------------------------------------------------------------


def test_html_escapes_user_text_and_loads_nothing(report: ProgrammeReport) -> None:
    html = render_html(report)
    page = read(html)
    assert "<script" not in html
    assert '=HYPERLINK("http://evil") <script>alert(1)</script>' in page.text
    assert 'Sophie Moreau & "Co"' in page.text
    assert page.hrefs == ["mailto:people.lead@contoso.com"]
    assert not any("src" in attrs for _, attrs in page.elements)
    assert "http://evil" not in "".join(v for _, attrs in page.elements for v in attrs.values())


def test_html_shows_the_figures_and_each_pairs_reason(report: ProgrammeReport) -> None:
    text = read(render_html(report)).text
    assert "5 Sessions held" in text and "8 Upcoming" in text and "4 Feedback sent" in text
    assert "No mutual free time on Tue–Thu 09:30–16:30" in text
    assert "Tue 9 Mar 10:00" in text and "Tue 23 Mar 10:00" in text


def _bars(svg: str) -> list[dict[str, str]]:
    return [attrs for tag, attrs in read(svg).elements if tag == "rect" and "data-kind" in attrs]


def test_chart_bar_heights_are_proportional_to_the_counts(report: ProgrammeReport) -> None:
    bars = _bars(render_html(report))
    assert bars
    ratios = {round(float(b["height"]) / int(b["data-count"]), 6) for b in bars}
    assert max(ratios) - min(ratios) < 0.01
    drawn: dict[tuple[str, str], int] = defaultdict(int)
    for b in bars:
        drawn[b["data-week"], b["data-kind"]] += int(b["data-count"])
    expected = {
        (w.week_start.isoformat(), kind): getattr(w, kind)
        for w in report.sessions_per_week
        for kind in ("held", "upcoming", "cancelled")
        if getattr(w, kind)
    }
    assert dict(drawn) == expected


def test_chart_stacks_a_weeks_bars_without_overlap() -> None:
    weeks = [WeekCount(date(2027, 1, 11), held=3, upcoming=2, cancelled=1)]
    bars = sorted(_bars(sessions_chart(weeks, title="t")), key=lambda b: float(b["y"]), reverse=True)
    assert [b["data-kind"] for b in bars] == ["held", "upcoming", "cancelled"]
    for lower, upper in itertools.pairwise(bars):
        assert float(upper["y"]) + float(upper["height"]) == pytest.approx(float(lower["y"]))
    assert float(bars[0]["height"]) == pytest.approx(3 * float(bars[2]["height"]))


def test_chart_is_labelled_for_people_and_screen_readers(report: ProgrammeReport) -> None:
    html = render_html(report)
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'role="img"' in svg and 'aria-labelledby="chart-title chart-desc"' in svg
    assert '<title id="chart-title">Sessions per week, Digital Reverse Mentoring 2027</title>' in svg
    assert "5 held, 8 upcoming, 2 cancelled" in svg
    for label in (
        "Held (5)",
        "Upcoming (8)",
        "Cancelled (2)",
        "Sessions",
        "Week starting (Monday)",
        "11 Jan",
    ):
        assert label in svg
    assert ">today</text>" in svg


@pytest.mark.parametrize(
    ("largest", "scale"),
    [(0, (1, 1)), (2, (2, 1)), (5, (5, 1)), (7, (8, 2)), (23, (25, 5)), (100, (100, 20)), (101, (150, 50))],
)
def test_the_y_axis_uses_round_steps(largest: int, scale: tuple[int, int]) -> None:
    assert nice_scale(largest) == scale


def test_the_report_email_has_a_one_line_subject_and_both_parts(report: ProgrammeReport) -> None:
    subject, html, text = report_email(report)
    assert subject == "[Digital Reverse Mentoring 2027] Programme report, 10 Mar 2027"
    assert html == render_html(report) and text == render_md(report)


def test_a_programme_without_pairs_still_renders_in_every_format() -> None:
    empty = build_report(programme=PROGRAMME, pairs=(), sessions=(), feedback_sent=(), now=NOW)
    assert "No pairs in the programme." in render_md(empty)
    assert render_csv(empty) == ",".join(HEADER) + "\r\n"
    html = render_html(empty)
    assert "No pairs in the programme." in read(html).text and "0 held, 0 upcoming, 0 cancelled" in html
    assert not _bars(html)
